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
        Self::inline(bytes).unwrap_or_else(|| InlineBytes::Heap(H::from(bytes)))
    }

    /// `bytes` held inline (zero-padded: key comparison relies on it), or
    /// `None` when they are too long for it.
    pub(crate) fn inline(bytes: &[u8]) -> Option<Self> {
        if bytes.len() > N {
            return None;
        }
        let len = u8::try_from(bytes.len()).ok()?;
        let mut inline = [0; N];
        inline.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(InlineBytes::Inline { len, bytes: inline })
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            InlineBytes::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or(bytes),
            InlineBytes::Heap(bytes) => bytes,
        }
    }
}
