//! Every rule of the attribute language a user can break, checked before any
//! code is generated, so that a mistake is reported at the user's own tokens
//! instead of surfacing as an error inside generated code.

use std::collections::HashMap;

use syn::Type;
use syn::ext::IdentExt;

use crate::ast::{COLLECTIONS, Index, Input, KeyShape, Kind, type_name};

/// The most fields a composite key may have: the runtime implements keys for
/// tuples up to this length.
const MAX_COMPOSITE_FIELDS: usize = 6;

/// Errors collected over the whole input, reported together.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

impl Input<'_> {
    pub fn validate(&self, errors: &mut Errors) {
        for index in &self.indexes {
            match &index.kind {
                Kind::Field { field, each } => {
                    if KeyShape::of(field.ty, *each).is_none() {
                        errors.push(not_a_collection(field.ty, "`#[index(each)]`"));
                    }
                }
                Kind::Composite { fields, list } => {
                    self.check_composite(index, fields, *list, errors)
                }
                Kind::Computed { ty, each, .. } => {
                    if let Type::Reference(_) = &**ty {
                        errors.push(syn::Error::new_spanned(
                            ty,
                            "a computed key's type cannot be a reference; \
                             return an owned key, such as `String` for `&str`",
                        ));
                    } else if KeyShape::of(ty, *each).is_none() {
                        errors.push(not_a_collection(ty, "`each` on a computed key"));
                    }
                }
            }
        }
        self.check_names(errors);
        self.check_key(errors);
    }

    /// One field at most is the documents' own key, and it is always present.
    fn check_key(&self, errors: &mut Errors) {
        let mut first = None;
        for index in &self.indexes {
            let (Some(attr), Kind::Field { field, .. }) = (index.key, &index.kind) else {
                continue;
            };
            if let Some(first) = first {
                errors.push(syn::Error::new_spanned(
                    attr,
                    format!(
                        "`{}` already has its own key, field `{first}`; a document has one \
                         key: remove this `#[key]`, or write `#[index(unique)]` for a \
                         second unique field",
                        self.ident
                    ),
                ));
                continue;
            }
            first = Some(field.ident);
            if KeyShape::of(field.ty, false).is_some_and(|shape| shape.optional) {
                errors.push(syn::Error::new_spanned(
                    field.ty,
                    format!(
                        "a document's own key is always present, so `#[key]` cannot be \
                         on `{}`; drop the `Option`, or write `#[index(unique)]` to \
                         index only the documents that have one",
                        type_name(field.ty)
                    ),
                ));
            }
        }
    }

    fn check_composite(
        &self,
        index: &Index<'_>,
        fields: &[syn::Ident],
        list: proc_macro2::Span,
        errors: &mut Errors,
    ) {
        if fields.len() < 2 {
            errors.push(syn::Error::new(
                list,
                "a composite index needs 2 or more fields; \
                 to index one field, write `#[index]` on it",
            ));
        } else if fields.len() > MAX_COMPOSITE_FIELDS {
            errors.push(syn::Error::new(
                list,
                format!(
                    "a composite index has at most {MAX_COMPOSITE_FIELDS} fields; \
                     use a computed key for more"
                ),
            ));
        }
        for (position, name) in fields.iter().enumerate() {
            if self.field(name).is_none() {
                errors.push(syn::Error::new_spanned(
                    name,
                    format!(
                        "composite `{}` names `{name}`, which is not a field of `{}`; \
                         list fields of the struct",
                        index.name, self.ident
                    ),
                ));
            } else if fields[..position]
                .iter()
                .any(|earlier| earlier.unraw() == name.unraw())
            {
                errors.push(syn::Error::new_spanned(
                    name,
                    format!(
                        "field `{name}` appears twice in composite `{}`; list it once",
                        index.name
                    ),
                ));
            }
        }
    }

    /// Each index becomes an associated const, so two with one name cannot both exist.
    fn check_names(&self, errors: &mut Errors) {
        let mut seen = HashMap::new();
        for index in &self.indexes {
            let name = index.runtime_name();
            if let Some(first) = seen.get(&name) {
                errors.push(syn::Error::new_spanned(
                    &index.name,
                    format!(
                        "two indexes are named `{name}` (the first is the {first}); \
                         every handle `{}::{name}` needs its own name: rename one, \
                         for a field with `#[index(name = \"...\")]`",
                        self.ident
                    ),
                ));
            } else {
                seen.insert(name, describe(index));
            }
        }
    }
}

fn describe(index: &Index<'_>) -> String {
    match &index.kind {
        Kind::Field { field, .. } => format!("index on field `{}`", field.ident),
        Kind::Composite { .. } => "composite index".to_owned(),
        Kind::Computed { method, .. } => format!("computed key `{method}`"),
    }
}

fn not_a_collection(ty: &Type, what: &str) -> syn::Error {
    let collections: Vec<String> = COLLECTIONS
        .iter()
        .map(|name| format!("`{name}<T>`"))
        .collect();
    syn::Error::new_spanned(
        ty,
        format!(
            "{what} needs a collection, one key per element: {}, `[T; N]`, \
             or an `Option` of one; `{}` is not one \
             (remove `each` to index the whole value as one key)",
            collections.join(", "),
            type_name(ty)
        ),
    )
}
