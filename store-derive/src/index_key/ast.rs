//! The input of `#[derive(IndexKey)]` as a model, checked as it is built: each
//! rule a user can break is reported at the offending tokens.

use syn::{Data, DeriveInput, Fields, Ident, Member, Type};

/// A type that can derive `IndexKey`.
pub(crate) enum KeyInput<'a> {
    /// A fieldless enum: each variant is keyed by its position.
    Enum { variants: Vec<&'a Ident> },
    /// A struct with one field, keyed as that field.
    Newtype { member: Member, ty: &'a Type },
}

impl<'a> KeyInput<'a> {
    pub fn from_syn(node: &'a DeriveInput) -> syn::Result<Self> {
        match &node.data {
            Data::Enum(data) => {
                let mut errors: Option<syn::Error> = None;
                for variant in &data.variants {
                    if !matches!(variant.fields, Fields::Unit) {
                        let error = syn::Error::new_spanned(
                            &variant.fields,
                            format!(
                                "`#[derive(IndexKey)]` keys an enum by the order of its \
                                 variants, so they cannot have fields; variant `{}` has some: \
                                 implement `docstore::IndexKey` by hand for this enum",
                                variant.ident
                            ),
                        );
                        match &mut errors {
                            Some(errors) => errors.combine(error),
                            None => errors = Some(error),
                        }
                    }
                }
                match errors {
                    Some(errors) => Err(errors),
                    None => Ok(KeyInput::Enum {
                        variants: data.variants.iter().map(|v| &v.ident).collect(),
                    }),
                }
            }
            Data::Struct(data) => {
                let mut fields = data.fields.iter();
                match (fields.next(), fields.next()) {
                    (Some(field), None) => Ok(KeyInput::Newtype {
                        member: field
                            .ident
                            .clone()
                            .map_or_else(|| Member::from(0), Member::Named),
                        ty: &field.ty,
                    }),
                    _ => Err(syn::Error::new_spanned(
                        &node.ident,
                        format!(
                            "`#[derive(IndexKey)]` on a struct needs exactly one field, whose \
                             key it takes (a newtype such as `struct {}(u64);`); for several \
                             fields index a tuple, a composite index, or implement \
                             `docstore::IndexKey` by hand",
                            node.ident
                        ),
                    )),
                }
            }
            Data::Union(data) => Err(syn::Error::new_spanned(
                data.union_token,
                "`#[derive(IndexKey)]` works on fieldless enums and newtype structs, \
                 not unions",
            )),
        }
    }
}
