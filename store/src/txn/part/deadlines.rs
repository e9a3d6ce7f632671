//! Deadlines inside a transaction: set along with its writes and published
//! with them, all or nothing; read like documents, so that a deadline the
//! transaction read and that changed before its commit is a conflict.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::super::{TxCollection, TxStore, View};
use super::Part;
use crate::clock::{Micros, Timekeeper};
use crate::engine::State;
use crate::expiry::{self, Deadlines};
use crate::store::to_object;
use crate::{Error, Id, Indexed, Result};

/// The deadlines a transaction set and read in one store.
#[derive(Default)]
pub(crate) struct TxDeadlines {
    /// Deadlines set, by document: `None` takes one off.
    set: BTreeMap<Id, Option<Micros>>,
    /// Deadlines read and not set, as the transaction saw them.
    read: BTreeMap<Id, Option<Micros>>,
    /// What the store reads deadlines against, for a store that had none.
    time: Option<Arc<Timekeeper>>,
    /// The earliest deadline the commit set, once applied.
    earliest: Option<Micros>,
}

impl TxDeadlines {
    pub(crate) fn is_empty(&self) -> bool {
        self.set.is_empty() && self.read.is_empty()
    }

    /// Whether the commit changes a deadline.
    pub(crate) fn has_writes(&self) -> bool {
        !self.set.is_empty()
    }

    /// The first document whose deadline the transaction read and that is
    /// not the same in `current`.
    pub(crate) fn changed<D>(&self, current: &State<D>) -> Option<Id> {
        let now = |id: &Id| current.deadlines.as_ref().and_then(|d| d.of(*id));
        self.read
            .iter()
            .find(|(id, seen)| now(id) != **seen)
            .map(|(id, _)| *id)
    }

    /// Sets the deadlines in `next`, the state the commit publishes, for the
    /// documents it holds (one the transaction deleted has none).
    pub(crate) fn apply<D>(&mut self, next: &mut State<D>) {
        for (&id, &at) in &self.set {
            if next.docs.get(&id).is_none() || (at.is_none() && next.deadlines.is_none()) {
                continue;
            }
            let Some(time) = self.time.clone() else {
                continue;
            };
            next.deadlines
                .get_or_insert_with(|| Deadlines::new(time))
                .set(id, at);
            if at.is_none() {
                next.forget_deadline_trees();
            }
            if let Some(at) = at {
                self.earliest = Some(self.earliest.map_or(at, |earliest| earliest.min(at)));
            }
        }
    }
}

impl<D> Part<D> {
    /// The deadlines the transaction sets, for the log.
    pub(crate) fn deadlines_set(&self) -> impl Iterator<Item = (Id, Option<Micros>)> + '_ {
        self.deadlines.set.iter().map(|(id, at)| (*id, *at))
    }

    /// The earliest deadline the commit set, once applied.
    pub(crate) fn earliest_deadline_set(&self) -> Option<Micros> {
        self.deadlines.earliest
    }

    /// Document `id`'s deadline as this transaction sees it, recorded as read.
    pub(crate) fn deadline(&mut self, id: Id) -> Result<Option<Micros>> {
        self.get(id).ok_or(Error::NotFound { id })?;
        if let Some(at) = self.deadlines.set.get(&id) {
            return Ok(*at);
        }
        let seen = self.snapshot.deadlines.as_ref().and_then(|d| d.of(id));
        self.deadlines.read.entry(id).or_insert(seen);
        Ok(seen)
    }

    /// Buffers a new deadline for document `id` (`None` takes it off), read
    /// against `time`.
    pub(crate) fn set_deadline(
        &mut self,
        id: Id,
        at: Option<Micros>,
        time: Arc<Timekeeper>,
    ) -> Result<()> {
        self.get(id).ok_or(Error::NotFound { id })?;
        self.deadlines.read.remove(&id);
        self.deadlines.set.insert(id, at);
        self.deadlines.time.get_or_insert(time);
        Ok(())
    }
}

impl<D: Send + Sync + 'static> View<'_, D> {
    fn deadline(&self, id: Id) -> Result<Option<SystemTime>> {
        Ok(self.with(|part| part.deadline(id))?.map(expiry::when))
    }

    fn set_deadline(&self, id: Id, at: Option<Micros>) -> Result<()> {
        self.with(|part| part.set_deadline(id, at, self.engine.timekeeper()))
    }

    fn insert_with_ttl(&self, document: D, ttl: Duration) -> Result<Id> {
        let at = self.engine.deadline_after(ttl);
        let id = self.insert(document)?.id();
        self.set_deadline(id, Some(at))?;
        Ok(id)
    }
}

/// What a transaction's stores and collections alike do with deadlines,
/// through their `view`.
macro_rules! deadline_methods {
    () => {
        /// Buffers a deadline for document `id`: from `when` on, once the
        /// transaction commits, no read returns it. Fails with
        /// [`Error::NotFound`] if the transaction sees no such document.
        pub fn expire_at(&self, id: Id, when: SystemTime) -> Result<()> {
            self.view.set_deadline(id, Some(expiry::at(when)))
        }

        /// Buffers taking document `id`'s deadline off.
        pub fn persist(&self, id: Id) -> Result<()> {
            self.view.set_deadline(id, None)
        }

        /// Document `id`'s deadline as the transaction sees it. Counts as a
        /// read: if another writer changes the deadline before this
        /// transaction commits, the commit fails with [`Error::Conflict`].
        pub fn deadline(&self, id: Id) -> Result<Option<SystemTime>> {
            self.view.deadline(id)
        }
    };
}

impl TxStore<'_> {
    /// Buffers a new document with a deadline `ttl` from now (see
    /// [`Store::expire_at`](crate::Store::expire_at)); returns its id. The
    /// document and its deadline are published together, at commit.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use docstore_core::{ManualClock, Store};
    /// use serde_json::json;
    ///
    /// let clock = ManualClock::new(UNIX_EPOCH);
    /// let store = Store::with_clock(clock.clone());
    /// let id = store.transaction(|tx| tx.insert_with_ttl(json!({"n": 1}), Duration::from_secs(60)))?;
    /// assert!(store.deadline(id)?.is_some());
    /// clock.advance(Duration::from_secs(60));
    /// assert!(!store.contains(id)?);
    /// # Ok::<(), docstore_core::Error>(())
    /// ```
    pub fn insert_with_ttl(&self, document: Value, ttl: Duration) -> Result<Id> {
        self.view.insert_with_ttl(to_object(document)?, ttl)
    }

    deadline_methods!();
}

impl<T: Indexed> TxCollection<'_, T> {
    /// Buffers a new document with a deadline `ttl` from now: see
    /// [`TxStore::insert_with_ttl`].
    pub fn insert_with_ttl(&self, document: T, ttl: Duration) -> Result<Id> {
        self.view.insert_with_ttl(document, ttl)
    }

    deadline_methods!();
}
