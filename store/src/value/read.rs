//! Reading the tape. Every function returns `None` on malformed bytes rather
//! than panicking, and none allocates.

use std::str;

use super::{ArrayRef, MAX_VARINT_LEN, Num, ObjectRef, ValueRef, tag};

/// Decodes the LEB128 varint at the front of `bytes`; returns it and the rest.
#[inline]
fn read_varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    // Nearly every length and count fits in one byte; keep that path tiny so it
    // inlines into field lookup.
    match bytes.split_first() {
        Some((&byte, rest)) if byte < 0x80 => Some((u64::from(byte), rest)),
        _ => read_long_varint(bytes),
    }
}

#[cold]
fn read_long_varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut n = 0;
    for (i, &byte) in bytes.iter().enumerate().take(MAX_VARINT_LEN) {
        n |= u64::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((n, bytes.get(i + 1..)?));
        }
    }
    None
}

#[inline]
pub(super) fn read_len(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let (n, rest) = read_varint(bytes)?;
    Some((usize::try_from(n).ok()?, rest))
}

/// Splits a length-prefixed byte string (key, long string or container body) off
/// the front of `bytes`.
#[inline]
pub(super) fn read_prefixed(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = read_len(bytes)?;
    rest.split_at_checked(len)
}

/// Reads the payload of an integer whose width is in the low bits of `tag`.
fn read_uint(bytes: &[u8], tag: u8) -> Option<(u64, &[u8])> {
    let (payload, rest) = bytes.split_at_checked(1 << (tag & 3))?;
    let mut le_bytes = [0; 8];
    for (to, from) in le_bytes.iter_mut().zip(payload) {
        *to = *from;
    }
    Some((u64::from_le_bytes(le_bytes), rest))
}

/// Decodes the value at the front of `bytes`; returns it and the bytes after it.
#[inline]
pub(super) fn decode(bytes: &[u8]) -> Option<(ValueRef<'_>, &[u8])> {
    let (&lead, rest) = bytes.split_first()?;
    Some(match lead {
        tag::SMALL_INT..=u8::MAX => (
            ValueRef::Number(Num::PosInt(u64::from(lead - tag::SMALL_INT))),
            rest,
        ),
        tag::SHORT_STRING..=tag::SHORT_STRING_LAST => {
            let (s, rest) = rest.split_at_checked(usize::from(lead - tag::SHORT_STRING))?;
            (ValueRef::String(str::from_utf8(s).ok()?), rest)
        }
        tag::NULL => (ValueRef::Null, rest),
        tag::FALSE => (ValueRef::Bool(false), rest),
        tag::TRUE => (ValueRef::Bool(true), rest),
        tag::POS_INT..=tag::POS_INT_LAST => {
            let (n, rest) = read_uint(rest, lead)?;
            (ValueRef::Number(Num::PosInt(n)), rest)
        }
        tag::NEG_INT..=tag::NEG_INT_LAST => {
            let (n, rest) = read_uint(rest, lead)?;
            (ValueRef::Number(Num::NegInt(!i64::try_from(n).ok()?)), rest)
        }
        tag::F32 => {
            let (le_bytes, rest) = rest.split_first_chunk()?;
            (
                ValueRef::Number(Num::Float(f32::from_le_bytes(*le_bytes).into())),
                rest,
            )
        }
        tag::F64 => {
            let (le_bytes, rest) = rest.split_first_chunk()?;
            (
                ValueRef::Number(Num::Float(f64::from_le_bytes(*le_bytes))),
                rest,
            )
        }
        tag::STRING => {
            let (s, rest) = read_prefixed(rest)?;
            (ValueRef::String(str::from_utf8(s).ok()?), rest)
        }
        tag::ARRAY => {
            let (body, rest) = read_prefixed(rest)?;
            let (len, items) = read_len(body)?;
            (ValueRef::Array(ArrayRef { len, items }), rest)
        }
        tag::OBJECT => {
            let (body, rest) = read_prefixed(rest)?;
            (ValueRef::Object(ObjectRef::from_body(body)?), rest)
        }
        _ => return None,
    })
}

/// Returns the bytes after the value at the front of `bytes`, without decoding
/// (or validating) it.
#[inline]
pub(super) fn skip(bytes: &[u8]) -> Option<&[u8]> {
    let (&lead, rest) = bytes.split_first()?;
    let payload_len = match lead {
        tag::NULL | tag::FALSE | tag::TRUE | tag::SMALL_INT..=u8::MAX => 0,
        tag::POS_INT..=tag::POS_INT_LAST | tag::NEG_INT..=tag::NEG_INT_LAST => 1 << (lead & 3),
        tag::F32 => 4,
        tag::F64 => 8,
        tag::SHORT_STRING..=tag::SHORT_STRING_LAST => usize::from(lead - tag::SHORT_STRING),
        tag::STRING | tag::ARRAY | tag::OBJECT => return read_prefixed(rest).map(|(_, rest)| rest),
        _ => return None,
    };
    rest.get(payload_len..)
}

/// Decodes the object field at the front of `bytes`; returns it and the rest.
pub(super) fn read_field(bytes: &[u8]) -> Option<(&str, ValueRef<'_>, &[u8])> {
    let (key, rest) = read_prefixed(bytes)?;
    let (value, rest) = decode(rest)?;
    Some((str::from_utf8(key).ok()?, value, rest))
}
