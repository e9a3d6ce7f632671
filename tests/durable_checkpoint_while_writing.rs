//! Checkpoints taken while writers commit: the log switches files at a cut of
//! the whole database, so a checkpoint holds exactly the commits before the
//! switch, the log after it holds the rest, and nothing acknowledged is lost
//! or doubled, whatever the sync policy.

use std::collections::BTreeMap;
use std::sync::Arc;

use docstore::durable_testing::SimFs;
use docstore::{DurableDb, DurableOptions, Id, Indexed, SyncPolicy};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Indexed, Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Reading {
    #[index]
    sensor: u32,
    value: u64,
}

fn open(fs: &SimFs, sync: SyncPolicy) -> (DurableDb, docstore::Recovery) {
    let options = DurableOptions::new()
        .sync(sync)
        .no_automatic_checkpoints()
        .filesystem(Arc::new(fs.clone()));
    DurableDb::open("/db", options).unwrap()
}

#[test]
fn checkpoints_during_commits_keep_every_acknowledged_commit_once() {
    for (seed, sync) in [(1, SyncPolicy::Always), (2, SyncPolicy::Never)] {
        let fs = SimFs::new(seed);
        let (db, _) = open(&fs, sync);
        let readings = db.collection::<Reading>("readings").unwrap();
        let events = db.store("events").unwrap();
        events.create_index("by_writer", ["writer"]).unwrap();
        let (typed, schemaless) = std::thread::scope(|s| {
            let writers: Vec<_> = (0..4u32)
                .map(|writer| {
                    let (db, readings, events) = (&db, &readings, &events);
                    s.spawn(move || {
                        let mut typed = BTreeMap::new();
                        let mut schemaless = BTreeMap::new();
                        for n in 0..60u64 {
                            let reading = Reading {
                                sensor: writer,
                                value: n,
                            };
                            match n % 3 {
                                0 => {
                                    let id = readings.insert(reading.clone()).unwrap();
                                    typed.insert(id, reading);
                                }
                                1 => {
                                    let event = json!({"writer": writer, "n": n});
                                    let id = events.insert(event.clone()).unwrap();
                                    schemaless.insert(id, event);
                                }
                                _ => {
                                    let event = json!({"writer": writer, "n": n, "tx": true});
                                    let (a, b) = db
                                        .transaction(|tx| {
                                            let a =
                                                tx.collection(readings).insert(reading.clone())?;
                                            let b = tx.store(events).insert(event.clone())?;
                                            Ok::<_, docstore::Error>((a, b))
                                        })
                                        .unwrap();
                                    typed.insert(a, reading);
                                    schemaless.insert(b, event);
                                }
                            }
                        }
                        (typed, schemaless)
                    })
                })
                .collect();
            for _ in 0..10 {
                db.checkpoint().unwrap();
                std::thread::yield_now();
            }
            let mut typed = BTreeMap::<Id, Reading>::new();
            let mut schemaless = BTreeMap::new();
            for writer in writers {
                let (t, e) = writer.join().unwrap();
                typed.extend(t);
                schemaless.extend(e);
            }
            (typed, schemaless)
        });
        db.checkpoint().unwrap();
        events
            .insert(json!({"after": "the last checkpoint"}))
            .unwrap();
        let seq = db.snapshot().seq();
        drop((readings, events));
        drop(db);

        let (db, recovery) = open(&fs, sync);
        assert_eq!(recovery.last_seq, seq, "{sync:?}");
        assert_eq!(recovery.checkpoint, Some(seq - 1), "{sync:?}");
        assert_eq!(db.snapshot().seq(), seq);
        let readings = db.collection::<Reading>("readings").unwrap();
        let events = db.store("events").unwrap();
        assert_eq!(readings.len().unwrap(), typed.len());
        for (id, reading) in &typed {
            assert_eq!(readings.get(*id).unwrap().value(), reading);
        }
        assert_eq!(events.len().unwrap(), schemaless.len() + 1);
        for (id, event) in &schemaless {
            assert_eq!(&events.get(*id).unwrap(), event);
        }
        assert_eq!(events.lookup("by_writer", 3).unwrap().count(), 40);
        assert!(readings.verify().unwrap().is_empty());
        assert!(events.verify().unwrap().is_empty());
    }
}
