//! How a durable database syncs, checkpoints and recovers.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::fs::{Fs, RealFs};

/// When a commit's log bytes are fsynced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPolicy {
    /// Before the commit returns or becomes visible: an acknowledged commit
    /// survives a crash of the machine. Concurrent committers share one fsync.
    Always,
    /// At least every interval, by a background thread. A commit is visible at
    /// once and its bytes are handed to the OS before it returns: it survives a
    /// crash of the process; a crash of the machine may lose the commits after
    /// the last completed fsync (never part of one).
    Interval(Duration),
    /// Only on [`flush`](crate::DurableDb::flush), checkpoints and close; the
    /// same promise as `Interval` otherwise.
    Never,
}

/// The options of [`DurableDb::open`](crate::DurableDb::open).
///
/// ```
/// use docstore_core::{DurableOptions, SyncPolicy};
///
/// let options = DurableOptions::new()
///     .sync(SyncPolicy::Always)
///     .checkpoint_after(64 << 20)
///     .repair(false);
/// # let _ = options;
/// ```
#[derive(Clone)]
pub struct DurableOptions {
    pub(crate) sync: SyncPolicy,
    pub(crate) checkpoint_after: Option<u64>,
    pub(crate) repair: bool,
    pub(crate) fs: Arc<dyn Fs>,
    /// What deadlines are read against; the system clock when none.
    pub(crate) clock: Option<Arc<dyn crate::Clock>>,
}

impl DurableOptions {
    /// `SyncPolicy::Always`, a checkpoint each 64 MiB of log, no repair.
    pub fn new() -> DurableOptions {
        DurableOptions {
            sync: SyncPolicy::Always,
            checkpoint_after: Some(64 << 20),
            repair: false,
            fs: Arc::new(RealFs),
            clock: None,
        }
    }

    /// When commits are fsynced.
    pub fn sync(mut self, policy: SyncPolicy) -> DurableOptions {
        self.sync = policy;
        self
    }

    /// Checkpoints in the background once the log has grown by `bytes` since
    /// the last checkpoint.
    pub fn checkpoint_after(mut self, bytes: u64) -> DurableOptions {
        self.checkpoint_after = Some(bytes);
        self
    }

    /// Never checkpoints by itself: only [`checkpoint`](crate::DurableDb::checkpoint) does.
    pub fn no_automatic_checkpoints(mut self) -> DurableOptions {
        self.checkpoint_after = None;
        self
    }

    /// Whether `open` keeps the good prefix of a log damaged where it was known
    /// to be on disk (reporting what it cut) instead of failing.
    pub fn repair(mut self, repair: bool) -> DurableOptions {
        self.repair = repair;
        self
    }

    /// Reads the stores' deadlines against `clock` (a
    /// [`ManualClock`](crate::ManualClock) in tests) instead of the system
    /// clock.
    pub fn clock(mut self, clock: impl crate::Clock) -> DurableOptions {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Runs on another filesystem: the simulated one of the tests.
    #[doc(hidden)]
    pub fn filesystem(mut self, fs: Arc<dyn Fs>) -> DurableOptions {
        self.fs = fs;
        self
    }
}

impl Default for DurableOptions {
    fn default() -> Self {
        DurableOptions::new()
    }
}

impl fmt::Debug for DurableOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DurableOptions")
            .field("sync", &self.sync)
            .field("checkpoint_after", &self.checkpoint_after)
            .field("repair", &self.repair)
            .finish_non_exhaustive()
    }
}
