//! A database: named stores and typed collections that transactions span.

use std::any::{Any, type_name};
use std::fmt;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::clock::Timekeeper;
use crate::commit::{Clock, Sequence};
use crate::engine::Engine;
use crate::feed::DEFAULT_BUFFER;
use crate::txn::{CutEntry, Locked, Member, TxOptions, run};
use crate::value::Object;
use crate::{
    Collection, DbChangeSet, Error, Indexed, Result, Snapshot, Store, Subscription, Transaction,
};

/// One store or collection of a database.
struct Entry {
    name: Arc<str>,
    /// What it is, for the error when a name is asked for with another type.
    kind: String,
    /// The `Arc<Store>` or `Arc<Collection<T>>` handed out.
    handle: Arc<dyn Any + Send + Sync>,
    /// The same store, as a commit reaches it.
    member: Arc<dyn Member>,
}

/// A database: any number of named schemaless [`Store`]s and typed
/// [`Collection`]s, and transactions across them.
///
/// Each store works as a standalone one does, at the same speed: stores do not
/// wait for one another. What a database adds is one commit order for all of
/// them, which gives [`transaction`](Self::transaction)s that read and write
/// several stores at once, all or nothing, and [`snapshot`](Self::snapshot)s of
/// all of them at one moment.
///
/// ```
/// use docstore::{Db, Indexed};
/// use serde_json::json;
///
/// #[derive(Indexed, Clone)]
/// struct Item {
///     #[index(unique)]
///     sku: String,
///     stock: u32,
/// }
///
/// let db = Db::new();
/// let items = db.collection::<Item>("items")?;
/// let orders = db.store("orders")?;
/// items.insert(Item { sku: "tea".into(), stock: 3 }).map_err(docstore::Error::from)?;
///
/// db.transaction(|tx| {
///     let items = tx.collection(&items);
///     let tea = items.get_unique(Item::sku, "tea")?.expect("in stock");
///     items.update(tea.id(), Item { stock: tea.stock - 1, ..(*tea).clone() })?;
///     tx.store(&orders).insert(json!({"sku": "tea", "quantity": 1}))?;
///     Ok::<_, docstore::Error>(())
/// })?;
/// assert_eq!(items.get_unique(Item::sku, "tea")?.map(|tea| tea.stock), Some(2));
/// assert_eq!(orders.len()?, 1);
/// # Ok::<(), docstore::Error>(())
/// ```
pub struct Db {
    clock: Arc<Clock>,
    entries: RwLock<Vec<Entry>>,
}

impl Db {
    /// An empty database.
    pub fn new() -> Db {
        Db {
            clock: Arc::new(Clock::default()),
            entries: RwLock::new(Vec::new()),
        }
    }

    /// An empty database whose stores read deadlines against `clock` (a
    /// [`ManualClock`](crate::ManualClock) in tests) instead of the system
    /// clock.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use docstore_core::{Db, ManualClock};
    /// use serde_json::json;
    ///
    /// let clock = ManualClock::new(UNIX_EPOCH);
    /// let db = Db::with_clock(clock.clone());
    /// let sessions = db.store("sessions")?;
    /// let id = sessions.insert_with_ttl(json!({"user": 7}), Duration::from_secs(60))?;
    /// clock.advance(Duration::from_secs(60));
    /// assert!(!sessions.contains(id)?);
    /// # Ok::<(), docstore_core::Error>(())
    /// ```
    pub fn with_clock(clock: impl crate::Clock) -> Db {
        Db::with_clock_of(Some(Arc::new(clock)))
    }

    /// An empty database reading deadlines against `clock`, or the system
    /// clock.
    pub(crate) fn with_clock_of(clock: Option<Arc<dyn crate::Clock>>) -> Db {
        let Some(clock) = clock else {
            return Db::new();
        };
        let time = Arc::new(Timekeeper::new(clock));
        Db {
            clock: Arc::new(Clock::with_time(time)),
            entries: RwLock::new(Vec::new()),
        }
    }

    /// The schemaless store named `name`, made empty if the database has none.
    ///
    /// Fails with [`Error::WrongType`] if `name` is a typed collection.
    pub fn store(&self, name: &str) -> Result<Arc<Store>> {
        self.get_or_add(name, || Store::in_db(&self.clock))
    }

    /// The typed collection named `name`, made empty (with `T`'s indexes) if
    /// the database has none. The name is yours, and stable: the type's Rust
    /// name is never used.
    ///
    /// Fails with [`Error::WrongType`] if `name` holds another type of document.
    pub fn collection<T: Indexed>(&self, name: &str) -> Result<Arc<Collection<T>>> {
        self.get_or_add(name, || Collection::in_db(&self.clock))
    }

    /// An empty database whose commits continue after `last` (a durable
    /// database's, after recovery).
    pub(crate) fn continuing(last: u64, clock: Option<Arc<dyn crate::Clock>>) -> Db {
        let time = clock.map_or_else(Arc::default, |clock| Arc::new(Timekeeper::new(clock)));
        Db {
            clock: Arc::new(Clock::starting_after(last, time)),
            entries: RwLock::new(Vec::new()),
        }
    }

    /// The commit order of its stores.
    pub(crate) fn clock(&self) -> &Arc<Clock> {
        &self.clock
    }

    /// The store named `name`, if the database has one.
    pub(crate) fn find<H>(&self, name: &str) -> Option<Result<Arc<H>>>
    where
        H: Holds + Send + Sync + 'static,
    {
        named(&self.entries.read(), name)
    }

    pub(crate) fn get_or_add<H>(&self, name: &str, make: impl FnOnce() -> H) -> Result<Arc<H>>
    where
        H: Holds + Send + Sync + 'static,
    {
        if let Some(found) = named(&self.entries.read(), name) {
            return found;
        }
        let mut entries = self.entries.write();
        if let Some(found) = named(&entries, name) {
            return found;
        }
        let handle = Arc::new(make());
        entries.push(Entry {
            name: Arc::from(name),
            kind: H::kind(),
            handle: Arc::clone(&handle) as Arc<dyn Any + Send + Sync>,
            member: Arc::new(Handle(Arc::clone(&handle))),
        });
        Ok(handle)
    }

    /// The names of its stores and collections, in the order they were made.
    pub fn names(&self) -> Vec<String> {
        self.entries
            .read()
            .iter()
            .map(|entry| entry.name.to_string())
            .collect()
    }

    /// Every store's current state at one moment: between two commits of the
    /// database, never in the middle of one.
    /// Also returns the sequence number of the last commit it holds.
    fn cut(&self) -> (Vec<CutEntry>, u64) {
        let entries = self.entries.read();
        expire_due(&entries);
        // Taken while commits go on, unrelated stores' writers need not wait.
        let running = self.clock.cut_running(|| {
            entries
                .iter()
                .map(|entry| cut_entry(entry, entry.member.snapshot_any()))
                .collect()
        });
        match running {
            Some(cut) => cut,
            None => {
                let (cut, seq, ()) = self.cut_stopped(&entries, |_| ());
                (cut, seq)
            }
        }
    }

    /// A cut, and what `then` does with its sequence number while no commit
    /// can start publishing (a subscription taken there starts exactly after
    /// the cut).
    fn cut_then<R>(&self, then: impl FnOnce(u64) -> R) -> (Vec<CutEntry>, u64, R) {
        let entries = self.entries.read();
        expire_due(&entries);
        self.cut_stopped(&entries, then)
    }

    /// A cut taken with commits stopped. A store's state is taken only if it
    /// can be without waiting for its writer, who may be waiting for the
    /// commits to go on (after a writer panicked midway, its store has no
    /// state published until it is next written); if one cannot, commits go
    /// on while that writer finishes, and the cut is tried again.
    fn cut_stopped<R>(
        &self,
        entries: &[Entry],
        then: impl FnOnce(u64) -> R,
    ) -> (Vec<CutEntry>, u64, R) {
        let mut then = Some(then);
        loop {
            let cut = self.clock.cut(|seq| {
                let states: Option<Vec<_>> = entries
                    .iter()
                    .map(|entry| entry.member.snapshot_now())
                    .collect();
                let cut = entries
                    .iter()
                    .zip(states?)
                    .map(|(entry, state)| cut_entry(entry, state))
                    .collect();
                let then = then.take()?;
                Some((cut, seq, then(seq)))
            });
            if let Some(cut) = cut {
                return cut;
            }
            std::thread::yield_now();
        }
    }

    /// Begins an explicit transaction across the database's stores and
    /// collections, reading all of them as they are now. Reach them with
    /// [`Transaction::store`] and [`Transaction::collection`], then
    /// [`commit`](Transaction::commit) it (which returns a conflict rather
    /// than retrying) or drop it to roll it back.
    pub fn begin(&self) -> Result<Transaction<'_>> {
        Ok(Transaction::in_db(Arc::clone(&self.clock), self.cut().0))
    }

    /// Runs `body` in a transaction across the database and commits it.
    ///
    /// `body` may run more than once: after a conflict it runs again on a new
    /// snapshot, at most [`DEFAULT_RETRIES`](crate::DEFAULT_RETRIES) more
    /// times, then the conflict is returned. If `body` returns an error nothing
    /// is committed and the error is returned; if it panics nothing is
    /// committed and the panic goes on. Returns what `body` returned.
    pub fn transaction<R, E>(
        &self,
        body: impl FnMut(&Transaction<'_>) -> std::result::Result<R, E>,
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
        mut body: impl FnMut(&Transaction<'_>) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E>
    where
        E: From<Error>,
    {
        run(options, || self.begin(), |tx| body(tx))
    }

    /// Every store and collection as it was at one moment (no commit half
    /// seen), to read at leisure. O(number of stores).
    pub fn snapshot(&self) -> DbSnapshot {
        self.snapshot_then(|_| ()).0
    }

    /// A snapshot, and what `then` does with the sequence number it reflects
    /// while no commit can start publishing.
    fn snapshot_then<R>(&self, then: impl FnOnce(u64) -> R) -> (DbSnapshot, R) {
        let (cut, seq, then) = self.cut_then(then);
        (DbSnapshot { cut, seq }, then)
    }

    /// A subscription to every commit of the database from now on, any of its
    /// stores and collections, in commit order (sequence numbers with no
    /// gaps), a transaction as one change set. Holds at most
    /// [`DEFAULT_BUFFER`](crate::DEFAULT_BUFFER) unread.
    ///
    /// ```
    /// use docstore_core::{Db, Event};
    /// use serde_json::json;
    ///
    /// let db = Db::new();
    /// let a = db.store("a")?;
    /// let b = db.store("b")?;
    /// let changes = db.subscribe();
    /// db.transaction(|tx| {
    ///     tx.store(&a).insert(json!({"n": 1}))?;
    ///     tx.store(&b).insert(json!({"n": 2}))
    /// })?;
    /// let Some(Event::Changes(set)) = changes.try_recv()? else { panic!() };
    /// assert_eq!(set.stores(), 2);
    /// assert_eq!(set.store(&a).map(|a| a.changes().len()), Some(1));
    /// # Ok::<(), docstore_core::Error>(())
    /// ```
    pub fn subscribe(&self) -> Subscription<DbChangeSet> {
        self.subscribe_with_capacity(DEFAULT_BUFFER)
    }

    /// [`subscribe`](Self::subscribe), holding at most `capacity` change sets
    /// unread before it lags.
    pub fn subscribe_with_capacity(&self, capacity: usize) -> Subscription<DbChangeSet> {
        self.clock
            .cut(|seq| self.clock.feed.subscribe(seq, capacity))
    }

    /// A snapshot of the whole database and a subscription that starts exactly
    /// after it.
    pub fn snapshot_and_subscribe(&self) -> (DbSnapshot, Subscription<DbChangeSet>) {
        self.snapshot_then(|seq| self.clock.feed.subscribe(seq, DEFAULT_BUFFER))
    }
}

impl Default for Db {
    fn default() -> Self {
        Db::new()
    }
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db").field("names", &self.names()).finish()
    }
}

/// Every store and collection of a [`Db`] at one moment: see [`Db::snapshot`].
///
/// ```
/// use docstore_core::Db;
/// use serde_json::json;
///
/// let db = Db::new();
/// let a = db.store("a")?;
/// let b = db.store("b")?;
/// db.transaction(|tx| {
///     tx.store(&a).insert(json!({"n": 1}))?;
///     tx.store(&b).insert(json!({"n": 1}))
/// })?;
/// let snapshot = db.snapshot();
/// assert_eq!(snapshot.store(&a)?.len() + snapshot.store(&b)?.len(), 2);
/// assert_eq!(snapshot.seq(), 1);
/// # Ok::<(), docstore_core::Error>(())
/// ```
pub struct DbSnapshot {
    cut: Vec<CutEntry>,
    seq: u64,
}

impl DbSnapshot {
    /// The sequence number of the last commit it reflects: every commit of
    /// the database numbered up to this one shows in it, none after. Every
    /// write, a single-document one or a whole transaction, is one commit.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    fn find<D: Send + Sync + 'static>(&self, address: usize) -> Result<Snapshot<D>> {
        let entry = self
            .cut
            .iter()
            .find(|entry| entry.address == address)
            .ok_or(Error::ForeignStore)?;
        let state = entry.state.as_ref().map_err(Clone::clone)?;
        state
            .downcast_ref()
            .map(|state| Snapshot::new(Arc::clone(state)))
            .ok_or(Error::ForeignStore)
    }

    /// The store as it was. Fails with [`Error::ForeignStore`] if it is not one
    /// of the database's (or was added after the snapshot).
    pub fn store(&self, store: &Store) -> Result<Snapshot<Object>> {
        self.find(store.engine().address())
    }

    /// The collection as it was.
    pub fn collection<T: Indexed>(&self, collection: &Collection<T>) -> Result<Snapshot<T>> {
        self.find(collection.engine().address())
    }
}

impl fmt::Debug for DbSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbSnapshot")
            .field("seq", &self.seq)
            .field("stores", &self.cut.len())
            .finish()
    }
}

/// The member named `name` among `entries`, as an `H`; fails with
/// [`Error::WrongType`] if it holds another type.
fn named<H>(entries: &[Entry], name: &str) -> Option<Result<Arc<H>>>
where
    H: Holds + Send + Sync + 'static,
{
    entries
        .iter()
        .find(|entry| &*entry.name == name)
        .map(|entry| {
            Arc::clone(&entry.handle)
                .downcast::<H>()
                .map_err(|_| Error::WrongType {
                    name: name.to_owned(),
                    holds: entry.kind.to_owned(),
                    asked: type_name::<H>().to_owned(),
                })
        })
}

/// A store or collection, as the database reaches its engine.
pub(crate) trait Holds {
    type Doc: Send + Sync + 'static;
    fn engine_of(&self) -> &Engine<Self::Doc>;
    /// What it is, in an error's words.
    fn kind() -> String;
}

impl Holds for Store {
    type Doc = Object;
    fn kind() -> String {
        "schemaless store".to_owned()
    }
    fn engine_of(&self) -> &Engine<Object> {
        self.engine()
    }
}

impl<T: Indexed> Holds for Collection<T> {
    type Doc = T;
    fn kind() -> String {
        format!("collection of {}", type_name::<T>())
    }
    fn engine_of(&self) -> &Engine<T> {
        self.engine()
    }
}

/// Removes what is past its deadline in every store, before a cut. Expiry
/// commits, so it cannot run while a cut stops commits; a store that fails
/// here (closed) says so through its cut entry.
fn expire_due(entries: &[Entry]) {
    for entry in entries {
        let _ = entry.member.expire_due();
    }
}

/// A store's entry in a cut, with the state taken of it.
fn cut_entry(entry: &Entry, state: Result<Box<dyn Any + Send + Sync>>) -> CutEntry {
    CutEntry {
        address: entry.member.address(),
        name: Some(Arc::clone(&entry.name)),
        state,
        member: Some(Arc::clone(&entry.member)),
    }
}

/// A handed-out store, kept alive by the database, as a commit reaches it.
struct Handle<H>(Arc<H>);

impl<H: Holds + Send + Sync> Member for Handle<H> {
    fn address(&self) -> usize {
        self.0.engine_of().address()
    }

    fn snapshot_any(&self) -> Result<Box<dyn Any + Send + Sync>> {
        self.0.engine_of().snapshot_any()
    }

    fn snapshot_now(&self) -> Option<Result<Box<dyn Any + Send + Sync>>> {
        self.0.engine_of().snapshot_now()
    }

    fn expire_due(&self) -> Result<()> {
        Member::expire_due(self.0.engine_of())
    }

    fn sequence(&self) -> &Sequence {
        Member::sequence(self.0.engine_of())
    }

    fn keep_to_capacity(&self) {
        Member::keep_to_capacity(self.0.engine_of());
    }

    fn lock<'s>(&'s self, part: &'s mut (dyn Any + Send)) -> Option<Box<dyn Locked<'s> + 's>> {
        self.0.engine_of().lock(part)
    }
}
