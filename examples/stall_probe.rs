//! Where the slow updates of the workload's write_stall go: updates timed one
//! by one, alone and then beside a thread that scans in a loop; for the
//! slowest 1% beside the scanner, what the scanner was doing meanwhile
//! (taking its snapshot, iterating, or dropping the snapshot).
//!
//! `cargo run --release --example stall_probe -- --n 100000 --only typed`
//! (or `--only schemaless`); `ROUNDS=k` repeats it. `--mode` changes the
//! scanner: `keep` keeps every snapshot (none is dropped during the updates),
//! `hold` holds each snapshot as long as a scan takes without reading it,
//! `spin` only burns a core and `stream` only streams 64 MiB of memory, the
//! last two to tell the store's part from a busy second core's.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use docstore::{Collection, Id, Object, Snapshot, Store};

#[path = "shared/mod.rs"]
mod shared;
use shared::{Doc, Rng, Written};

trait Layer: Written + Sync {
    /// What a document of this layer is.
    type Document: Send + Sync + 'static;
    fn snapshot(&self) -> Snapshot<Self::Document>;
    fn age(doc: &Self::Document) -> u64;
}

impl Layer for Store {
    type Document = Object;
    fn snapshot(&self) -> Snapshot<Object> {
        Store::snapshot(self).expect("snapshot")
    }
    fn age(doc: &Object) -> u64 {
        doc.get("age").and_then(|a| a.as_u64()).unwrap_or(0)
    }
}

impl Layer for Collection<Doc> {
    type Document = Doc;
    fn snapshot(&self) -> Snapshot<Doc> {
        Collection::snapshot(self).expect("snapshot")
    }
    fn age(doc: &Doc) -> u64 {
        u64::from(doc.age)
    }
}

/// One scan as the scanner makes it in `mode`, with the time each of its
/// phases began and ended in `marks`.
fn scan<L: Layer>(
    layer: &L,
    mode: &str,
    kept: &mut Vec<Box<dyn Send>>,
    marks: &mut Vec<(Instant, u8)>,
) {
    marks.push((Instant::now(), 0));
    let snapshot = layer.snapshot();
    marks.push((Instant::now(), 1));
    if mode == "hold" {
        thread::sleep(Duration::from_micros(1500));
    } else {
        let mut sum = 0u64;
        for doc in &snapshot {
            sum += L::age(doc);
        }
        black_box(sum);
    }
    marks.push((Instant::now(), 2));
    if mode == "keep" {
        kept.push(Box::new(snapshot));
    } else {
        drop(snapshot);
    }
    marks.push((Instant::now(), 3));
}

/// Each update's start, duration and how many shared tree nodes it copied.
fn updates<L: Layer>(layer: &L, ids: &[Id], ages: &mut [u64]) -> Vec<(Instant, Duration, u64)> {
    let mut rng = Rng(7);
    let count = ids.len() / 10;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let j = rng.below(ids.len());
        ages[j] = (ages[j] + 1) % 100;
        Store::node_copies_for_tests();
        let start = Instant::now();
        layer.update_doc(ids[j], j, ages[j]);
        let elapsed = start.elapsed();
        out.push((start, elapsed, Store::node_copies_for_tests()));
    }
    out
}

fn pct(mut v: Vec<Duration>, p: usize) -> f64 {
    v.sort_unstable();
    let rank = (v.len() * p).div_ceil(100).max(1);
    v[rank - 1].as_secs_f64() * 1e6
}

fn run<L: Layer>(n: usize, mode: &str) {
    let layer = L::indexed();
    let ids: Vec<Id> = (0..n).map(|i| layer.insert_doc(i)).collect();
    let mut ages: Vec<u64> = (0..n).map(|i| (i % 100) as u64).collect();
    let alone = updates(&layer, &ids, &mut ages);
    let alone_d: Vec<Duration> = alone.iter().map(|x| x.1).collect();
    let stop = AtomicBool::new(false);
    let scanning = AtomicBool::new(false);
    let (stalled, marks, scans) = thread::scope(|s| {
        let scanner = s.spawn(|| {
            let mut kept = Vec::new();
            let mut marks = Vec::new();
            let mut scans = 0;
            let big: Vec<u64> = if mode == "stream" {
                vec![1; 8 << 20]
            } else {
                Vec::new()
            };
            while !stop.load(Ordering::Relaxed) {
                scanning.store(true, Ordering::Relaxed);
                if mode == "spin" {
                    let mut x = 1u64;
                    for i in 0..100_000u64 {
                        x = black_box(x.wrapping_mul(i | 1));
                    }
                } else if mode == "stream" {
                    black_box(big.iter().sum::<u64>());
                } else {
                    scan(&layer, mode, &mut kept, &mut marks);
                }
                scans += 1;
            }
            (marks, scans, kept.len())
        });
        while !scanning.load(Ordering::Relaxed) {
            thread::yield_now();
        }
        let stalled = updates(&layer, &ids, &mut ages);
        stop.store(true, Ordering::Relaxed);
        let (marks, scans, _) = scanner.join().expect("scanner");
        (stalled, marks, scans)
    });
    let stalled_d: Vec<Duration> = stalled.iter().map(|x| x.1).collect();
    let (a50, a99, s50, s99) = (
        pct(alone_d.clone(), 50),
        pct(alone_d, 99),
        pct(stalled_d.clone(), 50),
        pct(stalled_d.clone(), 99),
    );
    println!(
        "mode={mode} alone p50 {a50:.1} p99 {a99:.1} | stall p50 {s50:.1} p99 {s99:.1} ratio {:.2} scans {scans}",
        s99 / a99
    );
    // Phase durations of the scanner.
    let mut phase_time = [Duration::ZERO; 3];
    for w in marks.windows(2) {
        let (t0, p0) = w[0];
        let (t1, _) = w[1];
        if p0 < 3 {
            phase_time[p0 as usize] += t1 - t0;
        }
    }
    println!(
        "scanner time: snapshot {:?} iterate {:?} drop {:?}",
        phase_time[0], phase_time[1], phase_time[2]
    );
    // Classify the slowest 1% by what the scanner did when they started or overlapped.
    let threshold = Duration::from_secs_f64(s99 / 1e6);
    let mut counts = [0usize; 4];
    let mut all_counts = [0usize; 4];
    for &(start, d, _) in &stalled {
        let end = start + d;
        // Phase at overlap: any phase that intersects [start, end], prefer drop > snapshot > iterate.
        let i = marks.partition_point(|m| m.0 <= start);
        let mut phases = [false; 4];
        let mut k = i.saturating_sub(1);
        while k < marks.len() && marks[k].0 <= end {
            phases[marks[k].1 as usize] = true;
            k += 1;
        }
        let class = if phases[2] {
            2
        } else if phases[0] {
            0
        } else if phases[1] {
            1
        } else {
            3
        };
        all_counts[class] += 1;
        if d >= threshold {
            counts[class] += 1;
        }
    }
    println!(
        "slowest 1% overlapping: snapshot-take {} iterate {} drop {} between {} (all updates: {:?})",
        counts[0], counts[1], counts[2], counts[3], all_counts
    );
    // The nodes the updates copied, by how slow they were.
    let mut by_time: Vec<(Duration, u64)> = stalled.iter().map(|x| (x.1, x.2)).collect();
    by_time.sort_unstable();
    let len = by_time.len();
    let mean = |from: usize, to: usize| {
        let part = &by_time[from * len / 100..to * len / 100];
        part.iter().map(|x| x.1).sum::<u64>() as f64 / part.len().max(1) as f64
    };
    println!(
        "nodes copied per update, by latency: fastest half {:.1}, 50-90% {:.1}, 90-99% {:.1}, slowest 1% {:.1}",
        mean(0, 50),
        mean(50, 90),
        mean(90, 99),
        mean(99, 100)
    );
    let mut slow: Vec<Duration> = stalled.iter().map(|x| x.1).collect();
    slow.sort_unstable();
    let top: Vec<String> = slow
        .iter()
        .rev()
        .take(12)
        .map(|d| format!("{:.0}", d.as_secs_f64() * 1e6))
        .collect();
    println!("top: {}", top.join(" "));
}

fn main() {
    let mut n = 100_000;
    let mut only = "typed".to_owned();
    let mut mode = "normal".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--n" => n = args.next().and_then(|v| v.parse().ok()).expect("n"),
            "--only" => only = args.next().expect("only"),
            "--mode" => mode = args.next().expect("mode"),
            _ => panic!("unknown {a}"),
        }
    }
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    for _ in 0..rounds {
        if only == "typed" {
            run::<Collection<Doc>>(n, &mode);
        } else {
            run::<Store>(n, &mode);
        }
    }
}
