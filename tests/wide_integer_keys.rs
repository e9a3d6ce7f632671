//! 128-bit integer keys are exact: distinct values stay distinct keys, at any
//! magnitude, and each equals the same value written as any other integer type
//! or as a float that is exactly equal.

use docstore::{Collection, Error, Indexed, Store};
use serde_json::json;

#[derive(Indexed, Clone, Debug, PartialEq)]
struct Device {
    #[index(unique)]
    serial: u128,
    #[index]
    offset: i128,
}

fn device(serial: u128, offset: i128) -> Device {
    Device { serial, offset }
}

fn serials(found: impl Iterator<Item = docstore::Versioned<Device>>) -> Vec<u128> {
    found.map(|device| device.serial).collect()
}

#[test]
fn serials_beyond_64_bits_are_distinct_unique_keys() -> Result<(), Error> {
    let devices = Collection::<Device>::new();
    let base = 1_u128 << 100;
    devices.insert(device(base, 0))?;
    devices.insert(device(base + 1, 0))?;
    devices.insert(device(base + 12_345, 0))?;
    let found = devices.get_unique(Device::serial, base + 12_345)?;
    assert_eq!(found.map(|device| device.serial), Some(base + 12_345));
    assert_eq!(devices.get_unique(Device::serial, base + 2)?, None);
    let again = devices.insert(device(base + 1, 0));
    assert!(
        matches!(again, Err(rejected) if matches!(rejected.error(), Error::UniqueViolation { .. }))
    );
    assert!(devices.verify()?.is_empty());
    Ok(())
}

#[test]
fn values_at_and_above_two_to_the_127_are_distinct() -> Result<(), Error> {
    let devices = Collection::<Device>::new();
    let top = [
        u128::MAX,
        u128::MAX - 1,
        1 << 127,
        (1 << 127) + 1,
        i128::MAX.unsigned_abs(),
    ];
    for serial in top {
        devices.insert(device(serial, 0))?;
    }
    for serial in top {
        let found = devices.get_unique(Device::serial, serial)?;
        assert_eq!(found.map(|device| device.serial), Some(serial));
    }
    let mut expected = top.to_vec();
    expected.sort_unstable();
    assert_eq!(serials(devices.range(Device::serial, ..)?), expected);
    // u128::MAX and i128::MAX are different keys; the range between them holds
    // exactly the three values strictly inside.
    let inside = devices.range(Device::serial, i128::MAX.unsigned_abs() + 1..u128::MAX)?;
    assert_eq!(serials(inside), [1 << 127, (1 << 127) + 1, u128::MAX - 1]);
    assert!(devices.verify()?.is_empty());
    Ok(())
}

#[test]
fn ranges_cross_the_64_bit_boundary_in_number_order() -> Result<(), Error> {
    let devices = Collection::<Device>::new();
    let offsets = [
        i128::MIN,
        -(1 << 100),
        i128::from(i64::MIN) - 1,
        i128::from(i64::MIN),
        -1,
        0,
        i128::from(u64::MAX),
        i128::from(u64::MAX) + 1,
        i128::MAX,
    ];
    for (serial, offset) in offsets.iter().rev().enumerate() {
        devices.insert(device(serial as u128, *offset))?;
    }
    let all: Vec<i128> = devices
        .range(Device::offset, ..)?
        .map(|d| d.offset)
        .collect();
    assert_eq!(all, offsets);
    let middle: Vec<i128> = devices
        .range(
            Device::offset,
            i128::from(i64::MIN) - 1..=i128::from(u64::MAX) + 1,
        )?
        .map(|d| d.offset)
        .collect();
    assert_eq!(middle, offsets[2..8]);
    Ok(())
}

#[test]
fn a_wide_integer_equals_the_same_value_as_a_json_number() -> Result<(), Error> {
    let store = Store::new();
    store.create_index("by_n", ["n"])?;
    store.insert(json!({"n": u64::MAX}))?;
    store.insert(json!({"n": 1e30}))?;
    store.insert(json!({"n": -5}))?;
    // The same values, asked for as 128-bit integers.
    assert_eq!(store.lookup("by_n", u128::from(u64::MAX))?.count(), 1);
    assert_eq!(store.lookup("by_n", -5_i128)?.count(), 1);
    // 1e30 as a float is exactly 1000000000000000019884624838656.
    assert_eq!(
        store
            .lookup("by_n", 1_000_000_000_000_000_019_884_624_838_656_u128)?
            .count(),
        1
    );
    assert_eq!(
        store
            .lookup("by_n", 1_000_000_000_000_000_000_000_000_000_000_u128)?
            .count(),
        0
    );
    let big = store.range("by_n", u128::from(u64::MAX) + 1..)?;
    assert_eq!(big.count(), 1);
    Ok(())
}
