//! What both benchmark files share: the sizes, the workload's generator and
//! document (from `examples/shared`), the random names lookups use, and how
//! long each size is measured.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput, measurement::WallTime};
use docstore::Id;
use parking_lot::RwLock;

/// The store sizes every benchmark runs at.
pub const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];

#[path = "../../examples/shared/mod.rs"]
pub mod shared;
pub use shared::Rng;

/// Names of random documents among `n`, made ahead so that lookups time the
/// store only.
pub fn random_names(n: usize) -> Vec<String> {
    let mut rng = Rng(42);
    (0..1 << 16)
        .map(|_| format!("user-{}", rng.below(n)))
        .collect()
}

/// Small stores get more samples; the 1M store's benchmarks are kept short.
pub fn configure(group: &mut BenchmarkGroup<'_, WallTime>, n: usize) {
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

/// Gets from the workload's baseline, a `RwLock<HashMap<Id, Arc<D>>>`, at the
/// sizes of `ids` (each store's ids, document `i` built by `build(i)`): how
/// a plain map's gets grow with its size on this machine, for docstore's
/// gets and lookups to be compared with. Each map lives only while measured.
pub fn baseline_get<D>(
    c: &mut Criterion,
    name: &str,
    ids: &[&[Id]],
    build: impl Fn(usize) -> D,
    read: impl Fn(&D) -> u64,
) {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(1));
    for ids in ids {
        let n = ids.len();
        let map: RwLock<HashMap<Id, Arc<D>>> = RwLock::new(
            ids.iter()
                .enumerate()
                .map(|(i, id)| (*id, Arc::new(build(i))))
                .collect(),
        );
        configure(&mut group, n);
        let mut rng = Rng(42);
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                let id = ids[rng.below(n)];
                let doc = map.read().get(&id).map(Arc::clone);
                doc.map(|doc| read(&doc))
            });
        });
    }
    group.finish();
}
