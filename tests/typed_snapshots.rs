//! Reading a typed collection as of one moment: scans, index-ordered
//! iteration, snapshots and cursors, none of which later writes can change.

use std::thread;

use docstore::{Collection, Error, Id, Indexed, Versioned};

#[derive(Indexed, Clone, Debug)]
struct Reading {
    #[index]
    sensor: String,
    #[index]
    celsius: f64,
}

fn reading(sensor: &str, celsius: f64) -> Reading {
    Reading {
        sensor: sensor.to_owned(),
        celsius,
    }
}

fn temperatures(found: impl Iterator<Item = Versioned<Reading>>) -> Vec<f64> {
    found.map(|doc| doc.celsius).collect()
}

/// Five readings, inserted out of temperature order; returns their ids.
fn readings() -> Result<(Collection<Reading>, Vec<Id>), Error> {
    let collection = Collection::new();
    let ids = [
        ("b", 21.5),
        ("a", -3.0),
        ("c", 30.0),
        ("a", 12.25),
        ("b", 0.0),
    ]
    .into_iter()
    .map(|(sensor, celsius)| Ok(collection.insert(reading(sensor, celsius))?))
    .collect::<Result<_, Error>>()?;
    Ok((collection, ids))
}

#[test]
fn iteration_is_in_insertion_order() -> Result<(), Error> {
    let (collection, ids) = readings()?;
    let scanned: Vec<Id> = collection.iter()?.map(|doc| doc.id()).collect();
    assert_eq!(scanned, ids);
    assert_eq!(collection.iter()?.len(), 5);
    let last_two: Vec<Id> = collection
        .iter()?
        .rev()
        .take(2)
        .map(|doc| doc.id())
        .collect();
    assert_eq!(last_two, [ids[4], ids[3]]);
    Ok(())
}

#[test]
fn by_index_is_in_key_order() -> Result<(), Error> {
    let (collection, _) = readings()?;
    assert_eq!(
        temperatures(collection.by_index(Reading::celsius)?),
        [-3.0, 0.0, 12.25, 21.5, 30.0]
    );
    let sensors: Vec<String> = collection
        .by_index(Reading::sensor)?
        .map(|doc| doc.sensor.clone())
        .collect();
    assert_eq!(sensors, ["a", "a", "b", "b", "c"]);
    Ok(())
}

#[test]
fn iterators_are_unaffected_by_later_writes() -> Result<(), Error> {
    let (collection, ids) = readings()?;
    let scan = collection.iter()?;
    let ordered = collection.by_index(Reading::celsius)?;
    let hot = collection.range(Reading::celsius, 20.0..)?;

    collection.delete(ids[0])?;
    collection.update(ids[1], reading("a", 99.0))?;
    collection.insert(reading("d", 25.0))?;

    assert_eq!(scan.map(|doc| doc.id()).collect::<Vec<_>>(), ids);
    assert_eq!(temperatures(ordered), [-3.0, 0.0, 12.25, 21.5, 30.0]);
    assert_eq!(temperatures(hot), [21.5, 30.0]);
    assert_eq!(
        temperatures(collection.range(Reading::celsius, 20.0..)?),
        [25.0, 30.0, 99.0]
    );
    Ok(())
}

#[test]
fn a_snapshot_is_one_moment() -> Result<(), Error> {
    let (collection, ids) = readings()?;
    let snapshot = collection.snapshot()?;
    collection.update(ids[0], reading("b", 22.0))?;
    collection.delete(ids[2])?;

    assert_eq!(snapshot.len(), 5);
    assert_eq!(snapshot.get(ids[0])?.celsius, 21.5);
    assert_eq!(snapshot.get(ids[0])?.version(), 1);
    assert!(snapshot.contains(ids[2]));
    assert_eq!(snapshot.lookup(Reading::sensor, "c")?.count(), 1);
    assert_eq!(collection.lookup(Reading::sensor, "c")?.count(), 0);
    Ok(())
}

#[test]
fn a_cursor_moves_both_ways() -> Result<(), Error> {
    let (collection, _) = readings()?;
    let mut cursor = collection.by_index(Reading::celsius)?.into_cursor();
    let celsius = |doc: Option<Versioned<Reading>>| doc.map(|doc| doc.celsius);

    assert_eq!(cursor.len(), 5);
    assert_eq!(celsius(cursor.next()), Some(-3.0));
    assert_eq!(celsius(cursor.next()), Some(0.0));
    assert_eq!(celsius(cursor.prev()), Some(0.0));
    assert_eq!(cursor.position(), 1);

    cursor.advance(2);
    assert_eq!(celsius(cursor.next()), Some(21.5));
    cursor.advance(-100);
    assert_eq!(cursor.position(), 0);
    assert_eq!(celsius(cursor.prev()), None);
    cursor.advance(100);
    assert_eq!((cursor.position(), cursor.remaining()), (5, 0));
    assert_eq!(celsius(cursor.next()), None);
    assert_eq!(celsius(cursor.prev()), Some(30.0));

    cursor.reset();
    assert_eq!(celsius(cursor.peek()), Some(-3.0));
    Ok(())
}

#[test]
fn a_cloned_cursor_moves_on_its_own() -> Result<(), Error> {
    let (collection, ids) = readings()?;
    let mut cursor = collection.cursor()?;
    cursor.next();
    let mut copy = cursor.clone();
    copy.next();
    copy.next();
    assert_eq!(cursor.next().map(|doc| doc.id()), Some(ids[1]));
    assert_eq!(copy.next().map(|doc| doc.id()), Some(ids[3]));
    Ok(())
}

#[test]
fn a_cursor_is_unaffected_by_later_writes() -> Result<(), Error> {
    let (collection, ids) = readings()?;
    let mut cursor = collection.cursor()?;
    for id in &ids {
        collection.delete(*id)?;
    }
    assert!(collection.is_empty()?);
    let seen: Vec<Id> = std::iter::from_fn(|| cursor.next().map(|doc| doc.id())).collect();
    assert_eq!(seen, ids);
    Ok(())
}

#[test]
fn iterators_and_cursors_can_move_to_another_thread() -> Result<(), Error> {
    let (collection, _) = readings()?;
    let ordered = collection.by_index(Reading::celsius)?;
    let mut cursor = collection.cursor()?;
    let snapshot = collection.snapshot()?;
    let from_thread = thread::spawn(move || {
        cursor.advance(4);
        (
            temperatures(ordered),
            cursor.next().map(|doc| doc.celsius),
            snapshot.len(),
        )
    })
    .join()
    .expect("reader panicked");
    assert_eq!(
        from_thread,
        (vec![-3.0, 0.0, 12.25, 21.5, 30.0], Some(0.0), 5)
    );
    Ok(())
}
