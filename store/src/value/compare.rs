//! Equality and hashing, with `serde_json::Value`'s semantics: objects compare as
//! key sets, and numbers as `Number` does (representation and value, so
//! `-0.0 == 0.0` but `5 != 5.0`).

use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::Value;

use super::{ArrayRef, Num, Object, ObjectRef, ValueRef};

impl PartialEq for ValueRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Null, Self::Null) => true,
            (Self::Bool(a), Self::Bool(b)) => a == b,
            (Self::Number(a), Self::Number(b)) => a == b,
            (Self::String(a), Self::String(b)) => a == b,
            (Self::Array(a), Self::Array(b)) => a == b,
            (Self::Object(a), Self::Object(b)) => a == b,
            _ => false,
        }
    }
}

impl PartialEq for ArrayRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl PartialEq for ObjectRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        if self.len != other.len {
            return false;
        }
        // Maps that hold the same keys iterate them in the same order unless
        // serde_json's `preserve_order` is on, so try lockstep first and sort
        // only when the orders differ.
        let (mut ours, mut theirs) = (self.iter(), other.iter());
        loop {
            match (ours.next(), theirs.next()) {
                (Some((a_key, a)), Some((b_key, b))) if a_key == b_key => {
                    if a != b {
                        return false;
                    }
                }
                (None, None) => return true,
                _ => return sorted_fields(*self) == sorted_fields(*other),
            }
        }
    }
}

fn sorted_fields(object: ObjectRef<'_>) -> Vec<(&str, ValueRef<'_>)> {
    let mut fields: Vec<_> = object.iter().collect();
    fields.sort_unstable_by_key(|&(key, _)| key);
    fields
}

impl PartialEq for Object {
    fn eq(&self, other: &Self) -> bool {
        self.bytes.as_bytes() == other.bytes.as_bytes()
            || self.as_object_ref() == other.as_object_ref()
    }
}

// Stored floats are never NaN, so equality is reflexive.
impl Eq for Object {}

impl Hash for Object {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_object(self.as_object_ref(), state);
    }
}

fn hash_value<H: Hasher>(value: ValueRef<'_>, state: &mut H) {
    std::mem::discriminant(&value).hash(state);
    match value {
        ValueRef::Null => {}
        ValueRef::Bool(b) => b.hash(state),
        ValueRef::Number(n) => {
            std::mem::discriminant(&n).hash(state);
            match n {
                Num::PosInt(n) => n.hash(state),
                Num::NegInt(n) => n.hash(state),
                // -0.0 == 0.0, so both must hash alike; adding +0.0 maps -0.0 to it.
                Num::Float(f) => (f + 0.0).to_bits().hash(state),
            }
        }
        ValueRef::String(s) => s.hash(state),
        ValueRef::Array(array) => {
            array.len().hash(state);
            array.iter().for_each(|item| hash_value(item, state));
        }
        ValueRef::Object(object) => hash_object(object, state),
    }
}

fn hash_object<H: Hasher>(object: ObjectRef<'_>, state: &mut H) {
    // Equal objects may list their fields in different orders, so combine the
    // fields' own hashes with a sum, which ignores order.
    let sum = object.iter().fold(0_u64, |sum, (key, value)| {
        let mut field = DefaultHasher::new();
        key.hash(&mut field);
        hash_value(value, &mut field);
        sum.wrapping_add(field.finish())
    });
    object.len().hash(state);
    sum.hash(state);
}

impl PartialEq<Value> for ValueRef<'_> {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Self::Null, Value::Null) => true,
            (Self::Bool(a), Value::Bool(b)) => a == b,
            (Self::Number(a), Value::Number(b)) => Num::from_number(b) == Some(*a),
            (Self::String(a), Value::String(b)) => a == b,
            (Self::Array(a), b) => a == b,
            (Self::Object(a), b) => a == b,
            _ => false,
        }
    }
}

impl PartialEq<Value> for ArrayRef<'_> {
    fn eq(&self, other: &Value) -> bool {
        let Value::Array(items) = other else {
            return false;
        };
        self.len == items.len() && self.iter().zip(items).all(|(a, b)| a == *b)
    }
}

impl PartialEq<Value> for ObjectRef<'_> {
    fn eq(&self, other: &Value) -> bool {
        let Value::Object(map) = other else {
            return false;
        };
        self.len == map.len()
            && self
                .iter()
                .all(|(key, value)| map.get(key).is_some_and(|b| value == *b))
    }
}

impl PartialEq<Value> for Object {
    fn eq(&self, other: &Value) -> bool {
        self.as_object_ref() == *other
    }
}

impl PartialEq<Object> for Value {
    fn eq(&self, other: &Object) -> bool {
        other == self
    }
}

impl PartialEq<ValueRef<'_>> for Value {
    fn eq(&self, other: &ValueRef<'_>) -> bool {
        other == self
    }
}
