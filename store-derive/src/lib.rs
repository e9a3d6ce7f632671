//! `#[derive(Indexed)]` for docstore's typed collections.

use proc_macro::TokenStream;

/// Derives `docstore::Indexed`.
#[proc_macro_derive(Indexed, attributes(index, indexed))]
pub fn derive_indexed(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}
