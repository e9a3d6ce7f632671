//! The engine of docstore: an in-memory,
//! concurrency-safe document store with secondary indexes.
//!
//! Use it through the `docstore` crate, which re-exports everything here along
//! with `#[derive(Indexed)]`.
//!
//! - [`Store`] holds schemaless JSON documents, indexed by field paths chosen at
//!   run time and queried by index name.
//! - [`Collection<T>`] holds typed structs as themselves, indexed as their
//!   `#[derive(Indexed)]` declares and queried through handles the compiler checks.
//! - [`Db`] holds named stores and collections, with serializable
//!   [`Transaction`]s across them (and across one store: `store.transaction`).
//!
//! Both run on one engine: persistent B+trees behind a read-write lock, so reads
//! never block each other, every single-document write is atomic and
//! linearizable, indexes always agree with documents, and scans, wide queries,
//! cursors and snapshots read a point-in-time view without holding writers back.
//!
//! # Key order
//!
//! Index keys, schemaless and typed alike, have one total order:
//! `null < false < true < numbers < strings < arrays < objects`. Numbers compare
//! by exact value whatever their type (`5 == 5.0`, `5 < 5.5 < 6`, no rounding of
//! large integers); NaN cannot be a key. Strings compare by bytes. A composite
//! key compares field by field, and a key that is a prefix of another sorts
//! first. Results come in key order, ties in id order.
//!
//! # Field paths
//!
//! A schemaless index names fields by dotted path: `"address.zip"` is the `zip`
//! field of the object in `address`. A field whose name itself holds a dot or a
//! backslash escapes it with a backslash: the path `a\.b` names the top-level
//! field `"a.b"`.
//!
//! # Panics
//!
//! No function here panics on any input. A closure you pass (to
//! `update_with`, `modify`, `clone_filtered`, or a computed key) may panic; it runs
//! before anything changes, so the store stays exactly as it was.

mod broadcast;
mod by_id;
mod capacity;
mod clock;
mod commit;
mod cursor;
mod db;
mod db_feed;
mod durable;
mod engine;
mod error;
mod eviction;
mod expiry;
mod export;
mod feed;
mod field_keys;
mod id;
mod id_hash;
mod index;
mod inline_bytes;
mod key;
mod keyed;
mod keyset;
mod load;
mod lookup;
mod outcome;
mod path;
mod published;
mod query;
mod snapshot;
mod stats;
mod store;
mod sweeper;
mod tree;
mod txn;
mod typed;
mod usage;
mod value;
mod versioned;
mod watch;

pub use capacity::{Capacity, Policy};
pub use clock::{Clock, ManualClock, SystemClock};
pub use cursor::Cursor;
pub use db::{Db, DbSnapshot};
pub use db_feed::DbChangeSet;
pub use durable::{Cut, Durable, DurableDb, DurableOptions, Recovery, SyncPolicy};
#[doc(hidden)]
pub use durable::{Fs, FsFile, RealFs};
pub use error::{Error, IndexName, NamedIndex, Result};
pub use export::Export;
pub use feed::{Change, ChangeSet, DEFAULT_BUFFER, Event, Subscription};
pub use id::{Id, ParseIdError};
pub use index::{IndexInfo, IndexOptions, KeySink};
pub use key::{IndexKey, JsonKey, KeyBound, KeyFor, KeyLeading, KeyPrefix, KeyRange, KeyWriter};
pub use keyed::{KeyOf, Keyed};
pub use outcome::Updated;
pub use query::{IndexRef, Iter, UniqueIndexRef};
pub use snapshot::{Documents, Snapshot};
pub use stats::{IndexStats, OldState, Stats, SubscriptionStats};
pub use store::{Document, Store};
pub use sweeper::Sweeping;
pub use txn::{DEFAULT_RETRIES, Transaction, TxCollection, TxIter, TxOptions, TxStore};
pub use typed::{Collection, IndexSpec, Indexed, Rejected};
pub use value::{
    ArrayIter, ArrayRef, InvalidValue, MAX_DEPTH, Num, Object, ObjectIter, ObjectRef, ValueRef,
};
pub use versioned::Versioned;
#[doc(hidden)]
#[cfg(feature = "testing")]
pub use {
    commit::testing as commit_testing, durable::testing as durable_testing, txn::CommitStage,
};

/// The `uuid` crate, whose [`Uuid`](uuid::Uuid) an [`Id`] converts to and from.
pub use uuid;

/// The `chrono` crate (feature `chrono`), whose dates and times are keys.
#[cfg(feature = "chrono")]
pub use chrono;

/// The `time` crate (feature `time`), whose dates and times are keys.
#[cfg(feature = "time")]
pub use time;
