//! What deadlines cost readers: the workload's get phase (N gets of random
//! ids, reading "age") on a store where no document has a deadline, and on
//! one where every document has one (far in the future), in one run.
//!
//! `cargo run --release --example expiry_cost -- --n 100000`; `--only none`
//! or `--only all` runs one, for callgrind with
//! `--toggle-collect=*get_phase*`. `--range` runs the workload's range phase
//! instead (`--toggle-collect=*range_phase*`).

use std::time::{Duration, Instant};

use docstore::{Id, Store};
use serde_json::json;

#[path = "shared/mod.rs"]
mod shared;
use shared::Rng;

fn setup(n: usize, deadlines: bool) -> (Store, Vec<Id>) {
    let store = Store::new();
    store.create_index("by_age", ["age"]).expect("index");
    let ids = (0..n)
        .map(|i| {
            let document = json!({"name": format!("user-{i}"), "age": i % 100});
            if deadlines {
                store
                    .insert_with_ttl(document, Duration::from_secs(3600))
                    .expect("insert")
            } else {
                store.insert(document).expect("insert")
            }
        })
        .collect();
    (store, ids)
}

/// 200 range queries of ages a..a+5, reading "age": the workload's range
/// phase.
#[inline(never)]
fn range_phase(store: &Store) -> (f64, u64) {
    let mut rng = Rng(43);
    let mut sum = 0;
    let start = Instant::now();
    for _ in 0..200 {
        let from = rng.next() % 96;
        for document in store.range("by_age", from..from + 5).expect("range") {
            sum += document
                .get("age")
                .and_then(|age| age.as_u64())
                .unwrap_or(0);
        }
    }
    (start.elapsed().as_secs_f64(), sum)
}

#[inline(never)]
fn get_phase(store: &Store, ids: &[Id]) -> (f64, u64) {
    let mut rng = Rng(42);
    let mut sum = 0;
    let start = Instant::now();
    for _ in 0..ids.len() {
        let id = ids[rng.below(ids.len())];
        let document = store.get(id).expect("get");
        sum += document
            .get("age")
            .and_then(|age| age.as_u64())
            .unwrap_or(0);
    }
    (start.elapsed().as_secs_f64(), sum)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut n = 100_000;
    let mut only = None;
    let mut range = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--n" => n = args.next().and_then(|v| v.parse().ok()).unwrap_or(n),
            "--only" => only = args.next(),
            "--range" => range = true,
            other => eprintln!("ignored argument {other}"),
        }
    }
    let mut first = None;
    for (name, deadlines) in [("none", false), ("all", true)] {
        if only.as_deref().is_some_and(|only| only != name) {
            continue;
        }
        let (store, ids) = setup(n, deadlines);
        let (phase, (seconds, sum)) = if range {
            ("range", range_phase(&store))
        } else {
            ("get", get_phase(&store, &ids))
        };
        let base = *first.get_or_insert(seconds);
        println!(
            "expiry_cost {phase} deadlines={name} {n} {seconds:.3}s ratio {:.2} age_sum={sum}",
            seconds / base
        );
    }
}
