//! `schemaless`: docstore's `Store` of JSON documents.

use std::ops::Range;
use std::sync::Arc;

use docstore::{Db, Error, Id, IndexOptions, Object, Store, TxStore};

use crate::common::{Found, Home, System, doubled, initial_age, json_document};
use crate::feed::{Drain, Feeds};

fn age_of(doc: &Object) -> u64 {
    doc.get("age")
        .and_then(|v| v.as_u64())
        .expect("every document has an integer age")
}

fn score_of(doc: &Object) -> f64 {
    doc.get("score")
        .and_then(|v| v.as_f64())
        .expect("every document has a score")
}

fn found(results: docstore::Iter<Object>) -> Found {
    let mut found = Found::default();
    for doc in results {
        found.add(age_of(&doc));
    }
    found
}

/// A `Store` whose three indexes are covering when `COVERING` is set
/// (`--covering`), plain otherwise; standalone, or one of a [`Db`]'s stores
/// (`--db`), whose transactions it then runs as the database's.
pub struct Schemaless<const COVERING: bool> {
    store: Arc<Store>,
    db: Option<Arc<Db>>,
}

impl<const COVERING: bool> Schemaless<COVERING> {
    /// Runs `body` in a transaction on this store: the database's when it
    /// has one, the store's own otherwise.
    fn transaction<R>(&self, mut body: impl FnMut(&TxStore<'_>) -> Result<R, Error>) -> R {
        let outcome = match &self.db {
            Some(db) => db.transaction(|tx| body(&tx.store(&self.store))),
            None => self.store.transaction(body),
        };
        outcome.expect("a transaction")
    }
}

impl<const COVERING: bool> System for Schemaless<COVERING> {
    const NAME: &'static str = "schemaless";

    fn new(home: &Home) -> Self {
        let (store, db) = match home.db() {
            Some(db) => (
                db.store(&home.fresh_name()).expect("a new store"),
                Some(Arc::clone(db)),
            ),
            None => (Arc::new(Store::new()), None),
        };
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
        Schemaless { store, db }
    }

    fn insert(&self, i: usize) -> Id {
        self.store
            .insert(json_document(i, initial_age(i)))
            .expect("insert")
    }

    fn get_age(&self, id: Id) -> u64 {
        age_of(&self.store.get(id).expect("get"))
    }

    fn update(&self, id: Id, i: usize, age: u64) {
        self.store
            .update(id, json_document(i, age))
            .expect("update");
    }

    fn lookup_name(&self, name: &str) -> Found {
        found(self.store.lookup("by_name", name).expect("lookup"))
    }

    fn lookup_city(&self, city: &str) -> Found {
        found(self.store.lookup("by_city", city).expect("lookup"))
    }

    fn range_age(&self, start: u64, end: u64) -> Found {
        found(self.store.range("by_age", start..end).expect("range"))
    }

    fn scan(&self) -> Found {
        // Reading by reference from a snapshot skips the per-document reference
        // count that an owning iterator pays.
        let snapshot = self.store.snapshot().expect("snapshot");
        let mut found = Found::default();
        for doc in &snapshot {
            found.add(age_of(doc));
        }
        found
    }

    fn delete(&self, id: Id) {
        self.store.delete(id).expect("delete");
    }

    fn transfer(&self, a: Id, b: Id) -> i64 {
        self.transaction(|tx| {
            let (from, to) = (tx.get(a)?, tx.get(b)?);
            let (from_score, to_score) = (score_of(&from), score_of(&to));
            let mut from = from.to_value();
            let mut to = to.to_value();
            from["score"] = (from_score - 1.0).into();
            to["score"] = (to_score + 1.0).into();
            tx.update(a, from)?;
            tx.update(b, to)?;
            Ok(doubled(from_score) + doubled(to_score))
        })
    }

    fn insert_batch(&self, range: Range<usize>) -> Vec<Id> {
        self.transaction(|tx| {
            range
                .clone()
                .map(|i| tx.insert(json_document(i, initial_age(i))))
                .collect()
        })
    }

    fn score2(&self, id: Id) -> i64 {
        doubled(score_of(&self.store.get(id).expect("get")))
    }

    fn create_index(&self) -> bool {
        self.store
            .create_index("by_score", ["score"])
            .expect("a new index");
        true
    }
}

impl<const COVERING: bool> Feeds for Schemaless<COVERING> {
    fn subscribe(&self, capacity: usize) -> Box<dyn Drain> {
        Box::new(
            self.store
                .subscribe_with_capacity(capacity)
                .expect("a subscription"),
        )
    }

    fn watch_elsewhere(&self, k: usize) -> Box<dyn Drain> {
        Box::new(
            self.store
                .watch("by_name", format!("nobody-{k}"))
                .expect("a watch"),
        )
    }

    fn insert_with_ttl(&self, i: usize, ttl: std::time::Duration) -> Id {
        self.store
            .insert_with_ttl(json_document(i, initial_age(i)), ttl)
            .expect("insert")
    }
}
