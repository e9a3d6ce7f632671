//! A database's change feed: every commit of any of its stores, in the
//! database's commit order, as one change set per commit.
//!
//! Commits of different stores run in parallel, so they reach the feed in any
//! order, and a transaction reaches it once per store it changed. The feed
//! gathers each commit's parts and delivers commits by sequence number, which
//! has no gaps in a database: in commit order, each whole, none missing.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Waker;

use parking_lot::Mutex;

use crate::feed::{Channel, Detach, Subscription};
use crate::{ChangeSet, Collection, Indexed, Object, Store};

/// One commit across a [`Db`](crate::Db): what it changed in each store.
/// Cheap to clone.
#[derive(Clone)]
pub struct DbChangeSet {
    seq: u64,
    parts: Arc<[Part]>,
}

#[derive(Clone)]
struct Part {
    address: usize,
    /// A `ChangeSet<D>` of the store's document type.
    set: Arc<dyn Any + Send + Sync>,
}

impl DbChangeSet {
    /// The commit's sequence number: gapless across the database.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// How many stores and collections it changed.
    pub fn stores(&self) -> usize {
        self.parts.len()
    }

    fn part<D: Send + Sync + 'static>(&self, address: usize) -> Option<ChangeSet<D>> {
        self.parts
            .iter()
            .find(|part| part.address == address)
            .and_then(|part| part.set.downcast_ref::<ChangeSet<D>>())
            .cloned()
    }

    /// What it changed in `store`, if anything.
    pub fn store(&self, store: &Store) -> Option<ChangeSet<Object>> {
        self.part(store.engine().address())
    }

    /// What it changed in `collection`, if anything.
    pub fn collection<T: Indexed>(&self, collection: &Collection<T>) -> Option<ChangeSet<T>> {
        self.part(collection.engine().address())
    }
}

impl fmt::Debug for DbChangeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbChangeSet")
            .field("seq", &self.seq)
            .field("stores", &self.parts.len())
            .finish()
    }
}

/// A database's feed.
#[derive(Default)]
pub(crate) struct DbFeed {
    core: Arc<Core>,
}

#[derive(Default)]
struct Core {
    active: AtomicBool,
    hub: Mutex<Hub>,
}

#[derive(Default)]
struct Hub {
    delivered: u64,
    /// Commits heard ahead of their turn, or not yet whole: the parts still
    /// to come, and those heard.
    waiting: BTreeMap<u64, (usize, Vec<Part>)>,
    subscribers: BTreeMap<u64, (u64, Arc<Channel<DbChangeSet>>)>,
    next_id: u64,
}

impl DbFeed {
    /// Whether commits must tell the feed. Read after a commit took its
    /// number, so a subscription taken before that hears it.
    #[inline]
    pub(crate) fn is_active(&self) -> bool {
        self.core.active.load(Ordering::Acquire)
    }

    /// Adds a subscriber receiving the commits after `last`; the caller holds
    /// the database's publish gate, so no commit is halfway.
    pub(crate) fn subscribe(&self, last: u64, capacity: usize) -> Subscription<DbChangeSet> {
        let channel = Channel::new(capacity);
        let mut hub = self.core.hub.lock();
        let stale = if hub.subscribers.is_empty() {
            hub.delivered = last;
            std::mem::take(&mut hub.waiting)
        } else {
            BTreeMap::new()
        };
        let id = hub.next_id;
        hub.next_id += 1;
        hub.subscribers.insert(id, (last, Arc::clone(&channel)));
        self.core.active.store(true, Ordering::Release);
        drop(hub);
        drop(stale);
        Subscription::new(channel, id, Arc::clone(&self.core) as Arc<dyn Detach>, last)
    }

    /// Hears one store's part of commit `seq`, which changed `parts` stores.
    pub(crate) fn heard<D: Send + Sync + 'static>(
        &self,
        seq: u64,
        parts: usize,
        address: usize,
        set: ChangeSet<D>,
    ) {
        let part = Part {
            address,
            set: if set.is_empty() {
                Arc::new(Empty)
            } else {
                Arc::new(set)
            },
        };
        self.arrive(seq, parts, part);
    }

    /// Hears that commit `seq` changed no document (a durable database's
    /// store or index made or dropped, which its log numbers as a commit):
    /// subscribers see nothing of it, and the commits after it flow on.
    pub(crate) fn skip(&self, seq: u64) {
        let part = Part {
            address: 0,
            set: Arc::new(Empty),
        };
        self.arrive(seq, 1, part);
    }

    fn arrive(&self, seq: u64, parts: usize, part: Part) {
        let mut wake = Vec::new();
        let mut done = Vec::new();
        let mut hub = self.core.hub.lock();
        if seq <= hub.delivered {
            drop(hub);
            return;
        }
        let waiting = hub.waiting.entry(seq).or_insert((parts, Vec::new()));
        waiting.0 = waiting.0.saturating_sub(1);
        waiting.1.push(part);
        loop {
            let next = hub.delivered + 1;
            match hub.waiting.get(&next) {
                Some((0, _)) => {}
                _ => break,
            }
            let Some((_, parts)) = hub.waiting.remove(&next) else {
                break;
            };
            hub.delivered = next;
            let parts: Vec<Part> = parts
                .into_iter()
                .filter(|part| {
                    // A store's part that changed nothing is left out.
                    !is_empty_part(part)
                })
                .collect();
            if parts.is_empty() {
                continue;
            }
            let set = DbChangeSet {
                seq: next,
                parts: parts.into(),
            };
            for (from, channel) in hub.subscribers.values() {
                if next > *from
                    && let Some(waker) = channel.push(next, set.clone())
                {
                    wake.push(waker);
                }
            }
            done.push(set);
        }
        drop(hub);
        for waker in wake {
            waker.wake();
        }
        drop(done);
    }

    /// Ends every subscription: the database is dropped.
    fn end(&self) {
        let hub = self.core.hub.lock();
        let wake: Vec<Waker> = hub
            .subscribers
            .values()
            .filter_map(|(_, channel)| channel.end())
            .collect();
        drop(hub);
        for waker in wake {
            waker.wake();
        }
    }
}

/// Whether a part changed nothing. Parts hold `ChangeSet<D>` of unknown
/// `D`; an empty one is recorded as such when heard.
fn is_empty_part(part: &Part) -> bool {
    part.set.downcast_ref::<Empty>().is_some()
}

/// Stands in for a store's part that changed nothing.
struct Empty;

impl Drop for DbFeed {
    fn drop(&mut self) {
        self.end();
    }
}

impl Detach for Core {
    fn detach(&self, subscriber: u64) {
        let mut hub = self.hub.lock();
        hub.subscribers.remove(&subscriber);
        let stale = if hub.subscribers.is_empty() {
            self.active.store(false, Ordering::Release);
            std::mem::take(&mut hub.waiting)
        } else {
            BTreeMap::new()
        };
        drop(hub);
        drop(stale);
    }
}
