//! Benchmarks of a typed `Collection` (get and lookup) at 10k, 100k and 1M
//! documents: the workload's document as a struct with `#[derive(Indexed)]`.
//!
//! `cargo bench --bench typed`. Each size's collection is built once.
//! `baseline-typed/get` times the workload's typed baseline map at the same
//! sizes, so that growth can be compared with it.

mod common;

use criterion::{BenchmarkId, Criterion, Throughput};
use criterion::{criterion_group, criterion_main};
use docstore::{Collection, Id};

use common::shared::Doc;
use common::{Rng, SIZES, baseline_get, configure, random_names};

/// Document `i` as the workload inserts it.
fn initial(i: usize) -> Doc {
    Doc::build(i, (i % 100) as u64)
}

/// A collection of `n` documents, their ids, and names of random documents
/// made ahead so that lookups time the collection only.
struct Fixture {
    n: usize,
    docs: Collection<Doc>,
    ids: Vec<Id>,
    names: Vec<String>,
}

impl Fixture {
    fn new(n: usize) -> Fixture {
        let docs = Collection::new();
        let ids = (0..n)
            .map(|i| docs.insert(initial(i)).expect("insert"))
            .collect();
        let names = random_names(n);
        Fixture {
            n,
            docs,
            ids,
            names,
        }
    }
}

fn benches(c: &mut Criterion) {
    let fixtures: Vec<Fixture> = SIZES.into_iter().map(Fixture::new).collect();

    let mut group = c.benchmark_group("typed/get");
    group.throughput(Throughput::Elements(1));
    for f in &fixtures {
        configure(&mut group, f.n);
        let mut rng = Rng(42);
        group.bench_function(BenchmarkId::from_parameter(f.n), |b| {
            b.iter(|| f.docs.get(f.ids[rng.below(f.n)]).expect("get").age);
        });
    }
    group.finish();

    let ids: Vec<&[Id]> = fixtures.iter().map(|f| f.ids.as_slice()).collect();
    baseline_get(c, "baseline-typed/get", &ids, initial, |doc| {
        u64::from(doc.age)
    });

    let mut group = c.benchmark_group("typed/lookup");
    group.throughput(Throughput::Elements(1));
    for f in &fixtures {
        configure(&mut group, f.n);
        let mut names = f.names.iter().cycle();
        group.bench_function(BenchmarkId::from_parameter(f.n), |b| {
            b.iter(|| {
                let name = names.next().expect("endless");
                let mut found = f.docs.lookup(Doc::name, name.as_str()).expect("lookup");
                found.next().map(|doc| doc.age)
            });
        });
    }
    group.finish();
}

criterion_group!(typed, benches);
criterion_main!(typed);
