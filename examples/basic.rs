//! CRUD and versions on a schemaless store.
//!
//! Run with `cargo run --example basic`.

use docstore::{Error, Store};
use serde_json::json;

fn main() -> Result<(), Error> {
    let store = Store::new();

    // Documents go in as JSON objects; each gets a time-ordered id and version 1.
    let id = store.insert(json!({
        "name": "Ada Lovelace",
        "born": 1815,
        "languages": ["English", "French"],
        "address": {"city": "London"}
    }))?;
    let ada = store.get(id)?;
    println!("inserted {id} at version {}", ada.version());
    println!("  {ada}");

    // Reads hand out immutable snapshots of one version: this handle keeps
    // version 1 whatever happens to the document later.
    let city = ada
        .value()
        .get_path(&["address", "city"])
        .and_then(|v| v.as_str());
    println!("  city: {city:?}");

    // A full replace bumps the version.
    let version = store.update(
        id,
        json!({"name": "Ada Lovelace", "born": 1815, "title": "Countess"}),
    )?;
    println!(
        "updated to version {version}; the old handle still reads version {}",
        ada.version()
    );

    // Compare-and-set: succeeds only against the version the caller last saw.
    match store.update_if(id, 1, json!({"name": "stale write"})) {
        Err(Error::VersionConflict {
            expected, actual, ..
        }) => {
            println!("conditional update refused: expected version {expected}, found {actual}");
        }
        other => println!("unexpected: {other:?}"),
    }

    // Atomic read-modify-write: the closure sees the current document.
    let updated = store.update_with(id, |doc| {
        let mut value = doc.to_value();
        value["visits"] = json!(doc.get("visits").and_then(|v| v.as_u64()).unwrap_or(0) + 1);
        value
    })?;
    println!(
        "read-modify-write stored version {}: {updated}",
        updated.version()
    );

    // Anything but an object is refused, and nothing is stored.
    let refused = store.insert(json!(["not", "an", "object"]));
    println!("inserting an array: {}", refused.map(|_| ()).unwrap_err());

    let removed = store.delete(id)?;
    println!(
        "deleted {} (it was at version {})",
        removed.id(),
        removed.version()
    );
    println!("getting it again: {}", store.get(id).unwrap_err());
    Ok(())
}
