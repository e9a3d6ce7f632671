//! How documents are written in files: the compact binary form of
//! schemaless documents, for typed documents too.
//!
//! A typed document goes through `serde_json::Value` into that same form.
//! The form is self-describing (fields by name), which is what lets files
//! still open after a field is added (as an `Option` or with
//! `#[serde(default)]`) or removed; a positional format such as bincode's
//! would not. It is binary and compact: numbers and lengths as varints, no
//! quoting or escaping, so no JSON text is ever written or parsed.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::value::Object;
use crate::{Error, Id, Result};

/// The field a typed document that is not a JSON object is wrapped in.
const WRAPPED: &str = "\u{0}";

/// Writes a schemaless document: its bytes as they are kept in memory.
pub(crate) fn encode_object(document: &Object, put: &mut dyn FnMut(&[u8])) -> Result<()> {
    put(document.encoded());
    Ok(())
}

/// Reads a schemaless document back.
pub(crate) fn decode_object(bytes: &[u8]) -> Option<Object> {
    Object::from_encoded(bytes)
}

/// Writes a typed document.
pub(crate) fn encode_typed<T: Serialize>(document: &T, put: &mut dyn FnMut(&[u8])) -> Result<()> {
    let invalid = |reason: String| Error::InvalidDocument { reason };
    let value = serde_json::to_value(document).map_err(|e| invalid(e.to_string()))?;
    let object = match value {
        Value::Object(map) if !map.contains_key(WRAPPED) => Object::from_map(&map),
        other => {
            let mut map = Map::new();
            map.insert(WRAPPED.to_owned(), other);
            Object::from_map(&map)
        }
    }
    .map_err(|e| invalid(e.reason().to_owned()))?;
    put(object.encoded());
    Ok(())
}

/// Reads a typed document of `collection` back.
pub(crate) fn decode_typed<T: DeserializeOwned>(
    collection: &str,
    id: Id,
    bytes: &[u8],
) -> Result<T> {
    let undecodable = |message: String| Error::Undecodable {
        collection: collection.to_owned(),
        id,
        message,
    };
    let object = Object::from_encoded(bytes)
        .ok_or_else(|| undecodable("its stored bytes are malformed".to_owned()))?;
    let value = match object.to_value() {
        Value::Object(mut map) if map.len() == 1 && map.contains_key(WRAPPED) => {
            map.remove(WRAPPED).unwrap_or(Value::Null)
        }
        other => other,
    };
    serde_json::from_value(value).map_err(|e| undecodable(e.to_string()))
}
