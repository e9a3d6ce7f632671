//! One log of change sets shared by every subscription of a store that
//! receives all of them: a commit appends its change set once, whatever the
//! number of subscribers, and each subscriber reads the log from where it is.
//!
//! Measured on a typed collection, handing each commit to 100 subscriptions
//! one by one (a lock, a push and a wake each) cost a writer about 240
//! instructions per subscription, more in time than the update itself: every
//! subscriber's buffer is a cache line the reader's thread also writes.
//!
//! Each subscriber keeps the feed's rules all the same: a bounded buffer,
//! oldest first, where what does not fit is dropped and then told as
//! [`Event::Lagged`]. Nothing is judged when a commit is heard. A subscriber
//! judges what arrived since it last looked when it next looks: only it
//! takes from its buffer, so the room its buffer had for each of them is the
//! room it had when it last looked. What it accepts stays in the log (a range
//! of positions) until it receives it.
//!
//! The log keeps the change sets that some subscriber still has to receive.
//! Every so often (amortized over as many commits as there are subscribers,
//! so a commit pays O(1)) it forgets what all have received; a subscriber
//! further behind than [`KEEP`] change sets, or the largest capacity if that
//! is more, is judged then, and what it accepted of the forgotten part is
//! copied into its own buffer: the log holds at most about as many change
//! sets as the largest buffer may, and one that never reads holds at most
//! its capacity.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::Waker;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use crate::feed::Event;

/// How many change sets the log keeps behind its newest for subscribers
/// that fell behind (at least), before it copies their share into their
/// own buffers.
const KEEP: usize = 1024;

/// A log that every subscriber of a feed reads.
pub(crate) struct Broadcast<T> {
    log: Mutex<Log<T>>,
    /// The position after the newest change set: read without the lock by
    /// subscribers, to note what arrived while they received.
    head: AtomicU64,
    /// Subscribers waiting in `recv` wait here: one condition for all.
    ready: Condvar,
    /// `T::clone`: the log hands out copies, and `Subscription<T>` has no
    /// `Clone` bound to ask for it.
    copy: fn(&T) -> T,
}

struct Log<T> {
    /// The change sets at positions `base..`, each with its sequence number.
    items: VecDeque<(u64, T)>,
    base: u64,
    /// The length at which the log next forgets what was received.
    trim_at: usize,
    readers: BTreeMap<u64, Reader<T>>,
    /// Async subscribers to wake when a change set comes.
    wakers: Vec<(u64, Waker)>,
    /// How many subscribers wait on `ready`.
    sleepers: usize,
    /// The store was closed or dropped: no more change sets come.
    ended: bool,
}

/// One subscriber's place in the log and its buffer.
struct Reader<T> {
    capacity: usize,
    /// It receives the change sets after this sequence number.
    from: u64,
    /// What it holds that left the log: lag markers, and change sets copied
    /// when the log forgot them. These come before the log range.
    held: VecDeque<Event<T>>,
    /// The log positions it accepted and has yet to receive: `next..end`.
    next: u64,
    end: u64,
    /// The log positions before this one are judged: accepted or dropped.
    judged: u64,
    /// Change sets dropped since the last one that fit.
    missed: u64,
    /// The sequence number after the last one dropped.
    next_after_missed: u64,
    /// How many events its subscription took out and has not received yet:
    /// they still take room in its buffer. What the log's trimming reads;
    /// its subscription tells exactly, with marks, when it looks.
    outside: Arc<AtomicUsize>,
}

impl<T> Reader<T> {
    /// How many events it holds, wherever they are, with `outside` of them
    /// taken out.
    fn buffered(&self, outside: usize) -> usize {
        self.held.len() + span(self.next, self.end) + outside
    }

    /// Judges the change sets that arrived since it last looked, with the
    /// room its buffer had for each: `marks` say how many events its
    /// subscription held outside the log as each stretch of the log arrived
    /// (see [`Taken`]), `outside` how many it holds now.
    fn settle(
        &mut self,
        items: &VecDeque<(u64, T)>,
        base: u64,
        copy: fn(&T) -> T,
        marks: &[(u64, usize)],
        outside: usize,
    ) {
        let head = base + items.len() as u64;
        for &(until, outside) in marks {
            self.settle_until(items, base, copy, until.min(head), outside);
        }
        self.settle_until(items, base, copy, head, outside);
    }

    /// Judges the log positions up to `head`, which arrived while its
    /// subscription held `outside` events outside the log.
    fn settle_until(
        &mut self,
        items: &VecDeque<(u64, T)>,
        base: u64,
        copy: fn(&T) -> T,
        head: u64,
        outside: usize,
    ) {
        if head <= self.judged {
            return;
        }
        let seq_at = |position: u64| items[span(base, position)].0;
        let mut position = self.judged.max(base);
        // Commits heard after it subscribed that it already holds come
        // first: commits reach the log in order.
        while position < head && seq_at(position) <= self.from {
            position += 1;
        }
        self.judged = head;
        let new = head - position;
        if new == 0 {
            return;
        }
        let room = self.capacity.saturating_sub(self.buffered(outside)) as u64;
        // After a loss, a marker saying so takes a place too.
        let accepted = match self.missed {
            0 => room.min(new),
            _ => room.saturating_sub(1).min(new),
        };
        if accepted > 0 {
            if self.missed > 0 {
                self.copy_out(items, base, self.end, copy);
                self.held.push_back(Event::Lagged {
                    missed: std::mem::take(&mut self.missed),
                    next_seq: seq_at(position),
                });
                self.next = position;
            } else if self.next == self.end {
                self.next = position;
            }
            self.end = position + accepted;
        }
        if accepted < new {
            self.missed += new - accepted;
            self.next_after_missed = seq_at(head - 1) + 1;
        }
    }

    /// Copies its accepted change sets before `until` out of the log.
    fn copy_out(&mut self, items: &VecDeque<(u64, T)>, base: u64, until: u64, copy: fn(&T) -> T) {
        let until = until.min(self.end);
        for position in self.next..until {
            self.held
                .push_back(Event::Changes(copy(&items[span(base, position)].1)));
        }
        self.next = self.next.max(until);
    }

    /// The first log position it still needs.
    fn needs(&self) -> u64 {
        match self.next < self.end {
            true => self.next.min(self.judged),
            false => self.judged,
        }
    }
}

/// The length of `from..to`, as an index.
fn span(from: u64, to: u64) -> usize {
    usize::try_from(to.saturating_sub(from)).unwrap_or(usize::MAX)
}

/// What a commit leaves for its caller to do once its locks are let go.
pub(crate) struct Pushed<T> {
    /// Async subscribers to wake.
    pub(crate) wake: Vec<Waker>,
    /// Change sets every subscriber received: dropping them may run
    /// documents' destructors (user code).
    pub(crate) forgotten: Vec<(u64, T)>,
}

impl<T> Broadcast<T> {
    /// An empty log, copying with `copy`.
    pub(crate) fn new(copy: fn(&T) -> T) -> Arc<Broadcast<T>> {
        Arc::new(Broadcast {
            log: Mutex::new(Log {
                items: VecDeque::new(),
                base: 0,
                trim_at: KEEP,
                readers: BTreeMap::new(),
                wakers: Vec::new(),
                sleepers: 0,
                ended: false,
            }),
            ready: Condvar::new(),
            head: AtomicU64::new(0),
            copy,
        })
    }

    /// Adds subscriber `id`, receiving what comes after commit `from`, with
    /// a buffer of `capacity`.
    pub(crate) fn join(self: &Arc<Self>, id: u64, from: u64, capacity: usize) -> Tap<T> {
        let outside = Arc::new(AtomicUsize::new(0));
        let mut log = self.log.lock();
        let head = log.base + log.items.len() as u64;
        log.readers.insert(
            id,
            Reader {
                capacity: capacity.max(1),
                from,
                held: VecDeque::new(),
                next: head,
                end: head,
                judged: head,
                missed: 0,
                next_after_missed: 0,
                outside: Arc::clone(&outside),
            },
        );
        drop(log);
        Tap {
            broadcast: Arc::clone(self),
            id,
            capacity: capacity.max(1),
            taken: Mutex::new(Taken {
                events: VecDeque::new(),
                marks: Vec::new(),
                seen: head,
            }),
            outside,
        }
    }

    /// Takes subscriber `id` off. Call it with no lock held: what it held,
    /// and what nobody needs now, is dropped here (documents' destructors
    /// are user code).
    pub(crate) fn leave(&self, id: u64) {
        let mut log = self.log.lock();
        let held = log.readers.remove(&id).map(|reader| reader.held);
        log.wakers.retain(|(waker, _)| *waker != id);
        let forgotten: Vec<(u64, T)> = match log.readers.is_empty() {
            true => {
                log.base += log.items.len() as u64;
                log.items.drain(..).collect()
            }
            false => Vec::new(),
        };
        drop(log);
        drop(held);
        drop(forgotten);
    }

    /// Appends commit `seq`'s change set for every subscriber.
    pub(crate) fn push(&self, seq: u64, item: T) -> Pushed<T> {
        let mut log = self.log.lock();
        log.items.push_back((seq, item));
        self.head
            .store(log.base + log.items.len() as u64, Ordering::Release);
        let forgotten = match log.items.len() >= log.trim_at {
            true => log.trim(self.copy),
            false => Vec::new(),
        };
        if log.sleepers > 0 {
            self.ready.notify_all();
        }
        let wake = match log.wakers.is_empty() {
            true => Vec::new(),
            false => log.wakers.drain(..).map(|(_, waker)| waker).collect(),
        };
        Pushed { wake, forgotten }
    }

    /// No more change sets come. Returns the async wakers to wake.
    pub(crate) fn end(&self) -> Vec<Waker> {
        let mut log = self.log.lock();
        log.ended = true;
        self.ready.notify_all();
        log.wakers.drain(..).map(|(_, waker)| waker).collect()
    }

    /// Subscriber `id`'s backlog: events buffered, its buffer's size, and
    /// change sets dropped since the last that fit.
    pub(crate) fn backlog(&self, id: u64) -> Option<(usize, usize, u64)> {
        let mut log = self.log.lock();
        let Log {
            items,
            base,
            readers,
            ..
        } = &mut *log;
        let reader = readers.get_mut(&id)?;
        let outside = reader.outside.load(Ordering::Acquire);
        reader.settle(items, *base, self.copy, &[], outside);
        Some((reader.buffered(outside), reader.capacity, reader.missed))
    }
}

impl<T> Log<T> {
    /// Forgets what every subscriber received, judging and copying out the
    /// share of those more than [`KEEP`] behind.
    fn trim(&mut self, copy: fn(&T) -> T) -> Vec<(u64, T)> {
        let head = self.base + self.items.len() as u64;
        // A subscriber may hold as many as its capacity: the log may too,
        // for the largest, without copying anything out.
        let widest = self.readers.values().map(|reader| reader.capacity).max();
        let keep = KEEP.max(widest.unwrap_or(0)) as u64;
        let keep_from = head.saturating_sub(keep).max(self.base);
        let Log {
            items,
            base,
            readers,
            ..
        } = self;
        let mut needed = head;
        for reader in readers.values_mut() {
            if reader.needs() < keep_from {
                let outside = reader.outside.load(Ordering::Acquire);
                reader.settle(items, *base, copy, &[], outside);
                reader.copy_out(items, *base, keep_from, copy);
            }
            needed = needed.min(reader.needs());
        }
        let forget = span(*base, needed);
        *base = needed;
        let forgotten = items.drain(..forget).collect();
        // The next pass after as many commits as there are subscribers (or
        // KEEP): each commit's share of the walk is O(1).
        self.trim_at = self.items.len() + KEEP.max(self.readers.len());
        forgotten
    }
}

/// How long a receive waits.
pub(crate) enum Wait {
    /// Not at all.
    No,
    /// Until the deadline, if there is one, or until an event comes.
    Until(Option<Instant>),
    /// Not at all, but the waker is woken when an event comes (async):
    /// registered under the log's lock, so none comes unseen in between.
    #[cfg(feature = "async")]
    Wake(Waker),
}

/// A subscriber's end of a [`Broadcast`].
pub(crate) struct Tap<T> {
    broadcast: Arc<Broadcast<T>>,
    id: u64,
    capacity: usize,
    taken: Mutex<Taken<T>>,
    outside: Arc<AtomicUsize>,
}

/// Events a subscription took out of the log together, to take its lock
/// once per batch rather than once per event.
///
/// They still take room in its buffer, and change sets that arrive while it
/// receives them are judged later, by the room there was when they arrived:
/// each receive that sees the log grew since the last notes how many events
/// were held out then (`marks`: the log's head, and that count).
struct Taken<T> {
    events: VecDeque<Event<T>>,
    marks: Vec<(u64, usize)>,
    /// The log's head when last noted.
    seen: u64,
}

/// What a receive found.
pub(crate) enum Received<T> {
    Event(Event<T>),
    Nothing,
    Ended,
}

impl<T> Tap<T> {
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// The next event: waits as `wait` says for one.
    pub(crate) fn receive(&self, wait: Wait) -> Received<T> {
        let mut taken = self.taken.lock();
        let taken = &mut *taken;
        if let Some(event) = self.pop(taken) {
            return Received::Event(event);
        }
        let broadcast = &*self.broadcast;
        let mut log = broadcast.log.lock();
        loop {
            if let Some(received) = self.look(&mut log, taken) {
                return received;
            }
            let deadline = match &wait {
                Wait::No => return Received::Nothing,
                Wait::Until(deadline) => *deadline,
                #[cfg(feature = "async")]
                Wait::Wake(waker) => {
                    let id = self.id;
                    match log.wakers.iter_mut().find(|(reader, _)| *reader == id) {
                        Some((_, registered)) => registered.clone_from(waker),
                        None => log.wakers.push((id, waker.clone())),
                    }
                    return Received::Nothing;
                }
            };
            log.sleepers += 1;
            let timed_out = match deadline {
                Some(deadline) => broadcast.ready.wait_until(&mut log, deadline).timed_out(),
                None => {
                    broadcast.ready.wait(&mut log);
                    false
                }
            };
            log.sleepers -= 1;
            if timed_out {
                // One last look, as a channel's receive does.
                return self.look(&mut log, taken).unwrap_or(Received::Nothing);
            }
        }
    }

    /// Takes out of the log everything it holds there, judging first what
    /// arrived since it last looked; the first event, if any.
    fn look(&self, log: &mut Log<T>, taken: &mut Taken<T>) -> Option<Received<T>> {
        let copy = self.broadcast.copy;
        let Log {
            items,
            base,
            readers,
            ended,
            ..
        } = log;
        let Some(reader) = readers.get_mut(&self.id) else {
            return Some(Received::Ended);
        };
        reader.settle(items, *base, copy, &taken.marks, 0);
        taken.marks.clear();
        taken.seen = *base + items.len() as u64;
        taken.events.extend(reader.held.drain(..));
        reader.copy_out(items, *base, reader.end, copy);
        taken.events.extend(reader.held.drain(..));
        self.outside.store(taken.events.len(), Ordering::Release);
        if let Some(event) = self.pop(taken) {
            return Some(Received::Event(event));
        }
        if reader.missed > 0 {
            return Some(Received::Event(Event::Lagged {
                missed: std::mem::take(&mut reader.missed),
                next_seq: reader.next_after_missed,
            }));
        }
        ended.then_some(Received::Ended)
    }

    /// The next event taken out, noting first whether the log grew.
    fn pop(&self, taken: &mut Taken<T>) -> Option<Event<T>> {
        if taken.events.is_empty() {
            return None;
        }
        let head = self.broadcast.head.load(Ordering::Acquire);
        if head != taken.seen {
            taken.marks.push((head, taken.events.len()));
            taken.seen = head;
        }
        let event = taken.events.pop_front();
        self.outside.store(taken.events.len(), Ordering::Release);
        event
    }

    /// How many events it holds now.
    pub(crate) fn len(&self) -> usize {
        let mut taken = self.taken.lock();
        let taken = &mut *taken;
        let mut log = self.broadcast.log.lock();
        let Log {
            items,
            base,
            readers,
            ..
        } = &mut *log;
        let Some(reader) = readers.get_mut(&self.id) else {
            return taken.events.len();
        };
        let outside = taken.events.len();
        reader.settle(items, *base, self.broadcast.copy, &taken.marks, outside);
        taken.marks.clear();
        taken.seen = *base + items.len() as u64;
        reader.buffered(outside)
    }
}
