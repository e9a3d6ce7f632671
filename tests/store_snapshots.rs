//! Point-in-time reads: store iteration, index iteration, snapshots and cursors.

use docstore::{Cursor, Document, Id, Iter, Object, Snapshot, Store};
use serde_json::json;

fn ids(iter: impl Iterator<Item = Document>) -> Vec<Id> {
    iter.map(|doc| doc.id()).collect()
}

fn n(doc: &Document) -> u64 {
    doc.get("n").and_then(|v| v.as_u64()).unwrap()
}

/// A store with `count` documents `{"n": i, "k": count - 1 - i}` and an index
/// "by_k" on "k" (so index order is the reverse of id order).
fn numbered(count: u64) -> (Store, Vec<Id>) {
    let store = Store::new();
    store.create_index("by_k", ["k"]).unwrap();
    let ids = (0..count)
        .map(|i| store.insert(json!({"n": i, "k": count - 1 - i})).unwrap())
        .collect();
    (store, ids)
}

#[test]
fn iter_is_in_id_order_and_ignores_writes_made_after_it_began() {
    let (store, id) = numbered(100);
    let mut iter = store.iter().unwrap();
    assert_eq!(iter.len(), 100);
    let first: Vec<u64> = iter.by_ref().take(10).map(|d| n(&d)).collect();
    assert_eq!(first, (0..10).collect::<Vec<_>>());

    // Writes in the middle of the iteration: insert, update (seen and unseen
    // documents), delete (seen and unseen).
    store.insert(json!({"n": 1000, "k": 1000})).unwrap();
    store.update(id[5], json!({"n": 5005, "k": 0})).unwrap();
    store.update(id[50], json!({"n": 5050, "k": 0})).unwrap();
    store.delete(id[3]).unwrap();
    store.delete(id[70]).unwrap();

    assert_eq!(iter.len(), 90);
    let rest: Vec<Document> = iter.collect();
    assert_eq!(rest.len(), 90);
    let rest_n: Vec<u64> = rest.iter().map(n).collect();
    assert_eq!(rest_n, (10..100).collect::<Vec<_>>());
    assert!(rest.iter().all(|d| d.version() == 1));
    assert_eq!(ids(rest.into_iter()), id[10..]);

    // A new iteration sees the writes.
    let now: Vec<u64> = store.iter().unwrap().map(|d| n(&d)).collect();
    assert_eq!(now.len(), 99);
    assert!(now.contains(&5050) && now.contains(&1000) && !now.contains(&70));
    assert_eq!(*now.last().unwrap(), 1000);
}

#[test]
fn by_index_is_in_key_order_and_ignores_later_writes() {
    let (store, id) = numbered(50);
    let mut iter = store.by_index("by_k").unwrap();
    let head: Vec<Id> = ids(iter.by_ref().take(5));
    assert_eq!(head, [id[49], id[48], id[47], id[46], id[45]]);
    // Move a document not yet read to the front of the index, delete one not yet
    // read, and add one that would come first.
    store.update(id[0], json!({"n": 0, "k": -1})).unwrap();
    store.delete(id[10]).unwrap();
    store.insert(json!({"n": 99, "k": -5})).unwrap();
    store.drop_index("by_k").unwrap();

    let rest: Vec<Document> = iter.collect();
    let expected: Vec<Id> = id[..45].iter().rev().copied().collect();
    assert_eq!(ids(rest.iter().cloned()), expected);
    let keys: Vec<u64> = rest
        .iter()
        .map(|d| d.get("k").and_then(|v| v.as_u64()).unwrap())
        .collect();
    assert_eq!(keys, (5..50).collect::<Vec<_>>());
    assert!(store.by_index("by_k").is_err());
}

#[test]
fn query_iterators_ignore_later_writes() {
    let (store, id) = numbered(20);
    let lookup = store.lookup("by_k", 3).unwrap();
    let range = store.range("by_k", 0..10).unwrap();
    for (i, &each) in id.iter().enumerate() {
        store.update(each, json!({"n": i, "k": 3})).unwrap();
    }
    assert_eq!(ids(lookup), [id[16]]);
    assert_eq!(range.len(), 10);
    assert!(range.into_iter().all(|d| d.version() == 1));
    assert_eq!(store.lookup("by_k", 3).unwrap().len(), 20);
}

#[test]
fn a_snapshot_is_a_fixed_moment() {
    let (store, id) = numbered(30);
    let snapshot: Snapshot<Object> = store.snapshot().unwrap();
    store.update(id[0], json!({"n": 0, "k": 1000})).unwrap();
    store.delete(id[1]).unwrap();
    let added = store.insert(json!({"n": 30, "k": 1000})).unwrap();
    store.create_index("by_n", ["n"]).unwrap();

    assert_eq!(snapshot.len(), 30);
    assert!(!snapshot.is_empty());
    assert!(snapshot.contains(id[1]));
    assert!(!snapshot.contains(added));
    assert_eq!(snapshot.get(id[0]).unwrap().version(), 1);
    assert_eq!(snapshot.get(id[1]).unwrap().version(), 1);
    assert!(snapshot.get(added).is_err());
    assert_eq!(ids(snapshot.lookup("by_k", 29).unwrap()), [id[0]]);
    assert_eq!(snapshot.lookup("by_k", 1000).unwrap().count(), 0);
    assert_eq!(
        ids(snapshot.range("by_k", 27..).unwrap()),
        [id[2], id[1], id[0]]
    );
    assert_eq!(snapshot.by_index("by_k").unwrap().len(), 30);
    assert_eq!(snapshot.prefix("by_k", 28).unwrap().count(), 1);
    assert_eq!(snapshot.indexes().len(), 1);
    assert!(snapshot.lookup("by_n", 1).is_err());
    assert_eq!(snapshot.iter().len(), 30);
    // Several queries against the same moment agree with each other.
    let clone = snapshot.clone();
    assert_eq!(ids(clone.iter()), ids(snapshot.iter()));
    // The live store moved on.
    assert_eq!(store.lookup("by_k", 1000).unwrap().count(), 2);
    assert_eq!(store.len().unwrap(), 30);
}

#[test]
fn snapshot_get_unique() {
    let store = Store::new();
    store
        .create_index_with("u", ["e"], docstore::IndexOptions::new().unique())
        .unwrap();
    let id = store.insert(json!({"e": "a"})).unwrap();
    let snapshot = store.snapshot().unwrap();
    store.update(id, json!({"e": "b"})).unwrap();
    assert_eq!(
        snapshot.get_unique("u", "a").unwrap().map(|d| d.id()),
        Some(id)
    );
    assert_eq!(snapshot.get_unique("u", "b").unwrap(), None);
}

#[test]
fn cursor_moves_both_ways_and_clamps_at_the_ends() {
    let (store, _) = numbered(10);
    let mut cursor: Cursor<Object> = store.cursor().unwrap();
    assert_eq!(cursor.len(), 10);
    assert!(!cursor.is_empty());
    assert_eq!((cursor.position(), cursor.remaining()), (0, 10));
    assert_eq!(cursor.prev(), None, "prev at the start");
    assert_eq!(cursor.position(), 0);

    assert_eq!(cursor.next().map(|d| n(&d)), Some(0));
    assert_eq!(cursor.next().map(|d| n(&d)), Some(1));
    assert_eq!((cursor.position(), cursor.remaining()), (2, 8));
    assert_eq!(cursor.prev().map(|d| n(&d)), Some(1));
    assert_eq!(cursor.position(), 1);
    assert_eq!(cursor.peek().map(|d| n(&d)), Some(1));
    assert_eq!(cursor.position(), 1);

    cursor.advance(3);
    assert_eq!(cursor.position(), 4);
    assert_eq!(cursor.next().map(|d| n(&d)), Some(4));
    cursor.advance(-2);
    assert_eq!(cursor.position(), 3);
    assert_eq!(cursor.next().map(|d| n(&d)), Some(3));

    cursor.advance(100);
    assert_eq!((cursor.position(), cursor.remaining()), (10, 0));
    assert_eq!(cursor.next(), None, "next at the end");
    assert_eq!(cursor.peek(), None);
    assert_eq!(cursor.position(), 10);
    assert_eq!(cursor.prev().map(|d| n(&d)), Some(9));

    cursor.advance(-100);
    assert_eq!(cursor.position(), 0);
    cursor.advance(isize::MAX);
    assert_eq!(cursor.position(), 10);
    cursor.advance(isize::MIN);
    assert_eq!(cursor.position(), 0);
    cursor.advance(0);
    assert_eq!(cursor.position(), 0);

    cursor.seek(7);
    assert_eq!(cursor.next().map(|d| n(&d)), Some(7));
    cursor.seek(1_000);
    assert_eq!(cursor.position(), 10);
    cursor.seek(usize::MAX);
    assert_eq!(cursor.position(), 10);

    cursor.reset();
    assert_eq!((cursor.position(), cursor.remaining()), (0, 10));
    assert_eq!(cursor.next().map(|d| n(&d)), Some(0));
    // len never changes with the position.
    assert_eq!(cursor.len(), 10);
}

#[test]
fn walking_a_cursor_forwards_and_back_reads_every_document() {
    let (store, id) = numbered(25);
    let mut cursor = store.cursor().unwrap();
    let mut forwards = Vec::new();
    while let Some(doc) = cursor.next() {
        forwards.push(doc.id());
    }
    assert_eq!(forwards, id);
    let mut backwards = Vec::new();
    while let Some(doc) = cursor.prev() {
        backwards.push(doc.id());
    }
    backwards.reverse();
    assert_eq!(backwards, id);
}

#[test]
fn a_cloned_cursor_is_independent() {
    let (store, _) = numbered(10);
    let mut cursor = store.cursor().unwrap();
    cursor.advance(4);
    let mut copy = cursor.clone();
    assert_eq!(copy.position(), 4);
    assert_eq!(copy.next().map(|d| n(&d)), Some(4));
    copy.advance(3);
    assert_eq!(copy.position(), 8);
    assert_eq!(cursor.position(), 4);
    assert_eq!(cursor.next().map(|d| n(&d)), Some(4));
    cursor.reset();
    assert_eq!(copy.position(), 8);
}

#[test]
fn cursor_ignores_writes_made_after_it_opened() {
    let (store, id) = numbered(10);
    let mut cursor = store.cursor().unwrap();
    cursor.advance(5);
    store.delete(id[2]).unwrap();
    store.delete(id[7]).unwrap();
    store.update(id[6], json!({"n": 600})).unwrap();
    store.insert(json!({"n": 10})).unwrap();
    store.close();
    assert_eq!(cursor.len(), 10);
    assert_eq!(cursor.next().map(|d| n(&d)), Some(5));
    assert_eq!(cursor.next().map(|d| (n(&d), d.version())), Some((6, 1)));
    assert_eq!(cursor.next().map(|d| n(&d)), Some(7));
    cursor.seek(2);
    assert_eq!(cursor.next().map(|d| d.id()), Some(id[2]));
    cursor.advance(100);
    assert_eq!(cursor.prev().map(|d| n(&d)), Some(9));
}

#[test]
fn iter_into_cursor_covers_what_is_left() {
    let (store, id) = numbered(10);
    // Over an index, in key order: ids 9, 8, ..., 0.
    let mut iter: Iter<Object> = store.by_index("by_k").unwrap();
    iter.next();
    iter.next();
    iter.next_back();
    let mut cursor = iter.into_cursor();
    assert_eq!(cursor.len(), 7);
    assert_eq!(cursor.position(), 0);
    assert_eq!(cursor.next().map(|d| d.id()), Some(id[7]));
    cursor.advance(100);
    assert_eq!(cursor.prev().map(|d| d.id()), Some(id[1]));
    cursor.reset();
    assert_eq!(cursor.prev(), None);
    // A cursor over a query result.
    let mut cursor = store.range("by_k", 3..6).unwrap().into_cursor();
    let keys: Vec<u64> = std::iter::from_fn(|| cursor.next())
        .map(|d| d.get("k").and_then(|v| v.as_u64()).unwrap())
        .collect();
    assert_eq!(keys, [3, 4, 5]);
    // A snapshot's cursor.
    let snapshot = store.snapshot().unwrap();
    assert_eq!(snapshot.cursor().len(), 10);
    // A cursor is also an iterator of what remains.
    let mut cursor = store.cursor().unwrap();
    cursor.advance(8);
    assert_eq!(cursor.size_hint(), (2, Some(2)));
    assert_eq!(cursor.map(|d| n(&d)).collect::<Vec<_>>(), [8, 9]);
}

#[test]
fn cloned_iterators_are_independent() {
    let (store, _) = numbered(5);
    let mut a = store.iter().unwrap();
    a.next();
    let b = a.clone();
    let rest_a: Vec<u64> = a.map(|d| n(&d)).collect();
    let rest_b: Vec<u64> = b.map(|d| n(&d)).collect();
    assert_eq!(rest_a, [1, 2, 3, 4]);
    assert_eq!(rest_b, rest_a);
}

fn assert_send<T: Send>(_: &T) {}
fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn iterators_cursors_snapshots_and_documents_are_send() {
    assert_send_sync::<Snapshot<Object>>();
    assert_send_sync::<Document>();
    let (store, id) = numbered(20);
    let iter = store.iter().unwrap();
    let by_index = store.by_index("by_k").unwrap();
    let mut cursor = store.cursor().unwrap();
    cursor.advance(10);
    let snapshot = store.snapshot().unwrap();
    let doc = store.get(id[3]).unwrap();
    assert_send(&iter);
    assert_send(&cursor);
    for (i, &each) in id.iter().enumerate() {
        store.update(each, json!({"n": 100 + i})).unwrap();
    }
    let (scanned, indexed, from_cursor, looked_up, doc_n) = std::thread::spawn(move || {
        let scanned: Vec<u64> = iter.map(|d| n(&d)).collect();
        let indexed: Vec<u64> = by_index.map(|d| n(&d)).collect();
        let from_cursor: Vec<u64> = cursor.map(|d| n(&d)).collect();
        let looked_up = snapshot.lookup("by_k", 0).unwrap().next().map(|d| n(&d));
        (scanned, indexed, from_cursor, looked_up, n(&doc))
    })
    .join()
    .unwrap();
    assert_eq!(scanned, (0..20).collect::<Vec<_>>());
    assert_eq!(indexed, (0..20).rev().collect::<Vec<_>>());
    assert_eq!(from_cursor, (10..20).collect::<Vec<_>>());
    assert_eq!(looked_up, Some(19));
    assert_eq!(doc_n, 3);
}

#[test]
fn a_snapshot_can_be_shared_between_threads() {
    let (store, _) = numbered(100);
    let snapshot = std::sync::Arc::new(store.snapshot().unwrap());
    store.close();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let snapshot = std::sync::Arc::clone(&snapshot);
            std::thread::spawn(move || {
                let total: u64 = snapshot.iter().map(|d| n(&d)).sum();
                let hits = snapshot.lookup("by_k", t).unwrap().count();
                (total, hits)
            })
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.join().unwrap(), ((0..100).sum(), 1));
    }
}

#[test]
fn a_long_lived_iterator_does_not_block_writers() {
    // Writers complete while an iterator, a cursor and a snapshot are held
    // (were they holding a lock, these writes would deadlock the test).
    let (store, id) = numbered(100);
    let mut iter = store.iter().unwrap();
    let _cursor = store.cursor().unwrap();
    let _snapshot = store.snapshot().unwrap();
    iter.next();
    std::thread::scope(|s| {
        s.spawn(|| {
            for (i, &each) in id.iter().enumerate() {
                store.update(each, json!({"n": i, "k": 0})).unwrap();
            }
        });
    });
    assert_eq!(iter.len(), 99);
    assert_eq!(store.lookup("by_k", 0).unwrap().len(), 100);
}
