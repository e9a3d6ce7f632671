//! Log files preallocated past their last frame (with `Always` and
//! `Interval`, so that an fsync flushes a commit's bytes and not a new file
//! size): the zeros are the end of the file, never a torn tail to report,
//! never corruption, and a commit that would hide in them is still missed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use docstore::durable_testing::SimFs;
use docstore::{DurableDb, DurableOptions, Error, Fs, SyncPolicy};
use serde_json::json;

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("docstore-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn logs(dir: &Path) -> Vec<PathBuf> {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "wal"))
        .collect();
    logs.sort();
    logs
}

#[test]
fn a_log_on_disk_grows_ahead_of_its_frames_and_reopens_with_nothing_cut() {
    for sync in [
        SyncPolicy::Always,
        SyncPolicy::Interval(std::time::Duration::from_millis(5)),
    ] {
        let dir = fresh_dir("preallocated");
        let options = DurableOptions::new().sync(sync).no_automatic_checkpoints();
        let (db, _) = DurableDb::open(&dir, options.clone()).unwrap();
        let store = db.store("s").unwrap();
        let ids: Vec<_> = (0..30)
            .map(|n| store.insert(json!({"n": n})).unwrap())
            .collect();
        let log = logs(&dir).pop().unwrap();
        let bytes = std::fs::read(&log).unwrap();
        // Thirty small commits need a few KiB; the file is already larger,
        // and what is past the frames is zeros.
        assert!(bytes.len() >= 64 << 10, "{} bytes", bytes.len());
        assert!(bytes[bytes.len() - 1024..].iter().all(|&b| b == 0));
        drop(store);
        db.close().unwrap();

        let (db, recovery) = DurableDb::open(&dir, options).unwrap();
        assert_eq!(recovery.cut, None);
        assert_eq!(recovery.last_seq, 31);
        let store = db.store("s").unwrap();
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(store.get(*id).unwrap().value().to_value(), json!({"n": n}));
        }
        // The file it recovered from is cut back to its frames.
        let recovered = std::fs::read(&log).unwrap();
        assert!(recovered.len() < 8 << 10, "{} bytes", recovered.len());
        assert!(bytes.starts_with(&recovered));
        drop(store);
        db.close().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_log_written_with_never_is_not_preallocated() {
    let dir = fresh_dir("not-preallocated");
    let options = DurableOptions::new()
        .sync(SyncPolicy::Never)
        .no_automatic_checkpoints();
    let (db, _) = DurableDb::open(&dir, options).unwrap();
    let store = db.store("s").unwrap();
    for n in 0..30 {
        store.insert(json!({"n": n})).unwrap();
    }
    let bytes = std::fs::read(logs(&dir).pop().unwrap()).unwrap();
    assert_ne!(bytes.last(), Some(&0));
    drop(store);
    db.close().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

fn sim_options(fs: &SimFs) -> DurableOptions {
    DurableOptions::new()
        .sync(SyncPolicy::Always)
        .no_automatic_checkpoints()
        .filesystem(Arc::new(fs.clone()))
}

fn sim_logs(fs: &SimFs) -> Vec<PathBuf> {
    let mut logs: Vec<PathBuf> = fs
        .list(Path::new("/db"))
        .unwrap()
        .into_iter()
        .filter(|name| name.ends_with(".wal"))
        .map(|name| Path::new("/db").join(name))
        .collect();
    logs.sort();
    logs
}

/// Two log files (a new one at each open), each holding commits.
fn two_logs(fs: &SimFs) -> Vec<docstore::Id> {
    let mut ids = Vec::new();
    for round in 0..2 {
        let (db, _) = DurableDb::open("/db", sim_options(fs)).unwrap();
        let store = db.store("s").unwrap();
        for n in 0..5 {
            ids.push(store.insert(json!({"round": round, "n": n})).unwrap());
        }
        drop(store);
        db.close().unwrap();
    }
    ids
}

#[test]
fn zeros_after_the_frames_of_an_earlier_log_file_end_it_cleanly() {
    let fs = SimFs::new(11);
    let ids = two_logs(&fs);
    let first = sim_logs(&fs).remove(0);
    let mut bytes = fs.read(&first).unwrap();
    bytes.resize(bytes.len() + 70_000, 0);
    fs.put(&first, bytes);

    let (db, recovery) = DurableDb::open("/db", sim_options(&fs)).unwrap();
    assert_eq!(recovery.cut, None);
    let store = db.store("s").unwrap();
    assert_eq!(store.len().unwrap(), ids.len());
    assert!(store.verify().unwrap().is_empty());
}

#[test]
fn a_commit_zeroed_at_the_end_of_an_earlier_log_file_is_still_missed() {
    let fs = SimFs::new(12);
    two_logs(&fs);
    let first = sim_logs(&fs).remove(0);
    let bytes = fs.read(&first).unwrap();
    // The last frame of the first file becomes zeros: the second file then
    // begins one commit after the last one recovery found.
    let mut damaged = bytes.clone();
    let mut offset = 16;
    let mut last_frame = offset;
    while offset < bytes.len() {
        last_frame = offset;
        let len = u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap()) as usize;
        offset += 8 + len;
    }
    damaged[last_frame..].fill(0);
    fs.put(&first, damaged);

    match DurableDb::open("/db", sim_options(&fs)) {
        Err(Error::Corrupt { reason, .. }) => assert!(reason.contains("missing"), "{reason}"),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a missing commit was not noticed"),
    }
}
