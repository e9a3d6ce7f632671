//! `stats()` against what the test did: documents and index entries, bytes
//! as weighed, the oldest held snapshot, subscriptions' lag, and counts of
//! expiries, evictions, conflicts and retries.

use std::time::{Duration, UNIX_EPOCH};

use docstore::{Capacity, Collection, Error, IndexOptions, Indexed, ManualClock, Object, Store};
use serde_json::json;

#[test]
fn documents_indexes_and_weights_are_what_was_written() {
    let store = Store::new();
    store.create_index("by_n", ["n"]).unwrap();
    store
        .create_index_with("by_tags", ["tags"], IndexOptions::new().multi_key())
        .unwrap();
    for n in 0..30 {
        store
            .insert(json!({ "n": n, "tags": ["a", "b", "c"] }))
            .unwrap();
    }
    let stats = store.stats().unwrap();
    assert_eq!(stats.documents, 30);
    assert_eq!(stats.indexes.len(), 2);
    assert_eq!(
        (stats.indexes[0].name.as_str(), stats.indexes[0].entries),
        ("by_n", 30)
    );
    assert_eq!(stats.indexes[1].entries, 90);
    assert!(stats.indexes[1].bytes > stats.indexes[0].bytes);
    assert!(stats.bytes > 0);
    assert_eq!((stats.capacity, stats.pinned), (None, 0));

    let weighed = Store::new();
    weighed
        .set_capacity(Capacity::weighed(1_000_000, |doc: &Object| {
            doc.to_string().len() as u64
        }))
        .unwrap();
    let mut total = 0;
    for n in 0..10 {
        let doc = json!({ "body": "x".repeat(n * 10) });
        total += doc.to_string().len() as u64;
        weighed.insert(doc).unwrap();
    }
    let stats = weighed.stats().unwrap();
    assert_eq!((stats.bytes, stats.capacity), (total, Some(1_000_000)));
}

#[test]
fn the_oldest_snapshot_and_what_it_keeps_alive() {
    let store = Store::new();
    let ids: Vec<_> = (0..10)
        .map(|n| store.insert(json!({ "n": n })).unwrap())
        .collect();
    assert_eq!(store.stats().unwrap().oldest, None);
    let old = store.snapshot().unwrap();
    for id in &ids[..4] {
        store.update(*id, json!({ "n": "changed" })).unwrap();
    }
    let newer = store.snapshot().unwrap();
    store.delete(ids[9]).unwrap();
    let oldest = store.stats().unwrap().oldest.unwrap();
    assert_eq!(oldest.seq, 10);
    assert_eq!(oldest.behind, 5);
    // Four replaced versions and one deleted one.
    assert_eq!(oldest.versions, 5);
    drop(old);
    let oldest = store.stats().unwrap().oldest.unwrap();
    assert_eq!((oldest.seq, oldest.behind, oldest.versions), (14, 1, 1));
    drop(newer);
    assert_eq!(store.stats().unwrap().oldest, None);
}

#[test]
fn subscriptions_lag_by_what_they_have_not_received() {
    let store = Store::new();
    let slow = store.subscribe_with_capacity(4).unwrap();
    let fast = store.subscribe().unwrap();
    for n in 0..6 {
        store.insert(json!({ "n": n })).unwrap();
    }
    while fast.try_recv().unwrap().is_some() {}
    let subscriptions = store.stats().unwrap().subscriptions;
    assert_eq!(subscriptions.len(), 2);
    let lags: Vec<_> = subscriptions
        .iter()
        .map(|s| (s.lag, s.buffer, s.missed))
        .collect();
    assert!(lags.contains(&(4, 4, 2)), "{lags:?}");
    assert!(lags.contains(&(0, 1024, 0)), "{lags:?}");
    drop(slow);
    drop(fast);
}

#[test]
fn expiries_evictions_conflicts_and_retries_are_counted() {
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_000_000));
    let store = Store::with_clock(clock.clone());
    for n in 0..3 {
        store
            .insert_with_ttl(json!({ "n": n }), Duration::from_secs(60))
            .unwrap();
    }
    clock.advance(Duration::from_secs(61));
    assert_eq!(store.len().unwrap(), 0);
    store.set_capacity(Capacity::documents(2)).unwrap();
    for n in 0..7 {
        store.insert(json!({ "n": n })).unwrap();
    }
    let id = store.iter().unwrap().next().unwrap().id();
    // A transaction that conflicts twice, then commits.
    let mut runs = 0;
    store
        .transaction(|tx| {
            tx.get(id)?;
            runs += 1;
            if runs <= 2 {
                store.update(id, json!({ "run": runs }))?;
            }
            tx.update(id, json!({ "by": "tx" }))?;
            Ok::<_, Error>(())
        })
        .unwrap();
    let stats = store.stats().unwrap();
    assert_eq!((stats.expired, stats.evicted), (3, 5));
    assert_eq!((stats.conflicts, stats.retries), (2, 2));
}

#[derive(Indexed, Clone, Debug)]
struct Page {
    #[key]
    url: String,
}

#[test]
fn read_through_hits_misses_and_refusals() {
    let pages = Collection::<Page>::new();
    pages.set_capacity(Capacity::documents(1)).unwrap();
    let load = |url: &str| {
        let url = url.to_owned();
        move || Ok::<_, Error>(Page { url })
    };
    pages.get_or_load("/", load("/")).unwrap();
    pages.get_or_load("/", load("/")).unwrap();
    pages.get_or_load("/", load("/")).unwrap();
    // Full: a key missed once is served, not kept.
    let served = pages.get_or_load("/new", load("/new")).unwrap();
    assert_eq!(served.url, "/new");
    assert!(pages.get_key("/new").unwrap().is_none());
    let stats = pages.stats().unwrap();
    assert_eq!((stats.hits, stats.misses, stats.refused), (2, 2, 1));
    assert_eq!(stats.documents, 1);
}
