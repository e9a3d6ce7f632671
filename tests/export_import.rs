//! Backups: a store, a collection or a snapshot exports with ids, versions and
//! index definitions, and imports back into a new one as it was. Both ways
//! stream.

use std::cell::Cell;
use std::io::{self, Read, Write};

use docstore::{Collection, Error, Id, IndexOptions, Indexed, Store};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::json;

/// Every document of a store, with id and version, in id order.
fn contents(store: &Store) -> Result<Vec<(Id, u64, serde_json::Value)>, Error> {
    Ok(store
        .iter()?
        .map(|doc| (doc.id(), doc.version(), doc.value().to_value()))
        .collect())
}

#[test]
fn a_schemaless_store_round_trips_through_json_text() -> Result<(), Error> {
    let store = Store::new();
    store.create_index("by_city", ["city"])?;
    store.create_index_with("by_email", ["email"], IndexOptions::new().unique())?;
    store.create_index_with("by_tag", ["tags"], IndexOptions::new().multi_key())?;
    store.create_index_with(
        "by_zip_age",
        ["address.zip", "age"],
        IndexOptions::new().covering(),
    )?;
    let mut ids = Vec::new();
    for n in 0..50u64 {
        let city = ["Oslo", "Rome", "Lima"][n as usize % 3];
        ids.push(store.insert(json!({
            "email": format!("u{n}@x"),
            "city": city,
            "age": n,
            "tags": ["a", format!("t{}", n % 4)],
            "address": {"zip": format!("{:04}", n % 7)},
            "manager": ids.first().copied(),
        }))?);
    }
    for id in &ids[..10] {
        store.modify(*id, |doc| doc["age"] = json!(99))?;
    }
    store.delete(ids[20])?;

    let text = serde_json::to_string(&store).map_err(|e| Error::InvalidDocument {
        reason: e.to_string(),
    })?;
    let restored: Store = serde_json::from_str(&text).map_err(|e| Error::InvalidDocument {
        reason: e.to_string(),
    })?;

    assert_eq!(contents(&restored)?, contents(&store)?);
    assert_eq!(restored.get(ids[3])?.version(), 2);
    assert_eq!(restored.indexes()?, store.indexes()?);
    // References between documents (the manager's id) still lead somewhere.
    let manager: Id =
        serde_json::from_value(restored.get(ids[5])?.value().to_value()["manager"].clone())
            .map_err(|e| Error::InvalidDocument {
                reason: e.to_string(),
            })?;
    assert_eq!(manager, ids[0]);
    assert!(restored.contains(manager)?);
    // The indexes answer as before, and still hold their rules.
    assert_eq!(
        restored.lookup("by_tag", "t1")?.count(),
        store.lookup("by_tag", "t1")?.count()
    );
    assert_eq!(
        restored.prefix("by_zip_age", "0003")?.count(),
        store.prefix("by_zip_age", "0003")?.count()
    );
    assert!(matches!(
        restored.insert(json!({"email": "u1@x"})),
        Err(Error::UniqueViolation { .. })
    ));
    assert!(restored.verify()?.is_empty());
    // New documents get new ids, after the imported ones.
    let fresh = restored.insert(json!({"email": "new@x"}))?;
    assert!(!ids.contains(&fresh));
    assert_eq!(restored.len()?, 50);
    Ok(())
}

#[test]
fn an_export_is_one_consistent_cut() -> Result<(), Error> {
    let store = Store::new();
    let kept = store.insert(json!({"n": 1}))?;
    let snapshot = store.snapshot()?;
    store.update(kept, json!({"n": 2}))?;
    store.insert(json!({"n": 3}))?;

    let text = serde_json::to_string(&snapshot.export()).unwrap_or_default();
    let restored: Store = serde_json::from_str(&text).map_err(|e| Error::InvalidDocument {
        reason: e.to_string(),
    })?;
    assert_eq!(contents(&restored)?, vec![(kept, 1, json!({"n": 1}))]);
    Ok(())
}

#[derive(Indexed, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[indexed(composite(by_city_age = (city, age)))]
struct User {
    #[key]
    email: String,
    #[index]
    city: String,
    #[index(each)]
    tags: Vec<String>,
    age: u32,
}

fn user(n: u32) -> User {
    User {
        email: format!("u{n}@x"),
        city: ["Oslo", "Rome"][n as usize % 2].into(),
        tags: vec![format!("t{}", n % 3)],
        age: 20 + n,
    }
}

#[test]
fn a_typed_collection_round_trips_with_its_declared_indexes() -> Result<(), Error> {
    let users = Collection::<User>::new();
    let ids: Vec<Id> = (0..30)
        .map(|n| users.insert(user(n)))
        .collect::<Result<_, _>>()?;
    users.modify(ids[4], |u| u.age += 1)?;

    let text = serde_json::to_string(&users).unwrap_or_default();
    let restored: Collection<User> =
        serde_json::from_str(&text).map_err(|e| Error::InvalidDocument {
            reason: e.to_string(),
        })?;

    let before: Vec<_> = users
        .iter()?
        .map(|u| (u.id(), u.version(), (*u).clone()))
        .collect();
    let after: Vec<_> = restored
        .iter()?
        .map(|u| (u.id(), u.version(), (*u).clone()))
        .collect();
    assert_eq!(after, before);
    assert_eq!(restored.indexes()?, users.indexes()?);
    assert_eq!(
        restored.get_key("u4@x")?.map(|u| (u.id(), u.version())),
        Some((ids[4], 2))
    );
    assert_eq!(restored.prefix(User::by_city_age, ("Rome",))?.count(), 15);
    assert_eq!(restored.lookup(User::tags, "t1")?.count(), 10);
    assert!(restored.verify()?.is_empty());
    Ok(())
}

#[derive(Indexed, Clone, Debug, Serialize, Deserialize)]
struct Renamed {
    #[index]
    town: String,
}

#[test]
fn a_typed_import_refuses_an_export_of_other_indexes() {
    let users = Collection::<User>::new();
    users.insert(user(1)).ok();
    let text = serde_json::to_string(&users).unwrap_or_default();
    let refused = serde_json::from_str::<Collection<Renamed>>(&text)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(refused.contains("\"town\""), "{refused}");
    assert!(refused.contains("\"city\""), "{refused}");
}

#[test]
fn a_broken_export_is_refused_with_a_reason() {
    let id = "0190a6e2-8f3b-7c4d-9e5f-0123456789ab";
    let twice = format!(
        r#"{{"indexes": [], "documents": [
            {{"id": "{id}", "version": 1, "document": {{}}}},
            {{"id": "{id}", "version": 2, "document": {{}}}}]}}"#
    );
    let error = serde_json::from_str::<Store>(&twice)
        .err()
        .map(|e| e.to_string());
    assert!(error.as_deref().unwrap_or("").contains(id), "{error:?}");

    let version_zero = format!(
        r#"{{"indexes": [], "documents": [{{"id": "{id}", "version": 0, "document": {{}}}}]}}"#
    );
    let error = serde_json::from_str::<Store>(&version_zero)
        .err()
        .map(|e| e.to_string());
    assert!(
        error.as_deref().unwrap_or("").contains("version 0"),
        "{error:?}"
    );

    let clash = r#"{"indexes": [{"name": "e", "fields": ["e"], "unique": true}],
        "documents": [
            {"id": "0190a6e2-0000-7000-8000-000000000001", "version": 1, "document": {"e": 1}},
            {"id": "0190a6e2-0000-7000-8000-000000000002", "version": 1, "document": {"e": 1}}]}"#;
    let error = serde_json::from_str::<Store>(clash)
        .err()
        .map(|e| e.to_string());
    assert!(
        error.as_deref().unwrap_or("").contains("unique"),
        "{error:?}"
    );
}

#[test]
fn documents_may_come_before_the_index_definitions() -> Result<(), Error> {
    let id = "0190a6e2-8f3b-7c4d-9e5f-0123456789ab";
    let text = format!(
        r#"{{"documents": [{{"id": "{id}", "version": 7, "document": {{"city": "Oslo"}}}}],
            "indexes": [{{"name": "by_city", "fields": ["city"], "unique": true,
                          "multi_key": false, "covering": false}}]}}"#
    );
    let store: Store = serde_json::from_str(&text).map_err(|e| Error::InvalidDocument {
        reason: e.to_string(),
    })?;
    let oslo = store
        .get_unique("by_city", "Oslo")?
        .map(|d| (d.id().to_string(), d.version()));
    assert_eq!(oslo, Some((id.to_owned(), 7)));
    Ok(())
}

#[test]
fn a_closed_store_does_not_export() {
    let store = Store::new();
    store.close();
    assert!(serde_json::to_string(&store).is_err());
}

thread_local! {
    static SERIALIZED: Cell<usize> = const { Cell::new(0) };
    static INDEXED: Cell<usize> = const { Cell::new(0) };
}

/// A payload that counts how often it is serialized.
#[derive(Clone, Debug)]
struct Counted(u32);

impl Serialize for Counted {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SERIALIZED.with(|n| n.set(n.get() + 1));
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Counted {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        u32::deserialize(deserializer).map(Counted)
    }
}

/// A document whose computed key counts how many documents were indexed.
#[derive(Indexed, Clone, Debug, Serialize, Deserialize)]
#[indexed(computed(by_tally: u32 = tally))]
struct Reading {
    value: Counted,
}

impl Reading {
    fn tally(&self) -> u32 {
        INDEXED.with(|n| n.set(n.get() + 1));
        self.value.0
    }
}

/// A writer that takes `room` bytes and then fails, like a full disk.
struct Full {
    room: usize,
}

impl Write for Full {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.room == 0 {
            return Err(io::Error::other("disk full"));
        }
        let taken = buf.len().min(self.room);
        self.room -= taken;
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn an_export_serializes_documents_one_at_a_time() -> Result<(), Error> {
    let readings = Collection::<Reading>::new();
    for n in 0..10_000 {
        readings.insert(Reading { value: Counted(n) })?;
    }
    SERIALIZED.with(|n| n.set(0));

    // The writer fails after about 20 documents' worth of text: a lazy export
    // has serialized about that many when it stops, not all 10,000.
    let written = serde_json::to_writer(Full { room: 2_000 }, &readings.snapshot()?.export());
    assert!(written.is_err());
    let serialized = SERIALIZED.with(Cell::get);
    assert!((1..100).contains(&serialized), "{serialized}");
    Ok(())
}

/// An export of `total` readings, made up as it is read, never held whole:
/// records, whenever it hands out bytes, how far the import's indexing lags
/// behind what it has handed out.
struct Generated {
    total: u32,
    next: u32,
    pending: Vec<u8>,
    max_lag: usize,
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pending.is_empty() {
            let n = self.next;
            self.pending = if n == 0 {
                br#"{"indexes": [{"name": "by_tally", "fields": ["tally()"]}], "documents": ["#
                    .to_vec()
            } else if n <= self.total {
                let id = Id::from_u128(0x0190_a6e2_0000_7000_8000_0000_0000_0000 + u128::from(n));
                let comma = if n > 1 { "," } else { "" };
                format!(r#"{comma}{{"id": "{id}", "version": 1, "document": {{"value": {n}}}}}"#)
                    .into_bytes()
            } else if n == self.total + 1 {
                b"]}".to_vec()
            } else {
                return Ok(0);
            };
            self.next += 1;
            let handed_out = self.next.saturating_sub(2) as usize;
            let lag = handed_out.saturating_sub(INDEXED.with(Cell::get));
            self.max_lag = self.max_lag.max(lag);
        }
        let taken = buf.len().min(self.pending.len());
        buf[..taken].copy_from_slice(&self.pending[..taken]);
        self.pending.drain(..taken);
        Ok(taken)
    }
}

#[test]
fn an_import_inserts_documents_as_it_reads_them() -> Result<(), Error> {
    INDEXED.with(|n| n.set(0));
    let mut source = Generated {
        total: 20_000,
        next: 0,
        pending: Vec::new(),
        max_lag: 0,
    };
    let readings: Collection<Reading> =
        serde_json::from_reader(&mut source).map_err(|e| Error::InvalidDocument {
            reason: e.to_string(),
        })?;
    assert_eq!(readings.len()?, 20_000);
    assert_eq!(readings.lookup(Reading::by_tally, 12_345)?.count(), 1);
    // Each document was indexed (so inserted) right after it was read: the
    // import never ran more than a document or two behind its input.
    assert!(source.max_lag <= 2, "lagged {} documents", source.max_lag);
    Ok(())
}

/// A database's backup as one document: every member exported from one cut.
#[derive(Serialize)]
struct Backup<'a> {
    accounts: docstore::Export<'a, docstore::Object>,
    users: docstore::Export<'a, User>,
}

#[test]
fn a_database_exports_one_cut_of_all_its_members_and_imports_back() -> Result<(), Error> {
    let db = docstore::Db::new();
    let accounts = db.store("accounts")?;
    let users = db.collection::<User>("users")?;
    let a = accounts.insert(json!({"balance": 100}))?;
    let b = accounts.insert(json!({"balance": 0}))?;
    let ada = users.insert(user(1))?;
    let balance = |doc: &docstore::Document| doc.get("balance").and_then(|v| v.as_i64());

    // Transfers move money between the accounts and count it on the user,
    // while backups are taken: each backup must hold one whole state.
    let backups = std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..50 {
                db.transaction(|tx| {
                    let store = tx.store(&accounts);
                    let from = balance(&store.get(a)?).unwrap_or(0);
                    let to = balance(&store.get(b)?).unwrap_or(0);
                    store.update(a, json!({"balance": from - 1}))?;
                    store.update(b, json!({"balance": to + 1}))?;
                    let people = tx.collection(&users);
                    let mut counted = people.get(ada)?.into_value();
                    counted.age += 1;
                    people.update(ada, counted).map(drop)
                })
                .expect("a transfer commits");
            }
        });
        let mut backups = Vec::new();
        for _ in 0..20 {
            let cut = db.snapshot();
            let (accounts, users) = (cut.store(&accounts)?, cut.collection(&users)?);
            let backup = Backup {
                accounts: accounts.export(),
                users: users.export(),
            };
            backups.push(serde_json::to_value(&backup).expect("serializable"));
        }
        Ok::<_, Error>(backups)
    })?;

    for backup in backups {
        let restored = docstore::Db::new();
        let accounts = restored
            .import_store("accounts", &backup["accounts"])
            .expect("an export");
        let users = restored
            .import_collection::<User, _>("users", &backup["users"])
            .expect("an export");
        let (from, to) = (accounts.get(a)?, accounts.get(b)?);
        assert_eq!(balance(&from).unwrap_or(0) + balance(&to).unwrap_or(0), 100);
        // The user counts every transfer the accounts show, and versions agree.
        let moved = balance(&to).unwrap_or(0);
        assert_eq!(
            i64::from(users.get(ada)?.age),
            i64::from(user(1).age) + moved
        );
        assert_eq!(from.version(), users.get(ada)?.version());
        assert_eq!(restored.names(), ["accounts", "users"]);
        assert!(accounts.verify()?.is_empty() && users.verify()?.is_empty());
    }

    // A name already taken is refused, and the store there is untouched.
    let again = serde_json::to_value(db.snapshot().store(&accounts)?.export()).expect("export");
    let refused = db.import_store("accounts", &again);
    assert!(refused.is_err());
    assert_eq!(accounts.len()?, 2);
    Ok(())
}
