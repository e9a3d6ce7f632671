//! Code generation for `#[derive(IndexKey)]`: `IndexKey` writing the key, and
//! `KeyFor<Self>` so that queries take the type by value (`Ts(0)..Ts(9)`), as
//! they do built-in keys.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::DeriveInput;
use syn::spanned::Spanned;

use super::ast::KeyInput;

pub(crate) fn derive(node: &DeriveInput) -> syn::Result<TokenStream> {
    let input = KeyInput::from_syn(node)?;
    let ident = &node.ident;
    let (impl_generics, ty_generics, where_clause) = node.generics.split_for_impl();
    let existing = where_clause
        .into_iter()
        .flat_map(|clause| &clause.predicates);
    let (body, bound) = match &input {
        KeyInput::Enum { variants } => {
            let ranks = (0u64..).take(variants.len());
            let body = if variants.is_empty() {
                quote!(match *self {})
            } else {
                quote! {
                    out.write_u64(match self {
                        #(Self::#variants => #ranks,)*
                    });
                }
            };
            (body, None)
        }
        KeyInput::Newtype { member, ty } => {
            // Spanned at the field's type: a type with no order is reported there.
            let bound = quote_spanned!(ty.span()=> #ty: ::docstore::__private::IndexKey);
            let body = quote! {
                ::docstore::__private::IndexKey::write_key(&self.#member, out);
            };
            (body, Some(bound))
        }
    };
    let bounds: Vec<_> = existing.map(|p| quote!(#p)).chain(bound).collect();
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics ::docstore::__private::IndexKey for #ident #ty_generics
        where #(#bounds,)*
        {
            fn write_key(&self, out: &mut ::docstore::__private::KeyWriter) {
                #body
            }
        }

        #[automatically_derived]
        impl #impl_generics ::docstore::__private::KeyFor<Self> for #ident #ty_generics
        where #(#bounds,)*
        {
            fn write_key_for(&self, out: &mut ::docstore::__private::KeyWriter) {
                ::docstore::__private::IndexKey::write_key(self, out);
            }
        }
    })
}
