//! The one engine under both kinds of store: documents by id, indexes, versions,
//! and the concurrency design.
//!
//! # Design
//!
//! The whole content of a store (documents by id, and every index's entries) is
//! one immutable [`State`] value made of persistent B+trees (see `tree`): cloning
//! a state is O(1) and shares every node. The engine publishes the current state
//! as an `Arc` in a few read slots, each behind its own lock (see `published`):
//!
//! - a point read (get, the start of a query) read-locks its thread's slot for
//!   the nanoseconds of a tree search; reads never block each other, and readers
//!   on different slots share no cache line;
//! - a long read (iteration, a wide query, a cursor, a snapshot) clones the
//!   state's `Arc` and lets the lock go at once, so it reads a consistent
//!   point-in-time view for as long as it likes while writers go on;
//! - a write works out what it will change on a snapshot, with no lock held
//!   (key sources may be user code), then takes the writers' mutex, checks that
//!   its plan still holds and that nothing can fail (version, unique keys), and
//!   only then locks the slots and changes the trees through `Arc::make_mut`: in
//!   place when no snapshot shares a node, copying only the shared nodes on its
//!   path otherwise. A write is therefore one atomic step: documents and indexes
//!   always agree, and every single-document operation is linearizable.
//!
//! Point reads skip the tree: the engine keeps the current documents in a hash
//! by id as well (see `by_id`), changed in the same step as the state it
//! publishes, which a get, and a lookup of a few results, read instead of
//! descending the documents tree. Snapshots never read it, save to find their
//! results' documents while nothing has been written since they were taken.
//!
//! Callers' closures (read-modify-write, filters, computed keys) never run under
//! a lock, so a panicking closure leaves the store as it was.
//!
//! Every write ends in one commit step (see `commit`): it takes its sequence
//! number and publishes, as one step. A multi-document transaction (see `txn`)
//! builds on the same pieces: it validates what it read under the writer lock
//! (`Writer`), builds its new state on a private copy of the current one, and
//! swaps it in, so readers wait for pointer swaps only, however large it is.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crate::capacity::{Cache, Room};
use crate::clock::{Clock as TimeSource, Micros, Timekeeper};
use crate::eviction::Removal;
use crate::expiry::Deadlines;
use crate::load::Flights;
use crate::stats::{Counters, Retired};

use parking_lot::{Mutex, MutexGuard};

mod apply_many;
mod index_build;

pub(crate) use apply_many::DocWrite;

use index_build::WriteLog;

use crate::by_id::{AsOf, ById, NO_DEADLINE};
use crate::commit::{Change, Clock, Commit, Sequence};
use crate::durable::Journal;
use crate::feed::Feed;
use crate::id::IdGenerator;
use crate::index::{Entry, IndexDef, IndexState, KeySink, Keys};
use crate::key::describe;
use crate::keyed;
use crate::published::{Held, Published};
use crate::sweeper::Sweeper;
use crate::tree::Tree;
use crate::{Error, Id, Result, Updated, Versioned};

/// A state, with the point-read hash as of it if the hash agreed with it
/// when it was read.
pub(crate) type AsOfState<D> = (Arc<State<D>>, Option<AsOf<D>>);

/// Everything a store holds at one moment. Immutable once published; cheap to clone.
pub(crate) struct State<D> {
    pub(crate) docs: Tree<Id, Versioned<D>>,
    pub(crate) indexes: Vec<IndexState<D>>,
    /// Counts document writes, one per document written, so that an index
    /// built outside the lock can tell which writes it has caught up with.
    generation: u64,
    /// Counts index creations and drops, so that a write planned outside the lock
    /// can tell whether the indexes changed meanwhile.
    indexes_version: u64,
    /// The sequence number of the last commit it holds.
    pub(crate) seq: u64,
    /// Documents' deadlines; none in a store where nothing has one.
    pub(crate) deadlines: Option<Deadlines>,
    /// The documents' total weight, in a store with a weighed capacity (see
    /// `capacity`); 0 otherwise.
    pub(crate) weight: u64,
}

impl<D> Clone for State<D> {
    fn clone(&self) -> Self {
        State {
            docs: self.docs.clone(),
            indexes: self.indexes.clone(),
            generation: self.generation,
            indexes_version: self.indexes_version,
            seq: self.seq,
            deadlines: self.deadlines.clone(),
            weight: self.weight,
        }
    }
}

impl<D> State<D> {
    pub(crate) fn empty() -> Self {
        State {
            docs: Tree::default(),
            indexes: Vec::new(),
            generation: 0,
            indexes_version: 0,
            seq: 0,
            deadlines: None,
            weight: 0,
        }
    }

    /// Applies a planned write's index changes for document `id`, whose new
    /// version is `record` (none for a delete): entries under keys it lost go,
    /// entries under keys it gained come, and in a covering index the entries
    /// under keys it kept are pointed at the new version.
    pub(crate) fn apply(
        &mut self,
        id: Id,
        record: Option<&Versioned<D>>,
        changes: Vec<IndexChange>,
    ) {
        if record.is_none() {
            self.forget_deadline(id);
        }
        for (index, change) in self.indexes.iter_mut().zip(changes) {
            let kept = change.kept.as_slice().len();
            let after = match record {
                Some(_) => change.added.as_slice().len() + kept,
                None => 0,
            };
            index.recount(change.removed.as_slice().len() + kept, after);
            let value = record.map(|record| index.entry_value(record));
            let entries = &mut index.entries;
            change.removed.each(|key| {
                entries.remove(&Entry { key, id });
            });
            let Some(value) = value else {
                continue;
            };
            let mut put = |key| {
                entries.insert(Entry { key, id }, value.clone());
            };
            change.added.each(&mut put);
            if value.is_some() {
                change.kept.each(put);
            }
        }
        self.generation += 1;
    }

    /// Counts document writes: equal in two states of one store means the
    /// same documents.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Gives this state `of`'s generation: a view of `of` read later.
    pub(crate) fn restore_generation(&mut self, of: &State<D>) {
        self.generation = of.generation;
    }

    /// Counts index creations and drops.
    pub(crate) fn indexes_version(&self) -> u64 {
        self.indexes_version
    }

    pub(crate) fn index(&self, name: &str) -> Result<&IndexState<D>> {
        Ok(&self.indexes[self.index_position(name)?])
    }

    /// Where the index named `name` stands among the indexes; fails with
    /// [`Error::IndexNotFound`].
    pub(crate) fn index_position(&self, name: &str) -> Result<usize> {
        self.indexes
            .iter()
            .position(|index| index.name() == name)
            .ok_or_else(|| Error::IndexNotFound {
                name: name.to_owned(),
            })
    }
}

struct Inner<D> {
    state: Arc<State<D>>,
    ids: IdGenerator,
    /// New ids must sort after this one (the largest id a clone started with).
    id_floor: Option<Id>,
    /// The documents written while an index is being built; every write that
    /// moves the generation on records its id here.
    builds: WriteLog,
}

/// What one write does to one index.
#[derive(Default)]
pub(crate) struct IndexChange {
    removed: Keys,
    added: Keys,
    /// Keys the document has before and after: their entries stay, re-pointed.
    kept: Keys,
}

impl IndexChange {
    /// The change from one sorted key set to another.
    pub(crate) fn between(old: Keys, new: Keys) -> IndexChange {
        if old == new {
            return IndexChange {
                kept: new,
                ..IndexChange::default()
            };
        }
        if old.is_empty() || new.is_empty() {
            return IndexChange {
                removed: old,
                added: new,
                kept: Keys::None,
            };
        }
        let removed = old
            .as_slice()
            .iter()
            .filter(|key| new.as_slice().binary_search(key).is_err())
            .cloned()
            .collect();
        // The new keys move into `kept` and `added`: no copies.
        let (kept, added) = new
            .into_iter()
            .partition(|key| old.as_slice().binary_search(key).is_ok());
        IndexChange {
            removed: Keys::from_sorted(removed),
            added: Keys::from_sorted(added),
            kept: Keys::from_sorted(kept),
        }
    }
}

/// A write worked out ahead of its write section.
struct Plan<D> {
    indexes_version: u64,
    old: Option<Versioned<D>>,
    /// One per index, in index order.
    changes: Vec<IndexChange>,
}

/// Why a plan cannot be applied.
enum Stale {
    /// The state moved on since the plan was made; make it again.
    Retry,
    /// The write must fail.
    Fail(Error),
}

pub(crate) struct Engine<D> {
    /// Serializes writers; holds the authoritative state.
    writer: Mutex<Inner<D>>,
    /// What readers read: the state as of the last write.
    published: Published<State<D>>,
    closed: AtomicBool,
    /// Runs in each index build before each round of catching up.
    #[cfg(feature = "testing")]
    build_hook: Mutex<Option<index_build::BuildHook>>,
    /// Where commits take their sequence numbers (see `commit`).
    sequence: Sequence,
    /// Who hears of this store's commits (see `feed`).
    feed: Feed<D>,
    /// Where deadlines are read against (see `expiry`); shared with the
    /// state's deadlines, so that a snapshot ages on the same time.
    time: Arc<Timekeeper>,
    /// At or before the earliest deadline of a document (`u64::MAX` when
    /// none has one): a read checks this word, and the clock only when a
    /// deadline exists. Lowered under the writer lock when a deadline is set,
    /// raised there after a sweep.
    earliest: AtomicU64,
    /// Where a durable store logs its commits before publishing them.
    journal: Option<Journal<D>>,
    /// Removes expired documents of an idle store (see `sweeper`).
    sweeper: Sweeper<D>,
    /// The store's capacity, once given one (see `capacity`).
    cache: OnceLock<Cache<D>>,
    /// Read-through loads in flight (see `load`).
    flights: Flights<D>,
    /// What `stats` reports that is counted as it happens.
    counters: Arc<Counters>,
    /// Replaced states still held when replaced (see `stats`).
    retired: Retired<D>,
    /// The current documents by id, for point reads (see `by_id`).
    by_id: Arc<ById<D>>,
}

/// A failed write hands the document back, so that typed callers lose nothing.
pub(crate) type WriteResult<T, D> = std::result::Result<T, (Error, D)>;

impl<D: Send + Sync + 'static> Engine<D> {
    pub(crate) fn new() -> Self {
        Engine::with_state(State::empty(), None, false, Sequence::alone(0), true)
    }

    /// An empty engine of a database, committing in the database's order.
    pub(crate) fn in_db(clock: &Arc<Clock>) -> Self {
        Engine::with_state(
            State::empty(),
            None,
            false,
            Sequence::Shared(Arc::clone(clock)),
            true,
        )
    }

    /// An empty engine with these indexes.
    pub(crate) fn with_indexes(defs: Vec<IndexDef<D>>) -> Self {
        Engine::with_indexes_in(defs, Sequence::alone(0))
    }

    /// An empty engine with these indexes, committing in `sequence`'s order.
    pub(crate) fn with_indexes_in(defs: Vec<IndexDef<D>>, sequence: Sequence) -> Self {
        let mut state = State::empty();
        state.indexes = defs
            .into_iter()
            .map(|def| IndexState::empty(Arc::new(def)))
            .collect();
        Engine::with_state(state, None, false, sequence, true)
    }

    /// An engine publishing `state`; `hashed` says whether it keeps the
    /// point-read hash, built here from the state's documents.
    fn with_state(
        state: State<D>,
        id_floor: Option<Id>,
        closed: bool,
        sequence: Sequence,
        hashed: bool,
    ) -> Self {
        let by_id = Arc::new(if hashed {
            ById::of(&state.docs, |id| {
                state.deadlines.as_ref().and_then(|d| d.of(id))
            })
        } else {
            ById::new(false)
        });
        let state = Arc::new(state);
        let time = match &sequence {
            Sequence::Shared(clock) => Arc::clone(&clock.time),
            Sequence::Alone(_) => Arc::default(),
        };
        Engine {
            by_id,
            published: Published::new(&state),
            writer: Mutex::new(Inner {
                state,
                ids: IdGenerator::new(),
                id_floor,
                builds: WriteLog::default(),
            }),
            closed: AtomicBool::new(closed),
            #[cfg(feature = "testing")]
            build_hook: Mutex::new(None),
            sequence,
            feed: Feed::default(),
            time,
            earliest: AtomicU64::new(u64::MAX),
            journal: None,
            sweeper: Sweeper::default(),
            cache: OnceLock::new(),
            flights: Flights::default(),
            counters: Arc::default(),
            retired: Retired::default(),
        }
    }

    /// The engine, with deadlines read against `clock`.
    pub(crate) fn with_clock(self, clock: Arc<dyn TimeSource>) -> Self {
        self.with_time(Arc::new(Timekeeper::new(clock)))
    }

    /// The engine, with deadlines read against `time` (shared with other
    /// stores: a database's, or the store it was cloned from).
    pub(crate) fn with_time(mut self, time: Arc<Timekeeper>) -> Self {
        self.time = time;
        self
    }

    pub(crate) fn time(&self) -> &Timekeeper {
        &self.time
    }

    pub(crate) fn timekeeper(&self) -> Arc<Timekeeper> {
        Arc::clone(&self.time)
    }

    pub(crate) fn earliest(&self) -> &AtomicU64 {
        &self.earliest
    }

    pub(crate) fn sweeper(&self) -> &Sweeper<D> {
        &self.sweeper
    }

    /// Sets [`earliest`](Self::earliest) to the state's earliest deadline,
    /// under the writer lock, where deadlines are set.
    pub(crate) fn refresh_earliest(&self) {
        let inner = self.writer.lock();
        let earliest = inner
            .state
            .deadlines
            .as_ref()
            .and_then(Deadlines::earliest)
            .unwrap_or(u64::MAX);
        self.earliest.store(earliest, Ordering::Release);
    }

    /// Read-through loads in flight, and what read-through did.
    pub(crate) fn flights(&self) -> &Flights<D> {
        &self.flights
    }

    /// What `stats` reports that is counted as it happens.
    pub(crate) fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// Replaced states that were still held (see `stats`).
    pub(crate) fn retired(&self) -> &Retired<D> {
        &self.retired
    }

    /// Where the store's capacity is kept.
    pub(crate) fn cache_slot(&self) -> &OnceLock<Cache<D>> {
        &self.cache
    }

    /// Changes the writer's state with `change` under the writer lock, and
    /// publishes it, outside any commit.
    ///
    /// `change` may go over every document, so it changes a copy of the
    /// state (the copy shares every tree), and readers wait only for the
    /// swap. A durable store's writer may be ahead of its readers, by commits
    /// still waiting for the disk. Publishing the writer's state would show
    /// those before they are on disk, so then the readers' state is changed
    /// on its own, by `catch_up`, and the commits show when they settle.
    pub(crate) fn with_writer_state(
        &self,
        change: impl FnOnce(&mut State<D>),
        catch_up: impl FnOnce(&mut State<D>),
    ) -> Result<()> {
        let mut guard = self.writer.lock();
        if self.is_closed() {
            return Err(Error::Closed);
        }
        let mut next = Arc::clone(&guard.state);
        change(Arc::make_mut(&mut next));
        let shown = self.published.read(Arc::clone).ok();
        let caught = shown
            .as_ref()
            .filter(|shown| !Arc::ptr_eq(shown, &guard.state))
            .map(|shown| {
                let mut caught = Arc::clone(shown);
                catch_up(Arc::make_mut(&mut caught));
                caught
            });
        let old = std::mem::replace(&mut guard.state, next);
        let mut readers = self.published.hold();
        let now = readers.current();
        match caught {
            // A commit that settled meanwhile published a newer state: it stays.
            Some(caught) => {
                if now
                    .is_some_and(|now| shown.as_ref().is_some_and(|shown| Arc::ptr_eq(now, shown)))
                {
                    readers.set(&caught);
                }
            }
            None => readers.set(&guard.state),
        }
        drop(readers);
        drop(guard);
        drop(old);
        Ok(())
    }

    /// The writer's state: the current state, and a durable store's commits
    /// still waiting for the disk.
    pub(crate) fn writer_state(&self) -> Result<Arc<State<D>>> {
        let inner = self.writer.lock();
        self.check_open()?;
        Ok(Arc::clone(&inner.state))
    }

    /// The current state, without removing what is due first.
    pub(crate) fn current(&self) -> Result<Arc<State<D>>> {
        self.read_shared(Arc::clone)
    }

    /// [`current`](Self::current), or none if it would wait for the writer
    /// (nothing is published after a writer panicked midway, and the writer's
    /// lock is held).
    pub(crate) fn current_now(&self) -> Option<Result<Arc<State<D>>>> {
        let open = |state: &Arc<State<D>>| {
            if self.is_closed() {
                Err(Error::Closed)
            } else {
                Ok(Arc::clone(state))
            }
        };
        match self.published.read(open) {
            Ok(state) => Some(state),
            Err(open) => self.writer.try_lock().map(|inner| open(&inner.state)),
        }
    }

    /// Who hears of this store's commits.
    pub(crate) fn feed(&self) -> &Feed<D> {
        &self.feed
    }

    /// What identifies the store: within a transaction, and in a database's
    /// change sets.
    pub(crate) fn address(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    /// A durable engine recovered from files: these documents (in id order)
    /// and indexes, logging its commits to `journal`.
    pub(crate) fn restored(
        docs: Vec<(Id, Versioned<D>)>,
        defs: Vec<IndexDef<D>>,
        sequence: Sequence,
        journal: Journal<D>,
    ) -> Result<Self> {
        let docs = Tree::from_sorted(docs);
        let mut indexes = Vec::with_capacity(defs.len());
        for def in defs {
            indexes.push(build_index(&Arc::new(def), &docs)?);
        }
        let floor = last_id(&docs);
        let state = State {
            docs,
            indexes,
            seq: sequence.last(),
            ..State::empty()
        };
        // A durable store publishes a commit once it is on disk, and commits
        // may reach the disk in another order than they were built: it reads
        // through the tree.
        let mut engine = Engine::with_state(state, floor, false, sequence, false);
        engine.journal = Some(journal);
        Ok(engine)
    }

    /// Where a durable store logs its commits.
    pub(crate) fn journal(&self) -> Option<&Journal<D>> {
        self.journal.as_ref()
    }

    /// Where this store's commits take their sequence numbers.
    pub(crate) fn sequence(&self) -> &Sequence {
        &self.sequence
    }

    /// Takes the writer lock, for a transaction's commit.
    pub(crate) fn lock_writer(&self) -> Writer<'_, D> {
        Writer {
            published: &self.published,
            closed: &self.closed,
            by_id: &self.by_id,
            inner: self.writer.lock(),
        }
    }

    /// A new id, greater than every id this store gave before: a document a
    /// transaction inserts has its id as soon as it is inserted.
    pub(crate) fn next_id(&self) -> Id {
        let mut guard = self.writer.lock();
        let inner = &mut *guard;
        let docs = &inner.state.docs;
        inner
            .ids
            .next_free(inner.id_floor, |id| docs.get(&id).is_some())
    }

    /// Runs a short read against the current state.
    pub(crate) fn read<R>(&self, read: impl FnOnce(&State<D>) -> R) -> Result<R> {
        self.expire_due()?;
        self.read_shared(|state| read(state))
    }

    /// The current state, to read at leisure.
    pub(crate) fn snapshot(&self) -> Result<Arc<State<D>>> {
        self.expire_due()?;
        self.read_shared(Arc::clone)
    }

    /// The current state, to read at leisure, with the point-read hash as
    /// of it when the hash agrees with it now.
    pub(crate) fn snapshot_as_of(&self) -> Result<AsOfState<D>> {
        self.expire_due()?;
        self.read_shared(|state| (Arc::clone(state), self.as_of()))
    }

    /// The point-read hash as of the state a caller reads under its slot.
    pub(crate) fn as_of(&self) -> Option<AsOf<D>> {
        self.by_id
            .stable()
            .map(|stamp| AsOf::new(&self.by_id, stamp))
    }

    fn read_shared<R>(&self, read: impl FnOnce(&Arc<State<D>>) -> R) -> Result<R> {
        // The flag is read under the slot's lock: `close` sets it before it
        // publishes the empty state, so a reader sees either the state from
        // before the close or the flag, never the emptied state.
        let open = |state: &Arc<State<D>>| {
            if self.is_closed() {
                Err(Error::Closed)
            } else {
                Ok(read(state))
            }
        };
        match self.published.read(open) {
            Ok(result) => result,
            // Nothing published: a writer panicked midway. Read the writer's state.
            Err(open) => open(&self.writer.lock().state),
        }
    }

    pub(crate) fn get(&self, id: Id) -> Result<Versioned<D>> {
        let found = match self.hashed(id)? {
            Some(found) => found,
            None => {
                self.expire_due()?;
                self.read_unexpired(|state| state.docs.get(&id).cloned())?
            }
        };
        // Only a miss builds an error: a hit would build it and drop it.
        match found {
            Some(found) => {
                self.note_use(&found);
                Ok(found)
            }
            None => Err(Error::NotFound { id }),
        }
    }

    /// Whether a document has this id.
    pub(crate) fn contains(&self, id: Id) -> Result<bool> {
        match self.hashed(id)? {
            Some(found) => Ok(found.is_some()),
            None => {
                self.expire_due()?;
                self.read_unexpired(|state| state.docs.get(&id).is_some())
            }
        }
    }

    /// Runs a short read against the current state, with a way to find its
    /// documents by id faster than through its tree.
    pub(crate) fn read_point<R>(
        &self,
        read: impl FnOnce(&State<D>, Point<'_, D>) -> R,
    ) -> Result<R> {
        self.expire_due()?;
        self.read_unexpired(|state| {
            read(
                state,
                Point {
                    by_id: &self.by_id,
                    docs: &state.docs,
                },
            )
        })
    }

    /// What the point-read hash says of document `id` (found, absent, or
    /// hidden as due), or none if it cannot say: it does not hold the
    /// current documents. Removes what is due in the store, as every read
    /// does first, on the same reading of the clock.
    #[inline(always)]
    fn hashed(&self, id: Id) -> Result<Option<Option<Versioned<D>>>> {
        let Some(found) = self.by_id.get_dated(id) else {
            return Ok(None);
        };
        // Checked after the hash: `close` sets the flag before it empties
        // the hash, so a read that missed an emptied hash sees the flag.
        self.check_open()?;
        let deadline = found.as_ref().map_or(NO_DEADLINE, |(_, at)| *at);
        let earliest = self.earliest.load(Ordering::Acquire);
        if (deadline & earliest) == NO_DEADLINE {
            // No deadline in the store: no clock to read.
            return Ok(Some(found.map(|(document, _)| document)));
        }
        self.dated(found, deadline, earliest)
    }

    /// [`hashed`](Self::hashed) for a store with deadlines: the deadline read
    /// with the document, against the clock read after both (not only
    /// `earliest`, which a sweep may raise while the document is still
    /// published, nor the clock before the read, which a commit giving it a
    /// past deadline may follow).
    #[inline]
    fn dated(
        &self,
        found: Option<(Versioned<D>, Micros)>,
        deadline: Micros,
        earliest: Micros,
    ) -> Result<Option<Option<Versioned<D>>>> {
        // Mostly nothing in the store is due, and the document's deadline is
        // no earlier than the store's earliest: asked as `expire_due` asks,
        // against a system time remembered for that one deadline, which
        // costs less than turning the time now into microseconds.
        if deadline >= earliest && self.time.before(earliest) {
            return Ok(Some(found.map(|(document, _)| document)));
        }
        let now = self.time.read();
        if now >= earliest {
            self.expire_due_now()?;
        }
        if now >= deadline {
            // Hidden, and the time noted, so that it stays hidden.
            self.time.note(now);
            return Ok(Some(None));
        }
        Ok(Some(found.map(|(document, _)| document)))
    }

    /// Runs `read` on the current state as a read now sees it: without what
    /// is due, which may still be published (its removal waiting for the
    /// disk, or for a sweep).
    fn read_unexpired<R>(&self, read: impl FnOnce(&State<D>) -> R) -> Result<R> {
        // No `Arc` of the state is taken unless something is due.
        self.read_shared(|state| match state.due_now() {
            None => read(state),
            Some(now) => read(&state.without_due(now)),
        })
    }

    pub(crate) fn len(&self) -> Result<usize> {
        self.read(|state| state.docs.len())
    }

    /// Fails with [`Error::Closed`] once closed: callers check this before
    /// validating their arguments, so a closed store reports that it is closed.
    pub(crate) fn check_open(&self) -> Result<()> {
        if self.is_closed() {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Makes every later operation fail with [`Error::Closed`] and frees the
    /// documents (snapshots already taken keep theirs).
    pub(crate) fn close(&self) {
        let old = {
            let mut inner = self.writer.lock();
            self.closed.store(true, Ordering::Release);
            let empty = Arc::new(State::empty());
            self.published.set(&empty);
            (
                std::mem::replace(&mut inner.state, empty),
                self.by_id.clear(),
            )
        };
        self.feed.end();
        self.sweeper.stop();
        // Documents' destructors run after the lock is released.
        drop(old);
    }

    /// Works out, on a snapshot and outside every lock, what writing `document`
    /// over the document `id` does to each index. Key sources may be user code (a
    /// computed key): running them here means a slow or panicking one holds no
    /// lock and changes nothing. The write section then only checks that the plan
    /// still holds and applies it.
    fn plan(&self, id: Option<Id>, document: Option<&D>) -> Result<Plan<D>> {
        let state = self.current()?;
        let old = match id {
            Some(id) => Some(self.planned_old(&state, id)?),
            None => None,
        };
        let changes = KeySink::with_spare(|sink| {
            let mut changes = Vec::with_capacity(state.indexes.len());
            for index in &state.indexes {
                let new_keys = match document {
                    Some(document) => index.keys_of(document, sink)?,
                    None => Keys::None,
                };
                // Keys the old version was indexed under could be computed then,
                // so they can be now.
                let old_keys = match &old {
                    Some(old) => index.keys_of(old.value(), sink).unwrap_or_default(),
                    None => Keys::None,
                };
                changes.push(IndexChange::between(old_keys, new_keys));
                if index.def.own_key
                    && document.is_some()
                    && let (Some(old), Some(change)) = (&old, changes.last())
                {
                    keyed::check_kept(&index.def, old.id(), &change.removed, &change.added)?;
                }
            }
            Ok::<_, Error>(changes)
        })?;
        Ok(Plan {
            indexes_version: state.indexes_version,
            old,
            changes,
        })
    }

    /// The version of document `id` a write plans to replace: the point-read
    /// hash's, which is found without a descent of the documents tree, or
    /// `state`'s when the hash cannot answer. A version newer than `state`'s
    /// is as good: [`still_holds`](Self::still_holds) checks under the
    /// writer's lock that the planned version is the current one.
    fn planned_old(&self, state: &State<D>, id: Id) -> Result<Versioned<D>> {
        let found = match self.by_id.get_current(id) {
            Some(found) => found,
            None => state.docs.get(&id).cloned(),
        };
        found.ok_or(Error::NotFound { id })
    }

    pub(crate) fn insert(&self, document: D) -> WriteResult<Versioned<D>, D> {
        self.insert_as(None, document)
    }

    /// Inserts a document that expires at `deadline`, if one is given.
    pub(crate) fn insert_until(
        &self,
        document: D,
        deadline: Option<Micros>,
    ) -> WriteResult<Versioned<D>, D> {
        self.insert_given(None, document, deadline)
    }

    /// Stores a new document under the id and version given (refused if a
    /// document has the id), or with none given under a new id at version 1.
    pub(crate) fn insert_as(
        &self,
        given: Option<(Id, u64)>,
        document: D,
    ) -> WriteResult<Versioned<D>, D> {
        self.insert_given(given, document, None)
    }

    fn insert_given(
        &self,
        given: Option<(Id, u64)>,
        document: D,
        deadline: Option<Micros>,
    ) -> WriteResult<Versioned<D>, D> {
        if let Err(error) = self.expire_due() {
            return Err((error, document));
        }
        let room = Room {
            replacing: None,
            weight: self.weigh(&document),
        };
        loop {
            if let Err(error) = self.make_room(room) {
                return Err((error, document));
            }
            let plan = match self.plan(None, Some(&document)) {
                Ok(plan) => plan,
                Err(error) => return Err((error, document)),
            };
            let mut guard = self.writer.lock();
            if let Err(error) = self.still_holds(&guard.state, &plan, None) {
                match error {
                    Stale::Retry => continue,
                    Stale::Fail(error) => return Err((error, document)),
                }
            }
            if !self.has_room(&guard.state, room) {
                continue;
            }
            let inner = &mut *guard;
            let (id, version) = match given {
                Some((id, version)) => {
                    // The nil id stands for "no document" in uniqueness checks.
                    if id == Id::nil() || inner.state.docs.get(&id).is_some() {
                        return Err((Error::IdTaken { id }, document));
                    }
                    (id, version)
                }
                None => {
                    let docs = &inner.state.docs;
                    (
                        inner
                            .ids
                            .next_free(inner.id_floor, |id| docs.get(&id).is_some()),
                        1,
                    )
                }
            };
            if let Err(error) = check_unique(&inner.state, &plan.changes, Id::nil()) {
                return Err((error, document));
            }
            if given.is_some() {
                inner.ids.note_given(id);
            }
            let record = Versioned::new(id, version, document);
            let mut earliest = None;
            let committed = self.commit_write(inner, id, Some(&record), deadline, |state, seq| {
                state.docs.insert(id, record.clone());
                self.by_id.write_one(id, Some(record.clone()), deadline);
                self.reweigh(state, id, Some(room.weight));
                state.apply(id, Some(&record), plan.changes);
                if let Some(at) = deadline {
                    state
                        .deadlines
                        .get_or_insert_with(|| Deadlines::new(self.timekeeper()))
                        .set(id, Some(at));
                    earliest = Some(at).filter(|at| self.note_deadline(*at));
                }
                (seq, std::mem::replace(&mut state.seq, seq))
            });
            let ((seq, prev), waiting) = match committed {
                Ok(committed) => committed,
                Err(error) => return Err((error, take_back(record))),
            };
            inner.builds.record(id);
            let heard = self
                .sequence
                .heard_by(&self.feed)
                .then(|| Commit::one(seq, prev, self.address(), id, None, Some(record.clone())));
            drop(guard);
            if let Some(at) = earliest {
                self.wake_sweeper(at);
            }
            if let Err(error) = self.when_durable(waiting) {
                drop(heard);
                return Err((error, take_back(record)));
            }
            if let Some(commit) = heard {
                self.sequence.committed(&self.feed, commit);
            }
            return Ok(record);
        }
    }

    /// Replaces a document, if it has version `expected` when one is given.
    pub(crate) fn replace(
        &self,
        id: Id,
        expected: Option<u64>,
        document: D,
    ) -> WriteResult<Versioned<D>, D> {
        if let Err(error) = self.expire_due() {
            return Err((error, document));
        }
        let room = Room {
            replacing: Some(id),
            weight: self.weigh(&document),
        };
        loop {
            if let Err(error) = self.make_room(room) {
                return Err((error, document));
            }
            let plan = match self.plan(Some(id), Some(&document)) {
                Ok(plan) => plan,
                Err(error) => return Err((error, document)),
            };
            let mut guard = self.writer.lock();
            if let Err(error) = self.still_holds(&guard.state, &plan, Some((id, expected))) {
                match error {
                    Stale::Retry => continue,
                    Stale::Fail(error) => return Err((error, document)),
                }
            }
            if !self.has_room(&guard.state, room) {
                continue;
            }
            if let Err(error) = check_unique(&guard.state, &plan.changes, id) {
                return Err((error, document));
            }
            let version = plan
                .old
                .as_ref()
                .map_or(0, Versioned::version)
                .saturating_add(1);
            let record = Versioned::new(id, version, document);
            let committed = self.commit_write(&mut guard, id, Some(&record), None, |state, seq| {
                state.docs.insert(id, record.clone());
                self.by_id.write_one(id, Some(record.clone()), None);
                self.reweigh(state, id, Some(room.weight));
                state.apply(id, Some(&record), plan.changes);
                (seq, std::mem::replace(&mut state.seq, seq))
            });
            let ((seq, prev), waiting) = match committed {
                Ok(committed) => committed,
                Err(error) => return Err((error, take_back(record))),
            };
            guard.builds.record(id);
            let heard = self.sequence.heard_by(&self.feed).then(|| {
                let old = plan.old.clone();
                Commit::one(seq, prev, self.address(), id, old, Some(record.clone()))
            });
            drop(guard);
            if let Err(error) = self.when_durable(waiting) {
                drop(heard);
                return Err((error, take_back(record)));
            }
            if let Some(commit) = heard {
                self.sequence.committed(&self.feed, commit);
            }
            // The old version's destructor (user code, for typed documents) runs
            // after the lock is released.
            drop(plan.old);
            return Ok(record);
        }
    }

    /// Deletes a document, if it has version `expected` when one is given.
    pub(crate) fn delete(&self, id: Id, expected: Option<u64>) -> Result<Versioned<D>> {
        self.expire_due()?;
        self.remove(id, expected, Removal::Asked)?
            .ok_or(Error::NotFound { id })
    }

    /// Deletes document `id` as expired, if its deadline is at or before
    /// `now`; whether it did.
    pub(crate) fn delete_expired(&self, id: Id, now: Micros) -> Result<bool> {
        match self.remove(id, None, Removal::Expired(now)) {
            Ok(Some(_)) => {
                Counters::add(&self.counters.expired);
                Ok(true)
            }
            Ok(None) => Ok(false),
            // Deleted meanwhile: nothing left to expire.
            Err(Error::NotFound { .. }) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Removes document `id`, if it has version `expected` when one is given
    /// and the removal is still due (see [`Removal`]); the version removed.
    pub(crate) fn remove(
        &self,
        id: Id,
        expected: Option<u64>,
        why: Removal<D>,
    ) -> Result<Option<Versioned<D>>> {
        loop {
            let plan = self.plan(Some(id), None)?;
            let mut guard = self.writer.lock();
            match self.still_holds(&guard.state, &plan, Some((id, expected))) {
                Ok(()) => {}
                Err(Stale::Retry) => continue,
                Err(Stale::Fail(error)) => return Err(error),
            }
            if !why.still_due(&guard.state, id, |id| self.is_pinned(id)) {
                // Its deadline moved or went, or it was rewritten or pinned, meanwhile.
                return Ok(None);
            }
            let ((removed, seq, prev), waiting) =
                self.commit_write(&mut guard, id, None, None, |state, seq| {
                    let removed = state.docs.remove(&id);
                    if removed.is_some() {
                        self.reweigh(state, id, None);
                    }
                    self.by_id.write_one(id, None, None);
                    state.apply(id, None, plan.changes);
                    (removed, seq, std::mem::replace(&mut state.seq, seq))
                })?;
            guard.builds.record(id);
            let heard = self.sequence.heard_by(&self.feed).then(|| {
                let mut commit = Commit::one(seq, prev, self.address(), id, removed.clone(), None);
                commit.expired = matches!(why, Removal::Expired(_));
                commit.evicted = matches!(why, Removal::Evicted(_));
                commit
            });
            drop(guard);
            self.when_durable(waiting)?;
            if let Some(commit) = heard {
                self.sequence.committed(&self.feed, commit);
            }
            return Ok(removed);
        }
    }

    /// Changes the writer's state as one commit, whose sequence number
    /// `change` is given, writing document `id` (or, with `None`, deleting
    /// it). Published at once, unless the store is durable and its commits
    /// wait for the disk: then it is logged, the new state is returned with
    /// the commit's number for [`when_durable`](Self::when_durable) to publish
    /// once the writer lock is released, and later writers build on it
    /// meanwhile (group commit). Fails, changing nothing, if it cannot be
    /// logged.
    #[inline(always)]
    fn commit_write<R>(
        &self,
        inner: &mut Inner<D>,
        id: Id,
        document: Option<&Versioned<D>>,
        deadline: Option<Micros>,
        change: impl FnOnce(&mut State<D>, u64) -> R,
    ) -> Result<(R, Option<Waiting<D>>)> {
        let Some(journal) = &self.journal else {
            let result = self
                .sequence
                .commit(|seq| self.publish_change(inner, seq, change));
            return Ok((result, None));
        };
        let document = document.map(|d| (d.version(), d.value()));
        let (result, seq) = journal.commit(id, document, deadline, |seq, visible| {
            if visible {
                self.publish_change(inner, seq, change)
            } else {
                change(Arc::make_mut(&mut inner.state), seq)
            }
        })?;
        let waiting = journal
            .log
            .waits_for_disk()
            .then(|| Waiting(seq, Arc::clone(&inner.state)));
        Ok((result, waiting))
    }

    /// Changes the writer's state and publishes it at once; a state some
    /// reader still holds is noted for `stats` first.
    #[inline(always)]
    fn publish_change<R>(
        &self,
        inner: &mut Inner<D>,
        seq: u64,
        change: impl FnOnce(&mut State<D>, u64) -> R,
    ) -> R {
        if self.published.is_shared(&inner.state) {
            self.retired.note(&inner.state);
        }
        self.published
            .change(&mut inner.state, |state| change(state, seq))
    }

    /// Waits until a commit is on disk, then publishes the state it made
    /// (unless a newer one is published already), in commit order. If the
    /// disk fails, the writer's state goes back to the published one: the
    /// commit and those built on it are never seen.
    #[inline(never)]
    fn when_durable(&self, waiting: Option<Waiting<D>>) -> Result<()> {
        let (Some(Waiting(seq, mine)), Some(journal)) = (waiting, &self.journal) else {
            return Ok(());
        };
        let published = journal.log.settle(seq, || {
            let mut readers = self.published.hold();
            self.publish_settled(&mut readers, &mine);
        });
        if published.is_err() {
            drop(mine);
            self.roll_back();
        }
        published
    }

    /// Publishes `mine`, a state a commit made while its frame went to disk,
    /// through `readers` (this store's slots, held), unless a newer state is
    /// published already.
    pub(crate) fn publish_settled(&self, readers: &mut Held<'_, State<D>>, mine: &Arc<State<D>>) {
        let newer = readers.current().is_none_or(|current| {
            mine.generation > current.generation || mine.indexes_version > current.indexes_version
        });
        if newer {
            readers.set(mine);
        }
    }

    /// Holds the readers' slots, to publish states of several stores at once.
    pub(crate) fn hold_readers(&self) -> Held<'_, State<D>> {
        self.published.hold()
    }

    /// After the disk failed: the writer's state becomes the published one
    /// again, letting go of the commits that were waiting for the disk.
    pub(crate) fn roll_back(&self) {
        let old = {
            let mut inner = self.writer.lock();
            match self.published.read(Arc::clone) {
                Ok(current) => Some(std::mem::replace(&mut inner.state, current)),
                Err(_) => None,
            }
        };
        drop(old);
    }

    /// Whether a plan made on a snapshot still describes the current state: the
    /// store is open, has the same indexes, and the document (if any) is the same
    /// version, the one the caller expects.
    fn still_holds(
        &self,
        state: &State<D>,
        plan: &Plan<D>,
        target: Option<(Id, Option<u64>)>,
    ) -> std::result::Result<(), Stale> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Stale::Fail(Error::Closed));
        }
        if state.indexes_version != plan.indexes_version {
            return Err(Stale::Retry);
        }
        let Some((id, expected)) = target else {
            return Ok(());
        };
        let current = state
            .docs
            .get(&id)
            .ok_or(Stale::Fail(Error::NotFound { id }))?;
        if let Some(expected) = expected
            && expected != current.version()
        {
            return Err(Stale::Fail(Error::VersionConflict {
                id,
                expected,
                actual: current.version(),
            }));
        }
        match &plan.old {
            Some(old) if old.ptr_eq(current) => Ok(()),
            _ => Err(Stale::Retry),
        }
    }

    /// Read-modify-write: applies `change` to the current version and stores the
    /// result if nobody wrote in between, trying again otherwise. `change` runs
    /// outside every lock, so it may be slow or panic without harm; it may run
    /// more than once.
    /// `change` returning `None` leaves the document as it is and returns it.
    pub(crate) fn update_with(
        &self,
        id: Id,
        mut change: impl FnMut(&Versioned<D>) -> Result<Option<D>>,
    ) -> Result<Updated<D>> {
        loop {
            let current = self.get(id)?;
            let Some(next) = change(&current)? else {
                return Ok(Updated::Declined(current));
            };
            match self.replace(id, Some(current.version()), next) {
                Err((Error::VersionConflict { .. }, _)) => {}
                other => return other.map(Updated::Changed).map_err(|(error, _)| error),
            }
        }
    }

    pub(crate) fn drop_index(&self, name: &str) -> Result<()> {
        let removed = {
            let mut guard = self.writer.lock();
            if self.closed.load(Ordering::Acquire) {
                return Err(Error::Closed);
            }
            let position = guard.state.index_position(name)?;
            let mut publish = || {
                self.published.change(&mut guard.state, |state| {
                    state.indexes_version += 1;
                    state.indexes.remove(position)
                })
            };
            match &self.journal {
                Some(journal) => journal.drop_index(name, publish)?,
                None => publish(),
            }
        };
        drop(removed);
        Ok(())
    }

    /// An independent engine with the same documents, versions and indexes. O(1):
    /// the two share every node until one of them writes.
    pub(crate) fn duplicate(&self) -> Engine<D> {
        let inner = self.writer.lock();
        let closed = self.closed.load(Ordering::Acquire);
        let state = (*inner.state).clone();
        let floor = last_id(&state.docs).max(inner.id_floor);
        let given = inner.ids.given_max();
        let capacity = self.copy_capacity(|_| true);
        drop(inner);
        let sequence = Sequence::alone(self.sequence.last());
        // O(1), as promised: the clone reads through the tree.
        let engine = Engine::with_state(state, floor, closed, sequence, false)
            .with_given_ids(given)
            .with_time(self.timekeeper())
            .carry_capacity(capacity);
        engine
            .earliest
            .store(self.earliest.load(Ordering::Acquire), Ordering::Release);
        engine
    }

    /// This engine, noting that its documents may hold ids callers chose, up
    /// to `given`.
    fn with_given_ids(self, given: Option<Id>) -> Self {
        if let Some(given) = given {
            self.writer.lock().ids.note_given(given);
        }
        self
    }

    /// An independent engine with the documents `keep` accepts. `keep` runs on a
    /// snapshot, outside every lock.
    pub(crate) fn filtered(
        &self,
        mut keep: impl FnMut(&Versioned<D>) -> bool,
    ) -> Result<Engine<D>> {
        let state = self.snapshot()?;
        let kept = state
            .docs
            .entries()
            .filter(|(_, document)| keep(document))
            .map(|(id, document)| (*id, document.clone()))
            .collect();
        let docs = Tree::from_sorted(kept);
        let mut indexes = Vec::with_capacity(state.indexes.len());
        for index in &state.indexes {
            indexes.push(build_index(&index.def, &docs)?);
        }
        let floor = last_id(&state.docs);
        let deadlines = state.deadlines.as_ref().map(|d| d.kept(&docs));
        let new_state = State {
            // Its own capacity, if it is given one, weighs its documents.
            weight: 0,
            docs,
            indexes,
            generation: 0,
            indexes_version: 0,
            seq: 0,
            deadlines,
        };
        let given = self.writer.lock().ids.given_max();
        let capacity = self.copy_capacity(|id| new_state.docs.get(&id).is_some());
        let engine = Engine::with_state(new_state, floor, false, Sequence::alone(0), true)
            .with_given_ids(given)
            .with_time(self.timekeeper())
            .carry_capacity(capacity);
        engine
            .earliest
            .store(self.earliest.load(Ordering::Acquire), Ordering::Release);
        Ok(engine)
    }

    /// Rebuilds every index from the documents and compares; describes each
    /// difference and each broken tree invariant.
    pub(crate) fn verify(&self) -> Result<Vec<String>> {
        let state = self.snapshot()?;
        let mut problems = Vec::new();
        if let Err(problem) = state.docs.check() {
            problems.push(format!("documents: {problem}"));
        }
        for (id, document) in state.docs.entries() {
            if *id != document.id() {
                problems.push(format!("document {} is filed under id {id}", document.id()));
            }
        }
        {
            // Under the writer lock, so that no write moves the hash on
            // while it is compared with the state read.
            let inner = self.writer.lock();
            if !self.is_closed() && Arc::ptr_eq(&inner.state, &state) {
                let deadline = |id| state.deadlines.as_ref().and_then(|d| d.of(id));
                problems.extend(self.by_id.differences(&state.docs, deadline));
            }
        }
        for index in &state.indexes {
            let name = index.name();
            if let Err(problem) = index.entries.check() {
                problems.push(format!("index {name:?}: {problem}"));
            }
            let expected = match build_index(&index.def, &state.docs) {
                Ok(expected) => {
                    if expected.several != index.several {
                        problems.push(format!(
                            "index {name:?} counts {} documents with several keys; they are {}",
                            index.several, expected.several
                        ));
                    }
                    expected.entries
                }
                Err(error) => {
                    problems.push(format!("index {name:?} cannot be rebuilt: {error}"));
                    continue;
                }
            };
            let mut have = index.entries.entries().peekable();
            let mut want = expected.entries().peekable();
            loop {
                match (have.peek().copied(), want.peek().copied()) {
                    (Some((a, held)), Some((b, stored))) if a == b => {
                        let entry = format!(
                            "index {name:?}: the entry of document {} under key {}",
                            a.id,
                            describe(a.key.as_bytes())
                        );
                        match (held, stored) {
                            (Some(held), Some(stored)) if !held.ptr_eq(stored) => {
                                problems.push(format!(
                                    "{entry} holds a record of version {}, not the stored \
                                     version {}",
                                    held.version(),
                                    stored.version()
                                ));
                            }
                            (None, Some(_)) => {
                                problems.push(format!("{entry} holds no document"));
                            }
                            (Some(_), None) => problems.push(format!(
                                "{entry} holds a document, but the index is not covering"
                            )),
                            _ => {}
                        }
                        have.next();
                        want.next();
                    }
                    (Some((a, _)), Some((b, _))) if a < b => {
                        problems.push(stray(name, a));
                        have.next();
                    }
                    (Some((a, _)), None) => {
                        problems.push(stray(name, a));
                        have.next();
                    }
                    (_, Some((b, _))) => {
                        problems.push(format!(
                            "index {name:?} lacks key {} of document {}",
                            describe(b.key.as_bytes()),
                            b.id
                        ));
                        want.next();
                    }
                    (None, None) => break,
                }
            }
        }
        Ok(problems)
    }

    /// Breaks the store on purpose, so tests can show that `verify` notices.
    #[cfg(feature = "testing")]
    pub(crate) fn corrupt_index(&self, index: &str, id: Id) -> bool {
        let mut guard = self.writer.lock();
        self.published.change(&mut guard.state, |state| {
            let Some(index) = state.indexes.iter_mut().find(|i| i.name() == index) else {
                return false;
            };
            match entries_of(index, id).first() {
                Some(entry) => index.entries.remove(entry).is_some(),
                None => false,
            }
        })
    }

    /// Points the entries of document `id` in `index` at a copy of the document
    /// (same id, version and content, but not the stored version), so tests can
    /// show that `verify` notices an entry that was not re-pointed.
    #[cfg(feature = "testing")]
    pub(crate) fn stale_index_entries(&self, index: &str, id: Id) -> bool
    where
        D: Clone,
    {
        let mut guard = self.writer.lock();
        self.published.change(&mut guard.state, |state| {
            let Some(current) = state.docs.get(&id).cloned() else {
                return false;
            };
            let copy = Versioned::new(id, current.version(), current.value().clone());
            let Some(index) = state.indexes.iter_mut().find(|i| i.name() == index) else {
                return false;
            };
            let entries = entries_of(index, id);
            for entry in &entries {
                index.entries.insert(entry.clone(), Some(copy.clone()));
            }
            !entries.is_empty()
        })
    }
}

/// A store's writer lock, held by a transaction's commit: it validates its
/// reads against [`state`](Self::state) and then [`install`](Self::install)s
/// the state it built on a private copy.
pub(crate) struct Writer<'e, D> {
    published: &'e Published<State<D>>,
    closed: &'e AtomicBool,
    by_id: &'e ById<D>,
    inner: MutexGuard<'e, Inner<D>>,
}

impl<'e, D> Writer<'e, D> {
    /// The current state.
    pub(crate) fn state(&self) -> &Arc<State<D>> {
        &self.inner.state
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Holds the readers' slots, for [`install`](Self::install).
    pub(crate) fn hold_readers(&self) -> Held<'e, State<D>> {
        self.published.hold()
    }

    /// Publishes `next` through `readers` (this store's slots, held) in place
    /// of the current state, which it returns so that its destructors run after
    /// the locks are released. The slots are held only for pointer swaps,
    /// however large the change.
    pub(crate) fn install(
        &mut self,
        readers: &mut Held<'e, State<D>>,
        next: Arc<State<D>>,
    ) -> Arc<State<D>> {
        readers.set(&next);
        self.by_id.settle();
        std::mem::replace(&mut self.inner.state, next)
    }

    /// Applies a commit's changes to the point-read hash, which readers stop
    /// reading until the commit is published (see `by_id`): with no read slot
    /// held, for a commit built on a private copy; under them, for one
    /// applied in place, which [`change`](Self::change)s the state first.
    /// Returns the documents replaced, to drop outside the locks.
    pub(crate) fn stage(&self, changes: &[Change<D>]) -> Vec<Versioned<D>> {
        self.by_id.stage(changes)
    }

    /// Files a commit's deadlines in the point-read hash, after its
    /// documents ([`stage`](Self::stage)), until it is published.
    pub(crate) fn stage_deadlines(&self, deadlines: impl Iterator<Item = (Id, Option<Micros>)>) {
        self.by_id.stage_deadlines(deadlines);
    }

    /// Files document `id`'s new deadline in the point-read hash, with the
    /// readers' slots held while the state's deadline changes.
    pub(crate) fn file_deadline(&self, _readers: &Held<'e, State<D>>, id: Id, at: Option<Micros>) {
        self.by_id.set_deadline(id, at);
    }

    /// Notes the documents a commit wrote, one per step of the state's
    /// generation and in the order they were applied, so that an index build
    /// running meanwhile catches up with them (see `index_build`).
    pub(crate) fn record_writes(&mut self, ids: impl IntoIterator<Item = Id>) {
        for id in ids {
            self.inner.builds.record(id);
        }
    }

    /// Puts `next` in place of the current state without publishing it (a
    /// durable commit waiting for the disk); returns the state replaced.
    pub(crate) fn replace(&mut self, next: Arc<State<D>>) -> Arc<State<D>> {
        std::mem::replace(&mut self.inner.state, next)
    }

    /// Changes the current state without publishing it (a durable commit
    /// waiting for the disk): in place if no reader holds it.
    pub(crate) fn change_unpublished<R>(&mut self, change: impl FnOnce(&mut State<D>) -> R) -> R {
        change(Arc::make_mut(&mut self.inner.state))
    }

    /// Changes the current state in place and publishes it through `readers`
    /// (this store's slots, held): for a change small enough that readers may
    /// wait for it, since copying shared nodes would cost more than it.
    pub(crate) fn change<R>(
        &mut self,
        readers: &mut Held<'e, State<D>>,
        change: impl FnOnce(&mut State<D>) -> R,
    ) -> R {
        readers.change(&mut self.inner.state, change)
    }

    /// Ends what [`stage`](Self::stage) began, with the readers' slots held.
    pub(crate) fn settle(&self, _readers: &Held<'e, State<D>>) {
        self.by_id.settle();
    }
}

/// Finds a state's documents by id: through the point-read hash when it
/// agrees with the state (see `by_id`), through the state's tree otherwise.
pub(crate) struct Point<'a, D> {
    by_id: &'a ById<D>,
    docs: &'a Tree<Id, Versioned<D>>,
}

impl<D> Point<'_, D> {
    /// A stamp to read the hash under, if it agrees with the state now.
    #[inline]
    pub(crate) fn stable(&self) -> Option<u64> {
        self.by_id.stable()
    }

    /// Document `id`: through the hash when given a stamp, which the caller
    /// checks with [`still`](Self::still) after its reads; through the tree
    /// otherwise.
    #[inline]
    pub(crate) fn get(&self, id: Id, stamp: Option<u64>) -> Option<Versioned<D>> {
        match stamp {
            Some(_) => self.by_id.get_within(id),
            None => self.docs.get(&id).cloned(),
        }
    }

    /// Whether reads made under `stamp` saw the hash agree with the state.
    #[inline]
    pub(crate) fn still(&self, stamp: Option<u64>) -> bool {
        stamp.is_none_or(|stamp| self.by_id.still(stamp))
    }
}

/// The entries of document `id` in `index`.
#[cfg(feature = "testing")]
fn entries_of<D>(index: &IndexState<D>, id: Id) -> Vec<Entry> {
    index
        .entries
        .entries()
        .filter(|(entry, _)| entry.id == id)
        .map(|(entry, _)| entry.clone())
        .collect()
}

fn stray(index: &str, entry: &Entry) -> String {
    format!(
        "index {index:?} holds key {} of document {} that the document does not have",
        describe(entry.key.as_bytes()),
        entry.id
    )
}

fn last_id<D>(docs: &Tree<Id, Versioned<D>>) -> Option<Id> {
    docs.len()
        .checked_sub(1)
        .and_then(|last| docs.nth(last))
        .map(|(id, _)| *id)
}

/// Fails if a unique index already gives a key the write adds to a document
/// other than `id`.
fn check_unique<D>(state: &State<D>, changes: &[IndexChange], id: Id) -> Result<()> {
    for (index, change) in state.indexes.iter().zip(changes) {
        if !index.def.info.unique {
            continue;
        }
        for key in change.added.as_slice() {
            if let Some(existing) = index.holder_other_than(key, id) {
                return Err(Error::UniqueViolation {
                    index: index.name().to_owned(),
                    key: describe(key.as_bytes()),
                    existing,
                });
            }
        }
    }
    Ok(())
}

/// The index `def` gives `docs`: every entry, checking uniqueness.
fn build_index<D>(def: &Arc<IndexDef<D>>, docs: &Tree<Id, Versioned<D>>) -> Result<IndexState<D>> {
    let name = &def.info.name;
    let mut sink = KeySink::new();
    let mut entries = Vec::with_capacity(docs.len());
    let mut several = 0;
    for (id, document) in docs.entries() {
        let keys = def.keys_of(document.value(), &mut sink)?;
        several += usize::from(keys.as_slice().len() >= 2);
        for key in keys {
            let value = def.info.covering.then(|| document.clone());
            entries.push((Entry { key, id: *id }, value));
        }
    }
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    if def.info.unique
        && let Some(pair) = entries
            .windows(2)
            .find(|pair| pair[0].0.key == pair[1].0.key)
    {
        return Err(Error::UniqueViolation {
            index: name.clone(),
            key: describe(pair[0].0.key.as_bytes()),
            existing: pair[0].0.id,
        });
    }
    Ok(IndexState {
        def: Arc::clone(def),
        entries: Tree::from_sorted(entries),
        several,
    })
}

/// A durable commit waiting for the disk: its sequence number, and the state
/// it made, to publish once its frame is on disk.
pub(crate) struct Waiting<D>(u64, Arc<State<D>>);

/// A document handed back after its commit failed. Every state holding it is
/// let go as the commits waiting with it fail, so this waits only for those
/// threads to see their failure.
fn take_back<D>(mut record: Versioned<D>) -> D {
    loop {
        match record.try_into_value() {
            Ok(document) => return document,
            Err(shared) => {
                record = shared;
                std::thread::yield_now();
            }
        }
    }
}
