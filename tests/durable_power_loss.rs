//! Power-loss test: the simulated filesystem loses power at random moments,
//! dropping, reordering and tearing every write not yet fsynced. Every reopen
//! must give exactly the state after some prefix of the commits; with
//! `SyncPolicy::Always`, a prefix holding every acknowledged commit.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use docstore::durable_testing::SimFs;
use docstore::{DurableDb, DurableOptions, Error, Id, Store, SyncPolicy};
use serde_json::{Value, json};

struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

type State = BTreeMap<Id, Value>;

fn contents(store: &Store) -> State {
    store
        .iter()
        .unwrap()
        .map(|doc| (doc.id(), doc.value().to_value()))
        .collect()
}

fn open(fs: &SimFs, sync: SyncPolicy) -> (DurableDb, Arc<Store>, u64) {
    let options = DurableOptions::new()
        .sync(sync)
        .checkpoint_after(u64::MAX)
        .filesystem(Arc::new(fs.clone()));
    let (db, recovery) = DurableDb::open("/db", options).expect("open");

    let store = db.store("s").unwrap();
    (db, store, recovery.last_seq)
}

/// Runs random commits with power losses in between; returns how many power
/// losses it survived.
fn run(seed: u64, sync: SyncPolicy, losses: usize) -> usize {
    let fs = SimFs::new(seed);
    let mut random = Random(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    // The state after each commit, by sequence number.
    let mut history: Vec<State> = vec![State::new()];
    let (mut db, mut store, _) = open(&fs, sync);
    history.push(State::new()); // commit 1 made the store
    let mut acked = 1;
    for _ in 0..losses {
        for _ in 0..random.below(60) {
            let mut state = history[acked].clone();
            let ids: Vec<Id> = state.keys().copied().collect();
            let pick = |random: &mut Random| ids[random.below(ids.len() as u64) as usize];
            match random.below(10) {
                0..=3 => {
                    let doc = json!({"n": random.below(1000), "pad": "x".repeat(random.below(700) as usize)});
                    let id = store.insert(doc.clone()).unwrap();
                    state.insert(id, doc);
                }
                4..=5 if !ids.is_empty() => {
                    let id = pick(&mut random);
                    let doc = json!({"n": random.below(1000)});
                    store.update(id, doc.clone()).unwrap();
                    state.insert(id, doc);
                }
                6 if !ids.is_empty() => {
                    let id = pick(&mut random);
                    store.delete(id).unwrap();
                    state.remove(&id);
                }
                7 => {
                    let (a, b) = (json!({"pair": 1}), json!({"pair": 2}));
                    let (x, y) = db
                        .transaction(|tx| {
                            let tx = tx.store(&store);
                            Ok::<_, Error>((tx.insert(a.clone())?, tx.insert(b.clone())?))
                        })
                        .unwrap();
                    state.insert(x, a);
                    state.insert(y, b);
                }
                8 => {
                    db.checkpoint().unwrap();
                    continue;
                }
                _ => continue,
            }
            acked += 1;
            history.truncate(acked);
            history.push(state);
        }
        fs.power_loss();
        drop(store);
        drop(db);
        let (new_db, new_store, last) = open(&fs, sync);
        let last = usize::try_from(last).unwrap();
        assert!(
            last < history.len(),
            "seed {seed}: recovered commit {last} was never made"
        );
        if sync == SyncPolicy::Always {
            assert!(
                last >= acked,
                "seed {seed}: acknowledged {acked}, recovered {last}"
            );
        }
        if contents(&new_store) != history[last] {
            let got = contents(&new_store);
            let matches: Vec<usize> = (0..history.len()).filter(|i| history[*i] == got).collect();
            panic!(
                "seed {seed}: state at commit {last} of {}: got {} docs, want {}; equal to commits {matches:?}",
                history.len() - 1,
                got.len(),
                history[last].len()
            );
        }
        assert!(new_store.verify().unwrap().is_empty());
        history.truncate(last + 1);
        acked = last;
        if last == 0 {
            // Nothing survived, not even the store: opening it made it again.
            history.push(State::new());
            acked = 1;
        }
        db = new_db;
        store = new_store;
    }
    losses
}

#[test]
fn power_loss_keeps_every_acknowledged_commit_with_always() {
    let losses: usize = (0..50).map(|seed| run(seed, SyncPolicy::Always, 3)).sum();
    assert!(losses >= 100);
}

#[test]
fn power_loss_keeps_a_prefix_with_never() {
    let losses: usize = (100..135).map(|seed| run(seed, SyncPolicy::Never, 3)).sum();
    assert!(losses >= 100);
}

#[test]
fn power_loss_keeps_a_prefix_with_interval() {
    let sync = SyncPolicy::Interval(Duration::from_millis(1));
    let losses: usize = (200..220).map(|seed| run(seed, sync, 3)).sum();
    assert!(losses >= 60);
}
