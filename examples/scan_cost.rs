//! What a full scan of a typed collection costs per document, beside the
//! naive map the workload compares it with (`RwLock<HashMap<Id, Arc<Doc>>>`),
//! after the workload's insert and update phases, so that the documents lie
//! in memory as the workload's scan finds them.
//!
//! `cargo run --release --example scan_cost -- --n 100000 --scans 200` prints
//! each system's rate; `--only typed` or `--only map` runs one, for
//! `perf stat` or callgrind with `--toggle-collect=*scan_phase*` (divide by
//! N times the scans for a document's cost).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use docstore::Collection;
use docstore::Id;

#[path = "shared/mod.rs"]
mod shared;
use parking_lot::RwLock;
use shared::{Doc, Rng, Written};

/// What a scan needs of a system.
trait Scanned: Written {
    const NAME: &'static str;
    /// The sum of every document's age.
    fn scan(&self) -> u64;
}

impl Scanned for Collection<Doc> {
    const NAME: &'static str = "typed";

    fn scan(&self) -> u64 {
        let snapshot = self.snapshot().expect("snapshot");
        (&snapshot).into_iter().map(|doc| u64::from(doc.age)).sum()
    }
}

/// The naive map, without indexes: a scan never reads them.
struct Map {
    next: std::sync::atomic::AtomicU64,
    docs: RwLock<HashMap<Id, Arc<Doc>>>,
}

impl Written for Map {
    fn indexed() -> Self {
        Map {
            next: 1.into(),
            docs: RwLock::default(),
        }
    }

    fn insert_doc(&self, i: usize) -> Id {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = Id::from_u128(u128::from(n));
        let doc = Arc::new(Doc::build(i, (i % 100) as u64));
        self.docs.write().insert(id, doc);
        id
    }

    fn update_doc(&self, id: Id, i: usize, age: u64) {
        let doc = Arc::new(Doc::build(i, age));
        self.docs.write().insert(id, doc);
    }
}

impl Scanned for Map {
    const NAME: &'static str = "map";

    fn scan(&self) -> u64 {
        self.docs
            .read()
            .values()
            .map(|doc| u64::from(doc.age))
            .sum()
    }
}

#[inline(never)]
fn scan_phase<S: Scanned>(system: &S, scans: usize) -> u64 {
    (0..scans).map(|_| system.scan()).sum()
}

fn run<S: Scanned>(n: usize, scans: usize) {
    let system = S::indexed();
    let ids: Vec<Id> = (0..n).map(|i| system.insert_doc(i)).collect();
    let mut rng = Rng(42);
    let mut ages: Vec<u64> = (0..n).map(|i| (i % 100) as u64).collect();
    for _ in 0..n {
        let j = rng.below(n);
        ages[j] = (ages[j] + 1) % 100;
        system.update_doc(ids[j], j, ages[j]);
    }
    let start = Instant::now();
    let sum = scan_phase(&system, scans);
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{} scan {:.0} docs/s (age sum {sum})",
        S::NAME,
        (n * scans) as f64 / seconds
    );
}

fn main() {
    let (mut n, mut scans) = (100_000, 100);
    let mut only = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--n", Some(value)) => n = value.parse().expect("--n takes a number"),
            ("--scans", Some(value)) => scans = value.parse().expect("--scans takes a number"),
            ("--only", Some(value)) => only = Some(value),
            _ => panic!("usage: scan_cost [--n N] [--scans S] [--only typed|map]"),
        }
    }
    if only.as_deref() != Some("map") {
        run::<Collection<Doc>>(n, scans);
    }
    if only.as_deref() != Some("typed") {
        run::<Map>(n, scans);
    }
}
