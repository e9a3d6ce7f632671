//! The Hermitage suite of isolation anomalies
//! (<https://github.com/ept/hermitage>), one test per anomaly, each written as
//! its interleaving of explicit transactions on two documents holding 10 and
//! 20. Each shows the anomaly cannot happen in docstore: the later transaction
//! either reads a consistent state or gets a conflict at commit.

use std::sync::Arc;

use docstore::{Db, Document, Error, Id, Store, Transaction};
use serde_json::json;

/// A database whose store "test" holds documents 1 and 2 with values 10 and
/// 20, indexed by value (and by value modulo 3, for the predicate tests).
struct Test {
    db: Db,
    test: Arc<Store>,
    one: Id,
    two: Id,
}

fn setup() -> Test {
    let db = Db::new();
    let test = db.store("test").unwrap();
    test.create_index("by_value", ["value"]).unwrap();
    test.create_index("by_mod3", ["mod3"]).unwrap();
    let one = test.insert(row(1, 10)).unwrap();
    let two = test.insert(row(2, 20)).unwrap();
    Test { db, test, one, two }
}

fn row(key: i64, value: i64) -> serde_json::Value {
    json!({"key": key, "value": value, "mod3": value % 3})
}

fn value(doc: &Document) -> i64 {
    doc.get("value").and_then(|v| v.as_i64()).unwrap()
}

impl Test {
    fn read(&self, tx: &Transaction<'_>, id: Id) -> i64 {
        value(&tx.store(&self.test).get(id).unwrap())
    }

    fn write(&self, tx: &Transaction<'_>, id: Id, key: i64, to: i64) {
        tx.store(&self.test).update(id, row(key, to)).unwrap();
    }

    /// Every value, as a transaction reads them (the whole table).
    fn all(&self, tx: &Transaction<'_>) -> Vec<i64> {
        tx.store(&self.test)
            .iter()
            .unwrap()
            .map(|d| value(&d))
            .collect()
    }

    /// The values committed now.
    fn committed(&self) -> Vec<i64> {
        self.test.iter().unwrap().map(|d| value(&d)).collect()
    }
}

fn assert_conflict(result: Result<(), Error>) {
    assert!(
        matches!(result, Err(Error::Conflict { .. })),
        "expected a conflict, got {result:?}"
    );
}

/// G0, write cycles: two transactions writing the same two documents in
/// opposite interleavings must not both commit (no dirty writes).
#[test]
fn g0() {
    let t = setup();
    let t1 = t.db.begin().unwrap();
    let t2 = t.db.begin().unwrap();
    t.write(&t1, t.one, 1, 11);
    t.write(&t2, t.one, 1, 12);
    t.write(&t1, t.two, 2, 21);
    t1.commit().unwrap();
    t.write(&t2, t.two, 2, 22);
    assert_conflict(t2.commit());
    assert_eq!(t.committed(), [11, 21]);
}

/// G1a, aborted reads: a transaction never sees a write of one that rolled back.
#[test]
fn g1a() {
    let t = setup();
    let t1 = t.db.begin().unwrap();
    let t2 = t.db.begin().unwrap();
    t.write(&t1, t.one, 1, 101);
    assert_eq!(t.all(&t2), [10, 20]);
    t1.rollback();
    assert_eq!(t.all(&t2), [10, 20]);
    t2.commit().unwrap();
    assert_eq!(t.committed(), [10, 20]);
}

/// G1b, intermediate reads: a transaction never sees a value another one
/// overwrote before committing.
#[test]
fn g1b() {
    let t = setup();
    let t1 = t.db.begin().unwrap();
    let t2 = t.db.begin().unwrap();
    t.write(&t1, t.one, 1, 101);
    assert_eq!(t.all(&t2), [10, 20]);
    t.write(&t1, t.one, 1, 11);
    t1.commit().unwrap();
    // Still its snapshot: neither 101 nor, mid-transaction, 11.
    assert_eq!(t.all(&t2), [10, 20]);
    t2.commit().unwrap();
    assert_eq!(t.committed(), [11, 20]);
}

/// G1c, circular information flow: each reads what the other writes; both
/// cannot commit.
#[test]
fn g1c() {
    let t = setup();
    let t1 = t.db.begin().unwrap();
    let t2 = t.db.begin().unwrap();
    t.write(&t1, t.one, 1, 11);
    t.write(&t2, t.two, 2, 22);
    assert_eq!(t.read(&t1, t.two), 20);
    assert_eq!(t.read(&t2, t.one), 10);
    t1.commit().unwrap();
    assert_conflict(t2.commit());
    assert_eq!(t.committed(), [11, 20]);
}

/// OTV, observed transaction vanishes: a reader that saw one transaction's
/// write never later sees another's overwrite of it from an uncommitted
/// transaction, nor a mix.
#[test]
fn otv() {
    let t = setup();
    let t1 = t.db.begin().unwrap();
    let t2 = t.db.begin().unwrap();
    t.write(&t1, t.one, 1, 11);
    t.write(&t1, t.two, 2, 19);
    t.write(&t2, t.one, 1, 12);
    t1.commit().unwrap();
    let t3 = t.db.begin().unwrap();
    assert_eq!(t.read(&t3, t.one), 11);
    t.write(&t2, t.two, 2, 18);
    assert_eq!(t.read(&t3, t.two), 19);
    assert_conflict(t2.commit());
    assert_eq!(t.read(&t3, t.two), 19);
    assert_eq!(t.read(&t3, t.one), 11);
    t3.commit().unwrap();
}

/// PMP, predicate-many-preceders: a predicate read sees the same result
/// throughout, though another transaction commits a matching insert; and a
/// transaction that acts on the stale predicate read cannot commit.
#[test]
fn pmp() {
    let t = setup();
    let t1 = t.db.begin().unwrap();
    assert_eq!(t1.store(&t.test).lookup("by_value", 30).unwrap().count(), 0);
    let t2 = t.db.begin().unwrap();
    t2.store(&t.test).insert(row(3, 30)).unwrap();
    t2.commit().unwrap();
    assert_eq!(t1.store(&t.test).lookup("by_mod3", 0).unwrap().count(), 0);
    // Read-only, it commits: it saw one consistent state.
    t1.commit().unwrap();

    // The same, but acting on what it read: a phantom, refused.
    let t1 = t.db.begin().unwrap();
    assert_eq!(t1.store(&t.test).lookup("by_value", 40).unwrap().count(), 0);
    let t2 = t.db.begin().unwrap();
    t2.store(&t.test).insert(row(4, 40)).unwrap();
    t2.commit().unwrap();
    t1.store(&t.test).insert(json!({"none_at": 40})).unwrap();
    assert_conflict(t1.commit());
}

/// PMP-write: a predicate delete whose matches another transaction changed
/// meanwhile cannot commit.
#[test]
fn pmp_write() {
    let t = setup();
    let t1 = t.db.begin().unwrap();
    let t2 = t.db.begin().unwrap();
    let store = t1.store(&t.test);
    for doc in store.iter().unwrap() {
        let key = doc.get("key").and_then(|v| v.as_i64()).unwrap();
        store.update(doc.id(), row(key, value(&doc) + 10)).unwrap();
    }
    let matches: Vec<_> = t2.store(&t.test).lookup("by_value", 20).unwrap().collect();
    assert_eq!(matches.len(), 1);
    for doc in matches {
        t2.store(&t.test).delete(doc.id()).unwrap();
    }
    t1.commit().unwrap();
    assert_conflict(t2.commit());
    assert_eq!(t.committed(), [20, 30]);
}

/// P4, lost update: two read-modify-writes of one document cannot both commit.
#[test]
fn p4() {
    let t = setup();
    let t1 = t.db.begin().unwrap();
    let t2 = t.db.begin().unwrap();
    assert_eq!(t.read(&t1, t.one), 10);
    assert_eq!(t.read(&t2, t.one), 10);
    t.write(&t1, t.one, 1, 11);
    t.write(&t2, t.one, 1, 11);
    t1.commit().unwrap();
    assert_conflict(t2.commit());
    assert_eq!(t.test.get(t.one).unwrap().version(), 2);
}

/// G-single, read skew: a reader never sees one document before a
/// transaction and the other after it.
#[test]
fn g_single() {
    let t = setup();
    let t1 = t.db.begin().unwrap();
    let t2 = t.db.begin().unwrap();
    assert_eq!(t.read(&t1, t.one), 10);
    assert_eq!(t.read(&t2, t.one), 10);
    assert_eq!(t.read(&t2, t.two), 20);
    t.write(&t2, t.one, 1, 12);
    t.write(&t2, t.two, 2, 18);
    t2.commit().unwrap();
    // 10 + 20, not 10 + 18.
    assert_eq!(t.read(&t1, t.two), 20);
    t1.commit().unwrap();
}

/// G-single-write: a transaction that acts on a skewed read cannot commit.
#[test]
fn g_single_write() {
    let t = setup();
    let t1 = t.db.begin().unwrap();
    let t2 = t.db.begin().unwrap();
    assert_eq!(t.read(&t1, t.one), 10);
    assert_eq!(t.all(&t2), [10, 20]);
    t.write(&t2, t.one, 1, 12);
    t.write(&t2, t.two, 2, 18);
    t2.commit().unwrap();
    let doomed: Vec<_> = t1.store(&t.test).lookup("by_value", 20).unwrap().collect();
    assert_eq!(doomed.len(), 1);
    t1.store(&t.test).delete(doomed[0].id()).unwrap();
    assert_conflict(t1.commit());
    assert_eq!(t.committed(), [12, 18]);
}

/// G2-item, write skew: each reads both documents and writes a different
/// one; both cannot commit.
#[test]
fn g2_item() {
    let t = setup();
    let t1 = t.db.begin().unwrap();
    let t2 = t.db.begin().unwrap();
    assert_eq!((t.read(&t1, t.one), t.read(&t1, t.two)), (10, 20));
    assert_eq!((t.read(&t2, t.one), t.read(&t2, t.two)), (10, 20));
    t.write(&t1, t.one, 1, 11);
    t.write(&t2, t.two, 2, 21);
    t1.commit().unwrap();
    assert_conflict(t2.commit());
    assert_eq!(t.committed(), [11, 20]);
}

/// G2, anti-dependency cycles through predicates: each finds no document with
/// value divisible by 3 and inserts one; both cannot commit.
#[test]
fn g2() {
    let t = setup();
    let t1 = t.db.begin().unwrap();
    let t2 = t.db.begin().unwrap();
    assert_eq!(t1.store(&t.test).lookup("by_mod3", 0).unwrap().count(), 0);
    assert_eq!(t2.store(&t.test).lookup("by_mod3", 0).unwrap().count(), 0);
    t1.store(&t.test).insert(row(3, 30)).unwrap();
    t2.store(&t.test).insert(row(4, 42)).unwrap();
    t1.commit().unwrap();
    assert_conflict(t2.commit());
    assert_eq!(t.committed(), [10, 20, 30]);
}

/// G2 with two anti-dependency edges (Fekete et al.'s read-only anomaly):
/// whatever a read-only transaction sees is a state some serial order gives.
#[test]
fn g2_two_edges() {
    let t = setup();
    let t1 = t.db.begin().unwrap();
    assert_eq!(t.all(&t1), [10, 20]);
    let t2 = t.db.begin().unwrap();
    t.write(&t2, t.two, 2, 25);
    t2.commit().unwrap();
    let t3 = t.db.begin().unwrap();
    assert_eq!(t.all(&t3), [10, 25]);
    t3.commit().unwrap();
    t.write(&t1, t.one, 1, 0);
    assert_conflict(t1.commit());
}

/// A conflict says what changed.
#[test]
fn a_conflict_names_the_document_or_the_query() {
    let t = setup();
    let t1 = t.db.begin().unwrap();
    let t2 = t.db.begin().unwrap();
    t.read(&t1, t.one);
    t.write(&t1, t.two, 2, 0);
    t.write(&t2, t.one, 1, 0);
    t2.commit().unwrap();
    let error = t1.commit().unwrap_err();
    assert_eq!(
        error,
        Error::Conflict {
            store: Some("test".into()),
            id: Some(t.one),
            index: None,
            read: format!("document {}", t.one),
        }
    );
    assert!(error.to_string().contains(&t.one.to_string()), "{error}");

    let t1 = t.db.begin().unwrap();
    t1.store(&t.test).range("by_value", 15..25).unwrap().count();
    t1.store(&t.test).insert(json!({})).unwrap();
    t.test.insert(row(5, 17)).unwrap();
    let error = t1.commit().unwrap_err();
    assert_eq!(error.index(), "by_value");
    let text = error.to_string();
    assert!(
        text.contains("by_value") && text.contains("15") && text.contains("25"),
        "{text}"
    );
}
