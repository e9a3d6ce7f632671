//! What durability costs a writer: N inserts (three indexes) into an
//! in-memory store, then into a durable store on disk with
//! `SyncPolicy::Never` (each commit handed to the OS before it returns), as a
//! ratio to the first, in one run.
//!
//! `cargo run --release --example durable_cost -- --n 100000 --dir DIR`
//! prints the rates; `--only memory` or `--only never` runs one, for
//! callgrind with `--toggle-collect=*insert_phase*`; `--only always` runs
//! the inserts with `SyncPolicy::Always` (one fsync each: use a small N), for
//! `strace -c` to count the system calls of a commit.

use std::path::PathBuf;
use std::time::Instant;

use docstore::{DurableOptions, Store, SyncPolicy};
use serde_json::{Value, json};

fn document(i: usize) -> Value {
    json!({"name": format!("user-{i}"), "age": i % 90, "city": format!("city-{}", i % 50),
           "score": i as f64 * 0.5, "active": i.is_multiple_of(2),
           "tags": [format!("t{}", i % 7), format!("t{}", i % 11)],
           "address": {"zip": format!("z{}", i % 1000), "street": format!("s{i}")}})
}

fn indexed(store: &Store) {
    for (index, field) in [("by_city", "city"), ("by_age", "age"), ("by_name", "name")] {
        store.create_index(index, [field]).expect("index");
    }
}

#[inline(never)]
fn insert_phase(store: &Store, documents: Vec<Value>) -> f64 {
    let n = documents.len();
    let start = Instant::now();
    for document in documents {
        store.insert(document).expect("insert");
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let mut n = 100_000;
    let mut only = None;
    let mut dir = std::env::temp_dir().join("docstore-durable-cost");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--n", Some(value)) => n = value.parse().expect("--n takes a number"),
            ("--only", Some(value)) => only = Some(value),
            ("--dir", Some(value)) => dir = PathBuf::from(value),
            _ => panic!("usage: durable_cost [--n N] [--only memory|never|always] [--dir DIR]"),
        }
    }
    let documents = || (0..n).map(document).collect::<Vec<_>>();
    let mut memory_rate = None;
    if only.as_deref().is_none_or(|only| only == "memory") {
        let store = Store::new();
        indexed(&store);
        let rate = insert_phase(&store, documents());
        println!("memory insert {rate:.0}/s");
        memory_rate = Some(rate);
    }
    for (name, sync) in [("never", SyncPolicy::Never), ("always", SyncPolicy::Always)] {
        // Fsync-bound: only when asked for, with a small N.
        if only.as_deref() != Some(name) && (name == "always" || only.is_some()) {
            continue;
        }
        let _ = std::fs::remove_dir_all(&dir);
        let options = DurableOptions::new().sync(sync).no_automatic_checkpoints();
        let (store, _) = Store::open(&dir, options).expect("open");
        indexed(&store);
        let rate = insert_phase(&store, documents());
        match memory_rate {
            Some(memory) => println!("{name} insert {rate:.0}/s ({:.2}x memory)", rate / memory),
            None => println!("{name} insert {rate:.0}/s"),
        }
        store.close().expect("close");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
