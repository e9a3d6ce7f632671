//! Eviction: how a store at its capacity makes room for a write.
//!
//! An eviction is an ordinary commit removing one document, exactly as an
//! expiry is (see `expiry`): it has a sequence number, is heard by the change
//! feed as [`Change::Evicted`](crate::Change::Evicted), is logged as a delete
//! when the store is durable, and is a conflict for a transaction that read
//! the document. Like every delete, it works out the document's index keys
//! (which may be user code) outside the writer lock.
//!
//! Choosing what to evict reads one snapshot, outside every lock: the policy
//! samples a few documents at random ranks of the id tree (O(log n) each) and
//! evicts the least recently used of them, so an eviction costs the same
//! however large the store, and readers never wait for it.

use std::sync::atomic::Ordering;

use crate::capacity::{Cache, Policy, Room, SAMPLES};
use crate::engine::{Engine, State};
use crate::stats::Counters;
use crate::{Error, Id, Result, Versioned};

/// Why a document is removed.
pub(crate) enum Removal<D> {
    /// The caller deleted it.
    Asked,
    /// Its deadline passed, as of this time.
    Expired(crate::clock::Micros),
    /// The store made room: this version, if it is still the stored one and
    /// not pinned.
    Evicted(Versioned<D>),
}

impl<D> Removal<D> {
    /// Whether the removal must go ahead, as the writer lock sees `state`.
    pub(crate) fn still_due(&self, state: &State<D>, id: Id, pinned: impl Fn(Id) -> bool) -> bool {
        match self {
            Removal::Asked => true,
            Removal::Expired(now) => {
                let deadline = state.deadlines.as_ref().and_then(|d| d.of(id));
                deadline.is_some_and(|at| at <= *now)
            }
            Removal::Evicted(victim) => {
                state
                    .docs
                    .get(&id)
                    .is_some_and(|current| current.ptr_eq(victim))
                    && !pinned(id)
            }
        }
    }
}

impl<D: Send + Sync + 'static> Engine<D> {
    /// Evicts, one commit each, until the store has room for `room`; returns
    /// how many it evicted. Runs outside every lock, before the write takes
    /// the writer lock (where [`has_room`](Self::has_room) checks again).
    /// Fails with [`Error::OverCapacity`], evicting nothing, if pinned
    /// documents leave no room.
    #[inline(always)]
    pub(crate) fn make_room(&self, room: Room) -> Result<usize> {
        match self.cache() {
            None => Ok(0),
            Some(cache) => self.evict_for(cache, room),
        }
    }

    #[inline(never)]
    fn evict_for(&self, cache: &Cache<D>, room: Room) -> Result<usize> {
        let mut evicted = 0;
        let mut checked = false;
        loop {
            // The writer's state: a durable store's commits waiting for the
            // disk are there before readers see them.
            let state = self.writer_state()?;
            if cache.fits(&state, room) {
                return Ok(evicted);
            }
            if !checked {
                check_pinned(cache, &state, room)?;
                checked = true;
            }
            let Some(victim) = pick(cache, &state, room.replacing) else {
                return Err(over(cache, &state, room));
            };
            drop(state);
            if self.evict(victim)? {
                evicted += 1;
            }
        }
    }

    /// Evicts `victim` if it is still the stored version and not pinned;
    /// whether it did.
    pub(crate) fn evict(&self, victim: Versioned<D>) -> Result<bool> {
        let id = victim.id();
        match self.remove(id, None, Removal::Evicted(victim)) {
            Ok(Some(_)) => {
                Counters::add(&self.counters().evicted);
                Ok(true)
            }
            Ok(None) | Err(Error::NotFound { .. }) => Ok(false),
            Err(error) => Err(error),
        }
    }
}

/// Fails if the pinned documents alone (with the document written) leave no
/// room, or the document alone is over the capacity: before evicting anything.
fn check_pinned<D>(cache: &Cache<D>, state: &State<D>, room: Room) -> Result<()> {
    let limit = cache.limit();
    let incoming = if cache.is_weighed() {
        room.weight
    } else {
        u64::from(room.replacing.is_none())
    };
    let pinned = pinned_use(cache, state, room.replacing);
    if pinned.saturating_add(incoming) > limit {
        return Err(over(cache, state, room));
    }
    Ok(())
}

/// What the pinned documents hold, but `except`, in the capacity's unit.
fn pinned_use<D>(cache: &Cache<D>, state: &State<D>, except: Option<Id>) -> u64 {
    if cache.pinned_count.load(Ordering::Relaxed) == 0 {
        return 0;
    }
    cache
        .pinned
        .lock()
        .iter()
        .filter(|id| Some(**id) != except)
        .filter_map(|id| state.docs.get(id))
        .map(|record| cache.weight_in(record))
        .sum()
}

fn over<D>(cache: &Cache<D>, state: &State<D>, room: Room) -> Error {
    Error::OverCapacity {
        capacity: cache.limit(),
        needed: cache.after(state, room),
        pinned: pinned_use(cache, state, room.replacing),
    }
}

/// The document to evict from `state`, never `keep` nor a pinned one: the
/// least recently used of [`SAMPLES`] sampled (or one at random, as the
/// policy says). None if every document is pinned or kept.
pub(crate) fn pick<D>(
    cache: &Cache<D>,
    state: &State<D>,
    keep: Option<Id>,
) -> Option<Versioned<D>> {
    let len = state.docs.len();
    if len == 0 {
        return None;
    }
    let pinned = (cache.pinned_count.load(Ordering::Relaxed) > 0).then(|| cache.pinned.lock());
    let eligible = |id: &Id| Some(*id) != keep && pinned.as_ref().is_none_or(|p| !p.contains(id));
    let samples = match cache.policy() {
        Policy::Random => 1,
        Policy::Recent => SAMPLES,
    };
    let mut best: Option<&Versioned<D>> = None;
    let mut taken = 0;
    for _ in 0..samples * 2 {
        let rank = usize::try_from(cache.random() % len as u64).unwrap_or(0);
        let Some((id, record)) = state.docs.nth(rank) else {
            continue;
        };
        if !eligible(id) {
            continue;
        }
        if best.is_none_or(|best| cache.usage.used(*id) < cache.usage.used(best.id())) {
            best = Some(record);
        }
        taken += 1;
        if taken == samples {
            break;
        }
    }
    if best.is_none() {
        // Sampling met only pinned documents: walk on from a random rank.
        let start = usize::try_from(cache.random() % len as u64).unwrap_or(0);
        best = (0..len)
            .filter_map(|step| state.docs.nth((start + step) % len))
            .find(|(id, _)| eligible(id))
            .map(|(_, record)| record);
    }
    best.cloned()
}
