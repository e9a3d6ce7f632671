use super::*;

fn key(write: impl FnOnce(&mut KeyWriter)) -> Vec<u8> {
    let mut out = KeyWriter::new();
    write(&mut out);
    assert_eq!(out.invalid(), None);
    out.bytes().to_vec()
}

fn json(value: serde_json::Value) -> Vec<u8> {
    key(|out| value.write_key(out))
}

#[test]
fn types_order_null_bool_number_string_array_object() {
    use serde_json::json;
    let ordered = [
        json!(null),
        json!(false),
        json!(true),
        json!(-1e300),
        json!(i64::MIN),
        json!(-1),
        json!(-0.5),
        json!(0),
        json!(5e-324),
        json!(0.5),
        json!(1),
        json!(5.5),
        json!(6),
        json!(9_007_199_254_740_993_u64),
        json!(i64::MAX),
        json!(u64::MAX),
        json!(1e300),
        json!(""),
        json!("a"),
        json!("a\u{0}"),
        json!("ab"),
        json!("b"),
        json!([]),
        json!([1]),
        json!([1, 2]),
        json!([2]),
        json!({}),
        json!({"a": 1}),
    ];
    let keys: Vec<_> = ordered.iter().cloned().map(json).collect();
    for (i, pair) in keys.windows(2).enumerate() {
        assert!(pair[0] < pair[1], "{} !< {}", ordered[i], ordered[i + 1]);
    }
}

#[test]
fn numbers_compare_by_exact_value() {
    assert_eq!(key(|o| o.write_u64(5)), key(|o| o.write_f64(5.0)));
    assert_eq!(key(|o| o.write_i64(-7)), key(|o| o.write_f64(-7.0)));
    assert_eq!(key(|o| o.write_f64(-0.0)), key(|o| o.write_u64(0)));
    // 2^53 + 1 is not an f64; it must still sort above 2^53 and below 2^53 + 2.
    let big = 1_u64 << 53;
    assert!(key(|o| o.write_u64(big)) < key(|o| o.write_u64(big + 1)));
    assert!(key(|o| o.write_u64(big + 1)) < key(|o| o.write_f64((big + 2) as f64)));
    assert!(key(|o| o.write_i64(i64::MIN)) < key(|o| o.write_i64(i64::MIN + 1)));
    assert!(key(|o| o.write_u64(u64::MAX - 1)) < key(|o| o.write_u64(u64::MAX)));
    assert!(key(|o| o.write_f64(f64::NEG_INFINITY)) < key(|o| o.write_f64(-f64::MAX)));
    assert!(key(|o| o.write_f64(f64::MAX)) < key(|o| o.write_f64(f64::INFINITY)));
}

#[test]
fn wide_integers_are_exact_and_equal_their_narrow_and_float_forms() {
    let two_100 = 1_u128 << 100;
    assert!(key(|o| o.write_u128(two_100)) < key(|o| o.write_u128(two_100 + 1)));
    assert_eq!(
        key(|o| o.write_u128(two_100)),
        key(|o| o.write_f64(2f64.powi(100)))
    );
    assert_eq!(
        key(|o| o.write_i128(-(1 << 100))),
        key(|o| o.write_f64(-(2f64.powi(100))))
    );
    assert_eq!(key(|o| o.write_u128(7)), key(|o| o.write_u64(7)));
    assert_eq!(key(|o| o.write_i128(-7)), key(|o| o.write_i64(-7)));
    assert_eq!(
        key(|o| o.write_u128(u128::from(u64::MAX))),
        key(|o| o.write_u64(u64::MAX))
    );
    assert_eq!(
        key(|o| o.write_i128(i64::MIN.into())),
        key(|o| o.write_i64(i64::MIN))
    );
    let ordered = [
        key(|o| o.write_f64(f64::NEG_INFINITY)),
        key(|o| o.write_f64(-1e300)),
        key(|o| o.write_i128(i128::MIN)),
        key(|o| o.write_i128(i128::MIN + 1)),
        key(|o| o.write_i128(-(1 << 100) - 1)),
        key(|o| o.write_i128(-(1 << 100))),
        key(|o| o.write_i128(i128::from(i64::MIN) - 1)),
        key(|o| o.write_i64(i64::MIN)),
        key(|o| o.write_u64(u64::MAX)),
        key(|o| o.write_u128(u128::from(u64::MAX) + 1)),
        key(|o| o.write_f64(1.5 * 2f64.powi(64))),
        key(|o| o.write_u128(two_100)),
        key(|o| o.write_u128(two_100 + 1)),
        key(|o| o.write_i128(i128::MAX)),
        key(|o| o.write_u128(1 << 127)),
        key(|o| o.write_u128((1 << 127) + 1)),
        key(|o| o.write_u128(u128::MAX - 1)),
        key(|o| o.write_u128(u128::MAX)),
        key(|o| o.write_f64(2f64.powi(128))),
        key(|o| o.write_f64(1e300)),
        key(|o| o.write_f64(f64::INFINITY)),
    ];
    for (i, pair) in ordered.windows(2).enumerate() {
        assert!(pair[0] < pair[1], "key {i} !< key {}", i + 1);
    }
    // No number's bytes start another's, so a composite prefix stays exact.
    for (i, a) in ordered.iter().enumerate() {
        for b in &ordered[i + 1..] {
            assert!(!b.starts_with(a) && !a.starts_with(b));
        }
    }
    assert_eq!(
        describe(&key(|o| o.write_u128(u128::MAX))),
        u128::MAX.to_string()
    );
    assert_eq!(
        describe(&key(|o| o.write_i128(i128::MIN))),
        i128::MIN.to_string()
    );
    assert_eq!(
        describe(&key(|o| o.write_u128(two_100 + 1))),
        (two_100 + 1).to_string()
    );
    assert_eq!(describe(&key(|o| o.write_f64(1e300))), "1e300");
    assert_eq!(describe(&key(|o| o.write_f64(-1.5))), "-1.5");
}

#[test]
fn nan_is_refused() {
    let mut out = KeyWriter::new();
    out.write_f64(f64::NAN);
    assert!(out.invalid().is_some());
}

#[test]
fn composite_keys_compare_field_by_field_and_prefixes_first() {
    let paris_30 = key(|o| ("Paris", 30).write_key(o));
    let paris_4 = key(|o| ("Paris", 4).write_key(o));
    let paris = key(|o| ("Paris",).write_key(o));
    let rome_1 = key(|o| ("Rome", 1).write_key(o));
    assert!(paris < paris_4 && paris_4 < paris_30 && paris_30 < rome_1);
    assert!(paris_30.starts_with(&paris));
}

#[test]
fn keys_describe_themselves() {
    let describe_json = |v: serde_json::Value| describe(&json(v));
    assert_eq!(describe_json(serde_json::json!("Paris")), "\"Paris\"");
    assert_eq!(
        describe_json(serde_json::json!(u64::MAX)),
        u64::MAX.to_string()
    );
    assert_eq!(
        describe_json(serde_json::json!(i64::MIN)),
        i64::MIN.to_string()
    );
    assert_eq!(describe_json(serde_json::json!(2.5)), "2.5");
    assert_eq!(describe_json(serde_json::json!(-0.25)), "-0.25");
    assert_eq!(
        describe_json(serde_json::json!([1, "a", null, {"k": true}])),
        "[1, \"a\", null, {\"k\": true}]"
    );
    assert_eq!(
        describe(&key(|o| ("Paris", 30).write_key(o))),
        "(\"Paris\", 30)"
    );
}

#[test]
fn short_keys_are_inline_and_long_ones_shared() {
    let short = KeyBytes::new(b"abc");
    let long = KeyBytes::new(&[7; 100]);
    assert!(matches!(short, KeyBytes::Inline { .. }));
    assert!(matches!(long, KeyBytes::Heap(_)));
    assert_eq!(short.as_bytes(), b"abc");
    assert_eq!(long.as_bytes(), &[7; 100][..]);
    assert_eq!(std::mem::size_of::<KeyBytes>(), 24);
}

#[test]
fn inline_and_shared_keys_order_like_their_bytes() {
    let samples: Vec<Vec<u8>> = vec![
        vec![],
        vec![0],
        vec![0, 0],
        vec![1],
        vec![1, 0],
        vec![1, 0, 0],
        vec![1, 2],
        vec![0xFF; 21],
        vec![0xFF; 22],
        vec![0xFF; 23],
        [vec![7; 16], vec![0]].concat(),
        [vec![7; 16], vec![1]].concat(),
        [vec![7; 22], vec![0]].concat(),
    ];
    // Keys that first differ at every position of an inline buffer, so that
    // each of the words an inline compare reads decides some pair.
    let mut samples = samples;
    for at in 0..22 {
        for last in [0, 1, 200] {
            samples.push([vec![7; at], vec![last]].concat());
        }
    }
    for a in &samples {
        for b in &samples {
            let (ka, kb) = (KeyBytes::new(a), KeyBytes::new(b));
            assert_eq!(ka.cmp(&kb), a.cmp(b), "{a:?} vs {b:?}");
            assert_eq!(ka == kb, a == b);
        }
    }
}
