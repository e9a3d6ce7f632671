//! Secondary indexes: their definitions, the keys a document has in each, and the
//! ordered entries that answer queries.

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;

use crate::field_keys::Fields;
use crate::key::{KeyBytes, KeyWriter};
use crate::path::FieldPath;
use crate::value::Object;
use crate::{Error, Id, IndexKey, Versioned};

/// A multi-key index gives one document at most this many keys; more is refused
/// rather than letting one document flood an index.
pub(crate) const MAX_KEYS_PER_DOCUMENT: usize = 10_000;

/// One index entry: ordered by key, then by id, which is what puts ties in id order.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) struct Entry {
    pub(crate) key: KeyBytes,
    pub(crate) id: Id,
}

impl crate::tree::Warm for Entry {
    fn warm(&self) {
        if let crate::inline_bytes::InlineBytes::Heap(key) = &self.key {
            key.warm();
        }
    }
}

/// An encoded key that a query looks for among an index's entries.
///
/// An inline key (22 bytes or fewer) compares as two words where a slice
/// compare calls memcmp, and a descent compares once per probe; a longer one
/// compares as bytes.
pub(crate) struct SoughtKey<'a> {
    inline: Option<KeyBytes>,
    bytes: &'a [u8],
}

impl<'a> SoughtKey<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        SoughtKey {
            inline: KeyBytes::inline(bytes),
            bytes,
        }
    }

    /// Whether the sought key sorts after `entry`'s.
    #[inline]
    pub(crate) fn sorts_after(&self, entry: &Entry) -> bool {
        match &self.inline {
            Some(key) => entry.key < *key,
            None => entry.key.as_bytes() < self.bytes,
        }
    }

    /// Whether `entry`'s key is the sought one.
    #[inline]
    pub(crate) fn matches(&self, entry: &Entry) -> bool {
        match &self.inline {
            Some(key) => entry.key == *key,
            None => entry.key.as_bytes() == self.bytes,
        }
    }
}

/// What an index is: its name, its options, and where its keys come from.
pub(crate) struct IndexDef<D> {
    pub(crate) info: IndexInfo,
    /// How many fields a query key must give; `None` where the compiler already
    /// checked it (typed indexes).
    pub(crate) arity: Option<usize>,
    /// The documents' own key (`#[key]`): no write may change a document's key.
    pub(crate) own_key: bool,
    pub(crate) source: Box<dyn KeySource<D>>,
}

impl<D> IndexDef<D> {
    /// The keys `document` has in this index, sorted and without duplicates.
    pub(crate) fn keys_of(&self, document: &D, sink: &mut KeySink) -> Result<Keys, Error> {
        // A key source that panicked last time (a computed key is user code) may
        // have left keys behind.
        sink.reset();
        self.source.keys(document, sink);
        sink.take(&self.info.name)
    }
}

/// Where an index's keys come from: field paths (schemaless) or generated code
/// (typed).
pub(crate) trait KeySource<D>: Send + Sync {
    fn keys(&self, document: &D, sink: &mut KeySink);
}

/// A description of one index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInfo {
    pub(crate) name: String,
    pub(crate) fields: Vec<String>,
    pub(crate) unique: bool,
    pub(crate) multi_key: bool,
    pub(crate) covering: bool,
}

impl IndexInfo {
    /// The index's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The fields it keys on, in key order (dotted paths for schemaless indexes).
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// Whether two documents may not share a key.
    pub fn is_unique(&self) -> bool {
        self.unique
    }

    /// Whether an array field gives one key per element.
    pub fn is_multi_key(&self) -> bool {
        self.multi_key
    }

    /// Whether its entries hold their documents (see [`IndexOptions::covering`]).
    pub fn is_covering(&self) -> bool {
        self.covering
    }
}

impl fmt::Display for IndexInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on ({})", self.name, self.fields.join(", "))?;
        if self.unique {
            f.write_str(" unique")?;
        }
        if self.multi_key {
            f.write_str(" multi-key")?;
        }
        if self.covering {
            f.write_str(" covering")?;
        }
        Ok(())
    }
}

/// Options for a schemaless index beyond its name and fields.
///
/// ```
/// use docstore_core::{IndexOptions, Store};
/// use serde_json::json;
///
/// let store = Store::new();
/// store.create_index_with("by_email", ["email"], IndexOptions::new().unique())?;
/// store.create_index_with("by_tag", ["tags"], IndexOptions::new().multi_key())?;
/// store.create_index_with("by_city", ["city"], IndexOptions::new().covering())?;
/// store.insert(json!({"email": "a@b.c", "tags": ["x", "y"], "city": "Oslo"}))?;
/// assert_eq!(store.lookup("by_tag", "y")?.count(), 1);
/// assert_eq!(store.lookup("by_city", "Oslo")?.count(), 1);
/// # Ok::<(), docstore_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexOptions {
    unique: bool,
    multi_key: bool,
    covering: bool,
}

impl IndexOptions {
    /// A plain index.
    pub fn new() -> IndexOptions {
        IndexOptions::default()
    }

    /// No two documents may share a key: a write that would make them fails with
    /// [`Error::UniqueViolation`] and changes nothing.
    pub fn unique(self) -> IndexOptions {
        IndexOptions {
            unique: true,
            ..self
        }
    }

    /// A field holding an array gives one key per element (deduplicated), so the
    /// document is found under each; an empty array gives none. Without this, an
    /// array is one key, ordered as an array.
    ///
    /// A dotted path steps through arrays of objects: `items.sku` over
    /// `items: [{"sku": "a"}, {"sku": "b"}]` gives the keys `"a"` and `"b"`. In a
    /// composite index, fields under the same array pair per element
    /// (`["items.sku", "items.qty"]` gives one key per item), and fields under
    /// different arrays combine every way. (Without this option a path that
    /// meets an array finds nothing, and the document is left out.)
    ///
    /// A document may have at most 10,000 distinct keys in one index (an
    /// element repeated in one document counts once), and its arrays may
    /// combine in at most 160,000 ways across nested arrays of objects; a write
    /// that would pass either fails with [`Error::InvalidKey`]. Finding the keys
    /// costs time in proportion to the document's size and its keys, never to
    /// the combinations it could make. Ranges and prefixes over a multi-key
    /// index return each document once, at its first key in the range.
    pub fn multi_key(self) -> IndexOptions {
        IndexOptions {
            multi_key: true,
            ..self
        }
    }

    /// Each entry holds its document, so a query reads its results straight
    /// from the index. Without this an entry holds the document's id, and each
    /// result costs a search of the documents by id.
    ///
    /// Reads gain, writes pay. In the README's benchmarks a range over a covering
    /// index costs about a fifth as much per result as over a plain one (26 ns
    /// against 124 ns at 10k documents, 111 ns against 542 ns at 1M), and a
    /// unique-key lookup up to 40% less. In exchange an update re-points the
    /// document's entries in every covering index, even where its key did not
    /// change (one more tree search per covering index: updates with three
    /// covering indexes ran 20-35% slower), and a write made while a snapshot is
    /// alive copies more. Make covering the indexes that queries read many
    /// results from; leave an index mostly written, or only checked for
    /// uniqueness, as it is.
    pub fn covering(self) -> IndexOptions {
        IndexOptions {
            covering: true,
            ..self
        }
    }
}

/// Collects the keys one document has in one index.
///
/// Generated code calls [`push`](Self::push) once per key; it is public only for
/// that reason.
#[derive(Default)]
pub struct KeySink {
    writer: KeyWriter,
    keys: Vec<KeyBytes>,
    invalid: Option<String>,
}

impl KeySink {
    pub(crate) fn new() -> KeySink {
        KeySink::default()
    }

    /// Runs `work` with this thread's spare sink, so that the key encoding of a
    /// write reuses buffers instead of growing fresh ones each time (measured at
    /// about 600 instructions a write, in allocator calls). A nested call (a
    /// computed key that writes to a store) gets a new sink; a sink whose key
    /// source panicked is dropped, not reused; a sink grown large by a multi-key
    /// document is not kept.
    pub(crate) fn with_spare<R>(work: impl FnOnce(&mut KeySink) -> R) -> R {
        const KEEP_BYTES: usize = 4096;
        const KEEP_KEYS: usize = 64;
        thread_local! {
            static SPARE: Cell<Option<KeySink>> = const { Cell::new(None) };
        }
        let mut sink = SPARE
            .try_with(Cell::take)
            .ok()
            .flatten()
            .unwrap_or_default();
        let result = work(&mut sink);
        if sink.writer.capacity() <= KEEP_BYTES && sink.keys.capacity() <= KEEP_KEYS {
            sink.reset();
            // Fails only while the thread is exiting; the sink is then dropped.
            let _ = SPARE.try_with(|spare| spare.set(Some(sink)));
        }
        result
    }

    fn reset(&mut self) {
        self.keys.clear();
        self.invalid = None;
    }

    /// Adds one key.
    pub fn push<K: IndexKey + ?Sized>(&mut self, key: &K) {
        self.writer.clear();
        key.write_key(&mut self.writer);
        self.finish_key();
    }

    /// Adds one key written by `write`.
    pub(crate) fn push_with(&mut self, write: impl FnOnce(&mut KeyWriter)) {
        self.writer.clear();
        write(&mut self.writer);
        self.finish_key();
    }

    /// Refuses the document, for `reason`; later keys are ignored.
    pub(crate) fn refuse(&mut self, reason: String) {
        if self.invalid.is_none() {
            self.invalid = Some(reason);
        }
        self.keys.clear();
    }

    /// Whether the document is already refused, so that finding more keys is
    /// wasted work.
    pub(crate) fn is_refused(&self) -> bool {
        self.invalid.is_some()
    }

    /// Keeps the key just written. Repeats count once toward the cap: the keys
    /// are deduplicated whenever twice the cap has piled up, so a document of
    /// any length costs memory for at most that many keys.
    fn finish_key(&mut self) {
        if self.invalid.is_some() {
            return;
        }
        if let Some(reason) = self.writer.invalid() {
            let reason = reason.to_owned();
            self.refuse(reason);
            return;
        }
        self.keys.push(KeyBytes::new(self.writer.bytes()));
        if self.keys.len() >= 2 * MAX_KEYS_PER_DOCUMENT {
            self.dedup_within_cap();
        }
    }

    /// Sorts and deduplicates the keys, refusing the document if more than the
    /// cap remain.
    fn dedup_within_cap(&mut self) {
        if self.keys.len() > 1 {
            self.keys.sort_unstable();
            self.keys.dedup();
        }
        if self.keys.len() > MAX_KEYS_PER_DOCUMENT {
            self.refuse(format!(
                "a document may have at most {MAX_KEYS_PER_DOCUMENT} distinct keys in one index"
            ));
        }
    }

    /// The document's keys in this index, sorted and without duplicates.
    pub(crate) fn take(&mut self, index: &str) -> Result<Keys, Error> {
        // One key or none (nearly every document) is sorted and within the cap.
        if self.keys.len() > 1 {
            self.dedup_within_cap();
        }
        if let Some(reason) = self.invalid.take() {
            return Err(Error::InvalidKey {
                index: index.to_owned(),
                reason,
            });
        }
        Ok(match self.keys.len() {
            // Keeps the sink's buffer for the next document.
            0 | 1 => self.keys.pop().map_or(Keys::None, Keys::One),
            _ => Keys::Many(std::mem::take(&mut self.keys)),
        })
    }
}

/// The keys one document has in one index, sorted and without duplicates. Most
/// documents have one key per index, which this keeps without a heap allocation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum Keys {
    #[default]
    None,
    One(KeyBytes),
    /// Two or more.
    Many(Vec<KeyBytes>),
}

impl Keys {
    /// Keys from a sorted, duplicate-free list.
    pub(crate) fn from_sorted(mut keys: Vec<KeyBytes>) -> Keys {
        match keys.len() {
            0 | 1 => keys.pop().map_or(Keys::None, Keys::One),
            _ => Keys::Many(keys),
        }
    }

    pub(crate) fn as_slice(&self) -> &[KeyBytes] {
        match self {
            Keys::None => &[],
            Keys::One(key) => std::slice::from_ref(key),
            Keys::Many(keys) => keys,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, Keys::None)
    }

    /// Hands each key to `each`, in order. For the one key most documents
    /// have, this builds and drops no iterator: writes took about 150
    /// instructions per index through `into_iter` and its chain.
    #[inline]
    pub(crate) fn each(self, mut each: impl FnMut(KeyBytes)) {
        match self {
            Keys::None => {}
            Keys::One(key) => each(key),
            Keys::Many(keys) => keys.into_iter().for_each(each),
        }
    }
}

impl IntoIterator for Keys {
    type Item = KeyBytes;
    type IntoIter = std::iter::Chain<std::option::IntoIter<KeyBytes>, std::vec::IntoIter<KeyBytes>>;

    fn into_iter(self) -> Self::IntoIter {
        let (one, many) = match self {
            Keys::None => (None, Vec::new()),
            Keys::One(key) => (Some(key), Vec::new()),
            Keys::Many(keys) => (None, keys),
        };
        one.into_iter().chain(many)
    }
}

/// Defines a schemaless index on field paths.
pub(crate) fn field_index<I, S>(
    name: &str,
    fields: I,
    options: IndexOptions,
) -> Result<IndexDef<Object>, Error>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut paths = Vec::new();
    let mut texts = Vec::new();
    for field in fields {
        let field = field.as_ref();
        let path = FieldPath::parse(field).map_err(|reason| Error::InvalidIndex {
            name: name.to_owned(),
            reason,
        })?;
        paths.push(path);
        texts.push(field.to_owned());
    }
    if paths.is_empty() {
        return Err(Error::EmptyIndex {
            name: name.to_owned(),
        });
    }
    Ok(IndexDef {
        arity: Some(paths.len()),
        own_key: false,
        info: IndexInfo {
            name: name.to_owned(),
            fields: texts,
            unique: options.unique,
            multi_key: options.multi_key,
            covering: options.covering,
        },
        source: Box::new(Fields::new(paths, options.multi_key)),
    })
}

/// An index's definition with its entries, as of one state of the store.
///
/// An entry of a covering index holds the document it indexes, the same record
/// the documents tree holds, so a query reads its results without searching the
/// documents tree once per result; an update then re-points every entry of the
/// document, including those whose key did not change. An entry of any other
/// index holds `None` (the same size: the pointer's niche), and readers look
/// its id up.
pub(crate) struct IndexState<D> {
    pub(crate) def: Arc<IndexDef<D>>,
    pub(crate) entries: crate::tree::IndexTree<Entry, Option<Versioned<D>>>,
    /// How many documents have two or more keys here. While none does, no
    /// document can come twice from a query, which then reads lazily.
    pub(crate) several: usize,
}

impl<D> Clone for IndexState<D> {
    fn clone(&self) -> Self {
        IndexState {
            def: Arc::clone(&self.def),
            entries: self.entries.clone(),
            several: self.several,
        }
    }
}

impl<D> IndexState<D> {
    /// An index with no entries yet.
    pub(crate) fn empty(def: Arc<IndexDef<D>>) -> IndexState<D> {
        IndexState {
            def,
            entries: crate::tree::Tree::default(),
            several: 0,
        }
    }

    /// Notes that a document's key count went from `before` to `after`.
    pub(crate) fn recount(&mut self, before: usize, after: usize) {
        self.several =
            (self.several + usize::from(after >= 2)).saturating_sub(usize::from(before >= 2));
    }

    pub(crate) fn name(&self) -> &str {
        &self.def.info.name
    }

    /// What an entry of `document` holds in this index.
    pub(crate) fn entry_value(&self, document: &Versioned<D>) -> Option<Versioned<D>> {
        self.def.info.covering.then(|| document.clone())
    }

    /// The keys `document` has in this index.
    pub(crate) fn keys_of(&self, document: &D, sink: &mut KeySink) -> Result<Keys, Error> {
        self.def.keys_of(document, sink)
    }

    /// The document other than `id` that holds `key`, if any.
    pub(crate) fn holder_other_than(&self, key: &KeyBytes, id: Id) -> Option<Id> {
        holder_other_than(&self.entries, key, id)
    }
}

/// The document other than `id` that holds `key` in `entries`, if any.
pub(crate) fn holder_other_than<D>(
    entries: &crate::tree::IndexTree<Entry, Option<Versioned<D>>>,
    key: &KeyBytes,
    id: Id,
) -> Option<Id> {
    let start = entries.rank_by(|entry| entry.key < *key);
    (start..)
        .map_while(|rank| entries.nth(rank).filter(|(entry, _)| entry.key == *key))
        .map(|(entry, _)| entry.id)
        .find(|holder| *holder != id)
}
