//! Giving back the memory a dropped snapshot held, on the writer's thread.
//!
//! While a snapshot is alive, every write copies the tree nodes on its path
//! that the snapshot shares, and the snapshot keeps the originals. Dropping
//! the snapshot frees those originals at once, on the dropping thread. A reader
//! that scans in a loop thus frees, after each scan, every node the writes
//! replaced meanwhile: thousands of blocks that the writer's thread allocated,
//! so glibc's allocator frees each into the writer's arena under that arena's
//! lock, while the writer's own allocations (the copies of its next writes)
//! wait for the same lock. Measured (issue 11): the slowest 1% of updates
//! beside a scanning reader were mostly those made while the reader dropped
//! its snapshot, blocked in `malloc` on the arena's lock that the reader's
//! `free` held.
//!
//! So a snapshot that holds the last handle on an old state hands it here
//! instead, and each write frees a bounded number of its nodes (see
//! [`Reclaim::tidy`]), on the thread that allocated them: no lock is
//! contended, and the freed blocks are what the next copies reuse. Nothing is
//! lost: what is pending is freed by later writes, and at the latest when the
//! store goes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

use crate::engine::State;
use crate::index::Entry;
use crate::tree::{INDEX_LEAF_SLOTS, Teardown};
use crate::{Id, Versioned};

/// Nodes a write lets go of at most: about what a write beside a snapshot
/// copies (a path in the documents tree and one in each changed index, and
/// the children of each copied branch), so that freeing keeps up with copying
/// without making any one write much slower.
const NODES_PER_WRITE: usize = 64;

/// Old states handed back by snapshots, and the trees being freed.
pub(crate) struct Reclaim<D> {
    pending: Mutex<Pending<D>>,
    /// Whether `pending` holds anything: all a write reads when it does not.
    busy: AtomicBool,
}

struct Pending<D> {
    /// States handed back; freed once nothing else holds them.
    states: Vec<Arc<State<D>>>,
    docs: Teardown<Id, Versioned<D>>,
    entries: Teardown<Entry, Option<Versioned<D>>, INDEX_LEAF_SLOTS>,
}

impl<D> Default for Reclaim<D> {
    fn default() -> Self {
        Reclaim {
            pending: Mutex::new(Pending {
                states: Vec::new(),
                docs: Teardown::default(),
                entries: Teardown::default(),
            }),
            busy: AtomicBool::new(false),
        }
    }
}

impl<D> Reclaim<D> {
    /// Takes `state` from a snapshot that is letting go of it, if only that
    /// snapshot's `handles` still hold it; otherwise leaves it to its other
    /// holders.
    pub(crate) fn give(&self, state: &Arc<State<D>>, handles: usize) {
        if Arc::strong_count(state) > handles {
            return;
        }
        let mut pending = self.pending.lock();
        if !pending.states.iter().any(|held| Arc::ptr_eq(held, state)) {
            pending.states.push(Arc::clone(state));
        }
        self.busy.store(true, Ordering::Release);
    }

    /// Frees a bounded share of what is pending; a writer calls it once per
    /// write. Skips if another thread is at it.
    #[inline]
    pub(crate) fn tidy(&self) {
        if self.busy.load(Ordering::Relaxed) {
            self.tidy_some();
        }
    }

    #[inline(never)]
    fn tidy_some(&self) {
        let Some(mut pending) = self.pending.try_lock() else {
            return;
        };
        pending.take_unheld();
        let mut budget = NODES_PER_WRITE;
        let Pending { docs, entries, .. } = &mut *pending;
        docs.step(&mut budget);
        entries.step(&mut budget);
        if pending.is_empty() {
            self.busy.store(false, Ordering::Relaxed);
        }
    }

    /// Moves the states nothing else holds any more to be freed, so that no
    /// one counts them as held (see `stats`).
    pub(crate) fn settle(&self) {
        if self.busy.load(Ordering::Acquire) {
            self.pending.lock().take_unheld();
        }
    }
}

impl<D> Pending<D> {
    fn take_unheld(&mut self) {
        let mut at = 0;
        while let Some(state) = self.states.get(at) {
            if Arc::strong_count(state) > 1 {
                at += 1;
                continue;
            }
            let state = self.states.swap_remove(at);
            if let Some(state) = Arc::into_inner(state) {
                let (docs, indexes) = state.into_trees();
                self.docs.push(docs);
                for index in indexes {
                    self.entries.push(index);
                }
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.states.is_empty() && self.docs.is_empty() && self.entries.is_empty()
    }
}
