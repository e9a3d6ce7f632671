//! Benchmarks of a typed `Collection` (get and lookup) at 10k, 100k and 1M
//! documents: the workload's document as a struct with `#[derive(Indexed)]`.
//!
//! `cargo bench --bench typed`. Each size's collection is built once.
//! `baseline-typed/get` times the workload's typed baseline map at the same
//! sizes, so that growth can be compared with it.

mod common;

use criterion::{BenchmarkId, Criterion, Throughput};
use criterion::{criterion_group, criterion_main};
use docstore::{Collection, Id, Indexed};

use common::{Rng, SIZES, baseline_get, configure, random_names};

/// The workload's document.
#[derive(Indexed, Clone, Debug)]
#[expect(
    dead_code,
    reason = "stored like every system stores them, never read back"
)]
struct Doc {
    #[index]
    name: String,
    #[index]
    age: u32,
    #[index]
    city: String,
    score: f64,
    active: bool,
    tags: Vec<String>,
    address: Address,
}

#[derive(Clone, Debug)]
#[expect(
    dead_code,
    reason = "stored like every system stores them, never read back"
)]
struct Address {
    zip: String,
    street: String,
}

impl Doc {
    fn build(i: usize) -> Doc {
        Doc {
            name: format!("user-{i}"),
            age: (i % 100) as u32,
            city: format!("city-{}", i % 50),
            score: i as f64 * 0.5,
            active: i.is_multiple_of(2),
            tags: vec![format!("t{}", i % 7), format!("t{}", i % 11)],
            address: Address {
                zip: format!("z{}", i % 1000),
                street: format!("s{i}"),
            },
        }
    }
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
            .map(|i| docs.insert(Doc::build(i)).expect("insert"))
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
    baseline_get(c, "baseline-typed/get", &ids, Doc::build, |doc| {
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
