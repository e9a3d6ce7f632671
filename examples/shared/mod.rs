//! What the cost examples (`write_cost`, `scan_cost`, `feed_cost`,
//! `expiry_cost`, `stall_probe`) and the criterion benches share with the
//! workload: its xorshift64* generator, its document, as JSON and as a
//! struct, and its writes on either layer. Each includes this file with
//! `#[path]` and uses a part of it.
#![allow(dead_code, reason = "each includer uses a part of what is shared")]

use docstore::{Collection, Id, Indexed, Store};

/// The workload's xorshift64* generator.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The workload's document `i`, as JSON.
pub fn json_document(i: usize, age: u64) -> serde_json::Value {
    serde_json::json!({
        "name": format!("user-{i}"),
        "age": age,
        "city": format!("city-{}", i % 50),
        "score": i as f64 * 0.5,
        "active": i.is_multiple_of(2),
        "tags": [format!("t{}", i % 7), format!("t{}", i % 11)],
        "address": {"zip": format!("z{}", i % 1000), "street": format!("s{i}")},
    })
}

/// The workload's document's nested address.
#[derive(Clone, Debug)]
pub struct Address {
    zip: String,
    street: String,
}

/// The workload's document, typed.
/// Its fields are stored as the workload stores them; the examples read only
/// `age`.
#[derive(Indexed, Clone, Debug)]
pub struct Doc {
    #[index]
    name: String,
    #[index]
    pub age: u32,
    #[index]
    city: String,
    score: f64,
    active: bool,
    tags: Vec<String>,
    address: Address,
}

impl Doc {
    /// Document `i`, aged `age`.
    pub fn build(i: usize, age: u64) -> Doc {
        Doc {
            name: format!("user-{i}"),
            age: u32::try_from(age).unwrap_or(u32::MAX),
            city: format!("city-{}", i % 50),
            score: i as f64 * 0.5,
            active: i.is_multiple_of(2),
            tags: vec![format!("t{}", i % 7), format!("t{}", i % 11)],
            address: Address {
                zip: format!("z{}", i % 1000),
                street: format!("s{i}"),
            },
        }
    }
}

/// The workload's writes on either layer, with its three indexes: what the
/// cost examples time.
pub trait Written: Sized {
    /// An empty store, or collection, with the workload's indexes.
    fn indexed() -> Self;
    /// Inserts the workload's document `i`, at its first age.
    fn insert_doc(&self, i: usize) -> Id;
    /// Replaces document `id` with the workload's document `i` at `age`.
    fn update_doc(&self, id: Id, i: usize, age: u64);
}

impl Written for Store {
    fn indexed() -> Self {
        let store = Store::new();
        for (index, field) in [("by_city", "city"), ("by_age", "age"), ("by_name", "name")] {
            store.create_index(index, [field]).expect("a new index");
        }
        store
    }

    fn insert_doc(&self, i: usize) -> Id {
        self.insert(json_document(i, (i % 100) as u64))
            .expect("insert")
    }

    fn update_doc(&self, id: Id, i: usize, age: u64) {
        self.update(id, json_document(i, age)).expect("update");
    }
}

impl Written for Collection<Doc> {
    fn indexed() -> Self {
        Collection::new()
    }

    fn insert_doc(&self, i: usize) -> Id {
        self.insert(Doc::build(i, (i % 100) as u64))
            .expect("insert")
    }

    fn update_doc(&self, id: Id, i: usize, age: u64) {
        self.update(id, Doc::build(i, age)).expect("update");
    }
}
