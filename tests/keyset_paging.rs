//! Keyset pagination: a stateless service pages through an index by handing
//! out the last (key, id) of each page and resuming after it, repeated keys
//! included, with writes between the pages.

use std::collections::HashSet;

use docstore::{Collection, Id, IndexOptions, Indexed, Store};
use serde_json::{Value, json};

const PAGE: usize = 7;

/// What a stateless service hands the client with a page: where to resume.
#[derive(Clone)]
struct Token {
    key: Value,
    id: Id,
}

/// One request: the page after `token` (or the first page).
fn page(
    store: &Store,
    index: &str,
    field: &str,
    token: Option<&Token>,
) -> (Vec<Id>, Option<Token>) {
    let docs: Vec<_> = match token {
        None => store.by_index(index).unwrap().take(PAGE).collect(),
        Some(token) => store
            .after(index, &token.key, token.id)
            .unwrap()
            .take(PAGE)
            .collect(),
    };
    let next = docs.last().map(|doc| Token {
        key: doc.get(field).unwrap().to_value(),
        id: doc.id(),
    });
    (docs.iter().map(|doc| doc.id()).collect(), next)
}

#[test]
fn paging_an_index_of_repeated_keys_shows_each_document_once_in_order() {
    let store = Store::new();
    store.create_index("by_score", ["score"]).unwrap();
    // 100 documents over 4 scores: each page boundary falls inside a run of ties.
    for n in 0..100 {
        store.insert(json!({"score": n % 4, "n": n})).unwrap();
    }
    let expected: Vec<Id> = store
        .by_index("by_score")
        .unwrap()
        .map(|d| d.id())
        .collect();
    let mut seen = Vec::new();
    let mut token = None;
    let mut requests = 0;
    loop {
        let (ids, next) = page(&store, "by_score", "score", token.as_ref());
        requests += 1;
        if ids.is_empty() {
            break;
        }
        seen.extend(ids);
        token = next;
    }
    assert_eq!(seen, expected);
    assert_eq!(requests, 100usize.div_ceil(PAGE) + 1);
}

#[test]
fn writes_between_pages_never_duplicate_or_skip_documents_that_stay() {
    let store = Store::new();
    store.create_index("by_score", ["score"]).unwrap();
    let mut stayed = Vec::new();
    for n in 0..60 {
        stayed.push(store.insert(json!({"score": n % 3})).unwrap());
    }
    let mut seen = Vec::new();
    let mut token = None;
    let mut round = 0;
    loop {
        let (ids, next) = page(&store, "by_score", "score", token.as_ref());
        if ids.is_empty() {
            break;
        }
        seen.extend(ids);
        token = next;
        // Others write meanwhile: new documents at every score, and one of
        // those added before is deleted again.
        round += 1;
        let added = store
            .insert(json!({"score": round % 3, "added": true}))
            .unwrap();
        if round % 2 == 0 {
            store.delete(added).unwrap();
        }
    }
    let unique: HashSet<Id> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "a document came twice");
    for id in &stayed {
        assert!(unique.contains(id), "a document that stayed was skipped");
    }
    // Pages come in index order: key, then id.
    let keys: Vec<(u64, Id)> = seen
        .iter()
        .filter_map(|id| store.get(*id).ok())
        .map(|doc| (doc.get("score").unwrap().as_u64().unwrap(), doc.id()))
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn a_multi_key_document_comes_once_at_its_smallest_key() {
    let store = Store::new();
    store
        .create_index_with("by_tag", ["tags"], IndexOptions::new().multi_key())
        .unwrap();
    for n in 0..40u64 {
        let tags: Vec<u64> = (0..1 + n % 4).map(|k| (n + k) % 5).collect();
        store.insert(json!({"tags": tags})).unwrap();
    }
    let mut seen = Vec::new();
    let mut token: Option<(u64, Id)> = None;
    loop {
        let docs: Vec<_> = match token {
            None => store.by_index("by_tag").unwrap().take(PAGE).collect(),
            Some((key, id)) => store.after("by_tag", key, id).unwrap().take(PAGE).collect(),
        };
        let Some(last) = docs.last() else { break };
        let smallest = last
            .get("tags")
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|tag| tag.as_u64())
            .min()
            .unwrap();
        token = Some((smallest, last.id()));
        seen.extend(docs.iter().map(|doc| doc.id()));
    }
    let all: Vec<Id> = store.by_index("by_tag").unwrap().map(|d| d.id()).collect();
    assert_eq!(seen, all);
    assert_eq!(seen.len(), 40);
}

#[derive(Indexed, Clone, Debug)]
#[indexed(composite(by_city_age = (city, age)))]
struct Person {
    #[index]
    city: String,
    age: u32,
}

#[test]
fn a_typed_collection_pages_a_prefix_with_range_after() {
    let people = Collection::<Person>::new();
    for n in 0..50u32 {
        let city = ["Lima", "Oslo", "Rome"][n as usize % 3];
        people
            .insert(Person {
                city: city.into(),
                age: n % 5,
            })
            .unwrap();
    }
    let oslo = ("Oslo",)..=("Oslo",);
    let expected: Vec<Id> = people
        .range(Person::by_city_age, oslo.clone())
        .unwrap()
        .map(|p| p.id())
        .collect();
    let mut seen = Vec::new();
    let mut resume: Option<(String, u32, Id)> = None;
    loop {
        let docs: Vec<_> = match &resume {
            None => people
                .range(Person::by_city_age, oslo.clone())
                .unwrap()
                .take(PAGE)
                .collect(),
            Some((city, age, id)) => people
                .range_after(
                    Person::by_city_age,
                    oslo.clone(),
                    (city.as_str(), *age),
                    *id,
                )
                .unwrap()
                .take(PAGE)
                .collect(),
        };
        let Some(last) = docs.last() else { break };
        resume = Some((last.city.clone(), last.age, last.id()));
        seen.extend(docs.iter().map(|doc| doc.id()));
    }
    assert_eq!(seen, expected);
    assert_eq!(seen.len(), 17);
    // A typed single-field index pages with the plain key.
    let first = people.by_index(Person::city).unwrap().next().unwrap();
    let rest = people.after(Person::city, &first.city, first.id()).unwrap();
    assert_eq!(rest.count(), 49);
}

#[test]
fn a_resume_point_outside_the_range_or_gone_is_no_error() {
    let store = Store::new();
    store.create_index("by_n", ["n"]).unwrap();
    let ids: Vec<Id> = (0..10)
        .map(|n| store.insert(json!({"n": n})).unwrap())
        .collect();
    // Before the range: the whole range; after it: nothing.
    assert_eq!(
        store.range_after("by_n", 3..6, 0, ids[0]).unwrap().count(),
        3
    );
    assert_eq!(
        store.range_after("by_n", 3..6, 8, ids[8]).unwrap().count(),
        0
    );
    // The document at the resume point was deleted: resume just after where it was.
    store.delete(ids[4]).unwrap();
    let rest: Vec<Id> = store
        .after("by_n", 4, ids[4])
        .unwrap()
        .map(|d| d.id())
        .collect();
    assert_eq!(rest, ids[5..]);
    // The key must be a whole key of the index.
    assert!(store.after("by_n", (4, 5), ids[4]).is_err());
}

mod paging_equals_one_scan {
    use super::*;
    use proptest::prelude::*;

    /// Pages of `size` through `index`, resuming after each page's last
    /// document at the key `key_of` names for it.
    fn all_pages(
        store: &Store,
        index: &str,
        size: usize,
        key_of: impl Fn(&docstore::Document) -> Value,
    ) -> Vec<Id> {
        let mut seen = Vec::new();
        let mut resume: Option<(Value, Id)> = None;
        loop {
            let docs: Vec<_> = match &resume {
                None => store.by_index(index).unwrap().take(size).collect(),
                Some((key, id)) => store.after(index, key, *id).unwrap().take(size).collect(),
            };
            let Some(last) = docs.last() else { break };
            resume = Some((key_of(last), last.id()));
            seen.extend(docs.iter().map(|doc| doc.id()));
        }
        seen
    }

    proptest! {
        #[test]
        fn any_page_size_over_any_keys(
            keys in proptest::collection::vec(0u8..6, 0..60),
            tags in proptest::collection::vec(proptest::collection::vec(0u8..6, 1..4), 0..40),
            size in 1usize..9,
        ) {
            let store = Store::new();
            store.create_index("by_k", ["k"]).unwrap();
            store
                .create_index_with("by_tag", ["tags"], IndexOptions::new().multi_key())
                .unwrap();
            for k in &keys {
                store.insert(json!({"k": k})).unwrap();
            }
            for t in &tags {
                store.insert(json!({"tags": t})).unwrap();
            }
            let by_k: Vec<Id> = store.by_index("by_k").unwrap().map(|d| d.id()).collect();
            let paged = all_pages(&store, "by_k", size, |doc| doc.get("k").unwrap().to_value());
            prop_assert_eq!(paged, by_k);

            let by_tag: Vec<Id> = store.by_index("by_tag").unwrap().map(|d| d.id()).collect();
            let paged = all_pages(&store, "by_tag", size, |doc| {
                let tags = doc.get("tags").unwrap().to_value();
                let smallest = tags.as_array().unwrap().iter().filter_map(Value::as_u64).min();
                json!(smallest)
            });
            prop_assert_eq!(paged.len(), tags.len());
            prop_assert_eq!(paged, by_tag);
        }
    }
}
