//! Subscribers to everything share one log of change sets: each commit is
//! appended once, and each subscriber reads it at its own pace, with a buffer
//! of its own size. Checked against a model of one private bounded buffer
//! per subscriber (what a subscription promises), over random interleavings
//! of commits and reads, long enough for the log to forget what was read.

use std::collections::VecDeque;
use std::sync::Arc;

use docstore::{Change, Collection, Event, Indexed, Store, Subscription};
use serde_json::json;

/// One subscriber's buffer as the feed promises it: oldest first; what does
/// not fit is dropped and told as `Lagged` once something fits again (the
/// marker takes a place too), or when the buffer is read empty.
struct Model {
    events: VecDeque<Event<u64>>,
    capacity: usize,
    missed: u64,
    next_after_missed: u64,
}

impl Model {
    fn new(capacity: usize) -> Model {
        Model {
            events: VecDeque::new(),
            capacity,
            missed: 0,
            next_after_missed: 0,
        }
    }

    fn push(&mut self, seq: u64) {
        let needed = if self.missed > 0 { 2 } else { 1 };
        if self.events.len() + needed > self.capacity {
            self.missed += 1;
            self.next_after_missed = seq + 1;
            return;
        }
        if self.missed > 0 {
            self.events.push_back(Event::Lagged {
                missed: std::mem::take(&mut self.missed),
                next_seq: seq,
            });
        }
        self.events.push_back(Event::Changes(seq));
    }

    fn next(&mut self) -> Option<Event<u64>> {
        if let Some(event) = self.events.pop_front() {
            return Some(event);
        }
        (self.missed > 0).then(|| Event::Lagged {
            missed: std::mem::take(&mut self.missed),
            next_seq: self.next_after_missed,
        })
    }
}

fn seq_of<D>(event: Event<docstore::ChangeSet<D>>) -> Event<u64> {
    match event {
        Event::Changes(set) => Event::Changes(set.seq()),
        Event::Lagged { missed, next_seq } => Event::Lagged { missed, next_seq },
    }
}

fn same(a: &Event<u64>, b: &Event<u64>) -> bool {
    match (a, b) {
        (Event::Changes(a), Event::Changes(b)) => a == b,
        (
            Event::Lagged {
                missed: a,
                next_seq: x,
            },
            Event::Lagged {
                missed: b,
                next_seq: y,
            },
        ) => a == b && x == y,
        _ => false,
    }
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn every_subscriber_receives_what_its_own_buffer_would_hold() {
    for seed in 1..=6u64 {
        let store = Store::new();
        let capacities = [1, 2, 7, 300, 5000];
        let subscriptions: Vec<Subscription<_>> = capacities
            .iter()
            .map(|capacity| store.subscribe_with_capacity(*capacity).unwrap())
            .collect();
        let mut models: Vec<Model> = capacities.iter().map(|c| Model::new(*c)).collect();
        let mut rng = Rng(seed * 7919);
        // Each subscriber reads at a pace of its own: some rarely, some
        // often, the last never until the end.
        for step in 0..6000 {
            store.insert(json!({ "step": step })).unwrap();
            let last = store.snapshot().unwrap().seq();
            for model in &mut models {
                model.push(last);
            }
            for (i, (subscription, model)) in subscriptions.iter().zip(&mut models).enumerate() {
                if i == capacities.len() - 1 || rng.below(10 * (i as u64 + 1)) != 0 {
                    continue;
                }
                for _ in 0..rng.below(12) {
                    let got = subscription.try_recv().unwrap().map(seq_of);
                    let want = model.next();
                    match (&got, &want) {
                        (Some(got), Some(want)) => {
                            assert!(same(got, want), "seed {seed}: {got:?} vs {want:?}")
                        }
                        (None, None) => {}
                        _ => panic!(
                            "seed {seed} step {step}: subscriber {i} got {got:?}, want {want:?}"
                        ),
                    }
                }
                assert_eq!(
                    subscription.len(),
                    model.events.len(),
                    "seed {seed} step {step} subscriber {i}"
                );
            }
        }
        for (i, (subscription, model)) in subscriptions.iter().zip(&mut models).enumerate() {
            assert!(subscription.len() <= capacities[i]);
            loop {
                let got = subscription.try_recv().unwrap().map(seq_of);
                let want = model.next();
                match (&got, &want) {
                    (Some(got), Some(want)) => {
                        assert!(same(got, want), "seed {seed}: {got:?} vs {want:?}")
                    }
                    (None, None) => break,
                    _ => panic!("seed {seed} end: subscriber {i} got {got:?}, want {want:?}"),
                }
            }
        }
    }
}

#[derive(Indexed, Clone, Debug, PartialEq)]
struct Order {
    #[index]
    status: String,
    total: u32,
}

#[test]
fn two_subscribers_of_a_typed_collection_read_the_same_change_set() {
    let orders = Collection::<Order>::new();
    let first = orders.subscribe().unwrap();
    let second = orders.subscribe().unwrap();
    let id = orders
        .insert(Order {
            status: "new".into(),
            total: 30,
        })
        .unwrap();
    orders
        .update(
            id,
            Order {
                status: "paid".into(),
                total: 30,
            },
        )
        .unwrap();
    for subscription in [&first, &second] {
        let Some(Event::Changes(set)) = subscription.try_recv().unwrap() else {
            panic!("no insert")
        };
        assert!(matches!(set.changes(), [Change::Inserted(new)] if new.status == "new"));
        let Some(Event::Changes(set)) = subscription.try_recv().unwrap() else {
            panic!("no update")
        };
        match set.changes() {
            [Change::Updated { old, new }] => {
                assert_eq!((old.status.as_str(), new.status.as_str()), ("new", "paid"));
                assert_eq!((old.version(), new.version()), (1, 2));
            }
            other => panic!("{other:?}"),
        }
        assert!(subscription.try_recv().unwrap().is_none());
    }
    // One reading does not take from the other: the second still gets what
    // comes after the first dropped out.
    drop(first);
    orders.delete(id).unwrap();
    assert!(matches!(
        second.try_recv().unwrap(),
        Some(Event::Changes(set)) if matches!(set.changes(), [Change::Deleted(_)])
    ));
}

#[test]
fn a_subscriber_that_comes_late_sees_nothing_from_before_it() {
    let store = Arc::new(Store::new());
    let early = store.subscribe().unwrap();
    for n in 0..3000 {
        store.insert(json!({ "n": n })).unwrap();
    }
    let late = store.subscribe().unwrap();
    let id = store.insert(json!({"n": "late"})).unwrap();
    let Some(Event::Changes(set)) = late.try_recv().unwrap() else {
        panic!("nothing")
    };
    assert_eq!(set.seq(), late.start_seq() + 1);
    assert!(matches!(set.changes(), [Change::Inserted(doc)] if doc.id() == id));
    assert!(late.try_recv().unwrap().is_none());
    // The early one holds the first 1024 (its buffer's size), then is told
    // it missed the rest, up to the one after the last.
    let events: Vec<_> = std::iter::from_fn(|| early.try_recv().unwrap()).collect();
    let start = early.start_seq();
    assert_eq!(events.len(), docstore::DEFAULT_BUFFER + 1);
    for (k, event) in events[..docstore::DEFAULT_BUFFER].iter().enumerate() {
        assert!(matches!(event, Event::Changes(set) if set.seq() == start + 1 + k as u64));
    }
    assert!(matches!(
        events[docstore::DEFAULT_BUFFER],
        Event::Lagged { missed, next_seq }
            if missed == 3001 - docstore::DEFAULT_BUFFER as u64 && next_seq == set.seq() + 1
    ));
}

#[test]
fn subscribers_waiting_at_once_are_all_woken_by_one_commit() {
    let store = Store::new();
    let subscriptions: Vec<_> = (0..3).map(|_| store.subscribe().unwrap()).collect();
    let id = std::thread::scope(|scope| {
        let waiting: Vec<_> = subscriptions
            .iter()
            .map(|subscription| {
                scope.spawn(move || {
                    // Long enough never to run out on a loaded machine; a
                    // lost wake-up would make it fail rather than hang.
                    match subscription.recv_timeout(std::time::Duration::from_secs(60)) {
                        Ok(Some(Event::Changes(set))) => set.changes()[0].id(),
                        other => panic!("{other:?}"),
                    }
                })
            })
            .collect();
        let id = store.insert(json!({"n": 1})).unwrap();
        for waiter in waiting {
            assert_eq!(waiter.join().unwrap(), id);
        }
        id
    });
    store.close();
    for subscription in &subscriptions {
        assert!(subscription.try_recv().is_err());
    }
    assert_ne!(id, docstore::Id::nil());
}
