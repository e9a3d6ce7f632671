//! `baseline`: the naive floor WORKLOAD.md describes, with none of docstore's
//! guarantees: documents in a `RwLock<HashMap<Id, Arc<serde_json::Value>>>`, and
//! one `RwLock<BTreeMap<key, BTreeSet<Id>>>` per index, all three updated on
//! every write. `Naive<D>` is also `baseline-typed`, with struct documents.
//!
//! Locks are always taken documents first, then indexes, so readers and
//! writers cannot deadlock. Reads hold the documents' read lock for as long
//! as they read, a whole scan included: that is what `write_stall` shows.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use docstore::Id;
use parking_lot::RwLock;
use serde_json::Value;

use crate::common::{Found, Home, System, doubled, initial_age, json_document};

/// What the naive store needs of a document: its three keys and its age.
pub trait NaiveDoc: Send + Sync + Sized {
    /// The name of the system storing this document type.
    const SYSTEM: &'static str;
    /// The by_age index's key type.
    type AgeKey: Ord + Copy + Send + Sync;

    /// Document `i` with this age, built afresh.
    fn build(i: usize, age: u64) -> Self;

    fn name(&self) -> &str;
    fn city(&self) -> &str;
    fn age_key(&self) -> Self::AgeKey;
    /// Reads the document's "age".
    fn age(&self) -> u64;
    /// The key of an age given as a number.
    fn key_of_age(age: u64) -> Self::AgeKey;
    /// Reads the document's "score".
    fn score(&self) -> f64;
    /// The document with another score.
    fn with_score(&self, score: f64) -> Self;
}

type Index<K> = RwLock<BTreeMap<K, BTreeSet<Id>>>;

pub struct Naive<D: NaiveDoc> {
    next_id: AtomicU64,
    docs: RwLock<HashMap<Id, Arc<D>>>,
    by_name: Index<String>,
    by_age: Index<D::AgeKey>,
    by_city: Index<String>,
}

fn add<K: Ord>(index: &Index<K>, key: K, id: Id) {
    index.write().entry(key).or_default().insert(id);
}

fn remove<K: Ord + std::borrow::Borrow<Q>, Q: Ord + ?Sized>(index: &Index<K>, key: &Q, id: Id) {
    let mut index = index.write();
    if let Some(ids) = index.get_mut(key) {
        ids.remove(&id);
        if ids.is_empty() {
            index.remove(key);
        }
    }
}

impl<D: NaiveDoc> Naive<D> {
    pub fn new() -> Self {
        Naive {
            next_id: AtomicU64::new(1),
            docs: RwLock::default(),
            by_name: RwLock::default(),
            by_age: RwLock::default(),
            by_city: RwLock::default(),
        }
    }

    fn index(&self, id: Id, doc: &D) {
        add(&self.by_name, doc.name().to_owned(), id);
        add(&self.by_age, doc.age_key(), id);
        add(&self.by_city, doc.city().to_owned(), id);
    }

    fn unindex(&self, id: Id, doc: &D) {
        remove(&self.by_name, doc.name(), id);
        remove(&self.by_age, &doc.age_key(), id);
        remove(&self.by_city, doc.city(), id);
    }

    pub fn insert(&self, doc: D) -> Id {
        let id = Id::from_u128(u128::from(self.next_id.fetch_add(1, Ordering::Relaxed)));
        let doc = Arc::new(doc);
        let mut docs = self.docs.write();
        self.index(id, &doc);
        docs.insert(id, doc);
        id
    }

    pub fn get(&self, id: Id) -> Option<Arc<D>> {
        self.docs.read().get(&id).cloned()
    }

    pub fn update(&self, id: Id, doc: D) {
        let mut docs = self.docs.write();
        let slot = docs.get_mut(&id).expect("update of a stored document");
        self.unindex(id, slot);
        self.index(id, &doc);
        *slot = Arc::new(doc);
    }

    /// Reads `a` and `b` and moves 1 from a's score to b's, all under the
    /// documents' write lock; returns the two scores read, doubled, summed.
    pub fn transfer(&self, a: Id, b: Id) -> i64 {
        let mut docs = self.docs.write();
        let (from, to) = (Arc::clone(&docs[&a]), Arc::clone(&docs[&b]));
        let read = doubled(from.score()) + doubled(to.score());
        for (id, old, new) in [
            (a, &from, from.with_score(from.score() - 1.0)),
            (b, &to, to.with_score(to.score() + 1.0)),
        ] {
            self.unindex(id, old);
            self.index(id, &new);
            docs.insert(id, Arc::new(new));
        }
        read
    }

    /// Inserts every document of `batch` under one hold of the documents'
    /// write lock.
    pub fn insert_batch(&self, batch: Vec<D>) -> Vec<Id> {
        let mut docs = self.docs.write();
        batch
            .into_iter()
            .map(|doc| {
                let id = Id::from_u128(u128::from(self.next_id.fetch_add(1, Ordering::Relaxed)));
                let doc = Arc::new(doc);
                self.index(id, &doc);
                docs.insert(id, doc);
                id
            })
            .collect()
    }

    pub fn delete(&self, id: Id) {
        let mut docs = self.docs.write();
        let doc = docs.remove(&id).expect("delete of a stored document");
        self.unindex(id, &doc);
    }

    fn found<'a>(docs: &HashMap<Id, Arc<D>>, ids: impl Iterator<Item = &'a Id>) -> Found {
        let mut found = Found::default();
        for id in ids {
            found.add(docs[id].age());
        }
        found
    }

    fn lookup(&self, index: &Index<String>, key: &str) -> Found {
        let docs = self.docs.read();
        let index = index.read();
        Self::found(&docs, index.get(key).into_iter().flatten())
    }

    pub fn lookup_name(&self, name: &str) -> Found {
        self.lookup(&self.by_name, name)
    }

    pub fn lookup_city(&self, city: &str) -> Found {
        self.lookup(&self.by_city, city)
    }

    pub fn range_age(&self, start: u64, end: u64) -> Found {
        let docs = self.docs.read();
        let index = self.by_age.read();
        let keys = D::key_of_age(start)..D::key_of_age(end);
        Self::found(&docs, index.range(keys).flat_map(|(_, ids)| ids))
    }

    pub fn scan(&self) -> Found {
        let mut found = Found::default();
        for doc in self.docs.read().values() {
            found.add(doc.age());
        }
        found
    }
}

impl NaiveDoc for Value {
    const SYSTEM: &'static str = "baseline";
    type AgeKey = i64;

    fn build(i: usize, age: u64) -> Value {
        json_document(i, age)
    }

    fn name(&self) -> &str {
        self["name"].as_str().expect("a name")
    }

    fn city(&self) -> &str {
        self["city"].as_str().expect("a city")
    }

    fn age_key(&self) -> i64 {
        self["age"].as_i64().expect("an integer age")
    }

    fn age(&self) -> u64 {
        self["age"].as_u64().expect("an integer age")
    }

    fn key_of_age(age: u64) -> i64 {
        i64::try_from(age).expect("ages are small")
    }

    fn score(&self) -> f64 {
        self["score"].as_f64().expect("a score")
    }

    fn with_score(&self, score: f64) -> Value {
        let mut next = self.clone();
        next["score"] = score.into();
        next
    }
}

impl<D: NaiveDoc> System for Naive<D> {
    const NAME: &'static str = D::SYSTEM;

    fn new(_: &Home) -> Self {
        Naive::new()
    }

    fn insert(&self, i: usize) -> Id {
        Naive::insert(self, D::build(i, initial_age(i)))
    }

    fn get_age(&self, id: Id) -> u64 {
        self.get(id).expect("get").age()
    }

    fn update(&self, id: Id, i: usize, age: u64) {
        Naive::update(self, id, D::build(i, age));
    }

    fn lookup_name(&self, name: &str) -> Found {
        Naive::lookup_name(self, name)
    }

    fn lookup_city(&self, city: &str) -> Found {
        Naive::lookup_city(self, city)
    }

    fn range_age(&self, start: u64, end: u64) -> Found {
        Naive::range_age(self, start, end)
    }

    fn scan(&self) -> Found {
        Naive::scan(self)
    }

    fn delete(&self, id: Id) {
        Naive::delete(self, id);
    }

    fn transfer(&self, a: Id, b: Id) -> i64 {
        Naive::transfer(self, a, b)
    }

    fn insert_batch(&self, range: Range<usize>) -> Vec<Id> {
        // Built before the lock is taken, so that it is held no longer than
        // the inserts take.
        let batch = range.map(|i| D::build(i, initial_age(i))).collect();
        Naive::insert_batch(self, batch)
    }

    fn score2(&self, id: Id) -> i64 {
        doubled(self.get(id).expect("get").score())
    }
}
