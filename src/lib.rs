#![doc = include_str!("../README.md")]

pub use docstore_core::*;
/// Derives [`IndexKey`] for a fieldless enum (declaration order) or a newtype
/// (its field's key), so it can be indexed and passed to queries by value.
pub use docstore_derive::IndexKey;
/// Derives [`Indexed`] for a struct: see the crate documentation.
pub use docstore_derive::Indexed;

/// What `#[derive(Indexed)]` expands to refers to through this path, so that
/// nothing a user names can shadow it. Not a public API: it may change in any
/// release.
#[doc(hidden)]
pub mod __private {
    pub use docstore_core::{
        IndexKey, IndexName, IndexRef, IndexSpec, Indexed, KeyFor, KeySink, KeyWriter, Keyed,
        NamedIndex, UniqueIndexRef,
    };
    pub use std::vec::Vec;
}
