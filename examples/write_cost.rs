//! What one document costs to write: the workload's insert, update and delete
//! phases and its `txn_batch_insert` (documents inserted in transactions of
//! 1,000), on a schemaless store and on a typed collection, each phase in its
//! own function so callgrind can count its instructions alone.
//!
//! `cargo run --release --example write_cost -- --n 20000` prints each
//! phase's rate; `--only schemaless` or `--only typed` runs one layer, for
//! callgrind with `--toggle-collect=*insert_phase*` (or `*update_phase*`,
//! `*delete_phase*`, `*batch_phase*`); divide by N for a document's cost.

use std::time::Instant;

use docstore::{Collection, Id, Store};

#[path = "shared/mod.rs"]
mod shared;
use shared::{Doc, Rng, Written, json_document};

const BATCH: usize = 1_000;

/// The writes one layer offers, as the workload makes them.
trait Layer: Written {
    const NAME: &'static str;
    fn delete(&self, id: Id);
    fn insert_batch(&self, from: usize) -> Vec<Id>;
}

impl Layer for Store {
    const NAME: &'static str = "schemaless";

    fn delete(&self, id: Id) {
        self.delete(id).expect("delete");
    }

    fn insert_batch(&self, from: usize) -> Vec<Id> {
        self.transaction(|tx| {
            (from..from + BATCH)
                .map(|i| tx.insert(json_document(i, (i % 100) as u64)))
                .collect()
        })
        .expect("a transaction")
    }
}

impl Layer for Collection<Doc> {
    const NAME: &'static str = "typed";

    fn delete(&self, id: Id) {
        self.delete(id).expect("delete");
    }

    fn insert_batch(&self, from: usize) -> Vec<Id> {
        self.transaction(|tx| {
            (from..from + BATCH)
                .map(|i| tx.insert(Doc::build(i, (i % 100) as u64)))
                .collect()
        })
        .expect("a transaction")
    }
}

#[inline(never)]
fn insert_phase<L: Layer>(layer: &L, n: usize) -> Vec<Id> {
    (0..n).map(|i| layer.insert_doc(i)).collect()
}

#[inline(never)]
fn update_phase<L: Layer>(layer: &L, ids: &[Id]) {
    let mut rng = Rng(42);
    let mut ages: Vec<u64> = (0..ids.len()).map(|i| (i % 100) as u64).collect();
    for _ in 0..ids.len() {
        let j = rng.below(ids.len());
        ages[j] = (ages[j] + 1) % 100;
        layer.update_doc(ids[j], j, ages[j]);
    }
}

#[inline(never)]
fn delete_phase<L: Layer>(layer: &L, ids: &[Id]) {
    for id in ids {
        layer.delete(*id);
    }
}

#[inline(never)]
fn batch_phase<L: Layer>(layer: &L, n: usize) -> usize {
    (0..n)
        .step_by(BATCH)
        .map(|from| layer.insert_batch(from).len())
        .sum()
}

fn rate(n: usize, start: Instant) -> f64 {
    n as f64 / start.elapsed().as_secs_f64()
}

fn run<L: Layer>(n: usize) {
    let layer = L::indexed();
    let start = Instant::now();
    let ids = insert_phase(&layer, n);
    let insert = rate(n, start);
    let start = Instant::now();
    update_phase(&layer, &ids);
    let update = rate(n, start);
    let start = Instant::now();
    delete_phase(&layer, &ids);
    let delete = rate(n, start);
    let batched = L::indexed();
    let start = Instant::now();
    let inserted = batch_phase(&batched, n);
    let batch = rate(inserted, start);
    println!(
        "{} insert {insert:.0}/s update {update:.0}/s delete {delete:.0}/s \
         txn_batch_insert {batch:.0}/s ({:.2}x insert)",
        L::NAME,
        batch / insert
    );
}

fn main() {
    let mut n: usize = 20_000;
    let mut only = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--n", Some(value)) => n = value.parse().expect("--n takes a number"),
            ("--only", Some(value)) => only = Some(value),
            _ => panic!("usage: write_cost [--n N] [--only schemaless|typed]"),
        }
    }
    let n = n.div_ceil(BATCH) * BATCH;
    if only.as_deref() != Some("typed") {
        run::<Store>(n);
    }
    if only.as_deref() != Some("schemaless") {
        run::<Collection<Doc>>(n);
    }
}
