//! Reading encoded keys back, to show them in errors and integrity reports.

use std::fmt::Write;

use super::encode::{
    EXPONENT_BIAS, TAG_ARRAY, TAG_END, TAG_FALSE, TAG_NEGATIVE, TAG_NULL, TAG_OBJECT, TAG_POSITIVE,
    TAG_STRING, TAG_TRUE, TAG_ZERO, WIDE_EXPONENT,
};

/// Shows an encoded key as JSON-like text: one field as its value
/// (`"Paris"`, `30`), a composite as a tuple (`("Paris", 30)`).
pub(crate) fn describe(bytes: &[u8]) -> String {
    let mut reader = Reader { bytes, at: 0 };
    let mut fields = Vec::new();
    while reader.at < bytes.len() {
        let mut text = String::new();
        if reader.value(&mut text, 0).is_none() {
            return "<malformed key>".to_owned();
        }
        fields.push(text);
    }
    match fields.as_slice() {
        [single] => single.clone(),
        _ => format!("({})", fields.join(", ")),
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let byte = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let slice = self.bytes.get(self.at..self.at.checked_add(N)?)?;
        self.at += N;
        slice.try_into().ok()
    }

    fn value(&mut self, out: &mut String, depth: usize) -> Option<()> {
        if depth > 256 {
            return None;
        }
        match self.byte()? {
            TAG_NULL => out.push_str("null"),
            TAG_FALSE => out.push_str("false"),
            TAG_TRUE => out.push_str("true"),
            TAG_ZERO => out.push('0'),
            TAG_POSITIVE => self.number(false, out)?,
            TAG_NEGATIVE => self.number(true, out)?,
            TAG_STRING => {
                let text = self.string()?;
                let _ = write!(out, "{text:?}");
            }
            TAG_ARRAY => {
                out.push('[');
                let mut first = true;
                while self.peek()? != TAG_END {
                    if !first {
                        out.push_str(", ");
                    }
                    first = false;
                    self.value(out, depth + 1)?;
                }
                self.at += 1;
                out.push(']');
            }
            TAG_OBJECT => {
                out.push('{');
                let mut first = true;
                while self.peek()? != TAG_END {
                    if !first {
                        out.push_str(", ");
                    }
                    first = false;
                    if self.byte()? != TAG_STRING {
                        return None;
                    }
                    let key = self.string()?;
                    let _ = write!(out, "{key:?}: ");
                    self.value(out, depth + 1)?;
                }
                self.at += 1;
                out.push('}');
            }
            _ => return None,
        }
        Some(())
    }

    fn string(&mut self) -> Option<String> {
        let mut raw = Vec::new();
        loop {
            match self.byte()? {
                0 => match self.byte()? {
                    0 => break,
                    0xFF => raw.push(0),
                    _ => return None,
                },
                byte => raw.push(byte),
            }
        }
        Some(String::from_utf8_lossy(&raw).into_owned())
    }

    fn number(&mut self, negative: bool, out: &mut String) -> Option<()> {
        let mut exponent = u16::from_be_bytes(self.array()?);
        if negative {
            exponent = !exponent;
        }
        let exponent = i32::from(exponent) - EXPONENT_BIAS;
        let mut fraction = if exponent >= WIDE_EXPONENT {
            u128::from_be_bytes(self.array()?)
        } else {
            u128::from(u64::from_be_bytes(self.array()?)) << 64
        };
        if negative {
            fraction = !fraction;
            if exponent < WIDE_EXPONENT {
                fraction &= !u128::from(u64::MAX);
            }
        }
        let sign = if negative { "-" } else { "" };
        if exponent == 1024 {
            let _ = write!(out, "{sign}inf");
            return Some(());
        }
        if let Ok(shift) = u32::try_from(exponent)
            && shift <= 127
            && fraction.checked_shl(shift).unwrap_or(0) == 0
        {
            let high = fraction.checked_shr(128 - shift).unwrap_or(0);
            let magnitude = (1u128 << shift) | high;
            let _ = write!(out, "{sign}{magnitude}");
            return Some(());
        }
        let fraction = u64::try_from(fraction >> 64).unwrap_or(0);
        #[allow(clippy::cast_precision_loss)]
        let mantissa = ((1u64 << 52) | (fraction >> 12)) as f64;
        let scale = exponent - 52;
        let value = mantissa * 2f64.powi(scale / 2) * 2f64.powi(scale - scale / 2);
        let _ = write!(out, "{sign}{value:?}");
        Some(())
    }
}
