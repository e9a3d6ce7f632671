//! How the store's own hash tables hash ids: keyed by two random words per
//! table, so that ids a caller chooses cannot be chosen to collide.
//!
//! Callers may give their own ids (`insert_with_id`). A hash anyone could
//! compute would let them pick ids that all land in one run of buckets and
//! turn every point read into a scan of it. One 128-bit multiply of the id's
//! halves, each mixed with a secret word, then folded (as foldhash and aHash
//! do), costs a few instructions: far less than SipHash.

use std::hash::{BuildHasher, Hasher};

use crate::Id;

/// The two secret words of one table.
#[derive(Clone, Copy)]
pub(crate) struct IdSeed(u64, u64);

impl IdSeed {
    /// Fresh random words, from the standard library's per-process keys.
    pub(crate) fn random() -> IdSeed {
        let state = std::collections::hash_map::RandomState::new();
        IdSeed(state.hash_one(0x5eed_u64), state.hash_one(!0x5eed_u64))
    }

    /// The hash of `id`: its low bits and its high bits both depend on every
    /// bit of the id and of the seed.
    #[inline]
    pub(crate) fn hash(self, id: Id) -> u64 {
        let bits = id.to_u128();
        self.fold(bits as u64, (bits >> 64) as u64)
    }

    #[inline]
    fn fold(self, lo: u64, hi: u64) -> u64 {
        let product = u128::from(lo ^ self.0).wrapping_mul(u128::from(hi ^ self.1));
        (product as u64) ^ ((product >> 64) as u64)
    }
}

impl BuildHasher for IdSeed {
    type Hasher = IdHasher;

    fn build_hasher(&self) -> IdHasher {
        IdHasher {
            seed: *self,
            words: [0; 2],
            written: 0,
        }
    }
}

/// Hashes the two words an [`Id`] writes as [`IdSeed::hash`] does; anything
/// else written is folded into them.
pub(crate) struct IdHasher {
    seed: IdSeed,
    words: [u64; 2],
    written: usize,
}

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        let [first, second] = self.words;
        // An id writes its high half first.
        self.seed.fold(second, first)
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.write_u64(u64::from(*byte));
        }
    }

    fn write_u64(&mut self, word: u64) {
        let at = self.written % 2;
        if let Some(slot) = self.words.get_mut(at) {
            *slot = slot.rotate_left(23) ^ word;
        }
        self.written += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_keyed_by_ids_hashes_them_as_the_seed_does() {
        let seed = IdSeed::random();
        let id = Id::from_u128((7 << 64) | 9);
        assert_eq!(seed.hash_one(id), seed.hash(id));
    }

    #[test]
    fn ids_chosen_to_collide_under_a_fixed_hash_spread_out() {
        // Ids whose halves xor to one value: under a hash of `lo ^ hi`, or
        // any fixed function of it, all of them share one bucket.
        let chosen: Vec<Id> = (0..1_000u128)
            .map(|n| Id::from_u128((n << 64) | n))
            .collect();
        let seed = IdSeed::random();
        let hashes: std::collections::HashSet<u64> =
            chosen.iter().map(|id| seed.hash(*id)).collect();
        assert_eq!(hashes.len(), chosen.len());
        let buckets: std::collections::HashSet<u64> = hashes.iter().map(|h| h & 1023).collect();
        assert!(buckets.len() > 500, "{} of 1024 buckets", buckets.len());
        // Each table draws its own seed: what collides in one does not in another.
        let other = IdSeed::random();
        assert!(chosen.iter().any(|id| seed.hash(*id) != other.hash(*id)));
    }
}
