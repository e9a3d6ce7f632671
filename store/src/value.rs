//! Documents in compact form: a whole JSON object encoded into one allocation.
//!
//! A `serde_json::Value` spends a heap allocation, and for objects a B-tree node,
//! on every string, array and object, so even a small document costs kilobytes.
//! An [`Object`] instead encodes the whole document into a single boxed byte
//! slice: a self-describing tape that readers walk in place, without decoding or
//! allocating. Documents are converted to and from `Value` only at the edges.
//!
//! # Tape format
//!
//! Every value starts with a one-byte tag:
//!
//! | tag           | value                         | followed by                       |
//! |---------------|-------------------------------|-----------------------------------|
//! | `0x00`        | null                          |                                   |
//! | `0x01`/`0x02` | false / true                  |                                   |
//! | `0x04..=0x07` | integer `n >= 0`              | `n` in 1, 2, 4 or 8 LE bytes      |
//! | `0x08..=0x0B` | integer `n < 0`               | `!n` in 1, 2, 4 or 8 LE bytes     |
//! | `0x0C`        | float that is exact as an f32 | 4 LE bytes                        |
//! | `0x0D`        | any other float               | 8 LE bytes                        |
//! | `0x0E`        | string                        | varint length, UTF-8 bytes        |
//! | `0x0F`        | array                         | varint length, body               |
//! | `0x10`        | object                        | varint length, body               |
//! | `0x40..=0x7F` | string of `tag - 0x40` bytes  | UTF-8 bytes                       |
//! | `0x80..=0xFF` | integer `tag - 0x80`          |                                   |
//!
//! An array body is a varint count then the items; an object body is a varint
//! count then the fields, each a key (varint length, UTF-8 bytes) then its value.
//! The document itself is stored as a bare object body. Varints are LEB128.
//!
//! Because containers carry their byte length, a reader skips any value in O(1);
//! field lookup is a linear scan that compares key bytes and skips values, which
//! beats any index for the tens of fields a typical document has.
//!
//! Only the encoder in this module produces tapes, so they are always well
//! formed; readers still check every access and treat malformed bytes as the end
//! of the data rather than panicking.

mod compare;
mod encode;
mod read;
mod serialize;
mod tape;
#[cfg(test)]
mod tests;

use std::fmt;
use std::iter::FusedIterator;

use serde_json::{Map, Number, Value};

use encode::Encoder;
use read::{decode, read_field, read_len, read_prefixed, skip};
use tape::Tape;

/// How deeply arrays and objects may nest in a document, counting the document
/// itself as level 1 (so `{"a": {}}` is 2 levels deep).
///
/// Converting, comparing and serializing documents recurse once per level; the
/// limit keeps that from exhausting the stack. It is the deepest text
/// `serde_json` parses (its parser refuses a 128th level), so every document a
/// store accepts can be written out as JSON text and read back.
pub const MAX_DEPTH: usize = 127;

/// The tags that start every encoded value; see the module docs.
mod tag {
    pub(super) const NULL: u8 = 0x00;
    pub(super) const FALSE: u8 = 0x01;
    pub(super) const TRUE: u8 = 0x02;
    // The integer tags are multiples of 4 so the low two bits can carry the width.
    pub(super) const POS_INT: u8 = 0x04;
    pub(super) const POS_INT_LAST: u8 = POS_INT + 3;
    pub(super) const NEG_INT: u8 = 0x08;
    pub(super) const NEG_INT_LAST: u8 = NEG_INT + 3;
    pub(super) const F32: u8 = 0x0C;
    pub(super) const F64: u8 = 0x0D;
    pub(super) const STRING: u8 = 0x0E;
    pub(super) const ARRAY: u8 = 0x0F;
    pub(super) const OBJECT: u8 = 0x10;
    pub(super) const SHORT_STRING: u8 = 0x40;
    pub(super) const SHORT_STRING_LAST: u8 = 0x7F;
    pub(super) const SMALL_INT: u8 = 0x80;
}

/// The most bytes a LEB128 varint needs for a `u64`.
const MAX_VARINT_LEN: usize = 10;

/// Why a value could not become a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidValue {
    reason: String,
}

impl InvalidValue {
    fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    /// What is wrong with the value, as a phrase fit for an error message.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for InvalidValue {}

/// A schemaless document: an immutable JSON object in compact form.
///
/// The whole document lives in one heap allocation. Reading a field borrows from
/// it as a [`ValueRef`] without allocating; [`Object::to_value`] rebuilds the
/// `serde_json::Value` exactly, down to integer-versus-float and the sign of zero.
///
/// Equality follows `serde_json::Value`: fields compare regardless of order, and
/// `5` is not equal to `5.0`. `Display` and `Debug` print the document as JSON.
///
/// ```
/// use docstore_core::{Object, ValueRef};
/// use serde_json::json;
///
/// let doc = Object::from_value(json!({"name": "Ada", "age": 36, "langs": ["en"]}))?;
/// assert_eq!(doc.get("age").and_then(|age| age.as_u64()), Some(36));
/// assert!(matches!(doc.get("name"), Some(ValueRef::String("Ada"))));
/// assert_eq!(doc.to_value(), json!({"name": "Ada", "age": 36, "langs": ["en"]}));
/// assert!(Object::from_value(json!([1, 2])).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Object {
    /// A bare object body (see the module docs).
    bytes: Tape,
}

impl Object {
    /// Converts a JSON object into a document. Takes the value by ownership so
    /// that callers can move it in.
    ///
    /// # Errors
    ///
    /// If `value` is not an object, or nests deeper than [`MAX_DEPTH`].
    pub fn from_value(value: Value) -> Result<Self, InvalidValue> {
        match value {
            Value::Object(map) => Self::from_map(&map),
            other => Err(InvalidValue::new(format!(
                "a document must be a JSON object, not {}",
                describe(&other)
            ))),
        }
    }

    /// Converts the fields of a JSON object into a document.
    ///
    /// # Errors
    ///
    /// If a field nests deeper than [`MAX_DEPTH`] allows.
    pub fn from_map(map: &Map<String, Value>) -> Result<Self, InvalidValue> {
        thread_local! {
            // Encoding into a buffer that grows by doubling would reallocate
            // several times per document; a reused one costs one exact allocation.
            static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let encode = |out: Vec<u8>| {
            let mut encoder = Encoder { out };
            encoder.out.clear();
            let result = encoder.object_body(map.iter(), 1);
            (result, encoder.out)
        };
        let borrowed = SCRATCH.try_with(|scratch| {
            let mut scratch = scratch.try_borrow_mut().ok()?;
            let (result, out) = encode(std::mem::take(&mut *scratch));
            let bytes = result.map(|()| Tape::new(&out));
            // A huge document should not pin its size in every thread that wrote one.
            if out.capacity() <= 1 << 16 {
                *scratch = out;
            }
            Some(bytes)
        });
        let bytes = match borrowed {
            Ok(Some(bytes)) => bytes?,
            // No scratch buffer to be had (thread teardown): a fresh one does.
            _ => {
                let (result, out) = encode(Vec::new());
                result?;
                Tape::new(&out)
            }
        };
        Ok(Self { bytes })
    }

    /// Rebuilds the document as a `serde_json::Value`, exactly as it was given.
    pub fn to_value(&self) -> Value {
        self.as_object_ref().to_value()
    }

    /// The top-level field named `key`, if there is one.
    #[inline]
    pub fn get(&self, key: &str) -> Option<ValueRef<'_>> {
        self.as_object_ref().get(key)
    }

    /// The value at `path`, each segment naming a field of the object before it.
    ///
    /// Descends through objects only (never array indexes); an empty path gives
    /// the whole document.
    pub fn get_path<'a, S: AsRef<str>>(&'a self, path: &[S]) -> Option<ValueRef<'a>> {
        self.as_object_ref().get_path(path)
    }

    /// The number of top-level fields.
    pub fn len(&self) -> usize {
        self.as_object_ref().len()
    }

    /// Whether the document has no fields.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The top-level fields, in the order the source map iterated them.
    pub fn iter(&self) -> ObjectIter<'_> {
        self.as_object_ref().iter()
    }

    /// The whole document as a borrowed object view.
    #[inline]
    pub fn as_object_ref(&self) -> ObjectRef<'_> {
        ObjectRef::from_body(self.bytes.as_bytes()).unwrap_or_default()
    }

    /// The length of the document's encoding, in bytes: the memory it needs
    /// beyond its fixed size (small documents keep it inline).
    pub fn size_in_bytes(&self) -> usize {
        self.bytes.as_bytes().len()
    }

    /// The document's encoding, as durable stores write it.
    pub(crate) fn encoded(&self) -> &[u8] {
        self.bytes.as_bytes()
    }

    /// A document from its encoding as read back from a file, if the bytes
    /// are well formed.
    pub(crate) fn from_encoded(bytes: &[u8]) -> Option<Object> {
        let object = ObjectRef::from_body(bytes)?;
        // Walks every value, so that damage shows here, not in a later read.
        if !well_formed(object) {
            return None;
        }
        Some(Object {
            bytes: Tape::new(bytes),
        })
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON number exactly as written: `serde_json`'s three representations are
/// kept apart, so `5` and `5.0` differ, as they do in `serde_json::Number`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    /// An integer `>= 0`.
    PosInt(u64),
    /// An integer `< 0`.
    NegInt(i64),
    /// A finite float; integral values (`5.0`) and `-0.0` are kept as floats.
    Float(f64),
}

impl Num {
    /// `None` only under `serde_json`'s `arbitrary_precision` feature, for
    /// numbers no `f64` can hold.
    fn from_number(number: &Number) -> Option<Self> {
        // as_u64 succeeds only for PosInt, so as_i64 after it only for NegInt.
        if let Some(n) = number.as_u64() {
            Some(Self::PosInt(n))
        } else if let Some(n) = number.as_i64() {
            Some(Self::NegInt(n))
        } else {
            number.as_f64().map(Self::Float)
        }
    }

    /// The number as an `i64`, if it is an integer in range.
    #[inline]
    pub fn as_i64(self) -> Option<i64> {
        match self {
            Self::PosInt(n) => i64::try_from(n).ok(),
            Self::NegInt(n) => Some(n),
            Self::Float(_) => None,
        }
    }

    /// The number as a `u64`, if it is a non-negative integer.
    #[inline]
    pub fn as_u64(self) -> Option<u64> {
        match self {
            Self::PosInt(n) => Some(n),
            Self::NegInt(_) | Self::Float(_) => None,
        }
    }

    /// The number as an `f64`; integers beyond 2^53 are rounded.
    #[inline]
    pub fn as_f64(self) -> f64 {
        match self {
            Self::PosInt(n) => n as f64,
            Self::NegInt(n) => n as f64,
            Self::Float(f) => f,
        }
    }

    /// The number as a `serde_json::Number`, keeping its representation.
    pub fn to_number(self) -> Number {
        match self {
            Self::PosInt(n) => n.into(),
            Self::NegInt(n) => n.into(),
            // Stored floats are always finite; zero beats a panic if one were not.
            Self::Float(f) => Number::from_f64(f).unwrap_or_else(|| 0.into()),
        }
    }
}

/// A borrowed view of one value inside a document.
///
/// Compares with `serde_json::Value` and with other views the way `Value`s
/// compare with each other, serializes as the equivalent `Value` would, and prints
/// as JSON.
#[derive(Clone, Copy)]
pub enum ValueRef<'a> {
    /// JSON `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, in the representation it was given in.
    Number(Num),
    /// A string.
    String(&'a str),
    /// An array.
    Array(ArrayRef<'a>),
    /// An object.
    Object(ObjectRef<'a>),
}

impl<'a> ValueRef<'a> {
    /// Whether this is `null`.
    #[inline]
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// The boolean, if this is one.
    #[inline]
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Self::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The number as an `i64`, if it is an integer in range.
    #[inline]
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number()?.as_i64()
    }

    /// The number as a `u64`, if it is a non-negative integer.
    #[inline]
    pub fn as_u64(&self) -> Option<u64> {
        self.as_number()?.as_u64()
    }

    /// The number as an `f64` (integers may round), if this is a number.
    #[inline]
    pub fn as_f64(&self) -> Option<f64> {
        self.as_number().map(Num::as_f64)
    }

    /// The number, if this is one.
    #[inline]
    pub fn as_number(&self) -> Option<Num> {
        match *self {
            Self::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The string, if this is one.
    #[inline]
    pub fn as_str(&self) -> Option<&'a str> {
        match *self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The array, if this is one.
    pub fn as_array(&self) -> Option<ArrayRef<'a>> {
        match *self {
            Self::Array(array) => Some(array),
            _ => None,
        }
    }

    /// The object, if this is one.
    pub fn as_object(&self) -> Option<ObjectRef<'a>> {
        match *self {
            Self::Object(object) => Some(object),
            _ => None,
        }
    }

    /// The field named `key`, if this is an object that has one.
    pub fn get(&self, key: &str) -> Option<ValueRef<'a>> {
        self.as_object()?.get(key)
    }

    /// Rebuilds the value as a `serde_json::Value`.
    pub fn to_value(&self) -> Value {
        match *self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(b),
            Self::Number(n) => Value::Number(n.to_number()),
            Self::String(s) => Value::String(s.to_owned()),
            Self::Array(array) => array.to_value(),
            Self::Object(object) => object.to_value(),
        }
    }
}

/// A borrowed view of an array inside a document.
#[derive(Clone, Copy, Default)]
pub struct ArrayRef<'a> {
    len: usize,
    /// The encoded items, after the count.
    items: &'a [u8],
}

impl<'a> ArrayRef<'a> {
    /// The number of items.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the array has no items.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The item at `index`, if the array is that long. Takes O(`index`) time,
    /// skipping the items before it without decoding them.
    pub fn get(&self, index: usize) -> Option<ValueRef<'a>> {
        let mut rest = self.items;
        for _ in 0..index {
            rest = skip(rest)?;
        }
        decode(rest).map(|(value, _)| value)
    }

    /// The items, in order.
    pub fn iter(&self) -> ArrayIter<'a> {
        ArrayIter {
            remaining: self.len,
            rest: self.items,
        }
    }

    /// Rebuilds the array as a `serde_json::Value`.
    pub fn to_value(&self) -> Value {
        Value::Array(self.iter().map(|item| item.to_value()).collect())
    }
}

/// A borrowed view of an object inside a document.
#[derive(Clone, Copy, Default)]
pub struct ObjectRef<'a> {
    len: usize,
    /// The encoded fields, after the count.
    fields: &'a [u8],
}

impl<'a> ObjectRef<'a> {
    #[inline]
    fn from_body(body: &'a [u8]) -> Option<Self> {
        let (len, fields) = read_len(body)?;
        Some(Self { len, fields })
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the object has no fields.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The field named `key`, if there is one.
    #[inline]
    pub fn get(&self, key: &str) -> Option<ValueRef<'a>> {
        let mut rest = self.fields;
        while !rest.is_empty() {
            let (name, value) = read_prefixed(rest)?;
            if is_key(name, key.as_bytes()) {
                return decode(value).map(|(value, _)| value);
            }
            rest = skip(value)?;
        }
        None
    }

    /// The value at `path`, each segment naming a field of the object before it;
    /// an empty path gives this object.
    pub fn get_path<S: AsRef<str>>(&self, path: &[S]) -> Option<ValueRef<'a>> {
        path.iter()
            .try_fold(ValueRef::Object(*self), |value, segment| {
                value.get(segment.as_ref())
            })
    }

    /// The fields, in stored order.
    pub fn iter(&self) -> ObjectIter<'a> {
        ObjectIter {
            remaining: self.len,
            rest: self.fields,
        }
    }

    /// Rebuilds the object as a `serde_json::Value`.
    pub fn to_value(&self) -> Value {
        let map = self
            .iter()
            .map(|(key, value)| (key.to_owned(), value.to_value()));
        Value::Object(map.collect())
    }
}

/// `name == key`, but without calling `memcmp`, which costs more than comparing
/// the few bytes of a typical key.
#[inline]
fn is_key(name: &[u8], key: &[u8]) -> bool {
    name.len() == key.len() && name.iter().zip(key).all(|(a, b)| a == b)
}

/// An iterator over the items of an array.
#[derive(Clone)]
pub struct ArrayIter<'a> {
    remaining: usize,
    rest: &'a [u8],
}

impl<'a> Iterator for ArrayIter<'a> {
    type Item = ValueRef<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let Some((item, rest)) = decode(self.rest) else {
            self.remaining = 0;
            return None;
        };
        self.remaining -= 1;
        self.rest = rest;
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for ArrayIter<'_> {}
impl FusedIterator for ArrayIter<'_> {}

/// An iterator over the fields of an object, as `(key, value)` pairs in stored
/// order.
#[derive(Clone)]
pub struct ObjectIter<'a> {
    remaining: usize,
    rest: &'a [u8],
}

impl<'a> Iterator for ObjectIter<'a> {
    type Item = (&'a str, ValueRef<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let Some((key, value, rest)) = read_field(self.rest) else {
            self.remaining = 0;
            return None;
        };
        self.remaining -= 1;
        self.rest = rest;
        Some((key, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for ObjectIter<'_> {}
impl FusedIterator for ObjectIter<'_> {}

impl<'a> IntoIterator for &'a Object {
    type Item = (&'a str, ValueRef<'a>);
    type IntoIter = ObjectIter<'a>;

    fn into_iter(self) -> ObjectIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for ObjectRef<'a> {
    type Item = (&'a str, ValueRef<'a>);
    type IntoIter = ObjectIter<'a>;

    fn into_iter(self) -> ObjectIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for ArrayRef<'a> {
    type Item = ValueRef<'a>;
    type IntoIter = ArrayIter<'a>;

    fn into_iter(self) -> ArrayIter<'a> {
        self.iter()
    }
}

impl TryFrom<Value> for Object {
    type Error = InvalidValue;

    fn try_from(value: Value) -> Result<Self, InvalidValue> {
        Self::from_value(value)
    }
}

impl From<&Object> for Value {
    fn from(object: &Object) -> Self {
        object.to_value()
    }
}

impl From<Object> for Value {
    fn from(object: Object) -> Self {
        object.to_value()
    }
}

/// Whether every field and item of `object` decodes, all the way down.
fn well_formed(object: ObjectRef<'_>) -> bool {
    fn deep(value: ValueRef<'_>) -> bool {
        match value {
            ValueRef::Array(items) => {
                let len = items.len();
                let mut seen = 0;
                for item in items.iter() {
                    if !deep(item) {
                        return false;
                    }
                    seen += 1;
                }
                seen == len
            }
            ValueRef::Object(object) => well_formed(object),
            _ => true,
        }
    }
    let len = object.len();
    let mut seen = 0;
    for (_, field) in object.iter() {
        if !deep(field) {
            return false;
        }
        seen += 1;
    }
    seen == len
}
