//! Where a store's time comes from: the system clock by default, a clock the
//! caller moves by hand in tests, so that expiry is tested without sleeping.

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

/// A source of the current time for a store's deadlines.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system clock: what a store uses unless built with another.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told to: for tests of expiry.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use docstore_core::{Clock, ManualClock};
///
/// let clock = ManualClock::new(UNIX_EPOCH);
/// clock.advance(Duration::from_secs(5));
/// assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_secs(5));
/// ```
#[derive(Clone)]
pub struct ManualClock {
    now: Arc<Mutex<SystemTime>>,
}

impl ManualClock {
    /// A clock showing `start`. Clones share one time.
    pub fn new(start: SystemTime) -> ManualClock {
        ManualClock {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Sets the time, forwards or back.
    pub fn set(&self, now: SystemTime) {
        *self.now.lock() = now;
    }

    /// Moves the time forwards by `by` (saturating at the far future).
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock();
        *now = now.checked_add(by).unwrap_or(*now);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock()
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ManualClock").field(&self.now()).finish()
    }
}

/// A time as a store keeps it: microseconds since the Unix epoch.
pub(crate) type Micros = u64;

#[inline]
pub(crate) fn micros(time: SystemTime) -> Micros {
    // Seconds and microseconds apart: `as_micros` would multiply in 128 bits
    // on every read of the clock.
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        since
            .as_secs()
            .saturating_mul(1_000_000)
            .saturating_add(u64::from(since.subsec_micros()))
    })
}

/// Where a timekeeper reads the time.
enum Source {
    /// The system clock, read with no dynamic call.
    System,
    Other(Arc<dyn Clock>),
}

/// A store's view of its clock, which never goes back: once a time hid a
/// document, a clock stepping back cannot bring the document back.
pub(crate) struct Timekeeper {
    source: Source,
    /// The latest time that found some deadline passed.
    latest: AtomicU64,
}

impl Timekeeper {
    pub(crate) fn new(clock: Arc<dyn Clock>) -> Timekeeper {
        Timekeeper {
            source: Source::Other(clock),
            latest: AtomicU64::new(0),
        }
    }

    /// The time now, never before a time noted, without noting it.
    #[inline]
    pub(crate) fn read(&self) -> Micros {
        let now = match &self.source {
            Source::System => micros(SystemTime::now()),
            Source::Other(clock) => micros(clock.now()),
        };
        now.max(self.latest.load(Ordering::Acquire))
    }

    /// The time now, never before a time that found a deadline passed;
    /// noted as such, for what reads it to hide what is due then.
    pub(crate) fn now(&self) -> Micros {
        let now = self.read();
        self.latest.fetch_max(now, Ordering::AcqRel).max(now)
    }

    /// Notes `now`, a time [`read`](Self::read) that found a deadline
    /// passed, for reads to hide what is due then from then on.
    pub(crate) fn note(&self, now: Micros) {
        self.latest.fetch_max(now, Ordering::AcqRel);
    }

    /// The time now if it is at or after `deadline` (noted, as by
    /// [`now`](Self::now)); `None` otherwise.
    #[inline]
    pub(crate) fn reached(&self, deadline: Micros) -> Option<Micros> {
        if self.before(deadline) {
            None
        } else {
            Some(self.now())
        }
    }

    /// Whether the time now is before `deadline`. What every read of a
    /// store with deadlines asks: it only reads the shared word (readers on
    /// many threads do not write it) and the clock.
    #[inline]
    pub(crate) fn before(&self, deadline: Micros) -> bool {
        if self.latest.load(Ordering::Acquire) >= deadline {
            return false;
        }
        match &self.source {
            // Compared as system times: turning the time now into
            // microseconds would cost more than the rest of a get.
            Source::System => system_time_of(deadline).is_none_or(|at| SystemTime::now() < at),
            Source::Other(clock) => micros(clock.now()) < deadline,
        }
    }
}

/// `deadline` as a system time (`None` past the last one there is),
/// remembered on each thread for the last deadline asked: reads mostly ask
/// for the same one, a store's earliest.
#[inline]
fn system_time_of(deadline: Micros) -> Option<SystemTime> {
    thread_local! {
        static LAST: Cell<(Micros, Option<SystemTime>)> = const { Cell::new((0, Some(UNIX_EPOCH))) };
    }
    LAST.try_with(|last| {
        let (at, time) = last.get();
        if at == deadline {
            return time;
        }
        let time = UNIX_EPOCH.checked_add(Duration::from_micros(deadline));
        last.set((deadline, time));
        time
    })
    .unwrap_or_else(|_| UNIX_EPOCH.checked_add(Duration::from_micros(deadline)))
}

impl Default for Timekeeper {
    fn default() -> Self {
        Timekeeper {
            source: Source::System,
            latest: AtomicU64::new(0),
        }
    }
}
