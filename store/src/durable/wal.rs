//! The write-ahead log: every commit as one checksummed frame, appended in
//! commit order, and the group fsync that `SyncPolicy::Always` commits share.
//!
//! A log file is `log-<first seq, 20 digits>.wal`: a header, then frames,
//! then (with `Always` and `Interval`) zeros preallocated for the next frames,
//! which recovery reads as the end of the file.
//! A frame is a record (see `format`) holding the commit's sequence number,
//! the sequence number known to be fsynced when it was written (what lets
//! recovery tell a torn tail from corruption), and a body of operations:
//!
//! | tag | operation | fields |
//! |-----|-----------|--------|
//! | 1 | a store is made | store, kind (0 schemaless, 1 typed) |
//! | 2 | a document is written | store, id (16 bytes), version, document |
//! | 3 | a document is deleted | store, id |
//! | 4 | an index is made | store, name, field count, fields, flags (1 unique, 2 multi-key, 4 covering) |
//! | 5 | an index is dropped | store, name |
//! | 6 | a document's deadline is set | store, id, deadline (µs since the epoch, plus one; 0: none) |
//!
//! Strings and documents are varint-length-prefixed; a document is its
//! compact binary form (the schemaless document encoding).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::{Condvar, Mutex};

use super::format::{self, Get, Put};
use super::fs::{Fs, FsFile, join, shown};
use super::lock::DirLock;
use super::options::SyncPolicy;
use crate::commit::Clock;
use crate::{Error, Id, IndexInfo};

pub(crate) const OP_STORE: u8 = 1;
pub(crate) const OP_PUT: u8 = 2;
pub(crate) const OP_DELETE: u8 = 3;
pub(crate) const OP_CREATE_INDEX: u8 = 4;
pub(crate) const OP_DROP_INDEX: u8 = 5;
pub(crate) const OP_DEADLINE: u8 = 6;

/// What a store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Schemaless,
    Typed,
}

impl Kind {
    pub(crate) fn code(self) -> u8 {
        match self {
            Kind::Schemaless => 0,
            Kind::Typed => 1,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Kind> {
        match code {
            0 => Some(Kind::Schemaless),
            1 => Some(Kind::Typed),
            _ => None,
        }
    }
}

/// An index definition as files keep it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexImage {
    pub(crate) name: String,
    pub(crate) fields: Vec<String>,
    pub(crate) flags: u8,
}

impl IndexImage {
    pub(crate) fn of(info: &IndexInfo) -> IndexImage {
        IndexImage {
            name: info.name.clone(),
            fields: info.fields.clone(),
            flags: u8::from(info.unique)
                | u8::from(info.multi_key) << 1
                | u8::from(info.covering) << 2,
        }
    }

    pub(crate) fn put(&self, out: &mut Vec<u8>) {
        out.blob(self.name.as_bytes());
        out.varint(self.fields.len() as u64);
        for field in &self.fields {
            out.blob(field.as_bytes());
        }
        out.u8(self.flags);
    }

    pub(crate) fn get(input: &mut Get<'_>) -> Option<IndexImage> {
        let name = input.str()?.to_owned();
        let count = input.varint()?;
        let mut fields = Vec::new();
        for _ in 0..count {
            fields.push(input.str()?.to_owned());
        }
        let flags = input.u8()?;
        Some(IndexImage {
            name,
            fields,
            flags,
        })
    }
}

/// One operation of a frame's body.
pub(crate) enum Op<'a> {
    Store {
        store: &'a str,
        kind: Kind,
    },
    Put {
        store: &'a str,
        id: Id,
        version: u64,
        document: &'a [u8],
    },
    Delete {
        store: &'a str,
        id: Id,
    },
    CreateIndex {
        store: &'a str,
        index: IndexImage,
    },
    DropIndex {
        store: &'a str,
        name: &'a str,
    },
    Deadline {
        store: &'a str,
        id: Id,
        at: Option<u64>,
    },
}

/// Reads the operations of a frame body; `None` if it is malformed.
pub(crate) fn ops(body: &[u8]) -> Option<Vec<Op<'_>>> {
    let mut input = Get::new(body);
    let mut ops = Vec::new();
    while !input.is_empty() {
        let tag = input.u8()?;
        let store = input.str()?;
        ops.push(match tag {
            OP_STORE => Op::Store {
                store,
                kind: Kind::from_code(input.u8()?)?,
            },
            OP_PUT => Op::Put {
                store,
                id: input.id()?,
                version: input.varint()?,
                document: input.blob()?,
            },
            OP_DELETE => Op::Delete {
                store,
                id: input.id()?,
            },
            OP_CREATE_INDEX => Op::CreateIndex {
                store,
                index: IndexImage::get(&mut input)?,
            },
            OP_DROP_INDEX => Op::DropIndex {
                store,
                name: input.str()?,
            },
            OP_DEADLINE => Op::Deadline {
                store,
                id: input.id()?,
                at: input.varint()?.checked_sub(1),
            },
            _ => return None,
        });
    }
    Some(ops)
}

/// The name of the log file whose first frame is `seq`.
pub(crate) fn file_name(seq: u64) -> String {
    format!("log-{seq:020}.wal")
}

/// The first sequence number of a log file, from its name.
pub(crate) fn parse_name(name: &str) -> Option<u64> {
    name.strip_prefix("log-")?
        .strip_suffix(".wal")?
        .parse()
        .ok()
}

/// A frame's fixed head: its sequence number and the synced one.
pub(crate) const FRAME_HEAD: usize = 16;

/// A frame as recovery reads it.
pub(crate) struct Frame<'a> {
    pub(crate) seq: u64,
    pub(crate) synced: u64,
    pub(crate) body: &'a [u8],
    pub(crate) len: usize,
}

/// The frame at the front of `bytes`, or why there is none.
pub(crate) fn read_frame(bytes: &[u8]) -> Result<Frame<'_>, &'static str> {
    let (content, len) = format::read_record(bytes)?;
    let mut input = Get::new(content);
    let (Some(seq), Some(synced)) = (input.u64_le(), input.u64_le()) else {
        return Err("a frame is too short for its head");
    };
    Ok(Frame {
        seq,
        synced,
        body: input.rest,
        len,
    })
}

/// The file being appended to.
struct Tail {
    file: Arc<dyn FsFile>,
    path: PathBuf,
    /// Its length: where the next frame goes.
    len: u64,
    /// Where the zeros it is preallocated with end (at least `len`).
    reserved: u64,
    /// The sequence number of the next frame.
    next: u64,
}

/// The least and most a log file whose commits are fsynced grows by at a
/// time: a quarter of its length in between.
const RESERVE_MIN: u64 = 64 << 10;
const RESERVE_MAX: u64 = 4 << 20;

impl Tail {
    /// Preallocates room for `needed` more bytes if the file has none, so
    /// that the fsync of a commit flushes its bytes alone, not a new file
    /// size (with ext4, a journal commit: one more device write per
    /// commit). A file that could not be preallocated grows as it is
    /// written, which is only slower.
    fn make_room(&mut self, needed: u64) {
        let end = self.len + needed;
        if end <= self.reserved {
            return;
        }
        let from = self.reserved.max(self.len);
        let upto = end + (self.len / 4).clamp(RESERVE_MIN, RESERVE_MAX);
        if self.file.preallocate(from, upto - from).is_ok() {
            self.reserved = upto;
        }
    }
}

/// Who is fsyncing, and how far the log is known durable.
struct Syncing {
    busy: bool,
    /// The last commit the last fsync made durable.
    last_group: u64,
}

/// The log of one database: appends frames in commit order and makes them
/// durable as the sync policy says.
///
/// The log numbers the database's commits: a commit takes the database's next
/// sequence number as its frame goes in, under the log's lock, so frames are
/// in commit order and a frame's number is the commit's everywhere (change
/// feeds, snapshots). A commit is then published in that order: at once,
/// under the same lock, with `Never` and `Interval`; with `Always` once its
/// frame is on disk and every commit before it is published (its turn).
pub(crate) struct Log {
    dir: PathBuf,
    fs: Arc<dyn Fs>,
    policy: SyncPolicy,
    /// The database's commit order, which the log advances.
    clock: Arc<Clock>,
    tail: Mutex<Tail>,
    /// The file being appended to, for fsyncs, which must not wait for the
    /// tail's lock: a checkpoint holds it while waiting for commits to
    /// settle.
    file: Mutex<(Arc<dyn FsFile>, PathBuf)>,
    /// With `Always`: the last commit published; a commit on disk waits for
    /// it to reach the one before.
    turn: Mutex<u64>,
    turned: Condvar,
    syncing: Mutex<Syncing>,
    synced_now: Condvar,
    /// The last sequence number known to be on disk.
    synced: AtomicU64,
    /// The last sequence number handed to the OS.
    written: AtomicU64,
    /// Bytes appended since the last checkpoint.
    since_checkpoint: AtomicU64,
    /// Set by a failed fsync: every later write is refused.
    refused: AtomicBool,
    cause: Mutex<String>,
    /// The fsync that failed: the last commit in the log when it failed, and
    /// its error, which every commit up to there reports.
    failed: Mutex<Option<(u64, Error)>>,
    /// How many fsyncs made commits durable, for measurements.
    fsyncs: AtomicU64,
    /// The directory stays locked while any store can still log.
    _lock: DirLock,
}

fn io_error(action: &str, path: &Path, error: &std::io::Error) -> Error {
    Error::Io {
        action: format!("{action} {}", shown(path)),
        message: error.to_string(),
    }
}

/// Creates a new, empty log file for frames from `seq` on, durably.
fn create_file(fs: &dyn Fs, dir: &Path, seq: u64) -> Result<(Arc<dyn FsFile>, PathBuf), Error> {
    let path = join(dir, &file_name(seq));
    let file: Arc<dyn FsFile> = Arc::from(
        fs.create(&path)
            .map_err(|e| io_error("creating log file", &path, &e))?,
    );
    file.write_all(&format::header(format::LOG_MAGIC))
        .and_then(|()| file.sync())
        .and_then(|()| fs.sync_dir(dir))
        .map_err(|e| io_error("creating log file", &path, &e))?;
    Ok((file, path))
}

impl Log {
    /// A log continuing after commit `last` in a new file, numbering the
    /// commits of `clock` (which continues after `last` too).
    pub(crate) fn start(
        fs: Arc<dyn Fs>,
        dir: &Path,
        policy: SyncPolicy,
        (clock, last): (Arc<Clock>, u64),
        lock: DirLock,
    ) -> Result<Log, Error> {
        let (file, path) = create_file(&*fs, dir, last + 1)?;
        Ok(Log {
            dir: dir.to_path_buf(),
            fs,
            policy,
            clock,
            file: Mutex::new((Arc::clone(&file), path.clone())),
            turn: Mutex::new(last),
            turned: Condvar::new(),
            tail: Mutex::new(Tail {
                file,
                path,
                len: format::HEADER_LEN as u64,
                reserved: format::HEADER_LEN as u64,
                next: last + 1,
            }),
            syncing: Mutex::new(Syncing {
                busy: false,
                last_group: last,
            }),
            synced_now: Condvar::new(),
            synced: AtomicU64::new(last),
            written: AtomicU64::new(last),
            since_checkpoint: AtomicU64::new(0),
            refused: AtomicBool::new(false),
            cause: Mutex::new(String::new()),
            failed: Mutex::new(None),
            fsyncs: AtomicU64::new(0),
            _lock: lock,
        })
    }

    fn refusal(&self) -> Error {
        Error::WritesRefused {
            cause: self.cause.lock().clone(),
        }
    }

    fn refuse(&self, cause: String) {
        let mut held = self.cause.lock();
        if !self.refused.swap(true, Ordering::AcqRel) {
            *held = cause;
        }
    }

    /// Whether commits are acknowledged only once on disk.
    pub(crate) fn waits_for_disk(&self) -> bool {
        self.policy == SyncPolicy::Always
    }

    /// Logs a commit that changes no document (a store or an index made or
    /// dropped) and publishes it as the next commit, running `publish` to
    /// make the change visible (with `Always`, once on disk). The caller
    /// holds the writer lock of the store it changes (or, for a new store,
    /// the lock that keeps checkpoints out).
    pub(crate) fn log_change<R>(
        &self,
        body: &mut Body,
        publish: impl FnOnce() -> R,
    ) -> Result<R, Error> {
        let (published, seq) = if self.waits_for_disk() {
            let ((), seq) = self.commit(body, |_, _| ())?;
            (self.settle(seq, publish)?, seq)
        } else {
            self.commit(body, |_, _| publish())?
        };
        if self.clock.feed.is_active() {
            self.clock.feed.skip(seq);
        }
        Ok(published)
    }

    /// Hands one commit's frame to the OS as the database's next commit, and
    /// runs `apply` with its sequence number while no other frame can go in
    /// (so that the commits of different stores take numbers in the order
    /// of their frames). With `Never` and `Interval` the commit is published
    /// there (`apply` is told to publish, and the clock moves on); with
    /// `Always` `apply` must not publish: the caller makes the commit visible
    /// with [`settle`](Self::settle) once it released its locks.
    ///
    /// Fails, leaving no frame behind and not running `apply`, if the write
    /// fails. Returns `apply`'s result and the sequence number.
    pub(crate) fn commit<R>(
        &self,
        body: &mut Body,
        apply: impl FnOnce(u64, bool) -> R,
    ) -> Result<(R, u64), Error> {
        if self.refused.load(Ordering::Acquire) {
            return Err(self.refusal());
        }
        let visible = !self.waits_for_disk();
        {
            let mut guard = self.tail.lock();
            let tail = &mut *guard;
            let seq = tail.next;
            let frame = body.frame(seq, self.synced.load(Ordering::Acquire));
            let len = frame.len() as u64;
            // Not with `Never`: without fsyncs to spare a new file size, an
            // append into zeros costs the kernel as much as one that extends
            // the file (measured), and the zeros are only more bytes written.
            if self.policy != SyncPolicy::Never {
                tail.make_room(len);
            }
            if let Err(error) = tail.file.write_all(frame) {
                // Take back what part of the frame reached the file, so the
                // next frame follows the last whole one.
                if let Err(cut) = tail.file.set_len(tail.len) {
                    self.refuse(format!("cutting back a failed write: {cut}"));
                }
                tail.reserved = tail.len;
                return Err(io_error("appending to", &tail.path, &error));
            }
            tail.len += len;
            tail.next += 1;
            self.written.store(seq, Ordering::Release);
            self.since_checkpoint.fetch_add(len, Ordering::Relaxed);
            if visible {
                let result = self.clock.publish(seq, || apply(seq, true));
                return Ok((result, seq));
            }
            drop(guard);
            Ok((apply(seq, false), seq))
        }
    }

    /// With `Always`: waits until commit `seq`'s frame is on disk (sharing
    /// the fsync with the commits waiting meanwhile), then, once every commit
    /// before it is published, runs `publish` to make it visible and moves
    /// the clock on. Fails, running nothing, if the fsync fails: so do the
    /// commits after it, which may have built on it.
    pub(crate) fn settle<R>(&self, seq: u64, publish: impl FnOnce() -> R) -> Result<R, Error> {
        self.sync_to(seq)?;
        // Every commit before this one is on disk too, so none of them fails:
        // each takes its turn.
        let mut turn = self.turn.lock();
        while *turn + 1 < seq {
            self.turned.wait(&mut turn);
        }
        let result = self.clock.publish(seq, publish);
        *turn = seq;
        self.turned.notify_all();
        drop(turn);
        Ok(result)
    }

    /// Returns once every frame up to `seq` is on disk: fsyncs, or waits for
    /// the fsync another committer started, so that concurrent committers
    /// share one.
    pub(crate) fn sync_to(&self, seq: u64) -> Result<(), Error> {
        let mut syncing = self.syncing.lock();
        loop {
            if self.synced.load(Ordering::Acquire) >= seq {
                return Ok(());
            }
            if self.refused.load(Ordering::Acquire) {
                return Err(match &*self.failed.lock() {
                    Some((upto, error)) if seq <= *upto => error.clone(),
                    _ => self.refusal(),
                });
            }
            if !syncing.busy {
                break;
            }
            self.synced_now.wait(&mut syncing);
        }
        syncing.busy = true;
        let last_group = syncing.last_group;
        drop(syncing);
        if self.waits_for_disk() {
            // The committers the last fsync let go publish first (they need
            // nothing this thread holds): meanwhile the first of them write
            // their next frames, which this fsync then covers too.
            let mut turn = self.turn.lock();
            while *turn < last_group {
                self.turned.wait(&mut turn);
            }
        }
        let (file, path, upto) = {
            let file = self.file.lock();
            // Frames up to `written` are in this file or in earlier ones,
            // which a switch fsynced before this one became current.
            let upto = self.written.load(Ordering::Acquire);
            (Arc::clone(&file.0), file.1.clone(), upto)
        };
        let result = file.sync();
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        let mut syncing = self.syncing.lock();
        syncing.busy = false;
        let outcome = match result {
            Ok(()) => {
                syncing.last_group = upto;
                self.synced.fetch_max(upto, Ordering::AcqRel);
                Ok(())
            }
            Err(error) => {
                let error = io_error("fsyncing", &path, &error);
                // The commits already in the log were waiting for it too.
                let waiting = self.written.load(Ordering::Acquire).max(upto);
                *self.failed.lock() = Some((waiting, error.clone()));
                self.refuse(error.to_string());
                Err(error)
            }
        };
        self.synced_now.notify_all();
        drop(syncing);
        outcome?;
        if self.synced.load(Ordering::Acquire) >= seq {
            Ok(())
        } else {
            self.sync_to(seq)
        }
    }

    /// Makes every frame written so far durable.
    pub(crate) fn flush(&self) -> Result<(), Error> {
        if self.refused.load(Ordering::Acquire) {
            return Err(self.refusal());
        }
        self.sync_to(self.written.load(Ordering::Acquire))
    }

    /// Bytes appended since the last checkpoint.
    pub(crate) fn since_checkpoint(&self) -> u64 {
        self.since_checkpoint.load(Ordering::Relaxed)
    }

    /// How many fsyncs made commits durable so far.
    pub(crate) fn fsyncs(&self) -> u64 {
        self.fsyncs.load(Ordering::Relaxed)
    }

    /// Switches to a new log file at a cut: with no frame going in, makes
    /// the old files durable, waits until every commit in them is published,
    /// runs `cut` with the last one's sequence number (every store's state
    /// now holds exactly the commits up to it), then starts the new file.
    /// Writers wait meanwhile only to append; nothing else of theirs is held.
    pub(crate) fn switch<R>(&self, cut: impl FnOnce(u64) -> R) -> Result<(u64, R), Error> {
        if self.refused.load(Ordering::Acquire) {
            return Err(self.refusal());
        }
        let mut tail = self.tail.lock();
        let last = tail.next - 1;
        let synced = tail.file.sync();
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        {
            let _syncing = self.syncing.lock();
            match synced {
                Ok(()) => {
                    self.synced.fetch_max(last, Ordering::AcqRel);
                }
                Err(error) => {
                    let error = io_error("fsyncing", &tail.path, &error);
                    *self.failed.lock() = Some((last, error.clone()));
                    self.refuse(error.to_string());
                    self.synced_now.notify_all();
                    return Err(error);
                }
            }
            self.synced_now.notify_all();
        }
        if self.waits_for_disk() {
            // The commits on disk now publish in turn; none needs the tail.
            let mut turn = self.turn.lock();
            while *turn < last {
                self.turned.wait(&mut turn);
            }
        }
        let taken = cut(last);
        let (file, path) = create_file(&*self.fs, &self.dir, last + 1)?;
        *self.file.lock() = (Arc::clone(&file), path.clone());
        tail.file = file;
        tail.path = path;
        tail.len = format::HEADER_LEN as u64;
        tail.reserved = tail.len;
        self.since_checkpoint.store(0, Ordering::Relaxed);
        Ok((last, taken))
    }
}

/// Where a frame's body starts in a [`Body`]: after the room for its
/// record's length and checksum and for its head.
const BODY_START: usize = format::RECORD_HEAD + FRAME_HEAD;

/// Builds a frame: room for what the log fills in as it writes the frame
/// (its length, checksum, sequence number and the synced one), then the
/// body's operations. The frame is written from where it was built, so a
/// commit copies its operations once, not again after a head.
#[derive(Default)]
pub(crate) struct Body {
    /// Empty, or the room and then the operations.
    bytes: Vec<u8>,
}

impl Put for Body {
    fn bytes_mut(&mut self) -> &mut Vec<u8> {
        if self.bytes.is_empty() {
            self.bytes.resize(BODY_START, 0);
        }
        &mut self.bytes
    }
}

impl Body {
    /// Takes every operation off, keeping the buffer.
    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
    }

    /// How many bytes the buffer holds without growing.
    pub(crate) fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    /// The frame of commit `seq`, written when `synced` was the last
    /// commit known to be on disk.
    fn frame(&mut self, seq: u64, synced: u64) -> &[u8] {
        let bytes = self.bytes_mut();
        if let Some(head) = bytes.get_mut(format::RECORD_HEAD..BODY_START) {
            head[..8].copy_from_slice(&seq.to_le_bytes());
            head[8..].copy_from_slice(&synced.to_le_bytes());
        }
        format::seal(bytes);
        bytes
    }

    pub(crate) fn store(&mut self, store: &str, kind: Kind) {
        self.u8(OP_STORE);
        self.blob(store.as_bytes());
        self.u8(kind.code());
    }

    /// Starts a write of document `id`; the caller appends the document with
    /// [`document`](Self::document).
    pub(crate) fn put(&mut self, store: &str, id: Id, version: u64) {
        self.u8(OP_PUT);
        self.blob(store.as_bytes());
        self.id(id);
        self.varint(version);
    }

    /// Appends a document's bytes, length first.
    pub(crate) fn document(&mut self, bytes: &[u8]) {
        self.blob(bytes);
    }

    pub(crate) fn delete(&mut self, store: &str, id: Id) {
        self.u8(OP_DELETE);
        self.blob(store.as_bytes());
        self.id(id);
    }

    pub(crate) fn create_index(&mut self, store: &str, info: &IndexInfo) {
        self.u8(OP_CREATE_INDEX);
        self.blob(store.as_bytes());
        IndexImage::of(info).put(self.bytes_mut());
    }

    pub(crate) fn drop_index(&mut self, store: &str, name: &str) {
        self.u8(OP_DROP_INDEX);
        self.blob(store.as_bytes());
        self.blob(name.as_bytes());
    }

    /// Sets (or, with `None`, takes off) document `id`'s deadline.
    pub(crate) fn deadline(&mut self, store: &str, id: Id, at: Option<u64>) {
        self.u8(OP_DEADLINE);
        self.blob(store.as_bytes());
        self.id(id);
        self.varint(at.map_or(0, |at| at.saturating_add(1)));
    }
}

#[cfg(test)]
mod tests {
    use super::{Body, Op, format, ops, read_frame};
    use crate::Id;
    use crate::durable::format::Put;

    #[test]
    fn a_frame_built_in_place_is_the_record_of_its_head_and_body() {
        let id = Id::from_u128(7);
        let mut body = Body::default();
        body.put("users", id, 3);
        body.document(b"document bytes");
        body.delete("users", id);
        let built = body.frame(41, 40).to_vec();

        // What format version 1 writes: a record of the head, then the body.
        let mut ops_only = Body::default();
        ops_only.put("users", id, 3);
        ops_only.document(b"document bytes");
        ops_only.delete("users", id);
        let operations = ops_only.bytes_mut()[super::BODY_START..].to_vec();
        let mut head = 41u64.to_le_bytes().to_vec();
        head.extend_from_slice(&40u64.to_le_bytes());
        let mut expected = Vec::new();
        format::record(&mut expected, &head, &operations);
        assert_eq!(built, expected);

        let frame = read_frame(&built).expect("a whole frame");
        assert_eq!((frame.seq, frame.synced, frame.len), (41, 40, built.len()));
        let read = ops(frame.body).expect("well-formed operations");
        assert!(matches!(
            read.as_slice(),
            [
                Op::Put { store: "users", id: put, version: 3, document: b"document bytes" },
                Op::Delete { store: "users", id: deleted },
            ] if *put == id && *deleted == id
        ));
    }

    #[test]
    fn a_cleared_body_is_reused_for_the_next_frame_and_an_empty_one_is_a_frame_too() {
        let mut body = Body::default();
        body.delete("s", Id::from_u128(1));
        body.frame(1, 0);
        body.clear();
        let empty = body.frame(2, 1).to_vec();
        let frame = read_frame(&empty).expect("a whole frame");
        assert_eq!((frame.seq, frame.synced), (2, 1));
        assert!(frame.body.is_empty());
    }
}
