//! Where a document's encoded bytes live: inside the document when they fit.

/// Tapes up to this many bytes are kept inline. The benchmark's document takes
/// about 105; with the tag, the length and the record around it, a stored
/// document of this size is one 160-byte allocation.
const INLINE: usize = 118;

/// A document's encoded bytes. Inline, a stored document is one allocation
/// (its record) instead of two, and reading a field costs one memory access
/// fewer, which is most of the cost of a read once the store outgrows the
/// caches. Larger tapes go to the heap.
#[derive(Clone)]
pub(super) enum Tape {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl Tape {
    pub(super) fn new(encoded: &[u8]) -> Tape {
        match u8::try_from(encoded.len()) {
            Ok(len) if encoded.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                if let Some(start) = bytes.get_mut(..encoded.len()) {
                    start.copy_from_slice(encoded);
                }
                Tape::Inline { len, bytes }
            }
            _ => Tape::Heap(Box::from(encoded)),
        }
    }

    pub(super) fn as_slice(&self) -> &[u8] {
        match self {
            Tape::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or_default(),
            Tape::Heap(bytes) => bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_bytes_inline_or_on_the_heap() {
        for len in [0, 1, INLINE - 1, INLINE, INLINE + 1, 1000] {
            let encoded: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let tape = Tape::new(&encoded);
            assert_eq!(tape.as_slice(), encoded.as_slice());
            assert_eq!(matches!(tape, Tape::Inline { .. }), len <= INLINE);
        }
    }

    #[test]
    fn an_inline_tape_adds_little_beyond_its_bytes() {
        // The size the module docs' arithmetic (a 160-byte record) rests on.
        assert!(std::mem::size_of::<Tape>() <= INLINE + 2);
    }
}
