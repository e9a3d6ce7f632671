//! Writing the tape: `serde_json` values in, bytes out.

use serde_json::{Number, Value};

use super::{InvalidValue, MAX_DEPTH, MAX_VARINT_LEN, Num, tag};

/// Appends encoded values to a tape.
#[derive(Default)]
pub(super) struct Encoder {
    pub(super) out: Vec<u8>,
}

impl Encoder {
    /// Writes an object body; `depth` is the nesting level of the object itself.
    pub(super) fn object_body<'v>(
        &mut self,
        fields: impl ExactSizeIterator<Item = (&'v String, &'v Value)>,
        depth: usize,
    ) -> Result<(), InvalidValue> {
        self.varint(fields.len());
        for (key, value) in fields {
            self.varint(key.len());
            self.out.extend_from_slice(key.as_bytes());
            self.value(value, depth)?;
        }
        Ok(())
    }

    /// Writes `value`; `depth` is the nesting level of the container holding it.
    fn value(&mut self, value: &Value, depth: usize) -> Result<(), InvalidValue> {
        match value {
            Value::Null => self.out.push(tag::NULL),
            Value::Bool(false) => self.out.push(tag::FALSE),
            Value::Bool(true) => self.out.push(tag::TRUE),
            Value::Number(number) => self.number(number)?,
            Value::String(s) => self.string(s),
            Value::Array(items) => {
                // Checked before recursing, so refusing a document can never itself
                // nest deeper than the limit.
                let depth = nested(depth)?;
                self.container(tag::ARRAY, |this| {
                    this.varint(items.len());
                    items.iter().try_for_each(|item| this.value(item, depth))
                })?;
            }
            Value::Object(map) => {
                let depth = nested(depth)?;
                self.container(tag::OBJECT, |this| this.object_body(map.iter(), depth))?;
            }
        }
        Ok(())
    }

    fn number(&mut self, number: &Number) -> Result<(), InvalidValue> {
        match Num::from_number(number) {
            Some(Num::PosInt(n)) => match u8::try_from(n) {
                Ok(small) if small < 0x80 => self.out.push(tag::SMALL_INT | small),
                _ => self.uint(tag::POS_INT, n),
            },
            // n < 0, so !n (that is, -1 - n) is non-negative and as short as |n|.
            Some(Num::NegInt(n)) => self.uint(tag::NEG_INT, (!n) as u64),
            Some(Num::Float(f)) => {
                // Halves the size of the many floats that are small integers or
                // short binary fractions; comparing bits keeps -0.0 exact.
                let narrow = f as f32;
                if f64::from(narrow).to_bits() == f.to_bits() {
                    self.out.push(tag::F32);
                    self.out.extend_from_slice(&narrow.to_le_bytes());
                } else {
                    self.out.push(tag::F64);
                    self.out.extend_from_slice(&f.to_le_bytes());
                }
            }
            None => {
                return Err(InvalidValue::new(format!(
                    "the number {number} cannot be stored exactly"
                )));
            }
        }
        Ok(())
    }

    /// Writes `n` in the fewest of 1, 2, 4 or 8 bytes; the tag's low two bits say
    /// which.
    fn uint(&mut self, base_tag: u8, n: u64) {
        let width_code: u8 = match n {
            0..=0xFF => 0,
            0x100..=0xFFFF => 1,
            0x1_0000..=0xFFFF_FFFF => 2,
            _ => 3,
        };
        self.out.push(base_tag | width_code);
        let bytes = n.to_le_bytes();
        self.out
            .extend_from_slice(bytes.get(..1 << width_code).unwrap_or(&bytes));
    }

    fn string(&mut self, s: &str) {
        match u8::try_from(s.len()) {
            Ok(len) if len <= tag::SHORT_STRING_LAST - tag::SHORT_STRING => {
                self.out.push(tag::SHORT_STRING + len);
            }
            _ => {
                self.out.push(tag::STRING);
                self.varint(s.len());
            }
        }
        self.out.extend_from_slice(s.as_bytes());
    }

    /// Writes `tag`, then the body `write_body` writes, prefixed by its length.
    fn container(
        &mut self,
        tag: u8,
        write_body: impl FnOnce(&mut Self) -> Result<(), InvalidValue>,
    ) -> Result<(), InvalidValue> {
        self.out.push(tag);
        // The length is unknown until the body is written. Reserve the single
        // byte that bodies under 128 bytes (nearly all) need, and shift the body
        // along only for longer ones. A byte moves at most once per enclosing
        // container, and depth is capped, so building stays linear in size.
        let length_at = self.out.len();
        self.out.push(0);
        write_body(self)?;
        let body_len = self.out.len() - length_at - 1;
        match (u8::try_from(body_len), self.out.get_mut(length_at)) {
            (Ok(byte), Some(slot)) if byte < 0x80 => *slot = byte,
            _ => {
                let (bytes, used) = varint(body_len as u64);
                self.out
                    .splice(length_at..=length_at, bytes.into_iter().take(used));
            }
        }
        Ok(())
    }

    fn varint(&mut self, n: usize) {
        // Field names, counts and short bodies (nearly every varint) take one
        // byte: pushing it skips building and copying the ten-byte buffer.
        if let Ok(byte) = u8::try_from(n)
            && byte < 0x80
        {
            self.out.push(byte);
            return;
        }
        let (bytes, used) = varint(n as u64);
        self.out
            .extend_from_slice(bytes.get(..used).unwrap_or(&bytes));
    }
}

/// The nesting level of a container inside one at `depth`, if that is allowed.
fn nested(depth: usize) -> Result<usize, InvalidValue> {
    if depth < MAX_DEPTH {
        Ok(depth + 1)
    } else {
        Err(InvalidValue::new(format!(
            "the document nests arrays and objects more than {MAX_DEPTH} levels deep"
        )))
    }
}

/// Encodes `n` as LEB128: seven bits per byte, low bits first, the high bit set
/// on every byte but the last. Returns the buffer and how many bytes are used.
fn varint(mut n: u64) -> ([u8; MAX_VARINT_LEN], usize) {
    let mut bytes = [0; MAX_VARINT_LEN];
    let mut used = 0;
    for byte in &mut bytes {
        used += 1;
        if n < 0x80 {
            *byte = n as u8;
            break;
        }
        *byte = (n & 0x7F) as u8 | 0x80;
        n >>= 7;
    }
    (bytes, used)
}
