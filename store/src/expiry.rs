//! Expiry: documents with a deadline, removed by an ordinary commit once it
//! passes, and hidden from every read from that moment.
//!
//! Deadlines live in the store's state (so clones, snapshots and filtered
//! clones carry them), twice: by id, and in deadline order, so that finding
//! what is due costs in proportion to what is due, never a scan. A store in
//! which nothing ever had a deadline holds no deadline trees and pays one
//! check of one word per operation, and reads the clock only while some
//! document has a deadline.
//!
//! Reads and writes first remove what is due (`expire_due`): each due
//! document is deleted by its own commit, with a sequence number, heard by
//! the change feed as `Expired`, and a conflict for any transaction that read
//! it. So every read agrees: gets, counts, iterators, queries and unique
//! checks never see a document past its deadline.

use std::sync::atomic::Ordering;

use crate::Id;
use crate::clock::Micros;
use crate::engine::{Engine, State};
use crate::tree::Tree;
use crate::{Error, Result};

/// The deadlines of a store's documents.
#[derive(Clone, Default)]
pub(crate) struct Deadlines {
    by_id: Tree<Id, Micros>,
    by_time: Tree<(Micros, Id), ()>,
}

impl Deadlines {
    pub(crate) fn of(&self, id: Id) -> Option<Micros> {
        self.by_id.get(&id).copied()
    }

    pub(crate) fn set(&mut self, id: Id, at: Option<Micros>) {
        if let Some(old) = self.by_id.remove(&id) {
            self.by_time.remove(&(old, id));
        }
        if let Some(at) = at {
            self.by_id.insert(id, at);
            self.by_time.insert((at, id), ());
        }
    }

    /// The earliest deadline.
    pub(crate) fn earliest(&self) -> Option<Micros> {
        self.by_time.nth(0).map(|((at, _), _)| *at)
    }

    /// The documents whose deadline is at or before `now`, earliest first.
    pub(crate) fn due(&self, now: Micros) -> Vec<Id> {
        self.by_time
            .entries()
            .take_while(|((at, _), _)| *at <= now)
            .map(|((_, id), _)| *id)
            .collect()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_id.len() == 0
    }

    /// The deadlines of the documents in `docs` only.
    pub(crate) fn kept<D>(&self, docs: &Tree<Id, crate::Versioned<D>>) -> Deadlines {
        let mut kept = Deadlines::default();
        for (id, at) in self.by_id.entries() {
            if docs.get(id).is_some() {
                kept.set(*id, Some(*at));
            }
        }
        kept
    }
}

impl<D: Send + Sync + 'static> Engine<D> {
    /// Removes every document past its deadline, each by its own commit.
    /// Returns how many. Costs in proportion to what is due.
    pub(crate) fn sweep(&self) -> Result<usize> {
        let now = self.time().now();
        let due = self.current()?.deadlines.as_ref().map(|d| d.due(now));
        let mut removed = 0;
        for id in due.unwrap_or_default() {
            if self.delete_expired(id, now)? {
                removed += 1;
            }
        }
        self.refresh_earliest();
        Ok(removed)
    }

    /// What reads and writes do first: removes what is due, if any document
    /// has a deadline.
    #[inline(always)]
    pub(crate) fn expire_due(&self) -> Result<()> {
        let earliest = self.earliest().load(Ordering::Acquire);
        if earliest == u64::MAX {
            Ok(())
        } else {
            self.expire_due_at(earliest)
        }
    }

    #[cold]
    #[inline(never)]
    fn expire_due_at(&self, earliest: Micros) -> Result<()> {
        if earliest > self.time().now() {
            return Ok(());
        }
        self.sweep().map(drop)
    }

    /// Gives document `id` a deadline, or takes it off (`None`). Changes no
    /// version and takes no sequence number: what the document holds is the
    /// same.
    pub(crate) fn set_deadline(&self, id: Id, at: Option<Micros>) -> Result<()> {
        self.expire_due()?;
        self.with_writer_state(|state| {
            if state.docs.get(&id).is_none() {
                return Err(Error::NotFound { id });
            }
            if at.is_none() && state.deadlines.is_none() {
                return Ok(());
            }
            state
                .deadlines
                .get_or_insert_with(Deadlines::default)
                .set(id, at);
            if let Some(at) = at {
                self.earliest().fetch_min(at, Ordering::Release);
            }
            Ok(())
        })?
    }

    /// The deadline of document `id`, if it has one.
    pub(crate) fn deadline(&self, id: Id) -> Result<Option<Micros>> {
        self.expire_due()?;
        let state = self.current()?;
        if state.docs.get(&id).is_none() {
            return Err(Error::NotFound { id });
        }
        Ok(state.deadlines.as_ref().and_then(|d| d.of(id)))
    }
}

impl<D> State<D> {
    /// Forgets the deadline of a document deleted.
    #[inline]
    pub(crate) fn forget_deadline(&mut self, id: Id) {
        if let Some(deadlines) = &mut self.deadlines {
            deadlines.set(id, None);
            if deadlines.is_empty() {
                self.deadlines = None;
            }
        }
    }
}

impl<D: Send + Sync + 'static> Engine<D> {
    /// The deadline `ttl` from now.
    pub(crate) fn deadline_after(&self, ttl: std::time::Duration) -> Micros {
        let ttl = u64::try_from(ttl.as_micros()).unwrap_or(u64::MAX);
        self.time().now().saturating_add(ttl)
    }
}

/// A deadline as the caller gave it.
pub(crate) fn at(when: std::time::SystemTime) -> Micros {
    crate::clock::micros(when)
}

/// A deadline as the caller reads it.
pub(crate) fn when(at: Micros) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_micros(at)
}
