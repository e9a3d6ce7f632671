//! Expiry: documents with a deadline, removed by an ordinary commit once it
//! passes, and hidden from every read from that moment.
//!
//! Deadlines live in the store's state (so clones, snapshots and filtered
//! clones carry them), twice: by id, and in deadline order, so that finding
//! what is due costs in proportion to what is due, never a scan. A store in
//! which nothing ever had a deadline holds no deadline trees and pays one
//! check of one word per operation, and reads the clock only while some
//! document has a deadline.
//!
//! Reads and writes of the store first remove what is due (`expire_due`):
//! each due document is deleted by its own commit, with a sequence number,
//! heard by the change feed as `Expired`, and a conflict for any transaction
//! that read it. So every read agrees: gets, counts, iterators, queries and
//! unique checks never see a document past its deadline.
//!
//! A state taken earlier (a snapshot, a transaction's view) ages as it is
//! read: its deadlines carry the store's [`Timekeeper`], and once one of them
//! passes, reads go to a copy of the state without the documents due
//! ([`State::without_due`], made once per deadline passed, O(due · log n)).
//! The timekeeper's time never goes back, so a document once hidden stays
//! hidden.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use parking_lot::Mutex;

use crate::Id;
use crate::clock::{Micros, Timekeeper};
use crate::engine::{Engine, IndexChange, State};
use crate::index::{KeySink, Keys};
use crate::tree::Tree;
use crate::{Error, Result};

/// The deadlines of a store's documents.
#[derive(Clone)]
pub(crate) struct Deadlines {
    by_id: Tree<Id, Micros>,
    by_time: Tree<(Micros, Id), ()>,
    /// The earliest deadline, `u64::MAX` for none: what a read checks.
    earliest: Micros,
    /// What the deadlines are read against.
    time: Arc<Timekeeper>,
}

impl Deadlines {
    pub(crate) fn new(time: Arc<Timekeeper>) -> Deadlines {
        Deadlines {
            by_id: Tree::default(),
            by_time: Tree::default(),
            earliest: u64::MAX,
            time,
        }
    }

    pub(crate) fn of(&self, id: Id) -> Option<Micros> {
        self.by_id.get(&id).copied()
    }

    pub(crate) fn set(&mut self, id: Id, at: Option<Micros>) {
        if let Some(old) = self.by_id.remove(&id) {
            self.by_time.remove(&(old, id));
        }
        if let Some(at) = at {
            self.by_id.insert(id, at);
            self.by_time.insert((at, id), ());
        }
        self.earliest = self.by_time.nth(0).map_or(u64::MAX, |((at, _), _)| *at);
    }

    /// The earliest deadline.
    pub(crate) fn earliest(&self) -> Option<Micros> {
        (self.earliest != u64::MAX).then_some(self.earliest)
    }

    /// The documents whose deadline is at or before `now`, earliest first.
    pub(crate) fn due(&self, now: Micros) -> Vec<Id> {
        self.by_time
            .entries()
            .take_while(|((at, _), _)| *at <= now)
            .map(|((_, id), _)| *id)
            .collect()
    }

    /// How many documents are due at `now`. O(log n).
    pub(crate) fn due_count(&self, now: Micros) -> usize {
        self.by_time.rank_by(|(at, _)| *at <= now)
    }

    /// Whether document `id` is due at `now`.
    #[inline]
    pub(crate) fn is_due(&self, id: Id, now: Micros) -> bool {
        self.earliest <= now && self.of(id).is_some_and(|at| at <= now)
    }

    /// The time now, if some deadline is due then.
    #[inline]
    pub(crate) fn due_now(&self) -> Option<Micros> {
        if self.earliest == u64::MAX {
            return None;
        }
        self.time.reached(self.earliest)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_id.len() == 0
    }

    /// Every deadline, by id.
    pub(crate) fn all(&self) -> Vec<(Id, Micros)> {
        self.by_id.entries().map(|(id, at)| (*id, *at)).collect()
    }

    /// The deadlines of the documents in `docs` only.
    pub(crate) fn kept<D>(&self, docs: &Tree<Id, crate::Versioned<D>>) -> Deadlines {
        let mut kept = Deadlines::new(Arc::clone(&self.time));
        for (id, at) in self.by_id.entries() {
            if docs.get(id).is_some() {
                kept.set(*id, Some(*at));
            }
        }
        kept
    }
}

impl<D> State<D> {
    /// The time now, if some document of this state is due then.
    #[inline]
    pub(crate) fn due_now(&self) -> Option<Micros> {
        self.deadlines.as_ref().and_then(Deadlines::due_now)
    }

    /// This state as a read at `now` sees it: without the documents due then
    /// (and their index entries and deadlines). Keeps the generation and
    /// sequence number: it stands for the same commit, read later.
    #[cold]
    pub(crate) fn without_due(&self, now: Micros) -> State<D> {
        let mut next = self.clone();
        let due = self.deadlines.as_ref().map(|d| d.due(now));
        KeySink::with_spare(|sink| {
            for id in due.unwrap_or_default() {
                let Some(record) = next.docs.remove(&id) else {
                    continue;
                };
                // Its keys could be computed when it was stored, so they can be now.
                let changes = next
                    .indexes
                    .iter()
                    .map(|index| {
                        let keys = index.keys_of(record.value(), sink).unwrap_or_default();
                        IndexChange::between(keys, Keys::None)
                    })
                    .collect();
                next.apply(id, None, changes);
            }
        });
        next.restore_generation(self);
        next
    }
}

/// `state` as a read now sees it: the same `Arc` unless some document of it
/// is due.
pub(crate) fn visible<D>(state: &Arc<State<D>>) -> Arc<State<D>> {
    match state.due_now() {
        None => Arc::clone(state),
        Some(now) => Arc::new(state.without_due(now)),
    }
}

/// A state taken at one moment and read later: each read sees it without the
/// documents due by then.
pub(crate) struct Aging<D> {
    taken: Arc<State<D>>,
    /// The state without what was due at the last read that found something
    /// due; starts as `taken`.
    aged: Mutex<Arc<State<D>>>,
}

impl<D> Aging<D> {
    pub(crate) fn new(taken: Arc<State<D>>) -> Self {
        Aging {
            aged: Mutex::new(Arc::clone(&taken)),
            taken,
        }
    }

    /// The state as taken, hiding nothing.
    pub(crate) fn taken(&self) -> &Arc<State<D>> {
        &self.taken
    }

    /// The state as a read now sees it.
    #[inline]
    pub(crate) fn now(&self) -> Now<'_, D> {
        if self.taken.due_now().is_none() {
            return Now::Taken(&self.taken);
        }
        self.aged()
    }

    #[cold]
    #[inline(never)]
    fn aged(&self) -> Now<'_, D> {
        let mut aged = self.aged.lock();
        if let Some(now) = aged.due_now() {
            *aged = Arc::new(aged.without_due(now));
        }
        Now::Aged(Arc::clone(&aged))
    }
}

impl<D> Clone for Aging<D> {
    fn clone(&self) -> Self {
        Aging {
            taken: Arc::clone(&self.taken),
            aged: Mutex::new(Arc::clone(&self.aged.lock())),
        }
    }
}

/// A state as a read sees it now: see [`Aging::now`].
pub(crate) enum Now<'a, D> {
    Taken(&'a Arc<State<D>>),
    Aged(Arc<State<D>>),
}

impl<D> Deref for Now<'_, D> {
    type Target = Arc<State<D>>;

    #[inline]
    fn deref(&self) -> &Arc<State<D>> {
        match self {
            Now::Taken(state) => state,
            Now::Aged(state) => state,
        }
    }
}

impl<D: Send + Sync + 'static> Engine<D> {
    /// Removes every document past its deadline, each by its own commit.
    /// Returns how many. Costs in proportion to what is due.
    pub(crate) fn sweep(&self) -> Result<usize> {
        let now = self.time().now();
        let due = self.current()?.deadlines.as_ref().map(|d| d.due(now));
        let mut removed = 0;
        for id in due.unwrap_or_default() {
            if self.delete_expired(id, now)? {
                removed += 1;
            }
        }
        self.refresh_earliest();
        Ok(removed)
    }

    /// What reads and writes do first: removes what is due, if any document
    /// has a deadline.
    #[inline(always)]
    pub(crate) fn expire_due(&self) -> Result<()> {
        let earliest = self.earliest().load(Ordering::Acquire);
        if earliest == u64::MAX || self.time().before(earliest) {
            Ok(())
        } else {
            self.expire_due_now()
        }
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn expire_due_now(&self) -> Result<()> {
        self.sweep().map(drop)
    }

    /// Gives document `id` a deadline, or takes it off (`None`). Changes no
    /// version and takes no sequence number: what the document holds is the
    /// same.
    pub(crate) fn set_deadline(&self, id: Id, at: Option<Micros>) -> Result<()> {
        self.expire_due()?;
        let mut writer = self.lock_writer();
        if writer.is_closed() {
            return Err(Error::Closed);
        }
        let state = writer.state();
        if state.docs.get(&id).is_none() {
            return Err(Error::NotFound { id });
        }
        if state.deadlines.as_ref().and_then(|d| d.of(id)) == at {
            return Ok(());
        }
        let mut publish = || {
            let mut readers = writer.hold_readers();
            writer.change(&mut readers, |state| {
                state
                    .deadlines
                    .get_or_insert_with(|| Deadlines::new(self.timekeeper()))
                    .set(id, at);
                state.forget_deadline_trees();
            });
            writer.file_deadline(&readers, id, at);
        };
        // A durable store logs it, and makes it visible in its turn: with
        // `Always`, only once it and the commits before it are on disk.
        match self.journal() {
            Some(journal) => journal.deadline(id, at, publish)?,
            None => publish(),
        }
        let earliest = at.filter(|at| self.note_deadline(*at));
        drop(writer);
        if let Some(at) = earliest {
            self.wake_sweeper(at);
        }
        Ok(())
    }

    /// Gives the documents of a store just recovered from files their
    /// deadlines (µs since the epoch), before anyone reads it. Documents
    /// whose deadline passed while the store was closed are hidden at once,
    /// and removed by the first read, write or sweep.
    pub(crate) fn restore_deadlines(&self, deadlines: &BTreeMap<Id, Micros>) {
        if deadlines.is_empty() {
            return;
        }
        let mut writer = self.lock_writer();
        let mut readers = writer.hold_readers();
        writer.change(&mut readers, |state| {
            let mut kept = Deadlines::new(self.timekeeper());
            for (id, at) in deadlines {
                if state.docs.get(id).is_some() {
                    kept.set(*id, Some(*at));
                }
            }
            if let Some(earliest) = kept.earliest() {
                self.earliest().fetch_min(earliest, Ordering::Release);
            }
            state.deadlines = Some(kept);
            state.forget_deadline_trees();
        });
        for (id, at) in deadlines {
            writer.file_deadline(&readers, *id, Some(*at));
        }
    }

    /// The deadline of document `id`, if it has one.
    pub(crate) fn deadline(&self, id: Id) -> Result<Option<Micros>> {
        self.expire_due()?;
        let state = self.current()?;
        if state.docs.get(&id).is_none() {
            return Err(Error::NotFound { id });
        }
        Ok(state.deadlines.as_ref().and_then(|d| d.of(id)))
    }
}

impl<D: Send + Sync + 'static> Engine<D> {
    /// Notes, under the writer lock, that some document now has deadline
    /// `at`; whether it is the earliest, and the sweeper is then to be woken
    /// ([`wake_sweeper`](Self::wake_sweeper)) once every lock is released:
    /// starting its thread must not hold readers or writers back.
    #[inline]
    pub(crate) fn note_deadline(&self, at: Micros) -> bool {
        at < self.earliest().fetch_min(at, Ordering::Release)
    }
}

impl<D> State<D> {
    /// Forgets the deadline of a document deleted.
    #[inline]
    pub(crate) fn forget_deadline(&mut self, id: Id) {
        if let Some(deadlines) = &mut self.deadlines {
            deadlines.set(id, None);
            self.forget_deadline_trees();
        }
    }

    /// Drops the deadline trees once no document has a deadline.
    pub(crate) fn forget_deadline_trees(&mut self) {
        if self.deadlines.as_ref().is_some_and(Deadlines::is_empty) {
            self.deadlines = None;
        }
    }
}

impl<D: Send + Sync + 'static> Engine<D> {
    /// The deadline `ttl` from now.
    pub(crate) fn deadline_after(&self, ttl: std::time::Duration) -> Micros {
        let ttl = u64::try_from(ttl.as_micros()).unwrap_or(u64::MAX);
        self.time().now().saturating_add(ttl)
    }
}

/// A deadline as the caller gave it.
pub(crate) fn at(when: std::time::SystemTime) -> Micros {
    crate::clock::micros(when)
}

/// A deadline as the caller reads it.
pub(crate) fn when(at: Micros) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_micros(at)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::ManualClock;

    /// What a get meets when a commit that gave a document a past deadline
    /// has published it but not yet lowered `earliest` (or a sweep raised it
    /// while the removal waits): the word says nothing is due, so nothing is
    /// swept first, and the hash read must hide the document on its own.
    #[test]
    fn a_get_hides_a_due_document_whatever_earliest_says() {
        let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_000));
        let engine = Engine::<u32>::new().with_clock(Arc::new(clock.clone()));
        let at = engine.time().now() + 60_000_000;
        let due = engine.insert_until(1, Some(at)).unwrap().id();
        let kept = engine.insert(2).unwrap().id();
        clock.advance(Duration::from_secs(60));
        engine.earliest().store(u64::MAX, Ordering::Release);
        assert!(matches!(engine.get(due), Err(Error::NotFound { .. })));
        assert!(!engine.contains(due).unwrap());
        assert_eq!(engine.get(kept).unwrap().id(), kept);
        // Not swept, only hidden, and for good: the clock stepping back
        // does not bring it back.
        assert!(engine.current().unwrap().docs.get(&due).is_some());
        clock.set(UNIX_EPOCH + Duration::from_secs(1_000));
        assert!(!engine.contains(due).unwrap());
        assert!(engine.get(kept).is_ok());
    }
}
