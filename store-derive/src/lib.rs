#![doc = include_str!("../README.md")]

mod ast;
mod attr;
mod expand;
mod index_key;
mod valid;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

#[doc = include_str!("../README.md")]
#[proc_macro_derive(Indexed, attributes(index, indexed, key))]
pub fn derive_indexed(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Derives `IndexKey` for a fieldless enum, keyed by the order its variants
/// are declared in, or for a newtype (a struct with one field), keyed as its
/// field. The type can then be indexed and passed to queries by value, like a
/// built-in key.
///
/// ```
/// use docstore::{Collection, IndexKey, Indexed};
///
/// #[derive(IndexKey, Clone, Copy, PartialEq, Debug)]
/// enum Status { Open, Paid, Shipped }
///
/// #[derive(IndexKey, Clone, Copy, PartialEq, PartialOrd, Debug)]
/// struct Ts(u64);
///
/// #[derive(Indexed, Clone)]
/// #[indexed(composite(by_status_at = (status, at)))]
/// struct Order {
///     #[index]
///     status: Status,
///     #[index]
///     at: Ts,
/// }
///
/// let orders = Collection::<Order>::new();
/// orders.insert(Order { status: Status::Paid, at: Ts(5) })?;
/// orders.insert(Order { status: Status::Shipped, at: Ts(7) })?;
/// assert_eq!(orders.range(Order::at, Ts(0)..Ts(6))?.count(), 1);
/// assert_eq!(orders.range(Order::status, Status::Paid..)?.count(), 2);
/// assert_eq!(orders.prefix(Order::by_status_at, (Status::Paid,))?.count(), 1);
/// # Ok::<(), docstore::Error>(())
/// ```
#[proc_macro_derive(IndexKey)]
pub fn derive_index_key(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    index_key::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

#[cfg(test)]
mod tests;
