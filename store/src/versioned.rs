//! A stored document as readers receive it: shared, immutable, with its id and
//! version.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Serialize, Serializer};

use crate::Id;

/// A document as the store holds it: its value, id and version, shared.
///
/// Reads hand out `Versioned` handles instead of copies. A handle is an `Arc`:
/// cloning it is O(1), it derefs to the document, and it can never change: a
/// writer replacing the document stores a new version and leaves every handle
/// to the old one as it was.
///
/// ```
/// use docstore_core::Store;
/// use serde_json::json;
///
/// let store = Store::new();
/// let id = store.insert(json!({"n": 1}))?;
/// let before = store.get(id)?;
/// store.update(id, json!({"n": 2}))?;
/// assert_eq!(before.version(), 1);
/// assert_eq!(before.get("n").and_then(|n| n.as_u64()), Some(1));
/// assert_eq!(store.get(id)?.version(), 2);
/// # Ok::<(), docstore_core::Error>(())
/// ```
pub struct Versioned<T> {
    record: Arc<Record<T>>,
}

struct Record<T> {
    id: Id,
    version: u64,
    /// When it was last read, in a store with a capacity (see `capacity`).
    used: AtomicU64,
    /// What it weighs, in a store whose capacity is weighed.
    weight: AtomicU64,
    value: T,
}

impl<T> Versioned<T> {
    pub(crate) fn new(id: Id, version: u64, value: T) -> Self {
        Versioned {
            record: Arc::new(Record {
                id,
                version,
                used: AtomicU64::new(0),
                weight: AtomicU64::new(0),
                value,
            }),
        }
    }

    /// When it was last used, as a store with a capacity counts time.
    pub(crate) fn used(&self) -> u64 {
        self.record.used.load(Ordering::Relaxed)
    }

    /// Notes a use at `tick`. Writes only when the tick moved on, so that a
    /// hot document read from many threads is not a contended cache line.
    #[inline]
    pub(crate) fn touch(&self, tick: u64) {
        if self.record.used.load(Ordering::Relaxed) < tick {
            self.record.used.store(tick, Ordering::Relaxed);
        }
    }

    /// What it weighs, as the store's weigher said (0 unweighed).
    pub(crate) fn weight(&self) -> u64 {
        self.record.weight.load(Ordering::Relaxed)
    }

    /// Records its weight, before it is published.
    pub(crate) fn set_weight(&self, weight: u64) {
        self.record.weight.store(weight, Ordering::Relaxed);
    }

    /// The document's id.
    pub fn id(&self) -> Id {
        self.record.id
    }

    /// The document's version: 1 when inserted, one more on every update.
    pub fn version(&self) -> u64 {
        self.record.version
    }

    /// The document itself (also reachable through `Deref`).
    pub fn value(&self) -> &T {
        &self.record.value
    }

    /// The document, moved out if this is the last handle to it, cloned otherwise.
    pub fn into_value(self) -> T
    where
        T: Clone,
    {
        match Arc::try_unwrap(self.record) {
            Ok(record) => record.value,
            Err(shared) => shared.value.clone(),
        }
    }

    /// Whether two handles are the same stored version (not merely equal values).
    pub fn ptr_eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.record, &other.record)
    }
}

impl<T> Clone for Versioned<T> {
    fn clone(&self) -> Self {
        Versioned {
            record: Arc::clone(&self.record),
        }
    }
}

impl<T> Deref for Versioned<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.record.value
    }
}

impl<T> AsRef<T> for Versioned<T> {
    fn as_ref(&self) -> &T {
        &self.record.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Versioned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Versioned")
            .field("id", &self.record.id)
            .field("version", &self.record.version)
            .field("value", &self.record.value)
            .finish()
    }
}

/// Shows the document's value alone (for a schemaless document, its JSON).
impl<T: fmt::Display> fmt::Display for Versioned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.record.value, f)
    }
}

/// Equal when id, version and value are all equal.
impl<T: PartialEq> PartialEq for Versioned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.ptr_eq(other)
            || (self.id() == other.id()
                && self.version() == other.version()
                && self.value() == other.value())
    }
}

/// Serializes the document's value alone, as it was written.
impl<T: Serialize> Serialize for Versioned<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.record.value.serialize(serializer)
    }
}
