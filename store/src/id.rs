//! Document ids: UUID v7, time-ordered, so that ids sort in insertion order.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// The id of a stored document: a UUID v7.
///
/// Ids are time-ordered and, within one store, strictly increasing in the order
/// documents were inserted, so iterating a store in id order is iterating it in
/// insertion order. An `Id` is 16 bytes and `Copy`; it displays and parses as the
/// usual hyphenated form and serializes as that string.
///
/// ```
/// use docstore_core::Id;
///
/// let id: Id = "0190a6e2-8f3b-7c4d-9e5f-0123456789ab".parse()?;
/// assert_eq!(id.to_string(), "0190a6e2-8f3b-7c4d-9e5f-0123456789ab");
/// # Ok::<(), docstore_core::ParseIdError>(())
/// ```
// Two u64 halves rather than a u128: the same order, but 8-byte alignment keeps
// index entries at 40 bytes instead of padding them to 48.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id {
    hi: u64,
    lo: u64,
}

impl Id {
    /// The all-zero id. No stored document ever has it, which makes it a handy
    /// "no such document" value in tests and examples.
    pub const fn nil() -> Id {
        Id { hi: 0, lo: 0 }
    }

    /// The id as a [`uuid::Uuid`].
    pub fn to_uuid(self) -> Uuid {
        Uuid::from_u128(self.to_u128())
    }

    /// The id of a UUID, whatever its version.
    pub fn from_uuid(uuid: Uuid) -> Id {
        Id::from_u128(uuid.as_u128())
    }

    /// The id's 128 bits, most significant first as in the UUID's byte order.
    pub const fn to_u128(self) -> u128 {
        ((self.hi as u128) << 64) | self.lo as u128
    }

    /// The id with these 128 bits.
    pub const fn from_u128(bits: u128) -> Id {
        Id {
            hi: (bits >> 64) as u64,
            lo: bits as u64,
        }
    }

    /// The id's 16 bytes, big-endian: their byte order is the id order.
    pub const fn to_bytes(self) -> [u8; 16] {
        self.to_u128().to_be_bytes()
    }

    /// The Unix time in milliseconds at which the id was made (for a v7 id).
    pub const fn timestamp_millis(self) -> u64 {
        self.hi >> 16
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_uuid().hyphenated(), f)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({self})")
    }
}

/// The error of parsing an [`Id`] from text that is not a UUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseIdError {
    input: String,
}

impl fmt::Display for ParseIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not a UUID", self.input)
    }
}

impl std::error::Error for ParseIdError {}

impl FromStr for Id {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Id, ParseIdError> {
        Uuid::parse_str(s)
            .map(Id::from_uuid)
            .map_err(|_| ParseIdError {
                input: s.chars().take(64).collect(),
            })
    }
}

impl From<Uuid> for Id {
    fn from(uuid: Uuid) -> Id {
        Id::from_uuid(uuid)
    }
}

impl From<Id> for Uuid {
    fn from(id: Id) -> Uuid {
        id.to_uuid()
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Id, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Makes the ids of one store: UUID v7, strictly increasing.
///
/// Within one millisecond (or if the clock steps back) the 74 random bits are
/// treated as a counter and incremented, as RFC 9562 allows, so ids never repeat
/// and keep insertion order. The random part comes from a generator seeded once
/// from the OS: asking the OS for entropy on every insert would cost a system call.
#[derive(Debug, Clone)]
pub(crate) struct IdGenerator {
    last_millis: u64,
    counter: u128,
    rng: u64,
    /// The largest id a caller chose (`insert_with_id`, an import), if any: a
    /// new id up to it must be checked against the store's; past it, none can
    /// collide, since made ids only grow.
    given_max: Option<Id>,
}

const RANDOM_BITS: u32 = 74;
const RANDOM_MASK: u128 = (1 << RANDOM_BITS) - 1;

impl IdGenerator {
    pub(crate) fn new() -> IdGenerator {
        let seed = Uuid::new_v4().as_u128();
        IdGenerator {
            last_millis: 0,
            counter: 0,
            rng: (seed as u64) ^ ((seed >> 64) as u64) | 1,
            given_max: None,
        }
    }

    /// Notes that the store holds `id`, which its caller chose: new ids up to
    /// it are checked against the store's.
    pub(crate) fn note_given(&mut self, id: Id) {
        self.given_max = self.given_max.max(Some(id));
    }

    /// The largest id a caller chose, if any.
    pub(crate) fn given_max(&self) -> Option<Id> {
        self.given_max
    }

    /// A new id, as [`next_after`](Self::next_after), that `taken` says no
    /// document has. Made ids never repeat, so only an id no greater than a
    /// given one pays for the check (which runs under the write lock, so no
    /// given id can slip in between).
    pub(crate) fn next_free(&mut self, floor: Option<Id>, taken: impl Fn(Id) -> bool) -> Id {
        let mut id = self.next_after(floor);
        while Some(id) <= self.given_max && taken(id) {
            id = self.next_after(Some(id));
        }
        id
    }

    /// An id greater than every id this generator made before, and than `floor`.
    ///
    /// Within one millisecond the counter moves by a random step rather than by
    /// one, so that two generators continuing from the same floor (a store and
    /// its clone) do not make the same ids.
    pub(crate) fn next_after(&mut self, floor: Option<Id>) -> Id {
        let now = now_millis();
        let step = u128::from(self.next_random() >> 24) + 1;
        if now > self.last_millis {
            self.last_millis = now;
            // Leave headroom in the counter so a burst within one millisecond
            // cannot overflow it: the top random bit starts clear.
            self.counter = (u128::from(self.next_random()) << 10) & (RANDOM_MASK >> 1);
        } else {
            self.counter += step;
        }
        if self.counter > RANDOM_MASK {
            self.last_millis += 1;
            self.counter = 0;
        }
        let mut id = compose(self.last_millis, self.counter);
        if let Some(floor) = floor
            && id <= floor
        {
            // Ids copied in from elsewhere (a clone) may be ahead of this
            // generator; continue after them.
            self.last_millis = floor.timestamp_millis();
            self.counter = random_part(floor) + step;
            if self.counter > RANDOM_MASK {
                self.last_millis += 1;
                self.counter = 0;
            }
            id = compose(self.last_millis, self.counter);
        }
        id
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*: fast, and good enough for the uniqueness bits of an id.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        // Seconds and milliseconds apart: `as_millis` works in u128.
        .map_or(0, |d| {
            d.as_secs()
                .saturating_mul(1000)
                .saturating_add(u64::from(d.subsec_millis()))
        })
        & ((1 << 48) - 1)
}

/// Lays out a v7 UUID: 48 bits of milliseconds, version 7, 12 bits of `rand_a`,
/// the RFC 4122 variant, 62 bits of `rand_b`.
fn compose(millis: u64, random: u128) -> Id {
    let rand_a = (random >> 62) & 0xFFF;
    let rand_b = random & ((1 << 62) - 1);
    let bits = (u128::from(millis & ((1 << 48) - 1)) << 80)
        | (0x7 << 76)
        | (rand_a << 64)
        | (0b10 << 62)
        | rand_b;
    Id::from_u128(bits)
}

fn random_part(id: Id) -> u128 {
    let bits = id.to_u128();
    let rand_a = (bits >> 64) & 0xFFF;
    let rand_b = bits & ((1 << 62) - 1);
    (rand_a << 62) | rand_b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_v7_and_strictly_increasing() {
        let mut generator = IdGenerator::new();
        let mut last = Id::nil();
        for _ in 0..10_000 {
            let id = generator.next_after(None);
            assert!(id > last);
            assert_eq!(id.to_uuid().get_version_num(), 7);
            assert_eq!(id.to_uuid().get_variant(), uuid::Variant::RFC4122);
            last = id;
        }
    }

    #[test]
    fn ids_continue_after_a_floor_from_the_future() {
        let mut generator = IdGenerator::new();
        let future = compose(now_millis() + 60_000, RANDOM_MASK);
        let id = generator.next_after(Some(future));
        assert!(id > future);
        assert!(generator.next_after(None) > id);
    }

    #[test]
    fn a_new_id_skips_the_ids_callers_gave() {
        let mut probe = IdGenerator::new();
        let mut generator = probe.clone();
        let taken: Vec<Id> = (0..3).map(|_| probe.next_after(None)).collect();
        generator.note_given(taken[2]);
        let id = generator.next_free(None, |id| taken.contains(&id));
        assert!(!taken.contains(&id));
        assert!(id > taken[2]);
    }

    #[test]
    fn display_parse_and_serde_round_trip() {
        let id = IdGenerator::new().next_after(None);
        let text = id.to_string();
        assert_eq!(text.len(), 36);
        assert_eq!(text.parse::<Id>(), Ok(id));
        let json = serde_json::to_string(&id).unwrap_or_default();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<Id>(&json).ok(), Some(id));
        assert!("not-a-uuid".parse::<Id>().is_err());
    }
}
