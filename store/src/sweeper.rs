//! The sweeper: a background thread per store that removes documents past
//! their deadline when nothing else does.
//!
//! Reads and writes of a store remove what is due first (see `expiry`), so a
//! busy store needs no thread; the sweeper is for an idle one, whose expired
//! documents would otherwise hold memory and never reach subscribers as
//! `Expired`. It starts when a document of the store first gets a deadline
//! (a store that never has one never starts it), sleeps until the earliest
//! deadline (at most [`Sweeping::Background`]'s `delay` at a time, so that a
//! clock moved by hand is noticed), and then removes what is due by the
//! store's ordinary expiry commits: cost in proportion to what expires. It
//! holds no strong reference to the store: dropping the store (or closing it)
//! stops the thread and waits for it to end.

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, Weak};
use std::thread::{JoinHandle, ThreadId};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::clock::{Micros, Timekeeper};
use crate::engine::Engine;

/// How a store removes documents past their deadline when nothing else
/// touches it. Either way no read ever returns such a document; this only
/// decides when it is removed (freeing its memory and telling subscribers).
///
/// ```
/// use std::time::Duration;
/// use docstore_core::{Store, Sweeping};
///
/// let store = Store::new();
/// // No thread: expired documents go at the next read or write, or `sweep()`.
/// store.set_sweeping(Sweeping::Manual);
/// store.set_sweeping(Sweeping::Background { delay: Duration::from_millis(100) });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sweeping {
    /// A background thread, started once a document has a deadline, removes
    /// each expired document within about `delay` after its deadline.
    Background {
        /// How late after a deadline the document may be removed; also how
        /// often the thread looks at the clock while it waits.
        delay: Duration,
    },
    /// No thread: expired documents are removed by the next read or write of
    /// the store, or by calling `sweep()`.
    Manual,
}

impl Default for Sweeping {
    /// A background thread with a delay of one second.
    fn default() -> Self {
        Sweeping::Background {
            delay: Duration::from_secs(1),
        }
    }
}

/// What the thread waits on.
struct Plan {
    /// At or before the earliest deadline (`u64::MAX`: none).
    next: Micros,
    stop: bool,
    sweeping: Sweeping,
}

struct Shared {
    plan: Mutex<Plan>,
    wake: Condvar,
}

/// A store's sweeper: its settings and, once started, its thread.
pub(crate) struct Sweeper<D> {
    shared: Arc<Shared>,
    target: OnceLock<Weak<Engine<D>>>,
    thread: Mutex<Option<(ThreadId, JoinHandle<()>)>>,
}

impl<D> Default for Sweeper<D> {
    fn default() -> Self {
        Sweeper {
            shared: Arc::new(Shared {
                plan: Mutex::new(Plan {
                    next: u64::MAX,
                    stop: false,
                    sweeping: Sweeping::default(),
                }),
                wake: Condvar::new(),
            }),
            target: OnceLock::new(),
            thread: Mutex::new(None),
        }
    }
}

impl<D> Sweeper<D> {
    /// Stops the thread, if any, and waits for it to end (unless this is
    /// the thread: the store's last handle was dropped while it swept).
    pub(crate) fn stop(&self) {
        self.shared.plan.lock().stop = true;
        self.shared.wake.notify_all();
        let thread = self.thread.lock().take();
        if let Some((id, handle)) = thread
            && id != std::thread::current().id()
        {
            // The thread only ends by returning; a panic in it is a bug of
            // the sweep, already reported on its own thread.
            let _ = handle.join();
        }
    }
}

impl<D> Drop for Sweeper<D> {
    fn drop(&mut self) {
        self.stop();
    }
}

impl<D: Send + Sync + 'static> Engine<D> {
    /// The engine, shared, so that its sweeper can reach it.
    pub(crate) fn shared(self) -> Arc<Engine<D>> {
        let engine = Arc::new(self);
        let _ = engine.sweeper().target.set(Arc::downgrade(&engine));
        // A clone starts with the deadlines of the store it was cloned from.
        let earliest = engine.earliest().load(Ordering::Acquire);
        if earliest != u64::MAX {
            engine.wake_sweeper(earliest);
        }
        engine
    }

    /// How this store sweeps: see [`Sweeping`].
    pub(crate) fn set_sweeping(&self, sweeping: Sweeping) {
        let sweeper = self.sweeper();
        let next = {
            let mut plan = sweeper.shared.plan.lock();
            plan.sweeping = sweeping;
            plan.next
        };
        sweeper.shared.wake.notify_all();
        match sweeping {
            Sweeping::Manual => {
                let thread = sweeper.thread.lock().take();
                if let Some((id, handle)) = thread
                    && id != std::thread::current().id()
                {
                    let _ = handle.join();
                }
            }
            Sweeping::Background { .. } => {
                if next != u64::MAX {
                    self.start_sweeper();
                }
            }
        }
    }

    /// Tells the sweeper that some document now has deadline `at`, starting
    /// it if it is not running.
    pub(crate) fn wake_sweeper(&self, at: Micros) {
        let sweeper = self.sweeper();
        let mut plan = sweeper.shared.plan.lock();
        if at >= plan.next || plan.stop {
            return;
        }
        plan.next = at;
        let background = matches!(plan.sweeping, Sweeping::Background { .. });
        drop(plan);
        if background {
            sweeper.shared.wake.notify_all();
            self.start_sweeper();
        }
    }

    #[cold]
    fn start_sweeper(&self) {
        let sweeper = self.sweeper();
        let Some(target) = sweeper.target.get() else {
            // Not shared (an engine being built): no thread to reach it.
            return;
        };
        let mut thread = sweeper.thread.lock();
        if thread.is_some() {
            return;
        }
        let shared = Arc::clone(&sweeper.shared);
        let target = Weak::clone(target);
        let time = self.timekeeper();
        let (started, running) = std::sync::mpsc::sync_channel(0);
        let spawned = std::thread::Builder::new()
            .name("docstore-sweep".to_owned())
            .spawn(move || {
                let _ = started.send(());
                run(&shared, &target, &time);
            });
        // Without a thread, expired documents still go at the next read or
        // write, or at `sweep()`.
        if let Ok(handle) = spawned {
            // Once it runs, it shows among the process's threads by name.
            let _ = running.recv();
            *thread = Some((handle.thread().id(), handle));
        }
    }
}

/// The sweeper thread: waits for the earliest deadline, removes what is due,
/// and again, until stopped or the store is gone.
fn run<D: Send + Sync + 'static>(shared: &Shared, target: &Weak<Engine<D>>, time: &Timekeeper) {
    let mut plan = shared.plan.lock();
    loop {
        let delay = match plan.sweeping {
            _ if plan.stop => return,
            Sweeping::Manual => return,
            Sweeping::Background { delay } => delay,
        };
        let now = time.now();
        if plan.next > now {
            let wait = if plan.next == u64::MAX {
                None
            } else {
                Some(Duration::from_micros(plan.next - now).min(delay.max(MIN_WAIT)))
            };
            match wait {
                Some(wait) => {
                    shared.wake.wait_for(&mut plan, wait);
                }
                None => shared.wake.wait(&mut plan),
            }
            continue;
        }
        drop(plan);
        let Some(engine) = target.upgrade() else {
            return;
        };
        if engine.sweep().is_err() {
            // Closed: nothing more to sweep.
            return;
        }
        // Read under the plan's lock: a deadline set meanwhile either shows
        // here or lowers `next` after.
        let mut after = shared.plan.lock();
        after.next = engine.earliest().load(Ordering::Acquire);
        drop(after);
        // The last handle may have gone meanwhile: the store is dropped here
        // then, and its sweeper's drop takes the plan's lock.
        drop(engine);
        plan = shared.plan.lock();
    }
}

/// The shortest wait between two looks at the clock.
const MIN_WAIT: Duration = Duration::from_millis(1);
