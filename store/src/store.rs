//! The schemaless store: JSON documents in, indexed by field paths chosen at run time.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::commit::Clock;
use crate::engine::Engine;
use crate::expiry;
use crate::feed::DEFAULT_BUFFER;
use crate::index::{IndexOptions, field_index};
use crate::key::{JsonKey, KeyFor, KeyLeading, KeyPrefix, KeyRange};
use crate::query::{IndexRef, UniqueIndexRef};
use crate::value::Object;
use crate::watch::{self, Filter};
use crate::{
    ChangeSet, Cursor, Error, Id, IndexInfo, Iter, Result, Snapshot, Subscription, Updated,
    Versioned,
};

/// A stored schemaless document: an [`Object`] with its id and version.
pub type Document = Versioned<Object>;

/// A document equals the JSON it was written as.
impl PartialEq<Value> for Document {
    fn eq(&self, other: &Value) -> bool {
        self.value() == other
    }
}

/// An in-memory store of schemaless JSON documents with secondary indexes.
///
/// Documents go in as `serde_json::Value` objects and come out as [`Document`]s:
/// shared, immutable handles that read like the JSON (`doc.get("age")`),
/// serialize to it, and compare equal to it. Inside, documents are kept in a
/// compact form, several times smaller than `serde_json`'s maps.
///
/// Every operation takes `&self`; share a store between threads with an `Arc`.
/// Reads never wait for each other, and scans, wide queries, cursors and
/// snapshots read a point-in-time view without holding writers back. See the
/// crate documentation for the guarantees.
///
/// ```
/// use docstore_core::Store;
/// use serde_json::json;
///
/// let store = Store::new();
/// store.create_index("by_city", ["city"])?;
/// let id = store.insert(json!({"name": "Ada", "city": "London"}))?;
///
/// let ada = store.get(id)?;
/// assert_eq!(ada.version(), 1);
/// assert_eq!(ada.get("name").and_then(|v| v.as_str()), Some("Ada"));
/// assert_eq!(*ada, json!({"name": "Ada", "city": "London"}));
///
/// let londoners: Vec<_> = store.lookup("by_city", "London")?.map(|d| d.id()).collect();
/// assert_eq!(londoners, [id]);
/// # Ok::<(), docstore_core::Error>(())
/// ```
pub struct Store {
    pub(crate) engine: Arc<Engine<Object>>,
}

#[diagnostic::do_not_recommend]
impl IndexRef<Object> for &str {
    type Key = JsonKey;

    fn index_name(&self) -> &str {
        self
    }
}

#[diagnostic::do_not_recommend]
impl UniqueIndexRef<Object> for &str {}

#[diagnostic::do_not_recommend]
impl IndexRef<Object> for &String {
    type Key = JsonKey;

    fn index_name(&self) -> &str {
        self
    }
}

#[diagnostic::do_not_recommend]
impl UniqueIndexRef<Object> for &String {}

pub(crate) fn to_object(document: Value) -> Result<Object> {
    Object::from_value(document).map_err(|invalid| Error::InvalidDocument {
        reason: invalid.reason().to_owned(),
    })
}

impl Store {
    /// An empty store with no indexes.
    pub fn new() -> Store {
        Store {
            engine: Engine::new().shared(),
        }
    }

    /// An empty store of a database.
    pub(crate) fn in_db(clock: &Arc<Clock>) -> Store {
        Store {
            engine: Engine::in_db(clock).shared(),
        }
    }

    /// A store around an engine made elsewhere (recovered from files).
    pub(crate) fn from_engine(engine: Engine<Object>) -> Store {
        Store {
            engine: engine.shared(),
        }
    }

    pub(crate) fn engine(&self) -> &Engine<Object> {
        &self.engine
    }

    /// Stores a document (a JSON object) and returns its new id. Its version is 1.
    ///
    /// Fails with [`Error::InvalidDocument`] if `document` is not an object (or
    /// nests deeper than [`MAX_DEPTH`](crate::MAX_DEPTH)), with
    /// [`Error::UniqueViolation`] if it would share a key in a unique index; in
    /// both cases nothing is stored. O(log n) per index.
    pub fn insert(&self, document: Value) -> Result<Id> {
        self.engine.check_open()?;
        self.insert_object(to_object(document)?)
    }

    /// [`insert`](Self::insert), with a deadline `ttl` from now: see
    /// [`expire_at`](Self::expire_at).
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use docstore_core::{ManualClock, Store};
    /// use serde_json::json;
    ///
    /// let clock = ManualClock::new(UNIX_EPOCH);
    /// let store = Store::with_clock(clock.clone());
    /// let id = store.insert_with_ttl(json!({"session": "abc"}), Duration::from_secs(60))?;
    /// assert!(store.contains(id)?);
    /// clock.advance(Duration::from_secs(60));
    /// assert!(!store.contains(id)?);
    /// assert_eq!(store.len()?, 0);
    /// # Ok::<(), docstore_core::Error>(())
    /// ```
    pub fn insert_with_ttl(&self, document: Value, ttl: std::time::Duration) -> Result<Id> {
        self.engine.check_open()?;
        let document = to_object(document)?;
        let deadline = self.engine.deadline_after(ttl);
        self.engine
            .insert_until(document, Some(deadline))
            .map(|stored| stored.id())
            .map_err(|(error, _)| error)
    }

    /// Like [`new`](Self::new), with deadlines read against `clock` (a
    /// [`ManualClock`](crate::ManualClock) in tests) instead of the system clock.
    pub fn with_clock(clock: impl crate::Clock) -> Self {
        Store {
            engine: Engine::new().with_clock(Arc::new(clock)).shared(),
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

    /// How expired documents are removed when nothing else touches the store:
    /// by a background thread (the default) or only by reads, writes and
    /// [`sweep`](Self::sweep). See [`Sweeping`](crate::Sweeping).
    pub fn set_sweeping(&self, sweeping: crate::Sweeping) {
        self.engine.set_sweeping(sweeping);
    }

    /// Stores a document already in compact form.
    pub fn insert_object(&self, document: Object) -> Result<Id> {
        self.engine
            .insert(document)
            .map(|stored| stored.id())
            .map_err(|(error, _)| error)
    }

    /// Stores a document under an id the caller chose (the primary key of the
    /// database this store caches, say). Its version is 1.
    ///
    /// Fails with [`Error::IdTaken`] if a document already has `id` (or `id` is
    /// [`Id::nil`]), and otherwise as [`insert`](Self::insert) does; nothing is
    /// stored. Ids the store makes afterwards never collide with given ones.
    /// Any UUID will do, but only v7 ids keep iteration in insertion order.
    ///
    /// ```
    /// use docstore_core::{Error, Id, Store};
    /// use serde_json::json;
    ///
    /// let store = Store::new();
    /// let id: Id = "0190a6e2-8f3b-7c4d-9e5f-0123456789ab".parse().expect("a UUID");
    /// store.insert_with_id(id, json!({"name": "Ada"}))?;
    /// assert_eq!(*store.get(id)?, json!({"name": "Ada"}));
    /// assert_eq!(
    ///     store.insert_with_id(id, json!({"name": "Bob"})),
    ///     Err(Error::IdTaken { id })
    /// );
    /// # Ok::<(), docstore_core::Error>(())
    /// ```
    pub fn insert_with_id(&self, id: Id, document: Value) -> Result<()> {
        self.engine.check_open()?;
        self.engine
            .insert_as(Some((id, 1)), to_object(document)?)
            .map(drop)
            .map_err(|(error, _)| error)
    }

    /// The document with this id, as it is now. O(log n).
    pub fn get(&self, id: Id) -> Result<Document> {
        self.engine.get(id)
    }

    /// Whether a document has this id.
    pub fn contains(&self, id: Id) -> Result<bool> {
        self.engine.contains(id)
    }

    /// Replaces a document whole and returns its new version.
    ///
    /// Fails with [`Error::NotFound`], [`Error::InvalidDocument`] or
    /// [`Error::UniqueViolation`], changing nothing.
    pub fn update(&self, id: Id, document: Value) -> Result<u64> {
        self.engine.check_open()?;
        self.write(id, None, to_object(document)?)
    }

    /// Replaces a document only if its version is still `expected`
    /// (compare-and-set); returns its new version.
    ///
    /// Fails with [`Error::VersionConflict`] naming both versions, changing
    /// nothing, if another write came first.
    ///
    /// ```
    /// use docstore_core::{Error, Store};
    /// use serde_json::json;
    ///
    /// let store = Store::new();
    /// let id = store.insert(json!({"stock": 5}))?;
    /// assert_eq!(store.update_if(id, 1, json!({"stock": 4}))?, 2);
    /// let stale = store.update_if(id, 1, json!({"stock": 3}));
    /// assert_eq!(stale, Err(Error::VersionConflict { id, expected: 1, actual: 2 }));
    /// # Ok::<(), docstore_core::Error>(())
    /// ```
    pub fn update_if(&self, id: Id, expected: u64, document: Value) -> Result<u64> {
        self.engine.check_open()?;
        self.write(id, Some(expected), to_object(document)?)
    }

    fn write(&self, id: Id, expected: Option<u64>, document: Object) -> Result<u64> {
        self.engine
            .replace(id, expected, document)
            .map(|stored| stored.version())
            .map_err(|(error, _)| error)
    }

    /// Atomic read-modify-write: `change` gets the current document and returns
    /// its replacement, which is stored only if nobody wrote in between; otherwise
    /// `change` runs again on the newer version. Returns the stored document.
    ///
    /// `change` runs outside every lock: it may be slow, and if it panics the
    /// store is left as it was. It may run more than once, so it should not have
    /// side effects.
    ///
    /// ```
    /// use docstore_core::Store;
    /// use serde_json::json;
    ///
    /// let store = Store::new();
    /// let id = store.insert(json!({"hits": 0}))?;
    /// std::thread::scope(|s| {
    ///     for _ in 0..8 {
    ///         s.spawn(|| {
    ///             store.update_with(id, |doc| {
    ///                 let hits = doc.get("hits").and_then(|v| v.as_u64()).unwrap_or(0);
    ///                 json!({"hits": hits + 1})
    ///             })
    ///         });
    ///     }
    /// });
    /// assert_eq!(*store.get(id)?, json!({"hits": 8}));
    /// # Ok::<(), docstore_core::Error>(())
    /// ```
    pub fn update_with(
        &self,
        id: Id,
        mut change: impl FnMut(&Document) -> Value,
    ) -> Result<Document> {
        self.try_update_with(id, |current| Some(change(current)))
            .map(Updated::into_document)
    }

    /// Read-modify-write that may decline: like [`update_with`](Self::update_with),
    /// but `change` returns `None` to leave the document as it is (no new version),
    /// as `AtomicUsize::fetch_update` does. Says which happened: see [`Updated`].
    ///
    /// ```
    /// use docstore_core::{Document, Store};
    /// use serde_json::json;
    ///
    /// let store = Store::new();
    /// let id = store.insert(json!({"stock": 1}))?;
    /// let take_one = |doc: &Document| {
    ///     let stock = doc.get("stock")?.as_u64()?;
    ///     (stock > 0).then(|| json!({"stock": stock - 1}))
    /// };
    /// assert!(store.try_update_with(id, take_one)?.is_changed());
    /// // Out of stock: declined, nothing written.
    /// let declined = store.try_update_with(id, take_one)?;
    /// assert!(declined.is_declined());
    /// assert_eq!(declined.document().version(), 2);
    /// # Ok::<(), docstore_core::Error>(())
    /// ```
    pub fn try_update_with(
        &self,
        id: Id,
        mut change: impl FnMut(&Document) -> Option<Value>,
    ) -> Result<Updated<Object>> {
        self.engine
            .update_with(id, |current| change(current).map(to_object).transpose())
    }

    /// Atomic in-place edit: `edit` changes the document as JSON, and the result
    /// is stored as one step, with the retry rules of
    /// [`update_with`](Self::update_with) (`edit` runs on a fresh copy of the
    /// current version each time, outside every lock). Returns the stored document.
    ///
    /// Fails with [`Error::InvalidDocument`] if `edit` leaves something other than
    /// an object, changing nothing.
    ///
    /// ```
    /// use docstore_core::Store;
    /// use serde_json::json;
    ///
    /// let store = Store::new();
    /// let id = store.insert(json!({"status": "new", "items": 2}))?;
    /// let paid = store.modify(id, |order| order["status"] = json!("paid"))?;
    /// assert_eq!(*paid, json!({"status": "paid", "items": 2}));
    /// assert_eq!(paid.version(), 2);
    /// # Ok::<(), docstore_core::Error>(())
    /// ```
    pub fn modify(&self, id: Id, mut edit: impl FnMut(&mut Value)) -> Result<Document> {
        self.engine
            .update_with(id, |current| {
                let mut value = current.value().to_value();
                edit(&mut value);
                to_object(value).map(Some)
            })
            .map(Updated::into_document)
    }

    /// Deletes a document and returns it as it was.
    pub fn delete(&self, id: Id) -> Result<Document> {
        self.engine.delete(id, None)
    }

    /// Deletes a document only if its version is still `expected`.
    pub fn delete_if(&self, id: Id, expected: u64) -> Result<Document> {
        self.engine.delete(id, Some(expected))
    }

    /// How many documents the store holds.
    pub fn len(&self) -> Result<usize> {
        self.engine.len()
    }

    /// Whether the store holds no documents.
    pub fn is_empty(&self) -> Result<bool> {
        self.len().map(|len| len == 0)
    }

    /// Creates an index over one or more fields and fills it from every document.
    ///
    /// A field is a dotted path into nested objects (`"address.zip"`; escape a
    /// dot that is part of a field's name as `\.`). A composite index (several
    /// fields) orders by the first field, then the second, and so on. A document
    /// lacking any of the fields, or holding null in one, is left out of the
    /// index until an update gives it the field.
    ///
    /// Fails with [`Error::IndexExists`], [`Error::EmptyIndex`] (no fields) or
    /// [`Error::InvalidIndex`] (a malformed path).
    ///
    /// Writers never wait for the filling: it reads a snapshot with no lock
    /// held, then catches up, in rounds and still without the lock, with the
    /// documents written meanwhile. Only the last round, once its backlog is
    /// small (or after 8 rounds under a write rate it cannot outrun), holds the
    /// writers' lock, so a write waits at most for one round's writes to be
    /// keyed. The call ends after at most 9 rounds, at any write rate.
    pub fn create_index<I, S>(&self, name: &str, fields: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.create_index_with(name, fields, IndexOptions::new())
    }

    /// Creates an index with [`IndexOptions`]: unique, multi-key.
    ///
    /// Creating a unique index over documents that already share a key fails with
    /// [`Error::UniqueViolation`] and leaves no index behind.
    pub fn create_index_with<I, S>(
        &self,
        name: &str,
        fields: I,
        options: IndexOptions,
    ) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.engine.check_open()?;
        self.engine
            .create_index(field_index(name, fields, options)?)
    }

    /// Drops an index. Fails with [`Error::IndexNotFound`].
    pub fn drop_index(&self, name: &str) -> Result<()> {
        self.engine.drop_index(name)
    }

    /// The indexes, in the order they were created.
    pub fn indexes(&self) -> Result<Vec<IndexInfo>> {
        Ok(self.snapshot()?.indexes())
    }

    /// A subscription to every change set committed to this store from now
    /// on, in commit order, holding at most [`DEFAULT_BUFFER`] unread. See
    /// [`Subscription`].
    pub fn subscribe(&self) -> Result<Subscription<ChangeSet<Object>>> {
        self.subscribe_with_capacity(DEFAULT_BUFFER)
    }

    /// [`subscribe`](Self::subscribe), holding at most `capacity` change sets
    /// unread before it lags ([`Event::Lagged`](crate::Event::Lagged)).
    pub fn subscribe_with_capacity(
        &self,
        capacity: usize,
    ) -> Result<Subscription<ChangeSet<Object>>> {
        let (_, subscription) = self.engine.subscribe_with(capacity, |_| Ok(Filter::All))?;
        Ok(subscription)
    }

    /// A snapshot and a subscription that starts exactly after it: every
    /// change set committed after the snapshot, none that it already holds.
    /// What a replica or a derived view starts from.
    pub fn snapshot_and_subscribe(
        &self,
    ) -> Result<(Snapshot<Object>, Subscription<ChangeSet<Object>>)> {
        let (state, subscription) = self
            .engine
            .subscribe_with(DEFAULT_BUFFER, |_| Ok(Filter::All))?;
        Ok((Snapshot::new(state), subscription))
    }

    /// Starts `subscription` again, after a lag say: replaces it with one
    /// aligned with the snapshot returned, keeping its capacity.
    pub fn resync(
        &self,
        subscription: &mut Subscription<ChangeSet<Object>>,
    ) -> Result<Snapshot<Object>> {
        let (state, fresh) = self
            .engine
            .subscribe_with(subscription.capacity(), |_| Ok(Filter::All))?;
        *subscription = fresh;
        Ok(Snapshot::new(state))
    }

    /// A subscription to the change sets that change the result of
    /// `lookup(index, key)`: a document gaining, losing or keeping that key.
    /// Silent for every other write.
    pub fn watch(
        &self,
        index: &str,
        key: impl KeyFor<JsonKey>,
    ) -> Result<Subscription<ChangeSet<Object>>> {
        let (_, subscription) = self.engine.subscribe_with(DEFAULT_BUFFER, |state| {
            watch::key_filter(state, index, |out| key.write_key_for(out))
        })?;
        Ok(subscription)
    }

    /// A subscription to the change sets that change the result of
    /// `range(index, range)`.
    pub fn watch_range(
        &self,
        index: &str,
        range: impl KeyRange<JsonKey>,
    ) -> Result<Subscription<ChangeSet<Object>>> {
        let (_, subscription) = self.engine.subscribe_with(DEFAULT_BUFFER, |state| {
            watch::range_filter(state, index, |start, end| range.write_bounds(start, end))
        })?;
        Ok(subscription)
    }

    /// A point-in-time view of the whole store, to read at leisure. O(1).
    pub fn snapshot(&self) -> Result<Snapshot<Object>> {
        self.engine.snapshot_as_of().map(Snapshot::current)
    }

    /// Every document, in id order (insertion order), as of now. See [`Iter`].
    pub fn iter(&self) -> Result<Iter<Object>> {
        Ok(self.snapshot()?.iter())
    }

    /// A cursor over every document, in id order, as of now. See [`Cursor`].
    pub fn cursor(&self) -> Result<Cursor<Object>> {
        Ok(self.snapshot()?.cursor())
    }

    /// The documents whose key in `index` is `key`, in id order.
    ///
    /// `key` is a JSON-like value (`"Paris"`, `30`, `json!(...)`), or for a
    /// composite index a tuple of them (`("Paris", 30)`) or, when the fields
    /// are chosen at run time, a `Vec`, slice or array of `serde_json::Value`,
    /// one per field. A JSON array value is one value (an array key), so on a
    /// composite index it is refused with [`Error::InvalidKey`] rather than
    /// matching nothing. Numbers match by value: `5` finds `5.0`.
    ///
    /// ```
    /// use docstore_core::Store;
    /// use serde_json::{Value, json};
    ///
    /// let store = Store::new();
    /// let fields = ["geo", "type"]; // say, from a configuration file
    /// store.create_index("by_geo_type", fields)?;
    /// let event = json!({"geo": "FR", "type": "purchase"});
    /// store.insert(event.clone())?;
    /// let key: Vec<Value> = fields.iter().map(|field| event[field].clone()).collect();
    /// assert_eq!(store.lookup("by_geo_type", &key)?.count(), 1);
    /// assert!(store.lookup("by_geo_type", json!(["FR", "purchase"])).is_err());
    /// # Ok::<(), docstore_core::Error>(())
    /// ```
    pub fn lookup(&self, index: &str, key: impl KeyFor<JsonKey>) -> Result<Iter<Object>> {
        self.engine.lookup(index, |out| key.write_key_for(out))
    }

    /// The one document whose key in the unique `index` is `key`, if any. Fails
    /// with [`Error::NotUnique`] if the index is not unique.
    pub fn get_unique(&self, index: &str, key: impl KeyFor<JsonKey>) -> Result<Option<Document>> {
        let found = self
            .engine
            .get_unique(index, |out| key.write_key_for(out))?;
        found.iter().for_each(|found| self.engine.note_use(found));
        Ok(found)
    }

    /// The documents whose key in `index` lies in `range`, in key order (ties in
    /// id order): `store.range("by_age", 18..30)`, `..=`, `a..`, `..b`, `..`.
    ///
    /// A range whose start is after its end is empty.
    ///
    /// ```
    /// use docstore_core::Store;
    /// use serde_json::json;
    ///
    /// let store = Store::new();
    /// store.create_index("by_age", ["age"])?;
    /// for age in [json!(15), json!(18), json!(25.5), json!(30), json!(42)] {
    ///     store.insert(json!({"age": age}))?;
    /// }
    /// let ages: Vec<f64> = store
    ///     .range("by_age", 18..30)?
    ///     .filter_map(|doc| doc.get("age")?.as_f64())
    ///     .collect();
    /// assert_eq!(ages, [18.0, 25.5]);
    /// assert_eq!(store.range("by_age", 30..18)?.count(), 0);
    /// # Ok::<(), docstore_core::Error>(())
    /// ```
    pub fn range(&self, index: &str, range: impl KeyRange<JsonKey>) -> Result<Iter<Object>> {
        self.snapshot()?.range(index, range)
    }

    /// The documents whose key in the composite `index` starts with `prefix`: a
    /// value for the first field, or a tuple (or a slice of `Value`s) of the
    /// first fields. A JSON array value is one value: on a composite index it
    /// is refused, see [`lookup`](Self::lookup).
    ///
    /// ```
    /// use docstore_core::Store;
    /// use serde_json::json;
    ///
    /// let store = Store::new();
    /// store.create_index("by_city_age", ["city", "age"])?;
    /// store.insert(json!({"city": "Paris", "age": 30}))?;
    /// store.insert(json!({"city": "Paris", "age": 20}))?;
    /// store.insert(json!({"city": "Rome", "age": 25}))?;
    /// let ages: Vec<u64> = store
    ///     .prefix("by_city_age", "Paris")?
    ///     .filter_map(|doc| doc.get("age")?.as_u64())
    ///     .collect();
    /// assert_eq!(ages, [20, 30]);
    /// # Ok::<(), docstore_core::Error>(())
    /// ```
    pub fn prefix(&self, index: &str, prefix: impl KeyPrefix<JsonKey>) -> Result<Iter<Object>> {
        self.snapshot()?.prefix(index, prefix)
    }

    /// The documents of the composite `index` whose leading fields are
    /// `leading` and whose next field lies in `range`: see
    /// [`Snapshot::range_within`]. `leading` is a value, a tuple or a slice of
    /// values for the leading fields.
    pub fn range_within(
        &self,
        index: &str,
        leading: impl KeyLeading<JsonKey, Next = JsonKey>,
        range: impl KeyRange<JsonKey>,
    ) -> Result<Iter<Object>> {
        self.snapshot()?.range_within(index, leading, range)
    }

    /// Every document in `index`, in key order.
    pub fn by_index(&self, index: &str) -> Result<Iter<Object>> {
        self.snapshot()?.by_index(index)
    }

    /// The documents of `index` after the one with key `key` and id `id`: the
    /// next page, for keyset pagination. See [`Snapshot::after`].
    pub fn after(&self, index: &str, key: impl KeyFor<JsonKey>, id: Id) -> Result<Iter<Object>> {
        self.snapshot()?.after(index, key, id)
    }

    /// The documents of `index` in `range` after the one with key `key` and id
    /// `id`: the next page of a range. See [`Snapshot::range_after`].
    pub fn range_after(
        &self,
        index: &str,
        range: impl KeyRange<JsonKey>,
        key: impl KeyFor<JsonKey>,
        id: Id,
    ) -> Result<Iter<Object>> {
        self.snapshot()?.range_after(index, range, key, id)
    }

    /// An independent store holding only the documents `keep` accepts, with
    /// their ids and versions, and the same indexes. `keep` runs on a snapshot,
    /// outside every lock; if it panics, this store is unaffected. A store with
    /// a capacity gives its copy the same (see [`Clone`](#impl-Clone-for-Store)).
    pub fn clone_filtered(&self, keep: impl FnMut(&Document) -> bool) -> Result<Store> {
        Ok(Store {
            engine: self.engine.filtered(keep)?.shared(),
        })
    }

    /// Closes the store: every later operation fails with [`Error::Closed`].
    /// Idempotent. Snapshots, iterators and cursors already taken stay readable.
    /// Dropping a store frees everything without closing it first.
    pub fn close(&self) {
        self.engine.close();
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.engine.is_closed()
    }

    /// Checks the store's integrity: rebuilds every index from the documents and
    /// compares, and checks every internal invariant. Returns a description of
    /// each problem found; empty means sound. O(n log n).
    pub fn verify(&self) -> Result<Vec<String>> {
        self.engine.verify()
    }

    #[doc(hidden)]
    #[cfg(feature = "testing")]
    pub fn corrupt_index_for_tests(&self, index: &str, id: Id) -> bool {
        self.engine.corrupt_index(index, id)
    }

    /// How many values the multi-key walks on this thread encoded and how many
    /// combinations they built since the last call: the work a document's keys
    /// cost, for tests to count.
    #[doc(hidden)]
    #[cfg(feature = "testing")]
    pub fn key_work_for_tests() -> u64 {
        crate::field_keys::work::take()
    }

    /// How many tree nodes the writes on this thread copied since the last
    /// call because a snapshot or an index build shared them: the extra work
    /// a write pays while one is alive, for tests to count.
    #[doc(hidden)]
    #[cfg(feature = "testing")]
    pub fn node_copies_for_tests() -> u64 {
        crate::tree::copies::take()
    }

    /// Runs `hook(round)` in every later index build of this store before each
    /// round of catching up with the writes made meanwhile (round 0 right after
    /// the build read its snapshot); no lock is held while it runs. Lets a test
    /// hold a build there, or write between its rounds.
    #[doc(hidden)]
    #[cfg(feature = "testing")]
    pub fn set_index_build_hook_for_tests(&self, hook: impl Fn(usize) + Send + Sync + 'static) {
        self.engine.set_build_hook(Some(std::sync::Arc::new(hook)));
    }

    #[doc(hidden)]
    #[cfg(feature = "testing")]
    pub fn stale_index_entries_for_tests(&self, index: &str, id: Id) -> bool {
        self.engine.stale_index_entries(index, id)
    }
}

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}

/// An independent store with the same documents, ids, versions and indexes.
/// O(1): the two share their data until either writes, and a write to one
/// never shows in the other. Cloning a closed store gives a closed store.
///
/// A store with a [capacity](Store::set_capacity) is a cache, and so is its
/// copy: it has the same capacity (limit, weigher and policy), the same pins,
/// and the same record of what was read and what each document weighs, so
/// that it evicts as the original would; copying that record costs O(n) in
/// the documents held. Eviction in either never shows in the other.
impl Clone for Store {
    fn clone(&self) -> Self {
        Store {
            engine: self.engine.duplicate().shared(),
        }
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("Store");
        match self.snapshot() {
            Ok(snapshot) => out
                .field("len", &snapshot.len())
                .field("indexes", &snapshot.indexes()),
            Err(_) => out.field("closed", &true),
        };
        out.finish()
    }
}
