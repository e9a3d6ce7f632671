//! A stored document as readers receive it: shared, immutable, with its id and
//! version.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

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
    value: T,
}

impl<T> Versioned<T> {
    pub(crate) fn new(id: Id, version: u64, value: T) -> Self {
        Versioned {
            record: Arc::new(Record { id, version, value }),
        }
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

    /// The document, moved out if this is the last handle to it.
    pub(crate) fn try_into_value(self) -> Result<T, Self> {
        Arc::try_unwrap(self.record)
            .map(|record| record.value)
            .map_err(|record| Versioned { record })
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

impl<T> crate::tree::Warm for Versioned<T> {
    fn warm(&self) {
        self.record.warm();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_holds_its_id_version_and_value_and_nothing_more() {
        // What a store with a capacity keeps per document lives beside the
        // records (see `usage`), so plain stores pay no byte for it.
        assert_eq!(
            std::mem::size_of::<Record<u64>>(),
            std::mem::size_of::<(Id, u64, u64)>()
        );
        assert_eq!(std::mem::size_of::<Record<crate::Object>>(), 144);
    }
}
