//! The background sweeper: with no other activity in a store, a document
//! past its deadline is removed by an ordinary commit that subscribers hear
//! as `Expired`; the thread starts only once some document has a deadline,
//! can be turned off (then `sweep()` does its work), and ends on close and
//! on drop.
//!
//! The tests wait for the sweeper's commits on a subscription, with a
//! generous timeout that only a broken sweeper reaches; they count the
//! sweeper threads by name, so they run one at a time.

use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

use docstore::{Change, Collection, Db, Event, Indexed, ManualClock, Store, Sweeping};
use serde_json::json;

const MINUTE: Duration = Duration::from_secs(60);
const PATIENCE: Duration = Duration::from_secs(60);
const PROMPT: Sweeping = Sweeping::Background {
    delay: Duration::from_millis(5),
};

/// The sweeper threads are counted process-wide: one test at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn clock() -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_000_000))
}

/// How many sweeper threads the process runs.
fn sweepers() -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "docstore-sweep")
        .count()
}

#[test]
fn an_idle_store_has_its_expired_documents_removed_by_commits() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let clock = clock();
    let store = Store::with_clock(clock.clone());
    store.set_sweeping(PROMPT);
    let changes = store.subscribe().unwrap();
    let id = store.insert_with_ttl(json!({"n": 1}), MINUTE).unwrap();
    let kept = store.insert(json!({"n": 2})).unwrap();
    assert!(matches!(
        changes.recv_timeout(PATIENCE),
        Ok(Some(Event::Changes(_)))
    ));
    assert!(matches!(
        changes.recv_timeout(PATIENCE),
        Ok(Some(Event::Changes(_)))
    ));
    clock.advance(MINUTE);
    // Nobody reads or writes the store: the sweeper commits the removal.
    let Ok(Some(Event::Changes(set))) = changes.recv_timeout(PATIENCE) else {
        panic!("the sweeper removed nothing");
    };
    assert!(matches!(&set.changes()[0], Change::Expired(old) if old.id() == id));
    assert_eq!(set.seq(), 3);
    assert_eq!(store.len().unwrap(), 1);
    assert!(store.contains(kept).unwrap());
    assert_eq!(store.sweep().unwrap(), 0);
}

#[test]
fn the_thread_starts_with_the_first_deadline_and_ends_on_drop_and_close() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let before = sweepers();
    let store = Store::new();
    store.insert(json!({"n": 1})).unwrap();
    assert_eq!(sweepers(), before, "no deadline, no thread");
    store.insert_with_ttl(json!({"n": 2}), MINUTE).unwrap();
    assert_eq!(sweepers(), before + 1);
    let copy = store.clone();
    copy.insert_with_ttl(json!({"n": 3}), MINUTE).unwrap();
    assert_eq!(sweepers(), before + 2);
    drop(store);
    assert_eq!(sweepers(), before + 1);
    copy.close();
    assert_eq!(sweepers(), before);

    // Deadlines set by a transaction, or by expire_at, start it too.
    let by_tx = Store::new();
    by_tx
        .transaction(|tx| tx.insert_with_ttl(json!({"n": 1}), MINUTE))
        .unwrap();
    assert_eq!(sweepers(), before + 1);
    let by_expire_at = Store::new();
    let id = by_expire_at.insert(json!({"n": 1})).unwrap();
    assert_eq!(sweepers(), before + 1);
    by_expire_at
        .expire_at(id, std::time::SystemTime::now() + MINUTE)
        .unwrap();
    assert_eq!(sweepers(), before + 2);
    drop(by_tx);
    drop(by_expire_at);
    assert_eq!(sweepers(), before);

    let db = Db::new();
    let a = db.store("a").unwrap();
    a.insert_with_ttl(json!({"n": 1}), MINUTE).unwrap();
    assert_eq!(sweepers(), before + 1);
    drop(a);
    drop(db);
    assert_eq!(sweepers(), before);
}

#[derive(Indexed, Clone, Debug)]
struct Session {
    #[index]
    token: String,
}

#[test]
fn sweeping_by_hand_starts_no_thread() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let before = sweepers();
    let clock = clock();
    let sessions = Collection::<Session>::with_clock(clock.clone());
    sessions.set_sweeping(Sweeping::Manual);
    let changes = sessions.subscribe().unwrap();
    sessions
        .insert_with_ttl(
            Session {
                token: "abc".into(),
            },
            MINUTE,
        )
        .unwrap();
    assert_eq!(sweepers(), before);
    clock.advance(MINUTE);
    assert!(matches!(changes.try_recv(), Ok(Some(Event::Changes(_)))));
    assert!(matches!(changes.try_recv(), Ok(None)));
    assert_eq!(sessions.sweep().unwrap(), 1);
    assert!(matches!(changes.try_recv(), Ok(Some(Event::Changes(_)))));
    // Turned on again, it starts for the deadlines there are.
    sessions
        .insert_with_ttl(
            Session {
                token: "def".into(),
            },
            MINUTE,
        )
        .unwrap();
    sessions.set_sweeping(PROMPT);
    assert_eq!(sweepers(), before + 1);
    sessions.set_sweeping(Sweeping::Manual);
    assert_eq!(sweepers(), before);
}
