//! Crash test: a child process commits in a loop and reports each
//! acknowledged commit on a pipe; it is killed with SIGKILL at random
//! moments, and every reopen must hold every acknowledged commit, no commit
//! in part, and exactly the state of the commits it recovered.
//!
//! The child is this test binary run again, with `DOCSTORE_CRASH_CHILD` set.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docstore::{DurableDb, DurableOptions, Error, IndexOptions, Store, SyncPolicy};
use serde_json::{Value, json};

const CHILD: &str = "DOCSTORE_CRASH_CHILD";
const KEYS_PER_THREAD: u64 = 16;

/// Thread `t`'s `c`-th commit: which of its keys it sets, and to what (none:
/// deleted).
fn op(t: u64, c: u64) -> (u64, Option<u64>) {
    let mut x = (t << 32 | c).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    let key = t * KEYS_PER_THREAD + x % KEYS_PER_THREAD;
    let value = if x.is_multiple_of(5) { None } else { Some(c) };
    (key, value)
}

/// Thread `t`'s keys after its commits `1..=c`.
fn model(t: u64, c: u64) -> BTreeMap<u64, u64> {
    let mut keys = BTreeMap::new();
    for c in 1..=c {
        match op(t, c) {
            (key, Some(value)) => keys.insert(key, value),
            (key, None) => keys.remove(&key),
        };
    }
    keys
}

fn policy(name: &str) -> SyncPolicy {
    match name {
        "always" => SyncPolicy::Always,
        "interval" => SyncPolicy::Interval(Duration::from_millis(5)),
        _ => SyncPolicy::Never,
    }
}

fn open(dir: &Path, sync: SyncPolicy) -> (DurableDb, Arc<Store>) {
    let options = DurableOptions::new().sync(sync).checkpoint_after(32 << 10);
    let (db, _) = DurableDb::open(dir, options).expect("open");
    let store = db.store("s").expect("store");
    match store.create_index_with("by_key", ["key"], IndexOptions::new().unique()) {
        Ok(()) | Err(Error::IndexExists { .. }) => {}
        Err(error) => panic!("{error}"),
    }
    match store.create_index_with("by_thread", ["thread"], IndexOptions::new().unique()) {
        Ok(()) | Err(Error::IndexExists { .. }) => {}
        Err(error) => panic!("{error}"),
    }
    (db, store)
}

/// One commit of thread `t`: its counter and the key its next op changes,
/// together.
fn commit(db: &DurableDb, store: &Store, t: u64) -> Result<u64, Error> {
    db.transaction(|tx| {
        let tx = tx.store(store);
        let counter = tx.get_unique("by_thread", t)?;
        let c = counter
            .as_ref()
            .and_then(|d| d.get("count").and_then(|n| n.as_u64()))
            .unwrap_or(0)
            + 1;
        match counter {
            Some(doc) => tx
                .update(doc.id(), json!({"thread": t, "count": c}))
                .map(drop)?,
            None => tx.insert(json!({"thread": t, "count": c})).map(drop)?,
        }
        let (key, value) = op(t, c);
        let existing = tx.get_unique("by_key", key)?;
        match (existing, value) {
            (Some(doc), Some(value)) => tx
                .update(doc.id(), json!({"key": key, "value": value}))
                .map(drop)?,
            (None, Some(value)) => tx.insert(json!({"key": key, "value": value})).map(drop)?,
            (Some(doc), None) => tx.delete(doc.id()).map(drop)?,
            (None, None) => {}
        }
        Ok(c)
    })
}

/// The child: commits from `threads` threads until killed, printing
/// `ACK t c` for each acknowledged commit.
#[test]
fn crash_child() {
    let Ok(spec) = std::env::var(CHILD) else {
        return;
    };
    let mut parts = spec.split(',');
    let dir = PathBuf::from(parts.next().unwrap());
    let sync = policy(parts.next().unwrap());
    let threads: u64 = parts.next().unwrap().parse().unwrap();
    let (db, store) = open(&dir, sync);
    std::thread::scope(|s| {
        for t in 0..threads {
            let (db, store) = (&db, &store);
            s.spawn(move || {
                loop {
                    let c = commit(db, store, t).expect("commit");
                    println!("ACK {t} {c}");
                }
            });
        }
    });
}

/// Checks the reopened directory against what the child acknowledged.
fn check(dir: &Path, threads: u64, acked: &BTreeMap<u64, u64>) {
    let (db, store) = open(dir, SyncPolicy::Never);
    assert!(store.verify().unwrap().is_empty());
    let mut keys = BTreeMap::new();
    let mut counts = BTreeMap::new();
    for doc in store.iter().unwrap() {
        let value: Value = doc.value().to_value();
        if let Some(t) = value.get("thread").and_then(Value::as_u64) {
            counts.insert(t, value["count"].as_u64().unwrap());
        } else {
            let key = value["key"].as_u64().unwrap();
            assert!(keys.insert(key, value["value"].as_u64().unwrap()).is_none());
        }
    }
    for t in 0..threads {
        let count = counts.get(&t).copied().unwrap_or(0);
        let acked = acked.get(&t).copied().unwrap_or(0);
        assert!(
            count >= acked,
            "thread {t}: {acked} acknowledged, {count} recovered"
        );
        let mine: BTreeMap<u64, u64> = keys
            .iter()
            .filter(|(key, _)| **key / KEYS_PER_THREAD == t)
            .map(|(k, v)| (*k, *v))
            .collect();
        assert_eq!(mine, model(t, count), "thread {t} after {count} commits");
    }
    db.close().unwrap();
}

fn crash_loop(name: &str, sync: &str, threads: u64, kills: u64) {
    let dir = std::env::temp_dir().join(format!("docstore-crash-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut random = 0x1234_5678_9ABC_DEF1u64 ^ threads;
    let mut acked_total: BTreeMap<u64, u64> = BTreeMap::new();
    for _ in 0..kills {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD, format!("{},{sync},{threads}", dir.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let acked = Arc::new(Mutex::new(BTreeMap::new()));
        let reader = {
            let acked = Arc::clone(&acked);
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let mut words = line.split_whitespace();
                    if words.next() != Some("ACK") {
                        continue;
                    }
                    let (Some(Ok(t)), Some(Ok(c))) = (
                        words.next().map(str::parse::<u64>),
                        words.next().map(str::parse::<u64>),
                    ) else {
                        continue;
                    };
                    let mut acked = acked.lock().unwrap();
                    let entry = acked.entry(t).or_insert(0);
                    *entry = (*entry).max(c);
                }
            })
        };
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        std::thread::sleep(Duration::from_millis(20 + random % 60));
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        for (t, c) in acked.lock().unwrap().iter() {
            let entry = acked_total.entry(*t).or_insert(0);
            *entry = (*entry).max(*c);
        }
        check(&dir, threads, &acked_total);
    }
    let total: u64 = acked_total.values().sum();
    assert!(total > 0, "the child never committed");
    println!("{name}: {kills} kills, {total} commits acknowledged, all recovered");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn sigkill_loses_no_acknowledged_commit_with_always() {
    crash_loop("always", "always", 1, 40);
}

#[test]
fn sigkill_loses_no_acknowledged_commit_with_four_threads() {
    crash_loop("always4", "always", 4, 30);
}

#[test]
fn sigkill_loses_no_acknowledged_commit_with_interval() {
    crash_loop("interval", "interval", 1, 15);
}

#[test]
fn sigkill_loses_no_acknowledged_commit_with_never() {
    crash_loop("never", "never", 4, 15);
}
