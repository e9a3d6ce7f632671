//! Typed collections: Rust structs stored as themselves, indexed by fields that
//! `#[derive(Indexed)]` declares, queried through handles the compiler checks.

use std::fmt;
use std::sync::Arc;

use crate::commit::{Clock, Sequence};
use crate::engine::Engine;
use crate::expiry;
use crate::feed::DEFAULT_BUFFER;
use crate::index::{IndexDef, IndexInfo, KeySink, KeySource};
use crate::key::{CompositeKey, KeyFor, KeyLeading, KeyPrefix, KeyRange};
use crate::query::{IndexRef, UniqueIndexRef};
use crate::watch::{self, Filter};
use crate::{
    ChangeSet, Cursor, Error, Id, Iter, Result, Snapshot, Subscription, Updated, Versioned,
};

/// A type that can live in a [`Collection`]: implemented by `#[derive(Indexed)]`,
/// which also makes one handle per index (`User::email`) for queries.
pub trait Indexed: Sized + Send + Sync + 'static {
    /// The indexes declared on the type.
    fn indexes() -> Vec<IndexSpec<Self>>;
}

/// One index of an [`Indexed`] type, as generated code declares it.
pub struct IndexSpec<T> {
    name: &'static str,
    fields: &'static [&'static str],
    unique: bool,
    multi_key: bool,
    covering: bool,
    own_key: bool,
    keys: fn(&T, &mut KeySink),
}

impl<T> IndexSpec<T> {
    /// An index named `name` over `fields`, whose keys `keys` writes.
    pub const fn new(
        name: &'static str,
        fields: &'static [&'static str],
        keys: fn(&T, &mut KeySink),
    ) -> Self {
        IndexSpec {
            name,
            fields,
            unique: false,
            multi_key: false,
            covering: false,
            own_key: false,
            keys,
        }
    }

    /// The index's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Makes the index unique.
    #[must_use]
    pub const fn unique(self) -> Self {
        IndexSpec {
            unique: true,
            ..self
        }
    }

    /// Marks the index as giving one key per element of a collection field.
    #[must_use]
    pub const fn multi_key(self) -> Self {
        IndexSpec {
            multi_key: true,
            ..self
        }
    }

    /// Makes the index the documents' own key (`#[key]`): unique, and fixed
    /// once a document is stored.
    #[must_use]
    pub const fn own_key(self) -> Self {
        IndexSpec {
            own_key: true,
            unique: true,
            ..self
        }
    }

    /// Makes the index covering: its entries hold their documents.
    #[must_use]
    pub const fn covering(self) -> Self {
        IndexSpec {
            covering: true,
            ..self
        }
    }
}

struct GeneratedKeys<T>(fn(&T, &mut KeySink));

impl<T> KeySource<T> for GeneratedKeys<T> {
    fn keys(&self, document: &T, sink: &mut KeySink) {
        (self.0)(document, sink);
    }
}

impl<T: Indexed> IndexSpec<T> {
    pub(crate) fn into_def(self) -> IndexDef<T> {
        IndexDef {
            arity: None,
            own_key: self.own_key,
            info: IndexInfo {
                name: self.name.to_owned(),
                fields: self.fields.iter().map(|f| (*f).to_owned()).collect(),
                unique: self.unique,
                multi_key: self.multi_key,
                covering: self.covering,
            },
            source: Box::new(GeneratedKeys(self.keys)),
        }
    }
}

/// A write that was refused, with the document it was given, so that nothing is lost.
///
/// Converts into [`Error`] with `?` where the document is not wanted back. It is
/// one pointer wide (the error and document are boxed), so `Result<_, Rejected<T>>`
/// stays small whatever the size of `T`.
///
/// It derefs to its [`Error`], so `matches!(*rejected, Error::UniqueViolation { .. })`
/// and `rejected.index() == User::email` work as on the error itself.
///
/// # Into your own error type
///
/// `?` applies one `From`, and Rust cannot let docstore write "every type that
/// converts from `Error` converts from `Rejected<T>`" for you (the impl would be
/// for a type parameter, which coherence forbids). Write it beside your
/// `From<docstore::Error>`; it is one line, and generic over `T`:
///
/// ```
/// use docstore::{Collection, Indexed, Rejected};
///
/// #[derive(Debug)]
/// enum AppError {
///     Store(docstore::Error),
/// }
///
/// impl From<docstore::Error> for AppError {
///     fn from(error: docstore::Error) -> Self {
///         AppError::Store(error)
///     }
/// }
///
/// impl<T> From<Rejected<T>> for AppError {
///     fn from(rejected: Rejected<T>) -> Self {
///         rejected.into_error().into()
///     }
/// }
///
/// #[derive(Indexed, Clone, Debug)]
/// struct User {
///     #[index(unique)]
///     email: String,
/// }
///
/// fn sign_up(users: &Collection<User>, email: &str) -> Result<docstore::Id, AppError> {
///     Ok(users.insert(User { email: email.into() })?)
/// }
///
/// let users = Collection::<User>::new();
/// sign_up(&users, "ada@example.com")?;
/// let again = sign_up(&users, "ada@example.com");
/// assert!(matches!(again, Err(AppError::Store(docstore::Error::UniqueViolation { .. }))));
/// # Ok::<(), AppError>(())
/// ```
///
/// Without that impl, `.map_err(Rejected::into_error)?` does the same at the call.
#[derive(Clone, PartialEq)]
pub struct Rejected<T> {
    inner: Box<(Error, T)>,
}

impl<T> Rejected<T> {
    /// Why the write was refused.
    pub fn error(&self) -> &Error {
        &self.inner.0
    }

    /// The document the write was given.
    pub fn document(&self) -> &T {
        &self.inner.1
    }

    /// The document, to try again with.
    pub fn into_document(self) -> T {
        self.inner.1
    }

    /// The error and the document.
    pub fn into_parts(self) -> (Error, T) {
        *self.inner
    }

    /// The error, by value, dropping the document.
    pub fn into_error(self) -> Error {
        self.inner.0
    }
}

/// A refused write reads as its error, so it can be matched and asked about
/// without unwrapping:
///
/// ```
/// use docstore::{Collection, Error, Indexed};
///
/// #[derive(Indexed, Clone, Debug)]
/// struct Customer {
///     #[index(unique)]
///     email: String,
/// }
///
/// let customers = Collection::<Customer>::new();
/// customers.insert(Customer { email: "ada@example.com".into() })?;
/// let refused = customers
///     .insert(Customer { email: "ada@example.com".into() })
///     .unwrap_err();
/// assert!(matches!(*refused, Error::UniqueViolation { .. }));
/// assert!(refused.index() == Customer::email);
/// match refused.into_error() {
///     Error::UniqueViolation { key, .. } => assert_eq!(key, "\"ada@example.com\""),
///     other => panic!("{other}"),
/// }
/// # Ok::<(), docstore::Error>(())
/// ```
impl<T> std::ops::Deref for Rejected<T> {
    type Target = Error;

    fn deref(&self) -> &Error {
        self.error()
    }
}

impl<T> fmt::Debug for Rejected<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejected")
            .field("error", self.error())
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for Rejected<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.error(), f)
    }
}

impl<T> std::error::Error for Rejected<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.error())
    }
}

impl<T> From<Rejected<T>> for Error {
    fn from(rejected: Rejected<T>) -> Error {
        rejected.inner.0
    }
}

pub(crate) fn rejected<T>(parts: (Error, T)) -> Rejected<T> {
    Rejected {
        inner: Box::new(parts),
    }
}

/// A typed collection: documents are values of `T`, stored as themselves (no
/// serialization), indexed as `T`'s `#[derive(Indexed)]` declares.
///
/// It offers everything a schemaless [`Store`](crate::Store) does (versions,
/// conditional and atomic updates, unique indexes, lookups, ranges, prefixes,
/// snapshots, cursors, clones, close) with queries that name an index by its
/// handle, so a wrong index or a wrong key type is a compile error.
///
/// ```
/// use docstore::{Collection, Indexed};
///
/// #[derive(Indexed, Clone, Debug)]
/// #[indexed(composite(by_city_age = (city, age)))]
/// struct User {
///     #[index(unique)]
///     email: String,
///     #[index]
///     city: String,
///     #[index]
///     age: u32,
///     name: String,
/// }
///
/// let users = Collection::<User>::new();
/// let ada = users.insert(User {
///     email: "ada@example.com".into(),
///     city: "London".into(),
///     age: 36,
///     name: "Ada".into(),
/// })?;
///
/// let found = users.get_unique(User::email, "ada@example.com")?.expect("present");
/// assert_eq!(found.id(), ada);
/// assert_eq!(users.range(User::age, 30..40)?.count(), 1);
/// assert_eq!(users.lookup(User::by_city_age, ("London", 36))?.count(), 1);
/// assert_eq!(users.prefix(User::by_city_age, ("London",))?.count(), 1);
/// # Ok::<(), docstore::Error>(())
/// ```
pub struct Collection<T: Indexed> {
    pub(crate) engine: Arc<Engine<T>>,
}

impl<T: Indexed> Collection<T> {
    /// An empty collection with `T`'s indexes.
    pub fn new() -> Self {
        let defs = T::indexes().into_iter().map(IndexSpec::into_def).collect();
        Collection {
            engine: Engine::with_indexes(defs).shared(),
        }
    }

    /// An empty collection of a database, with `T`'s indexes.
    pub(crate) fn in_db(clock: &Arc<Clock>) -> Self {
        let defs = T::indexes().into_iter().map(IndexSpec::into_def).collect();
        Collection {
            engine: Engine::with_indexes_in(defs, Sequence::Shared(Arc::clone(clock))).shared(),
        }
    }

    /// A collection around an engine made elsewhere (recovered from files).
    pub(crate) fn from_engine(engine: Engine<T>) -> Self {
        Collection {
            engine: engine.shared(),
        }
    }

    pub(crate) fn engine(&self) -> &Engine<T> {
        &self.engine
    }

    /// Stores a document and returns its new id. Its version is 1.
    ///
    /// Fails (handing the document back) with [`Error::UniqueViolation`] if it
    /// would share a key in a unique index, or [`Error::InvalidKey`] if an
    /// indexed float is NaN; nothing is stored.
    pub fn insert(&self, document: T) -> Result<Id, Rejected<T>> {
        self.engine
            .insert(document)
            .map(|stored| stored.id())
            .map_err(rejected)
    }

    /// [`insert`](Self::insert), with a deadline `ttl` from now: see
    /// [`expire_at`](Self::expire_at).
    pub fn insert_with_ttl(
        &self,
        document: T,
        ttl: std::time::Duration,
    ) -> Result<Id, Rejected<T>> {
        let deadline = self.engine.deadline_after(ttl);
        self.engine
            .insert_until(document, Some(deadline))
            .map(|stored| stored.id())
            .map_err(rejected)
    }

    /// Like [`new`](Self::new), with deadlines read against `clock` (a
    /// [`ManualClock`](crate::ManualClock) in tests) instead of the system clock.
    pub fn with_clock(clock: impl crate::Clock) -> Self {
        let defs = T::indexes().into_iter().map(IndexSpec::into_def).collect();
        Collection {
            engine: Engine::with_indexes(defs)
                .with_clock(Arc::new(clock))
                .shared(),
        }
    }

    /// Gives document `id` a deadline: from `when` on, no read returns it, and
    /// it is removed by a commit of its own, heard as
    /// [`Change::Expired`](crate::Change::Expired). Replaces any deadline it
    /// had; updates keep it. Fails with [`Error::NotFound`] if there is no
    /// such document.
    pub fn expire_at(&self, id: Id, when: std::time::SystemTime) -> Result<()> {
        self.engine.set_deadline(id, Some(expiry::at(when)))
    }

    /// Takes document `id`'s deadline off, if it has one.
    pub fn persist(&self, id: Id) -> Result<()> {
        self.engine.set_deadline(id, None)
    }

    /// Document `id`'s deadline, if it has one.
    pub fn deadline(&self, id: Id) -> Result<Option<std::time::SystemTime>> {
        Ok(self.engine.deadline(id)?.map(expiry::when))
    }

    /// Removes every document past its deadline now, each by a commit of its
    /// own; returns how many. Reads and writes do this by themselves first, so
    /// this is needed only to free memory (or tell subscribers) when the store
    /// is otherwise idle. Costs in proportion to what expires.
    pub fn sweep(&self) -> Result<usize> {
        self.engine.sweep()
    }

    /// How expired documents are removed when nothing else touches the
    /// collection: see [`Store::set_sweeping`](crate::Store::set_sweeping).
    pub fn set_sweeping(&self, sweeping: crate::Sweeping) {
        self.engine.set_sweeping(sweeping);
    }

    /// Stores a document under an id the caller chose; its version is 1.
    ///
    /// Fails (handing the document back) with [`Error::IdTaken`] if a document
    /// already has `id` (or `id` is [`Id::nil`]), and otherwise as
    /// [`insert`](Self::insert) does. Ids the collection makes afterwards never
    /// collide with given ones.
    pub fn insert_with_id(&self, id: Id, document: T) -> Result<(), Rejected<T>> {
        self.engine
            .insert_as(Some((id, 1)), document)
            .map(drop)
            .map_err(rejected)
    }

    /// The document with this id, as it is now. O(log n).
    pub fn get(&self, id: Id) -> Result<Versioned<T>> {
        self.engine.get(id)
    }

    /// Whether a document has this id.
    pub fn contains(&self, id: Id) -> Result<bool> {
        self.engine.contains(id)
    }

    /// Replaces a document whole and returns its new version. Every unique index
    /// is checked before anything changes; a refused write hands the document back.
    pub fn update(&self, id: Id, document: T) -> Result<u64, Rejected<T>> {
        self.engine
            .replace(id, None, document)
            .map(|stored| stored.version())
            .map_err(rejected)
    }

    /// Replaces a document only if its version is still `expected`
    /// (compare-and-set); returns its new version.
    pub fn update_if(&self, id: Id, expected: u64, document: T) -> Result<u64, Rejected<T>> {
        self.engine
            .replace(id, Some(expected), document)
            .map(|stored| stored.version())
            .map_err(rejected)
    }

    /// Atomic read-modify-write: `change` gets the current document and returns
    /// its replacement, stored only if nobody wrote in between (otherwise
    /// `change` runs again on the newer version). Indexes follow the changed
    /// fields. `change` runs outside every lock; if it panics, nothing changes.
    pub fn update_with(&self, id: Id, mut change: impl FnMut(&T) -> T) -> Result<Versioned<T>> {
        self.try_update_with(id, |current| Some(change(current)))
            .map(Updated::into_document)
    }

    /// Read-modify-write that may decline: like [`update_with`](Self::update_with),
    /// but `change` returns `None` to leave the document as it is (no new version).
    /// Says which happened: [`Updated::Changed`] with the stored document, or
    /// [`Updated::Declined`] with the document `change` last saw.
    pub fn try_update_with(
        &self,
        id: Id,
        mut change: impl FnMut(&T) -> Option<T>,
    ) -> Result<Updated<T>> {
        self.engine
            .update_with(id, |current| Ok(change(current.value())))
    }

    /// Atomic in-place edit: `edit` changes the document through `&mut T`, and
    /// the result is stored as one step, with the retry rules of
    /// [`update_with`](Self::update_with): `edit` runs on a copy of the current
    /// version (so `T: Clone`), outside every lock, again if another write came
    /// first. Returns the stored document. If `edit` panics, nothing changes.
    ///
    /// ```
    /// use docstore::{Collection, Indexed};
    ///
    /// #[derive(Indexed, Clone, Debug, PartialEq)]
    /// struct Order {
    ///     #[index]
    ///     status: String,
    ///     total: u32,
    /// }
    ///
    /// let orders = Collection::<Order>::new();
    /// let id = orders
    ///     .insert(Order { status: "new".into(), total: 30 })
    ///     .map_err(docstore::Error::from)?;
    /// let paid = orders.modify(id, |order| order.status = "paid".into())?;
    /// assert_eq!(paid.version(), 2);
    /// assert_eq!(orders.lookup(Order::status, "paid")?.count(), 1);
    /// # Ok::<(), docstore::Error>(())
    /// ```
    pub fn modify(&self, id: Id, mut edit: impl FnMut(&mut T)) -> Result<Versioned<T>>
    where
        T: Clone,
    {
        self.update_with(id, |current| {
            let mut next = current.clone();
            edit(&mut next);
            next
        })
    }

    /// Deletes a document and returns it as it was.
    pub fn delete(&self, id: Id) -> Result<Versioned<T>> {
        self.engine.delete(id, None)
    }

    /// Deletes a document only if its version is still `expected`.
    pub fn delete_if(&self, id: Id, expected: u64) -> Result<Versioned<T>> {
        self.engine.delete(id, Some(expected))
    }

    /// How many documents the collection holds.
    pub fn len(&self) -> Result<usize> {
        self.engine.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> Result<bool> {
        self.len().map(|len| len == 0)
    }

    /// The indexes `T` declares.
    pub fn indexes(&self) -> Result<Vec<IndexInfo>> {
        Ok(self.snapshot()?.indexes())
    }

    /// A subscription to every change set committed to this store from now
    /// on, in commit order, holding at most [`DEFAULT_BUFFER`] unread. See
    /// [`Subscription`].
    pub fn subscribe(&self) -> Result<Subscription<ChangeSet<T>>> {
        self.subscribe_with_capacity(DEFAULT_BUFFER)
    }

    /// [`subscribe`](Self::subscribe), holding at most `capacity` change sets
    /// unread before it lags ([`Event::Lagged`](crate::Event::Lagged)).
    pub fn subscribe_with_capacity(&self, capacity: usize) -> Result<Subscription<ChangeSet<T>>> {
        let (_, subscription) = self.engine.subscribe_with(capacity, |_| Ok(Filter::All))?;
        Ok(subscription)
    }

    /// A snapshot and a subscription that starts exactly after it: every
    /// change set committed after the snapshot, none that it already holds.
    /// What a replica or a derived view starts from.
    pub fn snapshot_and_subscribe(&self) -> Result<(Snapshot<T>, Subscription<ChangeSet<T>>)> {
        let (state, subscription) = self
            .engine
            .subscribe_with(DEFAULT_BUFFER, |_| Ok(Filter::All))?;
        Ok((Snapshot::new(state), subscription))
    }

    /// Starts `subscription` again, after a lag say: replaces it with one
    /// aligned with the snapshot returned, keeping its capacity.
    pub fn resync(&self, subscription: &mut Subscription<ChangeSet<T>>) -> Result<Snapshot<T>> {
        let (state, fresh) = self
            .engine
            .subscribe_with(subscription.capacity(), |_| Ok(Filter::All))?;
        *subscription = fresh;
        Ok(Snapshot::new(state))
    }

    /// A subscription to the change sets that change the result of
    /// `lookup(index, key)`: a document gaining, losing or keeping that key.
    /// Silent for every other write.
    pub fn watch<I: IndexRef<T>>(
        &self,
        index: I,
        key: impl KeyFor<I::Key>,
    ) -> Result<Subscription<ChangeSet<T>>> {
        let (_, subscription) = self.engine.subscribe_with(DEFAULT_BUFFER, |state| {
            watch::key_filter(state, index.index_name(), |out| key.write_key_for(out))
        })?;
        Ok(subscription)
    }

    /// A subscription to the change sets that change the result of
    /// `range(index, range)`.
    pub fn watch_range<I: IndexRef<T>>(
        &self,
        index: I,
        range: impl KeyRange<I::Key>,
    ) -> Result<Subscription<ChangeSet<T>>> {
        let (_, subscription) = self.engine.subscribe_with(DEFAULT_BUFFER, |state| {
            watch::range_filter(state, index.index_name(), |start, end| {
                range.write_bounds(start, end)
            })
        })?;
        Ok(subscription)
    }

    /// A point-in-time view of the whole collection. O(1).
    pub fn snapshot(&self) -> Result<Snapshot<T>> {
        self.engine.snapshot_as_of().map(Snapshot::current)
    }

    /// Every document, in id order (insertion order), as of now.
    pub fn iter(&self) -> Result<Iter<T>> {
        Ok(self.snapshot()?.iter())
    }

    /// A cursor over every document, in id order, as of now.
    pub fn cursor(&self) -> Result<Cursor<T>> {
        Ok(self.snapshot()?.cursor())
    }

    /// The documents whose key in `index` is `key`, in id order. `key` is the
    /// index's key type or a borrowed form of it (`&str` for `String`; a tuple
    /// for a composite index).
    pub fn lookup<I: IndexRef<T>>(&self, index: I, key: impl KeyFor<I::Key>) -> Result<Iter<T>> {
        self.engine
            .lookup(index.index_name(), |out| key.write_key_for(out))
    }

    /// The one document whose key in a unique index is `key`, if any. Compiles
    /// only for an index declared `#[index(unique)]`.
    pub fn get_unique<I: UniqueIndexRef<T>>(
        &self,
        index: I,
        key: impl KeyFor<I::Key>,
    ) -> Result<Option<Versioned<T>>> {
        let found = self
            .engine
            .get_unique(index.index_name(), |out| key.write_key_for(out))?;
        found.iter().for_each(|found| self.engine.note_use(found));
        Ok(found)
    }

    /// The documents whose key in `index` lies in `range` (any Rust range form),
    /// in key order, ties in id order. An inverted range is empty.
    pub fn range<I: IndexRef<T>>(&self, index: I, range: impl KeyRange<I::Key>) -> Result<Iter<T>> {
        self.snapshot()?.range(index, range)
    }

    /// The documents whose key in a composite `index` starts with the leading
    /// fields in `prefix` (a tuple: `("Paris",)`), in key order.
    pub fn prefix<I: IndexRef<T, Key: CompositeKey>>(
        &self,
        index: I,
        prefix: impl KeyPrefix<I::Key>,
    ) -> Result<Iter<T>> {
        self.snapshot()?.prefix(index, prefix)
    }

    /// The documents of a composite `index` whose leading fields are `leading`
    /// (a tuple of fewer fields than the index has) and whose next field lies
    /// in `range`: "paid orders before t" is
    /// `range_within(Order::by_status_at, (Status::Paid,), ..t)`. See
    /// [`Snapshot::range_within`].
    pub fn range_within<I: IndexRef<T, Key: CompositeKey>, L: KeyLeading<I::Key>>(
        &self,
        index: I,
        leading: L,
        range: impl KeyRange<L::Next>,
    ) -> Result<Iter<T>> {
        self.snapshot()?.range_within(index, leading, range)
    }

    /// Every document in `index`, in key order.
    pub fn by_index<I: IndexRef<T>>(&self, index: I) -> Result<Iter<T>> {
        self.snapshot()?.by_index(index)
    }

    /// The documents of `index` after the one with key `key` and id `id`: the
    /// next page, for keyset pagination. See [`Snapshot::after`].
    pub fn after<I: IndexRef<T>>(
        &self,
        index: I,
        key: impl KeyFor<I::Key>,
        id: Id,
    ) -> Result<Iter<T>> {
        self.snapshot()?.after(index, key, id)
    }

    /// The documents of `index` in `range` after the one with key `key` and id
    /// `id`: the next page of a range. See [`Snapshot::range_after`].
    pub fn range_after<I: IndexRef<T>>(
        &self,
        index: I,
        range: impl KeyRange<I::Key>,
        key: impl KeyFor<I::Key>,
        id: Id,
    ) -> Result<Iter<T>> {
        self.snapshot()?.range_after(index, range, key, id)
    }

    /// An independent collection with only the documents `keep` accepts, with
    /// their ids and versions. `keep` runs on a snapshot, outside every lock.
    /// A collection with a capacity gives its copy the same, with the pins,
    /// use and weights of the documents kept.
    pub fn clone_filtered(&self, keep: impl FnMut(&Versioned<T>) -> bool) -> Result<Self> {
        Ok(Collection {
            engine: self.engine.filtered(keep)?.shared(),
        })
    }

    /// Closes the collection: every later operation fails with [`Error::Closed`].
    /// Idempotent.
    pub fn close(&self) {
        self.engine.close();
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.engine.is_closed()
    }

    /// Checks integrity: rebuilds every index from the documents and compares.
    /// Returns each problem found; empty means sound.
    pub fn verify(&self) -> Result<Vec<String>> {
        self.engine.verify()
    }
}

impl<T: Indexed> Default for Collection<T> {
    fn default() -> Self {
        Collection::new()
    }
}

/// An independent collection with the same documents, ids, versions and
/// indexes; O(1), sharing data until either side writes. A collection with a
/// capacity gives its copy the same capacity, pins and record of use and
/// weight, as [`Store`](crate::Store)'s `Clone` does (O(n) then).
impl<T: Indexed> Clone for Collection<T> {
    fn clone(&self) -> Self {
        Collection {
            engine: self.engine.duplicate().shared(),
        }
    }
}

impl<T: Indexed> fmt::Debug for Collection<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("Collection");
        match self.snapshot() {
            Ok(snapshot) => out.field("len", &snapshot.len()),
            Err(_) => out.field("closed", &true),
        };
        out.finish()
    }
}
