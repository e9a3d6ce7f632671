//! Benchmarks of the schemaless `Store` at 10k, 100k and 1M documents, so that
//! how each operation's cost grows with the store's size shows.
//!
//! `cargo bench --bench schemaless` (or `-- get` for one group). Documents are
//! the workload's (../shared/WORKLOAD.md), with indexes by_name, by_age and
//! by_city. Each size's store is built once and shared by every benchmark;
//! the writing benchmarks run last and keep the store's size and content
//! close to what it was. Lookups, ranges and updates also run on a second
//! store whose indexes are covering (`covering/N` against `plain/N`), to show
//! what covering indexes gain and cost. `baseline/get` times the workload's
//! baseline map at the same sizes, so that growth can be compared with it.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use criterion::{criterion_group, criterion_main};
use docstore::{Id, IndexOptions, Object, Store};
use serde_json::Value;

use common::shared::json_document;
use common::{Rng, SIZES, baseline_get, configure, random_names};

fn age(doc: &Object) -> u64 {
    doc.get("age").and_then(|v| v.as_u64()).unwrap_or(0)
}

/// A store of `n` documents and what the benchmarks need to know about it.
struct Fixture {
    n: usize,
    store: Store,
    ids: Vec<Id>,
    ages: Vec<u64>,
    /// Names of random documents, made ahead so that lookups time the store only.
    names: Vec<String>,
}

impl Fixture {
    fn new(n: usize, options: IndexOptions) -> Fixture {
        let store = Store::new();
        for (index, field) in [("by_city", "city"), ("by_age", "age"), ("by_name", "name")] {
            store
                .create_index_with(index, [field], options)
                .expect("a new index");
        }
        let ages: Vec<u64> = (0..n).map(|i| (i % 100) as u64).collect();
        let ids = (0..n)
            .map(|i| store.insert(json_document(i, ages[i])).expect("insert"))
            .collect();
        let names = random_names(n);
        Fixture {
            n,
            store,
            ids,
            ages,
            names,
        }
    }
}

/// The fixtures with plain indexes and those with covering ones, each named.
fn both<'a>(plain: &'a [Fixture], covering: &'a [Fixture]) -> Vec<(&'static str, &'a Fixture)> {
    let plain = plain.iter().map(|f| ("plain", f));
    plain
        .chain(covering.iter().map(|f| ("covering", f)))
        .collect()
}

fn benches(c: &mut Criterion) {
    let fixture = |options| move |n| Fixture::new(n, options);
    let mut fixtures: Vec<Fixture> = SIZES.map(fixture(IndexOptions::new())).into();
    let mut covering: Vec<Fixture> = SIZES.map(fixture(IndexOptions::new().covering())).into();

    let mut group = c.benchmark_group("schemaless/get");
    group.throughput(Throughput::Elements(1));
    for f in &fixtures {
        configure(&mut group, f.n);
        let mut rng = Rng(42);
        group.bench_function(BenchmarkId::from_parameter(f.n), |b| {
            b.iter(|| age(&f.store.get(f.ids[rng.below(f.n)]).expect("get")));
        });
    }
    group.finish();

    let ids: Vec<&[Id]> = fixtures.iter().map(|f| f.ids.as_slice()).collect();
    baseline_get(
        c,
        "baseline/get",
        &ids,
        |i| json_document(i, (i % 100) as u64),
        |doc| doc.get("age").and_then(Value::as_u64).unwrap_or(0),
    );

    let mut group = c.benchmark_group("schemaless/lookup");
    group.throughput(Throughput::Elements(1));
    for (kind, f) in both(&fixtures, &covering) {
        configure(&mut group, f.n);
        let mut names = f.names.iter().cycle();
        group.bench_function(BenchmarkId::new(kind, f.n), |b| {
            b.iter(|| {
                let name = names.next().expect("endless");
                let mut found = f.store.lookup("by_name", name).expect("lookup");
                found.next().map(|doc| age(&doc))
            });
        });
    }
    group.finish();

    // Ages a..a + 5: a twentieth of the store, so per-element throughput is
    // the cost per result.
    let mut group = c.benchmark_group("schemaless/range");
    for (kind, f) in both(&fixtures, &covering) {
        configure(&mut group, f.n);
        group.throughput(Throughput::Elements((f.n / 20) as u64));
        let mut rng = Rng(42);
        group.bench_function(BenchmarkId::new(kind, f.n), |b| {
            b.iter(|| {
                let start = rng.below(96) as u64;
                let found = f.store.range("by_age", start..start + 5).expect("range");
                found.map(|doc| age(&doc)).sum::<u64>()
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("schemaless/scan");
    for f in &fixtures {
        configure(&mut group, f.n);
        group.throughput(Throughput::Elements(f.n as u64));
        group.bench_function(BenchmarkId::from_parameter(f.n), |b| {
            b.iter(|| {
                let all = f.store.iter().expect("iter");
                all.map(|doc| age(&doc)).sum::<u64>()
            });
        });
    }
    group.finish();

    // Inserts new documents in batches of at most n/10, each batch deleted
    // again (untimed), so the store stays between n and 1.1n documents.
    let mut group = c.benchmark_group("schemaless/insert");
    group.throughput(Throughput::Elements(1));
    for f in &fixtures {
        configure(&mut group, f.n);
        group.bench_function(BenchmarkId::from_parameter(f.n), |b| {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                let mut left = iters as usize;
                while left > 0 {
                    let batch = left.min(f.n / 10);
                    left -= batch;
                    let start = Instant::now();
                    let added: Vec<Id> = (f.n..f.n + batch)
                        .map(|i| {
                            f.store
                                .insert(json_document(i, (i % 100) as u64))
                                .expect("insert")
                        })
                        .collect();
                    elapsed += start.elapsed();
                    for id in added {
                        black_box(f.store.delete(id).expect("delete"));
                    }
                }
                elapsed
            });
        });
    }
    group.finish();

    // The workload's update: a random document's age goes up by one, and the
    // document is built afresh, so by_age changes on every update.
    let mut group = c.benchmark_group("schemaless/update");
    group.throughput(Throughput::Elements(1));
    let plain = fixtures.iter_mut().map(|f| ("plain", f));
    for (kind, f) in plain.chain(covering.iter_mut().map(|f| ("covering", f))) {
        configure(&mut group, f.n);
        let mut rng = Rng(42);
        let Fixture {
            n,
            store,
            ids,
            ages,
            ..
        } = f;
        group.bench_function(BenchmarkId::new(kind, *n), |b| {
            b.iter(|| {
                let j = rng.below(*n);
                ages[j] = (ages[j] + 1) % 100;
                store
                    .update(ids[j], json_document(j, ages[j]))
                    .expect("update")
            });
        });
    }
    group.finish();
}

criterion_group!(schemaless, benches);
criterion_main!(schemaless);
