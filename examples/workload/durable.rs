//! `--durable DIR`: docstore's durable database on real disk, in `DIR`.
//!
//! Phases (each prints `SYSTEM PHASE OPS SECONDS OPS_PER_SEC`, SYSTEM being
//! `durable-<policy>-<threads>t`):
//! - `durable_insert`: COMMITS inserts, one commit each, from T threads;
//!   with `Always`, also `commits_per_fsync`;
//! - `durable_update`: COMMITS updates of those documents;
//! - `memory_insert`: the same inserts into an in-memory store, for the ratio;
//! - `recover_checkpoint` / `recover_log`: opening N documents from a
//!   checkpoint, and from a log written with `Never` alone (ops = documents);
//!   with the directory's bytes after the inserts and after a checkpoint;
//! - `redb-bulk`: redb's bytes for the same N documents, loaded in batches.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use docstore::{DurableDb, DurableOptions, Id, Store, SyncPolicy};

use crate::common::{initial_age, json_document};
use crate::{report, timed};

fn indexed(store: &Store) {
    for (index, field) in [("by_city", "city"), ("by_age", "age"), ("by_name", "name")] {
        match store.create_index(index, [field]) {
            Ok(()) | Err(docstore::Error::IndexExists { .. }) => {}
            Err(error) => panic!("{error}"),
        }
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn fresh(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}

fn commits_phase(dir: &Path, policy: &str, sync: SyncPolicy, threads: usize, commits: usize) {
    let system = format!("durable-{policy}-{threads}t");
    fresh(dir);
    let options = DurableOptions::new().sync(sync);
    let (db, _) = DurableDb::open(dir, options).expect("open");
    let store = db.store("docs").expect("store");
    indexed(&store);
    let per_thread = commits / threads;
    let fsyncs = db.fsyncs();
    let (ids, elapsed) = timed(|| {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let store = &store;
                    s.spawn(move || {
                        (0..per_thread)
                            .map(|k| {
                                let i = t * per_thread + k;
                                store
                                    .insert(json_document(i, initial_age(i)))
                                    .expect("insert")
                            })
                            .collect::<Vec<Id>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("thread"))
                .collect::<Vec<Id>>()
        })
    });
    let done = (per_thread * threads) as u64;
    report(&system, "durable_insert", done, elapsed);
    println!("{system} bytes_after_insert {}", dir_bytes(dir));
    if sync == SyncPolicy::Always {
        let used = (db.fsyncs() - fsyncs).max(1);
        println!(
            "{system} commits_per_fsync {:.2}",
            done as f64 / used as f64
        );
    }
    let (_, elapsed) = timed(|| {
        std::thread::scope(|s| {
            for chunk in ids.chunks(per_thread.max(1)) {
                let store = &store;
                s.spawn(move || {
                    for (k, id) in chunk.iter().enumerate() {
                        store
                            .update(*id, json_document(k, initial_age(k) + 1))
                            .expect("update");
                    }
                });
            }
        })
    });
    report(&system, "durable_update", done, elapsed);
    drop(store);
    db.close().expect("close");
}

fn recover_phase(dir: &Path, n: usize) {
    let memory = Store::new();
    indexed(&memory);
    let (_, elapsed) = timed(|| {
        for i in 0..n {
            memory
                .insert(json_document(i, initial_age(i)))
                .expect("insert");
        }
    });
    report("memory", "memory_insert", n as u64, elapsed);
    drop(memory);
    for (phase, checkpoint) in [("recover_checkpoint", true), ("recover_log", false)] {
        fresh(dir);
        let options = DurableOptions::new()
            .sync(SyncPolicy::Never)
            .no_automatic_checkpoints();
        let (db, _) = DurableDb::open(dir, options.clone()).expect("open");
        let store = db.store("docs").expect("store");
        indexed(&store);
        let (_, elapsed) = timed(|| {
            for i in 0..n {
                store
                    .insert(json_document(i, initial_age(i)))
                    .expect("insert");
            }
        });
        report("durable-never-1t", "durable_insert_n", n as u64, elapsed);
        println!("durable bytes_after_insert {}", dir_bytes(dir));
        if checkpoint {
            db.checkpoint().expect("checkpoint");
            println!("durable bytes_after_checkpoint {}", dir_bytes(dir));
        }
        drop(store);
        db.close().expect("close");
        let ((db, store), elapsed) = timed(|| {
            let (db, _) = DurableDb::open(dir, options).expect("open");
            let store = db.store("docs").expect("store");
            (db, store)
        });
        assert_eq!(store.len().expect("len"), n);
        report("durable", phase, n as u64, elapsed);
        drop(store);
        drop(db);
    }
    fresh(dir);
}

/// Runs every durable phase in `dir`. Each ratio's two sides run next to
/// each other (redb beside `Always` at the same thread count, the in-memory
/// inserts just before `Never`'s): this machine's disk and CPUs are shared,
/// and what they give drifts within a run.
pub fn run(dir: &Path, n: usize, commits: usize) {
    for threads in [1, 4, 16] {
        commits_phase(dir, "always", SyncPolicy::Always, threads, commits);
        if threads <= 4 {
            run_redb(dir, commits, threads);
        }
    }
    for threads in [1, 4] {
        let interval = SyncPolicy::Interval(Duration::from_millis(10));
        commits_phase(dir, "interval", interval, threads, commits);
    }
    let memory = Arc::new(Store::new());
    indexed(&memory);
    let (_, elapsed) = timed(|| {
        for i in 0..commits {
            memory
                .insert(json_document(i, initial_age(i)))
                .expect("insert");
        }
    });
    report("memory-1t", "memory_insert", commits as u64, elapsed);
    for threads in [1, 4] {
        commits_phase(dir, "never", SyncPolicy::Never, threads, commits);
    }
    recover_phase(dir, n);
    redb_bytes(dir, n);
}

/// redb's tables: the documents by id (JSON bytes), and one multimap per
/// index, key to id.
const REDB_DOCS: redb::TableDefinition<u128, &[u8]> = redb::TableDefinition::new("docs");
const REDB_BY_CITY: redb::MultimapTableDefinition<&str, u128> =
    redb::MultimapTableDefinition::new("by_city");
const REDB_BY_AGE: redb::MultimapTableDefinition<u64, u128> =
    redb::MultimapTableDefinition::new("by_age");
const REDB_BY_NAME: redb::MultimapTableDefinition<&str, u128> =
    redb::MultimapTableDefinition::new("by_name");

/// A new redb database in `dir`, and its file's path.
fn fresh_redb(dir: &Path) -> (redb::Database, std::path::PathBuf) {
    fresh(dir);
    std::fs::create_dir_all(dir).expect("dir");
    let path = dir.join("redb.db");
    (redb::Database::create(&path).expect("redb"), path)
}

/// Document `i` as redb stores it: its id, the document and its JSON bytes.
fn redb_row(i: usize) -> (u128, serde_json::Value, Vec<u8>) {
    let doc = json_document(i, initial_age(i));
    let bytes = serde_json::to_vec(&doc).expect("json");
    (i as u128, doc, bytes)
}

/// Stores `rows` in redb's tables within `tx`: each document by id, and its
/// keys in the three indexes.
fn redb_put(
    tx: &redb::WriteTransaction,
    rows: impl IntoIterator<Item = (u128, serde_json::Value, Vec<u8>)>,
) {
    let mut docs = tx.open_table(REDB_DOCS).expect("table");
    let mut by_city = tx.open_multimap_table(REDB_BY_CITY).expect("table");
    let mut by_age = tx.open_multimap_table(REDB_BY_AGE).expect("table");
    let mut by_name = tx.open_multimap_table(REDB_BY_NAME).expect("table");
    for (id, doc, bytes) in rows {
        docs.insert(id, bytes.as_slice()).expect("insert");
        let city = doc["city"].as_str().unwrap_or_default();
        by_city.insert(city, id).expect("insert");
        let age = doc["age"].as_u64().unwrap_or_default();
        by_age.insert(age, id).expect("insert");
        let name = doc["name"].as_str().unwrap_or_default();
        by_name.insert(name, id).expect("insert");
    }
}

/// redb's file for N documents (as `run_redb` stores them), loaded 10,000
/// per write transaction: what its bytes are to set beside the log's and a
/// checkpoint's at the same N (one transaction per document would take an
/// fsync each).
fn redb_bytes(dir: &Path, n: usize) {
    let (db, path) = fresh_redb(dir);
    for start in (0..n).step_by(10_000) {
        let tx = db.begin_write().expect("begin");
        redb_put(&tx, (start..(start + 10_000).min(n)).map(redb_row));
        tx.commit().expect("commit");
    }
    drop(db);
    println!(
        "redb-bulk documents {n} bytes {}",
        std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
    );
    fresh(dir);
}

/// redb, on the same documents: each document serialized (JSON bytes) in one
/// table by id, plus one multimap table per index (key → id), one write
/// transaction per document at `Durability::Immediate`. redb admits one
/// writer at a time, so threads queue for it.
pub fn run_redb(dir: &Path, commits: usize, threads: usize) {
    use redb::{Durability, ReadableTableMetadata};

    let (db, path) = fresh_redb(dir);
    let system = format!("redb-{threads}t");
    let per_thread = commits / threads;
    let (_, elapsed) = timed(|| {
        std::thread::scope(|s| {
            for t in 0..threads {
                let db = &db;
                s.spawn(move || {
                    for k in 0..per_thread {
                        // Built outside the write transaction, which admits
                        // one writer at a time.
                        let row = redb_row(t * per_thread + k);
                        let mut tx = db.begin_write().expect("begin");
                        tx.set_durability(Durability::Immediate);
                        redb_put(&tx, [row]);
                        tx.commit().expect("commit");
                    }
                });
            }
        })
    });
    report(
        &system,
        "durable_insert",
        (per_thread * threads) as u64,
        elapsed,
    );
    let read = db.begin_read().expect("read");
    let count = read
        .open_table(REDB_DOCS)
        .expect("table")
        .len()
        .expect("len");
    println!(
        "{system} documents {count} bytes {}",
        std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
    );
    drop(read);
    drop(db);
    fresh(dir);
}
