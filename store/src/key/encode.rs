//! Writing keys as order-preserving bytes.

use crate::value::{Num, ValueRef};

pub(super) const TAG_END: u8 = 0x00;
pub(super) const TAG_NULL: u8 = 0x01;
pub(super) const TAG_FALSE: u8 = 0x02;
pub(super) const TAG_TRUE: u8 = 0x03;
pub(super) const TAG_NEGATIVE: u8 = 0x04;
pub(super) const TAG_ZERO: u8 = 0x05;
pub(super) const TAG_POSITIVE: u8 = 0x06;
pub(super) const TAG_STRING: u8 = 0x07;
pub(super) const TAG_ARRAY: u8 = 0x08;
pub(super) const TAG_OBJECT: u8 = 0x09;

/// The exponent is stored biased so that it is never negative; 0x4000 clears the
/// smallest subnormal (-1074) and the infinities (1024) with room to spare.
pub(super) const EXPONENT_BIAS: i32 = 0x4000;
/// The exponent the infinities are given: above every finite number.
const INFINITE_EXPONENT: i32 = 1024;
/// From this exponent up a number's fraction takes 16 bytes instead of 8: an
/// integer below 2^64 needs at most 63 fraction bits and a float 52, but a
/// 128-bit integer up to 127. Every number with one exponent has one width, so
/// byte order stays numeric order and no number's bytes start another's.
pub(super) const WIDE_EXPONENT: i32 = 64;

/// Nesting deeper than this in a key is refused rather than risking the stack.
const MAX_KEY_DEPTH: usize = 128;

/// Builds one encoded key, field by field.
///
/// Implementations of [`IndexKey`](crate::IndexKey) for types of your own write
/// through this: each `write_*` call appends one field (or one element inside
/// [`begin_array`](Self::begin_array) / [`end_array`](Self::end_array)). A value
/// that cannot be a key (a NaN) marks the key invalid; the write that uses it then
/// fails with [`Error::InvalidKey`](crate::Error::InvalidKey).
///
/// ```
/// use docstore_core::{IndexKey, KeyWriter};
///
/// /// A priority that sorts as its rank.
/// enum Priority { Low, High }
///
/// impl IndexKey for Priority {
///     fn write_key(&self, out: &mut KeyWriter) {
///         out.write_u64(match self { Priority::Low => 0, Priority::High => 1 });
///     }
/// }
/// ```
#[derive(Debug, Default, Clone)]
pub struct KeyWriter {
    bytes: Vec<u8>,
    fields: usize,
    depth: usize,
    invalid: Option<String>,
    /// Whether the whole key so far is one JSON array passed as a `Value`: on a
    /// composite index that is almost always fields meant as a tuple, so queries
    /// refuse it rather than match nothing (see `snapshot::checked`).
    lone_json_array: bool,
}

impl KeyWriter {
    pub(crate) fn new() -> KeyWriter {
        // Room for most keys at once: growing from empty would allocate two
        // or three times for a short key, once per query or write.
        KeyWriter {
            bytes: Vec::with_capacity(32),
            ..KeyWriter::default()
        }
    }

    /// How many bytes the buffer holds without growing.
    pub(crate) fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.fields = 0;
        self.depth = 0;
        self.invalid = None;
        self.lone_json_array = false;
    }

    /// Appends bytes another writer encoded, as whole fields.
    pub(crate) fn append_encoded(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// How many top-level fields were written.
    pub(crate) fn fields(&self) -> usize {
        self.fields
    }

    pub(crate) fn invalid(&self) -> Option<&str> {
        self.invalid.as_deref()
    }

    /// Whether the key is one JSON array value and nothing else.
    pub(crate) fn is_lone_json_array(&self) -> bool {
        self.lone_json_array
    }

    /// The fields were given one by one (a tuple or a slice of values), so a
    /// JSON array among them is meant as an array.
    pub(crate) fn fields_given_one_by_one(&mut self) {
        self.lone_json_array = false;
    }

    pub(crate) fn mark_invalid(&mut self, reason: impl Into<String>) {
        if self.invalid.is_none() {
            self.invalid = Some(reason.into());
        }
    }

    fn field(&mut self, tag: u8) {
        if self.depth == 0 {
            self.fields += 1;
        }
        self.bytes.push(tag);
    }

    /// Appends a null.
    pub fn write_null(&mut self) {
        self.field(TAG_NULL);
    }

    /// Appends a boolean.
    pub fn write_bool(&mut self, value: bool) {
        self.field(if value { TAG_TRUE } else { TAG_FALSE });
    }

    /// Appends an unsigned integer, exactly.
    pub fn write_u64(&mut self, value: u64) {
        if value == 0 {
            self.field(TAG_ZERO);
        } else {
            let (exponent, fraction) = integer_parts(value);
            self.write_magnitude(false, exponent, fraction);
        }
    }

    /// Appends a signed integer, exactly.
    pub fn write_i64(&mut self, value: i64) {
        if value >= 0 {
            self.write_u64(value.unsigned_abs());
        } else {
            let (exponent, fraction) = integer_parts(value.unsigned_abs());
            self.write_magnitude(true, exponent, fraction);
        }
    }

    /// Appends a signed 128-bit integer, exactly: it is the same key as the same
    /// value written as any other integer type, or as a float equal to it.
    pub fn write_i128(&mut self, value: i128) {
        if value >= 0 {
            self.write_u128(value.unsigned_abs());
        } else {
            let (exponent, fraction) = wide_integer_parts(value.unsigned_abs());
            self.write_magnitude(true, exponent, fraction);
        }
    }

    /// Appends an unsigned 128-bit integer, exactly: it is the same key as the
    /// same value written as any other integer type, or as a float equal to it.
    pub fn write_u128(&mut self, value: u128) {
        if value == 0 {
            self.field(TAG_ZERO);
        } else {
            let (exponent, fraction) = wide_integer_parts(value);
            self.write_magnitude(false, exponent, fraction);
        }
    }

    /// Appends a float; it compares with integers by exact value. A NaN marks the
    /// key invalid.
    pub fn write_f64(&mut self, value: f64) {
        if value.is_nan() {
            self.mark_invalid("NaN cannot be an index key");
            self.field(TAG_NULL);
            return;
        }
        if value == 0.0 {
            self.field(TAG_ZERO);
            return;
        }
        let negative = value.is_sign_negative();
        let (exponent, fraction) = if value.is_infinite() {
            (INFINITE_EXPONENT, 0)
        } else {
            float_parts(value.abs())
        };
        self.write_magnitude(negative, exponent, fraction);
    }

    /// Appends a string.
    pub fn write_str(&mut self, value: &str) {
        self.field(TAG_STRING);
        self.write_escaped(value.as_bytes());
    }

    /// Starts an array: every following write is an element, up to
    /// [`end_array`](Self::end_array).
    pub fn begin_array(&mut self) {
        self.field(TAG_ARRAY);
        self.depth += 1;
    }

    /// Ends the array begun last.
    pub fn end_array(&mut self) {
        self.bytes.push(TAG_END);
        self.depth = self.depth.saturating_sub(1);
    }

    fn begin_object(&mut self) {
        self.field(TAG_OBJECT);
        self.depth += 1;
    }

    /// Objects end like arrays: with a byte below every value's tag.
    fn end_object(&mut self) {
        self.end_array();
    }

    fn write_object_key(&mut self, key: &str) {
        self.bytes.push(TAG_STRING);
        self.write_escaped(key.as_bytes());
    }

    /// Strings end in `00 00` and escape their own zero bytes as `00 FF`, so that a
    /// string sorts before every longer string it is a prefix of.
    fn write_escaped(&mut self, bytes: &[u8]) {
        // One allocation at most, and no scan by chunks for the usual string
        // with no zero byte.
        self.bytes.reserve(bytes.len() + 2);
        if !bytes.contains(&0) {
            self.bytes.extend_from_slice(bytes);
            self.bytes.extend_from_slice(&[0, 0]);
            return;
        }
        for chunk in bytes.split_inclusive(|&b| b == 0) {
            self.bytes.extend_from_slice(chunk);
            if chunk.last() == Some(&0) {
                self.bytes.push(0xFF);
            }
        }
        self.bytes.extend_from_slice(&[0, 0]);
    }

    /// A non-zero number as `±2^exponent × 1.fraction`: the exponent orders
    /// magnitudes first, the left-aligned fraction bits break ties, and negative
    /// numbers store both inverted so that larger magnitudes sort first. The
    /// fraction is the top 8 bytes of `fraction`, or all 16 from
    /// [`WIDE_EXPONENT`] up (below it the low 8 are always zero).
    fn write_magnitude(&mut self, negative: bool, exponent: i32, fraction: u128) {
        let biased = u16::try_from(exponent + EXPONENT_BIAS).unwrap_or(u16::MAX);
        let (biased, fraction) = if negative {
            self.field(TAG_NEGATIVE);
            (!biased, !fraction)
        } else {
            self.field(TAG_POSITIVE);
            (biased, fraction)
        };
        self.bytes.extend_from_slice(&biased.to_be_bytes());
        let fraction = fraction.to_be_bytes();
        let width = if exponent >= WIDE_EXPONENT { 16 } else { 8 };
        self.bytes.extend_from_slice(&fraction[..width]);
    }

    fn write_json(&mut self, value: &serde_json::Value, depth: usize) {
        use serde_json::Value;
        if depth > MAX_KEY_DEPTH {
            self.mark_invalid(format!("keys nest at most {MAX_KEY_DEPTH} levels"));
            self.write_null();
            return;
        }
        match value {
            Value::Null => self.write_null(),
            Value::Bool(b) => self.write_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    self.write_u64(u);
                } else if let Some(i) = n.as_i64() {
                    self.write_i64(i);
                } else {
                    self.write_f64(n.as_f64().unwrap_or(f64::NAN));
                }
            }
            Value::String(s) => self.write_str(s),
            Value::Array(items) => {
                self.begin_array();
                for item in items {
                    self.write_json(item, depth + 1);
                }
                self.end_array();
            }
            Value::Object(map) => {
                let mut fields: Vec<_> = map.iter().collect();
                fields.sort_unstable_by(|a, b| a.0.cmp(b.0));
                self.begin_object();
                for (key, item) in fields {
                    self.write_object_key(key);
                    self.write_json(item, depth + 1);
                }
                self.end_object();
            }
        }
    }

    fn write_value_ref(&mut self, value: ValueRef<'_>, depth: usize) {
        if depth > MAX_KEY_DEPTH {
            self.mark_invalid(format!("keys nest at most {MAX_KEY_DEPTH} levels"));
            self.write_null();
            return;
        }
        match value {
            ValueRef::Null => self.write_null(),
            ValueRef::Bool(b) => self.write_bool(b),
            ValueRef::Number(Num::PosInt(u)) => self.write_u64(u),
            ValueRef::Number(Num::NegInt(i)) => self.write_i64(i),
            ValueRef::Number(Num::Float(f)) => self.write_f64(f),
            ValueRef::String(s) => self.write_str(s),
            ValueRef::Array(items) => {
                self.begin_array();
                for item in items.iter() {
                    self.write_value_ref(item, depth + 1);
                }
                self.end_array();
            }
            ValueRef::Object(map) => {
                let mut fields: Vec<_> = map.iter().collect();
                fields.sort_unstable_by(|a, b| a.0.cmp(b.0));
                self.begin_object();
                for (key, item) in fields {
                    self.write_object_key(key);
                    self.write_value_ref(item, depth + 1);
                }
                self.end_object();
            }
        }
    }
}

/// The exponent and the fraction bits (left-aligned in 128) of a non-zero integer.
fn integer_parts(value: u64) -> (i32, u128) {
    let zeros = value.leading_zeros();
    // Bits below the leading one, moved up to the top; for 1 there are none.
    let fraction = value.checked_shl(zeros + 1).unwrap_or(0);
    (63 - zeros.cast_signed(), u128::from(fraction) << 64)
}

fn wide_integer_parts(value: u128) -> (i32, u128) {
    let zeros = value.leading_zeros();
    let fraction = value.checked_shl(zeros + 1).unwrap_or(0);
    (127 - zeros.cast_signed(), fraction)
}

fn float_parts(value: f64) -> (i32, u128) {
    let bits = value.to_bits();
    let stored_exponent = i32::try_from((bits >> 52) & 0x7FF).unwrap_or(0);
    let mantissa = bits & ((1 << 52) - 1);
    if stored_exponent == 0 {
        // Subnormal: the mantissa is an integer scaled by 2^-1074.
        let (exponent, fraction) = integer_parts(mantissa);
        (exponent - 1074, fraction)
    } else {
        (stored_exponent - 1023, u128::from(mantissa << 12) << 64)
    }
}

/// Appends one JSON value as one key field.
pub(crate) fn encode_json(out: &mut KeyWriter, value: &serde_json::Value) {
    let alone = out.fields == 0 && out.depth == 0 && value.is_array();
    out.write_json(value, 0);
    out.lone_json_array = alone;
}

/// Appends one stored document value as one key field.
pub(crate) fn encode_value_ref(out: &mut KeyWriter, value: ValueRef<'_>) {
    out.write_value_ref(value, 0);
}
