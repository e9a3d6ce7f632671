//! A subscription as a `futures_core::Stream` (the `async` feature), driven
//! by a tokio runtime while another thread writes: run with
//! `cargo test --features async --test feed_async`.
#![cfg(feature = "async")]

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;

use docstore::{Event, Store, Subscription};
use futures_core::Stream;
use serde_json::json;

async fn next<T>(subscription: &mut Subscription<T>) -> Option<Event<T>> {
    poll_fn(|cx| Pin::new(&mut *subscription).poll_next(cx)).await
}

#[tokio::test(flavor = "current_thread")]
async fn a_stream_yields_every_change_set_then_ends_when_the_store_closes() {
    let store = Arc::new(Store::new());
    let mut changes = store.subscribe_with_capacity(1_000).unwrap();
    let writer = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || {
            for n in 0..500 {
                store.insert(json!({ "n": n })).unwrap();
            }
            store.close();
        })
    };
    let mut seqs = Vec::new();
    while let Some(event) = next(&mut changes).await {
        match event {
            Event::Changes(set) => seqs.push(set.seq()),
            Event::Lagged { .. } => panic!("lagged"),
        }
    }
    writer.join().unwrap();
    assert_eq!(seqs, (1..=500).collect::<Vec<_>>());
}
