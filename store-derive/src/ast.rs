//! The derive input as a typed model: the struct and the indexes it declares.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::punctuated::Punctuated;
use syn::{
    Attribute, Data, DeriveInput, Fields, GenericArgument, GenericParam, Generics, Ident,
    PathArguments, Token, Type,
};

use crate::attr::{self, StructAttr};
use crate::valid::Errors;

/// A struct deriving `Indexed`.
pub(crate) struct Input<'a> {
    pub ident: &'a Ident,
    pub vis: &'a syn::Visibility,
    pub generics: &'a Generics,
    pub fields: Vec<Field<'a>>,
    pub indexes: Vec<Index<'a>>,
}

/// A named field of the struct.
#[derive(Clone, Copy)]
pub(crate) struct Field<'a> {
    pub ident: &'a Ident,
    pub ty: &'a Type,
}

/// One declared index: it becomes a handle `Struct::name`.
pub(crate) struct Index<'a> {
    /// The handle's name, spanned where the user wrote it.
    pub name: Ident,
    /// Where the handle is declared when it takes its field's name: the
    /// `#[index]` attribute, where `name = "..."` would rename a handle that
    /// clashes with a method of the same name.
    pub declared_at: Option<Span>,
    pub unique: bool,
    /// Entries hold their documents (`IndexOptions::covering`).
    pub covering: bool,
    /// The documents' own key: the `#[key]` that declared it.
    pub key: Option<&'a Attribute>,
    pub kind: Kind<'a>,
}

pub(crate) enum Kind<'a> {
    /// `#[index]` on a field.
    Field { field: Field<'a>, each: bool },
    /// `#[indexed(composite(name = (a, b)))]`: the fields as written, not yet
    /// checked to exist.
    Composite { fields: Vec<Ident>, list: Span },
    /// `#[indexed(computed(name: Type = method))]`.
    Computed {
        ty: Box<Type>,
        method: Ident,
        each: bool,
    },
}

/// How a key is read from a value of a declared type.
pub(crate) struct KeyShape<'a> {
    /// The index's key type (what queries take).
    pub ty: &'a Type,
    /// The value is an `Option`: `None` leaves the document out of the index.
    pub optional: bool,
    /// The value is a collection with one key per element.
    pub each: bool,
}

impl<'a> Input<'a> {
    /// Builds the model. Errors go to `errors`; what could be read is kept, so
    /// that validation reports the other mistakes in the same compile.
    pub fn from_syn(node: &'a DeriveInput, errors: &mut Errors) -> Option<Self> {
        let mut input = Input {
            ident: &node.ident,
            vis: &node.vis,
            generics: &node.generics,
            fields: Vec::new(),
            indexes: Vec::new(),
        };
        for field in named_fields(node, errors)? {
            let Some(ident) = &field.ident else { continue };
            let model = Field {
                ident,
                ty: &field.ty,
            };
            input.fields.push(model);
            input.add_field_indexes(model, &field.attrs, errors);
        }
        input.add_struct_indexes(&node.attrs, errors);
        refuse_on_generics(&node.generics, errors);
        Some(input)
    }

    pub fn field(&self, name: &Ident) -> Option<&Field<'a>> {
        self.fields
            .iter()
            .find(|field| field.ident.unraw() == name.unraw())
    }

    /// Each `#[index]` on a field declares one index.
    fn add_field_indexes(&mut self, field: Field<'a>, attrs: &'a [Attribute], errors: &mut Errors) {
        for attr in attrs {
            if attr.path().is_ident("key") {
                match attr::key_attr(attr) {
                    Ok(()) => self.indexes.push(Index {
                        declared_at: Some(attr.bracket_token.span.join()),
                        name: field.ident.clone(),
                        unique: true,
                        covering: false,
                        key: Some(attr),
                        kind: Kind::Field { field, each: false },
                    }),
                    Err(error) => errors.push(error),
                }
            } else if attr.path().is_ident("indexed") {
                errors.push(syn::Error::new_spanned(
                    attr,
                    "`#[indexed(...)]` goes on the struct; on a field, write `#[index]`",
                ));
            } else if attr.path().is_ident("index") {
                match attr::field_attr(attr) {
                    Ok(options) => self.indexes.push(Index {
                        declared_at: options
                            .name
                            .is_none()
                            .then(|| attr.bracket_token.span.join()),
                        name: options.name.unwrap_or_else(|| field.ident.clone()),
                        unique: options.unique,
                        covering: options.covering,
                        key: None,
                        kind: Kind::Field {
                            field,
                            each: options.each,
                        },
                    }),
                    Err(error) => errors.push(error),
                }
            }
        }
    }

    fn add_struct_indexes(&mut self, attrs: &[Attribute], errors: &mut Errors) {
        for attr in attrs {
            if attr.path().is_ident("index") {
                errors.push(syn::Error::new_spanned(
                    attr,
                    "`#[index]` goes on a field; on the struct, write \
                     `#[indexed(composite(name = (field, field)))]` or \
                     `#[indexed(computed(name: Type = method))]`",
                ));
            } else if attr.path().is_ident("indexed") {
                match attr::struct_attr(attr) {
                    Ok(items) => self.indexes.extend(items.into_iter().map(Index::from)),
                    Err(error) => errors.push(error),
                }
            }
        }
    }
}

/// The struct's named fields; anything else cannot name its handles.
fn named_fields<'a>(
    node: &'a DeriveInput,
    errors: &mut Errors,
) -> Option<&'a Punctuated<syn::Field, Token![,]>> {
    let refusal = match &node.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => return Some(&fields.named),
            Fields::Unnamed(_) | Fields::Unit => syn::Error::new_spanned(
                &node.ident,
                "`#[derive(Indexed)]` needs a struct with named fields: \
                 its index handles are named after them; write `struct Name { field: Type }`",
            ),
        },
        Data::Enum(data) => syn::Error::new_spanned(
            data.enum_token,
            "`#[derive(Indexed)]` works on structs, not enums; \
             wrap the enum in a struct and index a field or a computed key",
        ),
        Data::Union(data) => syn::Error::new_spanned(
            data.union_token,
            "`#[derive(Indexed)]` works on structs, not unions",
        ),
    };
    errors.push(refusal);
    None
}

/// Derive helper attributes are accepted on generic parameters too; there
/// they would mean nothing, so they are refused rather than ignored.
fn refuse_on_generics(generics: &Generics, errors: &mut Errors) {
    for param in &generics.params {
        let attrs = match param {
            GenericParam::Type(param) => &param.attrs,
            GenericParam::Lifetime(param) => &param.attrs,
            GenericParam::Const(param) => &param.attrs,
        };
        for attr in attrs {
            if ["index", "indexed", "key"]
                .iter()
                .any(|name| attr.path().is_ident(name))
            {
                errors.push(syn::Error::new_spanned(
                    attr,
                    "index attributes go on fields (`#[index]`, `#[key]`) or on the struct \
                     (`#[indexed(...)]`), not on generic parameters",
                ));
            }
        }
    }
}

impl From<StructAttr> for Index<'_> {
    fn from(item: StructAttr) -> Self {
        match item {
            StructAttr::Composite {
                name,
                fields,
                list,
                unique,
                covering,
            } => Index {
                declared_at: None,
                name,
                unique,
                covering,
                key: None,
                kind: Kind::Composite { fields, list },
            },
            StructAttr::Computed {
                name,
                ty,
                method,
                unique,
                each,
                covering,
            } => Index {
                declared_at: None,
                name,
                unique,
                covering,
                key: None,
                kind: Kind::Computed { ty, method, each },
            },
        }
    }
}

impl Index<'_> {
    /// The index's name at run time (and in `IndexInfo`): the handle without `r#`.
    pub fn runtime_name(&self) -> String {
        self.name.unraw().to_string()
    }
}

impl<'a> KeyShape<'a> {
    /// How keys come out of a value of type `ty`; `None` if `each` is asked of
    /// a type that is not a collection this macro recognises.
    pub fn of(ty: &'a Type, each: bool) -> Option<Self> {
        let (optional, value) = match option_inner(ty) {
            Some(inner) => (true, inner),
            None => (false, ty),
        };
        let ty = if each { element(value)? } else { value };
        Some(KeyShape { ty, optional, each })
    }
}

/// `T` for `Option<T>` (however the path to `Option` is spelled).
fn option_inner(ty: &Type) -> Option<&Type> {
    single_argument(ty, &["Option"])
}

/// The collections `each` recognises, by the last segment of their path: each
/// takes its element type first, and its shared reference iterates `&T`.
pub(crate) const COLLECTIONS: &[&str] = &[
    "Vec",
    "VecDeque",
    "LinkedList",
    "BTreeSet",
    "HashSet",
    "BinaryHeap",
    "IndexSet",
];

/// The element type of a recognised collection or an array.
fn element(ty: &Type) -> Option<&Type> {
    match ungroup(ty) {
        Type::Array(array) => Some(&array.elem),
        ty => single_argument(ty, COLLECTIONS),
    }
}

/// The first type argument of a path type whose last segment is one of `names`.
fn single_argument<'t>(ty: &'t Type, names: &[&str]) -> Option<&'t Type> {
    let Type::Path(path) = ungroup(ty) else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if !names.iter().any(|name| last.ident == name) {
        return None;
    }
    let PathArguments::AngleBracketed(arguments) = &last.arguments else {
        return None;
    };
    arguments.args.iter().find_map(|argument| match argument {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    })
}

/// Types passed through `macro_rules!` arrive wrapped in invisible groups.
fn ungroup(mut ty: &Type) -> &Type {
    loop {
        match ty {
            Type::Group(group) => ty = &group.elem,
            Type::Paren(paren) => ty = &paren.elem,
            _ => return ty,
        }
    }
}

/// A type as a user would write it, for messages and docs (`Vec<String>`, not
/// the token printer's `Vec < String >`).
pub(crate) fn type_name(ty: &Type) -> String {
    let mut text = quote::ToTokens::to_token_stream(ty).to_string();
    for (spaced, tight) in [
        (" < ", "<"),
        ("< ", "<"),
        (" <", "<"),
        (" >", ">"),
        (" :: ", "::"),
        (":: ", "::"),
        (" ,", ","),
        ("& ", "&"),
        ("( ", "("),
        (" )", ")"),
        ("[ ", "["),
        (" ]", "]"),
        (" ;", ";"),
    ] {
        text = text.replace(spaced, tight);
    }
    text
}
