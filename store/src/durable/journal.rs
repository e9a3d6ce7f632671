//! What a durable store hands the log from its commit step: its name, how
//! its documents are written, and the log. An in-memory store has none and
//! pays one `Option` check per commit.

use std::cell::RefCell;
use std::sync::Arc;

use super::wal::{Body, Log};
use crate::{Id, IndexInfo, Result, Versioned};

/// Writes a document in its stored (compact binary) form.
pub(crate) type Encode<D> = fn(&D, &mut Vec<u8>) -> Result<()>;

/// A durable store's link to its database's log.
pub(crate) struct Journal<D> {
    pub(crate) log: Arc<Log>,
    pub(crate) store: Arc<str>,
    pub(crate) encode: Encode<D>,
}

impl<D> Journal<D> {
    /// Adds setting (or, with `None`, taking off) document `id`'s deadline to
    /// a frame body.
    pub(crate) fn add_deadline(&self, body: &mut Body, id: Id, at: Option<u64>) {
        body.deadline(&self.store, id, at);
    }

    /// Adds the write (or, with `None`, the delete) of document `id` to a
    /// frame body.
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

    /// Logs the write (or, with `None`, the delete) of document `id`, with
    /// the deadline it gets if any, as a commit of its own, running `apply`
    /// with its sequence number as [`Log::commit`] does.
    #[inline(never)]
    pub(crate) fn commit<R>(
        &self,
        id: Id,
        document: Option<(u64, &D)>,
        deadline: Option<u64>,
        apply: impl FnOnce(u64, bool) -> R,
    ) -> Result<(R, u64)> {
        thread_local! {
            // A frame's body and a document's bytes, reused: a commit should
            // not pay for growing two buffers from nothing.
            static BUFFERS: RefCell<(Body, Vec<u8>)> = RefCell::new((Body::default(), Vec::new()));
        }
        let mut buffers = BUFFERS
            .try_with(|buffers| {
                buffers
                    .try_borrow_mut()
                    .map(|mut b| std::mem::take(&mut *b))
            })
            .ok()
            .and_then(std::result::Result::ok)
            .unwrap_or_default();
        let (body, scratch) = &mut buffers;
        body.bytes.clear();
        let result = self.add(body, id, document, scratch).and_then(|()| {
            if deadline.is_some() {
                self.add_deadline(body, id, deadline);
            }
            self.log.commit(&body.bytes, apply)
        });
        // A huge document should not pin its size in every writing thread.
        if body.bytes.capacity() <= 1 << 16 {
            let _ = BUFFERS.try_with(|kept| {
                if let Ok(mut kept) = kept.try_borrow_mut() {
                    *kept = buffers;
                }
            });
        }
        result
    }

    /// Logs setting (or taking off) document `id`'s deadline, which `publish`
    /// makes visible in its turn.
    pub(crate) fn deadline<R>(
        &self,
        id: Id,
        at: Option<u64>,
        publish: impl FnOnce() -> R,
    ) -> Result<R> {
        let mut body = Body::default();
        self.add_deadline(&mut body, id, at);
        self.log.log_change(&body.bytes, publish)
    }

    /// Logs an index creation, which `publish` makes visible in its turn.
    pub(crate) fn create_index<R>(
        &self,
        info: &IndexInfo,
        publish: impl FnOnce() -> R,
    ) -> Result<R> {
        let mut body = Body::default();
        body.create_index(&self.store, info);
        self.log.log_change(&body.bytes, publish)
    }

    /// Logs an index drop, which `publish` makes visible in its turn.
    pub(crate) fn drop_index<R>(&self, name: &str, publish: impl FnOnce() -> R) -> Result<R> {
        let mut body = Body::default();
        body.drop_index(&self.store, name);
        self.log.log_change(&body.bytes, publish)
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

    /// The log, if a durable store took part.
    pub(crate) fn log(&self) -> Option<&Arc<Log>> {
        self.log.as_ref()
    }
}
