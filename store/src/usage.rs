//! Usage: when each document of a store with a capacity was last read, how
//! often, and what it weighs, kept beside the documents rather than in them.
//!
//! Records carry none of this, so that a store without a capacity pays no
//! byte per document for it: the table lives in the store's capacity (see
//! `capacity`) and exists only once one is given. Its entries follow the
//! writer's documents: every commit that writes or removes a document of such
//! a store stamps or forgets its entry under the writer lock, in the step that
//! changes the documents, so the weights it holds always add up to the state's
//! total. Use words are approximate by design: readers stamp them with relaxed
//! stores, under a shard's read lock, and a read racing a removal stamps
//! nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

use crate::Id;
use crate::id_hash::IdSeed;

/// A use word: from the top, 8 bits counting uses, 8 bits numbering the
/// ageing period they were counted in, 48 bits holding the tick of the last
/// use.
const TICK: u64 = (1 << 48) - 1;
/// The most uses a document counts, as TinyLFU's 4-bit counters.
pub(crate) const FREQUENCY_MAX: u8 = 15;
/// Shards of the table: readers of different documents seldom share a lock.
const SHARDS: usize = 64;

fn use_word(frequency: u8, age: u8, tick: u64) -> u64 {
    (u64::from(frequency.min(FREQUENCY_MAX)) << 56) | (u64::from(age) << 48) | (tick & TICK)
}

/// The uses counted in `word`, halved per ageing period since, as of `age`.
fn frequency_of(word: u64, age: u8) -> u8 {
    let counted = u8::try_from(word >> 56).unwrap_or(FREQUENCY_MAX);
    let then = u8::try_from((word >> 48) & 0xFF).unwrap_or(0);
    counted
        .checked_shr(u32::from(age.wrapping_sub(then)))
        .unwrap_or(0)
}

/// One document's entry.
struct Words {
    /// Its use word: racing readers store into it under a read lock.
    used: AtomicU64,
    /// What it weighs, as the store's weigher said (0 unweighed).
    weight: u64,
}

type Shard = RwLock<HashMap<Id, Words, IdSeed>>;

/// The usage table of a store with a capacity.
pub(crate) struct Usage {
    shards: Box<[Shard]>,
    /// What ids are hashed with, to pick a shard and within it.
    seed: IdSeed,
}

impl Usage {
    pub(crate) fn new() -> Self {
        Usage::with_seed(IdSeed::random())
    }

    fn with_seed(seed: IdSeed) -> Self {
        Usage {
            shards: (0..SHARDS)
                .map(|_| RwLock::new(HashMap::with_hasher(seed)))
                .collect(),
            seed,
        }
    }

    fn shard(&self, id: Id) -> &Shard {
        // Middle bits: the map within uses the low bits for its buckets and
        // the top seven for its tags, which must not be the same in a shard.
        let spread = (self.seed.hash(id) >> 32) & (SHARDS as u64 - 1);
        &self.shards[usize::try_from(spread).unwrap_or(0) % SHARDS]
    }

    /// Notes a use of `id` at `tick`, in ageing period `age`, counting it if
    /// the tick moved on. Stores only then, so that a hot document read from
    /// many threads between two ticks is not a contended cache line; racing
    /// readers may lose a count.
    #[inline]
    pub(crate) fn touch(&self, id: Id, tick: u64, age: u8) {
        if let Some(words) = self.shard(id).read().get(&id) {
            let used = words.used.load(Ordering::Relaxed);
            if used & TICK < tick & TICK {
                let frequency = frequency_of(used, age).saturating_add(1);
                words
                    .used
                    .store(use_word(frequency, age, tick), Ordering::Relaxed);
            }
        }
    }

    /// When `id` was last used, as a store with a capacity counts time (0
    /// never).
    pub(crate) fn used(&self, id: Id) -> u64 {
        self.shard(id)
            .read()
            .get(&id)
            .map_or(0, |words| words.used.load(Ordering::Relaxed) & TICK)
    }

    /// How often `id` was used, in distinct ticks, up to [`FREQUENCY_MAX`],
    /// halved for each ageing period since its last use (`age` is the
    /// current period's number, wrapping).
    pub(crate) fn frequency(&self, id: Id, age: u8) -> u8 {
        self.shard(id).read().get(&id).map_or(0, |words| {
            frequency_of(words.used.load(Ordering::Relaxed), age)
        })
    }

    /// Sets how often `id` was used (a new document's count of earlier
    /// misses).
    pub(crate) fn set_frequency(&self, id: Id, frequency: u8, age: u8) {
        if let Some(words) = self.shard(id).read().get(&id) {
            let used = words.used.load(Ordering::Relaxed);
            words
                .used
                .store(use_word(frequency, age, used), Ordering::Relaxed);
        }
    }

    /// What `id` weighs (0 unweighed, or not held).
    pub(crate) fn weight(&self, id: Id) -> u64 {
        self.shard(id)
            .read()
            .get(&id)
            .map_or(0, |words| words.weight)
    }

    /// Starts `id`'s entry afresh for a new version weighing `weight`, used
    /// once at `tick` if given (a write of its own), never otherwise (one a
    /// transaction wrote); the weight of the version it replaces.
    pub(crate) fn stamp(&self, id: Id, weight: u64, used: Option<(u64, u8)>) -> u64 {
        let word = used.map_or(0, |(tick, age)| use_word(1, age, tick));
        let words = Words {
            used: AtomicU64::new(word),
            weight,
        };
        self.shard(id)
            .write()
            .insert(id, words)
            .map_or(0, |old| old.weight)
    }

    /// Forgets `id`, removed; the weight it had.
    pub(crate) fn forget(&self, id: Id) -> u64 {
        self.shard(id)
            .write()
            .remove(&id)
            .map_or(0, |old| old.weight)
    }

    /// A copy holding the entries of the ids `keep` accepts.
    pub(crate) fn copy(&self, keep: impl Fn(Id) -> bool) -> Usage {
        // The same seed: each entry goes to the same shard of the copy.
        let copy = Usage::with_seed(self.seed);
        for (shard, into) in self.shards.iter().zip(copy.shards.iter()) {
            let shard = shard.read();
            let kept = shard.iter().filter(|(id, _)| keep(**id));
            into.write().extend(kept.map(|(id, words)| {
                let words = Words {
                    used: AtomicU64::new(words.used.load(Ordering::Relaxed)),
                    weight: words.weight,
                };
                (*id, words)
            }));
        }
        copy
    }

    /// Gives `id` an entry, never used and weighing `weight`, unless it has
    /// one: a document the store held before it had a capacity.
    pub(crate) fn adopt(&self, id: Id, weight: Option<u64>) {
        let mut shard = self.shard(id).write();
        let words = shard.entry(id).or_insert_with(|| Words {
            used: AtomicU64::new(0),
            weight: 0,
        });
        if let Some(weight) = weight {
            words.weight = weight;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_use_counts_once_per_tick_and_halves_per_period() {
        let usage = Usage::new();
        let id = Id::from_u128(7);
        usage.stamp(id, 3, Some((1, 0)));
        usage.touch(id, 1, 0);
        assert_eq!(usage.frequency(id, 0), 1);
        usage.touch(id, 2, 0);
        usage.touch(id, 3, 0);
        assert_eq!(usage.frequency(id, 0), 3);
        assert_eq!(usage.used(id), 3);
        assert_eq!(usage.frequency(id, 1), 1);
        assert_eq!(usage.weight(id), 3);
        assert_eq!(usage.forget(id), 3);
        usage.touch(id, 4, 0);
        assert_eq!(usage.used(id), 0);
    }

    #[test]
    fn adopting_keeps_what_a_write_stamped() {
        let usage = Usage::new();
        let id = Id::from_u128(9);
        usage.stamp(id, 5, Some((4, 0)));
        usage.adopt(id, None);
        assert_eq!((usage.used(id), usage.weight(id)), (4, 5));
        usage.adopt(Id::from_u128(10), Some(2));
        assert_eq!(usage.weight(Id::from_u128(10)), 2);
    }
}
