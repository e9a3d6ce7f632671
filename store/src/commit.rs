//! What a commit is: the step that makes a write visible, its place in the
//! commit order, and what it changed.
//!
//! Every write ends here, a single-document write and a whole transaction
//! alike: it takes the next sequence number and publishes its new state as one
//! step ([`Sequence::commit`]). Data flows one way: the engine and transactions
//! produce commits; the change feed consumes them from
//! [`Sequence::committed`]. This module knows nothing of the engine.
//!
//! A durable database's commits take their numbers from its log instead, as
//! their frames go in, and publish through [`Clock::publish`] in that order
//! (see `durable::wal`): one number per commit in the log, the feeds and
//! snapshots alike.
//!
//! Sequence numbers are gapless per database, or per standalone store. Stores
//! of one database share a [`Clock`], which makes a database-wide snapshot
//! consistent without stopping commits: a cut clones every store's state
//! between two readings of the last number taken, at an instant when every
//! commit that took a number had finished publishing, and tries again if a
//! commit took one meanwhile. Commits hold the clock's publish gate shared
//! while they take their number and publish; a cut that keeps losing that
//! race (commits back to back), and one that must start a subscription
//! exactly where it ends, takes the gate exclusively instead, for the few
//! `Arc` clones it takes. A standalone store has no clock and pays nothing
//! for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

use crate::clock::Timekeeper;
use crate::db_feed::DbFeed;
use crate::feed::{ChangeSet, Feed};
use crate::{Id, Versioned};

/// The commit order of one database: its publish gate, last sequence number,
/// and change feed; and the time its stores' deadlines are read against.
#[derive(Default)]
pub(crate) struct Clock {
    gate: RwLock<()>,
    last: AtomicU64,
    /// How many commits have finished publishing: `last` when none is.
    done: AtomicU64,
    /// Changes published with no number (deadlines only, see
    /// [`Sequence::publish_unnumbered`]) begun, and finished: equal when none
    /// is publishing.
    unnumbered: AtomicU64,
    unnumbered_done: AtomicU64,
    pub(crate) feed: DbFeed,
    pub(crate) time: Arc<Timekeeper>,
}

/// How many times a cut is tried while commits go on before it stops them.
const CUT_TRIES: usize = 8;

impl Clock {
    /// A database's commit order, reading deadlines against `time`.
    pub(crate) fn with_time(time: Arc<Timekeeper>) -> Clock {
        Clock {
            time,
            ..Clock::default()
        }
    }

    /// A clock continuing after commit `last`, reading deadlines against
    /// `time`: a durable database's, after recovery.
    pub(crate) fn starting_after(last: u64, time: Arc<Timekeeper>) -> Clock {
        Clock {
            last: AtomicU64::new(last),
            done: AtomicU64::new(last),
            time,
            ..Clock::default()
        }
    }

    /// Runs `take` while no commit of this database is publishing, with the
    /// sequence number of the last commit: what a cut across stores needs.
    /// Holds the gate: `take` must not wait for a store's writer, which may
    /// be waiting for the gate.
    pub(crate) fn cut<R>(&self, take: impl FnOnce(u64) -> R) -> R {
        let _gate = self.gate.write();
        take(self.last.load(Ordering::Acquire))
    }

    /// Publishes commit `seq`, whose number a durable database's log gave
    /// it: makes `seq` the last commit and runs `publish` inside the gate,
    /// as [`Sequence::commit`] does. The log calls this in commit order, so
    /// numbers have no gaps.
    pub(crate) fn publish<R>(&self, seq: u64, publish: impl FnOnce() -> R) -> R {
        let _gate = self.gate.read();
        // Taken before publishing, counted done after: what a running cut
        // relies on (see `cut_running`).
        self.last.store(seq, Ordering::SeqCst);
        let _done = Done(&self.done);
        publish()
    }

    /// Runs `take` (which clones every store's state) while commits go on,
    /// and returns what it took with the sequence number of the last commit
    /// it holds, if that was one consistent moment: every commit that had
    /// taken a number when `take` began had published, and none took one
    /// before it ended. Gives up after a few tries.
    pub(crate) fn cut_running<R>(&self, mut take: impl FnMut() -> R) -> Option<(R, u64)> {
        for _ in 0..CUT_TRIES {
            let last = self.last.load(Ordering::SeqCst);
            let unnumbered = self.unnumbered.load(Ordering::SeqCst);
            // Commits take their number before they publish and count
            // themselves done after: equal counts mean none is publishing.
            // Changes with no number count themselves begun instead.
            if self.done.load(Ordering::SeqCst) != last
                || self.unnumbered_done.load(Ordering::SeqCst) != unnumbered
            {
                std::thread::yield_now();
                continue;
            }
            let taken = take();
            // A commit whose change `take` saw took its number before
            // publishing it, so this reading sees that number.
            std::sync::atomic::fence(Ordering::SeqCst);
            if self.last.load(Ordering::SeqCst) == last
                && self.unnumbered.load(Ordering::SeqCst) == unnumbered
            {
                return Some((taken, last));
            }
        }
        None
    }
}

/// Counts a commit done when it has published, or unwound trying.
struct Done<'a>(&'a AtomicU64);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Where a store's commits take their sequence numbers.
pub(crate) enum Sequence {
    /// A standalone store: its own numbers. Only the holder of the store's
    /// writer lock commits, so this needs no atomic read-modify-write.
    Alone(AtomicU64),
    /// A store of a database: the database's numbers and gate.
    Shared(Arc<Clock>),
}

impl Sequence {
    /// Numbers for a new standalone store, continuing after `last`.
    pub(crate) fn alone(last: u64) -> Sequence {
        Sequence::Alone(AtomicU64::new(last))
    }

    /// Publishes one commit: runs `publish` with the commit's sequence number,
    /// inside the database's gate. The caller holds the writer lock of every
    /// store the commit changes, and `publish` cannot fail, so numbers have no
    /// gaps.
    #[inline]
    pub(crate) fn commit<R>(&self, publish: impl FnOnce(u64) -> R) -> R {
        match self {
            Sequence::Alone(last) => {
                let seq = last.load(Ordering::Relaxed) + 1;
                last.store(seq, Ordering::Relaxed);
                publish(seq)
            }
            Sequence::Shared(clock) => {
                let _gate = clock.gate.read();
                let seq = clock.last.fetch_add(1, Ordering::SeqCst) + 1;
                let _done = Done(&clock.done);
                publish(seq)
            }
        }
    }

    /// Publishes a change that takes no sequence number (deadlines only,
    /// which change no document and which the feed does not hear): runs
    /// `publish` with the number of the last commit, inside the database's
    /// gate and counted as publishing, as [`commit`](Self::commit) does, so
    /// that a cut of the database sees all of it or none.
    pub(crate) fn publish_unnumbered<R>(&self, publish: impl FnOnce(u64) -> R) -> R {
        match self {
            Sequence::Alone(last) => publish(last.load(Ordering::Relaxed)),
            Sequence::Shared(clock) => {
                let _gate = clock.gate.read();
                clock.unnumbered.fetch_add(1, Ordering::SeqCst);
                let _done = Done(&clock.unnumbered_done);
                publish(clock.last.load(Ordering::Acquire))
            }
        }
    }

    /// The sequence number of the last commit.
    pub(crate) fn last(&self) -> u64 {
        match self {
            Sequence::Alone(last) => last.load(Ordering::Relaxed),
            Sequence::Shared(clock) => clock.last.load(Ordering::Acquire),
        }
    }

    /// The database clock, for a store of a database.
    pub(crate) fn clock(&self) -> Option<&Arc<Clock>> {
        match self {
            Sequence::Alone(_) => None,
            Sequence::Shared(clock) => Some(clock),
        }
    }

    /// Whether a commit that took its number must tell a feed: the store's
    /// (`feed`, read under the store's writer lock) or the database's (read
    /// after the number was taken). When neither listens a write builds no
    /// change set at all.
    #[inline]
    pub(crate) fn heard_by<D: Send + Sync + 'static>(&self, feed: &Feed<D>) -> bool {
        feed.is_active() || self.clock().is_some_and(|clock| clock.feed.is_active())
    }

    /// Hears of a published commit's changes to one store, after every lock is
    /// released, and tells the store's feed and the database's. The replaced
    /// documents' destructors (user code, for typed documents) run here too,
    /// outside the locks.
    pub(crate) fn committed<D: Send + Sync + 'static>(&self, feed: &Feed<D>, commit: Commit<D>) {
        #[cfg(feature = "testing")]
        testing::heard(&commit);
        if !self.heard_by(feed) {
            // Nobody listens: the change set would be built to be dropped.
            return;
        }
        let Commit {
            seq,
            prev,
            parts,
            address,
            ..
        } = commit;
        let set = ChangeSet::from_commit(commit);
        if let Some(clock) = self.clock()
            && clock.feed.is_active()
        {
            clock.feed.heard(seq, parts, address, set.clone());
        }
        feed.heard(prev, set);
    }
}

/// What one commit changed in one store.
pub(crate) struct Commit<D> {
    /// Its place in the commit order.
    pub(crate) seq: u64,
    /// The sequence number of the store's commit before it (its state's).
    pub(crate) prev: u64,
    /// How many stores the commit changed.
    pub(crate) parts: usize,
    /// Which store (its engine's address).
    pub(crate) address: usize,
    /// Whether it removes documents past their deadline.
    pub(crate) expired: bool,
    /// Whether it evicts documents from a store at its capacity.
    pub(crate) evicted: bool,
    /// Each document it changed, once, in id order.
    pub(crate) changes: Vec<Change<D>>,
}

impl<D> Commit<D> {
    /// A single-document write's commit.
    pub(crate) fn one(
        seq: u64,
        prev: u64,
        address: usize,
        id: Id,
        old: Option<Versioned<D>>,
        new: Option<Versioned<D>>,
    ) -> Commit<D> {
        Commit {
            seq,
            prev,
            parts: 1,
            address,
            expired: false,
            evicted: false,
            changes: vec![Change { id, old, new }],
        }
    }
}

/// One document's change: `old` is none for an insert, `new` none for a delete.
pub(crate) struct Change<D> {
    pub(crate) id: Id,
    pub(crate) old: Option<Versioned<D>>,
    pub(crate) new: Option<Versioned<D>>,
}

/// Where a commit can be held still, so tests can drive two commits through
/// each interleaving instead of hoping a stress run hits it.
#[doc(hidden)]
#[cfg(feature = "testing")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitStage {
    /// Before any lock is taken.
    BeforeLocking,
    /// With every touched store's writer lock held, its reads validated and
    /// its unique keys and versions checked; before the new state is built.
    Validated,
    /// Halfway through building the new state of a store (after half its
    /// changed documents), with the writer locks held and nothing published.
    /// A transaction changing a few documents of a store, which are changed in
    /// place when it publishes, passes here before.
    Building,
    /// The new state is built on a private copy; before it is published.
    Built,
}

/// What tests observe of commits.
#[cfg(feature = "testing")]
pub mod testing {
    use std::cell::RefCell;

    use super::Commit;
    use crate::Id;

    /// A commit as a test observes it: its number and, per document changed,
    /// its id with the versions before and after.
    pub type Heard = (u64, Vec<(Id, Option<u64>, Option<u64>)>);

    thread_local! {
        static HEARD: RefCell<Option<Vec<Heard>>> = const { RefCell::new(None) };
    }

    pub(crate) fn heard<D>(commit: &Commit<D>) {
        HEARD.with(|heard| {
            if let Some(heard) = heard.borrow_mut().as_mut() {
                let changes = commit
                    .changes
                    .iter()
                    .map(|c| {
                        (
                            c.id,
                            c.old.as_ref().map(|d| d.version()),
                            c.new.as_ref().map(|d| d.version()),
                        )
                    })
                    .collect();
                heard.push((commit.seq, changes));
            }
        });
    }

    /// Starts recording the transaction commits this thread makes.
    pub fn listen() {
        HEARD.with(|heard| *heard.borrow_mut() = Some(Vec::new()));
    }

    /// What this thread's transaction commits changed since `listen`.
    pub fn take() -> Vec<Heard> {
        HEARD.with(|heard| heard.borrow_mut().replace(Vec::new()).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{Clock, Sequence};

    #[test]
    fn a_cut_taken_while_commits_go_on_holds_only_whole_commits() {
        let clock = Arc::new(Clock::default());
        let sequence = Sequence::Shared(Arc::clone(&clock));
        sequence.commit(|_| ());
        assert_eq!(clock.cut_running(|| "taken"), Some(("taken", 1)));
        // A commit that is publishing: no cut may be taken in its middle.
        sequence.commit(|_| assert_eq!(clock.cut_running(|| ()), None));
        // A commit that takes its number while the cut is taken spoils it.
        assert_eq!(clock.cut_running(|| sequence.commit(|seq| seq)), None);
        let last = sequence.last();
        assert_eq!(clock.cut_running(|| ()), Some(((), last)));
    }
}
