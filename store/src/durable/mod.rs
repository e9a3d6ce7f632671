//! Durable databases: every commit logged before it is acknowledged,
//! checkpoints in the background, recovery on open.
//!
//! The pieces, each in its own file: `fs` (the one seam to the filesystem,
//! which tests replace to inject faults and power losses), `format` (headers,
//! checksums, varints), `wal` (log frames and the group fsync), `journal`
//! (what a store's commit step hands the log), `codec` (documents' stored
//! form), `checkpoint`, `recover`, `lock` (one process at a time) and
//! `options`.

mod checkpoint;
mod codec;
mod format;
mod fs;
mod journal;
mod lock;
mod options;
mod recover;
mod single;
mod wal;

use std::any::type_name;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::commit::{Clock, Sequence};
use crate::db::Holds;
use crate::engine::{Engine, State};
use crate::index::field_index;
use crate::txn::TxOptions;
use crate::value::Object;
use crate::{
    Collection, Db, DbSnapshot, Error, IndexOptions, Indexed, Result, Store, Transaction, Versioned,
};
use checkpoint::Captured;
use recover::StoreImage;
use wal::{Body, IndexImage, Kind};

#[cfg(feature = "testing")]
pub use fs::testing;
pub use fs::{Fs, FsFile, RealFs};
pub(crate) use journal::{Journal, Record};
pub use options::{DurableOptions, SyncPolicy};
pub use recover::{Cut, Recovery};
pub use single::Durable;
pub(crate) use wal::Log;

/// How often the checkpointer looks at the log's size.
const CHECKPOINT_POLL: Duration = Duration::from_millis(100);

/// A [`Db`] whose commits survive crashes: every commit is appended to a
/// write-ahead log in its directory before it is acknowledged, checkpoints
/// are written in the background, and opening the directory again recovers
/// every acknowledged commit. See the README's "Durability" section for what
/// each [`SyncPolicy`] promises.
///
/// ```
/// use docstore_core::{DurableDb, DurableOptions};
/// use serde_json::json;
///
/// # let dir = std::env::temp_dir().join(format!("docstore-doc-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let (db, _) = DurableDb::open(&dir, DurableOptions::new())?;
/// let events = db.store("events")?;
/// events.create_index("by_kind", ["kind"])?;
/// let id = events.insert(json!({"kind": "login"}))?;
/// drop((events, db));
///
/// let (db, recovery) = DurableDb::open(&dir, DurableOptions::new())?;
/// assert_eq!(recovery.last_seq, 3);
/// let events = db.store("events")?;
/// assert_eq!(events.get(id)?, json!({"kind": "login"}));
/// assert_eq!(events.lookup("by_kind", "login")?.count(), 1);
/// # drop((events, db));
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), docstore_core::Error>(())
/// ```
pub struct DurableDb {
    db: Db,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

/// What the database and its background threads share.
struct Shared {
    dir: PathBuf,
    fs: Arc<dyn Fs>,
    log: Arc<Log>,
    /// The database's commit order, for the cut a checkpoint writes.
    clock: Arc<Clock>,
    /// Stores the files hold that no one has asked for yet.
    unclaimed: Mutex<BTreeMap<String, Arc<(String, StoreImage)>>>,
    /// Every store handed out, as a checkpoint reaches it. Also serializes
    /// making stores against checkpoints.
    members: Mutex<Vec<Arc<dyn Member>>>,
    /// One checkpoint at a time.
    checkpointing: Mutex<()>,
    stop: Mutex<bool>,
    wake: Condvar,
}

impl DurableDb {
    /// Opens the database in `dir`, making the directory if it is missing and
    /// recovering its files if it has some; returns it with what recovery
    /// found and cut.
    ///
    /// Fails with [`Error::Locked`] if another open (in this process or
    /// another) holds the directory, [`Error::Corrupt`] (naming the file and
    /// offset) if a file is damaged where it was known to be on disk (unless
    /// [`DurableOptions::repair`] is set), [`Error::UnknownFormat`] for a file
    /// of another format version, [`Error::Io`] if the files cannot be read.
    pub fn open(dir: impl AsRef<Path>, options: DurableOptions) -> Result<(DurableDb, Recovery)> {
        let dir = dir.as_ref().to_path_buf();
        let fs = Arc::clone(&options.fs);
        fs.create_dir_all(&dir).map_err(|e| Error::Io {
            action: format!("making {}", fs::shown(&dir)),
            message: e.to_string(),
        })?;
        let lock = lock::lock(&*fs, &dir)?;
        let (image, recovery) = recover::recover(&*fs, &dir, options.repair)?;
        // The log numbers the database's commits: they go on from the last
        // one recovered.
        let db = Db::continuing(recovery.last_seq, options.clock.clone());
        let log = Arc::new(Log::start(
            Arc::clone(&fs),
            &dir,
            options.sync,
            (Arc::clone(db.clock()), recovery.last_seq),
            lock,
        )?);
        let unclaimed = image
            .stores
            .into_iter()
            .map(|(name, store)| (name.clone(), Arc::new((name, store))))
            .collect();
        let shared = Arc::new(Shared {
            dir,
            fs,
            log,
            clock: Arc::clone(db.clock()),
            unclaimed: Mutex::new(unclaimed),
            members: Mutex::new(Vec::new()),
            checkpointing: Mutex::new(()),
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        let mut threads = Vec::new();
        if let SyncPolicy::Interval(every) = options.sync {
            threads.push(background(&shared, every, |shared| {
                // A failed fsync refuses later writes; the commits learn it.
                let _ = shared.log.flush();
            })?);
        }
        if let Some(limit) = options.checkpoint_after {
            threads.push(background(&shared, CHECKPOINT_POLL, move |shared| {
                if shared.log.since_checkpoint() >= limit {
                    // A failed checkpoint leaves the log as it was; the next
                    // one tries again.
                    let _ = shared.checkpoint();
                }
            })?);
        }
        let db = DurableDb {
            db,
            shared,
            threads,
        };
        Ok((db, recovery))
    }

    /// The schemaless store named `name`: as the files hold it, or new and
    /// empty. Its documents and index definitions are stored.
    ///
    /// Fails with [`Error::WrongType`] if `name` is a typed collection.
    pub fn store(&self, name: &str) -> Result<Arc<Store>> {
        self.open_member(name, Kind::Schemaless, |image, journal, sequence| {
            let mut docs = Vec::with_capacity(image.docs.len());
            for (id, (version, bytes)) in &image.docs {
                let document = codec::decode_object(bytes).ok_or_else(|| Error::Corrupt {
                    file: fs::shown(&self.shared.dir),
                    offset: 0,
                    reason: format!("document {id} of store {name:?} is malformed"),
                })?;
                docs.push((*id, Versioned::new(*id, *version, document)));
            }
            let mut defs = Vec::with_capacity(image.indexes.len());
            for index in &image.indexes {
                let mut options = IndexOptions::new();
                if index.flags & 1 != 0 {
                    options = options.unique();
                }
                if index.flags & 2 != 0 {
                    options = options.multi_key();
                }
                if index.flags & 4 != 0 {
                    options = options.covering();
                }
                defs.push(field_index(&index.name, &index.fields, options)?);
            }
            let engine = Engine::restored(docs, defs, sequence, journal)?;
            engine.restore_deadlines(&image.deadlines);
            Ok(Store::from_engine(engine))
        })
    }

    /// The typed collection named `name` (a name you choose and keep: the
    /// type's Rust name is never stored): as the files hold it, or new and
    /// empty. Its indexes are built from `T`'s declarations, so changed
    /// declarations take effect on open.
    ///
    /// Fails with [`Error::WrongType`] if `name` holds another kind of
    /// document, [`Error::Undecodable`] naming the document whose stored form
    /// no longer deserializes into `T`.
    pub fn collection<T>(&self, name: &str) -> Result<Arc<Collection<T>>>
    where
        T: Indexed + Serialize + DeserializeOwned,
    {
        self.open_member(name, Kind::Typed, |image, journal, sequence| {
            let mut docs = Vec::with_capacity(image.docs.len());
            for (id, (version, bytes)) in &image.docs {
                let document = codec::decode_typed::<T>(name, *id, bytes)?;
                docs.push((*id, Versioned::new(*id, *version, document)));
            }
            let defs = T::indexes()
                .into_iter()
                .map(crate::IndexSpec::into_def)
                .collect();
            let engine = Engine::restored(docs, defs, sequence, journal)?;
            engine.restore_deadlines(&image.deadlines);
            Ok(Collection::from_engine(engine))
        })
    }

    fn open_member<H>(
        &self,
        name: &str,
        kind: Kind,
        make: impl FnOnce(&StoreImage, Journal<H::Doc>, Sequence) -> Result<H>,
    ) -> Result<Arc<H>>
    where
        H: Backed,
    {
        let mut members = self.shared.members.lock();
        if let Some(found) = self.db.find::<H>(name) {
            return found;
        }
        let journal = Journal::new(Arc::clone(&self.shared.log), name, H::ENCODE);
        let sequence = Sequence::Shared(Arc::clone(self.db.clock()));
        let mut unclaimed = self.shared.unclaimed.lock();
        let handle = match unclaimed.get(name) {
            Some(found) if found.1.kind != kind => {
                return Err(Error::WrongType {
                    name: name.to_owned(),
                    holds: kind_name(found.1.kind).to_owned(),
                    asked: type_name::<H>().to_owned(),
                });
            }
            Some(found) => {
                let handle = make(&found.1, journal, sequence)?;
                unclaimed.remove(name);
                handle
            }
            None => {
                let mut body = Body::default();
                body.store(name, kind);
                self.shared.log.log_change(&mut body, || ())?;
                make(&StoreImage::new(kind), journal, sequence)?
            }
        };
        drop(unclaimed);
        let handle = self.db.get_or_add(name, || handle)?;
        members.push(Arc::new(Entry {
            name: name.to_owned(),
            kind,
            handle: Arc::clone(&handle),
        }));
        members.sort_by_key(|member| member.address());
        Ok(handle)
    }

    /// The names of its stores and collections opened so far.
    pub fn names(&self) -> Vec<String> {
        self.db.names()
    }

    /// Runs `body` in a transaction across the database and commits it, as
    /// [`Db::transaction`] does; the commit is logged as one frame.
    pub fn transaction<R, E>(
        &self,
        body: impl FnMut(&Transaction<'_>) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E>
    where
        E: From<Error>,
    {
        self.db.transaction(body)
    }

    /// [`transaction`](Self::transaction) with [`TxOptions`].
    pub fn transaction_with<R, E>(
        &self,
        options: TxOptions,
        body: impl FnMut(&Transaction<'_>) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E>
    where
        E: From<Error>,
    {
        self.db.transaction_with(options, body)
    }

    /// Begins an explicit transaction, as [`Db::begin`] does.
    pub fn begin(&self) -> Result<Transaction<'_>> {
        self.db.begin()
    }

    /// Every store and collection at one moment, as [`Db::snapshot`] gives.
    pub fn snapshot(&self) -> DbSnapshot {
        self.db.snapshot()
    }

    /// Fsyncs the log now: every commit made so far survives a crash of the
    /// machine once this returns.
    pub fn flush(&self) -> Result<()> {
        self.shared.log.flush()
    }

    /// Writes a checkpoint now (the same work the background checkpointer
    /// does), then removes the log it replaces. Writers wait only while the
    /// log switches to a new file; readers never wait.
    ///
    /// Fails with [`Error::Closed`] if one of its stores was closed (its
    /// documents are gone from memory, so only the log still holds them).
    pub fn checkpoint(&self) -> Result<()> {
        self.shared.checkpoint()
    }

    /// How many fsyncs have made commits durable since open: with
    /// [`SyncPolicy::Always`], commits divided by this is how many commits
    /// shared each fsync.
    pub fn fsyncs(&self) -> u64 {
        self.shared.log.fsyncs()
    }

    /// Stops the background threads, fsyncs the log and closes every store
    /// (later operations on them fail with [`Error::Closed`]).
    pub fn close(mut self) -> Result<()> {
        self.stop_threads();
        let flushed = self.shared.log.flush();
        for member in self.shared.members.lock().iter() {
            member.close();
        }
        flushed
    }

    fn stop_threads(&mut self) {
        *self.shared.stop.lock() = true;
        self.shared.wake.notify_all();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for DurableDb {
    fn drop(&mut self) {
        self.stop_threads();
        // Best effort: the commits are in the OS already, and a failed fsync
        // has been reported to the commits it hit.
        let _ = self.shared.log.flush();
    }
}

impl fmt::Debug for DurableDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DurableDb")
            .field("dir", &self.shared.dir)
            .field("names", &self.names())
            .finish()
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Schemaless => "schemaless store",
        Kind::Typed => "typed collection",
    }
}

/// Starts a thread running `tick` every `every` until the database stops.
fn background(
    shared: &Arc<Shared>,
    every: Duration,
    tick: impl Fn(&Shared) + Send + 'static,
) -> Result<JoinHandle<()>> {
    let weak: Weak<Shared> = Arc::downgrade(shared);
    std::thread::Builder::new()
        .name("docstore-durable".to_owned())
        .spawn(move || {
            loop {
                let Some(shared) = weak.upgrade() else {
                    return;
                };
                {
                    let mut stop = shared.stop.lock();
                    if !*stop {
                        shared.wake.wait_for(&mut stop, every);
                    }
                    if *stop {
                        return;
                    }
                }
                tick(&shared);
            }
        })
        .map_err(|e| Error::Io {
            action: "starting a background thread".to_owned(),
            message: e.to_string(),
        })
}

impl Shared {
    fn checkpoint(&self) -> Result<()> {
        let _one = self.checkpointing.lock();
        let (seq, captured) = {
            // No store is made meanwhile.
            let members = self.members.lock();
            let unclaimed = self.unclaimed.lock();
            // A closed store has let its documents go: a checkpoint now would
            // lose them, so there is none (the log keeps them).
            if members.iter().any(|member| member.is_closed()) {
                return Err(Error::Closed);
            }
            // The log switches files where every store's published state
            // holds exactly the commits before the switch: one cut of the
            // database, O(1) per store. Writers wait only for the switch.
            let (seq, captured) = self.log.switch(|_| {
                self.clock.cut(|_| {
                    members
                        .iter()
                        .map(|member| member.capture())
                        .collect::<Result<Vec<_>>>()
                })
            })?;
            let mut captured = captured?;
            for image in unclaimed.values() {
                captured.push(Box::new(Arc::clone(image)));
            }
            (seq, captured)
        };
        checkpoint::write(&*self.fs, &self.dir, seq, &captured)
    }
}

impl Captured for Arc<(String, StoreImage)> {
    fn write(&self, out: &mut checkpoint::Writer<'_>) -> Result<()> {
        let (name, image) = &**self;
        out.store(name, image.kind, &image.indexes)?;
        for (id, (version, bytes)) in &image.docs {
            out.document(*id, *version, |put| {
                put(bytes);
                Ok(())
            })?;
        }
        Ok(())
    }
}

/// A store or collection a durable database hands out.
pub(crate) trait Backed: Holds + Send + Sync + 'static {
    const ENCODE: journal::Encode<Self::Doc>;
}

impl Backed for Store {
    const ENCODE: journal::Encode<Object> = codec::encode_object;
}

impl<T: Indexed + Serialize + DeserializeOwned> Backed for Collection<T> {
    const ENCODE: journal::Encode<T> = codec::encode_typed::<T>;
}

/// A store as a checkpoint reaches it.
trait Member: Send + Sync {
    fn address(&self) -> usize;
    fn is_closed(&self) -> bool;
    /// Its published state, to write with no lock held. Taken inside the
    /// database's cut, where no commit publishes.
    fn capture(&self) -> Result<Box<dyn Captured>>;
    fn close(&self);
}

struct Entry<H> {
    name: String,
    kind: Kind,
    handle: Arc<H>,
}

impl<H: Backed> Member for Entry<H> {
    fn address(&self) -> usize {
        std::ptr::from_ref(self.handle.engine_of()) as usize
    }

    fn is_closed(&self) -> bool {
        self.handle.engine_of().is_closed()
    }

    fn capture(&self) -> Result<Box<dyn Captured>> {
        let engine = self.handle.engine_of();
        Ok(Box::new(CapturedState {
            state: engine.current()?,
            name: self.name.clone(),
            kind: self.kind,
            encode: engine.journal().map(|journal| journal.encode),
        }))
    }

    fn close(&self) {
        self.handle.engine_of().close();
    }
}

struct CapturedState<D> {
    state: Arc<State<D>>,
    name: String,
    kind: Kind,
    encode: Option<journal::Encode<D>>,
}

impl<D: Send + Sync> Captured for CapturedState<D> {
    fn write(&self, out: &mut checkpoint::Writer<'_>) -> Result<()> {
        let indexes: Vec<IndexImage> = match self.kind {
            Kind::Schemaless => self
                .state
                .indexes
                .iter()
                .map(|index| IndexImage::of(&index.def.info))
                .collect(),
            Kind::Typed => Vec::new(),
        };
        out.store(&self.name, self.kind, &indexes)?;
        let Some(encode) = self.encode else {
            return Ok(());
        };
        for (id, document) in self.state.docs.entries() {
            out.document(*id, document.version(), |put| encode(document.value(), put))?;
        }
        if let Some(deadlines) = &self.state.deadlines {
            out.deadlines(&deadlines.all())?;
        }
        Ok(())
    }
}
