//! Index keys and their one total order.
//!
//! Every index key, schemaless or typed, is encoded into bytes whose plain byte
//! order *is* the key order, so an index is an ordered set of `(key bytes, id)`
//! and every comparison is a `memcmp`. The order is:
//!
//! `null < false < true < numbers < strings < arrays < objects`
//!
//! - numbers compare by exact numeric value whatever their representation: `5`,
//!   `5u8` and `5.0` are the same key, `5.5` sorts between `5` and `6`, and
//!   integers of every width up to `u128::MAX` and down to `i128::MIN` never
//!   round through `f64`;
//!   `-0.0` is the same key as `0`; NaN is refused;
//! - strings compare by their UTF-8 bytes;
//! - arrays compare element by element, a shorter array that is a prefix of a
//!   longer one first; objects compare as their (key, value) pairs sorted by key;
//! - a composite key compares field by field, and a key holding only the leading
//!   fields of another (a prefix) sorts before it.

mod decode;
mod encode;
mod time;
mod typed;

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use crate::inline_bytes::InlineBytes;

pub(crate) use decode::describe;
pub use encode::KeyWriter;
pub(crate) use encode::encode_value_ref;
pub use typed::{
    CompositeKey, IndexKey, JsonKey, KeyBound, KeyFor, KeyLeading, KeyPrefix, KeyRange,
};

/// Keys up to this many bytes live inline in index entries; longer ones are shared
/// on the heap. The workload's keys (short strings, numbers) all fit.
const INLINE: usize = 22;

/// An encoded key: small ones inline, so cloning an index leaf copies bytes and
/// touches no reference counts; long ones shared.
pub(crate) type KeyBytes = InlineBytes<INLINE, Arc<[u8]>>;

// `#[inline]` on the comparisons: the trees that call them are generic and
// instantiated in the user's crate, where a call to a non-inline function of
// this one cannot be inlined; an index write compares keys some twenty times.
impl PartialEq for KeyBytes {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for KeyBytes {}

impl PartialOrd for KeyBytes {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for KeyBytes {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            // Inline keys are zero-padded, so comparing whole buffers and then
            // lengths orders them exactly as comparing the slices would (a key
            // and the same key with zeros appended differ only in length), and
            // two big-endian words compare faster than a call to memcmp.
            (
                KeyBytes::Inline { len, bytes },
                KeyBytes::Inline {
                    len: other_len,
                    bytes: other_bytes,
                },
            ) => words(bytes)
                .cmp(&words(other_bytes))
                .then(len.cmp(other_len)),
            _ => self.as_bytes().cmp(other.as_bytes()),
        }
    }
}

/// An inline key's buffer as two big-endian words: their order is the bytes' order.
#[inline]
fn words(bytes: &[u8; INLINE]) -> (u128, u64) {
    let mut high = [0; 16];
    let mut low = [0; 8];
    high.copy_from_slice(&bytes[..16]);
    low[..INLINE - 16].copy_from_slice(&bytes[16..]);
    (u128::from_be_bytes(high), u64::from_be_bytes(low))
}

impl fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&describe(self.as_bytes()))
    }
}

#[cfg(test)]
mod tests;
