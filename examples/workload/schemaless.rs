//! `schemaless`: docstore's `Store` of JSON documents.

use docstore::{Id, IndexOptions, Object, Store};

use crate::common::{Found, System, initial_age, json_document};

fn age_of(doc: &Object) -> u64 {
    doc.get("age")
        .and_then(|v| v.as_u64())
        .expect("every document has an integer age")
}

fn found(results: docstore::Iter<Object>) -> Found {
    let mut found = Found::default();
    for doc in results {
        found.add(age_of(&doc));
    }
    found
}

/// A `Store` whose three indexes are covering when `COVERING` is set
/// (`--covering`), plain otherwise.
pub struct Schemaless<const COVERING: bool>(Store);

impl<const COVERING: bool> System for Schemaless<COVERING> {
    const NAME: &'static str = "schemaless";

    fn new() -> Self {
        let store = Store::new();
        let options = if COVERING {
            IndexOptions::new().covering()
        } else {
            IndexOptions::new()
        };
        for (index, field) in [("by_city", "city"), ("by_age", "age"), ("by_name", "name")] {
            store
                .create_index_with(index, [field], options)
                .expect("a new index");
        }
        Schemaless(store)
    }

    fn insert(&self, i: usize) -> Id {
        self.0
            .insert(json_document(i, initial_age(i)))
            .expect("insert")
    }

    fn get_age(&self, id: Id) -> u64 {
        age_of(&self.0.get(id).expect("get"))
    }

    fn update(&self, id: Id, i: usize, age: u64) {
        self.0.update(id, json_document(i, age)).expect("update");
    }

    fn lookup_name(&self, name: &str) -> Found {
        found(self.0.lookup("by_name", name).expect("lookup"))
    }

    fn lookup_city(&self, city: &str) -> Found {
        found(self.0.lookup("by_city", city).expect("lookup"))
    }

    fn range_age(&self, start: u64, end: u64) -> Found {
        found(self.0.range("by_age", start..end).expect("range"))
    }

    fn scan(&self) -> Found {
        // Reading by reference from a snapshot skips the per-document reference
        // count that an owning iterator pays.
        let snapshot = self.0.snapshot().expect("snapshot");
        let mut found = Found::default();
        for doc in &snapshot {
            found.add(age_of(doc));
        }
        found
    }

    fn delete(&self, id: Id) {
        self.0.delete(id).expect("delete");
    }

    fn create_index(&self) -> bool {
        self.0
            .create_index("by_score", ["score"])
            .expect("a new index");
        true
    }
}
