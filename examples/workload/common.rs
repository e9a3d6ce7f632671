//! What every system shares: the generator, the documents' fields, and the
//! operations the workload needs of a system.

use docstore::Id;

/// The workload's xorshift64* generator (WORKLOAD.md), so that every system
/// draws the same ids, names, cities and ranges.
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// What a read found: how many documents, and the sum of their "age" fields.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Found {
    pub count: u64,
    pub age_sum: u64,
}

impl Found {
    pub fn add(&mut self, age: u64) {
        self.count += 1;
        self.age_sum += age;
    }
}

impl std::ops::AddAssign for Found {
    fn add_assign(&mut self, other: Found) {
        self.count += other.count;
        self.age_sum += other.age_sum;
    }
}

/// One system under test: a store of the workload's documents with indexes
/// by_name, by_age and by_city, doing what each phase asks.
///
/// Writes build their document themselves (from its number `i` and its age),
/// so that building it is timed as part of the write, as WORKLOAD.md says.
/// Reads return the "age" values they read, so that the work cannot be
/// optimized away and its check sums prove it was done.
pub trait System: Sync {
    /// The name printed at the start of each line.
    const NAME: &'static str;

    /// An empty store with the three indexes.
    fn new() -> Self;

    /// Inserts document `i` (whose age is `i % 100`); returns its id.
    fn insert(&self, i: usize) -> Id;

    /// The age of the document `id`.
    fn get_age(&self, id: Id) -> u64;

    /// Replaces document `id` with document `i` built afresh with this age.
    fn update(&self, id: Id, i: usize, age: u64);

    /// The documents whose name is `name`.
    fn lookup_name(&self, name: &str) -> Found;

    /// The documents whose city is `city`.
    fn lookup_city(&self, city: &str) -> Found;

    /// The documents whose age lies in `start..end`.
    fn range_age(&self, start: u64, end: u64) -> Found;

    /// Every document.
    fn scan(&self) -> Found;

    /// Deletes the document `id`.
    fn delete(&self, id: Id);

    /// Creates an index over `score`, which no query reads, filling it from
    /// every document: what index_stall times updates against. `false` if the
    /// system cannot create an index at run time.
    fn create_index(&self) -> bool {
        false
    }
}

/// The fields of document `i`, as WORKLOAD.md defines them (age aside).
pub fn name(i: usize) -> String {
    format!("user-{i}")
}

pub fn city(i: usize) -> String {
    format!("city-{}", i % 50)
}

pub fn score(i: usize) -> f64 {
    i as f64 * 0.5
}

pub fn active(i: usize) -> bool {
    i.is_multiple_of(2)
}

pub fn tags(i: usize) -> [String; 2] {
    [format!("t{}", i % 7), format!("t{}", i % 11)]
}

pub fn zip(i: usize) -> String {
    format!("z{}", i % 1000)
}

pub fn street(i: usize) -> String {
    format!("s{i}")
}

/// The age document `i` is inserted with.
pub fn initial_age(i: usize) -> u64 {
    (i % 100) as u64
}

/// The schemaless form of document `i`, shared by `schemaless` and `baseline`.
pub fn json_document(i: usize, age: u64) -> serde_json::Value {
    serde_json::json!({
        "name": name(i),
        "age": age,
        "city": city(i),
        "score": score(i),
        "active": active(i),
        "tags": tags(i),
        "address": {"zip": zip(i), "street": street(i)},
    })
}
