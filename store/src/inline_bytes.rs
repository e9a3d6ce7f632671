//! Byte strings kept inline up to a size and on the heap beyond it: how index
//! keys and schemaless documents are stored.

use std::ops::Deref;

/// Up to `N` bytes inline (`N` at most 255), more in `H`: an `Arc<[u8]>` for
/// index keys, whose leaves are copied often and should share their long keys;
/// a `Box<[u8]>` for documents, which are shared through their record instead.
#[derive(Clone)]
pub(crate) enum InlineBytes<const N: usize, H> {
    Inline { len: u8, bytes: [u8; N] },
    Heap(H),
}

impl<const N: usize, H> InlineBytes<N, H>
where
    H: for<'a> From<&'a [u8]> + Deref<Target = [u8]>,
{
    pub(crate) fn new(bytes: &[u8]) -> Self {
        match u8::try_from(bytes.len()) {
            Ok(len) if bytes.len() <= N => {
                // Zero-padded: key comparison relies on it.
                let mut inline = [0; N];
                if let Some(start) = inline.get_mut(..bytes.len()) {
                    start.copy_from_slice(bytes);
                }
                InlineBytes::Inline { len, bytes: inline }
            }
            _ => InlineBytes::Heap(H::from(bytes)),
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            InlineBytes::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or(bytes),
            InlineBytes::Heap(bytes) => bytes,
        }
    }
}
