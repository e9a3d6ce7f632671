//! What a durable store hands the log from its commit step: its name, how
//! its documents are written, and the log. An in-memory store has none and
//! pays one `Option` check per commit.

use std::cell::RefCell;
use std::sync::Arc;

use super::wal::{Body, Log};
use crate::{Id, IndexInfo, Result, Versioned};

/// Writes a document in its stored (compact binary) form.
pub(crate) type Encode<D> = fn(&D, &mut Vec<u8>) -> Result<()>;

/// Copies a document, for stores whose commits wait for the disk after
/// releasing their lock (and may have to hand the document back).
pub(crate) type Copy<D> = fn(&D) -> D;

/// A durable store's link to its database's log.
pub(crate) struct Journal<D> {
    pub(crate) log: Arc<Log>,
    pub(crate) store: Arc<str>,
    pub(crate) encode: Encode<D>,
    /// With `SyncPolicy::Always`, a store that can copy its documents lets
    /// commits wait for the disk outside its writer lock, so that concurrent
    /// commits of the store share one fsync; one that cannot waits under it.
    pub(crate) copy: Option<Copy<D>>,
}

impl<D> Journal<D> {
    /// Adds the write (or, with `None`, the delete) of document `id` to a
    /// frame body.
    /// Adds document `id`'s deadline (or, with `None`, taking it off) to a
    /// frame body.
    pub(crate) fn add_deadline(&self, body: &mut Body, id: Id, at: Option<u64>) {
        body.deadline(&self.store, id, at);
    }

    pub(crate) fn add(
        &self,
        body: &mut Body,
        id: Id,
        document: Option<(u64, &D)>,
        scratch: &mut Vec<u8>,
    ) -> Result<()> {
        match document {
            Some((version, document)) => {
                scratch.clear();
                (self.encode)(document, scratch)?;
                body.put(&self.store, id, version);
                body.document(scratch);
            }
            None => body.delete(&self.store, id),
        }
        Ok(())
    }

    /// Logs the write (or delete) of one document as a commit of its own;
    /// returns its sequence number if it is still to be waited for.
    fn one(
        &self,
        id: Id,
        document: Option<(u64, &D)>,
        deadline: Option<u64>,
    ) -> Result<Option<u64>> {
        thread_local! {
            // A frame's body and a document's bytes, reused: a commit should
            // not pay for growing two buffers from nothing.
            static BUFFERS: RefCell<(Body, Vec<u8>)> = RefCell::new((Body::default(), Vec::new()));
        }
        let log = |body: &Body| {
            if self.copy.is_some() && self.log.waits_for_disk() {
                self.log.write(&body.bytes).map(Some)
            } else {
                self.log.append(&body.bytes).map(|_| None)
            }
        };
        let reused = BUFFERS.try_with(|buffers| {
            let mut buffers = buffers.try_borrow_mut().ok()?;
            let (body, scratch) = &mut *buffers;
            body.bytes.clear();
            let result = self.add(body, id, document, scratch).and_then(|()| {
                if deadline.is_some() {
                    self.add_deadline(body, id, deadline);
                }
                log(body)
            });
            // A huge document should not pin its size in every writing thread.
            if body.bytes.capacity() > 1 << 16 {
                *buffers = (Body::default(), Vec::new());
            }
            Some(result)
        });
        match reused {
            Ok(Some(result)) => result,
            _ => {
                let mut body = Body::default();
                self.add(&mut body, id, document, &mut Vec::new())?;
                if deadline.is_some() {
                    self.add_deadline(&mut body, id, deadline);
                }
                log(&body)
            }
        }
    }

    /// Logs the write of document `id`, with its deadline if it gets one;
    /// see `Engine::log_put`.
    #[inline(never)]
    pub(crate) fn put(
        &self,
        id: Id,
        version: u64,
        document: &D,
        deadline: Option<u64>,
    ) -> Result<Option<(u64, Box<D>)>> {
        let pending = self.one(id, Some((version, document)), deadline)?;
        Ok(match (pending, self.copy) {
            (Some(seq), Some(copy)) => Some((seq, Box::new(copy(document)))),
            _ => None,
        })
    }

    /// Logs the delete of document `id`; see `Engine::log_delete`.
    #[inline(never)]
    pub(crate) fn delete(&self, id: Id) -> Result<Option<u64>> {
        self.one(id, None, None)
    }

    /// Logs setting (or taking off) document `id`'s deadline.
    pub(crate) fn deadline(&self, id: Id, at: Option<u64>) -> Result<()> {
        let mut body = Body::default();
        self.add_deadline(&mut body, id, at);
        self.log.append(&body.bytes).map(drop)
    }

    /// Logs an index creation.
    pub(crate) fn create_index(&self, info: &IndexInfo) -> Result<()> {
        let mut body = Body::default();
        body.create_index(&self.store, info);
        self.log.append(&body.bytes).map(drop)
    }

    /// Logs an index drop.
    pub(crate) fn drop_index(&self, name: &str) -> Result<()> {
        let mut body = Body::default();
        body.drop_index(&self.store, name);
        self.log.append(&body.bytes).map(drop)
    }
}

/// A transaction's frame, gathered from every durable store it changes.
#[derive(Default)]
pub(crate) struct Record {
    pub(crate) log: Option<Arc<Log>>,
    pub(crate) body: Body,
    pub(crate) scratch: Vec<u8>,
}

impl Record {
    /// Adds one store's changes.
    pub(crate) fn add<'d, D: 'd>(
        &mut self,
        journal: &Journal<D>,
        changes: impl Iterator<Item = (Id, Option<&'d Versioned<D>>)>,
    ) -> Result<()> {
        if self.log.is_none() {
            self.log = Some(Arc::clone(&journal.log));
        }
        for (id, new) in changes {
            let document = new.map(|new| (new.version(), new.value()));
            journal.add(&mut self.body, id, document, &mut self.scratch)?;
        }
        Ok(())
    }

    /// Adds one store's deadline changes.
    pub(crate) fn add_deadlines<D>(
        &mut self,
        journal: &Journal<D>,
        deadlines: impl Iterator<Item = (Id, Option<u64>)>,
    ) {
        if self.log.is_none() {
            self.log = Some(Arc::clone(&journal.log));
        }
        for (id, at) in deadlines {
            journal.add_deadline(&mut self.body, id, at);
        }
    }

    /// Appends the frame, if a durable store took part.
    pub(crate) fn append(&self) -> Result<()> {
        match &self.log {
            Some(log) => log.append(&self.body.bytes).map(drop),
            None => Ok(()),
        }
    }
}
