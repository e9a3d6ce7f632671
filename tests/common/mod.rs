//! Helpers shared by the integration tests: the specification's key order,
//! written by hand, to check the engine's against.

// Each test binary compiles this module and uses a different part of it.
#![allow(dead_code)]

use std::cmp::Ordering;

use serde_json::{Number, Value};

/// `null < booleans < numbers < strings < arrays < objects`.
pub fn type_rank(value: &Value) -> u8 {
    match value {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

/// A JSON number as an exact integer or a float.
pub enum Exact {
    Int(i128),
    Float(f64),
}

pub fn exact(number: &Number) -> Exact {
    if let Some(n) = number.as_u64() {
        Exact::Int(i128::from(n))
    } else if let Some(n) = number.as_i64() {
        Exact::Int(i128::from(n))
    } else {
        Exact::Float(number.as_f64().unwrap_or(f64::NAN))
    }
}

/// Compares an integer with a finite float exactly, with no rounding of either.
pub fn cmp_int_float(int: i128, float: f64) -> Ordering {
    // Every i128 we hold fits in ±2^64, far inside these limits.
    const LIMIT: f64 = 1e30;
    if float >= LIMIT {
        return Ordering::Less;
    }
    if float <= -LIMIT {
        return Ordering::Greater;
    }
    let floor = float.floor();
    // Exact: `floor` is integral and well inside i128.
    #[allow(clippy::cast_possible_truncation)]
    let floor_int = floor as i128;
    match int.cmp(&floor_int) {
        Ordering::Equal if float == floor => Ordering::Equal,
        // int == floor(float) < float
        Ordering::Equal => Ordering::Less,
        other => other,
    }
}

pub fn cmp_number(a: &Number, b: &Number) -> Ordering {
    match (exact(a), exact(b)) {
        (Exact::Int(x), Exact::Int(y)) => x.cmp(&y),
        (Exact::Float(x), Exact::Float(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        (Exact::Int(x), Exact::Float(y)) => cmp_int_float(x, y),
        (Exact::Float(x), Exact::Int(y)) => cmp_int_float(y, x).reverse(),
    }
}

/// The specification's total order on keys.
pub fn cmp_value(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => cmp_number(x, y),
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Array(x), Value::Array(y)) => cmp_seq(x, y),
        (Value::Object(x), Value::Object(y)) => {
            // Objects compare as their (key, value) pairs sorted by key.
            let mut xs: Vec<_> = x.iter().collect();
            let mut ys: Vec<_> = y.iter().collect();
            xs.sort_by(|p, q| p.0.as_bytes().cmp(q.0.as_bytes()));
            ys.sort_by(|p, q| p.0.as_bytes().cmp(q.0.as_bytes()));
            for ((kx, vx), (ky, vy)) in xs.iter().zip(&ys) {
                let order = kx
                    .as_bytes()
                    .cmp(ky.as_bytes())
                    .then_with(|| cmp_value(vx, vy));
                if order != Ordering::Equal {
                    return order;
                }
            }
            xs.len().cmp(&ys.len())
        }
        _ => type_rank(a).cmp(&type_rank(b)),
    }
}

/// Element by element; a prefix sorts first.
pub fn cmp_seq(a: &[Value], b: &[Value]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let order = cmp_value(x, y);
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

/// The keys a document with these field values has in an index, as the
/// specification defines them: one key, or for a multi-key index one per
/// combination of array elements; sorted by the key order, without duplicates.
pub fn key_combinations(values: &[&Value], multi_key: bool) -> Vec<Vec<Value>> {
    let mut keys: Vec<Vec<Value>> = vec![Vec::new()];
    for value in values {
        let choices: Vec<&Value> = match value {
            Value::Array(items) if multi_key => items.iter().collect(),
            other => vec![*other],
        };
        keys = keys
            .iter()
            .flat_map(|key| {
                choices.iter().map(move |choice| {
                    let mut key = key.clone();
                    key.push((*choice).clone());
                    key
                })
            })
            .collect();
    }
    keys.sort_by(|a, b| cmp_seq(a, b));
    keys.dedup_by(|a, b| cmp_seq(a, b) == Ordering::Equal);
    keys
}

/// Where a cursor at `at` over `len` results should stand after `advance(n)`:
/// moved by `n`, stopping at either end.
pub fn advanced(at: usize, n: isize, len: usize) -> usize {
    if n >= 0 {
        at.saturating_add(n.unsigned_abs()).min(len)
    } else {
        at.saturating_sub(n.unsigned_abs())
    }
}
