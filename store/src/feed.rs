//! The change feed: every committed change set, in commit order, to whoever
//! subscribed.
//!
//! Data flows one way: a commit hands its changes to [`Feed::heard`] (through
//! `Sequence::committed`, after every lock is released) and the feed puts them
//! in each subscription's bounded buffer. Commits of one store are serialized
//! by its writer lock but may reach the feed out of order (their threads race
//! once the lock is let go), so each commit names the sequence number of the
//! store's commit before it and the feed delivers them along that chain: in
//! commit order, none twice, none left out.
//!
//! A subscriber never slows a writer: a full buffer drops what does not fit
//! and tells the subscriber how much it missed ([`Event::Lagged`]). Wakers run
//! after every lock is released.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Waker;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::broadcast::{Broadcast, Received, Tap, Wait};
use crate::commit::{self, Commit};

use crate::engine::{Engine, State};
use crate::index::IndexDef;
use crate::watch::{self, Filter, Touched, Watches};
use crate::{Error, Id, Result, Versioned};

/// How many change sets a subscription holds before it lags, unless told
/// otherwise.
pub const DEFAULT_BUFFER: usize = 1024;

/// What one commit did to one document.
#[derive(Clone)]
#[non_exhaustive]
pub enum Change<D> {
    /// The document was inserted.
    Inserted(Versioned<D>),
    /// The document was replaced: the version before and the one after.
    Updated {
        /// The version replaced.
        old: Versioned<D>,
        /// The version stored.
        new: Versioned<D>,
    },
    /// The document was deleted; this is the version it had.
    Deleted(Versioned<D>),
    /// The document's deadline passed and it was removed; this is the version
    /// it had.
    Expired(Versioned<D>),
    /// The store was at its capacity and the document was evicted to make
    /// room (see [`Store::set_capacity`](crate::Store::set_capacity)); this is
    /// the version it had.
    Evicted(Versioned<D>),
}

impl<D> Change<D> {
    /// The id of the document changed.
    pub fn id(&self) -> Id {
        match self {
            Change::Inserted(new) | Change::Updated { new, .. } => new.id(),
            Change::Deleted(old) | Change::Expired(old) | Change::Evicted(old) => old.id(),
        }
    }

    /// The version before the change, if the document existed.
    pub fn before(&self) -> Option<&Versioned<D>> {
        match self {
            Change::Inserted(_) => None,
            Change::Updated { old, .. }
            | Change::Deleted(old)
            | Change::Expired(old)
            | Change::Evicted(old) => Some(old),
        }
    }

    /// The version after the change, if the document still exists.
    pub fn after(&self) -> Option<&Versioned<D>> {
        match self {
            Change::Inserted(new) | Change::Updated { new, .. } => Some(new),
            Change::Deleted(_) | Change::Expired(_) | Change::Evicted(_) => None,
        }
    }

    fn from_commit(change: commit::Change<D>, expired: bool, evicted: bool) -> Option<Change<D>> {
        match (change.old, change.new) {
            (None, Some(new)) => Some(Change::Inserted(new)),
            (Some(old), Some(new)) => Some(Change::Updated { old, new }),
            (Some(old), None) if expired => Some(Change::Expired(old)),
            (Some(old), None) if evicted => Some(Change::Evicted(old)),
            (Some(old), None) => Some(Change::Deleted(old)),
            (None, None) => None,
        }
    }
}

impl<D: fmt::Debug> fmt::Debug for Change<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Inserted(new) => f.debug_tuple("Inserted").field(new).finish(),
            Change::Updated { old, new } => f
                .debug_struct("Updated")
                .field("old", old)
                .field("new", new)
                .finish(),
            Change::Deleted(old) => f.debug_tuple("Deleted").field(old).finish(),
            Change::Expired(old) => f.debug_tuple("Expired").field(old).finish(),
            Change::Evicted(old) => f.debug_tuple("Evicted").field(old).finish(),
        }
    }
}

/// Everything one commit changed in one store: one write, or a whole
/// transaction's share of it. Cheap to clone.
pub struct ChangeSet<D> {
    seq: u64,
    changes: Arc<[Change<D>]>,
}

impl<D> Clone for ChangeSet<D> {
    fn clone(&self) -> Self {
        ChangeSet {
            seq: self.seq,
            changes: Arc::clone(&self.changes),
        }
    }
}

impl<D> ChangeSet<D> {
    pub(crate) fn from_commit(mut commit: Commit<D>) -> ChangeSet<D> {
        let (expired, evicted) = (commit.expired, commit.evicted);
        // A single write, the common case, makes one allocation, not a
        // vector copied into an `Arc` (about 600 instructions a commit).
        let changes: Arc<[Change<D>]> = match (commit.changes.pop(), commit.changes.is_empty()) {
            (Some(change), true) => match Change::from_commit(change, expired, evicted) {
                Some(change) => Arc::new([change]),
                None => Arc::new([]),
            },
            (last, _) => commit
                .changes
                .into_iter()
                .chain(last)
                .filter_map(|change| Change::from_commit(change, expired, evicted))
                .collect(),
        };
        ChangeSet {
            seq: commit.seq,
            changes,
        }
    }

    /// The commit's sequence number: its place in the commit order.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Each document changed, once, in id order.
    pub fn changes(&self) -> &[Change<D>] {
        &self.changes
    }

    /// Whether it changed nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

impl<D: fmt::Debug> fmt::Debug for ChangeSet<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangeSet")
            .field("seq", &self.seq)
            .field("changes", &self.changes)
            .finish()
    }
}

/// What a [`Subscription`] receives.
#[derive(Clone, Debug)]
pub enum Event<T> {
    /// The next change set, in commit order.
    Changes(T),
    /// The subscription's buffer was full and change sets were dropped: it
    /// missed `missed` of them, and the next one it receives has a sequence
    /// number of at least `next_seq`. To start again from a known state, take
    /// a fresh snapshot and subscription (`resync`).
    Lagged {
        /// How many change sets were dropped.
        missed: u64,
        /// Where the feed goes on: every change set from here on arrives.
        next_seq: u64,
    },
}

/// The buffer between a feed and one subscriber.
pub(crate) struct Channel<T> {
    queue: Mutex<Queue<T>>,
    ready: Condvar,
}

struct Queue<T> {
    events: VecDeque<Event<T>>,
    capacity: usize,
    /// Change sets dropped since the last one that fit.
    missed: u64,
    /// The sequence number after the last one dropped.
    next_after_missed: u64,
    /// The store was closed or dropped: no more change sets come.
    ended: bool,
    waker: Option<Waker>,
}

impl<T> Channel<T> {
    pub(crate) fn new(capacity: usize) -> Arc<Channel<T>> {
        Arc::new(Channel {
            queue: Mutex::new(Queue {
                events: VecDeque::new(),
                capacity: capacity.max(1),
                missed: 0,
                next_after_missed: 0,
                ended: false,
                waker: None,
            }),
            ready: Condvar::new(),
        })
    }

    /// Adds `item`, commit `seq`, or counts it missed if the buffer is full.
    /// Returns the async waker to wake once the caller's locks are let go.
    /// Never blocks on the subscriber.
    pub(crate) fn push(&self, seq: u64, item: T) -> Option<Waker> {
        let mut queue = self.queue.lock();
        // A marker saying what was missed takes a place too.
        let needed = if queue.missed > 0 { 2 } else { 1 };
        if queue.events.len() + needed > queue.capacity {
            queue.missed += 1;
            queue.next_after_missed = seq + 1;
            // `item` only clones what the committer still holds: dropping it
            // here runs no document's destructor.
            drop(item);
            return None;
        }
        if queue.missed > 0 {
            let missed = std::mem::take(&mut queue.missed);
            queue.events.push_back(Event::Lagged {
                missed,
                next_seq: seq,
            });
        }
        queue.events.push_back(Event::Changes(item));
        self.ready.notify_one();
        queue.waker.take()
    }

    /// No more change sets come.
    pub(crate) fn end(&self) -> Option<Waker> {
        let mut queue = self.queue.lock();
        queue.ended = true;
        self.ready.notify_all();
        queue.waker.take()
    }
}

impl<T> Queue<T> {
    fn next(&mut self) -> Option<Event<T>> {
        if let Some(event) = self.events.pop_front() {
            return Some(event);
        }
        if self.missed > 0 {
            return Some(Event::Lagged {
                missed: std::mem::take(&mut self.missed),
                next_seq: self.next_after_missed,
            });
        }
        None
    }
}

/// Unregisters a subscription from its feed when it is dropped.
pub(crate) trait Detach: Send + Sync {
    fn detach(&self, subscriber: u64);
}

/// A stream of the change sets committed after it was taken, in commit order.
///
/// Take one with `subscribe` on a [`Store`](crate::Store),
/// [`Collection`](crate::Collection) or [`Db`](crate::Db), or with their
/// `watch` methods for only the change sets that change one query's result.
/// Receive with [`recv`](Self::recv), [`recv_timeout`](Self::recv_timeout),
/// [`try_recv`](Self::try_recv), as an [`Iterator`], or (with the `async`
/// feature) as a `futures_core::Stream`. It ends, after handing out what it
/// holds, when its store is closed or dropped. Dropping it unsubscribes.
///
/// ```
/// use docstore_core::{Change, Event, Store};
/// use serde_json::json;
///
/// let store = Store::new();
/// let changes = store.subscribe()?;
/// let id = store.insert(json!({"n": 1}))?;
/// store.delete(id)?;
/// let Some(Event::Changes(set)) = changes.try_recv()? else { panic!() };
/// assert!(matches!(set.changes(), [Change::Inserted(doc)] if doc.id() == id));
/// let Some(Event::Changes(set)) = changes.try_recv()? else { panic!() };
/// assert!(matches!(set.changes(), [Change::Deleted(doc)] if doc.id() == id));
/// assert!(changes.try_recv()?.is_none());
/// # Ok::<(), docstore_core::Error>(())
/// ```
pub struct Subscription<T> {
    source: Source<T>,
    id: u64,
    feed: Arc<dyn Detach>,
    start: u64,
}

/// Where a subscription's events come from.
enum Source<T> {
    /// A buffer of its own, which the feed fills.
    Channel(Arc<Channel<T>>),
    /// The log every subscriber to everything reads.
    Tap(Tap<T>),
}

impl<T> Subscription<T> {
    pub(crate) fn new(
        channel: Arc<Channel<T>>,
        id: u64,
        feed: Arc<dyn Detach>,
        start: u64,
    ) -> Self {
        Subscription {
            source: Source::Channel(channel),
            id,
            feed,
            start,
        }
    }

    fn tap(tap: Tap<T>, id: u64, feed: Arc<dyn Detach>, start: u64) -> Self {
        Subscription {
            source: Source::Tap(tap),
            id,
            feed,
            start,
        }
    }

    /// The sequence number of the last commit before the subscription began:
    /// it receives the change sets after it.
    pub fn start_seq(&self) -> u64 {
        self.start
    }

    /// The next event, waiting for one if none is buffered. Fails with
    /// [`Error::Closed`] once the store is closed or dropped and everything
    /// buffered was received.
    pub fn recv(&self) -> Result<Event<T>> {
        let channel = match &self.source {
            Source::Channel(channel) => channel,
            Source::Tap(tap) => loop {
                match tap.receive(Wait::Until(None)) {
                    Received::Event(event) => return Ok(event),
                    Received::Ended => return Err(Error::Closed),
                    Received::Nothing => {}
                }
            },
        };
        let mut queue = channel.queue.lock();
        loop {
            if let Some(event) = queue.next() {
                return Ok(event);
            }
            if queue.ended {
                return Err(Error::Closed);
            }
            channel.ready.wait(&mut queue);
        }
    }

    /// The next event, waiting at most `timeout`; `None` if none came.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Option<Event<T>>> {
        let deadline = Instant::now().checked_add(timeout);
        let channel = match &self.source {
            Source::Channel(channel) => channel,
            Source::Tap(tap) => return received(tap.receive(Wait::Until(deadline))),
        };
        let mut queue = channel.queue.lock();
        loop {
            if let Some(event) = queue.next() {
                return Ok(Some(event));
            }
            if queue.ended {
                return Err(Error::Closed);
            }
            match deadline {
                Some(deadline) => {
                    if channel.ready.wait_until(&mut queue, deadline).timed_out() {
                        return Ok(queue.next());
                    }
                }
                None => channel.ready.wait(&mut queue),
            }
        }
    }

    /// The next event if one is buffered, without waiting.
    pub fn try_recv(&self) -> Result<Option<Event<T>>> {
        let channel = match &self.source {
            Source::Channel(channel) => channel,
            Source::Tap(tap) => return received(tap.receive(Wait::No)),
        };
        let mut queue = channel.queue.lock();
        match queue.next() {
            Some(event) => Ok(Some(event)),
            None if queue.ended => Err(Error::Closed),
            None => Ok(None),
        }
    }

    /// How many change sets it holds unread before it lags.
    pub fn capacity(&self) -> usize {
        match &self.source {
            Source::Channel(channel) => channel.queue.lock().capacity,
            Source::Tap(tap) => tap.capacity(),
        }
    }

    /// How many events are buffered now.
    pub fn len(&self) -> usize {
        match &self.source {
            Source::Channel(channel) => channel.queue.lock().events.len(),
            Source::Tap(tap) => tap.len(),
        }
    }

    /// Whether no event is buffered now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Nothing in it is pinned: it holds events by value only in a buffer
/// behind a lock, never across a poll.
impl<T> Unpin for Subscription<T> {}

/// A receive from the shared log, as the channel's receives answer.
fn received<T>(received: Received<T>) -> Result<Option<Event<T>>> {
    match received {
        Received::Event(event) => Ok(Some(event)),
        Received::Nothing => Ok(None),
        Received::Ended => Err(Error::Closed),
    }
}

/// Blocks for each event; ends when the store is closed or dropped.
impl<T> Iterator for Subscription<T> {
    type Item = Event<T>;

    fn next(&mut self) -> Option<Event<T>> {
        self.recv().ok()
    }
}

impl<T> Drop for Subscription<T> {
    fn drop(&mut self) {
        self.feed.detach(self.id);
    }
}

impl<T> fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("start_seq", &self.start)
            .field("buffered", &self.len())
            .finish()
    }
}

#[cfg(feature = "async")]
impl<T> futures_core::Stream for Subscription<T> {
    type Item = Event<T>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Event<T>>> {
        let channel = match &self.source {
            Source::Channel(channel) => channel,
            Source::Tap(tap) => {
                return match tap.receive(Wait::Wake(cx.waker().clone())) {
                    Received::Event(event) => std::task::Poll::Ready(Some(event)),
                    Received::Ended => std::task::Poll::Ready(None),
                    Received::Nothing => std::task::Poll::Pending,
                };
            }
        };
        let mut queue = channel.queue.lock();
        if let Some(event) = queue.next() {
            return std::task::Poll::Ready(Some(event));
        }
        if queue.ended {
            return std::task::Poll::Ready(None);
        }
        queue.waker = Some(cx.waker().clone());
        std::task::Poll::Pending
    }
}

/// One subscriber of a store's feed.
struct Subscriber<D> {
    /// It receives the commits after this one.
    from: u64,
    /// Its own buffer (a watch's); none for a subscriber to everything,
    /// which reads the hub's shared log.
    channel: Option<Arc<Channel<ChangeSet<D>>>>,
    filter: Filter<D>,
}

/// A store's feed: its subscribers, and the commits heard out of order.
pub(crate) struct Feed<D> {
    core: Arc<Core<D>>,
}

struct Core<D> {
    /// Whether anyone subscribes: a commit with nobody to tell builds nothing.
    active: AtomicBool,
    /// Whether any subscriber is a watch: a commit with none works out no
    /// keys, and takes the hub's lock once.
    watching: AtomicBool,
    hub: Mutex<Hub<D>>,
}

/// A commit as the feed heard it, with the keys its documents had and have
/// in the watched indexes.
struct Heard<D> {
    /// The sequence number of the store's commit before this one.
    prev: u64,
    set: ChangeSet<D>,
    /// None when no watch was there to ask.
    indexes: Option<Arc<[Arc<IndexDef<D>>]>>,
    touched: Touched,
}

struct Hub<D> {
    /// The sequence number of the last commit delivered.
    delivered: u64,
    /// Commits heard before the one they follow, by that one's number.
    early: BTreeMap<u64, Heard<D>>,
    subscribers: BTreeMap<u64, Subscriber<D>>,
    /// Where the subscribers that receive every change set (not watches)
    /// read them: a commit appends once, however many they are, and walks
    /// only the watches it matches.
    everything: Arc<Broadcast<ChangeSet<D>>>,
    /// How many read it.
    listeners: usize,
    watches: Watches<D>,
    next_id: u64,
    ended: bool,
}

impl<D> Default for Feed<D> {
    fn default() -> Self {
        Feed {
            core: Arc::new(Core {
                active: AtomicBool::new(false),
                watching: AtomicBool::new(false),
                hub: Mutex::new(Hub {
                    delivered: 0,
                    early: BTreeMap::new(),
                    subscribers: BTreeMap::new(),
                    everything: Broadcast::new(ChangeSet::clone),
                    listeners: 0,
                    watches: Watches::default(),
                    next_id: 0,
                    ended: false,
                }),
            }),
        }
    }
}

impl<D> Feed<D> {
    /// Each subscription's backlog: change sets buffered, the buffer's size,
    /// and change sets dropped since the last that fit (see `stats`).
    pub(crate) fn backlogs(&self) -> Vec<(usize, usize, u64)> {
        let hub = self.core.hub.lock();
        hub.subscribers
            .iter()
            .filter_map(|(id, subscriber)| match &subscriber.channel {
                Some(channel) => {
                    let queue = channel.queue.lock();
                    Some((queue.events.len(), queue.capacity, queue.missed))
                }
                None => hub.everything.backlog(*id),
            })
            .collect()
    }
}

impl<D: Send + Sync + 'static> Feed<D> {
    /// Whether a commit must tell this feed. Read under the writer lock, so
    /// that a subscription taken before the commit hears it.
    #[inline]
    pub(crate) fn is_active(&self) -> bool {
        self.core.active.load(Ordering::Acquire)
    }

    /// Adds a subscriber that receives the commits after `last`, the sequence
    /// number of the state the caller holds the writer lock on.
    pub(crate) fn subscribe(
        &self,
        last: u64,
        capacity: usize,
        filter: Filter<D>,
    ) -> Subscription<ChangeSet<D>> {
        let mut hub = self.core.hub.lock();
        if hub.subscribers.is_empty() {
            // Nobody listened: commits up to `last` were not told, so the
            // chain starts again here.
            hub.delivered = last;
            hub.early.clear();
        }
        let id = hub.next_id;
        hub.next_id += 1;
        hub.watches.add(id, &filter);
        let feed = Arc::clone(&self.core) as Arc<dyn Detach>;
        let (channel, subscription) = match filter {
            Filter::All => {
                hub.listeners += 1;
                let tap = hub.everything.join(id, last, capacity);
                (None, Subscription::tap(tap, id, feed, last))
            }
            _ => {
                let channel = Channel::new(capacity);
                if hub.ended {
                    channel.end();
                }
                let subscription = Subscription::new(Arc::clone(&channel), id, feed, last);
                (Some(channel), subscription)
            }
        };
        hub.subscribers.insert(
            id,
            Subscriber {
                from: last,
                channel,
                filter,
            },
        );
        self.core.active.store(true, Ordering::Release);
        let watching = !hub.watches.is_empty();
        self.core.watching.store(watching, Ordering::Release);
        drop(hub);
        subscription
    }

    /// Hears a published commit, after every lock is released, and delivers
    /// it (and any it was holding back) in commit order.
    pub(crate) fn heard(&self, prev: u64, set: ChangeSet<D>) {
        if !self.is_active() {
            return;
        }
        // Read as `is_active` is: a watch taken before the commit is seen.
        let indexes = match self.core.watching.load(Ordering::Acquire) {
            true => Some(self.core.hub.lock().watches.indexes()),
            false => None,
        };
        // Key sources may be user code: their keys are worked out here,
        // outside every lock.
        let touched = match &indexes {
            Some(indexes) if !indexes.is_empty() => watch::touched(indexes, &set),
            _ => Vec::new(),
        };
        let heard = Heard {
            prev,
            set,
            indexes,
            touched,
        };
        let mut wake = Vec::new();
        let mut done = Vec::new();
        let mut before = None;
        let mut hub = self.core.hub.lock();
        if heard.set.seq <= hub.delivered {
            // Committed before anyone subscribed.
            before = Some(heard);
        } else if heard.prev != hub.delivered {
            hub.early.insert(heard.prev, heard);
        } else {
            let mut next = Some(heard);
            while let Some(heard) = next {
                hub.delivered = heard.set.seq;
                hub.deliver(heard, &mut wake, &mut done);
                let delivered = hub.delivered;
                next = hub.early.remove(&delivered);
            }
        }
        drop(hub);
        for waker in wake {
            waker.wake();
        }
        // The documents' destructors (user code) run after every lock too.
        drop(done);
        drop(before);
    }
}

impl<D> Hub<D> {
    fn deliver(&mut self, heard: Heard<D>, wake: &mut Vec<Waker>, done: &mut Vec<ChangeSet<D>>) {
        let Heard {
            set,
            indexes,
            touched,
            ..
        } = heard;
        if set.is_empty() {
            return;
        }
        let seq = set.seq;
        if self.listeners > 0 {
            let pushed = self.everything.push(seq, set.clone());
            wake.extend(pushed.wake);
            done.extend(pushed.forgotten.into_iter().map(|(_, set)| set));
        }
        if !self.watches.is_empty() {
            let indexes = indexes.as_deref().unwrap_or(&[]);
            for id in self.watches.matching(indexes, &touched) {
                if let Some(subscriber) = self.subscribers.get(&id)
                    && let Some(channel) = &subscriber.channel
                    && seq > subscriber.from
                    && let Some(waker) = channel.push(seq, set.clone())
                {
                    wake.push(waker);
                }
            }
        }
        done.push(set);
    }
}

impl<D: Send + Sync + 'static> Detach for Core<D> {
    fn detach(&self, subscriber: u64) {
        let mut hub = self.hub.lock();
        let removed = hub.subscribers.remove(&subscriber);
        let mut left = None;
        if let Some(removed) = &removed {
            hub.watches.remove(subscriber, &removed.filter);
            if removed.channel.is_none() {
                hub.listeners -= 1;
                left = Some(Arc::clone(&hub.everything));
            }
        }
        self.watching
            .store(!hub.watches.is_empty(), Ordering::Release);
        let mut early = BTreeMap::new();
        if hub.subscribers.is_empty() {
            self.active.store(false, Ordering::Release);
            // What was held back is for nobody now.
            early = std::mem::take(&mut hub.early);
        }
        // Documents' destructors (user code) run after every lock.
        drop(hub);
        drop(early);
        drop(removed);
        if let Some(everything) = left {
            everything.leave(subscriber);
        }
    }
}

impl<D> Feed<D> {
    /// Ends every subscription: the store is closed or dropped.
    pub(crate) fn end(&self) {
        let mut hub = self.core.hub.lock();
        hub.ended = true;
        let mut wake: Vec<Waker> = hub
            .subscribers
            .values()
            .filter_map(|subscriber| subscriber.channel.as_ref()?.end())
            .collect();
        wake.extend(hub.everything.end());
        drop(hub);
        for waker in wake {
            waker.wake();
        }
    }
}

impl<D> Drop for Feed<D> {
    fn drop(&mut self) {
        self.end();
    }
}

/// A state and a subscription starting exactly after it.
pub(crate) type Aligned<D> = (Arc<State<D>>, Subscription<ChangeSet<D>>);

/// Where a store's subscriptions start: under its writer lock, so that the
/// subscription and the state it starts after are one moment.
impl<D: Send + Sync + 'static> Engine<D> {
    pub(crate) fn subscribe_with(
        &self,
        capacity: usize,
        filter: impl FnOnce(&State<D>) -> Result<Filter<D>>,
    ) -> Result<Aligned<D>> {
        let writer = self.lock_writer();
        if writer.is_closed() {
            return Err(Error::Closed);
        }
        let state = Arc::clone(writer.state());
        let filter = filter(&state)?;
        let subscription = self.feed().subscribe(state.seq, capacity, filter);
        drop(writer);
        Ok((state, subscription))
    }
}
