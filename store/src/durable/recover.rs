//! Opening a durable database's files: the newest complete checkpoint, then
//! the log after it, in order; a torn tail cut and reported, damage where the
//! log was known to be on disk refused (or, if asked, cut and reported).

use std::collections::BTreeMap;
use std::path::Path;

use super::checkpoint;
use super::format::{self, BadHeader};
use super::fs::{Fs, join, shown};
use super::wal::{self, IndexImage, Kind, Op};
use crate::{Error, Id, Result};

/// One store as the files hold it.
pub(crate) struct StoreImage {
    pub(crate) kind: Kind,
    /// Schemaless stores' index definitions (typed ones come from the type).
    pub(crate) indexes: Vec<IndexImage>,
    /// Each document's version and stored bytes.
    pub(crate) docs: BTreeMap<Id, (u64, Box<[u8]>)>,
    /// The documents' deadlines (µs since the epoch).
    pub(crate) deadlines: BTreeMap<Id, u64>,
}

impl StoreImage {
    pub(crate) fn new(kind: Kind) -> StoreImage {
        StoreImage {
            kind,
            indexes: Vec::new(),
            docs: BTreeMap::new(),
            deadlines: BTreeMap::new(),
        }
    }
}

/// Every store as the files hold them.
#[derive(Default)]
pub(crate) struct Image {
    pub(crate) stores: BTreeMap<String, StoreImage>,
}

impl Image {
    /// Applies one frame's operations; `None` if they do not fit the image.
    fn apply(&mut self, ops: Vec<Op<'_>>) -> Option<()> {
        for op in ops {
            match op {
                Op::Store { store, kind } => {
                    self.stores
                        .entry(store.to_owned())
                        .or_insert_with(|| StoreImage::new(kind));
                }
                Op::Put {
                    store,
                    id,
                    version,
                    document,
                } => {
                    self.stores
                        .get_mut(store)?
                        .docs
                        .insert(id, (version, document.into()));
                }
                Op::Delete { store, id } => {
                    let store = self.stores.get_mut(store)?;
                    store.docs.remove(&id);
                    store.deadlines.remove(&id);
                }
                Op::Deadline { store, id, at } => {
                    let store = self.stores.get_mut(store)?;
                    match at {
                        Some(at) if store.docs.contains_key(&id) => {
                            store.deadlines.insert(id, at);
                        }
                        _ => {
                            store.deadlines.remove(&id);
                        }
                    }
                }
                Op::CreateIndex { store, index } => {
                    let indexes = &mut self.stores.get_mut(store)?.indexes;
                    indexes.retain(|known| known.name != index.name);
                    indexes.push(index);
                }
                Op::DropIndex { store, name } => {
                    self.stores
                        .get_mut(store)?
                        .indexes
                        .retain(|known| known.name != name);
                }
            }
        }
        Some(())
    }
}

/// What [`DurableDb::open`](crate::DurableDb::open) found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// The sequence number of the checkpoint it started from, if any.
    pub checkpoint: Option<u64>,
    /// How many commits it replayed from the log after the checkpoint.
    pub replayed: u64,
    /// The sequence number of the last commit recovered.
    pub last_seq: u64,
    /// What it cut off the end of the log, if anything.
    pub cut: Option<Cut>,
}

/// Bytes cut off a log on open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// The log file.
    pub file: String,
    /// Where the first bad frame began; the file now ends here.
    pub offset: u64,
    /// How many bytes were cut, in this file and any after it.
    pub bytes: u64,
    /// What was wrong with the first bad frame.
    pub reason: String,
    /// Whether the bad frame was in the part of the log known to be on disk
    /// (corruption, cut because repair was asked), rather than a torn tail
    /// written after the last fsync.
    pub repaired: bool,
}

fn io(action: &str, path: &Path, error: &std::io::Error) -> Error {
    Error::Io {
        action: format!("{action} {}", shown(path)),
        message: error.to_string(),
    }
}

/// Reads `dir`'s files into an image of every store.
pub(crate) fn recover(fs: &dyn Fs, dir: &Path, repair: bool) -> Result<(Image, Recovery)> {
    let names = fs.list(dir).map_err(|e| io("listing", dir, &e))?;
    let mut checkpoints = Vec::new();
    let mut logs = Vec::new();
    for name in &names {
        if name.ends_with(".tmp") {
            // A checkpoint that never completed.
            let path = join(dir, name);
            fs.remove(&path).map_err(|e| io("removing", &path, &e))?;
        } else if let Some(seq) = checkpoint::parse_name(name) {
            checkpoints.push(seq);
        } else if let Some(seq) = wal::parse_name(name) {
            logs.push(seq);
        }
    }
    checkpoints.sort_unstable();
    logs.sort_unstable();

    let mut report = Recovery::default();
    let mut image = Image::default();
    let mut last = 0;
    while let Some(seq) = checkpoints.pop() {
        let path = join(dir, &checkpoint::file_name(seq));
        match checkpoint::read(fs, &path) {
            Ok((read_seq, read)) if read_seq == seq => {
                image = read;
                last = seq;
                report.checkpoint = Some(seq);
                break;
            }
            Ok(_) => {
                let error = Error::Corrupt {
                    file: shown(&path),
                    offset: format::HEADER_LEN as u64,
                    reason: "its sequence number does not match its name".to_owned(),
                };
                if !repair {
                    return Err(error);
                }
            }
            Err(error) => {
                if !repair {
                    return Err(error);
                }
            }
        }
    }

    // Commits up to this one are known to be on disk.
    let mut synced = last;
    let mut cut: Option<Cut> = None;
    let count = logs.len();
    for (position, &first) in logs.iter().enumerate() {
        let path = join(dir, &wal::file_name(first));
        let file = shown(&path);
        if let Some(cut) = &mut cut {
            // After a cut, later files go aside, kept for inspection.
            let bytes = fs.read(&path).map_err(|e| io("reading", &path, &e))?;
            cut.bytes += bytes.len() as u64;
            let aside = join(dir, &format!("{}.damaged", wal::file_name(first)));
            fs.rename(&path, &aside)
                .map_err(|e| io("renaming", &path, &e))?;
            continue;
        }
        let is_last = position + 1 == count;
        let bytes = fs.read(&path).map_err(|e| io("reading", &path, &e))?;
        match format::check_header(&bytes, format::LOG_MAGIC, &file) {
            Ok(()) => {}
            // A header alone that fails its checks, at the end: the machine
            // stopped while the file was being made (a header is fsynced
            // before any frame is written).
            Err(BadHeader::Error(_)) if is_last && bytes.len() <= format::HEADER_LEN => {
                fs.remove(&path).map_err(|e| io("removing", &path, &e))?;
                continue;
            }
            Err(BadHeader::Short) if is_last => {
                // Created, then the machine stopped before its header was
                // on disk: it holds no commit.
                fs.remove(&path).map_err(|e| io("removing", &path, &e))?;
                continue;
            }
            Err(BadHeader::Short) => {
                return Err(Error::Corrupt {
                    file,
                    offset: 0,
                    reason: "the file is too short for its header".to_owned(),
                });
            }
            Err(BadHeader::Error(error)) => return Err(error),
        }
        if first > last + 1 {
            let error = Error::Corrupt {
                file: file.clone(),
                offset: format::HEADER_LEN as u64,
                reason: format!(
                    "commits {} to {} are missing before it (a log file was lost)",
                    last + 1,
                    first - 1
                ),
            };
            if !repair {
                return Err(error);
            }
            cut = Some(Cut {
                file,
                offset: 0,
                bytes: bytes.len() as u64,
                reason: error.to_string(),
                repaired: true,
            });
            let aside = join(dir, &format!("{}.damaged", wal::file_name(first)));
            fs.rename(&path, &aside)
                .map_err(|e| io("renaming", &path, &e))?;
            continue;
        }
        let mut offset = format::HEADER_LEN;
        while offset < bytes.len() {
            let problem = match wal::read_frame(&bytes[offset..]) {
                Ok(frame) if frame.seq <= last => {
                    // Already in the checkpoint (or a duplicate).
                    offset += frame.len;
                    synced = synced.max(frame.synced);
                    continue;
                }
                Ok(frame) if frame.seq != last + 1 => "a frame is out of sequence",
                Ok(frame) => match wal::ops(frame.body).and_then(|ops| image.apply(ops)) {
                    Some(()) => {
                        last = frame.seq;
                        report.replayed += 1;
                        synced = synced.max(frame.synced);
                        offset += frame.len;
                        continue;
                    }
                    None => "a frame's operations are malformed",
                },
                Err(why) => why,
            };
            if bytes[offset..].iter().all(|&byte| byte == 0) {
                // The zeros a log file is preallocated with: no frame was
                // written here. A file after this one must begin with
                // commit `last + 1`, so no commit can hide in them.
                break;
            }
            // The frame at `offset` would have been commit `last + 1`. It
            // was known to be on disk if a frame before it, or a whole frame
            // found after the damage, says so.
            let torn = is_last && last + 1 > synced && !claimed_after(&bytes[offset..], last + 1);
            if !torn && !repair {
                return Err(Error::Corrupt {
                    file,
                    offset: offset as u64,
                    reason: problem.to_owned(),
                });
            }
            cut = Some(Cut {
                file: file.clone(),
                offset: offset as u64,
                bytes: (bytes.len() - offset) as u64,
                reason: problem.to_owned(),
                repaired: !torn,
            });
            break;
        }
        if is_last || cut.is_some() {
            // Cut to the last whole frame, and make what stays durable: the
            // frames written after this open will claim it is.
            fs.truncate(&path, offset as u64)
                .map_err(|e| io("truncating", &path, &e))?;
        }
    }
    report.last_seq = last;
    report.cut = cut;
    Ok((image, report))
}

/// How far past a bad frame recovery looks for a whole frame that says the
/// bad one was on disk.
const SCAN_AHEAD: usize = 16 << 20;

/// Whether some whole frame after the start of `rest` (where a bad frame
/// begins) says commit `seq` was known to be on disk when it was written.
fn claimed_after(rest: &[u8], seq: u64) -> bool {
    let end = rest.len().min(SCAN_AHEAD);
    (1..end).any(|at| {
        wal::read_frame(&rest[at..]).is_ok_and(|frame| frame.synced >= seq && frame.seq > seq)
    })
}
