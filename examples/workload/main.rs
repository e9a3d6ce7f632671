//! The workload of WORKLOAD.md, the same work for every system: docstore's
//! schemaless `Store` and typed `Collection`, and the naive baselines they are
//! measured against.
//!
//! ```text
//! cargo run --release --example workload                       # every system, N = 100,000
//! cargo run --release --example workload -- --n 10000          # another size
//! cargo run --release --example workload -- --only schemaless  # one system (for its RSS)
//! cargo run --release --example workload -- --covering          # docstore's indexes covering
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

mod baseline;
mod baseline_typed;
mod common;
mod durable;
mod schemaless;
mod typed;

use std::hint::black_box;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use docstore::{Collection, Id};
use serde_json::Value;

use baseline::Naive;
use common::{Found, Rng, System, initial_age};
use schemaless::Schemaless;
use typed::{CoveringDoc, Doc};

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
        durable,
        commits,
    } = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            eprintln!(
                "usage: workload [--n N] [--only {}] [--covering] [--durable DIR [--commits K]]",
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
    for system in SYSTEMS {
        if only.as_deref().is_some_and(|only| only != system) {
            continue;
        }
        let check = match (system, covering) {
            ("schemaless", false) => run::<Schemaless<false>>(n),
            ("schemaless", true) => run::<Schemaless<true>>(n),
            ("typed", false) => run::<Collection<Doc>>(n),
            ("typed", true) => run::<Collection<CoveringDoc>>(n),
            ("baseline", _) => run::<Naive<Value>>(n),
            _ => run::<Naive<Doc>>(n),
        };
        if n == 100_000 && check != EXPECTED_CHECK_100K {
            eprintln!("{system}: the check sums differ from go-store's: {EXPECTED_CHECK_100K}");
            matched = false;
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
    let mut durable = None;
    let mut commits = 20_000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--n" => {
                n = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or("--n takes a positive number")?;
            }
            "--only" => {
                let system = args.next().ok_or("--only takes a system's name")?;
                if !SYSTEMS.contains(&system.as_str()) {
                    return Err(format!("no system is called {system:?}"));
                }
                only = Some(system);
            }
            "--covering" => covering = true,
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
fn filled<S: System>(n: usize) -> (S, Vec<Id>) {
    let store = S::new();
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

/// Runs every phase on one system, printing its lines; returns its check sums.
fn run<S: System>(n: usize) -> String {
    let name = S::NAME;
    let count = n as u64;
    let mut rng = Rng::new(42);
    let store = S::new();
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

    let par_get_age_sums = par_get::<S>(n);

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

    write_latencies::<S>(n);
    check
}

/// par_get: THREADS threads, thread t with its own generator seeded 43 + t,
/// each doing n gets on a fresh store. Returns each thread's age sum.
fn par_get<S: System>(n: usize) -> [u64; THREADS] {
    let (store, ids) = filled::<S>(n);
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
    report(S::NAME, "par_get", (THREADS * n) as u64, elapsed);
    sums
}

/// write_alone, then write_stall, on a fresh store: n/10 updates of ids drawn
/// from a generator seeded 7, each timed alone; write_stall does them again
/// while another thread scans the whole store back to back.
fn write_latencies<S: System>(n: usize) {
    let (store, ids) = filled::<S>(n);
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
    report_latencies(S::NAME, "write_alone", alone);

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
        "{} write_stall: {} of {updates} updates, {scans} full scans ran meanwhile",
        S::NAME,
        stalled.len(),
    );
    report_latencies(S::NAME, "write_stall", stalled);

    index_stall(&store, &ids, &mut ages);
}

/// index_stall: one thread updates in a loop, each update timed alone, while
/// another creates an index over the whole store; the updates are those made
/// from just before the build started until it ended.
fn index_stall<S: System>(store: &S, ids: &[Id], ages: &mut [u64]) {
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
        eprintln!(
            "{} index_stall: cannot create an index at run time",
            S::NAME
        );
        return;
    };
    latencies.sort_unstable();
    let p999 = latencies[(latencies.len() * 999).div_ceil(1000).max(1) - 1];
    eprintln!(
        "{} index_stall: {} updates during a {:.3} s build; p99.9 {:.1} us",
        S::NAME,
        latencies.len(),
        build.as_secs_f64(),
        p999.as_secs_f64() * 1e6,
    );
    report_latencies(S::NAME, "index_stall", latencies);
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
