//! Damaged files: cut at every offset of the last frames, bits flipped in
//! the log and in checkpoints, files deleted or duplicated, an unknown
//! format version. Each open recovers a correct prefix (reporting what it
//! cut) or fails with an error naming the file; never a panic, never a wrong
//! document.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use docstore::durable_testing::SimFs;
use docstore::{DurableDb, DurableOptions, Error, Fs, Id, Recovery, SyncPolicy};
use serde_json::{Value, json};

type State = BTreeMap<Id, Value>;

fn options(fs: &SimFs, sync: SyncPolicy) -> DurableOptions {
    DurableOptions::new()
        .sync(sync)
        .no_automatic_checkpoints()
        .filesystem(Arc::new(fs.clone()))
}

/// Writes `count` commits (after the store's own), checkpointing after
/// `checkpoint_at` of them if asked; returns the state after each commit.
fn write(fs: &SimFs, sync: SyncPolicy, count: usize, checkpoint_at: Option<usize>) -> Vec<State> {
    let (db, _) = DurableDb::open("/db", options(fs, sync)).unwrap();
    let store = db.store("s").unwrap();
    let mut history = vec![State::new(), State::new()];
    let mut state = State::new();
    for n in 0..count {
        if Some(n) == checkpoint_at {
            db.checkpoint().unwrap();
        }
        let doc = json!({"n": n, "text": format!("document number {n}")});
        let id = store.insert(doc.clone()).unwrap();
        state.insert(id, doc);
        history.push(state.clone());
        if n % 3 == 2 {
            let first = *state.keys().next().unwrap();
            state.remove(&first);
            store.delete(first).unwrap();
            history.push(state.clone());
        }
    }
    db.close().unwrap();
    history
}

fn files(fs: &SimFs, suffix: &str) -> Vec<PathBuf> {
    let mut names: Vec<PathBuf> = fs
        .list(Path::new("/db"))
        .unwrap()
        .into_iter()
        .filter(|name| name.ends_with(suffix))
        .map(|name| Path::new("/db").join(name))
        .collect();
    names.sort();
    names
}

/// Opens and, if it opens, checks the state is exactly the one after the
/// commit it says it recovered.
fn open_and_check(fs: &SimFs, history: &[State], repair: bool) -> Result<Recovery, Error> {
    let (db, recovery) = DurableDb::open("/db", options(fs, SyncPolicy::Never).repair(repair))?;
    let store = db.store("s").unwrap();
    let got: State = store
        .iter()
        .unwrap()
        .map(|doc| (doc.id(), doc.value().to_value()))
        .collect();
    let last = usize::try_from(recovery.last_seq).unwrap();
    assert!(
        last < history.len(),
        "recovered commit {last} was never made"
    );
    // A store made again by this open, if nothing survived, adds no document.
    assert_eq!(got, history[last.max(1)], "state at commit {last}");
    assert!(store.verify().unwrap().is_empty());
    drop(store);
    db.close().unwrap();
    Ok(recovery)
}

/// Copies the whole disk, so each damage starts from the same files.
fn copy(fs: &SimFs) -> SimFs {
    let copy = SimFs::new(7);
    for name in fs.list(Path::new("/db")).unwrap() {
        let path = Path::new("/db").join(name);
        copy.put(&path, fs.read(&path).unwrap());
    }
    copy
}

#[test]
fn a_log_cut_at_every_offset_of_its_last_frames_recovers_the_whole_frames() {
    for sync in [SyncPolicy::Always, SyncPolicy::Never] {
        let fs = SimFs::new(1);
        let history = write(&fs, sync, 12, None);
        let log = files(&fs, ".wal").pop().unwrap();
        let bytes = fs.read(&log).unwrap();
        let mut seen = BTreeMap::new();
        for len in bytes.len().saturating_sub(400)..bytes.len() {
            let damaged = copy(&fs);
            damaged.put(&log, bytes[..len].to_vec());
            let recovery = open_and_check(&damaged, &history, false).unwrap();
            // A cut between two frames leaves nothing to report.
            if let Some(cut) = recovery.cut {
                assert!(!cut.repaired);
                assert_eq!(cut.offset + cut.bytes, len as u64);
                seen.insert(recovery.last_seq, ());
            }
        }
        assert!(seen.len() >= 3, "the cuts went through several frames");
    }
}

#[test]
fn a_flipped_bit_in_the_synced_log_is_corruption_naming_file_and_offset() {
    let fs = SimFs::new(2);
    let history = write(&fs, SyncPolicy::Always, 20, None);
    let log = files(&fs, ".wal").pop().unwrap();
    let bytes = fs.read(&log).unwrap();
    let mut corrupt = 0;
    for bit in (16 * 8..bytes.len() * 8).step_by(37) {
        let damaged = copy(&fs);
        let mut flipped = bytes.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        damaged.put(&log, flipped);
        match open_and_check(&damaged, &history, false) {
            Err(Error::Corrupt { file, offset, .. }) => {
                assert_eq!(file, log.display().to_string());
                assert!(offset as usize <= bit / 8);
                corrupt += 1;
                // With repair, the prefix before the damage comes back.
                let recovery = open_and_check(&copy(&damaged), &history, true).unwrap();
                assert!(recovery.cut.is_some_and(|cut| cut.repaired));
            }
            // A flip in the last frame, which no later frame claims is synced.
            Ok(recovery) => assert!(recovery.cut.is_some()),
            Err(other) => panic!("unexpected error {other}"),
        }
    }
    assert!(corrupt > 10);
}

#[test]
fn flipped_bits_in_a_checkpoint_are_reported() {
    let fs = SimFs::new(3);
    let history = write(&fs, SyncPolicy::Never, 30, Some(20));
    let checkpoint = files(&fs, ".ckpt").pop().unwrap();
    let bytes = fs.read(&checkpoint).unwrap();
    for bit in (0..bytes.len() * 8).step_by(13) {
        let damaged = copy(&fs);
        let mut flipped = bytes.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        damaged.put(&checkpoint, flipped);
        match open_and_check(&damaged, &history, false) {
            Err(Error::Corrupt { file, .. } | Error::UnknownFormat { file, .. }) => {
                assert_eq!(file, checkpoint.display().to_string());
            }
            Ok(_) => panic!("bit {bit}: damage went unnoticed"),
            Err(other) => panic!("unexpected error {other}"),
        }
        // Repair cannot rebuild a checkpoint: it keeps a correct prefix.
        let _ = open_and_check(&copy(&damaged), &history, true);
    }
}

#[test]
fn deleted_and_duplicated_files_are_reported_or_harmless() {
    let fs = SimFs::new(4);
    let history = write(&fs, SyncPolicy::Never, 10, None);
    // Three opens wrote three log files; the middle one deleted is a gap.
    let mut history2 = history.clone();
    {
        let (db, _) = DurableDb::open("/db", options(&fs, SyncPolicy::Never)).unwrap();
        let store = db.store("s").unwrap();
        let doc = json!({"late": true});
        let id = store.insert(doc.clone()).unwrap();
        let mut state = history2.last().unwrap().clone();
        state.insert(id, doc);
        history2.push(state);
        db.close().unwrap();
    }
    let logs = files(&fs, ".wal");
    assert!(logs.len() >= 2, "{logs:?}");
    let gap = copy(&fs);
    gap.remove(&logs[0]).unwrap();
    assert!(matches!(
        open_and_check(&gap, &history2, false),
        Err(Error::Corrupt { .. })
    ));
    // A log file duplicated under its own next name only repeats commits.
    let duplicated = copy(&fs);
    let last = logs.last().unwrap();
    let copy_name = last.with_file_name("log-00000000000000009999.wal");
    duplicated.put(&copy_name, fs.read(&logs[0]).unwrap());
    match open_and_check(&duplicated, &history2, false) {
        Ok(_) | Err(Error::Corrupt { .. }) => {}
        Err(other) => panic!("unexpected error {other}"),
    }
    // A checkpoint duplicated under another name is refused.
    let fs = SimFs::new(5);
    let history = write(&fs, SyncPolicy::Never, 10, Some(5));
    let checkpoint = files(&fs, ".ckpt").pop().unwrap();
    let duplicated = copy(&fs);
    duplicated.put(
        &checkpoint.with_file_name("checkpoint-00000000000000000999.ckpt"),
        fs.read(&checkpoint).unwrap(),
    );
    assert!(matches!(
        open_and_check(&duplicated, &history, false),
        Err(Error::Corrupt { .. })
    ));
}

#[test]
fn an_unknown_format_version_is_a_clear_error() {
    let fs = SimFs::new(6);
    let history = write(&fs, SyncPolicy::Never, 3, None);
    let log = files(&fs, ".wal").pop().unwrap();
    let mut bytes = fs.read(&log).unwrap();
    bytes[8] = 2;
    let crc = crc32c_of(&bytes[..12]);
    bytes[12..16].copy_from_slice(&crc.to_le_bytes());
    fs.put(&log, bytes);
    let error = open_and_check(&fs, &history, false).unwrap_err();
    assert!(matches!(error, Error::UnknownFormat { .. }), "{error}");
    assert!(error.to_string().contains("format version 2"), "{error}");
}

/// CRC32C (Castagnoli), bit by bit: the header checksum a newer release
/// would write.
fn crc32c_of(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
