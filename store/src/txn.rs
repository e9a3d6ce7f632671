//! Transactions: many documents, in one or many stores, all or nothing,
//! serializable.
//!
//! # Design
//!
//! Optimistic, and no lock is held while user code runs. A transaction begins
//! on a consistent snapshot of every store it may touch (for a [`Db`], a cut
//! between two of the database's commits; see `commit`). Its reads come from
//! that snapshot merged with its own buffered writes, and it records what it
//! read: ids (present or absent, with the version seen), index queries (index
//! and key span) and whole iterations. A written id counts as read, so two
//! blind writes of one document conflict too.
//!
//! At commit it takes the writer lock of every store it read or wrote, in one
//! fixed order (by address), and validates: every id read still has the stored
//! version it saw, or is still absent; every index query, run again, returns
//! the same entries with the same versions; a store it iterated has not
//! changed at all; and no index was created or dropped. A store whose
//! documents did not change since the snapshot needs no check at all. When
//! everything it read is still current at that instant, the transaction takes
//! effect at that instant as if it had run alone: serializable. Conflicts are
//! precise: writes to other documents, or outside the spans it queried, never
//! make it fail.
//!
//! Then unique indexes are checked against the current state and its own
//! writes, and every store is published in one step, under one sequence
//! number, with the readers' slots of all of them held across the swap (so a
//! reader who sees the transaction in one store sees it in all). A
//! transaction that changes more than a few documents gets the new state of
//! each store built on a private copy first, while readers go on reading the
//! old one, so however large it is they wait for pointer swaps only. The
//! copy is built in bulk: each tree's new entries sorted and merged in leaf
//! by leaf, one visit per leaf touched rather than a descent per entry (see
//! `engine::apply_many`). A few changes are applied in place under the
//! slots, as a single write is, which costs less than copying the shared
//! nodes. Index keys of the written documents were computed when they were
//! written, so a computed key that panics does so before anything is locked.
//!
//! [`Db`]: crate::Db

mod keyed;
mod part;
mod span;

use std::cell::RefCell;
use std::fmt;
use std::ops::Bound;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;

use serde_json::Value;

use crate::commit::Clock;
#[cfg(feature = "testing")]
pub use crate::commit::CommitStage;
use crate::durable::{Log, Record};
use crate::engine::{Engine, State};
use crate::key::{CompositeKey, JsonKey, KeyFor, KeyLeading, KeyPrefix, KeyRange, KeyWriter};
use crate::query::{IndexRef, UniqueIndexRef};
use crate::snapshot::{Arity, bounds, checked, encode};
use crate::store::to_object;
use crate::value::Object;
use crate::{Collection, Document, Error, Id, Indexed, Result, Store, Versioned};

use part::{AnyPart, Part, Settling};
pub(crate) use part::{Locked, Member};
use span::Span;

/// How many times a transaction closure is run again after a conflict, unless
/// [`TxOptions::retries`] says otherwise.
pub const DEFAULT_RETRIES: u32 = 16;

/// How many documents a commit may change and still be applied in place, with
/// readers of its stores waiting for it, as they do for a single write; above
/// this its stores' new states are built on private copies while readers go
/// on, since the wait would grow with the commit. Below it, copying the nodes
/// readers share would cost more than the wait.
const IN_PLACE_MAX: usize = 8;

/// Options of a transaction run as a closure.
///
/// ```
/// use docstore_core::{Store, TxOptions};
/// use serde_json::json;
///
/// let store = Store::new();
/// let id = store.transaction_with(TxOptions::new().retries(3), |tx| {
///     tx.insert(json!({"n": 1}))
/// })?;
/// assert_eq!(store.get(id)?.version(), 1);
/// # Ok::<(), docstore_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxOptions {
    retries: u32,
}

impl Default for TxOptions {
    fn default() -> Self {
        TxOptions {
            retries: DEFAULT_RETRIES,
        }
    }
}

impl TxOptions {
    /// The defaults: [`DEFAULT_RETRIES`] retries.
    pub fn new() -> TxOptions {
        TxOptions::default()
    }

    /// Runs the closure again at most `retries` times after a conflict; the
    /// conflict after the last is returned. Zero never retries.
    #[must_use]
    pub fn retries(self, retries: u32) -> TxOptions {
        TxOptions { retries }
    }
}

/// Which stores a transaction may touch, and how its commit reaches them.
enum Scope<'a> {
    /// Those of a database, as they were when it began: the cut holds them.
    Db,
    /// One store.
    Alone(&'a dyn Member),
}

/// One store's state in the cut a transaction began on.
pub(crate) struct CutEntry {
    pub(crate) address: usize,
    pub(crate) name: Option<Arc<str>>,
    /// An `Arc<State<D>>`, or why there is none (the store is closed).
    pub(crate) state: Result<Box<dyn std::any::Any + Send + Sync>>,
    /// The store, for a commit to reach it (a database's store; none for a
    /// standalone one, which the transaction borrows).
    pub(crate) member: Option<Arc<dyn Member>>,
}

/// A transaction's snapshot and what it read and wrote, per store.
struct Parts {
    /// Sorted by address.
    cut: Vec<CutEntry>,
    /// The database's clock, to tell its stores from foreign ones.
    clock: Option<Arc<Clock>>,
    /// The stores touched, sorted by address (the order their locks are taken in).
    touched: RefCell<Vec<(usize, Box<dyn AnyPart>)>>,
}

impl Parts {
    /// Runs `work` on this transaction's share of the store `engine`.
    fn with<D, R>(
        &self,
        engine: &Engine<D>,
        work: impl FnOnce(&mut Part<D>) -> Result<R>,
    ) -> Result<R>
    where
        D: Send + Sync + 'static,
    {
        let address = Member::address(engine);
        let mut touched = self.touched.borrow_mut();
        let position = match touched.binary_search_by_key(&address, |(address, _)| *address) {
            Ok(position) => position,
            Err(position) => {
                let part = self.start(engine, address)?;
                touched.insert(position, (address, Box::new(part)));
                position
            }
        };
        let (_, part) = &mut touched[position];
        let part = part
            .as_any()
            .downcast_mut::<Part<D>>()
            .ok_or(Error::ForeignStore)?;
        work(part)
    }

    /// A store's share, reading the state the cut holds for it.
    fn start<D>(&self, engine: &Engine<D>, address: usize) -> Result<Part<D>>
    where
        D: Send + Sync + 'static,
    {
        let Ok(at) = self
            .cut
            .binary_search_by_key(&address, |entry| entry.address)
        else {
            let ours = match (engine.sequence().clock(), &self.clock) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            };
            return Err(if ours {
                Error::Conflict {
                    store: None,
                    id: None,
                    index: None,
                    read: "the stores of the database (one was added after the transaction began)"
                        .to_owned(),
                }
            } else {
                Error::ForeignStore
            });
        };
        let entry = &self.cut[at];
        let state = entry.state.as_ref().map_err(Clone::clone)?;
        let state = state
            .downcast_ref::<Arc<State<D>>>()
            .ok_or(Error::ForeignStore)?;
        Ok(Part::new(Arc::clone(state), entry.name.clone()))
    }
}

/// A transaction: reads and writes across the stores and collections of a
/// [`Db`](crate::Db) (or of one store), all committed together or not at all.
///
/// It reads one consistent snapshot, taken when it began, plus its own
/// writes (read-your-writes, index queries included); writes are buffered
/// until [`commit`](Self::commit), which publishes them all in one step if
/// nothing the transaction read has changed meanwhile (serializable), and
/// fails with [`Error::Conflict`] otherwise. Dropping a transaction without
/// committing it rolls it back: nothing it wrote is ever seen.
///
/// Reach a store through [`store`](Self::store), a typed collection through
/// [`collection`](Self::collection).
///
/// ```
/// use docstore_core::{Db, Error};
/// use serde_json::json;
///
/// let db = Db::new();
/// let accounts = db.store("accounts")?;
/// let a = accounts.insert(json!({"balance": 10}))?;
/// let b = accounts.insert(json!({"balance": 20}))?;
///
/// let first = db.begin()?;
/// let second = db.begin()?;
/// for tx in [&first, &second] {
///     let balance = tx.store(&accounts).get(a)?.get("balance").and_then(|v| v.as_i64());
///     tx.store(&accounts).update(a, json!({"balance": balance.unwrap_or(0) - 5}))?;
/// }
/// first.commit()?;
/// // `second` read `a` before `first` changed it: committing it would lose an update.
/// assert!(matches!(second.commit(), Err(Error::Conflict { id: Some(id), .. }) if id == a));
/// assert_eq!(*accounts.get(a)?, json!({"balance": 5}));
/// # let _ = b;
/// # Ok::<(), Error>(())
/// ```
pub struct Transaction<'a> {
    scope: Scope<'a>,
    parts: Parts,
    #[cfg(feature = "testing")]
    pause: Option<Arc<dyn Fn(CommitStage) + Send + Sync>>,
}

impl fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let touched = self.parts.touched.try_borrow().map(|t| t.len()).ok();
        f.debug_struct("Transaction")
            .field("stores_touched", &touched)
            .finish_non_exhaustive()
    }
}

impl<'a> Transaction<'a> {
    /// A transaction over the stores of a database, on the cut `cut`.
    pub(crate) fn in_db(clock: Arc<Clock>, mut cut: Vec<CutEntry>) -> Self {
        cut.sort_by_key(|entry| entry.address);
        Transaction::new(Scope::Db, cut, Some(clock))
    }

    /// A transaction over one store.
    fn alone<D: Send + Sync + 'static>(engine: &'a Engine<D>) -> Result<Self> {
        let state = engine.snapshot()?;
        let cut = vec![CutEntry {
            address: Member::address(engine),
            name: None,
            state: Ok(Box::new(state)),
            member: None,
        }];
        Ok(Transaction::new(Scope::Alone(engine), cut, None))
    }

    fn new(scope: Scope<'a>, cut: Vec<CutEntry>, clock: Option<Arc<Clock>>) -> Self {
        Transaction {
            scope,
            parts: Parts {
                cut,
                clock,
                touched: RefCell::new(Vec::new()),
            },
            #[cfg(feature = "testing")]
            pause: None,
        }
    }

    /// The schemaless `store` as this transaction sees it. Its operations fail
    /// with [`Error::ForeignStore`] if the store is not one of the transaction's.
    pub fn store<'t>(&'t self, store: &'t Store) -> TxStore<'t> {
        TxStore {
            view: View {
                parts: &self.parts,
                engine: store.engine(),
            },
        }
    }

    /// The typed `collection` as this transaction sees it. Its operations fail
    /// with [`Error::ForeignStore`] if the collection is not one of the
    /// transaction's.
    pub fn collection<'t, T: Indexed>(
        &'t self,
        collection: &'t Collection<T>,
    ) -> TxCollection<'t, T> {
        TxCollection {
            view: View {
                parts: &self.parts,
                engine: collection.engine(),
            },
        }
    }

    /// Publishes every write of the transaction in one step, if nothing it
    /// read changed since it began.
    ///
    /// Fails, changing nothing, with [`Error::Conflict`] naming what changed
    /// (a document id, or an index and key span), [`Error::UniqueViolation`]
    /// naming the index, key and the document already holding it, or
    /// [`Error::Closed`]. A transaction that wrote nothing always succeeds and
    /// takes no lock.
    pub fn commit(self) -> Result<()> {
        let Parts { cut, touched, .. } = self.parts;
        let mut touched = touched.into_inner();
        if !touched.iter().any(|(_, part)| part.has_writes()) {
            return Ok(());
        }
        touched.retain(|(_, part)| !part.is_idle());
        let shared: Vec<Arc<dyn Member>> = match self.scope {
            Scope::Db => touched
                .iter()
                .map(|(address, _)| {
                    let at = cut.binary_search_by_key(address, |entry| entry.address);
                    at.ok()
                        .and_then(|at| cut[at].member.clone())
                        .ok_or(Error::ForeignStore)
                })
                .collect::<Result<_>>()?,
            Scope::Alone(_) => Vec::new(),
        };
        // The cut's states would keep a small commit from changing the current
        // state in place.
        drop(cut);
        #[cfg(feature = "testing")]
        let pause = |stage| {
            if let Some(pause) = &self.pause {
                pause(stage);
            }
        };
        #[cfg(feature = "testing")]
        pause(CommitStage::BeforeLocking);
        let members: Vec<&dyn Member> = match self.scope {
            Scope::Db => shared.iter().map(|member| &**member).collect(),
            Scope::Alone(member) => vec![member],
        };
        let Some(sequence) = members.first().map(|member| member.sequence()) else {
            return Ok(());
        };
        // What is due goes first, by commits of its own: the validation then
        // sees it gone, and its unique keys free.
        for member in &members {
            member.expire_due()?;
        }
        let written: usize = touched.iter().map(|(_, part)| part.write_count()).sum();
        let documents = touched.iter().any(|(_, part)| part.changes_documents());
        // In address order, the one order every commit takes locks in.
        let mut locks: Vec<Box<dyn Locked<'_> + '_>> = Vec::with_capacity(members.len());
        for ((_, part), member) in touched.iter_mut().zip(&members) {
            locks.push(member.lock(part.as_any()).ok_or(Error::ForeignStore)?);
        }
        for lock in &locks {
            lock.validate()?;
        }
        for lock in &locks {
            lock.check()?;
        }
        #[cfg(feature = "testing")]
        pause(CommitStage::Validated);
        #[cfg(feature = "testing")]
        let halfway = || pause(CommitStage::Building);
        #[cfg(not(feature = "testing"))]
        let halfway = || {};
        for lock in &mut locks {
            lock.build(written <= IN_PLACE_MAX, &halfway);
        }
        #[cfg(feature = "testing")]
        pause(CommitStage::Built);
        // A durable database logs the commit before anyone can see it; if
        // that fails, nothing is published.
        let mut record = Record::default();
        for lock in &locks {
            lock.record(&mut record)?;
        }
        let parts = locks.iter().filter(|lock| lock.changes()).count();
        for lock in &mut locks {
            lock.stage();
        }
        // Every store changes before readers of any of them see one change:
        // whoever sees the transaction in one store sees it in all.
        let publish = |locks: &mut Vec<Box<dyn Locked<'_> + '_>>, seq| {
            for lock in locks.iter_mut() {
                lock.hold_readers();
            }
            for lock in locks.iter_mut() {
                lock.install(seq, parts);
            }
            for lock in locks.iter_mut() {
                lock.release_readers();
            }
        };
        let waiting = match record.frame() {
            None => {
                if documents {
                    sequence.commit(|seq| publish(&mut locks, seq));
                } else {
                    // Deadlines only: like `expire_at`, no commit of a
                    // document, so no sequence number (the feed's numbers
                    // stay gapless), but through the gate all the same.
                    sequence.publish_unnumbered(|last| publish(&mut locks, last));
                }
                None
            }
            Some((log, body)) if !documents => {
                // Deadlines only, logged as a change the feed skips and
                // made visible in its turn, as `expire_at` is.
                let last = sequence.last();
                log.log_change(body, || publish(&mut locks, last))?;
                None
            }
            Some((log, body)) => {
                let ((), seq) = log.commit(body, |seq, visible| {
                    if visible {
                        publish(&mut locks, seq);
                    } else {
                        for lock in &mut locks {
                            lock.install_pending(seq, parts);
                        }
                    }
                })?;
                log.waits_for_disk().then(|| (Arc::clone(log), seq))
            }
        };
        let settling: Vec<_> = match waiting {
            Some(_) => locks.iter().filter_map(|lock| lock.settling()).collect(),
            None => Vec::new(),
        };
        let after: Vec<_> = locks.into_iter().map(|lock| lock.unlock()).collect();
        if let Some((log, seq)) = waiting {
            settle(&log, seq, settling)?;
        }
        for after in after {
            after();
        }
        for member in &members {
            member.keep_to_capacity();
        }
        Ok(())
    }

    /// Drops the transaction and everything it wrote. What dropping it does;
    /// this only says so.
    pub fn rollback(self) {}

    /// Calls `hook` at each [`CommitStage`] of this transaction's commit, so
    /// tests can hold a commit still there.
    #[doc(hidden)]
    #[cfg(feature = "testing")]
    pub fn pause_for_tests(&mut self, hook: impl Fn(CommitStage) + Send + Sync + 'static) {
        self.pause = Some(Arc::new(hook));
    }
}

/// Publishes a durable commit once its frame is on disk, in every store it
/// changed at once; or, if the disk failed, lets go of it.
fn settle(log: &Log, seq: u64, mut settling: Vec<Box<dyn Settling<'_> + '_>>) -> Result<()> {
    let settled = log.settle(seq, || {
        for store in &mut settling {
            store.hold_readers();
        }
        for store in &mut settling {
            store.publish();
        }
        for store in &mut settling {
            store.release_readers();
        }
    });
    if settled.is_err() {
        for store in settling {
            store.roll_back();
        }
    }
    settled
}

/// Runs `body` in transactions from `begin` until one commits, retrying
/// conflicts at most `options.retries` times.
pub(crate) fn run<'a, R, E>(
    options: TxOptions,
    mut begin: impl FnMut() -> Result<Transaction<'a>>,
    mut body: impl FnMut(&Transaction<'a>) -> std::result::Result<R, E>,
) -> std::result::Result<R, E>
where
    E: From<Error>,
{
    let mut retries = 0;
    loop {
        let tx = begin()?;
        let value = match catch_unwind(AssertUnwindSafe(|| body(&tx))) {
            Ok(Ok(value)) => value,
            // Dropping the transaction rolls it back.
            Ok(Err(error)) => return Err(error),
            Err(panic) => {
                drop(tx);
                resume_unwind(panic);
            }
        };
        match tx.commit() {
            Ok(()) => return Ok(value),
            Err(Error::Conflict { .. }) if retries < options.retries => {
                crate::stats::retried();
                retries += 1;
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// The documents an index query or an iteration in a transaction found, as
/// the transaction sees them: its snapshot with its own writes merged in, in
/// key order (ties in id order), or id order for an iteration. Read lazily
/// from the snapshot where the transaction wrote nothing to the store.
pub struct TxIter<D> {
    documents: Documents<D>,
}

/// Where a [`TxIter`]'s documents come from.
enum Documents<D> {
    /// Listed, with the transaction's own writes merged in.
    Listed(std::vec::IntoIter<Versioned<D>>),
    /// Read from the snapshot as they are taken.
    Lazy(crate::Iter<D>),
}

impl<D> TxIter<D> {
    pub(crate) fn listed(documents: Vec<Versioned<D>>) -> Self {
        TxIter {
            documents: Documents::Listed(documents.into_iter()),
        }
    }

    pub(crate) fn lazy(documents: crate::Iter<D>) -> Self {
        TxIter {
            documents: Documents::Lazy(documents),
        }
    }
}

impl<D> Iterator for TxIter<D> {
    type Item = Versioned<D>;

    fn next(&mut self) -> Option<Versioned<D>> {
        match &mut self.documents {
            Documents::Listed(documents) => documents.next(),
            Documents::Lazy(documents) => documents.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.documents {
            Documents::Listed(documents) => documents.size_hint(),
            Documents::Lazy(documents) => documents.size_hint(),
        }
    }
}

impl<D> DoubleEndedIterator for TxIter<D> {
    fn next_back(&mut self) -> Option<Versioned<D>> {
        match &mut self.documents {
            Documents::Listed(documents) => documents.next_back(),
            Documents::Lazy(documents) => documents.next_back(),
        }
    }
}

impl<D> ExactSizeIterator for TxIter<D> {}

impl<D> fmt::Debug for TxIter<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TxIter")
            .field("remaining", &self.len())
            .finish()
    }
}

/// One store as a transaction sees it, whatever its document type.
struct View<'t, D> {
    parts: &'t Parts,
    engine: &'t Engine<D>,
}

impl<D: Send + Sync + 'static> View<'_, D> {
    fn with<R>(&self, work: impl FnOnce(&mut Part<D>) -> Result<R>) -> Result<R> {
        self.parts.with(self.engine, work)
    }

    fn get(&self, id: Id) -> Result<Versioned<D>> {
        self.with(|part| part.get(id).ok_or(Error::NotFound { id }))
    }

    fn contains(&self, id: Id) -> Result<bool> {
        self.with(|part| Ok(part.get(id).is_some()))
    }

    fn insert(&self, document: D) -> Result<Versioned<D>> {
        // Weighed here, in the caller's closure: never under a lock.
        let weight = self.engine.weigh(&document);
        self.with(|part| part.insert(self.engine.next_id(), document, weight))
    }

    fn replace(&self, id: Id, expected: Option<u64>, document: D) -> Result<u64> {
        let weight = self.engine.weigh(&document);
        self.with(|part| part.replace(id, expected, document, weight))
            .map(|record| record.version())
    }

    fn delete(&self, id: Id, expected: Option<u64>) -> Result<Versioned<D>> {
        self.with(|part| part.delete(id, expected))
    }

    fn lookup<I: IndexRef<D>>(&self, index: I, key: impl KeyFor<I::Key>) -> Result<TxIter<D>> {
        let name = index.index_name();
        self.with(|part| {
            let key = encode(part.index(name)?, Arity::Exact, |out| {
                key.write_key_for(out)
            })?;
            part.query(name, Span::Key(key))
        })
    }

    fn get_unique<I: UniqueIndexRef<D>>(
        &self,
        index: I,
        key: impl KeyFor<I::Key>,
    ) -> Result<Option<Versioned<D>>> {
        let name = index.index_name();
        self.with(|part| {
            let index = part.index(name)?;
            let key = encode(index, Arity::Exact, |out| key.write_key_for(out))?;
            if !index.def.info.unique {
                return Err(Error::NotUnique {
                    index: name.to_owned(),
                });
            }
            Ok(part.query(name, Span::Key(key))?.next())
        })
    }

    fn range<I: IndexRef<D>>(&self, index: I, range: impl KeyRange<I::Key>) -> Result<TxIter<D>> {
        let name = index.index_name();
        self.with(|part| {
            let (start, end) = bounds(part.index(name)?, &range, None)?;
            part.query(name, Span::Range(start, end))
        })
    }

    fn range_within<I: IndexRef<D>, L: KeyLeading<I::Key>>(
        &self,
        index: I,
        leading: L,
        range: impl KeyRange<L::Next>,
    ) -> Result<TxIter<D>> {
        let name = index.index_name();
        self.with(|part| {
            let index = part.index(name)?;
            let mut out = KeyWriter::new();
            leading.write_leading(&mut out);
            let given = out.fields();
            let leading = checked(index, Arity::Before, out, Bound::Included(()))?;
            let (start, end) = bounds(index, &range, Some((&leading, given)))?;
            part.query(name, Span::Range(start, end))
        })
    }

    fn prefix<I: IndexRef<D>>(
        &self,
        index: I,
        prefix: impl KeyPrefix<I::Key>,
    ) -> Result<TxIter<D>> {
        let name = index.index_name();
        self.with(|part| {
            let prefix = encode(part.index(name)?, Arity::Leading, |out| {
                prefix.write_prefix(out)
            })?;
            part.query(name, Span::Prefix(prefix))
        })
    }

    fn range_after<I: IndexRef<D>>(
        &self,
        index: I,
        range: impl KeyRange<I::Key>,
        key: impl KeyFor<I::Key>,
        id: Id,
    ) -> Result<TxIter<D>> {
        let name = index.index_name();
        self.with(|part| {
            let index = part.index(name)?;
            let (start, end) = bounds(index, &range, None)?;
            let key = encode(index, Arity::Exact, |out| key.write_key_for(out))?;
            let span = Span::After(Box::new(Span::Range(start, end)), key, id);
            part.query(name, span)
        })
    }

    fn by_index<I: IndexRef<D>>(&self, index: I) -> Result<TxIter<D>> {
        let name = index.index_name();
        self.with(|part| {
            part.index(name)?;
            part.query(name, Span::Range(Bound::Unbounded, Bound::Unbounded))
        })
    }

    fn iter(&self) -> Result<TxIter<D>> {
        self.with(|part| Ok(part.all()))
    }

    fn len(&self) -> Result<usize> {
        self.with(|part| Ok(part.len()))
    }
}

/// A schemaless [`Store`] inside a [`Transaction`]: the operations of a store,
/// reading the transaction's snapshot plus its own writes, and buffering
/// writes until the transaction commits.
///
/// A document inserted here gets its id at once, and version 1 at commit; a
/// document written here gets one new version at commit, however often the
/// transaction wrote it, and reads here show it with that version.
///
/// ```
/// use docstore_core::Store;
/// use serde_json::json;
///
/// let store = Store::new();
/// store.create_index("by_city", ["city"])?;
/// let paris = store.insert(json!({"city": "Paris"}))?;
/// store.transaction(|tx| {
///     let rome = tx.insert(json!({"city": "Rome"}))?;
///     tx.delete(paris)?;
///     // Its own writes show in its queries.
///     assert_eq!(tx.lookup("by_city", "Rome")?.map(|d| d.id()).collect::<Vec<_>>(), [rome]);
///     assert_eq!(tx.lookup("by_city", "Paris")?.count(), 0);
///     // Nobody else sees them before it commits.
///     assert_eq!(store.lookup("by_city", "Paris")?.count(), 1);
///     Ok::<_, docstore_core::Error>(())
/// })?;
/// assert_eq!(store.lookup("by_city", "Paris")?.count(), 0);
/// # Ok::<(), docstore_core::Error>(())
/// ```
pub struct TxStore<'t> {
    view: View<'t, Object>,
}

impl fmt::Debug for TxStore<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TxStore").finish_non_exhaustive()
    }
}

impl TxStore<'_> {
    /// The document with this id, as the transaction sees it.
    pub fn get(&self, id: Id) -> Result<Document> {
        self.view.get(id)
    }

    /// Whether a document has this id, as the transaction sees it. Counts as a
    /// read: a concurrent insert or delete of `id` is a conflict.
    pub fn contains(&self, id: Id) -> Result<bool> {
        self.view.contains(id)
    }

    /// Buffers a new document; returns the id it has from now on.
    ///
    /// Ids follow the order of inserts, not of commits: a document inserted
    /// here sorts before one another writer inserts later, even if this
    /// transaction commits after it.
    pub fn insert(&self, document: Value) -> Result<Id> {
        let document = to_object(document)?;
        self.view.insert(document).map(|record| record.id())
    }

    /// Buffers a replacement of a document; returns the version it will have.
    pub fn update(&self, id: Id, document: Value) -> Result<u64> {
        self.view.replace(id, None, to_object(document)?)
    }

    /// Buffers a replacement if the document has version `expected` (as the
    /// transaction sees it); fails with [`Error::VersionConflict`] otherwise.
    pub fn update_if(&self, id: Id, expected: u64, document: Value) -> Result<u64> {
        self.view.replace(id, Some(expected), to_object(document)?)
    }

    /// Buffers the deletion of a document; returns it as the transaction saw it.
    pub fn delete(&self, id: Id) -> Result<Document> {
        self.view.delete(id, None)
    }

    /// Buffers a deletion if the document has version `expected`.
    pub fn delete_if(&self, id: Id, expected: u64) -> Result<Document> {
        self.view.delete(id, Some(expected))
    }

    /// The documents whose key in `index` is `key`, in id order.
    pub fn lookup(&self, index: &str, key: impl KeyFor<JsonKey>) -> Result<TxIter<Object>> {
        self.view.lookup(index, key)
    }

    /// The one document whose key in the unique `index` is `key`, if any.
    pub fn get_unique(&self, index: &str, key: impl KeyFor<JsonKey>) -> Result<Option<Document>> {
        self.view.get_unique(index, key)
    }

    /// The documents whose key in `index` lies in `range`, in key order.
    pub fn range(&self, index: &str, range: impl KeyRange<JsonKey>) -> Result<TxIter<Object>> {
        self.view.range(index, range)
    }

    /// The documents whose key in the composite `index` starts with `prefix`.
    pub fn prefix(&self, index: &str, prefix: impl KeyPrefix<JsonKey>) -> Result<TxIter<Object>> {
        self.view.prefix(index, prefix)
    }

    /// The documents of the composite `index` whose leading fields are
    /// `leading` and whose next field lies in `range`, in key order: see
    /// [`Snapshot::range_within`](crate::Snapshot::range_within).
    pub fn range_within(
        &self,
        index: &str,
        leading: impl KeyLeading<JsonKey, Next = JsonKey>,
        range: impl KeyRange<JsonKey>,
    ) -> Result<TxIter<Object>> {
        self.view.range_within(index, leading, range)
    }

    /// Every document in `index`, in key order.
    pub fn by_index(&self, index: &str) -> Result<TxIter<Object>> {
        self.view.by_index(index)
    }

    /// The documents of `index` after the one with key `key` and id `id`, in
    /// key order: the next page, for keyset pagination, as
    /// [`Snapshot::after`](crate::Snapshot::after) gives it, with this
    /// transaction's own writes. Counts as reading the index from that
    /// position on: a concurrent write there is a conflict.
    ///
    /// ```
    /// use docstore_core::Store;
    /// use serde_json::json;
    ///
    /// let store = Store::new();
    /// store.create_index("by_n", ["n"])?;
    /// let one = store.insert(json!({"n": 1}))?;
    /// store.insert(json!({"n": 3}))?;
    /// store.transaction(|tx| {
    ///     tx.insert(json!({"n": 2}))?;
    ///     // The page after n = 1 holds the transaction's own insert.
    ///     let next: Vec<_> = tx.after("by_n", 1, one)?.map(|d| d.to_value()["n"].clone()).collect();
    ///     assert_eq!(next, [json!(2), json!(3)]);
    ///     Ok::<_, docstore_core::Error>(())
    /// })?;
    /// # Ok::<(), docstore_core::Error>(())
    /// ```
    pub fn after(&self, index: &str, key: impl KeyFor<JsonKey>, id: Id) -> Result<TxIter<Object>> {
        self.view.range_after(index, .., key, id)
    }

    /// The documents of `index` in `range` after the one with key `key` and
    /// id `id`: the next page of a range, as
    /// [`Snapshot::range_after`](crate::Snapshot::range_after) gives it, with
    /// this transaction's own writes.
    ///
    /// ```
    /// use docstore_core::Store;
    /// use serde_json::json;
    ///
    /// let store = Store::new();
    /// store.create_index("by_n", ["n"])?;
    /// let ids: Vec<_> = (1..=5).map(|n| store.insert(json!({"n": n}))).collect::<Result<_, _>>()?;
    /// store.transaction(|tx| {
    ///     tx.delete(ids[2])?;
    ///     let page: Vec<_> = tx.range_after("by_n", 1..5, 1, ids[0])?.map(|d| d.to_value()["n"].clone()).collect();
    ///     assert_eq!(page, [json!(2), json!(4)]);
    ///     Ok::<_, docstore_core::Error>(())
    /// })?;
    /// # Ok::<(), docstore_core::Error>(())
    /// ```
    pub fn range_after(
        &self,
        index: &str,
        range: impl KeyRange<JsonKey>,
        key: impl KeyFor<JsonKey>,
        id: Id,
    ) -> Result<TxIter<Object>> {
        self.view.range_after(index, range, key, id)
    }

    /// Every document, in id order. Counts as reading the whole store: any
    /// concurrent write to it is a conflict.
    pub fn iter(&self) -> Result<TxIter<Object>> {
        self.view.iter()
    }

    /// How many documents the store holds, as the transaction sees it. Reads
    /// the whole store, as [`iter`](Self::iter) does.
    pub fn len(&self) -> Result<usize> {
        self.view.len()
    }

    /// Whether it holds none, as the transaction sees it.
    pub fn is_empty(&self) -> Result<bool> {
        self.len().map(|len| len == 0)
    }
}

/// A typed [`Collection`] inside a [`Transaction`]: its operations, with the
/// same compile-checked index handles, reading the transaction's snapshot plus
/// its own writes. See [`TxStore`] for what reads and writes here mean.
pub struct TxCollection<'t, T> {
    view: View<'t, T>,
}

impl<T> fmt::Debug for TxCollection<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TxCollection").finish_non_exhaustive()
    }
}

impl<T: Indexed> TxCollection<'_, T> {
    /// The document with this id, as the transaction sees it.
    pub fn get(&self, id: Id) -> Result<Versioned<T>> {
        self.view.get(id)
    }

    /// Whether a document has this id, as the transaction sees it.
    pub fn contains(&self, id: Id) -> Result<bool> {
        self.view.contains(id)
    }

    /// Buffers a new document; returns the id it has from now on.
    pub fn insert(&self, document: T) -> Result<Id> {
        self.view.insert(document).map(|record| record.id())
    }

    /// Buffers a replacement of a document; returns the version it will have.
    pub fn update(&self, id: Id, document: T) -> Result<u64> {
        self.view.replace(id, None, document)
    }

    /// Buffers a replacement if the document has version `expected`.
    pub fn update_if(&self, id: Id, expected: u64, document: T) -> Result<u64> {
        self.view.replace(id, Some(expected), document)
    }

    /// Buffers the deletion of a document; returns it as the transaction saw it.
    pub fn delete(&self, id: Id) -> Result<Versioned<T>> {
        self.view.delete(id, None)
    }

    /// Buffers a deletion if the document has version `expected`.
    pub fn delete_if(&self, id: Id, expected: u64) -> Result<Versioned<T>> {
        self.view.delete(id, Some(expected))
    }

    /// The documents whose key in `index` is `key`, in id order.
    pub fn lookup<I: IndexRef<T>>(&self, index: I, key: impl KeyFor<I::Key>) -> Result<TxIter<T>> {
        self.view.lookup(index, key)
    }

    /// The one document whose key in a unique index is `key`, if any.
    pub fn get_unique<I: UniqueIndexRef<T>>(
        &self,
        index: I,
        key: impl KeyFor<I::Key>,
    ) -> Result<Option<Versioned<T>>> {
        self.view.get_unique(index, key)
    }

    /// The documents whose key in `index` lies in `range`, in key order.
    pub fn range<I: IndexRef<T>>(
        &self,
        index: I,
        range: impl KeyRange<I::Key>,
    ) -> Result<TxIter<T>> {
        self.view.range(index, range)
    }

    /// The documents whose key in a composite `index` starts with `prefix`.
    pub fn prefix<I: IndexRef<T, Key: CompositeKey>>(
        &self,
        index: I,
        prefix: impl KeyPrefix<I::Key>,
    ) -> Result<TxIter<T>> {
        self.view.prefix(index, prefix)
    }

    /// The documents of a composite `index` whose leading fields are
    /// `leading` and whose next field lies in `range`, in key order: see
    /// [`Snapshot::range_within`](crate::Snapshot::range_within).
    pub fn range_within<I: IndexRef<T, Key: CompositeKey>, L: KeyLeading<I::Key>>(
        &self,
        index: I,
        leading: L,
        range: impl KeyRange<L::Next>,
    ) -> Result<TxIter<T>> {
        self.view.range_within(index, leading, range)
    }

    /// Every document in `index`, in key order.
    pub fn by_index<I: IndexRef<T>>(&self, index: I) -> Result<TxIter<T>> {
        self.view.by_index(index)
    }

    /// The documents of `index` after the one with key `key` and id `id`: the
    /// next page, for keyset pagination; see [`TxStore::after`].
    ///
    /// ```
    /// use docstore::{Collection, Indexed};
    ///
    /// #[derive(Indexed, Clone)]
    /// struct Task {
    ///     #[index]
    ///     priority: u32,
    /// }
    ///
    /// let tasks = Collection::<Task>::new();
    /// let first = tasks.insert(Task { priority: 1 })?;
    /// tasks.transaction(|tx| {
    ///     tx.insert(Task { priority: 2 })?;
    ///     let next: Vec<u32> = tx.after(Task::priority, 1, first)?.map(|t| t.priority).collect();
    ///     assert_eq!(next, [2]);
    ///     Ok::<_, docstore::Error>(())
    /// })?;
    /// # Ok::<(), docstore::Error>(())
    /// ```
    pub fn after<I: IndexRef<T>>(
        &self,
        index: I,
        key: impl KeyFor<I::Key>,
        id: Id,
    ) -> Result<TxIter<T>> {
        self.view.range_after(index, .., key, id)
    }

    /// The documents of `index` in `range` after the one with key `key` and
    /// id `id`: the next page of a range; see [`TxStore::range_after`].
    ///
    /// ```
    /// use docstore::{Collection, Indexed};
    ///
    /// #[derive(Indexed, Clone)]
    /// struct Task {
    ///     #[index]
    ///     priority: u32,
    /// }
    ///
    /// let tasks = Collection::<Task>::new();
    /// let ids: Vec<_> = (1..=4).map(|priority| tasks.insert(Task { priority })).collect::<Result<_, _>>()?;
    /// tasks.transaction(|tx| {
    ///     let page: Vec<u32> = tx
    ///         .range_after(Task::priority, ..=3, 1, ids[0])?
    ///         .map(|t| t.priority)
    ///         .collect();
    ///     assert_eq!(page, [2, 3]);
    ///     Ok::<_, docstore::Error>(())
    /// })?;
    /// # Ok::<(), docstore::Error>(())
    /// ```
    pub fn range_after<I: IndexRef<T>>(
        &self,
        index: I,
        range: impl KeyRange<I::Key>,
        key: impl KeyFor<I::Key>,
        id: Id,
    ) -> Result<TxIter<T>> {
        self.view.range_after(index, range, key, id)
    }

    /// Every document, in id order. Counts as reading the whole collection.
    pub fn iter(&self) -> Result<TxIter<T>> {
        self.view.iter()
    }

    /// How many documents it holds, as the transaction sees it.
    pub fn len(&self) -> Result<usize> {
        self.view.len()
    }

    /// Whether it holds none, as the transaction sees it.
    pub fn is_empty(&self) -> Result<bool> {
        self.len().map(|len| len == 0)
    }
}

impl Store {
    /// Runs `body` in a transaction on this store and commits it; see
    /// [`Transaction`] for what that guarantees.
    ///
    /// `body` may run more than once: after a conflict it runs again on a new
    /// snapshot, at most [`DEFAULT_RETRIES`] more times, then the conflict is
    /// returned. If `body` returns an error nothing is committed and the error
    /// is returned; if it panics nothing is committed and the panic goes on.
    ///
    /// ```
    /// use docstore_core::Store;
    /// use serde_json::json;
    ///
    /// let store = Store::new();
    /// let a = store.insert(json!({"balance": 10}))?;
    /// let b = store.insert(json!({"balance": 20}))?;
    /// store.transaction(|tx| {
    ///     let balance = |id| tx.get(id).map(|d| d.get("balance").and_then(|v| v.as_i64()).unwrap_or(0));
    ///     let (from, to) = (balance(a)?, balance(b)?);
    ///     tx.update(a, json!({"balance": from - 5}))?;
    ///     tx.update(b, json!({"balance": to + 5}))?;
    ///     Ok::<_, docstore_core::Error>(())
    /// })?;
    /// assert_eq!(*store.get(b)?, json!({"balance": 25}));
    /// # Ok::<(), docstore_core::Error>(())
    /// ```
    pub fn transaction<R, E>(
        &self,
        body: impl FnMut(&TxStore<'_>) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E>
    where
        E: From<Error>,
    {
        self.transaction_with(TxOptions::new(), body)
    }

    /// [`transaction`](Self::transaction) with [`TxOptions`].
    pub fn transaction_with<R, E>(
        &self,
        options: TxOptions,
        mut body: impl FnMut(&TxStore<'_>) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E>
    where
        E: From<Error>,
    {
        run(options, || self.begin(), |tx| body(&tx.store(self)))
    }

    /// Begins an explicit transaction on this store: reach the store in it with
    /// [`Transaction::store`], then [`commit`](Transaction::commit) it (which
    /// returns a conflict rather than retrying) or drop it.
    pub fn begin(&self) -> Result<Transaction<'_>> {
        Transaction::alone(self.engine())
    }
}

impl<T: Indexed> Collection<T> {
    /// Runs `body` in a transaction on this collection and commits it; see
    /// [`Store::transaction`].
    ///
    /// ```
    /// use docstore::{Collection, Indexed};
    ///
    /// #[derive(Indexed, Clone)]
    /// struct Item {
    ///     #[index(unique)]
    ///     sku: String,
    ///     stock: u32,
    /// }
    ///
    /// let items = Collection::<Item>::new();
    /// items.transaction(|tx| {
    ///     tx.insert(Item { sku: "a".into(), stock: 3 })?;
    ///     let a = tx.get_unique(Item::sku, "a")?.expect("its own insert");
    ///     tx.update(a.id(), Item { stock: a.stock - 1, ..(*a).clone() })?;
    ///     Ok::<_, docstore::Error>(())
    /// })?;
    /// let a = items.get_unique(Item::sku, "a")?.expect("committed");
    /// assert_eq!((a.stock, a.version()), (2, 1));
    /// # Ok::<(), docstore::Error>(())
    /// ```
    pub fn transaction<R, E>(
        &self,
        body: impl FnMut(&TxCollection<'_, T>) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E>
    where
        E: From<Error>,
    {
        self.transaction_with(TxOptions::new(), body)
    }

    /// [`transaction`](Self::transaction) with [`TxOptions`].
    pub fn transaction_with<R, E>(
        &self,
        options: TxOptions,
        mut body: impl FnMut(&TxCollection<'_, T>) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E>
    where
        E: From<Error>,
    {
        run(options, || self.begin(), |tx| body(&tx.collection(self)))
    }

    /// Begins an explicit transaction on this collection; see [`Store::begin`].
    pub fn begin(&self) -> Result<Transaction<'_>> {
        Transaction::alone(self.engine())
    }
}
