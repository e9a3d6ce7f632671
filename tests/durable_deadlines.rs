//! A durable database keeps deadlines across close and reopen: set by
//! `insert_with_ttl`, `expire_at`, `persist` and inside transactions, from
//! the log and from a checkpoint; a document whose deadline passed while the
//! database was closed is hidden at open and removed by a logged commit.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use docstore::{DurableDb, DurableOptions, Indexed, ManualClock, Sweeping};
use serde::{Deserialize, Serialize};
use serde_json::json;

const MINUTE: Duration = Duration::from_secs(60);

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("docstore-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn start() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_000_000)
}

fn options(clock: &ManualClock) -> DurableOptions {
    DurableOptions::new()
        .no_automatic_checkpoints()
        .clock(clock.clone())
}

#[derive(Indexed, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Session {
    #[index(unique)]
    token: String,
}

fn deadlines_come_back(dir: &PathBuf, checkpoint: bool) {
    let clock = ManualClock::new(start());
    let (ttl, set, kept, in_tx, typed) = {
        let (db, _) = DurableDb::open(dir, options(&clock)).unwrap();
        let store = db.store("sessions").unwrap();
        let ttl = store.insert_with_ttl(json!({"n": 1}), MINUTE).unwrap();
        let set = store.insert(json!({"n": 2})).unwrap();
        store.expire_at(set, start() + MINUTE * 3).unwrap();
        let kept = store.insert_with_ttl(json!({"n": 3}), MINUTE).unwrap();
        store.persist(kept).unwrap();
        let in_tx = db
            .transaction(|tx| {
                tx.store(&store)
                    .insert_with_ttl(json!({"n": 4}), MINUTE * 2)
            })
            .unwrap();
        let typed = db.collection::<Session>("typed").unwrap();
        let typed = typed
            .insert_with_ttl(
                Session {
                    token: "abc".into(),
                },
                MINUTE,
            )
            .unwrap();
        if checkpoint {
            db.checkpoint().unwrap();
        }
        db.close().unwrap();
        (ttl, set, kept, in_tx, typed)
    };
    {
        let (db, _) = DurableDb::open(dir, options(&clock)).unwrap();
        let store = db.store("sessions").unwrap();
        store.set_sweeping(Sweeping::Manual);
        assert_eq!(store.deadline(ttl).unwrap(), Some(start() + MINUTE));
        assert_eq!(store.deadline(set).unwrap(), Some(start() + MINUTE * 3));
        assert_eq!(store.deadline(kept).unwrap(), None);
        assert_eq!(store.deadline(in_tx).unwrap(), Some(start() + MINUTE * 2));
        let sessions = db.collection::<Session>("typed").unwrap();
        assert_eq!(sessions.deadline(typed).unwrap(), Some(start() + MINUTE));
        db.close().unwrap();
    }

    // Closed across the first deadlines: hidden at open, then swept by a
    // logged commit.
    clock.advance(MINUTE * 2);
    {
        let (db, _) = DurableDb::open(dir, options(&clock)).unwrap();
        let store = db.store("sessions").unwrap();
        store.set_sweeping(Sweeping::Manual);
        let snapshot = db.snapshot();
        let view = snapshot.store(&store).unwrap();
        assert!(!view.contains(ttl));
        assert!(!view.contains(in_tx));
        assert_eq!(view.len(), 2);
        assert_eq!(
            store.sweep().unwrap(),
            0,
            "the snapshot's reads removed them"
        );
        assert_eq!(store.len().unwrap(), 2);
        let sessions = db.collection::<Session>("typed").unwrap();
        assert!(
            sessions
                .get_unique(Session::token, "abc")
                .unwrap()
                .is_none()
        );
        db.close().unwrap();
    }
    {
        let (db, _) = DurableDb::open(dir, options(&clock)).unwrap();
        let store = db.store("sessions").unwrap();
        assert_eq!(store.len().unwrap(), 2);
        assert!(store.contains(set).unwrap());
        assert!(store.contains(kept).unwrap());
        clock.advance(MINUTE);
        assert!(!store.contains(set).unwrap());
        db.close().unwrap();
    }
    let (db, _) = DurableDb::open(dir, options(&clock)).unwrap();
    assert_eq!(db.store("sessions").unwrap().len().unwrap(), 1);
    assert!(
        db.collection::<Session>("typed")
            .unwrap()
            .is_empty()
            .unwrap()
    );
}

#[test]
fn deadlines_come_back_from_the_log() {
    deadlines_come_back(&fresh_dir("deadlines-log"), false);
}

#[test]
fn deadlines_come_back_from_a_checkpoint() {
    deadlines_come_back(&fresh_dir("deadlines-checkpoint"), true);
}
