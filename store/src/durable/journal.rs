//! What a durable store hands the log from its commit step: its name, how
//! its documents are written, and the log. An in-memory store has none and
//! pays one `Option` check per commit.

use std::sync::Arc;

use parking_lot::Mutex;

use super::wal::{Body, Log};
use crate::{Id, IndexInfo, Result, Versioned};

/// Hands a document's stored (compact binary) form to `put`, once, unless
/// it fails: the bytes go straight where they are kept, not through a
/// buffer of their own.
pub(crate) type Encode<D> = fn(&D, put: &mut dyn FnMut(&[u8])) -> Result<()>;

/// A durable store's link to its database's log.
pub(crate) struct Journal<D> {
    pub(crate) log: Arc<Log>,
    pub(crate) store: Arc<str>,
    pub(crate) encode: Encode<D>,
    /// The frame of the store's single-document commits, reused. Only the
    /// holder of the store's writer lock commits, so it is never waited for.
    frame: Mutex<Body>,
}

impl<D> Journal<D> {
    /// The link of store `store` to `log`.
    pub(crate) fn new(log: Arc<Log>, store: &str, encode: Encode<D>) -> Journal<D> {
        Journal {
            log,
            store: Arc::from(store),
            encode,
            frame: Mutex::new(Body::default()),
        }
    }

    /// Adds setting (or, with `None`, taking off) document `id`'s deadline to
    /// a frame body.
    pub(crate) fn add_deadline(&self, body: &mut Body, id: Id, at: Option<u64>) {
        body.deadline(&self.store, id, at);
    }

    /// Adds the write (or, with `None`, the delete) of document `id` to a
    /// frame body.
    pub(crate) fn add(&self, body: &mut Body, id: Id, document: Option<(u64, &D)>) -> Result<()> {
        match document {
            Some((version, document)) => {
                (self.encode)(document, &mut |bytes| {
                    body.put(&self.store, id, version);
                    body.document(bytes);
                })?;
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
        // Under the store's writer lock: uncontended.
        let mut body = self.frame.lock();
        body.clear();
        let result = self.add(&mut body, id, document).and_then(|()| {
            if deadline.is_some() {
                self.add_deadline(&mut body, id, deadline);
            }
            self.log.commit(&mut body, apply)
        });
        // A huge document should not pin its size in every store.
        if body.capacity() > 1 << 16 {
            *body = Body::default();
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
        self.log.log_change(&mut body, publish)
    }

    /// Logs an index creation, which `publish` makes visible in its turn.
    pub(crate) fn create_index<R>(
        &self,
        info: &IndexInfo,
        publish: impl FnOnce() -> R,
    ) -> Result<R> {
        let mut body = Body::default();
        body.create_index(&self.store, info);
        self.log.log_change(&mut body, publish)
    }

    /// Logs an index drop, which `publish` makes visible in its turn.
    pub(crate) fn drop_index<R>(&self, name: &str, publish: impl FnOnce() -> R) -> Result<R> {
        let mut body = Body::default();
        body.drop_index(&self.store, name);
        self.log.log_change(&mut body, publish)
    }
}

/// A transaction's frame, gathered from every durable store it changes.
#[derive(Default)]
pub(crate) struct Record {
    pub(crate) log: Option<Arc<Log>>,
    pub(crate) body: Body,
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
            journal.add(&mut self.body, id, document)?;
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

    /// The log, if a durable store took part, and the frame to write to it.
    pub(crate) fn frame(&mut self) -> Option<(&Arc<Log>, &mut Body)> {
        let log = self.log.as_ref()?;
        Some((log, &mut self.body))
    }
}
