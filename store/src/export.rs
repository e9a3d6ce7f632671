//! Export and import: a snapshot written out through serde with its ids,
//! versions and index definitions, and read back into a new store.
//!
//! Both directions stream. An export is a `Serialize` value that walks its
//! snapshot as the serializer asks for documents, so writing a million
//! documents to a file holds none of their encodings at once; an import is a
//! `Deserialize` impl whose visitor inserts each document as the deserializer
//! hands it over, so reading one never builds the whole list.
//!
//! The format is a map (a struct, to serde) of two fields, `indexes` then
//! `documents`:
//!
//! ```json
//! {"indexes": [{"name": "by_city", "fields": ["city"], "unique": false,
//!               "multi_key": false, "covering": false}],
//!  "documents": [{"id": "0190a6e2-...", "version": 3, "document": {"city": "Oslo"}}]}
//! ```
//!
//! An export is made from a [`Snapshot`], one consistent cut of a store. A
//! database exports its stores and collections from one cut of them all:
//! each member's snapshot taken from one [`DbSnapshot`](crate::DbSnapshot)
//! exports as above, and [`Db::import_store`] and [`Db::import_collection`]
//! read the exports back into the members of a new database.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::index::IndexOptions;
use crate::{Collection, Db, Error, Id, IndexInfo, Indexed, Snapshot, Store, Versioned};

const FIELDS: &[&str] = &["indexes", "documents"];
const DOCUMENT_FIELDS: &[&str] = &["id", "version", "document"];
const INDEX_FIELDS: &[&str] = &["name", "fields", "unique", "multi_key", "covering"];

/// A snapshot's documents (with ids and versions) and index definitions, ready
/// to serialize: see [`Snapshot::export`]. Serializing it reads the snapshot
/// lazily, one document at a time.
pub struct Export<'a, D> {
    snapshot: &'a Snapshot<D>,
}

impl<D> Snapshot<D> {
    /// This snapshot as serde data: its index definitions, then every document
    /// in id order with its id and version. Nothing is copied; the documents are
    /// read as the serializer asks for them. Import it back with
    /// `Store`'s or `Collection`'s `Deserialize`.
    ///
    /// ```
    /// use docstore_core::Store;
    /// use serde_json::json;
    ///
    /// let store = Store::new();
    /// store.create_index("by_city", ["city"])?;
    /// let id = store.insert(json!({"city": "Oslo"}))?;
    /// store.update(id, json!({"city": "Rome"}))?;
    ///
    /// let text = serde_json::to_string(&store.snapshot()?.export()).expect("serializable");
    /// let restored: Store = serde_json::from_str(&text).expect("an export");
    /// assert_eq!(restored.get(id)?.version(), 2);
    /// assert_eq!(restored.lookup("by_city", "Rome")?.count(), 1);
    /// # Ok::<(), docstore_core::Error>(())
    /// ```
    pub fn export(&self) -> Export<'_, D> {
        Export { snapshot: self }
    }
}

impl<D: Serialize> Serialize for Export<'_, D> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let indexes: Vec<IndexInfo> = self.snapshot.indexes();
        let mut out = serializer.serialize_struct("Export", 2)?;
        out.serialize_field("indexes", &IndexList(&indexes))?;
        out.serialize_field("documents", &DocumentList(self.snapshot))?;
        out.end()
    }
}

impl<D> fmt::Debug for Export<'_, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Export")
            .field("documents", &self.snapshot.len())
            .finish()
    }
}

struct IndexList<'a>(&'a [IndexInfo]);

impl Serialize for IndexList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_seq(Some(self.0.len()))?;
        for info in self.0 {
            out.serialize_element(&IndexEntry(info))?;
        }
        out.end()
    }
}

struct IndexEntry<'a>(&'a IndexInfo);

impl Serialize for IndexEntry<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let info = self.0;
        let mut out = serializer.serialize_struct("Index", INDEX_FIELDS.len())?;
        out.serialize_field("name", info.name())?;
        out.serialize_field("fields", info.fields())?;
        out.serialize_field("unique", &info.is_unique())?;
        out.serialize_field("multi_key", &info.is_multi_key())?;
        out.serialize_field("covering", &info.is_covering())?;
        out.end()
    }
}

/// The documents, walked as the serializer writes them.
struct DocumentList<'a, D>(&'a Snapshot<D>);

impl<D: Serialize> Serialize for DocumentList<'_, D> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_seq(Some(self.0.len()))?;
        for document in self.0 {
            out.serialize_element(&DocumentEntry(document))?;
        }
        out.end()
    }
}

struct DocumentEntry<'a, D>(&'a Versioned<D>);

impl<D: Serialize> Serialize for DocumentEntry<'_, D> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("Document", DOCUMENT_FIELDS.len())?;
        out.serialize_field("id", &self.0.id())?;
        out.serialize_field("version", &self.0.version())?;
        out.serialize_field("document", self.0.value())?;
        out.end()
    }
}

/// A store serializes as an export of a snapshot taken now (see
/// [`Snapshot::export`]); a closed store fails to serialize.
impl Serialize for Store {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let snapshot = self.snapshot().map_err(serde::ser::Error::custom)?;
        snapshot.export().serialize(serializer)
    }
}

/// A collection serializes as an export of a snapshot taken now (see
/// [`Snapshot::export`]); a closed collection fails to serialize.
impl<T: Indexed + Serialize> Serialize for Collection<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let snapshot = self.snapshot().map_err(serde::ser::Error::custom)?;
        snapshot.export().serialize(serializer)
    }
}

/// An index definition as an export holds it.
struct IndexDefinition {
    name: String,
    fields: Vec<String>,
    options: IndexOptions,
}

/// Where an import puts what it reads.
trait Target {
    type Document: DeserializeOwned;

    fn define(&self, indexes: Vec<IndexDefinition>) -> Result<(), String>;

    fn insert(&self, id: Id, version: u64, document: Self::Document) -> Result<(), Error>;
}

impl Target for Store {
    type Document = crate::Object;

    fn define(&self, indexes: Vec<IndexDefinition>) -> Result<(), String> {
        for index in indexes {
            self.create_index_with(&index.name, &index.fields, index.options)
                .map_err(|error| error.to_string())?;
        }
        Ok(())
    }

    fn insert(&self, id: Id, version: u64, document: crate::Object) -> Result<(), Error> {
        self.engine
            .insert_as(Some((id, version)), document)
            .map(drop)
            .map_err(|(error, _)| error)
    }
}

impl<T: Indexed + DeserializeOwned> Target for Collection<T> {
    type Document = T;

    /// A typed collection's indexes are its type's: the export's must be the
    /// same, by name, or the documents would be read into other indexes than
    /// they were written from.
    fn define(&self, indexes: Vec<IndexDefinition>) -> Result<(), String> {
        let mut exported: Vec<String> = indexes.into_iter().map(|index| index.name).collect();
        let mut declared: Vec<String> = T::indexes()
            .iter()
            .map(|spec| spec.name().to_owned())
            .collect();
        exported.sort();
        declared.sort();
        if exported == declared {
            Ok(())
        } else {
            Err(format!(
                "the export has indexes {exported:?}, but `{}` declares {declared:?}",
                std::any::type_name::<T>()
            ))
        }
    }

    fn insert(&self, id: Id, version: u64, document: T) -> Result<(), Error> {
        self.engine
            .insert_as(Some((id, version)), document)
            .map(drop)
            .map_err(|(error, _)| error)
    }
}

/// An import into a store or collection held elsewhere (a database's).
impl<S: Target> Target for &S {
    type Document = S::Document;

    fn define(&self, indexes: Vec<IndexDefinition>) -> Result<(), String> {
        (**self).define(indexes)
    }

    fn insert(&self, id: Id, version: u64, document: Self::Document) -> Result<(), Error> {
        (**self).insert(id, version, document)
    }
}

impl Db {
    /// Reads an export (see [`Snapshot::export`]) into a new schemaless store
    /// of this database named `name`, with the exported ids, versions and
    /// indexes, inserting each document as it is read.
    ///
    /// Fails if the database already has a store or collection named `name`.
    /// An import that fails partway leaves the store with the documents read
    /// before the failure: restore into a new database.
    ///
    /// ```
    /// use docstore_core::Db;
    /// use serde_json::json;
    ///
    /// let db = Db::new();
    /// let events = db.store("events")?;
    /// let audit = db.store("audit")?;
    /// let id = events.insert(json!({"kind": "login"}))?;
    /// audit.insert(json!({"event": id.to_string()}))?;
    ///
    /// // Both exports come from one cut of the database.
    /// let cut = db.snapshot();
    /// let events_text = serde_json::to_string(&cut.store(&events)?.export()).expect("export");
    /// let audit_text = serde_json::to_string(&cut.store(&audit)?.export()).expect("export");
    ///
    /// let restored = Db::new();
    /// let mut from = serde_json::Deserializer::from_str(&events_text);
    /// let events = restored.import_store("events", &mut from).expect("an export");
    /// let mut from = serde_json::Deserializer::from_str(&audit_text);
    /// restored.import_store("audit", &mut from).expect("an export");
    /// assert_eq!(events.get(id)?.version(), 1);
    /// # Ok::<(), docstore_core::Error>(())
    /// ```
    pub fn import_store<'de, De: Deserializer<'de>>(
        &self,
        name: &str,
        deserializer: De,
    ) -> Result<std::sync::Arc<Store>, De::Error> {
        self.refuse_taken::<De::Error>(name)?;
        let store = self.store(name).map_err(de::Error::custom)?;
        deserializer.deserialize_struct("Export", FIELDS, ImportVisitor(&*store))?;
        Ok(store)
    }

    /// Reads an export into a new typed collection of this database named
    /// `name`, as [`import_store`](Self::import_store) does. The export's index
    /// names must be those `T` declares.
    pub fn import_collection<'de, T, De>(
        &self,
        name: &str,
        deserializer: De,
    ) -> Result<std::sync::Arc<Collection<T>>, De::Error>
    where
        T: Indexed + DeserializeOwned,
        De: Deserializer<'de>,
    {
        self.refuse_taken::<De::Error>(name)?;
        let collection = self.collection::<T>(name).map_err(de::Error::custom)?;
        deserializer.deserialize_struct("Export", FIELDS, ImportVisitor(&*collection))?;
        Ok(collection)
    }

    fn refuse_taken<E: de::Error>(&self, name: &str) -> Result<(), E> {
        if self.names().iter().any(|taken| taken == name) {
            Err(E::custom(format!(
                "the database already has {name:?}: an import makes a new store"
            )))
        } else {
            Ok(())
        }
    }
}

/// Reads an export straight into a new store, inserting each document as it is
/// read: the whole export is never in memory at once. Ids, versions and index
/// definitions come back as they were.
///
/// ```
/// use docstore_core::Store;
///
/// let text = r#"{
///     "indexes": [{"name": "by_city", "fields": ["city"], "unique": false,
///                  "multi_key": false, "covering": false}],
///     "documents": [{"id": "0190a6e2-8f3b-7c4d-9e5f-0123456789ab", "version": 4,
///                    "document": {"city": "Oslo"}}]
/// }"#;
/// let store: Store = serde_json::from_reader(text.as_bytes()).expect("an export");
/// let oslo = store.lookup("by_city", "Oslo")?.next().expect("found");
/// assert_eq!(oslo.id().to_string(), "0190a6e2-8f3b-7c4d-9e5f-0123456789ab");
/// assert_eq!(oslo.version(), 4);
/// # Ok::<(), docstore_core::Error>(())
/// ```
impl<'de> Deserialize<'de> for Store {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_struct("Export", FIELDS, ImportVisitor(Store::new()))
    }
}

/// Reads an export into a new collection, inserting each document as it is
/// read. The export's index names must be those `T` declares.
impl<'de, T: Indexed + DeserializeOwned> Deserialize<'de> for Collection<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_struct("Export", FIELDS, ImportVisitor(Collection::new()))
    }
}

struct ImportVisitor<S>(S);

impl<'de, S: Target> Visitor<'de> for ImportVisitor<S> {
    type Value = S;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a docstore export: indexes and documents")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<S, A::Error> {
        let target = self.0;
        let (mut indexes, mut documents) = (false, false);
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Indexes if !indexes => {
                    indexes = true;
                    let list = map.next_value_seed(IndexListSeed)?;
                    target.define(list).map_err(de::Error::custom)?;
                }
                Field::Documents if !documents => {
                    documents = true;
                    map.next_value_seed(DocumentsSeed(&target))?;
                }
                Field::Indexes => return Err(de::Error::duplicate_field("indexes")),
                Field::Documents => return Err(de::Error::duplicate_field("documents")),
            }
        }
        if !indexes {
            return Err(de::Error::missing_field("indexes"));
        }
        Ok(target)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<S, A::Error> {
        let target = self.0;
        let list = seq
            .next_element_seed(IndexListSeed)?
            .ok_or_else(|| de::Error::invalid_length(0, &"indexes and documents"))?;
        target.define(list).map_err(de::Error::custom)?;
        seq.next_element_seed(DocumentsSeed(&target))?
            .ok_or_else(|| de::Error::invalid_length(1, &"indexes and documents"))?;
        Ok(target)
    }
}

enum Field {
    Indexes,
    Documents,
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        match &*name {
            "indexes" => Ok(Field::Indexes),
            "documents" => Ok(Field::Documents),
            other => Err(de::Error::unknown_field(other, FIELDS)),
        }
    }
}

/// The documents, each inserted as soon as it is read.
struct DocumentsSeed<'a, S>(&'a S);

impl<'de, S: Target> DeserializeSeed<'de> for DocumentsSeed<'_, S> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, S: Target> Visitor<'de> for DocumentsSeed<'_, S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of documents with their ids and versions")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(entry) = seq.next_element::<Exported<S::Document>>()? {
            self.0
                .insert(entry.id, entry.version, entry.document)
                .map_err(de::Error::custom)?;
        }
        Ok(())
    }
}

/// One exported document.
struct Exported<D> {
    id: Id,
    version: u64,
    document: D,
}

impl<'de, D: DeserializeOwned> Deserialize<'de> for Exported<D> {
    fn deserialize<De: Deserializer<'de>>(deserializer: De) -> Result<Self, De::Error> {
        deserializer.deserialize_struct("Document", DOCUMENT_FIELDS, ExportedVisitor(PhantomData))
    }
}

struct ExportedVisitor<D>(PhantomData<fn() -> D>);

impl<'de, D: DeserializeOwned> Visitor<'de> for ExportedVisitor<D> {
    type Value = Exported<D>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a document with its id and version")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Exported<D>, A::Error> {
        let (mut id, mut version, mut document) = (None, None, None);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match &*key {
                "id" => id = Some(map.next_value()?),
                "version" => version = Some(map.next_value()?),
                "document" => document = Some(map.next_value()?),
                other => return Err(de::Error::unknown_field(other, DOCUMENT_FIELDS)),
            }
        }
        entry(
            id.ok_or_else(|| de::Error::missing_field("id"))?,
            version.ok_or_else(|| de::Error::missing_field("version"))?,
            document.ok_or_else(|| de::Error::missing_field("document"))?,
        )
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Exported<D>, A::Error> {
        let id = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let version = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(1, &self))?;
        let document = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(2, &self))?;
        entry(id, version, document)
    }
}

fn entry<D, E: de::Error>(id: Id, version: u64, document: D) -> Result<Exported<D>, E> {
    if version == 0 {
        return Err(E::custom(format!(
            "document {id} has version 0; versions start at 1"
        )));
    }
    Ok(Exported {
        id,
        version,
        document,
    })
}

struct IndexListSeed;

impl<'de> DeserializeSeed<'de> for IndexListSeed {
    type Value = Vec<IndexDefinition>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for IndexListSeed {
    type Value = Vec<IndexDefinition>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of index definitions")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut list = Vec::new();
        while let Some(definition) = seq.next_element::<IndexDefinition>()? {
            list.push(definition);
        }
        Ok(list)
    }
}

impl<'de> Deserialize<'de> for IndexDefinition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_struct("Index", INDEX_FIELDS, IndexVisitor)
    }
}

struct IndexVisitor;

impl<'de> Visitor<'de> for IndexVisitor {
    type Value = IndexDefinition;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an index definition: name, fields and options")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<IndexDefinition, A::Error> {
        let (mut name, mut fields) = (None, None);
        let (mut unique, mut multi_key, mut covering) = (false, false, false);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match &*key {
                "name" => name = Some(map.next_value()?),
                "fields" => fields = Some(map.next_value()?),
                "unique" => unique = map.next_value()?,
                "multi_key" => multi_key = map.next_value()?,
                "covering" => covering = map.next_value()?,
                // Options a later version may add are not this one's to refuse.
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(definition(
            name.ok_or_else(|| de::Error::missing_field("name"))?,
            fields.ok_or_else(|| de::Error::missing_field("fields"))?,
            [unique, multi_key, covering],
        ))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<IndexDefinition, A::Error> {
        let name = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let fields = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(1, &self))?;
        let mut flags = [false; 3];
        for (position, flag) in flags.iter_mut().enumerate() {
            *flag = seq
                .next_element()?
                .ok_or_else(|| de::Error::invalid_length(position + 2, &self))?;
        }
        Ok(definition(name, fields, flags))
    }
}

fn definition(name: String, fields: Vec<String>, flags: [bool; 3]) -> IndexDefinition {
    let [unique, multi_key, covering] = flags;
    let mut options = IndexOptions::new();
    if unique {
        options = options.unique();
    }
    if multi_key {
        options = options.multi_key();
    }
    if covering {
        options = options.covering();
    }
    IndexDefinition {
        name,
        fields,
        options,
    }
}
