//! Checkpoints: the whole state at one commit, written in the background to
//! a temporary file, fsynced, renamed into place, the directory fsynced;
//! then the log before it is removed.
//!
//! A checkpoint file is `checkpoint-<seq, 20 digits>.ckpt`: a header, then
//! records (see `format`), each one a tag and a body:
//!
//! | tag | record | fields |
//! |-----|--------|--------|
//! | 1 | begin | the commit it holds everything up to (u64) |
//! | 2 | store | name, kind, index count, index definitions |
//! | 3 | documents of the last store | count, then id, version, document each |
//! | 4 | end | store count, document count |
//! | 5 | deadlines of the last store | count, then id, deadline (µs since the epoch) each |
//!
//! A file without its end record, or with anything after it, is damaged.

use std::path::Path;

use super::format::{self, BadHeader, Get, Put};
use super::fs::{Fs, FsFile, join, shown};
use super::recover::{Image, StoreImage};
use super::wal::{self, IndexImage, Kind};
use crate::{Error, Id, Result};

const BEGIN: u8 = 1;
const STORE: u8 = 2;
const DOCS: u8 = 3;
const END: u8 = 4;
const DEADLINES: u8 = 5;

/// Documents records are cut at about this many bytes.
const CHUNK: usize = 1 << 20;

/// The name of the checkpoint holding every commit up to `seq`.
pub(crate) fn file_name(seq: u64) -> String {
    format!("checkpoint-{seq:020}.ckpt")
}

/// The commit a checkpoint holds everything up to, from its name.
pub(crate) fn parse_name(name: &str) -> Option<u64> {
    name.strip_prefix("checkpoint-")?
        .strip_suffix(".ckpt")?
        .parse()
        .ok()
}

fn io(action: &str, path: &Path, error: &std::io::Error) -> Error {
    Error::Io {
        action: format!("{action} {}", shown(path)),
        message: error.to_string(),
    }
}

/// Writes a checkpoint's records.
pub(crate) struct Writer<'a> {
    file: &'a dyn FsFile,
    path: &'a Path,
    pending: Vec<u8>,
    docs: Vec<u8>,
    doc_count: u64,
    chunk_count: u64,
    stores: u64,
}

impl Writer<'_> {
    fn record(&mut self, body: &[u8]) -> Result<()> {
        format::record(&mut self.pending, &[], body);
        if self.pending.len() >= CHUNK {
            self.write_out()?;
        }
        Ok(())
    }

    fn write_out(&mut self) -> Result<()> {
        self.file
            .write_all(&self.pending)
            .map_err(|e| io("writing checkpoint", self.path, &e))?;
        self.pending.clear();
        Ok(())
    }

    fn end_docs(&mut self) -> Result<()> {
        if self.chunk_count > 0 {
            let mut body = vec![DOCS];
            body.varint(self.chunk_count);
            body.extend_from_slice(&self.docs);
            self.record(&body)?;
            self.docs.clear();
            self.chunk_count = 0;
        }
        Ok(())
    }

    /// Starts a store; its documents follow.
    pub(crate) fn store(&mut self, name: &str, kind: Kind, indexes: &[IndexImage]) -> Result<()> {
        self.end_docs()?;
        let mut body = vec![STORE];
        body.blob(name.as_bytes());
        body.u8(kind.code());
        body.varint(indexes.len() as u64);
        for index in indexes {
            index.put(&mut body);
        }
        self.stores += 1;
        self.record(&body)
    }

    /// Adds a document of the current store, written by `encode`.
    pub(crate) fn document(
        &mut self,
        id: Id,
        version: u64,
        encode: impl FnOnce(&mut dyn FnMut(&[u8])) -> Result<()>,
    ) -> Result<()> {
        let docs = &mut self.docs;
        encode(&mut |bytes| {
            docs.id(id);
            docs.varint(version);
            docs.blob(bytes);
        })?;
        self.doc_count += 1;
        self.chunk_count += 1;
        if self.docs.len() >= CHUNK {
            self.end_docs()?;
        }
        Ok(())
    }

    /// Adds the deadlines of the current store, after its documents.
    pub(crate) fn deadlines(&mut self, deadlines: &[(Id, u64)]) -> Result<()> {
        self.end_docs()?;
        for chunk in deadlines.chunks(CHUNK / 32) {
            let mut body = vec![DEADLINES];
            body.varint(chunk.len() as u64);
            for (id, at) in chunk {
                body.id(*id);
                body.varint(*at);
            }
            self.record(&body)?;
        }
        Ok(())
    }
}

/// What a checkpoint writes of one store: taken under the store's writer
/// lock in O(1), written later with no lock held.
pub(crate) trait Captured: Send {
    fn write(&self, out: &mut Writer<'_>) -> Result<()>;
}

/// Writes the checkpoint of commit `seq` from `stores`, then removes the log
/// files and checkpoints it replaces.
pub(crate) fn write(
    fs: &dyn Fs,
    dir: &Path,
    seq: u64,
    stores: &[Box<dyn Captured + '_>],
) -> Result<()> {
    let name = file_name(seq);
    let tmp = join(dir, &format!("{name}.tmp"));
    let path = join(dir, &name);
    let file = fs
        .create(&tmp)
        .map_err(|e| io("creating checkpoint", &tmp, &e))?;
    let mut writer = Writer {
        file: &*file,
        path: &tmp,
        pending: format::header(format::CHECKPOINT_MAGIC).to_vec(),
        docs: Vec::new(),
        doc_count: 0,
        chunk_count: 0,
        stores: 0,
    };
    let mut begin = vec![BEGIN];
    begin.extend_from_slice(&seq.to_le_bytes());
    writer.record(&begin)?;
    for store in stores {
        store.write(&mut writer)?;
    }
    writer.end_docs()?;
    let mut end = vec![END];
    end.varint(writer.stores);
    end.varint(writer.doc_count);
    writer.record(&end)?;
    writer.write_out()?;
    file.sync()
        .map_err(|e| io("fsyncing checkpoint", &tmp, &e))?;
    drop(file);
    fs.rename(&tmp, &path)
        .and_then(|()| fs.sync_dir(dir))
        .map_err(|e| io("renaming checkpoint", &tmp, &e))?;
    // The checkpoint is durable: what it replaces can go.
    let names = fs.list(dir).map_err(|e| io("listing", dir, &e))?;
    for old in names {
        let replaced = wal::parse_name(&old).is_some_and(|first| first <= seq)
            || parse_name(&old).is_some_and(|other| other < seq);
        if replaced {
            let old = join(dir, &old);
            fs.remove(&old).map_err(|e| io("removing", &old, &e))?;
        }
    }
    fs.sync_dir(dir).map_err(|e| io("fsyncing", dir, &e))
}

/// The store that the latest `STORE` record named: where the `DOCS` and
/// `DEADLINES` records after it belong. None before any store's record.
fn current_store<'a>(image: &'a mut Image, current: &Option<String>) -> Option<&'a mut StoreImage> {
    current.as_ref().and_then(|name| image.stores.get_mut(name))
}

/// Reads a checkpoint: the commit it holds everything up to, and the stores.
pub(crate) fn read(fs: &dyn Fs, path: &Path) -> Result<(u64, Image)> {
    let file = shown(path);
    let bytes = fs.read(path).map_err(|e| io("reading", path, &e))?;
    let corrupt = |offset: usize, reason: &str| Error::Corrupt {
        file: file.clone(),
        offset: offset as u64,
        reason: reason.to_owned(),
    };
    match format::check_header(&bytes, format::CHECKPOINT_MAGIC, &file) {
        Ok(()) => {}
        Err(BadHeader::Short) => return Err(corrupt(0, "the file is too short for its header")),
        Err(BadHeader::Error(error)) => return Err(error),
    }
    let mut offset = format::HEADER_LEN;
    let mut image = Image::default();
    let mut seq = None;
    let mut current: Option<String> = None;
    let mut doc_count = 0u64;
    loop {
        let (content, len) =
            format::read_record(&bytes[offset..]).map_err(|why| corrupt(offset, why))?;
        let malformed = || corrupt(offset, "a record is malformed");
        let mut input = Get::new(content);
        match (input.u8(), seq) {
            (Some(BEGIN), None) => seq = Some(input.u64_le().ok_or_else(malformed)?),
            (Some(STORE), Some(_)) => {
                let name = input.str().ok_or_else(malformed)?.to_owned();
                let kind = input.u8().and_then(Kind::from_code).ok_or_else(malformed)?;
                let count = input.varint().ok_or_else(malformed)?;
                let mut store = StoreImage::new(kind);
                for _ in 0..count {
                    store
                        .indexes
                        .push(IndexImage::get(&mut input).ok_or_else(malformed)?);
                }
                image.stores.insert(name.clone(), store);
                current = Some(name);
            }
            (Some(DOCS), Some(_)) => {
                let store = current_store(&mut image, &current).ok_or_else(malformed)?;
                let count = input.varint().ok_or_else(malformed)?;
                for _ in 0..count {
                    let id = input.id().ok_or_else(malformed)?;
                    let version = input.varint().ok_or_else(malformed)?;
                    let document = input.blob().ok_or_else(malformed)?;
                    store.docs.insert(id, (version, document.into()));
                    doc_count += 1;
                }
            }
            (Some(DEADLINES), Some(_)) => {
                let store = current_store(&mut image, &current).ok_or_else(malformed)?;
                let count = input.varint().ok_or_else(malformed)?;
                for _ in 0..count {
                    let id = input.id().ok_or_else(malformed)?;
                    let at = input.varint().ok_or_else(malformed)?;
                    store.deadlines.insert(id, at);
                }
            }
            (Some(END), Some(seq)) => {
                let stores = input.varint().ok_or_else(malformed)?;
                let docs = input.varint().ok_or_else(malformed)?;
                if stores != image.stores.len() as u64 || docs != doc_count {
                    return Err(corrupt(offset, "its counts do not match its content"));
                }
                if offset + len != bytes.len() {
                    return Err(corrupt(offset + len, "bytes follow its end"));
                }
                return Ok((seq, image));
            }
            _ => return Err(malformed()),
        }
        if !input.is_empty() {
            return Err(corrupt(offset, "a record is longer than its content"));
        }
        offset += len;
        if offset >= bytes.len() {
            return Err(corrupt(offset, "the file ends before its end record"));
        }
    }
}
