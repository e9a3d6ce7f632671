//! `stats()`: what a store holds and what holds memory in it, cheap enough to
//! read every second.
//!
//! Counts come from counters kept as things happen (relaxed atomic adds on
//! paths that are already slow: an expiry, an eviction, a conflict); sizes
//! from the current state (document and entry counts are kept by the trees)
//! and from a few sampled entries, so a call costs O(indexes × samples ×
//! log n), never a walk of the store.
//!
//! Old states held alive: a write that finds the state it replaces shared by
//! someone other than the readers' slots (a snapshot, a transaction, a long
//! read) notes a weak handle to it. `stats()` reports the oldest of those
//! still alive. This misses a holder that never overlapped a write (it holds
//! nothing old) and iterators that keep only trees; it is an approximation.

use std::cell::RefCell;
use std::mem::size_of;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use crate::capacity::SAMPLES;
use crate::engine::{Engine, State};
use crate::index::Entry;
use crate::inline_bytes::InlineBytes;
use crate::{Collection, Indexed, Result, Store, Versioned};

/// What a store counts as it goes.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) expired: AtomicU64,
    pub(crate) evicted: AtomicU64,
    pub(crate) conflicts: AtomicU64,
    pub(crate) retries: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

thread_local! {
    /// The counters of the store whose conflict failed this thread's last
    /// commit: a retry of the transaction is counted there.
    static LAST_CONFLICT: RefCell<Option<Arc<Counters>>> = const { RefCell::new(None) };
}

/// Counts a conflict in `counters`, remembering it for a retry.
pub(crate) fn conflicted(counters: &Arc<Counters>) {
    Counters::add(&counters.conflicts);
    LAST_CONFLICT.with(|last| *last.borrow_mut() = Some(Arc::clone(counters)));
}

/// Counts a retry of the transaction whose commit last conflicted here.
pub(crate) fn retried() {
    LAST_CONFLICT.with(|last| {
        if let Some(counters) = last.borrow_mut().take() {
            Counters::add(&counters.retries);
        }
    });
}

/// Weak handles to replaced states that something still held when replaced.
pub(crate) struct Retired<D> {
    states: Mutex<Vec<Weak<State<D>>>>,
}

impl<D> Default for Retired<D> {
    fn default() -> Self {
        Retired {
            states: Mutex::new(Vec::new()),
        }
    }
}

/// How many handles the list holds before it drops those gone.
const RETIRED_PRUNE: usize = 64;

impl<D> Retired<D> {
    /// Notes `state`, about to be replaced while shared.
    pub(crate) fn note(&self, state: &Arc<State<D>>) {
        let mut states = self.states.lock();
        if states
            .last()
            .is_some_and(|last| std::ptr::eq(last.as_ptr(), Arc::as_ptr(state)))
        {
            return;
        }
        if states.len() >= RETIRED_PRUNE {
            states.retain(|weak| weak.strong_count() > 0);
        }
        states.push(Arc::downgrade(state));
    }

    /// The oldest noted state still alive.
    fn oldest(&self) -> Option<Arc<State<D>>> {
        let mut states = self.states.lock();
        states.retain(|weak| weak.strong_count() > 0);
        states
            .iter()
            .filter_map(Weak::upgrade)
            .min_by_key(|state| state.seq)
    }
}

/// What a store or collection holds, what holds memory in it, and what it
/// did; returned by [`Store::stats`] and [`Collection::stats`].
///
/// ```
/// use docstore_core::Store;
/// use serde_json::json;
///
/// let store = Store::new();
/// store.insert(json!({"n": 1}))?;
/// let stats = store.stats()?;
/// assert_eq!(stats.documents, 1);
/// assert_eq!(stats.evicted, 0);
/// # Ok::<(), docstore_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Documents held.
    pub documents: usize,
    /// Bytes the documents take, approximately: with a weighed capacity, the
    /// weights' total; otherwise the records' own size (the document type's
    /// size plus id, version and bookkeeping), not counting what a document
    /// owns on the heap.
    pub bytes: u64,
    /// The capacity's limit, if the store has one: documents, or weight.
    pub capacity: Option<u64>,
    /// Documents pinned (see [`Store::pin`]).
    pub pinned: usize,
    /// Each index, in creation order.
    pub indexes: Vec<IndexStats>,
    /// The oldest state still held by a snapshot, a transaction or a long
    /// read, if one outlived a write (approximate; see [`OldState`]).
    pub oldest: Option<OldState>,
    /// Each subscription to the store's change feed.
    pub subscriptions: Vec<SubscriptionStats>,
    /// Documents removed as their deadline passed.
    pub expired: u64,
    /// Documents evicted to keep to the capacity.
    pub evicted: u64,
    /// Transaction commits that failed with a conflict on this store.
    pub conflicts: u64,
    /// Of those, how many the transaction's closure form ran again.
    pub retries: u64,
    /// `get_or_load` calls served from the store (or by a load another
    /// thread was running for the same key).
    pub hits: u64,
    /// `get_or_load` calls that ran their load.
    pub misses: u64,
    /// Loads not kept, as the full store's admission filter decided.
    pub refused: u64,
}

/// One index's size.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexStats {
    /// Its name.
    pub name: String,
    /// Its entries: one per key per document.
    pub entries: usize,
    /// Bytes its entries take, approximately: each entry's own size plus the
    /// key bytes stored outside it, averaged over a few sampled entries.
    pub bytes: u64,
}

/// The oldest state something still holds, and what it keeps alive.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OldState {
    /// The sequence number of its last commit.
    pub seq: u64,
    /// Commits since.
    pub behind: u64,
    /// Old document versions it keeps alive, at most: the documents written
    /// since it was current (each replaced or deleted version it still holds),
    /// capped at the documents it holds.
    pub versions: u64,
}

/// One subscription's backlog.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubscriptionStats {
    /// Change sets delivered to it and not yet received: its lag.
    pub lag: usize,
    /// How many it buffers before it drops change sets.
    pub buffer: usize,
    /// Change sets dropped since the last that fit (it will receive
    /// [`Event::Lagged`](crate::Event::Lagged)).
    pub missed: u64,
}

impl<D: Send + Sync + 'static> Engine<D> {
    pub(crate) fn stats(&self) -> Result<Stats> {
        let state = self.current()?;
        let counters = self.counters();
        let cache = self.cache();
        let flights = self.flights();
        let documents = state.docs.len();
        let bytes = match cache.filter(|cache| cache.is_weighed()) {
            Some(_) => state.weight,
            None => to_u64(documents).saturating_mul(to_u64(record_size::<D>())),
        };
        let indexes = state
            .indexes
            .iter()
            .map(|index| IndexStats {
                name: index.name().to_owned(),
                entries: index.entries.len(),
                bytes: index_bytes(index),
            })
            .collect();
        let oldest = self.retired().oldest().map(|old| {
            let writes = state.generation().saturating_sub(old.generation());
            OldState {
                seq: old.seq,
                behind: state.seq.saturating_sub(old.seq),
                versions: writes.min(to_u64(old.docs.len())),
            }
        });
        let subscriptions = self
            .feed()
            .backlogs()
            .into_iter()
            .map(|(lag, buffer, missed)| SubscriptionStats {
                lag,
                buffer,
                missed,
            })
            .collect();
        Ok(Stats {
            documents,
            bytes,
            capacity: cache.map(crate::capacity::Cache::limit),
            pinned: cache.map_or(0, |cache| cache.pinned.lock().len()),
            indexes,
            oldest,
            subscriptions,
            expired: counters.expired.load(Ordering::Relaxed),
            evicted: counters.evicted.load(Ordering::Relaxed),
            conflicts: counters.conflicts.load(Ordering::Relaxed),
            retries: counters.retries.load(Ordering::Relaxed),
            hits: flights.hits.load(Ordering::Relaxed),
            misses: flights.misses.load(Ordering::Relaxed),
            refused: cache.map_or(0, |cache| cache.refused.load(Ordering::Relaxed)),
        })
    }
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// A record's own size: the document, its id, version and bookkeeping, the
/// `Arc`'s counts, and its slot in the id tree.
fn record_size<D>() -> usize {
    size_of::<D>() + 64 + size_of::<(crate::Id, Versioned<D>)>()
}

/// An index's size, from its entry count and a few sampled entries' keys.
fn index_bytes<D>(index: &crate::index::IndexState<D>) -> u64 {
    let entries = index.entries.len();
    if entries == 0 {
        return 0;
    }
    let own = size_of::<(Entry, Option<Versioned<D>>)>();
    let step = (entries / SAMPLES).max(1);
    let sampled: Vec<usize> = (0..entries)
        .step_by(step)
        .take(SAMPLES)
        .filter_map(|rank| index.entries.nth(rank))
        .map(|(entry, _)| match &entry.key {
            // The shared slice and its `Arc` counts.
            InlineBytes::Heap(bytes) => bytes.len() + 16,
            InlineBytes::Inline { .. } => 0,
        })
        .collect();
    let heap = sampled.iter().sum::<usize>() / sampled.len().max(1);
    to_u64(entries).saturating_mul(to_u64(own + heap))
}

impl Store {
    /// What the store holds, what holds memory in it, and what it did (see
    /// [`Stats`]). Costs O(indexes × log n): cheap enough to call every
    /// second.
    ///
    /// ```
    /// use docstore_core::{Capacity, Store};
    /// use serde_json::json;
    ///
    /// let store = Store::new();
    /// store.create_index("by_n", ["n"])?;
    /// store.set_capacity(Capacity::documents(2))?;
    /// let _feed = store.subscribe()?;
    /// for n in 0..5 {
    ///     store.insert(json!({ "n": n }))?;
    /// }
    /// let stats = store.stats()?;
    /// assert_eq!((stats.documents, stats.evicted), (2, 3));
    /// assert_eq!(stats.indexes[0].entries, 2);
    /// assert_eq!(stats.subscriptions[0].lag, 8); // 5 inserts, 3 evictions
    /// # Ok::<(), docstore_core::Error>(())
    /// ```
    pub fn stats(&self) -> Result<Stats> {
        self.engine.stats()
    }
}

impl<T: Indexed> Collection<T> {
    /// What the collection holds, what holds memory in it, and what it did,
    /// as [`Store::stats`] describes.
    ///
    /// ```
    /// use docstore::{Collection, Indexed};
    ///
    /// #[derive(Indexed, Clone, Debug)]
    /// struct Page {
    ///     #[key]
    ///     url: String,
    /// }
    ///
    /// let pages = Collection::<Page>::new();
    /// pages.insert(Page { url: "/".into() })?;
    /// let snapshot = pages.snapshot()?;
    /// pages.insert(Page { url: "/about".into() })?;
    /// let stats = pages.stats()?;
    /// assert_eq!(stats.documents, 2);
    /// assert_eq!(stats.oldest.map(|old| old.behind), Some(1));
    /// drop(snapshot);
    /// assert!(pages.stats()?.oldest.is_none());
    /// # Ok::<(), docstore::Error>(())
    /// ```
    pub fn stats(&self) -> Result<Stats> {
        self.engine.stats()
    }
}
