//! Where a store's time comes from: the system clock by default, a clock the
//! caller moves by hand in tests, so that expiry is tested without sleeping.

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

pub(crate) fn micros(time: SystemTime) -> Micros {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
    })
}

/// A store's view of its clock, which never goes back: once a time was seen,
/// a clock stepping back cannot bring a document past its deadline back.
pub(crate) struct Timekeeper {
    clock: Arc<dyn Clock>,
    latest: AtomicU64,
}

impl Timekeeper {
    pub(crate) fn new(clock: Arc<dyn Clock>) -> Timekeeper {
        Timekeeper {
            clock,
            latest: AtomicU64::new(0),
        }
    }

    /// The latest time seen: the clock's, unless it stepped back.
    pub(crate) fn now(&self) -> Micros {
        let now = micros(self.clock.now());
        let latest = self.latest.load(Ordering::Acquire);
        if now <= latest {
            return latest;
        }
        // Readers on many threads mostly find the time already seen: they
        // only read the shared word, and write it when the clock moved on.
        self.latest.fetch_max(now, Ordering::AcqRel).max(now)
    }
}

impl Default for Timekeeper {
    fn default() -> Self {
        Timekeeper::new(Arc::new(SystemClock))
    }
}
