//! Benchmarks of a typed `Collection` (get and lookup) at 10k, 100k and 1M
//! documents: the workload's document as a struct with `#[derive(Indexed)]`.
//!
//! `cargo bench --bench typed`. Each size's collection is built once.

use std::time::Duration;

use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput, measurement::WallTime};
use criterion::{criterion_group, criterion_main};
use docstore::{Collection, Id, Indexed};

const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];

/// The workload's xorshift64* generator.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) % n as u64) as usize
    }
}

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
        let mut rng = Rng(42);
        let names = (0..1 << 16)
            .map(|_| format!("user-{}", rng.below(n)))
            .collect();
        Fixture {
            n,
            docs,
            ids,
            names,
        }
    }
}

fn configure(group: &mut BenchmarkGroup<'_, WallTime>, n: usize) {
    group.warm_up_time(Duration::from_secs(1));
    if n >= 1_000_000 {
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(3));
    } else {
        group
            .sample_size(30)
            .measurement_time(Duration::from_secs(2));
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
