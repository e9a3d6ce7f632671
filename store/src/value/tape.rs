//! Where a document's encoded bytes live: inside the document when they fit.

use crate::inline_bytes::InlineBytes;

/// Tapes up to this many bytes are kept inline. The benchmark's document takes
/// about 105; with the tag, the length and the record around it, a stored
/// document of this size is one 160-byte allocation.
const INLINE: usize = 118;

/// A document's encoded bytes. Inline, a stored document is one allocation
/// (its record) instead of two, and reading a field costs one memory access
/// fewer, which is most of the cost of a read once the store outgrows the
/// caches. Larger tapes go to the heap.
pub(super) type Tape = InlineBytes<INLINE, Box<[u8]>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_bytes_inline_or_on_the_heap() {
        for len in [0, 1, INLINE - 1, INLINE, INLINE + 1, 1000] {
            let encoded: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let tape = Tape::new(&encoded);
            assert_eq!(tape.as_bytes(), encoded.as_slice());
            assert_eq!(matches!(tape, Tape::Inline { .. }), len <= INLINE);
        }
    }

    #[test]
    fn an_inline_tape_adds_little_beyond_its_bytes() {
        // The size the module docs' arithmetic (a 160-byte record) rests on.
        assert!(std::mem::size_of::<Tape>() <= INLINE + 2);
    }
}
