//! Watches: subscriptions that receive only the change sets that change one
//! query's result (a document entering, leaving or changing within it).
//!
//! A store may hold thousands of watches (one per client of a service). A
//! commit must not pay for the ones it does not touch: watches on one key are
//! filed by index and key in hashed maps, so a commit looks up only the keys
//! its documents had or have. Range watches are kept by index in start order
//! and a key checks only those starting at or before it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use crate::Result;
use crate::engine::State;
use crate::feed::ChangeSet;
use crate::index::{IndexDef, KeySink};
use crate::key::{KeyBytes, KeyWriter};
use crate::snapshot::{Arity, checked, encode};

/// What a subscriber receives of its store's change sets.
pub(crate) enum Filter<D> {
    /// Every change set.
    All,
    /// Those that touch the documents holding `key` in `index`, before or after.
    Key {
        index: Arc<IndexDef<D>>,
        key: Vec<u8>,
    },
    /// Those that touch the documents with a key in `index` within the bounds.
    Range {
        index: Arc<IndexDef<D>>,
        start: Bound<Vec<u8>>,
        end: Bound<Vec<u8>>,
    },
}

/// Whether `key` lies within the range: a key that starts with a bound's
/// bytes extends it (composite keys given by their leading fields), as
/// range queries read them.
fn in_range(key: &[u8], start: &Bound<Vec<u8>>, end: &Bound<Vec<u8>>) -> bool {
    let at_or_extending = |bound: &[u8]| key <= bound || key.starts_with(bound);
    let after_start = match start {
        Bound::Included(start) => key >= start.as_slice(),
        Bound::Excluded(start) => !at_or_extending(start),
        Bound::Unbounded => true,
    };
    let before_end = match end {
        Bound::Included(end) => at_or_extending(end),
        Bound::Excluded(end) => key < end.as_slice(),
        Bound::Unbounded => true,
    };
    after_start && before_end
}

/// A range watch's bounds.
type Span = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// The watches on one index.
struct Watched<D> {
    def: Arc<IndexDef<D>>,
    /// Subscribers watching one key, by that key.
    /// Hashed, not ordered: a commit's lookup costs the same with ten
    /// watches as with ten thousand.
    keys: HashMap<Vec<u8>, BTreeSet<u64>>,
    /// Subscribers watching a range, by the range's start (unbounded first).
    ranges: BTreeMap<(Vec<u8>, u64), Span>,
}

/// A store's watches, by index.
pub(crate) struct Watches<D> {
    indexes: Vec<Watched<D>>,
    /// The indexes of `indexes`, shared with each commit that works out its
    /// keys: cloning it allocates nothing.
    defs: Arc<[Arc<IndexDef<D>>]>,
}

impl<D> Default for Watches<D> {
    fn default() -> Self {
        Watches {
            indexes: Vec::new(),
            defs: Arc::new([]),
        }
    }
}

/// The keys a commit's documents had or have, per watched index (`None` when
/// a key source panicked: then every watch of that index hears it).
pub(crate) type Touched = Vec<Option<Vec<KeyBytes>>>;

fn range_start(start: &Bound<Vec<u8>>) -> Vec<u8> {
    match start {
        Bound::Included(start) | Bound::Excluded(start) => start.clone(),
        Bound::Unbounded => Vec::new(),
    }
}

impl<D> Watches<D> {
    pub(crate) fn is_empty(&self) -> bool {
        self.indexes.is_empty()
    }

    fn watched(&mut self, def: &Arc<IndexDef<D>>) -> &mut Watched<D> {
        let position = match self
            .indexes
            .iter()
            .position(|watched| Arc::ptr_eq(&watched.def, def))
        {
            Some(position) => position,
            None => {
                self.indexes.push(Watched {
                    def: Arc::clone(def),
                    keys: HashMap::new(),
                    ranges: BTreeMap::new(),
                });
                self.defs = self.defs.iter().cloned().chain([Arc::clone(def)]).collect();
                self.indexes.len() - 1
            }
        };
        &mut self.indexes[position]
    }

    pub(crate) fn add(&mut self, id: u64, filter: &Filter<D>) {
        match filter {
            Filter::All => {}
            Filter::Key { index, key } => {
                self.watched(index)
                    .keys
                    .entry(key.clone())
                    .or_default()
                    .insert(id);
            }
            Filter::Range { index, start, end } => {
                self.watched(index)
                    .ranges
                    .insert((range_start(start), id), (start.clone(), end.clone()));
            }
        }
    }

    pub(crate) fn remove(&mut self, id: u64, filter: &Filter<D>) {
        let index = match filter {
            Filter::All => return,
            Filter::Key { index, key } => {
                let watched = self.watched(index);
                if let Some(ids) = watched.keys.get_mut(key) {
                    ids.remove(&id);
                    if ids.is_empty() {
                        watched.keys.remove(key);
                    }
                }
                index
            }
            Filter::Range { index, start, .. } => {
                self.watched(index).ranges.remove(&(range_start(start), id));
                index
            }
        };
        let before = self.indexes.len();
        self.indexes.retain(|watched| {
            !Arc::ptr_eq(&watched.def, index)
                || !watched.keys.is_empty()
                || !watched.ranges.is_empty()
        });
        if self.indexes.len() != before {
            self.defs = self
                .indexes
                .iter()
                .map(|watched| Arc::clone(&watched.def))
                .collect();
        }
    }

    /// The watched indexes, to work out a commit's keys outside every lock.
    pub(crate) fn indexes(&self) -> Arc<[Arc<IndexDef<D>>]> {
        Arc::clone(&self.defs)
    }

    /// The subscribers watching what a commit touched: `touched` holds its
    /// keys in each of `indexes` (as [`Watches::indexes`] gave them).
    pub(crate) fn matching(
        &self,
        indexes: &[Arc<IndexDef<D>>],
        touched: &Touched,
    ) -> BTreeSet<u64> {
        let mut found = BTreeSet::new();
        for (def, keys) in indexes.iter().zip(touched) {
            let Some(watched) = self
                .indexes
                .iter()
                .find(|watched| Arc::ptr_eq(&watched.def, def))
            else {
                continue;
            };
            let Some(keys) = keys else {
                found.extend(watched.keys.values().flatten().copied());
                found.extend(watched.ranges.keys().map(|(_, id)| *id));
                continue;
            };
            for key in keys {
                let key = key.as_bytes();
                if let Some(ids) = watched.keys.get(key) {
                    found.extend(ids.iter().copied());
                }
                if watched.ranges.is_empty() {
                    continue;
                }
                // Only ranges starting at or before the key can hold it.
                for ((_, id), (start, end)) in watched.ranges.range(..=(key.to_vec(), u64::MAX)) {
                    if in_range(key, start, end) {
                        found.insert(*id);
                    }
                }
            }
        }
        found
    }
}

/// The keys `commit`'s documents had before and have after, in each of
/// `indexes`. Key sources may be user code: this runs outside every lock.
pub(crate) fn touched<D>(indexes: &[Arc<IndexDef<D>>], set: &ChangeSet<D>) -> Touched {
    // The thread's spare sink, as writes use: a fresh one allocates its
    // buffers again for every commit.
    KeySink::with_spare(|sink| {
        indexes
            .iter()
            .map(|def| {
                catch_unwind(AssertUnwindSafe(|| {
                    let mut keys = Vec::new();
                    for change in set.changes() {
                        for document in change.before().into_iter().chain(change.after()) {
                            def.keys_of(document.value(), sink)
                                .unwrap_or_default()
                                .each(|key| keys.push(key));
                        }
                    }
                    keys
                }))
                .ok()
            })
            .collect()
    })
}

/// The filters of a store's watches, made under its writer lock from the
/// index as it is.
pub(crate) fn key_filter<D>(
    state: &State<D>,
    index: &str,
    write: impl FnOnce(&mut KeyWriter),
) -> Result<Filter<D>> {
    let index = state.index(index)?;
    let key = encode(index, Arity::Exact, write)?;
    Ok(Filter::Key {
        index: Arc::clone(&index.def),
        key,
    })
}

pub(crate) fn range_filter<D>(
    state: &State<D>,
    index: &str,
    write: impl FnOnce(&mut KeyWriter, &mut KeyWriter) -> (Bound<()>, Bound<()>),
) -> Result<Filter<D>> {
    let index = state.index(index)?;
    let mut start_key = KeyWriter::new();
    let mut end_key = KeyWriter::new();
    let (start_bound, end_bound) = write(&mut start_key, &mut end_key);
    let start_key = checked(index, Arity::UpTo, start_key, start_bound)?;
    let end_key = checked(index, Arity::UpTo, end_key, end_bound)?;
    let bound = |bound: Bound<()>, key: Vec<u8>| match bound {
        Bound::Included(()) => Bound::Included(key),
        Bound::Excluded(()) => Bound::Excluded(key),
        Bound::Unbounded => Bound::Unbounded,
    };
    Ok(Filter::Range {
        index: Arc::clone(&index.def),
        start: bound(start_bound, start_key),
        end: bound(end_bound, end_key),
    })
}
