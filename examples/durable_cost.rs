//! What durability costs a writer: N inserts (three indexes) into an
//! in-memory store, then into a durable store on disk with
//! `SyncPolicy::Never` (each commit handed to the OS before it returns), as a
//! ratio to the first, in one run.
//!
//! `cargo run --release --example durable_cost -- --n 100000 --dir DIR`
//! prints the rates; `--only memory` or `--only never` runs one, for
//! callgrind with `--toggle-collect=*insert_phase*`; `--only interval` runs
//! them with `SyncPolicy::Interval` (1 s), whose log is preallocated as it
//! grows; `--only always` runs
//! the inserts with `SyncPolicy::Always` (one fsync each: use a small N), for
//! `strace -c` to count the system calls of a commit.
//!
//! `--rounds R [--commits K]` measures the two speed targets on a shared,
//! noisy machine: R rounds, each timing memory and `Never` inserts (N each)
//! and, with K > 0, K single-threaded commits with `Always` and K redb write
//! transactions at `Durability::Immediate` (one document each, in one table
//! by id plus one multimap table per index, as the workload stores them).
//! The order within a round flips every round, so that drift in the
//! machine's load falls on both sides; each round prints its ratios and the
//! last line their medians. The `Never` ratio is also given by CPU time
//! (the inserting thread's, from `/proc/thread-self/schedstat`), which the
//! other processes on the machine do not move.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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

/// Nanoseconds this thread has run on a CPU (Linux; 0 elsewhere): what a
/// phase costs, apart from the time other processes on a shared machine
/// take from it.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|stat| stat.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Inserts per second, by the clock and by this thread's CPU time.
#[derive(Clone, Copy)]
struct Rate {
    wall: f64,
    cpu: f64,
}

impl std::ops::Div for Rate {
    type Output = Rate;

    fn div(self, other: Rate) -> Rate {
        Rate {
            wall: self.wall / other.wall,
            cpu: self.cpu / other.cpu,
        }
    }
}

#[inline(never)]
fn insert_phase(store: &Store, documents: Vec<Value>) -> Rate {
    let n = documents.len() as f64;
    let cpu = cpu_ns();
    let start = Instant::now();
    for document in documents {
        store.insert(document).expect("insert");
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu_ns().saturating_sub(cpu) as f64 / 1e9;
    Rate {
        wall: n / wall,
        cpu: n / cpu,
    }
}

/// Inserts per second into a new in-memory store.
fn memory_rate(n: usize) -> Rate {
    let store = Store::new();
    indexed(&store);
    insert_phase(&store, (0..n).map(document).collect())
}

/// Inserts per second into a new durable store in `dir`.
fn durable_rate(dir: &Path, sync: SyncPolicy, n: usize) -> Rate {
    let _ = std::fs::remove_dir_all(dir);
    let options = DurableOptions::new().sync(sync).no_automatic_checkpoints();
    let (store, _) = Store::open(dir, options).expect("open");
    indexed(&store);
    let rate = insert_phase(&store, (0..n).map(document).collect());
    store.close().expect("close");
    let _ = std::fs::remove_dir_all(dir);
    rate
}

/// redb write transactions per second at `Durability::Immediate`, one
/// document each, in a new database in `dir`.
fn redb_rate(dir: &Path, commits: usize) -> f64 {
    use redb::{Database, Durability, MultimapTableDefinition, TableDefinition};

    const DOCS: TableDefinition<u128, &[u8]> = TableDefinition::new("docs");
    const BY_CITY: MultimapTableDefinition<&str, u128> = MultimapTableDefinition::new("by_city");
    const BY_AGE: MultimapTableDefinition<u64, u128> = MultimapTableDefinition::new("by_age");
    const BY_NAME: MultimapTableDefinition<&str, u128> = MultimapTableDefinition::new("by_name");

    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("dir");
    let db = Database::create(dir.join("redb.db")).expect("redb");
    let documents: Vec<Value> = (0..commits).map(document).collect();
    let start = Instant::now();
    for (i, doc) in documents.iter().enumerate() {
        let bytes = serde_json::to_vec(doc).expect("json");
        let id = i as u128;
        let mut tx = db.begin_write().expect("begin");
        tx.set_durability(Durability::Immediate);
        {
            let mut docs = tx.open_table(DOCS).expect("table");
            docs.insert(id, bytes.as_slice()).expect("insert");
            let mut by_city = tx.open_multimap_table(BY_CITY).expect("table");
            by_city
                .insert(doc["city"].as_str().unwrap_or_default(), id)
                .expect("insert");
            let mut by_age = tx.open_multimap_table(BY_AGE).expect("table");
            by_age
                .insert(doc["age"].as_u64().unwrap_or_default(), id)
                .expect("insert");
            let mut by_name = tx.open_multimap_table(BY_NAME).expect("table");
            by_name
                .insert(doc["name"].as_str().unwrap_or_default(), id)
                .expect("insert");
        }
        tx.commit().expect("commit");
    }
    let rate = commits as f64 / start.elapsed().as_secs_f64();
    drop(db);
    let _ = std::fs::remove_dir_all(dir);
    rate
}

fn median(mut ratios: Vec<f64>) -> f64 {
    ratios.sort_by(f64::total_cmp);
    ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Interleaved rounds of both speed targets; see the module docs.
fn rounds(dir: &Path, n: usize, commits: usize, count: usize) {
    let mut never = Vec::new();
    let mut never_cpu = Vec::new();
    let mut always = Vec::new();
    for round in 0..count {
        let flipped = round % 2 == 1;
        let (memory, durable) = if flipped {
            let durable = durable_rate(dir, SyncPolicy::Never, n);
            (memory_rate(n), durable)
        } else {
            let memory = memory_rate(n);
            (memory, durable_rate(dir, SyncPolicy::Never, n))
        };
        let ratio = durable / memory;
        never.push(ratio.wall);
        never_cpu.push(ratio.cpu);
        print!(
            "round {round}: memory {:.0}/s never {:.0}/s ({:.2}x memory; by CPU time {:.2}x)",
            memory.wall, durable.wall, ratio.wall, ratio.cpu
        );
        if commits > 0 {
            let (docstore, redb) = if flipped {
                let redb = redb_rate(dir, commits);
                (durable_rate(dir, SyncPolicy::Always, commits).wall, redb)
            } else {
                let docstore = durable_rate(dir, SyncPolicy::Always, commits).wall;
                (docstore, redb_rate(dir, commits))
            };
            always.push(docstore / redb);
            print!(
                "; always-1t {docstore:.0}/s redb-1t {redb:.0}/s ({:.2}x redb)",
                docstore / redb
            );
        }
        println!();
    }
    print!(
        "median of {count}: never {:.2}x memory (by CPU time {:.2}x)",
        median(never),
        median(never_cpu)
    );
    if commits > 0 {
        print!(", always-1t {:.2}x redb", median(always));
    }
    println!();
}

fn main() {
    let mut n = 100_000;
    let mut only = None;
    let mut dir = std::env::temp_dir().join("docstore-durable-cost");
    let mut round_count = None;
    let mut commits = 0;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--n", Some(value)) => n = value.parse().expect("--n takes a number"),
            ("--only", Some(value)) => only = Some(value),
            ("--dir", Some(value)) => dir = PathBuf::from(value),
            ("--rounds", Some(value)) => {
                round_count = Some(value.parse().expect("--rounds takes a number"));
            }
            ("--commits", Some(value)) => {
                commits = value.parse().expect("--commits takes a number");
            }
            _ => panic!(
                "usage: durable_cost [--n N] [--only memory|never|interval|always] [--dir DIR] \
                 [--rounds R [--commits K]]"
            ),
        }
    }
    if let Some(count) = round_count {
        rounds(&dir, n, commits, count);
        return;
    }
    let mut memory = None;
    if only.as_deref().is_none_or(|only| only == "memory") {
        let rate = memory_rate(n);
        println!("memory insert {:.0}/s", rate.wall);
        memory = Some(rate);
    }
    for (name, sync) in [
        ("never", SyncPolicy::Never),
        ("interval", SyncPolicy::Interval(Duration::from_secs(1))),
        ("always", SyncPolicy::Always),
    ] {
        // Fsync-bound (`always`), or about the preallocated log (`interval`):
        // only when asked for.
        if only.as_deref() != Some(name) && (name != "never" || only.is_some()) {
            continue;
        }
        let rate = durable_rate(&dir, sync, n);
        match memory {
            Some(memory) => println!(
                "{name} insert {:.0}/s ({:.2}x memory; by CPU time {:.2}x)",
                rate.wall,
                (rate / memory).wall,
                (rate / memory).cpu
            ),
            None => println!("{name} insert {:.0}/s", rate.wall),
        }
    }
}
