//! The bytes every durable file shares: the header (magic and format
//! version), checksums, and the little-endian varints bodies are made of.
//!
//! Format version 1. Every later release must keep reading it: a new version
//! gets a new number and a reader of its own next to this one.

use crate::{Error, Id};

/// The format version this release writes.
pub(crate) const VERSION: u32 = 1;
/// Magic of a log file.
pub(crate) const LOG_MAGIC: [u8; 8] = *b"DOCSTLOG";
/// Magic of a checkpoint file.
pub(crate) const CHECKPOINT_MAGIC: [u8; 8] = *b"DOCSTCKP";
/// Magic, version and a checksum of both.
pub(crate) const HEADER_LEN: usize = 16;

/// The header of a file of this kind.
pub(crate) fn header(magic: [u8; 8]) -> [u8; HEADER_LEN] {
    let mut header = [0; HEADER_LEN];
    header[..8].copy_from_slice(&magic);
    header[8..12].copy_from_slice(&VERSION.to_le_bytes());
    let crc = crc32c::crc32c(&header[..12]);
    header[12..].copy_from_slice(&crc.to_le_bytes());
    header
}

/// Why a header is not one this release reads.
pub(crate) enum BadHeader {
    /// Too short to hold one: a file cut before its header reached the disk.
    Short,
    /// Damaged, or some other kind of file.
    Error(Error),
}

/// Checks the header of `file`'s `bytes`.
pub(crate) fn check_header(bytes: &[u8], magic: [u8; 8], file: &str) -> Result<(), BadHeader> {
    let Some(header) = bytes.get(..HEADER_LEN) else {
        return Err(BadHeader::Short);
    };
    if header[..8] != magic {
        return Err(BadHeader::Error(Error::UnknownFormat {
            file: file.to_owned(),
            found: format!("magic {:?}, not a docstore file of this kind", &header[..8]),
        }));
    }
    let crc = u32::from_le_bytes([header[12], header[13], header[14], header[15]]);
    if crc != crc32c::crc32c(&header[..12]) {
        return Err(BadHeader::Error(Error::Corrupt {
            file: file.to_owned(),
            offset: 0,
            reason: "the header's checksum does not match".to_owned(),
        }));
    }
    let version = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    if version != VERSION {
        return Err(BadHeader::Error(Error::UnknownFormat {
            file: file.to_owned(),
            found: format!("format version {version}; this release reads version {VERSION}"),
        }));
    }
    Ok(())
}

/// Writes a body.
pub(crate) trait Put {
    fn bytes_mut(&mut self) -> &mut Vec<u8>;

    fn u8(&mut self, n: u8) {
        self.bytes_mut().push(n);
    }

    fn varint(&mut self, mut n: u64) {
        let out = self.bytes_mut();
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }

    fn blob(&mut self, bytes: &[u8]) {
        self.varint(bytes.len() as u64);
        self.bytes_mut().extend_from_slice(bytes);
    }

    fn id(&mut self, id: Id) {
        self.bytes_mut().extend_from_slice(&id.to_bytes());
    }
}

impl Put for Vec<u8> {
    fn bytes_mut(&mut self) -> &mut Vec<u8> {
        self
    }
}

/// Reads a body; every read is `None` past the end or on malformed bytes.
pub(crate) struct Get<'a> {
    pub(crate) rest: &'a [u8],
}

impl<'a> Get<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Get { rest: bytes }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        let (&first, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(first)
    }

    pub(crate) fn varint(&mut self) -> Option<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            n |= u64::from(byte & 0x7F).checked_shl(shift)?;
            if byte & 0x80 == 0 {
                return Some(n);
            }
        }
        None
    }

    pub(crate) fn u64_le(&mut self) -> Option<u64> {
        let (bytes, rest) = self.rest.split_first_chunk::<8>()?;
        self.rest = rest;
        Some(u64::from_le_bytes(*bytes))
    }

    pub(crate) fn blob(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        let (blob, rest) = self.rest.split_at_checked(len)?;
        self.rest = rest;
        Some(blob)
    }

    pub(crate) fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.blob()?).ok()
    }

    pub(crate) fn id(&mut self) -> Option<Id> {
        let (bytes, rest) = self.rest.split_first_chunk::<16>()?;
        self.rest = rest;
        Some(Id::from_u128(u128::from_be_bytes(*bytes)))
    }
}

/// Appends a checksummed record: its length, a CRC32C of what follows the
/// checksum, then `head` and `body`.
pub(crate) fn record(out: &mut Vec<u8>, head: &[u8], body: &[u8]) {
    let start = out.len();
    out.reserve(RECORD_HEAD + head.len() + body.len());
    out.extend_from_slice(&[0; RECORD_HEAD]);
    out.extend_from_slice(head);
    out.extend_from_slice(body);
    if let Some(record) = out.get_mut(start..) {
        seal(record);
    }
}

/// Room for a record's length and checksum, before its content.
pub(crate) const RECORD_HEAD: usize = 8;

/// Makes `record` (the room [`RECORD_HEAD`] leaves, then the content) a
/// checksummed record by filling in that room: what lets a frame be built
/// where it is written from, not copied after its head.
pub(crate) fn seal(record: &mut [u8]) {
    let Some((len_slot, rest)) = record.split_first_chunk_mut::<4>() else {
        return;
    };
    let Some((crc_slot, content)) = rest.split_first_chunk_mut::<4>() else {
        return;
    };
    *len_slot = u32::try_from(content.len())
        .unwrap_or(u32::MAX)
        .to_le_bytes();
    // Checksummed once the content is in place: one pass over contiguous
    // bytes, not one over the head and another over the body, takes a third
    // of the instructions off every frame a commit writes.
    *crc_slot = crc32c::crc32c(content).to_le_bytes();
}

/// Records longer than this are damage, not data.
pub(crate) const MAX_RECORD: usize = 1 << 30;

/// The record at the front of `bytes`: its content (what followed the
/// checksum) and its whole length; why not, if it is cut short or fails its
/// checksum.
pub(crate) fn read_record(bytes: &[u8]) -> Result<(&[u8], usize), &'static str> {
    let Some((len, rest)) = bytes.split_first_chunk::<4>() else {
        return Err("a record is cut short");
    };
    let len = u32::from_le_bytes(*len) as usize;
    if len > MAX_RECORD {
        return Err("a record's length is implausible");
    }
    let Some((crc, rest)) = rest.split_first_chunk::<4>() else {
        return Err("a record is cut short");
    };
    let Some(content) = rest.get(..len) else {
        return Err("a record is cut short");
    };
    if u32::from_le_bytes(*crc) != crc32c::crc32c(content) {
        return Err("a record fails its checksum");
    }
    Ok((content, 8 + len))
}

#[cfg(test)]
mod tests {
    use super::{read_record, record};

    #[test]
    fn a_record_checksums_its_head_and_body_as_format_version_1_does() {
        let mut out = b"earlier records".to_vec();
        let start = out.len();
        record(&mut out, b"head", b"and its body");
        let written = &out[start..];
        let expected = crc32c::crc32c_append(crc32c::crc32c(b"head"), b"and its body");
        assert_eq!(written[..4], 16u32.to_le_bytes());
        assert_eq!(written[4..8], expected.to_le_bytes());
        assert_eq!(read_record(written), Ok((&b"headand its body"[..], 24)));
    }

    #[test]
    fn records_appended_one_after_another_read_back_in_order() {
        let mut out = Vec::new();
        record(&mut out, &[], b"first");
        record(&mut out, b"h", b"second");
        let (first, len) = read_record(&out).expect("first record");
        assert_eq!(first, b"first");
        assert_eq!(read_record(&out[len..]), Ok((&b"hsecond"[..], 15)));
    }
}
