//! Secondary indexes: exact lookups, ranges, prefixes on composite keys, unique
//! and multi-key indexes.
//!
//! Run with `cargo run --example indexing`.

use docstore::{Document, Error, IndexOptions, Store};
use serde_json::json;

fn main() -> Result<(), Error> {
    let store = Store::new();
    store.create_index("by_city", ["city"])?;
    store.create_index("by_age", ["age"])?;
    store.create_index("by_city_age", ["city", "age"])?;
    store.create_index("by_zip", ["address.zip"])?;
    store.create_index_with("by_email", ["email"], IndexOptions::new().unique())?;
    store.create_index_with("by_tag", ["tags"], IndexOptions::new().multi_key())?;

    let people = [
        ("ada", "London", json!(36), "N1", ["math", "poetry"]),
        ("alan", "London", json!(41), "N2", ["math", "running"]),
        ("grace", "New York", json!(85), "10001", ["navy", "cobol"]),
        ("edsger", "Austin", json!(72), "78701", ["math", "goto"]),
        ("barbara", "Boston", json!(29.5), "02139", ["clu", "math"]),
    ];
    for (name, city, age, zip, tags) in people {
        store.insert(json!({
            "name": name,
            "email": format!("{name}@example.com"),
            "city": city,
            "age": age,
            "address": {"zip": zip},
            "tags": tags,
        }))?;
    }

    println!(
        "in London:            {:?}",
        names(store.lookup("by_city", "London")?)
    );
    println!(
        "aged 30 to 75:        {:?}",
        names(store.range("by_age", 30..75)?)
    );
    println!(
        "aged up to 36:        {:?}",
        names(store.range("by_age", ..=36)?)
    );
    println!(
        "the two oldest:       {:?}",
        names(store.range("by_age", ..)?.rev().take(2))
    );
    println!(
        "London, in age order: {:?}",
        names(store.prefix("by_city_age", "London")?)
    );
    println!(
        "London and 41:        {:?}",
        names(store.lookup("by_city_age", ("London", 41))?)
    );
    println!(
        "zip 10001:            {:?}",
        names(store.lookup("by_zip", "10001")?)
    );
    println!(
        "tagged math:          {:?}",
        names(store.lookup("by_tag", "math")?)
    );

    let grace = store.get_unique("by_email", "grace@example.com")?;
    println!(
        "by email:             {:?}",
        grace.and_then(|d| d.get("name")?.as_str().map(str::to_owned))
    );

    let clash = store.insert(json!({"name": "impostor", "email": "ada@example.com"}));
    println!("a second ada@...:     {}", clash.unwrap_err());

    // Numbers are one order, whatever their type: 29.5 sits between 29 and 30.
    println!(
        "aged 29 to 30:        {:?}",
        names(store.range("by_age", 29..30)?)
    );
    // An inverted range is empty, never a panic.
    let (from, to) = (75, 30);
    println!(
        "aged 75 to 30:        {:?}",
        names(store.range("by_age", from..to)?)
    );
    Ok(())
}

/// The "name" field of each document.
fn names(docs: impl IntoIterator<Item = Document>) -> Vec<String> {
    docs.into_iter()
        .filter_map(|doc| doc.get("name")?.as_str().map(str::to_owned))
        .collect()
}
