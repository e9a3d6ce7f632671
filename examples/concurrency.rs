//! Threads sharing one store: writers doing atomic read-modify-writes on one
//! document while readers scan and query alongside.
//!
//! Run with `cargo run --example concurrency`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;

use docstore::{Error, Store};
use serde_json::json;

const WRITERS: usize = 8;
const INCREMENTS: u64 = 500;

fn main() -> Result<(), Error> {
    let store = Arc::new(Store::new());
    store.create_index("by_kind", ["kind"])?;
    let counter = store.insert(json!({"kind": "counter", "value": 0}))?;
    for n in 0..1_000 {
        store.insert(json!({"kind": "item", "n": n}))?;
    }

    let done = Arc::new(AtomicBool::new(false));
    let scans = Arc::new(AtomicUsize::new(0));

    // Readers: every scan sees one consistent moment, however long it takes, and
    // never holds the writers back.
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (store, done, scans) = (Arc::clone(&store), Arc::clone(&done), Arc::clone(&scans));
            thread::spawn(move || -> Result<(), Error> {
                while !done.load(Ordering::Relaxed) {
                    let items = store.lookup("by_kind", "item")?.count();
                    let all = store.iter()?.count();
                    assert_eq!((items, all), (1_000, 1_001));
                    scans.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .collect();

    // Writers: read-modify-write retries on conflict, so no increment is lost.
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let store = Arc::clone(&store);
            thread::spawn(move || -> Result<(), Error> {
                for _ in 0..INCREMENTS {
                    store.update_with(counter, |doc| {
                        let value = doc.get("value").and_then(|v| v.as_u64()).unwrap_or(0);
                        json!({"kind": "counter", "value": value + 1})
                    })?;
                }
                Ok(())
            })
        })
        .collect();

    for writer in writers {
        writer.join().expect("writer thread")?;
    }
    done.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.join().expect("reader thread")?;
    }

    let final_doc = store.get(counter)?;
    println!(
        "{WRITERS} writers x {INCREMENTS} increments: value {} at version {} (expected {})",
        final_doc.get("value").and_then(|v| v.as_u64()).unwrap_or(0),
        final_doc.version(),
        WRITERS as u64 * INCREMENTS,
    );
    println!(
        "readers completed {} consistent scans meanwhile",
        scans.load(Ordering::Relaxed)
    );
    println!("integrity check: {:?}", store.verify()?);
    Ok(())
}
