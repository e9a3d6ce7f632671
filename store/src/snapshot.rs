//! Snapshots: a store as it was at one moment, to read at leisure.

use std::collections::HashSet;
use std::fmt;
use std::ops::Bound;
use std::sync::Arc;

use crate::by_id::AsOf;
use crate::clock::Micros;
use crate::engine::{AsOfState, State};
use crate::expiry::{Aging, Deadlines};
use crate::index::{Entry, IndexInfo, IndexState, SoughtKey};
use crate::key::{CompositeKey, KeyFor, KeyLeading, KeyPrefix, KeyRange, KeyWriter};
use crate::query::{IndexRef, Source, UniqueIndexRef};
use crate::tree::Walk;
use crate::{Cursor, Error, Id, Iter, Result, Versioned};

/// A read-only view of a store as it was when the snapshot was taken.
///
/// Taking one is O(1) and copies nothing; it shares the store's data, and the
/// store goes on taking writes, which the snapshot never sees. Every read of a
/// store runs on a snapshot like this one; take one yourself to run several
/// queries against the same moment. A snapshot is `Send + Sync` and stays valid
/// after the store is closed or dropped.
///
/// ```
/// use docstore_core::Store;
/// use serde_json::json;
///
/// let store = Store::new();
/// store.create_index("by_city", ["city"])?;
/// let id = store.insert(json!({"city": "Paris"}))?;
/// let before = store.snapshot()?;
/// store.update(id, json!({"city": "Rome"}))?;
/// assert_eq!(before.lookup("by_city", "Paris")?.count(), 1);
/// assert_eq!(store.lookup("by_city", "Paris")?.count(), 0);
/// # Ok::<(), docstore_core::Error>(())
/// ```
pub struct Snapshot<D> {
    /// Read as of now: a document whose deadline passes after the snapshot
    /// was taken is hidden from then on (see `expiry`).
    pub(crate) state: Aging<D>,
    /// The store's point-read hash, while it holds this state's documents:
    /// queries find their results' documents through it.
    pub(crate) as_of: Option<AsOf<D>>,
}

/// Which part of a key a query gives, for checking it against a schemaless
/// index's fields.
#[derive(Clone, Copy)]
pub(crate) enum Arity {
    /// Every field: a lookup.
    Exact,
    /// The leading fields, at least one: a prefix.
    Leading,
    /// Any number up to all: a range bound.
    UpTo,
    /// At least one, fewer than all: the fields before a `range_within`'s range.
    Before,
    /// Any number up to what is left after this many leading fields.
    After(usize),
}

impl<D> Snapshot<D> {
    pub(crate) fn new(state: Arc<State<D>>) -> Self {
        Snapshot {
            state: Aging::new(state),
            as_of: None,
        }
    }

    /// A snapshot of the current state, reading its documents through the
    /// store's point-read hash for as long as nothing is written.
    pub(crate) fn current((state, as_of): AsOfState<D>) -> Self {
        Snapshot {
            state: Aging::new(state),
            as_of,
        }
    }

    /// The sequence number of the last commit it reflects: a subscription
    /// taken with it (`snapshot_and_subscribe`) receives the commits after.
    pub fn seq(&self) -> u64 {
        self.state.taken().seq
    }

    /// How many documents it holds (those past their deadline by now left out).
    pub fn len(&self) -> usize {
        self.state.now().docs.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The document with this id. O(log n).
    pub fn get(&self, id: Id) -> Result<Versioned<D>> {
        self.state
            .now()
            .docs
            .get(&id)
            .cloned()
            .ok_or(Error::NotFound { id })
    }

    /// Whether a document has this id.
    pub fn contains(&self, id: Id) -> bool {
        self.state.now().docs.get(&id).is_some()
    }

    /// Every document, in id order (which is insertion order). The iterator
    /// reads the snapshot as it is when it is made.
    pub fn iter(&self) -> Iter<D> {
        let state = self.state.now();
        Iter::new(
            Source::Docs(Walk::new(state.docs.clone())),
            0,
            state.docs.len(),
        )
    }

    /// Every document, in id order, by reference: the fastest way to read a
    /// whole snapshot, as it touches no reference count. Also what
    /// `for doc in &snapshot` does.
    ///
    /// ```
    /// use docstore_core::Store;
    /// use serde_json::json;
    ///
    /// let store = Store::new();
    /// for n in 0..3 {
    ///     store.insert(json!({"n": n}))?;
    /// }
    /// let snapshot = store.snapshot()?;
    /// let total: u64 = (&snapshot)
    ///     .into_iter()
    ///     .filter_map(|doc| doc.get("n")?.as_u64())
    ///     .sum();
    /// assert_eq!(total, 3);
    /// # Ok::<(), docstore_core::Error>(())
    /// ```
    #[inline]
    pub fn documents(&self) -> Documents<'_, D> {
        let taken = self.state.taken();
        let due = taken
            .deadlines
            .as_ref()
            .and_then(|deadlines| Some((deadlines, deadlines.due_now()?)));
        let hidden = due.map_or(0, |(deadlines, now)| deadlines.due_count(now));
        Documents {
            entries: taken.docs.entries(),
            due,
            hidden,
        }
    }

    /// A cursor over every document, in id order.
    pub fn cursor(&self) -> Cursor<D> {
        self.iter().into_cursor()
    }

    /// The indexes, in the order they were created.
    pub fn indexes(&self) -> Vec<IndexInfo> {
        self.state
            .taken()
            .indexes
            .iter()
            .map(|index| index.def.info.clone())
            .collect()
    }

    /// The documents whose key in `index` is `key`, in id order. O(log n) to
    /// start, O(1) amortised per document read.
    pub fn lookup<I: IndexRef<D>>(&self, index: I, key: impl KeyFor<I::Key>) -> Result<Iter<D>> {
        let state = self.state.now();
        let index = state.index(index.index_name())?;
        let key = encode(index, Arity::Exact, |out| key.write_key_for(out))?;
        let sought = SoughtKey::new(key.as_slice());
        let (start, end, entries) = index.entries.run_by(
            |entry| sought.sorts_after(entry),
            |entry| sought.matches(entry),
        );
        let source = Source::Index {
            entries,
            docs: state.docs.clone(),
            picks: None,
            as_of: self.as_of.clone(),
        };
        // One key: a document holds it at most once, so nothing to deduplicate.
        Ok(Iter::new(source, start, end))
    }

    /// The one document whose key in the unique `index` is `key`, if any.
    pub fn get_unique<I: UniqueIndexRef<D>>(
        &self,
        index: I,
        key: impl KeyFor<I::Key>,
    ) -> Result<Option<Versioned<D>>> {
        let name = index.index_name().to_owned();
        let mut matches = self.lookup(index, key)?;
        if !self.state.taken().index(&name)?.def.info.unique {
            return Err(Error::NotUnique { index: name });
        }
        Ok(matches.next())
    }

    /// The documents whose key in `index` lies in `range`, in key order (ties in
    /// id order). Takes every Rust range form over keys: `a..b`, `a..=b`, `a..`,
    /// `..b`, `..=b`, `..`. A range whose start is after its end is empty.
    ///
    /// On a composite index a bound may give only the leading fields, and then
    /// stands for every key that starts with them: `("Paris",)..=("Rome",)`
    /// includes all of Rome, `("Paris",)..("Rome",)` none of it.
    ///
    /// On a multi-key index a document with several keys in the range comes once,
    /// at its first. While some document in the index has several keys, finding
    /// the repeats means reading every entry in the range when the query runs:
    /// O(log n + e) for e entries, with a set of the ids met (no key of a
    /// document is recomputed), and 8 bytes per result once a document repeats.
    /// The count and both ends are then known, as for any other query. While
    /// every document has at most one key, the query reads lazily, as over any
    /// other index.
    pub fn range<I: IndexRef<D>>(&self, index: I, range: impl KeyRange<I::Key>) -> Result<Iter<D>> {
        let state = self.state.now();
        let index = state.index(index.index_name())?;
        let (start, end) = span(index, &range, None)?;
        Ok(results(
            &state,
            index,
            (start, start, end),
            self.as_of.clone(),
        ))
    }

    /// The documents of a composite `index` whose leading fields are `leading`
    /// and whose next field lies in `range`, in key order: "paid orders before
    /// t" is `range_within(Order::by_status_at, (Status::Paid,), ..t)`, with no
    /// sentinel value standing for "every key after Paid". Either end of `range`
    /// may be open; an open end stops at the last key starting with `leading`.
    ///
    /// `leading` gives fewer fields than the index has (a tuple for a typed
    /// index; a value, tuple or slice of values for a schemaless one), and the
    /// range is over the field after them.
    ///
    /// ```
    /// use docstore_core::Store;
    /// use serde_json::json;
    ///
    /// let store = Store::new();
    /// store.create_index("by_status_at", ["status", "at"])?;
    /// for (status, at) in [("paid", 5), ("paid", 20), ("open", 1), ("refunded", 2)] {
    ///     store.insert(json!({"status": status, "at": at}))?;
    /// }
    /// let paid_before_10: Vec<u64> = store
    ///     .range_within("by_status_at", "paid", ..10)?
    ///     .filter_map(|doc| doc.get("at")?.as_u64())
    ///     .collect();
    /// assert_eq!(paid_before_10, [5]);
    /// assert_eq!(store.range_within("by_status_at", "paid", 10..)?.count(), 1);
    /// # Ok::<(), docstore_core::Error>(())
    /// ```
    pub fn range_within<I: IndexRef<D, Key: CompositeKey>, L: KeyLeading<I::Key>>(
        &self,
        index: I,
        leading: L,
        range: impl KeyRange<L::Next>,
    ) -> Result<Iter<D>> {
        let state = self.state.now();
        let index = state.index(index.index_name())?;
        let mut out = KeyWriter::new();
        leading.write_leading(&mut out);
        let given = out.fields();
        let leading = checked(index, Arity::Before, out, Bound::Included(()))?;
        let (start, end) = span(index, &range, Some((&leading, given)))?;
        Ok(results(
            &state,
            index,
            (start, start, end),
            self.as_of.clone(),
        ))
    }

    /// The documents whose key in the composite `index` starts with the fields of
    /// `prefix`, in key order.
    pub fn prefix<I: IndexRef<D, Key: CompositeKey>>(
        &self,
        index: I,
        prefix: impl KeyPrefix<I::Key>,
    ) -> Result<Iter<D>> {
        let state = self.state.now();
        let index = state.index(index.index_name())?;
        let prefix = encode(index, Arity::Leading, |out| prefix.write_prefix(out))?;
        let prefix = prefix.as_slice();
        let start = index.entries.rank_by(|entry| entry.key.as_bytes() < prefix);
        let end = index.entries.rank_by(|entry| {
            let key = entry.key.as_bytes();
            key < prefix || key.starts_with(prefix)
        });
        Ok(results(
            &state,
            index,
            (start, start, end),
            self.as_of.clone(),
        ))
    }

    /// Every document in `index`, in key order: what `range(index, ..)` gives.
    pub fn by_index<I: IndexRef<D>>(&self, index: I) -> Result<Iter<D>> {
        let state = self.state.now();
        let index = state.index(index.index_name())?;
        Ok(results(
            &state,
            index,
            (0, 0, index.entries.len()),
            self.as_of.clone(),
        ))
    }
}

/// The documents of `index`'s entries `start..end` in `state`, each once: on a
/// multi-key index, at its first key at or after the entry at `from` (where
/// the query's span begins; a resumed page starts later in it).
pub(crate) fn results<D>(
    state: &State<D>,
    index: &IndexState<D>,
    (from, start, end): (usize, usize, usize),
    as_of: Option<AsOf<D>>,
) -> Iter<D> {
    let mut entries = Walk::new(index.entries.clone());
    let docs = state.docs.clone();
    if index.def.info.multi_key
        && index.several > 0
        && start < end
        && let Some(picks) = first_keys_only(&mut entries, from, start, end)
    {
        let len = picks.len();
        let source = Source::Index {
            entries,
            docs,
            picks: Some(picks),
            as_of,
        };
        return Iter::new(source, 0, len);
    }
    let source = Source::Index {
        entries,
        docs,
        picks: None,
        as_of,
    };
    Iter::new(source, start, end)
}

/// The ranks in `start..end` at which each document has its first key in the
/// span `from..end`: what keeps a multi-key query from returning a document
/// twice. Entries come in key order, so a document's first entry met is its
/// first key in the span; each entry from `from` on costs one step of the walk
/// and one probe of a set of the ids met so far, whatever else the document
/// holds (a resumed page reads the span's entries before it too). `None` when
/// no document repeats (every rank is kept).
fn first_keys_only<D>(
    entries: &mut crate::tree::IndexWalk<Entry, Option<Versioned<D>>>,
    from: usize,
    start: usize,
    end: usize,
) -> Option<Arc<[usize]>> {
    let mut seen = HashSet::new();
    let mut picks: Option<Vec<usize>> = None;
    for rank in from.min(start)..end {
        let Some((entry, _)) = entries.at(rank) else {
            break;
        };
        let first = seen.insert(entry.id);
        if rank < start {
            continue;
        }
        match &mut picks {
            Some(picks) if first => picks.push(rank),
            Some(_) => {}
            // The first repeat: every rank before it was a first.
            None if !first => picks = Some((start..rank).collect()),
            None => {}
        }
    }
    picks.map(Arc::from)
}

/// The ranks `start..end` of the entries in `range`, or, given `leading` (the
/// encoded leading fields of a `range_within`), of the entries starting with
/// `leading` whose next field lies in `range`.
pub(crate) fn span<D, K: ?Sized>(
    index: &IndexState<D>,
    range: &impl KeyRange<K>,
    leading: Option<(&[u8], usize)>,
) -> Result<(usize, usize)> {
    let (start_bound, end_bound) = bounds(index, range, leading)?;
    let entries = &index.entries;
    // A key that starts with a bound's bytes extends it (self-delimiting fields
    // make that exact): an inclusive end and an exclusive start cover those too.
    let at_or_extending = |key: &[u8], bound: &[u8]| key <= bound || key.starts_with(bound);
    let start = match &start_bound {
        Bound::Included(start_key) => entries.rank_by(|e| e.key.as_bytes() < start_key.as_slice()),
        Bound::Excluded(start_key) => {
            entries.rank_by(|e| at_or_extending(e.key.as_bytes(), start_key))
        }
        Bound::Unbounded => 0,
    };
    let end = match &end_bound {
        Bound::Included(end_key) => entries.rank_by(|e| at_or_extending(e.key.as_bytes(), end_key)),
        Bound::Excluded(end_key) => entries.rank_by(|e| e.key.as_bytes() < end_key.as_slice()),
        Bound::Unbounded => entries.len(),
    };
    Ok((start, end.max(start)))
}

/// One end of a range of encoded keys.
pub(crate) type EncodedBound = Bound<Vec<u8>>;

/// The encoded bounds of a range query, checked against the index: what
/// [`span`] ranks, and what a transaction keeps to run the query again.
pub(crate) fn bounds<D, K: ?Sized>(
    index: &IndexState<D>,
    range: &impl KeyRange<K>,
    leading: Option<(&[u8], usize)>,
) -> Result<(EncodedBound, EncodedBound)> {
    let mut start_key = KeyWriter::new();
    let mut end_key = KeyWriter::new();
    let (start_bound, end_bound) = range.write_bounds(&mut start_key, &mut end_key);
    let arity = match leading {
        Some((_, given)) => Arity::After(given),
        None => Arity::UpTo,
    };
    let start_key = checked(index, arity, start_key, start_bound)?;
    let end_key = checked(index, arity, end_key, end_bound)?;
    let (start_key, start_bound, end_key, end_bound) = match leading {
        None => (start_key, start_bound, end_key, end_bound),
        // Fields are self-delimiting, so the leading fields followed by a bound
        // on the next field are a bound with leading fields; an open end is
        // the leading fields alone, standing for every key extending them.
        Some((leading, _)) => {
            let within = |key: Vec<u8>, bound: Bound<()>| match bound {
                Bound::Unbounded => (leading.to_vec(), Bound::Included(())),
                bound => ([leading, &key].concat(), bound),
            };
            let (start_key, start_bound) = within(start_key, start_bound);
            let (end_key, end_bound) = within(end_key, end_bound);
            (start_key, start_bound, end_key, end_bound)
        }
    };
    let with_key = |bound: Bound<()>, key: Vec<u8>| bound.map(|()| key);
    Ok((
        with_key(start_bound, start_key),
        with_key(end_bound, end_key),
    ))
}

/// Encodes a query key and checks it against the index.
pub(crate) fn encode<D>(
    index: &IndexState<D>,
    arity: Arity,
    write: impl FnOnce(&mut KeyWriter),
) -> Result<Vec<u8>> {
    let mut out = KeyWriter::new();
    write(&mut out);
    checked(index, arity, out, Bound::Included(()))
}

/// The key's bytes, if it is a valid key for `index` in this position.
pub(crate) fn checked<D>(
    index: &IndexState<D>,
    arity: Arity,
    key: KeyWriter,
    bound: Bound<()>,
) -> Result<Vec<u8>> {
    if matches!(bound, Bound::Unbounded) {
        return Ok(Vec::new());
    }
    let invalid = |reason: String| Error::InvalidKey {
        index: index.name().to_owned(),
        reason,
    };
    if let Some(reason) = key.invalid() {
        return Err(invalid(reason.to_owned()));
    }
    if let Some(fields) = index.def.arity {
        let given = key.fields();
        if fields > 1 && key.is_lone_json_array() {
            return Err(invalid(format!(
                "the index has {fields} fields ({}); a JSON array is one value, an array \
                 key for the first field; for a composite key pass a tuple such as \
                 (\"Paris\", 30) or a slice of values, one per field, such as \
                 [json!(\"Paris\"), json!(30)]",
                index.def.info.fields.join(", ")
            )));
        }
        let fits = match arity {
            Arity::Exact => given == fields,
            Arity::Leading => (1..=fields).contains(&given),
            Arity::UpTo => given <= fields,
            Arity::Before => (1..fields).contains(&given),
            Arity::After(leading) => given <= fields.saturating_sub(leading),
        };
        if !fits {
            let wanted = match arity {
                Arity::Exact => format!("{fields}"),
                Arity::Leading => format!("1 to {fields}"),
                Arity::UpTo => format!("at most {fields}"),
                Arity::Before => format!("1 to {}", fields.saturating_sub(1)),
                Arity::After(leading) => {
                    format!(
                        "at most {} after the {leading} leading",
                        fields.saturating_sub(leading)
                    )
                }
            };
            return Err(invalid(format!(
                "the index has {fields} field(s); the key gives {given}, expected {wanted} \
                 (a composite key is a tuple such as (\"Paris\", 30), or a slice of \
                 values, one per field)"
            )));
        }
    }
    Ok(key.into_bytes())
}

/// A snapshot's documents by reference, in id order: see [`Snapshot::documents`].
pub struct Documents<'a, D> {
    entries: crate::tree::Entries<'a, Id, Versioned<D>>,
    /// The deadlines and the time they are read at, when some are due: the
    /// documents due are skipped.
    due: Option<(&'a Deadlines, Micros)>,
    /// How many of the documents not yet read are due: counted down as they
    /// are skipped, not up as documents are read, so that the loop over
    /// documents nobody hides does no bookkeeping.
    hidden: usize,
}

impl<'a, D> Iterator for Documents<'a, D> {
    type Item = &'a Versioned<D>;

    #[inline]
    fn next(&mut self) -> Option<&'a Versioned<D>> {
        loop {
            let (id, document) = self.entries.next()?;
            if let Some((deadlines, now)) = self.due
                && deadlines.is_due(*id, now)
            {
                self.hidden = self.hidden.saturating_sub(1);
                continue;
            }
            return Some(document);
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let remaining = self.entries.len().saturating_sub(self.hidden);
        (remaining, Some(remaining))
    }
}

impl<D> ExactSizeIterator for Documents<'_, D> {}

impl<D> fmt::Debug for Documents<'_, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Documents")
            .field("remaining", &self.len())
            .finish()
    }
}

impl<'a, D> IntoIterator for &'a Snapshot<D> {
    type Item = &'a Versioned<D>;
    type IntoIter = Documents<'a, D>;

    fn into_iter(self) -> Documents<'a, D> {
        self.documents()
    }
}

impl<D> Clone for Snapshot<D> {
    fn clone(&self) -> Self {
        Snapshot {
            state: self.state.clone(),
            as_of: self.as_of.clone(),
        }
    }
}

impl<D> fmt::Debug for Snapshot<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("len", &self.len())
            .field("indexes", &self.indexes())
            .finish()
    }
}
