//! Capacity: a store that holds at most so many documents, or so many bytes as
//! a function of the user's weighs them, and makes room by evicting what is
//! least used (see `eviction`).
//!
//! A store without a capacity holds no [`Cache`] and pays one check of one
//! word per operation for all of this. A store with one:
//!
//! - stamps each document it hands out by id or unique key with the time of
//!   the read and counts the use (a relaxed atomic store in the document's
//!   entry of its usage table, skipped when the stamp is already current:
//!   see `usage`; records carry no word of it, so that plain stores pay no
//!   byte per document). Time is the store's
//!   own clock, which writes and read-through misses move on and reads only
//!   read: recency is resolved to the write, which is when evictions happen,
//!   and a read writes nothing shared;
//! - before each write, outside every lock, evicts until the write fits, then
//!   checks under the writer lock that it still fits (or evicts again), so that
//!   the published state never holds more than the capacity (a transaction's
//!   commit evicts what it took over right after it publishes);
//! - weighs documents, when the capacity is weighed, before taking any lock;
//!   the weight is kept in the usage table so that removing it needs no
//!   weighing.
//!
//! Scans (iteration, queries, cursors, snapshots) do not count as use, so a
//! one-off scan leaves what is used where it is; loads through `get_or_load`
//! pass an admission filter (see `load`) so that a one-off run of misses does
//! not flush it either.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use parking_lot::{Mutex, RwLock};

use crate::commit::Change;
use crate::engine::{Engine, State};
use crate::usage::Usage;
use crate::{Error, Id, Result, Versioned};

/// How a store weighs its documents.
pub(crate) type Weigher<D> = Arc<dyn Fn(&D) -> u64 + Send + Sync>;

/// How much a store or collection may hold: a number of documents, or a
/// number of bytes as a function of yours weighs each document. Given with
/// [`Store::set_capacity`](crate::Store::set_capacity) or
/// [`Collection::set_capacity`](crate::Collection::set_capacity).
///
/// ```
/// use docstore_core::{Capacity, Object, Store};
/// use serde_json::json;
///
/// let store = Store::new();
/// store.set_capacity(Capacity::documents(2))?;
/// for n in 0..5 {
///     store.insert(json!({ "n": n }))?;
/// }
/// assert_eq!(store.len()?, 2);
///
/// // Or by weight: here, the length of the document's JSON text.
/// let sized = Store::new();
/// sized.set_capacity(Capacity::weighed(100, |doc: &Object| doc.to_string().len() as u64))?;
/// # Ok::<(), docstore_core::Error>(())
/// ```
pub struct Capacity<D> {
    limit: u64,
    weigher: Option<Weigher<D>>,
    policy: Policy,
}

impl<D> Capacity<D> {
    /// At most `limit` documents.
    pub fn documents(limit: usize) -> Self {
        Capacity {
            limit: u64::try_from(limit).unwrap_or(u64::MAX),
            weigher: None,
            policy: Policy::default(),
        }
    }

    /// At most `limit` in total, each document weighing what `weigh` says
    /// (bytes, typically). `weigh` runs before a write takes any lock, once
    /// per document written; a document heavier than `limit` is refused.
    pub fn weighed(limit: u64, weigh: impl Fn(&D) -> u64 + Send + Sync + 'static) -> Self {
        Capacity {
            limit,
            weigher: Some(Arc::new(weigh)),
            policy: Policy::default(),
        }
    }

    /// This capacity, choosing what to evict by `policy`.
    ///
    /// ```
    /// use docstore_core::{Capacity, Object, Policy};
    ///
    /// let capacity = Capacity::<Object>::documents(100).with_policy(Policy::Random);
    /// assert_eq!(capacity.policy(), Policy::Random);
    /// ```
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The limit: documents, or total weight.
    ///
    /// ```
    /// use docstore_core::{Capacity, Object};
    ///
    /// assert_eq!(Capacity::<Object>::documents(10).limit(), 10);
    /// ```
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Whether documents are weighed (else counted).
    ///
    /// ```
    /// use docstore_core::{Capacity, Object};
    ///
    /// assert!(!Capacity::<Object>::documents(10).is_weighed());
    /// assert!(Capacity::<Object>::weighed(10, |_| 1).is_weighed());
    /// ```
    pub fn is_weighed(&self) -> bool {
        self.weigher.is_some()
    }

    /// How it chooses what to evict.
    ///
    /// ```
    /// use docstore_core::{Capacity, Object, Policy};
    ///
    /// assert_eq!(Capacity::<Object>::documents(10).policy(), Policy::Recent);
    /// ```
    pub fn policy(&self) -> Policy {
        self.policy
    }
}

impl<D> Clone for Capacity<D> {
    fn clone(&self) -> Self {
        Capacity {
            limit: self.limit,
            weigher: self.weigher.clone(),
            policy: self.policy,
        }
    }
}

impl<D> fmt::Debug for Capacity<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Capacity")
            .field("limit", &self.limit)
            .field("weighed", &self.is_weighed())
            .field("policy", &self.policy)
            .finish()
    }
}

/// How a store at its capacity chooses what to evict.
///
/// ```
/// use docstore_core::Policy;
///
/// assert_eq!(Policy::default(), Policy::Recent);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Policy {
    /// Keeps what was read recently: evicts the least recently read of a few
    /// documents sampled at random (as Redis's `allkeys-lru` does), each
    /// document's last read being stamped as it happens. Only reads by id and
    /// by unique key (`get`, `get_unique`, `get_key`, `get_or_load`) count as
    /// use: scans, queries and snapshots do not, so a one-off scan keeps the
    /// hot documents hot. A document inserted counts as read then. A load
    /// through `get_or_load` into a full store is kept only if its key missed
    /// more often than the document it would evict was used (TinyLFU's
    /// admission, as moka's), so a run of one-off misses does not flush the
    /// store either. Counts of use halve every ten capacities of writes and
    /// misses, so that old popularity fades.
    #[default]
    Recent,
    /// Evicts a document chosen at random and keeps every load: the baseline
    /// the other policy is measured against.
    Random,
}

/// How many documents an eviction compares, as Redis's `maxmemory-samples`
/// (whose default is 5): more approaches true LRU and costs more lookups.
pub(crate) const SAMPLES: usize = 8;

/// A store's capacity as the engine keeps it.
pub(crate) struct Cache<D> {
    limit: AtomicU64,
    weigher: RwLock<Option<Weigher<D>>>,
    policy: Mutex<Policy>,
    pub(crate) pinned: Mutex<HashSet<Id>>,
    /// How many ids are pinned: lets eviction skip the pinned set's lock.
    pub(crate) pinned_count: AtomicUsize,
    /// The state of the random choices eviction makes (xorshift).
    random: AtomicU64,
    /// Time as eviction counts it: one tick per write and per read-through
    /// miss. Reads do not move it (they only read it), so that a read writes
    /// nothing shared.
    clock: AtomicU64,
    /// Ageing: frequencies halve every `1 << age_shift` ticks (about ten
    /// times the capacity, TinyLFU's sample size).
    age_shift: std::sync::atomic::AtomicU32,
    /// Loads not kept by admission so far.
    pub(crate) refused: AtomicU64,
    /// How often keys missed, for admission (see `load`).
    /// Made at the first read-through miss, sized then.
    pub(crate) doorkeeper: Mutex<Option<crate::load::Sketch>>,
    /// Each document's last use, count of uses and weight.
    pub(crate) usage: Usage,
}

impl<D> Cache<D> {
    fn new(capacity: &Capacity<D>) -> Self {
        Cache {
            limit: AtomicU64::new(capacity.limit),
            weigher: RwLock::new(capacity.weigher.clone()),
            policy: Mutex::new(capacity.policy),
            pinned: Mutex::new(HashSet::new()),
            pinned_count: AtomicUsize::new(0),
            random: AtomicU64::new(0x9E37_79B9_7F4A_7C15),
            refused: AtomicU64::new(0),
            clock: AtomicU64::new(1),
            age_shift: std::sync::atomic::AtomicU32::new(age_shift(capacity.limit)),
            doorkeeper: Mutex::new(None),
            usage: Usage::new(),
        }
    }

    /// The same capacity for a copy of the store holding the documents
    /// `keep` accepts: limit, weigher, policy, their pins, uses and weights.
    fn copy(&self, keep: impl Fn(Id) -> bool) -> Self {
        let pinned: HashSet<Id> = self
            .pinned
            .lock()
            .iter()
            .copied()
            .filter(|id| keep(*id))
            .collect();
        Cache {
            limit: AtomicU64::new(self.limit()),
            weigher: RwLock::new(self.weigher()),
            policy: Mutex::new(self.policy()),
            pinned_count: AtomicUsize::new(pinned.len()),
            pinned: Mutex::new(pinned),
            random: AtomicU64::new(self.random.load(Ordering::Relaxed)),
            refused: AtomicU64::new(0),
            clock: AtomicU64::new(self.clock.load(Ordering::Relaxed)),
            age_shift: std::sync::atomic::AtomicU32::new(self.age_shift.load(Ordering::Relaxed)),
            doorkeeper: Mutex::new(None),
            usage: self.usage.copy(keep),
        }
    }

    /// Notes a read of document `id`. Out of line, so that a plain store's
    /// read path carries none of it (not even the registers it would need).
    #[inline(never)]
    fn note_use(&self, id: Id) {
        let (tick, age) = self.now();
        self.usage.touch(id, tick, age);
    }

    /// The current tick and ageing period.
    #[inline]
    pub(crate) fn now(&self) -> (u64, u8) {
        let tick = self.clock.load(Ordering::Relaxed);
        (tick, self.age_of(tick))
    }

    /// Moves time on by one tick; the new tick and ageing period.
    pub(crate) fn tick(&self) -> (u64, u8) {
        let tick = self.clock.fetch_add(1, Ordering::Relaxed) + 1;
        (tick, self.age_of(tick))
    }

    #[inline]
    fn age_of(&self, tick: u64) -> u8 {
        let shifted = tick >> self.age_shift.load(Ordering::Relaxed);
        u8::try_from(shifted & 0xFF).unwrap_or(0)
    }

    pub(crate) fn limit(&self) -> u64 {
        self.limit.load(Ordering::Relaxed)
    }

    /// Sets `state`'s total weight to the sum of its documents' weights.
    fn total(&self, state: &mut State<D>) {
        state.weight = state
            .docs
            .entries()
            .map(|(id, _)| self.usage.weight(*id))
            .sum();
    }

    pub(crate) fn is_weighed(&self) -> bool {
        self.weigher.read().is_some()
    }

    pub(crate) fn policy(&self) -> Policy {
        *self.policy.lock()
    }

    /// The weigher, to run outside the lock.
    fn weigher(&self) -> Option<Weigher<D>> {
        self.weigher.read().clone()
    }

    /// A pseudo-random number: eviction's samples. Races between writers lose
    /// a step of the sequence, which does no harm.
    pub(crate) fn random(&self) -> u64 {
        let mut x = self.random.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.random.store(x, Ordering::Relaxed);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// What `state` would hold after writing `room`, in the capacity's unit.
    pub(crate) fn after(&self, state: &State<D>, room: Room) -> u64 {
        let replaced = room.replacing.and_then(|id| state.docs.get(&id));
        if self.is_weighed() {
            let old = replaced.map_or(0, |old| self.usage.weight(old.id()));
            (state.weight - old.min(state.weight)).saturating_add(room.weight)
        } else {
            let added = u64::from(replaced.is_none() && room.replacing.is_none());
            u64::try_from(state.docs.len())
                .unwrap_or(u64::MAX)
                .saturating_add(added)
        }
    }

    /// Whether `state` has room for `room`.
    pub(crate) fn fits(&self, state: &State<D>, room: Room) -> bool {
        self.after(state, room) <= self.limit()
    }

    /// What a document weighs, in the capacity's unit.
    pub(crate) fn weight_in(&self, record: &Versioned<D>) -> u64 {
        if self.is_weighed() {
            self.usage.weight(record.id())
        } else {
            1
        }
    }
}

/// How many ticks an ageing period lasts, as a power of two: about ten times
/// the capacity (in documents, or a weight taken as that many documents).
fn age_shift(limit: u64) -> u32 {
    limit
        .clamp(16, 1 << 40)
        .saturating_mul(10)
        .next_power_of_two()
        .trailing_zeros()
}

/// What a write needs room for: a new document (none replaced) or a new
/// version of `replacing`, weighing `weight`.
#[derive(Clone, Copy)]
pub(crate) struct Room {
    pub(crate) replacing: Option<Id>,
    pub(crate) weight: u64,
}

impl Room {
    /// Room for nothing more: what a lowered capacity makes.
    // The nil id is never a document's, so nothing is replaced nor added.
    pub(crate) const NOTHING: Room = Room {
        replacing: Some(Id::nil()),
        weight: 0,
    };
}

impl<D: Send + Sync + 'static> Engine<D> {
    /// The store's capacity, if it has one.
    #[inline(always)]
    pub(crate) fn cache(&self) -> Option<&Cache<D>> {
        self.cache_slot().get()
    }

    /// The capacity a copy of this store holding the documents `keep`
    /// accepts is given (see [`carry_capacity`](Self::carry_capacity)): taken
    /// while the copied state is the writer's, so that the two agree.
    pub(crate) fn copy_capacity(&self, keep: impl Fn(Id) -> bool) -> Option<Cache<D>> {
        self.cache().map(|cache| cache.copy(keep))
    }

    /// Gives this copy of a store the capacity its original had, its total
    /// weight made up from the weights it carries.
    pub(crate) fn carry_capacity(self, cache: Option<Cache<D>>) -> Self {
        if let Some(cache) = cache {
            let _ = self.cache_slot().set(cache);
            if let Some(cache) = self.cache().filter(|cache| cache.is_weighed()) {
                let _ =
                    self.with_writer_state(|state| cache.total(state), |state| cache.total(state));
            }
        }
        self
    }

    /// Gives the store a capacity, or changes its limit and policy, and evicts
    /// what no longer fits.
    pub(crate) fn set_capacity(&self, capacity: Capacity<D>) -> Result<()> {
        self.check_open()?;
        let mut before = None;
        match self.cache() {
            Some(cache) => {
                if cache.is_weighed() != capacity.is_weighed() {
                    return Err(Error::InvalidCapacity {
                        reason: "a store's capacity stays counted in documents, or weighed, \
                                 as it was first given"
                            .to_owned(),
                    });
                }
                before = Some(cache.limit.swap(capacity.limit, Ordering::Relaxed));
                cache
                    .age_shift
                    .store(age_shift(capacity.limit), Ordering::Relaxed);
                *cache.policy.lock() = capacity.policy;
                if let Some(weigher) = capacity.weigher {
                    *cache.weigher.write() = Some(weigher);
                }
            }
            None => {
                let weigh_all = capacity.is_weighed();
                // Two racing first calls: one installs, the other changes it.
                if let Err(lost) = self.cache_slot().set(Cache::new(&capacity)) {
                    drop(lost);
                    return self.set_capacity(capacity);
                }
                self.adopt_all(weigh_all)?;
            }
        }
        match self.make_room(Room::NOTHING) {
            Ok(_) => Ok(()),
            Err(error) => {
                // Pinned documents hold more than the new limit: keep the old.
                if let (Some(cache), Some(before)) = (self.cache(), before) {
                    cache.limit.store(before, Ordering::Relaxed);
                }
                Err(error)
            }
        }
    }

    /// Gives the documents a store held before it had a capacity their
    /// entries in its usage table, weighing them first if `weigh` (the
    /// weigher runs outside every lock), then totals the weights under the
    /// writer lock. A document written meanwhile keeps what its write
    /// stamped.
    fn adopt_all(&self, weigh: bool) -> Result<()> {
        let Some(cache) = self.cache() else {
            return Ok(());
        };
        let weigher = cache.weigher().filter(|_| weigh);
        let mut weights = std::collections::HashMap::new();
        if let Some(weigher) = weigher {
            let state = self.current()?;
            for (id, record) in state.docs.entries() {
                weights.insert(*id, (record.version(), weigher(record.value())));
            }
        }
        let total = |state: &mut State<D>| {
            if cache.is_weighed() {
                cache.total(state);
            }
        };
        self.with_writer_state(
            |state| {
                for (id, record) in state.docs.entries() {
                    let weight = weights
                        .get(id)
                        .filter(|(version, _)| *version == record.version())
                        .map(|(_, weight)| *weight);
                    cache.usage.adopt(*id, weight);
                }
                total(state);
            },
            // What readers see totals their documents' weights as the
            // writer's state has them (one a waiting commit removes counts
            // 0): the total readers are told until those commits settle.
            total,
        )
    }

    /// The weight of a document about to be written: what the weigher says,
    /// run here, before any lock (0 without a weighed capacity).
    #[inline(always)]
    pub(crate) fn weigh(&self, document: &D) -> u64 {
        match self.cache() {
            None => 0,
            Some(cache) => cache.weigher().map_or(0, |weigher| weigher(document)),
        }
    }

    /// Keeps a store with a capacity's usage table and total weight in step
    /// as document `id` gets a new version weighing `weight` (a write of its
    /// own, its first use), or is removed (`None`). Called under the writer
    /// lock, in the step that changes `state`'s documents.
    #[inline(always)]
    pub(crate) fn reweigh(&self, state: &mut State<D>, id: Id, weight: Option<u64>) {
        if let Some(cache) = self.cache() {
            let old = match weight {
                Some(weight) => cache.usage.stamp(id, weight, Some(cache.tick())),
                None => cache.usage.forget(id),
            };
            let new = weight.unwrap_or(0);
            state.weight = state.weight.saturating_sub(old).saturating_add(new);
        }
    }

    /// As [`reweigh`](Self::reweigh), for a transaction's `changes`, each
    /// new version weighing what `weights` says (in the same order) and
    /// counted as used at the commit, as a single write's is.
    pub(crate) fn reweigh_changes(
        &self,
        state: &mut State<D>,
        changes: &[Change<D>],
        weights: &[u64],
    ) {
        if let Some(cache) = self.cache() {
            let tick = cache.tick();
            for (change, weight) in changes.iter().zip(weights) {
                let (old, new) = match change.new {
                    Some(_) => (cache.usage.stamp(change.id, *weight, Some(tick)), *weight),
                    None => (cache.usage.forget(change.id), 0),
                };
                state.weight = state.weight.saturating_sub(old).saturating_add(new);
            }
        }
    }

    /// Notes a read of `record` by id or unique key, in a store with a
    /// capacity: the one branch reads pay.
    #[inline(always)]
    pub(crate) fn note_use(&self, record: &Versioned<D>) {
        if let Some(cache) = self.cache() {
            cache.note_use(record.id());
        }
    }

    /// Whether the writer's `state` has room for `room` (always, without a
    /// capacity): checked under the writer lock, after
    /// [`make_room`](Self::make_room) made it outside.
    #[inline(always)]
    pub(crate) fn has_room(&self, state: &State<D>, room: Room) -> bool {
        self.cache().is_none_or(|cache| cache.fits(state, room))
    }

    /// Pins document `id`: it is never evicted.
    pub(crate) fn pin(&self, id: Id) -> Result<()> {
        let cache = self.cache_or_default()?;
        if self.read(|state| state.docs.get(&id).is_none())? {
            return Err(Error::NotFound { id });
        }
        let mut pinned = cache.pinned.lock();
        pinned.insert(id);
        cache.pinned_count.store(pinned.len(), Ordering::Relaxed);
        Ok(())
    }

    /// Unpins document `id`; whether it was pinned.
    pub(crate) fn unpin(&self, id: Id) -> Result<bool> {
        self.check_open()?;
        let Some(cache) = self.cache() else {
            return Ok(false);
        };
        let mut pinned = cache.pinned.lock();
        let was = pinned.remove(&id);
        cache.pinned_count.store(pinned.len(), Ordering::Relaxed);
        Ok(was)
    }

    /// Whether document `id` is pinned.
    pub(crate) fn is_pinned(&self, id: Id) -> bool {
        self.cache().is_some_and(|cache| {
            cache.pinned_count.load(Ordering::Relaxed) > 0 && cache.pinned.lock().contains(&id)
        })
    }

    /// The store's capacity, giving it an unlimited one if it has none: pins
    /// need somewhere to live.
    fn cache_or_default(&self) -> Result<&Cache<D>> {
        self.check_open()?;
        if self.cache().is_none()
            && self
                .cache_slot()
                .set(Cache::new(&Capacity::documents(usize::MAX)))
                .is_ok()
        {
            self.adopt_all(false)?;
        }
        self.cache().ok_or(Error::Closed)
    }

    /// The capacity given, if any: limit, whether weighed, policy.
    pub(crate) fn capacity(&self) -> Option<(u64, bool, Policy)> {
        self.cache()
            .map(|cache| (cache.limit(), cache.is_weighed(), cache.policy()))
    }
}

impl<D> Capacity<D> {
    /// The capacity an engine reports (its weigher stays in the engine).
    fn reported(limit: u64, weighed: bool, policy: Policy) -> Self {
        Capacity {
            limit,
            weigher: weighed.then(|| Arc::new(|_: &D| 0_u64) as Weigher<D>),
            policy,
        }
    }
}

impl crate::Store {
    /// Gives the store a capacity (or changes the limit and policy of the one
    /// it has), evicting at once what no longer fits. From then on a write
    /// that would go over it first evicts, each eviction an ordinary commit
    /// heard as [`Change::Evicted`](crate::Change::Evicted); once a write
    /// returns, the store holds no more than its capacity. A transaction's
    /// commit evicts what it took over once it is published, before it
    /// returns.
    ///
    /// Fails with [`Error::InvalidCapacity`] if the store's capacity was
    /// counted in documents and this one is weighed, or the other way round;
    /// with [`Error::OverCapacity`] if pinned documents hold more than it. A
    /// weighed capacity given to a store that holds documents weighs each
    /// once, outside every lock.
    ///
    /// A capacity is configuration, not data (its weigher is a closure): a
    /// durable store does not persist it. Give it again after each open;
    /// what it evicted stays evicted, logged as deletes. A clone of the store
    /// keeps it (see [`Clone`](crate::Store#impl-Clone-for-Store)).
    ///
    /// ```
    /// use docstore_core::{Capacity, Change, Event, Store};
    /// use serde_json::json;
    ///
    /// let store = Store::new();
    /// store.set_capacity(Capacity::documents(3))?;
    /// let feed = store.subscribe()?;
    /// for n in 0..10 {
    ///     store.insert(json!({ "n": n }))?;
    /// }
    /// assert_eq!(store.len()?, 3);
    /// let mut evicted = 0;
    /// while let Some(Event::Changes(set)) = feed.try_recv()? {
    ///     let changes = set.changes().iter();
    ///     evicted += changes.filter(|c| matches!(c, Change::Evicted(_))).count();
    /// }
    /// assert_eq!(evicted, 7);
    /// # Ok::<(), docstore_core::Error>(())
    /// ```
    pub fn set_capacity(&self, capacity: Capacity<crate::Object>) -> Result<()> {
        self.engine.set_capacity(capacity)
    }

    /// The store's capacity, if it was given one.
    ///
    /// ```
    /// use docstore_core::{Capacity, Store};
    ///
    /// let store = Store::new();
    /// assert!(store.capacity().is_none());
    /// store.set_capacity(Capacity::documents(3))?;
    /// assert_eq!(store.capacity().map(|c| c.limit()), Some(3));
    /// # Ok::<(), docstore_core::Error>(())
    /// ```
    pub fn capacity(&self) -> Option<Capacity<crate::Object>> {
        let (limit, weighed, policy) = self.engine.capacity()?;
        Some(Capacity::reported(limit, weighed, policy))
    }

    /// Pins document `id`: it is never evicted, until
    /// [`unpin`](Self::unpin)ned. A write that could make room only by
    /// evicting pinned documents fails with [`Error::OverCapacity`]. Fails
    /// with [`Error::NotFound`] if no document has the id.
    ///
    /// ```
    /// use docstore_core::{Capacity, Error, Store};
    /// use serde_json::json;
    ///
    /// let store = Store::new();
    /// store.set_capacity(Capacity::documents(1))?;
    /// let first = store.insert(json!({"n": 1}))?;
    /// store.pin(first)?;
    /// let refused = store.insert(json!({"n": 2}));
    /// assert!(matches!(refused, Err(Error::OverCapacity { capacity: 1, .. })));
    /// assert!(store.unpin(first)?);
    /// store.insert(json!({"n": 2}))?;
    /// assert!(!store.contains(first)?);
    /// # Ok::<(), docstore_core::Error>(())
    /// ```
    pub fn pin(&self, id: Id) -> Result<()> {
        self.engine.pin(id)
    }

    /// Unpins document `id`, which may be evicted again; whether it was
    /// pinned. See [`pin`](Self::pin).
    pub fn unpin(&self, id: Id) -> Result<bool> {
        self.engine.unpin(id)
    }
}

impl<T: crate::Indexed> crate::Collection<T> {
    /// Gives the collection a capacity (or changes the limit and policy of
    /// the one it has), as [`Store::set_capacity`](crate::Store::set_capacity)
    /// does.
    ///
    /// ```
    /// use docstore::{Capacity, Collection, Indexed};
    ///
    /// #[derive(Indexed, Clone, Debug)]
    /// struct Page {
    ///     #[key]
    ///     url: String,
    ///     body: String,
    /// }
    ///
    /// let pages = Collection::<Page>::new();
    /// // At most 1 KiB of bodies.
    /// pages.set_capacity(Capacity::weighed(1024, |page: &Page| page.body.len() as u64))?;
    /// for n in 0..10 {
    ///     pages.insert(Page { url: format!("/{n}"), body: "x".repeat(300) })?;
    /// }
    /// assert_eq!(pages.len()?, 3);
    /// # Ok::<(), docstore::Error>(())
    /// ```
    pub fn set_capacity(&self, capacity: Capacity<T>) -> Result<()> {
        self.engine.set_capacity(capacity)
    }

    /// The collection's capacity, if it was given one.
    ///
    /// ```
    /// use docstore::{Capacity, Collection, Indexed};
    ///
    /// #[derive(Indexed, Clone, Debug)]
    /// struct Page {
    ///     #[key]
    ///     url: String,
    /// }
    ///
    /// let pages = Collection::<Page>::new();
    /// pages.set_capacity(Capacity::documents(10))?;
    /// assert_eq!(pages.capacity().map(|c| c.limit()), Some(10));
    /// # Ok::<(), docstore::Error>(())
    /// ```
    pub fn capacity(&self) -> Option<Capacity<T>> {
        let (limit, weighed, policy) = self.engine.capacity()?;
        Some(Capacity::reported(limit, weighed, policy))
    }

    /// Pins document `id`: it is never evicted, as
    /// [`Store::pin`](crate::Store::pin) describes.
    ///
    /// ```
    /// use docstore::{Capacity, Collection, Indexed};
    ///
    /// #[derive(Indexed, Clone, Debug)]
    /// struct Page {
    ///     #[key]
    ///     url: String,
    /// }
    ///
    /// let pages = Collection::<Page>::new();
    /// pages.set_capacity(Capacity::documents(2))?;
    /// let home = pages.insert(Page { url: "/".into() })?;
    /// pages.pin(home)?;
    /// for n in 0..10 {
    ///     pages.insert(Page { url: format!("/{n}") })?;
    /// }
    /// assert!(pages.contains(home)?);
    /// # Ok::<(), docstore::Error>(())
    /// ```
    pub fn pin(&self, id: Id) -> Result<()> {
        self.engine.pin(id)
    }

    /// Unpins document `id`, which may be evicted again; whether it was
    /// pinned.
    pub fn unpin(&self, id: Id) -> Result<bool> {
        self.engine.unpin(id)
    }
}
