//! A single durable store or collection: a durable database of one, under a
//! fixed name, behind the store's own API.

use std::fmt;
use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{DurableDb, DurableOptions, Recovery};
use crate::{Collection, Indexed, Result, Store};

/// The name a single store or collection has in its directory.
const NAME: &str = "main";

/// A durable [`Store`] or [`Collection`] opened on its own (see
/// [`Store::open`] and [`Collection::open`]): it derefs to the store, and adds
/// what durability needs (`flush`, `checkpoint`, `close`).
pub struct Durable<H> {
    handle: Arc<H>,
    db: DurableDb,
}

impl<H> Durable<H> {
    /// The durable database holding it, for transactions.
    pub fn db(&self) -> &DurableDb {
        &self.db
    }

    /// Fsyncs the log now; see [`DurableDb::flush`].
    pub fn flush(&self) -> Result<()> {
        self.db.flush()
    }

    /// Writes a checkpoint now; see [`DurableDb::checkpoint`].
    pub fn checkpoint(&self) -> Result<()> {
        self.db.checkpoint()
    }

    /// Stops the background threads, fsyncs and closes; see [`DurableDb::close`].
    pub fn close(self) -> Result<()> {
        drop(self.handle);
        self.db.close()
    }
}

impl<H> Deref for Durable<H> {
    type Target = H;

    fn deref(&self) -> &H {
        &self.handle
    }
}

impl<H> fmt::Debug for Durable<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Durable").field("db", &self.db).finish()
    }
}

impl Store {
    /// Opens a durable store in `dir`, as [`DurableDb::open`] opens a
    /// database (and with the same errors); returns it with what recovery
    /// found.
    ///
    /// ```
    /// use docstore_core::{DurableOptions, Store};
    /// use serde_json::json;
    ///
    /// # let dir = std::env::temp_dir().join(format!("docstore-store-doc-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// let (store, _) = Store::open(&dir, DurableOptions::new())?;
    /// let id = store.insert(json!({"n": 1}))?;
    /// store.close()?;
    /// let (store, recovery) = Store::open(&dir, DurableOptions::new())?;
    /// assert_eq!(store.get(id)?, json!({"n": 1}));
    /// # drop(store);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), docstore_core::Error>(())
    /// ```
    pub fn open(
        dir: impl AsRef<Path>,
        options: DurableOptions,
    ) -> Result<(Durable<Store>, Recovery)> {
        let (db, recovery) = DurableDb::open(dir, options)?;
        let handle = db.store(NAME)?;
        Ok((Durable { handle, db }, recovery))
    }
}

impl<T: Indexed + Serialize + DeserializeOwned> Collection<T> {
    /// Opens a durable collection in `dir`, as [`DurableDb::open`] opens a
    /// database (and with the same errors, and [`DurableDb::collection`]'s);
    /// returns it with what recovery found.
    pub fn open(
        dir: impl AsRef<Path>,
        options: DurableOptions,
    ) -> Result<(Durable<Collection<T>>, Recovery)> {
        let (db, recovery) = DurableDb::open(dir, options)?;
        let handle = db.collection(NAME)?;
        Ok((Durable { handle, db }, recovery))
    }
}
