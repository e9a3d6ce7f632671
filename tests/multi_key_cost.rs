//! A multi-key query costs what it reads: no key of a matching document is
//! recomputed, however many keys the document has, and each document still
//! comes once, at its first key in the range, in key order.

use std::sync::atomic::{AtomicUsize, Ordering};

use docstore::{Collection, Error, IndexOptions, Indexed, Store};
use serde_json::json;

/// How many times `Post::words` ran: the computed key's user code.
static WORD_CALLS: AtomicUsize = AtomicUsize::new(0);

#[derive(Indexed, Clone, Debug)]
#[indexed(computed(by_word: Vec<u32> = words, each))]
struct Post {
    #[index(each)]
    tags: Vec<u32>,
    body: Vec<u32>,
}

impl Post {
    fn words(&self) -> Vec<u32> {
        WORD_CALLS.fetch_add(1, Ordering::Relaxed);
        self.body.clone()
    }
}

fn post(first: u32, count: u32) -> Post {
    let keys: Vec<u32> = (first..first + count).collect();
    Post {
        tags: keys.clone(),
        body: keys,
    }
}

#[test]
fn a_range_over_documents_with_thousands_of_keys_runs_no_key_code() -> Result<(), Error> {
    let posts = Collection::<Post>::new();
    // One document with 10,000 keys, and 20 of 2,000 keys that overlap.
    let big = posts.insert(post(0, 10_000))?;
    let mut others = Vec::new();
    for n in 0..20 {
        others.push(posts.insert(post(n * 500, 2_000))?);
    }
    WORD_CALLS.store(0, Ordering::Relaxed);
    let found = posts.range(Post::by_word, ..)?;
    assert_eq!(WORD_CALLS.load(Ordering::Relaxed), 0);
    assert_eq!(found.len(), 21);
    // Key order of first keys, ties in id order: key 0 is held by `big` and the
    // first other post; then each other post at its first word.
    let order: Vec<_> = found.map(|post| post.id()).collect();
    let mut expected = vec![big, others[0]];
    expected.extend(&others[1..]);
    assert_eq!(order, expected);

    let middle = posts.range(Post::by_word, 4_000..6_000)?;
    assert_eq!(WORD_CALLS.load(Ordering::Relaxed), 0);
    // `big` and the posts whose words reach into 4000..6000: n*500 + 2000 > 4000
    // and n*500 < 6000, so n in 5..12.
    assert_eq!(middle.len(), 1 + 7);
    let backwards: Vec<_> = middle.clone().rev().map(|post| post.id()).collect();
    let mut forwards: Vec<_> = middle.map(|post| post.id()).collect();
    forwards.reverse();
    assert_eq!(backwards, forwards);

    let tags = posts.range(Post::tags, 9_990..)?;
    assert_eq!(tags.len(), 5);
    assert_eq!(WORD_CALLS.load(Ordering::Relaxed), 0);
    assert!(posts.verify()?.is_empty());
    Ok(())
}

#[test]
fn a_schemaless_range_returns_each_document_once_in_key_order() -> Result<(), Error> {
    let store = Store::new();
    store.create_index_with("by_tag", ["tags"], IndexOptions::new().multi_key())?;
    let many: Vec<u32> = (0..10_000).rev().collect();
    let a = store.insert(json!({"tags": many}))?;
    let b = store.insert(json!({"tags": [5, 3]}))?;
    let c = store.insert(json!({"tags": [4]}))?;
    let found: Vec<_> = store.range("by_tag", 3..)?.map(|doc| doc.id()).collect();
    assert_eq!(found, [a, b, c]);
    let found: Vec<_> = store.range("by_tag", 4..)?.map(|doc| doc.id()).collect();
    assert_eq!(found, [a, c, b]);
    let last_two: Vec<_> = store
        .range("by_tag", 4..)?
        .rev()
        .take(2)
        .map(|doc| doc.id())
        .collect();
    assert_eq!(last_two, [b, c]);
    let mut cursor = store.range("by_tag", 4..)?.into_cursor();
    assert_eq!(cursor.len(), 3);
    cursor.seek(2);
    assert_eq!(cursor.next().map(|doc| doc.id()), Some(b));
    assert_eq!(
        store.by_index("by_tag")?.nth(1).map(|doc| doc.id()),
        Some(b)
    );
    Ok(())
}

#[test]
fn queries_stay_exact_as_documents_gain_and_lose_second_keys() -> Result<(), Error> {
    let store = Store::new();
    store.create_index_with("by_tag", ["tags"], IndexOptions::new().multi_key())?;
    let a = store.insert(json!({"tags": [1]}))?;
    let b = store.insert(json!({"tags": 2}))?;
    let order = |store: &Store| -> Result<Vec<_>, Error> {
        Ok(store.range("by_tag", ..)?.map(|doc| doc.id()).collect())
    };
    // One key each: every entry is a result.
    assert_eq!(order(&store)?, [a, b]);
    store.update(a, json!({"tags": [3, 1, 2]}))?;
    assert_eq!(order(&store)?, [a, b]);
    assert!(store.verify()?.is_empty());
    let c = store.insert(json!({"tags": [0, 9]}))?;
    assert_eq!(order(&store)?, [c, a, b]);
    assert_eq!(
        store
            .range("by_tag", 2..)?
            .rev()
            .map(|doc| doc.id())
            .collect::<Vec<_>>(),
        [c, b, a]
    );
    store.update(a, json!({"tags": [5]}))?;
    store.delete(c)?;
    assert_eq!(order(&store)?, [b, a]);
    assert!(store.verify()?.is_empty());
    // A copy and an index built later count the same.
    store.create_index_with("by_tag_again", ["tags"], IndexOptions::new().multi_key())?;
    store.update(b, json!({"tags": [7, 8]}))?;
    let copy = store.clone_filtered(|_| true)?;
    assert_eq!(copy.range("by_tag_again", ..)?.len(), 2);
    assert!(store.verify()?.is_empty());
    assert!(copy.verify()?.is_empty());
    Ok(())
}
