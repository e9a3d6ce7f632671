use std::hash::BuildHasher;

use serde_json::json;

use super::*;

fn doc(value: Value) -> Object {
    Object::from_value(value).expect("a valid document")
}

fn benchmark_document() -> Value {
    json!({"name": "user-1234", "age": 34, "city": "city-34", "score": 617.0, "active": true,
           "tags": ["t2", "t2"], "address": {"zip": "z234", "street": "s1234"}})
}

/// Nests `levels` objects, the outermost being the document.
fn nested_objects(levels: usize) -> Value {
    // Built by hand: `json!` would deep-copy `inner` at every level.
    (1..levels).fold(json!({}), |inner, _| {
        Value::Object(Map::from_iter([("a".into(), inner)]))
    })
}

/// Checks that `value`, as a field, comes back identical by every route out.
fn assert_round_trips(value: &Value) {
    let original = json!({ "field": value });
    let object = doc(original.clone());
    // Serialized text tells -0.0 from 0.0, which `Value`'s `==` does not.
    let text = serde_json::to_string(&original).unwrap();
    assert_eq!(serde_json::to_string(&object.to_value()).unwrap(), text);
    assert_eq!(serde_json::to_string(&object).unwrap(), text);
    assert_eq!(object.to_string(), text);
    assert_eq!(object, original);
    assert_eq!(object.get("field").unwrap(), *value);
}

#[test]
fn every_kind_of_value_round_trips_exactly() {
    let values = json!([
        null, true, false,
        0, 1, 127, 128, 255, 256, 65_536, u32::MAX, u64::MAX, i64::MAX,
        -1, -128, -129, -70_000, i64::MIN,
        5.0, 617.0, 0.1, 1e308, -1e308, 5e-324, -0.0, f64::MAX, f64::MIN_POSITIVE,
        "", "é ключ 日本語 🦀", "x".repeat(63), "x".repeat(64), "y".repeat(100_000),
        [], {}, [[], [[]], {}], {"": {"": []}, "ключ": "🦀"},
        [1, -1, 2.5, "s", null, true, {"k": [u64::MAX, i64::MIN]}],
        benchmark_document(),
    ]);
    for value in values.as_array().unwrap() {
        assert_round_trips(value);
    }
}

#[test]
fn numbers_keep_their_representation_and_bits() {
    let object =
        doc(json!({"int": 5, "float": 5.0, "zero": -0.0, "max": u64::MAX, "min": i64::MIN}));
    let number = |key| object.get(key).and_then(|value| value.as_number());
    assert_eq!(number("int"), Some(Num::PosInt(5)));
    assert_eq!(number("float"), Some(Num::Float(5.0)));
    assert_ne!(object.get("int").unwrap(), object.get("float").unwrap());
    assert_ne!(object.get("int").unwrap(), json!(5.0));
    let Some(Num::Float(zero)) = number("zero") else {
        panic!("-0.0 must stay a float")
    };
    assert!(zero.is_sign_negative());
    assert!(
        object.to_value()["zero"]
            .as_f64()
            .is_some_and(f64::is_sign_negative)
    );
    let (max, min) = (number("max").unwrap(), number("min").unwrap());
    assert_eq!((max.as_u64(), max.as_i64()), (Some(u64::MAX), None));
    assert_eq!((min.as_i64(), min.as_u64()), (Some(i64::MIN), None));

    for f in [
        0.1,
        1e308,
        5e-324,
        -0.0,
        617.0,
        1.0 / 3.0,
        f64::from(f32::MAX),
        f64::EPSILON,
    ] {
        let back = doc(json!({ "f": f })).to_value()["f"].as_f64().unwrap();
        assert_eq!(back.to_bits(), f.to_bits(), "{f:e}");
    }
}

#[test]
fn benchmark_document_is_small() {
    let object = doc(benchmark_document());
    println!("benchmark document: {} bytes", object.size_in_bytes());
    assert!(
        object.size_in_bytes() <= 160,
        "{} bytes",
        object.size_in_bytes()
    );
    assert_eq!(object.get("age").and_then(|age| age.as_u64()), Some(34));
    assert_eq!(object.get("age").and_then(|age| age.as_i64()), Some(34));
}

#[test]
fn fields_are_read_without_decoding_the_rest() {
    let object = doc(benchmark_document());
    assert_eq!(object.len(), 7);
    assert!(!object.is_empty() && doc(json!({})).is_empty());
    assert_eq!(
        object.get("name").and_then(|v| v.as_str()),
        Some("user-1234")
    );
    assert_eq!(object.get("score").and_then(|v| v.as_f64()), Some(617.0));
    assert_eq!(object.get("active").and_then(|v| v.as_bool()), Some(true));
    assert!(object.get("missing").is_none() && object.get("ag").is_none());
    assert_eq!(
        object
            .get_path(&["address", "zip"])
            .and_then(|v| v.as_str()),
        Some("z234")
    );
    assert_eq!(
        object
            .get_path(&[String::from("address")])
            .unwrap()
            .as_object()
            .unwrap()
            .len(),
        2
    );
    assert!(object.get_path(&["address", "zip", "deeper"]).is_none());
    assert!(object.get_path(&["tags", "0"]).is_none());
    assert_eq!(object.get_path::<&str>(&[]).unwrap(), benchmark_document());

    let tags = object.get("tags").and_then(|v| v.as_array()).unwrap();
    assert_eq!((tags.len(), tags.iter().len()), (2, 2));
    assert_eq!(tags.get(1).and_then(|v| v.as_str()), Some("t2"));
    assert!(tags.get(2).is_none() && tags.get(usize::MAX).is_none());

    // Iteration follows the source map's order.
    let source = benchmark_document();
    let keys: Vec<&str> = object.iter().map(|(key, _)| key).collect();
    let expected: Vec<&str> = source
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, expected);
}

#[test]
fn large_objects_build_in_linear_time() {
    // 20,000 fields, and a 20,000-item array whose body length needs a
    // multi-byte varint. Shifting or re-encoding the tape per field would make
    // this test crawl.
    let mut map: Map<String, Value> = (0..20_000)
        .map(|i| (format!("field-{i}"), json!(i)))
        .collect();
    map.insert(
        "list".into(),
        Value::Array((0..20_000).map(|i| json!(format!("item-{i}"))).collect()),
    );
    let object = Object::from_map(&map).unwrap();
    assert_eq!(object.len(), 20_001);
    assert_eq!(
        object.get("field-19999").and_then(|v| v.as_u64()),
        Some(19_999)
    );
    assert_eq!(
        object
            .get("list")
            .and_then(|v| v.as_array()?.get(19_999)?.as_str()),
        Some("item-19999")
    );
    assert_eq!(object.to_value(), Value::Object(map));
}

#[test]
fn depth_is_limited_before_recursing() {
    assert!(Object::from_value(nested_objects(MAX_DEPTH)).is_ok());
    let error = Object::from_value(nested_objects(MAX_DEPTH + 1)).unwrap_err();
    assert!(
        error.reason().contains(&format!("{MAX_DEPTH} levels")),
        "{error}"
    );

    let in_arrays = |levels: usize| {
        let array = (1..levels).fold(json!([]), |inner, _| Value::Array(vec![inner]));
        Value::Object(Map::from_iter([("a".into(), array)]))
    };
    assert!(Object::from_value(in_arrays(MAX_DEPTH - 1)).is_ok());
    assert!(Object::from_value(in_arrays(MAX_DEPTH)).is_err());
    // Far too deep: refused at the limit rather than by exhausting the stack.
    assert!(Object::from_value(in_arrays(2_000)).is_err());
}

#[test]
fn non_objects_are_refused_with_a_reason() {
    for (value, kind) in [
        (json!(null), "null"),
        (json!(1), "a number"),
        (json!("s"), "a string"),
        (json!([]), "an array"),
    ] {
        let error = Object::try_from(value).unwrap_err();
        assert!(error.reason().ends_with(kind), "{error}");
    }
    let error = serde_json::from_str::<Object>("[1]").unwrap_err();
    assert!(error.to_string().contains("an array"), "{error}");
    let object: Object = serde_json::from_str(r#"{"a": [1, 2.0]}"#).unwrap();
    assert_eq!(Value::from(&object), json!({"a": [1, 2.0]}));
}

#[test]
fn serialization_matches_serde_json() {
    let value = benchmark_document();
    let object = doc(value.clone());
    assert_eq!(
        serde_json::to_string_pretty(&object).unwrap(),
        serde_json::to_string_pretty(&value).unwrap()
    );
    assert_eq!(
        format!("{object:#}"),
        serde_json::to_string_pretty(&value).unwrap()
    );
    assert_eq!(
        format!("{:?}", object.get("tags").unwrap()),
        r#"["t2","t2"]"#
    );
    assert_eq!(
        object.get("address").unwrap().to_string(),
        r#"{"street":"s1234","zip":"z234"}"#
    );
    assert_eq!(Value::from(object), value);
}

#[test]
fn equality_and_hashing_follow_serde_json() {
    let a = doc(json!({"x": [1, {"y": -0.0}], "z": "s"}));
    let same = doc(json!({"z": "s", "x": [1, {"y": 0.0}]}));
    assert_eq!(a, same);
    assert_eq!(a, json!({"x": [1, {"y": 0.0}], "z": "s"}));
    assert_eq!(json!({"x": [1, {"y": 0.0}], "z": "s"}), a);
    assert_ne!(a, json!({"x": [1, {"y": 0.0}], "z": "t"}));
    assert_ne!(a, json!({"x": [1.0, {"y": 0.0}], "z": "s"}));
    assert_ne!(a, json!({"x": [1, {"y": 0.0}]}));
    assert_ne!(a, doc(json!({"x": [1, {"y": 0.0}], "w": "s"})));

    // Fields stored in another order (possible with `preserve_order`) still
    // compare and hash equal.
    let map = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": 4});
    let mut encoder = Encoder::default();
    encoder
        .object_body(map.as_object().unwrap().iter().rev(), 1)
        .unwrap();
    let reversed = Object {
        bytes: Tape::new(&encoder.out),
    };
    let forward = doc(map.clone());
    assert_ne!(reversed.bytes.as_bytes(), forward.bytes.as_bytes());
    assert_eq!(reversed, forward);
    assert_eq!(reversed, map);
    let hasher = std::collections::hash_map::RandomState::new();
    assert_eq!(hasher.hash_one(&reversed), hasher.hash_one(&forward));
    assert_eq!(hasher.hash_one(&a), hasher.hash_one(&same));
}

#[test]
fn corrupt_bytes_never_panic() {
    let bytes = doc(benchmark_document()).bytes.as_bytes().to_vec();
    let mut corruptions: Vec<Box<[u8]>> = (0..bytes.len()).map(|len| bytes[..len].into()).collect();
    for at in 0..bytes.len() {
        for flip in [0x01, 0x10, 0x80, 0xFF] {
            let mut corrupt = bytes.to_vec();
            corrupt[at] ^= flip;
            corruptions.push(corrupt.into());
        }
    }
    corruptions.push(vec![0xFF; 12].into());
    for bytes in corruptions {
        let object = Object {
            bytes: Tape::new(&bytes),
        };
        let _ = (
            object.len(),
            object.get("age"),
            object.get_path(&["address", "zip"]),
        );
        let _ = (
            object.to_value(),
            object.to_string(),
            object == object.clone(),
        );
        let _ = object.iter().count();
    }
}
