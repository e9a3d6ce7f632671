//! What the change feed costs a writer: the workload's update phase (N
//! updates of random documents, age + 1, three indexes) on a store with no
//! subscription, 1, 100, and with 10 and 10,000 watches on keys no update
//! touches, as ratios to the first, in one run. Subscriptions keep up (their
//! buffers hold every change set), so this is the writer's own cost.
//!
//! `cargo run --release --example feed_cost -- --n 100000` prints the ratios
//! for a schemaless store; `--typed` for a typed collection. `--only CONFIG`
//! runs one configuration, for callgrind with
//! `--toggle-collect=*update_phase*`.

use std::time::Instant;

use docstore::{ChangeSet, Collection, Id, Object, Store, Subscription};

#[path = "shared/mod.rs"]
mod shared;
use shared::{Doc, Rng, json_document};

/// Listeners held for the phase (subscriptions and watches), whatever
/// their documents.
type Listeners = Box<dyn std::any::Any>;

/// What the update phase needs of a store, schemaless or typed.
trait Target: Sized {
    /// A store holding documents `0..n`, their ids, and the listeners asked
    /// for (kept until dropped).
    fn setup(n: usize, subscriptions: usize, watches: usize) -> (Self, Vec<Id>, Listeners);
    fn update(&self, id: Id, i: usize, age: usize);
}

impl Target for Store {
    fn setup(n: usize, subscriptions: usize, watches: usize) -> (Self, Vec<Id>, Listeners) {
        let store = Store::new();
        for (name, field) in [("by_city", "city"), ("by_age", "age"), ("by_name", "name")] {
            store.create_index(name, [field]).expect("index");
        }
        let ids = (0..n)
            .map(|i| {
                store
                    .insert(json_document(i, (i % 100) as u64))
                    .expect("insert")
            })
            .collect();
        let mut listeners: Vec<Subscription<ChangeSet<Object>>> = Vec::new();
        for _ in 0..subscriptions {
            listeners.push(store.subscribe_with_capacity(n + 1).expect("subscribe"));
        }
        for w in 0..watches {
            listeners.push(store.watch("by_name", format!("other-{w}")).expect("watch"));
        }
        (store, ids, Box::new(listeners))
    }

    fn update(&self, id: Id, i: usize, age: usize) {
        Store::update(self, id, json_document(i, age as u64)).expect("update");
    }
}

impl Target for Collection<Doc> {
    fn setup(n: usize, subscriptions: usize, watches: usize) -> (Self, Vec<Id>, Listeners) {
        let users = Collection::<Doc>::new();
        let ids = (0..n)
            .map(|i| {
                users
                    .insert(Doc::build(i, (i % 100) as u64))
                    .expect("insert")
            })
            .collect();
        let mut listeners = Vec::new();
        for _ in 0..subscriptions {
            listeners.push(users.subscribe_with_capacity(n + 1).expect("subscribe"));
        }
        for w in 0..watches {
            listeners.push(users.watch(Doc::name, format!("other-{w}")).expect("watch"));
        }
        (users, ids, Box::new(listeners))
    }

    fn update(&self, id: Id, i: usize, age: usize) {
        Collection::update(self, id, Doc::build(i, age as u64)).expect("update");
    }
}

#[inline(never)]
fn update_phase<S: Target>(store: &S, ids: &[Id]) -> f64 {
    let n = ids.len();
    let mut ages: Vec<usize> = (0..n).map(|i| i % 100).collect();
    let mut rng = Rng(42);
    let start = Instant::now();
    for _ in 0..n {
        let j = rng.below(n);
        ages[j] = (ages[j] + 1) % 100;
        store.update(ids[j], j, ages[j]);
    }
    start.elapsed().as_secs_f64()
}

const CONFIGS: [(&str, usize, usize); 5] = [
    ("none", 0, 0),
    ("1_subscription", 1, 0),
    ("100_subscriptions", 100, 0),
    ("10_watches", 0, 10),
    ("10000_watches", 0, 10_000),
];

fn run<S: Target>(system: &str, n: usize, only: Option<&str>) {
    let mut first = None;
    for (name, subscriptions, watches) in CONFIGS {
        if only.is_some_and(|only| only != name) {
            continue;
        }
        let (store, ids, listeners) = S::setup(n, subscriptions, watches);
        let seconds = update_phase(&store, &ids);
        let base = *first.get_or_insert(seconds);
        println!(
            "feed_cost {system} update {name} {n} {seconds:.3}s {:.0}/s ratio {:.2}",
            n as f64 / seconds,
            seconds / base
        );
        drop(listeners);
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut n = 100_000;
    let mut only = None;
    let mut typed = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--n" => n = args.next().and_then(|v| v.parse().ok()).unwrap_or(n),
            "--only" => only = args.next(),
            "--typed" => typed = true,
            other => eprintln!("ignored argument {other}"),
        }
    }
    match typed {
        true => run::<Collection<Doc>>("typed", n, only.as_deref()),
        false => run::<Store>("schemaless", n, only.as_deref()),
    }
}
