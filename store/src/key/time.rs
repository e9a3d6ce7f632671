//! Keys for dates, times and durations: each is a number whose order is the
//! order of time, so ranges over them work and a time before the Unix epoch
//! sorts before it.
//!
//! An instant (`SystemTime`, and behind features chrono's `NaiveDateTime` and
//! `DateTime<Utc>`, time's `OffsetDateTime`) is its signed count of nanoseconds
//! since 1970-01-01T00:00:00 UTC; the same instant is the same key whichever
//! type holds it, and an `OffsetDateTime` is keyed by its instant, whatever its
//! offset. A date (chrono's `NaiveDate`, time's `Date`) is its signed count of
//! days since 1970-01-01. A `Duration` is its count of nanoseconds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::encode::KeyWriter;
use super::typed::{IndexKey, KeyFor};

/// Nanoseconds since the Unix epoch, negative before it.
fn instant_key(nanos: i128, out: &mut KeyWriter) {
    out.write_i128(nanos);
}

/// Days since 1970-01-01, negative before it.
#[cfg(any(feature = "chrono", feature = "time"))]
fn date_key(days: i64, out: &mut KeyWriter) {
    out.write_i64(days);
}

fn signed_nanos(duration: Duration) -> i128 {
    // At most 2^64 seconds of 10^9 nanoseconds: far inside i128.
    i128::try_from(duration.as_nanos()).unwrap_or(i128::MAX)
}

impl IndexKey for SystemTime {
    fn write_key(&self, out: &mut KeyWriter) {
        let nanos = match self.duration_since(UNIX_EPOCH) {
            Ok(after) => signed_nanos(after),
            Err(before) => -signed_nanos(before.duration()),
        };
        instant_key(nanos, out);
    }
}

impl IndexKey for Duration {
    fn write_key(&self, out: &mut KeyWriter) {
        self.as_nanos().write_key(out);
    }
}

/// Seconds and nanoseconds since the epoch as one count of nanoseconds. A
/// leap second (nanoseconds past 10^9) runs into the next second's keys,
/// keeping the order.
#[cfg(feature = "chrono")]
fn chrono_nanos(seconds: i64, subsecond: u32) -> i128 {
    i128::from(seconds) * 1_000_000_000 + i128::from(subsecond)
}

/// Keyed as the instant it names read as UTC.
#[cfg(feature = "chrono")]
impl IndexKey for chrono::NaiveDateTime {
    fn write_key(&self, out: &mut KeyWriter) {
        self.and_utc().write_key(out);
    }
}

#[cfg(feature = "chrono")]
impl IndexKey for chrono::DateTime<chrono::Utc> {
    fn write_key(&self, out: &mut KeyWriter) {
        instant_key(
            chrono_nanos(self.timestamp(), self.timestamp_subsec_nanos()),
            out,
        );
    }
}

#[cfg(feature = "chrono")]
impl IndexKey for chrono::NaiveDate {
    fn write_key(&self, out: &mut KeyWriter) {
        use chrono::Datelike;
        /// `num_days_from_ce` of 1970-01-01.
        const EPOCH_FROM_CE: i64 = 719_163;
        date_key(i64::from(self.num_days_from_ce()) - EPOCH_FROM_CE, out);
    }
}

#[cfg(feature = "time")]
impl IndexKey for time::OffsetDateTime {
    fn write_key(&self, out: &mut KeyWriter) {
        instant_key(self.unix_timestamp_nanos(), out);
    }
}

#[cfg(feature = "time")]
impl IndexKey for time::Date {
    fn write_key(&self, out: &mut KeyWriter) {
        /// The Julian day number of 1970-01-01.
        const EPOCH_JULIAN_DAY: i64 = 2_440_588;
        date_key(i64::from(self.to_julian_day()) - EPOCH_JULIAN_DAY, out);
    }
}

/// Queries take these by value, like the built-in keys.
macro_rules! by_value {
    ($($ty:ty),* $(,)?) => {$(
        impl KeyFor<$ty> for $ty {
            fn write_key_for(&self, out: &mut KeyWriter) {
                self.write_key(out);
            }
        }
    )*};
}

by_value!(SystemTime, Duration);

#[cfg(feature = "chrono")]
by_value!(
    chrono::NaiveDateTime,
    chrono::DateTime<chrono::Utc>,
    chrono::NaiveDate
);

#[cfg(feature = "time")]
by_value!(time::OffsetDateTime, time::Date);
