//! The workload of WORKLOAD.md, the same work for every system: docstore's
//! schemaless `Store` and typed `Collection`, and the naive baselines they are
//! measured against.
//!
//! ```text
//! cargo run --release --example workload                       # every system, N = 100,000
//! cargo run --release --example workload -- --n 10000          # another size
//! cargo run --release --example workload -- --only schemaless  # one system (for its RSS)
//! cargo run --release --example workload -- --covering          # docstore's indexes covering
//! cargo run --release --example workload -- --db                # docstore's stores in one Db
//! cargo run --release --example workload -- --background        # --db's writer, on a store of its own
//! cargo run --release --example workload -- --durable DIR [--commits K]  # durable phases on disk
//! ```
//!
//! Each phase prints `SYSTEM PHASE OPS SECONDS OPS_PER_SEC`; after insert,
//! `SYSTEM rss_after_insert_kib K`; then the check sums that prove every system
//! did the same work, and the `write_alone` / `write_stall` update latencies
//! (p50, p99 and max, in microseconds) without and with a concurrent scanner,
//! and `index_stall`: the same while an index is created on the whole store
//! (p99.9 on stderr). A typed collection declares its indexes on its type and
//! cannot create one at run time, so only the schemaless store and the
//! systems that can print index_stall.
//!
//! # Transactions
//!
//! Beyond WORKLOAD.md's phases, three measure transactions; the baselines do
//! the same work under one hold of their write lock. Each has its own
//! xorshift64* generator, seeded 44 + k for the k-th of them (k from 0), so
//! that the draws of the older phases, and go-store's check line, are
//! untouched:
//!
//! - `txn_transfer` (seed 44), on the store of the update phase, right after
//!   it: n/10 transactions, each drawing a = `next() % n`, then b the same way,
//!   drawn again while it equals a, reading documents a and b by id and moving
//!   1 from a's score to b's. Ops: transactions.
//! - `txn_batch_insert` (seed 45, which it never draws from: its documents are
//!   0..n, as insert's): n documents inserted into a new store in transactions
//!   of 1,000. Ops: documents.
//! - `read_alone` then `txn_read_stall` (seed 46, the same draws for both), on
//!   that store: n/10 gets of random ids (`ids[next() % n]`) each timed alone,
//!   printed as `SYSTEM PHASE P50 P99 MAX` in microseconds; txn_read_stall
//!   does them while another thread inserts n more documents in transactions
//!   of 1,000, and goes on getting (with later draws, timed too) until the
//!   writer is done.
//!
//! They print `SYSTEM txn_check ...`: the scores the transfers read, doubled
//! and summed; the sum of every score afterwards, doubled and weighted by
//! (document number + 1); the documents the batch inserts left and their age
//! sum; and the age sums of the first n/10 gets alone and under the writer.
//! Every system must print the same line.
//!
//! # Change feed and expiry
//!
//! docstore's systems (not the baselines, which have neither) then run the
//! phases of `feed`, each printing `SYSTEM PHASE OPS SECONDS OPS_PER_SEC`, so
//! that ratios within one run give the costs:
//!
//! - `feed_update_0sub`, `feed_update_1sub`, `feed_update_100sub`,
//!   `feed_update_10watch`, `feed_update_10kwatch` (seed 47, one generator
//!   going on from phase to phase), on one store of n documents: n updates
//!   each (as the update phase), with no subscription; with 1 and with 100
//!   subscriptions to every change (buffers of 65,536), which one thread of
//!   the workload reads, all of them every millisecond (how many change sets
//!   they heard, and any lag, on stderr); with 10 and with 10,000 watches on names no
//!   document has (`nobody-k`), which hear nothing. The costs are each
//!   phase's time over `feed_update_0sub`'s.
//! - `expiry_none_*` and `expiry_all_*` for `get`, `lookup_unique`,
//!   `lookup_wide`, `range` and `scan` (seed 48, the same draws for both):
//!   the read phases, as above, on a new store of n documents where no
//!   document has a deadline, then on one where every document has one (a
//!   day away, inserted with `insert_with_ttl`). Each prints
//!   `SYSTEM expiry_none_check [...]` / `expiry_all_check [...]`, the age
//!   sums of its five phases: both lines must be the same.
//!
//! # Bounded caches
//!
//! `cache_get` (seed 49; not with `--db` or `--covering`): the typed
//! collection given a capacity of n/10 documents, and moka in the
//! `baseline-typed` process with the same capacity, each read through by the
//! same Zipf-like stream of n keys from 0..n, a miss loading a document built
//! on the spot; see `cache.rs`. It prints `typed|moka cache_get ...` and
//! `typed|moka cache_hit_ratio R`.
//!
//! With `--db`, docstore's systems make every store in one `Db` (a store named
//! `workload-K` per use) and run their transactions as the database's, while a
//! thread of its own writes to another store of that database throughout,
//! plain updates and two-document transactions in turn, pausing
//! `BACKGROUND_PAUSE` after each (a few thousand writes a second: enough to
//! show any lock or gate the stores share, without taking a core from the
//! phases on a two-core machine; it prints how many it made, on stderr). The
//! lines then name the system `NAME-db`. `--background` runs the same writer
//! on a standalone store of its own, without a database: the plain figures to
//! compare `--db`'s with, under the same load.

mod baseline;
mod baseline_typed;
mod cache;
mod common;
mod durable;
mod feed;
mod schemaless;
mod typed;

use std::hint::black_box;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use docstore::{Db, Id};
use serde_json::{Value, json};

use baseline::Naive;
use common::{Found, Home, Rng, System, initial_age};
use schemaless::Schemaless;
use typed::{CoveringDoc, Doc, Typed};

const SYSTEMS: [&str; 4] = ["schemaless", "typed", "baseline", "baseline-typed"];

/// Lookups of each wide kind (by city, by age range).
const WIDE_QUERIES: usize = 200;
/// Full scans in the scan phase.
const SCANS: usize = 10;
/// Width of a range query: ages `a..a + RANGE_WIDTH`, `a` in `0..=95`.
const RANGE_WIDTH: u64 = 5;
/// Threads in par_get.
const THREADS: usize = 2;
/// How long write_alone and write_stall may each take. A store whose scans
/// lock writers out can make every update wait for a whole scan (the naive
/// baseline does, when the scanner wins the lock each time the writer lets
/// it go): n/10 updates times an O(n) scan, an hour at n = 1M. Past the
/// limit the updates stop, and the latencies are those of the updates done.
const STALL_TIME_LIMIT: Duration = Duration::from_secs(20);

/// Documents per transaction in txn_batch_insert and txn_read_stall's writer.
const BATCH: usize = 1_000;
/// The generators of the transaction phases (see the module docs).
const TRANSFER_SEED: u64 = 44;
const READ_SEED: u64 = 46;
/// Documents of the `--db` background writer's own store.
const BACKGROUND_DOCUMENTS: usize = 1_000;
/// How long the `--db` background writer rests after each write.
const BACKGROUND_PAUSE: Duration = Duration::from_micros(50);

/// What go-store printed at N = 100,000, which every system must print too.
const EXPECTED_CHECK_100K: &str = "get_age_sum=4954108 lookup_wide_results=400000 \
     lookup_wide_age_sum=19504376 range_results=1000467 range_age_sum=50210183 \
     scan_age_sum=49498000 par_get_age_sums=[4953221 4959315]";

/// What the command line asks for.
struct Args {
    n: usize,
    only: Option<String>,
    /// docstore's systems make their indexes covering (`IndexOptions::covering`).
    covering: bool,
    /// docstore's systems make their stores in one `Db`, with a writer of
    /// its own on another store of it.
    db: bool,
    /// docstore's systems run with the `--db` background writer, on a
    /// standalone store when not in a database.
    background: bool,
    /// Run the durable phases in this directory instead.
    durable: Option<std::path::PathBuf>,
    /// Commits per durable commit phase.
    commits: usize,
}

fn main() -> ExitCode {
    let Args {
        n,
        only,
        covering,
        db,
        background,
        durable,
        commits,
    } = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            eprintln!(
                "usage: workload [--n N] [--only {}] [--covering] [--db] [--background] \
                 [--durable DIR [--commits K]]",
                SYSTEMS.join("|")
            );
            return ExitCode::from(2);
        }
    };
    if let Some(dir) = durable {
        durable::run(&dir, n, commits);
        return ExitCode::SUCCESS;
    }
    let mut matched = true;
    let mut first_txn_check: Option<(&str, String)> = None;
    for system in SYSTEMS {
        if only.as_deref().is_some_and(|only| only != system) {
            continue;
        }
        let docstore = !system.starts_with("baseline");
        let home = Home::new((db && docstore).then(|| Arc::new(Db::new())));
        let background = (db || background) && docstore;
        let (check, txn_check) = match (system, covering) {
            ("schemaless", false) => run_with_feed::<Schemaless<false>>(n, &home, background),
            ("schemaless", true) => run_with_feed::<Schemaless<true>>(n, &home, background),
            ("typed", false) => run_with_feed::<Typed<Doc>>(n, &home, background),
            ("typed", true) => run_with_feed::<Typed<CoveringDoc>>(n, &home, background),
            ("baseline", _) => run::<Naive<Value>>(n, &home, background),
            _ => run::<Naive<Doc>>(n, &home, background),
        };
        if home.db().is_none() && !covering {
            cache::phase(system, n);
        }
        if n == 100_000 && check != EXPECTED_CHECK_100K {
            eprintln!("{system}: the check sums differ from go-store's: {EXPECTED_CHECK_100K}");
            matched = false;
        }
        match &first_txn_check {
            Some((first, expected)) if *expected != txn_check => {
                eprintln!("{system}: txn_check differs from {first}'s: {expected}");
                matched = false;
            }
            Some(_) => {}
            None => first_txn_check = Some((system, txn_check)),
        }
    }
    if matched {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn parse_args() -> Result<Args, String> {
    let mut n = 100_000;
    let mut only = None;
    let mut covering = false;
    let mut db = false;
    let mut background = false;
    let mut durable = None;
    let mut commits = 20_000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--n" => {
                n = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n >= 2)
                    .ok_or("--n takes a number of at least 2 (a transfer needs two documents)")?;
            }
            "--only" => {
                let system = args.next().ok_or("--only takes a system's name")?;
                if !SYSTEMS.contains(&system.as_str()) {
                    return Err(format!("no system is called {system:?}"));
                }
                only = Some(system);
            }
            "--covering" => covering = true,
            "--db" => db = true,
            "--background" => background = true,
            "--durable" => durable = Some(args.next().ok_or("--durable takes a directory")?.into()),
            "--commits" => {
                commits = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or("--commits takes a positive number")?;
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Args {
        n,
        only,
        covering,
        db,
        background,
        durable,
        commits,
    })
}

fn timed<R>(work: impl FnOnce() -> R) -> (R, Duration) {
    let start = Instant::now();
    let result = work();
    (result, start.elapsed())
}

fn report(system: &str, phase: &str, ops: u64, elapsed: Duration) {
    let seconds = elapsed.as_secs_f64();
    let rate = ops as f64 / seconds;
    println!("{system} {phase} {ops} {seconds:.6} {rate:.0}");
}

/// The process's peak resident memory in KiB (VmHWM). A high-water mark of the
/// whole process: it means something for one system only when that system runs
/// alone (`--only SYSTEM`), since an earlier system's peak stays in it.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A new store holding documents 0..n, built untimed; with their ids.
fn filled<S: System>(n: usize, home: &Home) -> (S, Vec<Id>) {
    let store = S::new(home);
    let ids = (0..n).map(|i| store.insert(i)).collect();
    (store, ids)
}

/// The update of WORKLOAD.md: document `j`'s age goes up by one (mod 100),
/// tracked here rather than read back, and the document is built afresh.
fn update_next<S: System>(store: &S, ids: &[Id], ages: &mut [u64], rng: &mut Rng) {
    let j = rng.below(ids.len());
    ages[j] = (ages[j] + 1) % 100;
    store.update(ids[j], j, ages[j]);
}

/// Runs every phase on one system, printing its lines, with the background
/// writer running meanwhile if asked (in the system's database, if it has
/// one); returns its check line and its txn_check line.
fn run<S: System>(n: usize, home: &Home, background: bool) -> (String, String) {
    let name = match home.db() {
        Some(_) => format!("{}-db", S::NAME),
        None => S::NAME.to_owned(),
    };
    let stop = AtomicBool::new(false);
    thread::scope(|scope| {
        let writer =
            background.then(|| scope.spawn(|| timed(|| background_writes(home.db(), &stop))));
        let checks = phases::<S>(&name, n, home);
        stop.store(true, Ordering::Relaxed);
        if let Some(writer) = writer {
            let (writes, elapsed) = writer.join().expect("the background writer panicked");
            // Not one of WORKLOAD.md's lines, hence stderr.
            eprintln!(
                "{name} background: {writes} writes to a store of its own meanwhile ({:.0}/s)",
                writes as f64 / elapsed.as_secs_f64()
            );
        }
        checks
    })
}

/// [`run`], then the feed and expiry phases (see the module docs).
fn run_with_feed<S: feed::Feeds>(n: usize, home: &Home, background: bool) -> (String, String) {
    let checks = run::<S>(n, home, background);
    let name = match home.db() {
        Some(_) => format!("{}-db", S::NAME),
        None => S::NAME.to_owned(),
    };
    feed::phases::<S>(&name, n, home);
    checks
}

/// The background writer: plain updates and two-document transactions in
/// turn on a store of its own (in `db`, if given, and then its transactions
/// are the database's), until `stop`; returns how many.
fn background_writes(db: Option<&Arc<Db>>, stop: &AtomicBool) -> u64 {
    let store = match db {
        Some(db) => db.store("background").expect("the background store"),
        None => Arc::new(docstore::Store::new()),
    };
    store
        .create_index("by_n", ["n"])
        .expect("the background index");
    let ids: Vec<Id> = (0..BACKGROUND_DOCUMENTS)
        .map(|n| store.insert(json!({"n": n})).expect("insert"))
        .collect();
    let mut rng = Rng::new(7);
    let mut writes = 0_u64;
    while !stop.load(Ordering::Relaxed) {
        let (a, b) = (ids[rng.below(ids.len())], ids[rng.below(ids.len())]);
        if writes.is_multiple_of(2) {
            store.update(a, json!({"n": writes})).expect("update");
        } else {
            let body = |tx: &docstore::TxStore<'_>| {
                tx.get(b)?;
                tx.update(a, json!({"n": writes}))?;
                tx.update(b, json!({"n": writes}))
            };
            match db {
                Some(db) => db.transaction(|tx| body(&tx.store(&store))),
                None => store.transaction(body),
            }
            .expect("a transaction");
        }
        writes += 1;
        thread::sleep(BACKGROUND_PAUSE);
    }
    writes
}

/// Every phase, in order; returns the check line and the txn_check line.
fn phases<S: System>(name: &str, n: usize, home: &Home) -> (String, String) {
    let count = n as u64;
    let mut rng = Rng::new(42);
    let store = S::new(home);
    let mut ids = Vec::with_capacity(n);

    let ((), elapsed) = timed(|| {
        for i in 0..n {
            ids.push(store.insert(i));
        }
    });
    report(name, "insert", count, elapsed);
    println!("{name} rss_after_insert_kib {}", peak_rss_kib());

    let (get_age_sum, elapsed) = timed(|| {
        let mut sum = 0;
        for _ in 0..n {
            sum += store.get_age(ids[rng.below(n)]);
        }
        sum
    });
    report(name, "get", count, elapsed);

    let mut ages: Vec<u64> = (0..n).map(initial_age).collect();
    let ((), elapsed) = timed(|| {
        for _ in 0..n {
            update_next(&store, &ids, &mut ages, &mut rng);
        }
    });
    report(name, "update", count, elapsed);

    let (transfer_read_sum, transfer_score_sum) = txn_transfer(name, &store, &ids);

    let (found, elapsed) = timed(|| {
        let mut found = Found::default();
        for _ in 0..n {
            found += store.lookup_name(&format!("user-{}", rng.below(n)));
        }
        found
    });
    report(name, "lookup_unique", count, elapsed);
    if found.count != count {
        eprintln!(
            "{name}: lookup_unique found {} documents for {count} names",
            found.count
        );
    }

    let (wide, elapsed) = timed(|| {
        let mut found = Found::default();
        for _ in 0..WIDE_QUERIES {
            found += store.lookup_city(&format!("city-{}", rng.below(50)));
        }
        found
    });
    report(name, "lookup_wide", wide.count, elapsed);

    let (range, elapsed) = timed(|| {
        let mut found = Found::default();
        for _ in 0..WIDE_QUERIES {
            let start = rng.next() % (100 - RANGE_WIDTH + 1);
            found += store.range_age(start, start + RANGE_WIDTH);
        }
        found
    });
    report(name, "range", range.count, elapsed);

    let (scan, elapsed) = timed(|| {
        let mut found = Found::default();
        for _ in 0..SCANS {
            found += store.scan();
        }
        found
    });
    report(name, "scan", scan.count, elapsed);

    let ((), elapsed) = timed(|| {
        for &id in &ids {
            store.delete(id);
        }
    });
    report(name, "delete", count, elapsed);
    drop(store);

    let par_get_age_sums = par_get::<S>(name, n, home);

    let (batch, read_sums) = txn_batch_insert_and_reads::<S>(name, n, home);
    let txn_check = format!(
        "transfer_read_sum={transfer_read_sum} transfer_score_sum={transfer_score_sum} \
         batch_documents={} batch_age_sum={} read_alone_age_sum={} txn_read_stall_age_sum={}",
        batch.count, batch.age_sum, read_sums[0], read_sums[1],
    );
    println!("{name} txn_check {txn_check}");

    let check = format!(
        "get_age_sum={get_age_sum} lookup_wide_results={} lookup_wide_age_sum={} \
         range_results={} range_age_sum={} scan_age_sum={} par_get_age_sums=[{}]",
        wide.count,
        wide.age_sum,
        range.count,
        range.age_sum,
        scan.age_sum,
        par_get_age_sums.map(|sum| sum.to_string()).join(" "),
    );
    println!("{name} check {check}");

    write_latencies::<S>(name, n, home);
    (check, txn_check)
}

/// txn_transfer: n/10 transfers between two random documents, each in a
/// transaction. Returns the scores they read, doubled and summed, and every
/// score afterwards, doubled and weighted by document number + 1 (untimed).
fn txn_transfer<S: System>(name: &str, store: &S, ids: &[Id]) -> (i64, i64) {
    let n = ids.len();
    let transfers = (n / 10).max(1);
    let mut rng = Rng::new(TRANSFER_SEED);
    let (read_sum, elapsed) = timed(|| {
        let mut sum = 0;
        for _ in 0..transfers {
            let a = rng.below(n);
            let mut b = rng.below(n);
            while b == a {
                b = rng.below(n);
            }
            sum += store.transfer(ids[a], ids[b]);
        }
        sum
    });
    report(name, "txn_transfer", transfers as u64, elapsed);
    let score_sum = ids
        .iter()
        .zip(1_i64..)
        .map(|(id, weight)| weight * store.score2(*id))
        .sum();
    (read_sum, score_sum)
}

/// txn_batch_insert on a new store, then read_alone and txn_read_stall on it.
/// Returns what the batches left (counted by a scan, untimed) and the age
/// sums of the first n/10 gets alone and under the writer.
fn txn_batch_insert_and_reads<S: System>(name: &str, n: usize, home: &Home) -> (Found, [u64; 2]) {
    let store = S::new(home);
    let (ids, elapsed) = timed(|| {
        let mut ids = Vec::with_capacity(n);
        for start in (0..n).step_by(BATCH) {
            ids.extend(store.insert_batch(start..(start + BATCH).min(n)));
        }
        ids
    });
    report(name, "txn_batch_insert", n as u64, elapsed);
    let batch = store.scan();

    let gets = (n / 10).max(1);
    let mut rng = Rng::new(READ_SEED);
    let mut alone = Vec::with_capacity(gets);
    let mut alone_sum = 0;
    for _ in 0..gets {
        let id = ids[rng.below(n)];
        let (age, elapsed) = timed(|| store.get_age(id));
        alone_sum += age;
        alone.push(elapsed);
    }
    report_latencies(name, "read_alone", alone);

    let writing = AtomicBool::new(false);
    let (stalled, stalled_sum, inserted) = thread::scope(|scope| {
        let writer = scope.spawn(|| {
            writing.store(true, Ordering::Relaxed);
            let mut inserted = 0;
            for start in (n..2 * n).step_by(BATCH) {
                inserted += store.insert_batch(start..(start + BATCH).min(2 * n)).len();
            }
            inserted
        });
        while !writing.load(Ordering::Relaxed) {
            thread::yield_now();
        }
        let mut rng = Rng::new(READ_SEED);
        let mut latencies = Vec::with_capacity(gets);
        let mut sum = 0;
        while latencies.len() < gets || !writer.is_finished() {
            let id = ids[rng.below(n)];
            let (age, elapsed) = timed(|| store.get_age(id));
            if latencies.len() < gets {
                sum += age;
            }
            latencies.push(elapsed);
        }
        let inserted = writer.join().expect("the batch writer panicked");
        (latencies, sum, inserted)
    });
    // Not one of WORKLOAD.md's lines, hence stderr.
    eprintln!(
        "{name} txn_read_stall: {} gets while {inserted} documents were inserted in \
         transactions of {BATCH}",
        stalled.len(),
    );
    report_latencies(name, "txn_read_stall", stalled);
    (batch, [alone_sum, stalled_sum])
}

/// par_get: THREADS threads, thread t with its own generator seeded 43 + t,
/// each doing n gets on a fresh store. Returns each thread's age sum.
fn par_get<S: System>(name: &str, n: usize, home: &Home) -> [u64; THREADS] {
    let (store, ids) = filled::<S>(n, home);
    let (sums, elapsed) = timed(|| {
        thread::scope(|scope| {
            let workers: [_; THREADS] = std::array::from_fn(|t| {
                let (store, ids) = (&store, &ids);
                scope.spawn(move || {
                    let mut rng = Rng::new(43 + t as u64);
                    let mut sum = 0;
                    for _ in 0..n {
                        sum += store.get_age(ids[rng.below(n)]);
                    }
                    sum
                })
            });
            workers.map(|worker| worker.join().expect("a par_get thread panicked"))
        })
    });
    report(name, "par_get", (THREADS * n) as u64, elapsed);
    sums
}

/// write_alone, then write_stall, on a fresh store: n/10 updates of ids drawn
/// from a generator seeded 7, each timed alone; write_stall does them again
/// while another thread scans the whole store back to back.
fn write_latencies<S: System>(name: &str, n: usize, home: &Home) {
    let (store, ids) = filled::<S>(n, home);
    let mut ages: Vec<u64> = (0..n).map(initial_age).collect();
    let updates = (n / 10).max(1);

    let run_updates = |ages: &mut Vec<u64>| {
        let mut rng = Rng::new(7);
        let mut latencies = Vec::with_capacity(updates);
        let start = Instant::now();
        for _ in 0..updates {
            let ((), elapsed) = timed(|| update_next(&store, &ids, ages, &mut rng));
            latencies.push(elapsed);
            if start.elapsed() > STALL_TIME_LIMIT {
                break;
            }
        }
        latencies
    };

    let alone = run_updates(&mut ages);
    report_latencies(name, "write_alone", alone);

    let scanning = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    let (stalled, scans) = thread::scope(|scope| {
        let scanner = scope.spawn(|| {
            let mut scans = 0_u64;
            while !stop.load(Ordering::Relaxed) {
                scanning.store(true, Ordering::Relaxed);
                black_box(store.scan());
                scans += 1;
            }
            scans
        });
        while !scanning.load(Ordering::Relaxed) {
            thread::yield_now();
        }
        let latencies = run_updates(&mut ages);
        stop.store(true, Ordering::Relaxed);
        (latencies, scanner.join().expect("the scanner panicked"))
    });
    // Not one of WORKLOAD.md's lines, hence stderr: how many scans overlapped
    // the updates (which tells a starved scanner from one that ran), and
    // whether the time limit cut the updates short.
    eprintln!(
        "{name} write_stall: {} of {updates} updates, {scans} full scans ran meanwhile",
        stalled.len(),
    );
    report_latencies(name, "write_stall", stalled);

    index_stall(name, &store, &ids, &mut ages);
}

/// index_stall: one thread updates in a loop, each update timed alone, while
/// another creates an index over the whole store; the updates are those made
/// from just before the build started until it ended.
fn index_stall<S: System>(name: &str, store: &S, ids: &[Id], ages: &mut [u64]) {
    let updating = AtomicBool::new(false);
    let built = AtomicBool::new(false);
    let (latencies, build) = thread::scope(|scope| {
        let updater = scope.spawn(|| {
            let mut rng = Rng::new(11);
            let mut latencies = Vec::new();
            while !built.load(Ordering::Relaxed) {
                let ((), elapsed) = timed(|| update_next(store, ids, ages, &mut rng));
                latencies.push(elapsed);
                updating.store(true, Ordering::Relaxed);
            }
            latencies
        });
        while !updating.load(Ordering::Relaxed) {
            thread::yield_now();
        }
        let (created, build) = timed(|| store.create_index());
        built.store(true, Ordering::Relaxed);
        let latencies = updater.join().expect("the updater panicked");
        (created.then_some(latencies), build)
    });
    let Some(mut latencies) = latencies else {
        eprintln!("{name} index_stall: cannot create an index at run time");
        return;
    };
    latencies.sort_unstable();
    let p999 = latencies[(latencies.len() * 999).div_ceil(1000).max(1) - 1];
    eprintln!(
        "{name} index_stall: {} updates during a {:.3} s build; p99.9 {:.1} us",
        latencies.len(),
        build.as_secs_f64(),
        p999.as_secs_f64() * 1e6,
    );
    report_latencies(name, "index_stall", latencies);
}

fn report_latencies(system: &str, phase: &str, mut latencies: Vec<Duration>) {
    latencies.sort_unstable();
    // Nearest rank: the smallest latency that at least p% of the updates took no longer than.
    let percentile = |p: usize| {
        let rank = (latencies.len() * p).div_ceil(100).max(1);
        latencies[rank - 1]
    };
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{system} {phase} {:.1} {:.1} {:.1}",
        micros(percentile(50)),
        micros(percentile(99)),
        micros(latencies[latencies.len() - 1]),
    );
}
