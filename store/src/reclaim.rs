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
//! So a snapshot that holds the last handle on an old state takes it apart
//! on its own thread (letting go of what the current state still shares, which
//! is most of the work) but frees nothing: the emptied nodes and the old
//! versions only it held come here, and each write frees a few of them (see
//! [`Reclaim::tidy`]), on the thread that allocated them: no lock is
//! contended, and the freed blocks are what the next copies reuse. Nothing is
//! lost: what is pending is freed by later writes, and at the latest when the
//! store goes.

use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

use crate::engine::State;
use crate::index::Entry;
use crate::tree::{INDEX_LEAF_SLOTS, Teardown};
use crate::{Id, Versioned};

/// How many nodes and old versions a write frees at most: more than a write
/// beside a snapshot allocates (a leaf in the documents tree and one or two in
/// each changed index, the branches above them about once a snapshot, and one
/// new version), so that freeing keeps up with copying without making any one
/// write much slower.
const NODES_PER_WRITE: usize = 16;
const VERSIONS_PER_WRITE: usize = 2;

/// What snapshots took apart and left to free.
pub(crate) struct Reclaim<D> {
    pending: Mutex<Pending<D>>,
    /// Whether `pending` holds anything: all a write reads when it does not.
    busy: AtomicBool,
}

struct Pending<D> {
    docs: Teardown<Id, Versioned<D>>,
    entries: Teardown<Entry, Option<Versioned<D>>, INDEX_LEAF_SLOTS>,
}

impl<D> Default for Pending<D> {
    fn default() -> Self {
        Pending {
            docs: Teardown::default(),
            entries: Teardown::default(),
        }
    }
}

impl<D> Default for Reclaim<D> {
    fn default() -> Self {
        Reclaim {
            pending: Mutex::default(),
            busy: AtomicBool::new(false),
        }
    }
}

impl<D> Reclaim<D> {
    /// Takes `state`, which nothing else holds, apart on this thread and
    /// keeps what that would free for the writes to free.
    pub(crate) fn give(&self, state: State<D>) {
        let mut mine = Pending::default();
        let (docs, indexes) = state.into_parts();
        mine.docs.hollow(docs);
        for index in indexes {
            mine.entries.hollow(index.entries);
        }
        let mut pending = self.pending.lock();
        pending.docs.append(&mut mine.docs);
        pending.entries.append(&mut mine.entries);
        self.busy.store(true, Ordering::Relaxed);
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
        let (mut nodes, mut versions) = (NODES_PER_WRITE, VERSIONS_PER_WRITE);
        pending.docs.step(&mut nodes, &mut versions);
        pending.entries.step(&mut nodes, &mut versions);
        if pending.docs.is_empty() && pending.entries.is_empty() {
            self.busy.store(false, Ordering::Relaxed);
        }
    }
}
