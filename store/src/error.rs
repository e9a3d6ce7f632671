//! The one error type every fallible docstore operation returns.

use std::fmt;

use crate::Id;

/// What went wrong in a docstore operation.
///
/// Every variant names what the caller needs to act on: the id, the index, the
/// versions, the key. The enum is `#[non_exhaustive]` so that new failure cases can
/// be added without breaking matches downstream.
///
/// ```
/// use docstore_core::{Error, Id, Store};
///
/// let store = Store::new();
/// let missing = Id::nil();
/// assert_eq!(store.get(missing).unwrap_err(), Error::NotFound { id: missing });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// No document has this id (it never existed, or it was deleted).
    NotFound {
        /// The id that was asked for.
        id: Id,
    },
    /// A document was refused; nothing was stored.
    InvalidDocument {
        /// Why the document was refused.
        reason: String,
    },
    /// An index with this name already exists.
    IndexExists {
        /// The name asked for.
        name: String,
    },
    /// An index definition named no fields.
    EmptyIndex {
        /// The index that had no fields.
        name: String,
    },
    /// No index has this name.
    IndexNotFound {
        /// The name asked for.
        name: String,
    },
    /// An index definition cannot be used as written (a malformed field path, say).
    InvalidIndex {
        /// The index being defined.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A key given to a query, or taken from a document, cannot be an index key
    /// (a NaN, or a composite key with the wrong number of fields).
    InvalidKey {
        /// The index the key was meant for.
        index: String,
        /// What is wrong with the key.
        reason: String,
    },
    /// `get_unique` named an index that is not unique.
    NotUnique {
        /// The index.
        index: String,
    },
    /// The store was closed; it accepts no further operations.
    Closed,
    /// A conditional update expected a version the document no longer has.
    VersionConflict {
        /// The document.
        id: Id,
        /// The version the caller expected.
        expected: u64,
        /// The version the document has.
        actual: u64,
    },
    /// A write would give two documents the same key in a unique index.
    UniqueViolation {
        /// The unique index.
        index: String,
        /// The key, shown as JSON-like text.
        key: String,
        /// The document that already holds the key.
        existing: Id,
    },
    /// `insert_with_id` was given an id a document already has (or the nil id,
    /// which no document may have).
    IdTaken {
        /// The id asked for.
        id: Id,
    },
    /// No document has this key in a collection's own-key index (`#[key]`).
    KeyNotFound {
        /// The key index.
        index: String,
        /// The key asked for, shown as JSON-like text.
        key: String,
    },
    /// An update would change a document's own key (`#[key]`), which is fixed
    /// once the document is stored: delete and insert instead.
    KeyChanged {
        /// The key index.
        index: String,
        /// The document.
        id: Id,
        /// The key it has.
        old: String,
        /// The key the update would give it.
        new: String,
    },
    /// A transaction's commit found that a concurrent commit changed something
    /// it read; nothing was committed. Running it again (as the closure form
    /// does by itself) may succeed.
    Conflict {
        /// The database's name for the store, if it has one.
        store: Option<String>,
        /// The document that changed, when one did.
        id: Option<Id>,
        /// The index whose query results changed, when they did.
        index: Option<String>,
        /// What changed: the document, or the index and the keys it queried.
        read: String,
    },
    /// A store or collection was used in a transaction (or a database
    /// snapshot) it is not part of.
    ForeignStore,
    /// A database name was asked for with another type of document than it holds.
    WrongType {
        /// The name.
        name: String,
        /// What it holds ("schemaless store", "collection of app::User").
        holds: String,
        /// What was asked for.
        asked: String,
    },
    /// A durable store's file could not be read or written; for a commit,
    /// nothing was committed.
    Io {
        /// What was being done, naming the file.
        action: String,
        /// The operating system's message.
        message: String,
    },
    /// A durable store's file holds bytes that fail their checks where they
    /// were known to be safely on disk.
    Corrupt {
        /// The file.
        file: String,
        /// Where in it the damage begins.
        offset: u64,
        /// What is wrong there.
        reason: String,
    },
    /// A durable store's file was written in a format this release does not know.
    UnknownFormat {
        /// The file.
        file: String,
        /// What its header says.
        found: String,
    },
    /// Another open (in this process or another) holds the directory.
    Locked {
        /// The directory.
        dir: String,
    },
    /// An earlier fsync failed, so the disk may have dropped pages: the durable
    /// database refuses every further write. Reads go on.
    WritesRefused {
        /// The fsync error that started it.
        cause: String,
    },
    /// A stored document of a typed collection no longer deserializes.
    Undecodable {
        /// The collection's name.
        collection: String,
        /// The document.
        id: Id,
        /// serde's message.
        message: String,
    },
    /// A write would take a store over its capacity, and evicting cannot make
    /// room: pinned documents hold it, or the document alone is larger than
    /// it. Nothing was evicted or written.
    OverCapacity {
        /// The capacity: documents, or total weight.
        capacity: u64,
        /// What the store would hold after the write.
        needed: u64,
        /// What pinned documents hold.
        pinned: u64,
    },
    /// A capacity cannot be given as asked.
    InvalidCapacity {
        /// Why.
        reason: String,
    },
}

impl Error {
    /// The index the error is about, if it is about one: the unique index of a
    /// [`UniqueViolation`](Error::UniqueViolation), the index named in
    /// [`IndexNotFound`](Error::IndexNotFound), and so on.
    ///
    /// An [`IndexName`] compares equal to the index's name (`"email"`), to
    /// `Some("email")`, and to a typed collection's handle, so a caller can tell
    /// which unique index refused a write without spelling its name:
    ///
    /// ```
    /// use docstore::{Collection, Error, Indexed};
    ///
    /// #[derive(Indexed, Clone, Debug)]
    /// struct Customer {
    ///     #[index(unique)]
    ///     email: String,
    ///     #[index(unique)]
    ///     phone: String,
    /// }
    ///
    /// let customers = Collection::<Customer>::new();
    /// let ada = |phone: &str| Customer { email: "ada@example.com".into(), phone: phone.into() };
    /// customers.insert(ada("1"))?;
    /// let refused = customers.insert(ada("2")).unwrap_err();
    /// assert!(refused.index() == Customer::email);
    /// assert!(refused.index() != Customer::phone);
    /// assert_eq!(refused.index(), "email");
    /// assert_eq!(refused.index().as_str(), Some("email"));
    /// # Ok::<(), docstore::Error>(())
    /// ```
    pub fn index(&self) -> IndexName<'_> {
        IndexName(match self {
            Error::EmptyIndex { name }
            | Error::IndexExists { name }
            | Error::IndexNotFound { name }
            | Error::InvalidIndex { name, .. } => Some(name),
            Error::InvalidKey { index, .. }
            | Error::NotUnique { index }
            | Error::UniqueViolation { index, .. }
            | Error::KeyNotFound { index, .. }
            | Error::KeyChanged { index, .. } => Some(index),
            Error::Conflict { index, .. } => index.as_deref(),
            Error::NotFound { .. }
            | Error::InvalidDocument { .. }
            | Error::Closed
            | Error::VersionConflict { .. }
            | Error::IdTaken { .. }
            | Error::ForeignStore
            | Error::WrongType { .. }
            | Error::Io { .. }
            | Error::Corrupt { .. }
            | Error::UnknownFormat { .. }
            | Error::Locked { .. }
            | Error::WritesRefused { .. }
            | Error::Undecodable { .. }
            | Error::OverCapacity { .. }
            | Error::InvalidCapacity { .. } => None,
        })
    }
}

/// The index an [`Error`] is about, or none: what [`Error::index`] returns.
///
/// It compares equal to the index's name as a `&str` or an `Option<&str>`, and,
/// through impls `#[derive(Indexed)]` writes, to the handle of a typed index
/// (`err.index() == User::email`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct IndexName<'a>(Option<&'a str>);

impl<'a> IndexName<'a> {
    /// The index's name, if the error is about an index.
    pub fn as_str(self) -> Option<&'a str> {
        self.0
    }
}

/// An index's handle, known by its name alone: what lets an [`IndexName`]
/// compare equal to a typed handle. `#[derive(Indexed)]` implements it for
/// every handle it makes.
pub trait NamedIndex {
    /// The index's name.
    fn name(&self) -> &'static str;
}

impl<H: NamedIndex> PartialEq<H> for IndexName<'_> {
    fn eq(&self, handle: &H) -> bool {
        self.0 == Some(handle.name())
    }
}

impl PartialEq<str> for IndexName<'_> {
    fn eq(&self, name: &str) -> bool {
        self.0 == Some(name)
    }
}

impl PartialEq<&str> for IndexName<'_> {
    fn eq(&self, name: &&str) -> bool {
        self.0 == Some(*name)
    }
}

impl PartialEq<Option<&str>> for IndexName<'_> {
    fn eq(&self, name: &Option<&str>) -> bool {
        self.0 == *name
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound { id } => write!(f, "no document with id {id}"),
            Error::InvalidDocument { reason } => write!(f, "invalid document: {reason}"),
            Error::IndexExists { name } => write!(f, "an index named {name:?} already exists"),
            Error::EmptyIndex { name } => write!(f, "index {name:?} names no fields"),
            Error::IndexNotFound { name } => write!(f, "no index named {name:?}"),
            Error::InvalidIndex { name, reason } => write!(f, "invalid index {name:?}: {reason}"),
            Error::InvalidKey { index, reason } => {
                write!(f, "invalid key for index {index:?}: {reason}")
            }
            Error::NotUnique { index } => {
                write!(
                    f,
                    "index {index:?} is not unique; use lookup instead of get_unique"
                )
            }
            Error::Closed => f.write_str("the store is closed"),
            Error::VersionConflict {
                id,
                expected,
                actual,
            } => write!(
                f,
                "version conflict on document {id}: expected version {expected}, found {actual}"
            ),
            Error::UniqueViolation {
                index,
                key,
                existing,
            } => write!(
                f,
                "unique index {index:?} already holds key {key} (document {existing})"
            ),
            Error::IdTaken { id } if *id == Id::nil() => {
                f.write_str("the nil id is reserved; no document may have it")
            }
            Error::IdTaken { id } => write!(f, "a document already has id {id}"),
            Error::KeyNotFound { index, key } => {
                write!(f, "no document has key {key} in index {index:?}")
            }
            Error::KeyChanged {
                index,
                id,
                old,
                new,
            } => write!(
                f,
                "document {id} has key {old} in index {index:?}; an update may not change \
                 it to {new} (delete and insert instead)"
            ),
            Error::Conflict { store, read, .. } => {
                f.write_str("transaction conflict")?;
                if let Some(store) = store {
                    write!(f, " in {store:?}")?;
                }
                write!(
                    f,
                    ": {read} changed after the transaction read it; nothing was committed"
                )
            }
            Error::ForeignStore => {
                f.write_str("this store or collection is not part of the transaction's database")
            }
            Error::WrongType { name, holds, asked } => {
                write!(f, "{name:?} holds a {holds}, not a {asked}")
            }
            Error::Io { action, message } => write!(f, "I/O error {action}: {message}"),
            Error::Corrupt {
                file,
                offset,
                reason,
            } => write!(f, "{file} is corrupt at offset {offset}: {reason}"),
            Error::UnknownFormat { file, found } => {
                write!(f, "{file} is not in a format this release knows: {found}")
            }
            Error::Locked { dir } => {
                write!(f, "{dir} is already open (in this process or another)")
            }
            Error::WritesRefused { cause } => write!(
                f,
                "writes are refused since an fsync failed ({cause}): the disk may have dropped \
                 writes; reopen the database to recover what is on disk"
            ),
            Error::Undecodable {
                collection,
                id,
                message,
            } => write!(
                f,
                "document {id} of collection {collection:?} no longer deserializes: {message}"
            ),
            Error::OverCapacity {
                capacity,
                needed,
                pinned,
            } => write!(
                f,
                "over capacity: the write needs {needed} of a capacity of {capacity}, and \
                 pinned documents hold {pinned} of it; nothing was evicted or written"
            ),
            Error::InvalidCapacity { reason } => write!(f, "invalid capacity: {reason}"),
        }
    }
}

impl std::error::Error for Error {}

/// The result type of docstore operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
