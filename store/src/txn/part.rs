//! One store's share of a transaction: the snapshot it reads, what it read,
//! and the writes it buffers; then, at commit, the validation of those reads
//! against the current state and the new state built from those writes.

mod deadlines;

use std::any::Any;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use crate::commit::{Change, Commit, Sequence};
use crate::durable::{Journal, Record};
use crate::engine::{DocWrite, Engine, State, Writer};
use crate::expiry::visible;
use crate::feed::Feed;
use crate::index::{IndexState, KeySink, Keys};
use crate::key::{KeyBytes, describe};
use crate::keyed;
use crate::published::Held as HeldReaders;
use crate::stats::{self, Counters};
use crate::tree::Walk;
use crate::txn::TxIter;
use crate::txn::span::{Described, Span};
use crate::{Error, Id, Result, Snapshot, Versioned};

/// A store's share of a transaction.
pub(crate) struct Part<D> {
    /// The store's name in its database, for errors.
    name: Option<Arc<str>>,
    snapshot: Arc<State<D>>,
    /// Documents read by id and not written, with the record seen (none: absent).
    reads: BTreeMap<Id, Option<Versioned<D>>>,
    /// Index queries run: index name and keys.
    queries: Vec<(String, Span)>,
    /// Whether every document was read.
    scanned: bool,
    /// Documents written, in id order.
    writes: BTreeMap<Id, Written<D>>,
    /// Deadlines set and read (see `deadlines`).
    deadlines: deadlines::TxDeadlines,
}

/// A document the transaction wrote: as the snapshot had it, and as it will be.
/// Its keys in each index of the snapshot are worked out when it is written, so
/// that key code (user code, for computed keys) never runs under a lock.
struct Written<D> {
    base: Option<Versioned<D>>,
    base_keys: Vec<Keys>,
    new: Option<Versioned<D>>,
    new_keys: Vec<Keys>,
    /// What `new` weighs, in a store whose capacity is weighed: weighed when
    /// it was written, as the weigher must not run under a lock.
    weight: u64,
}

/// Whether two reads of one id saw the same stored version (or both nothing).
fn same<D>(a: Option<&Versioned<D>>, b: Option<&Versioned<D>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.ptr_eq(b),
        (None, None) => true,
        _ => false,
    }
}

impl<D> Part<D> {
    pub(crate) fn new(snapshot: Arc<State<D>>, name: Option<Arc<str>>) -> Self {
        Part {
            name,
            // Read as of the moment the transaction first reaches the store:
            // a document past its deadline by then is not there.
            snapshot: visible(&snapshot),
            reads: BTreeMap::new(),
            queries: Vec::new(),
            scanned: false,
            writes: BTreeMap::new(),
            deadlines: deadlines::TxDeadlines::default(),
        }
    }

    /// Whether the commit has anything to check or change here.
    pub(crate) fn is_idle(&self) -> bool {
        self.reads.is_empty()
            && self.queries.is_empty()
            && !self.scanned
            && self.writes.is_empty()
            && self.deadlines.is_empty()
    }

    /// Whether the commit changes this store.
    pub(crate) fn has_writes(&self) -> bool {
        self.deadlines.has_writes() || self.changes_documents()
    }

    /// Whether the commit changes a document here (not only deadlines,
    /// which take no sequence number).
    pub(crate) fn changes_documents(&self) -> bool {
        self.writes
            .values()
            .any(|written| written.base.is_some() || written.new.is_some())
    }

    /// The document as this transaction sees it, recorded as read.
    pub(crate) fn get(&mut self, id: Id) -> Option<Versioned<D>> {
        if let Some(written) = self.writes.get(&id) {
            return written.new.clone();
        }
        let seen = self.snapshot.docs.get(&id).cloned();
        self.reads.entry(id).or_insert_with(|| seen.clone());
        seen
    }

    /// The document `id` as this transaction sees it, which must exist and have
    /// version `expected` when one is given.
    fn current(&mut self, id: Id, expected: Option<u64>) -> Result<Versioned<D>> {
        let current = self.get(id).ok_or(Error::NotFound { id })?;
        match expected {
            Some(expected) if expected != current.version() => Err(Error::VersionConflict {
                id,
                expected,
                actual: current.version(),
            }),
            _ => Ok(current),
        }
    }

    fn keys_of(&self, document: &D) -> Result<Vec<Keys>> {
        KeySink::with_spare(|sink| {
            self.snapshot
                .indexes
                .iter()
                .map(|index| index.keys_of(document, sink))
                .collect()
        })
    }

    /// The keys a stored document is indexed under, in each index of the
    /// snapshot. They could be computed when it was stored, so they can be now.
    fn stored_keys(&self, stored: &Versioned<D>) -> Vec<Keys> {
        KeySink::with_spare(|sink| {
            self.snapshot
                .indexes
                .iter()
                .map(|index| index.keys_of(stored.value(), sink).unwrap_or_default())
                .collect()
        })
    }

    /// The entry of a document this transaction writes, made on its first
    /// write from `base` (what the snapshot has, and its keys).
    fn stage(
        &mut self,
        id: Id,
        base: impl FnOnce() -> (Option<Versioned<D>>, Vec<Keys>),
    ) -> &mut Written<D> {
        let Part { reads, writes, .. } = self;
        writes.entry(id).or_insert_with(|| {
            let (base, base_keys) = base();
            // Its base stands for the read from now on.
            reads.remove(&id);
            Written {
                base,
                base_keys,
                new: None,
                new_keys: Vec::new(),
                weight: 0,
            }
        })
    }

    /// Buffers a new document under a fresh id, weighing `weight`.
    pub(crate) fn insert(&mut self, id: Id, document: D, weight: u64) -> Result<Versioned<D>> {
        let new_keys = self.keys_of(&document)?;
        let record = Versioned::new(id, 1, document);
        // A fresh id: the snapshot has no document under it.
        let written = self.stage(id, || (None, Vec::new()));
        written.new = Some(record.clone());
        written.new_keys = new_keys;
        written.weight = weight;
        Ok(record)
    }

    /// Buffers a replacement of document `id`, weighing `weight`. Its
    /// version will be one more than the stored one, however often the
    /// transaction writes it.
    pub(crate) fn replace(
        &mut self,
        id: Id,
        expected: Option<u64>,
        document: D,
        weight: u64,
    ) -> Result<Versioned<D>> {
        let current = self.current(id, expected)?;
        let new_keys = self.keys_of(&document)?;
        let first = !self.writes.contains_key(&id);
        let base_keys = if first {
            self.stored_keys(&current)
        } else {
            Vec::new()
        };
        let seen_keys = self
            .writes
            .get(&id)
            .map_or(&base_keys, |written| &written.new_keys);
        self.check_own_keys(id, seen_keys, &new_keys)?;
        // Unless the transaction wrote it before, what it sees is the snapshot's.
        let written = self.stage(id, || (Some(current), base_keys));
        let version = written.base.as_ref().map_or(0, Versioned::version);
        let record = Versioned::new(id, version.saturating_add(1), document);
        written.new = Some(record.clone());
        written.new_keys = new_keys;
        written.weight = weight;
        Ok(record)
    }

    /// Fails with [`Error::KeyChanged`] if a document's own key (`#[key]`)
    /// would change from `seen` to `new`: it is fixed once stored.
    fn check_own_keys(&self, id: Id, seen: &[Keys], new: &[Keys]) -> Result<()> {
        for (position, index) in self.snapshot.indexes.iter().enumerate() {
            if !index.def.own_key {
                continue;
            }
            let (old, new) = (seen.get(position), new.get(position));
            if old != new
                && let Some(old) = old
            {
                let none = Keys::None;
                keyed::check_kept(&index.def, id, old, new.unwrap_or(&none))?;
            }
        }
        Ok(())
    }

    /// Buffers the deletion of document `id`; returns it as the transaction saw it.
    pub(crate) fn delete(&mut self, id: Id, expected: Option<u64>) -> Result<Versioned<D>> {
        let current = self.current(id, expected)?;
        let base_keys = if self.writes.contains_key(&id) {
            Vec::new()
        } else {
            self.stored_keys(&current)
        };
        let written = self.stage(id, || (Some(current.clone()), base_keys));
        written.new = None;
        written.new_keys = Vec::new();
        Ok(current)
    }

    pub(crate) fn index(&self, name: &str) -> Result<&IndexState<D>> {
        self.snapshot.index(name)
    }

    /// The documents of an index query as this transaction sees it: the
    /// snapshot's, less the documents it wrote, plus those it wrote that have a
    /// key in the span; in key order, ties in id order, each once.
    pub(crate) fn query(&mut self, name: &str, span: Span) -> Result<TxIter<D>> {
        let position = self.snapshot.index_position(name)?;
        let multi_key = self.snapshot.indexes[position].def.info.multi_key;
        // On a multi-key index a document comes at its smallest key in the
        // span, so whether it shows on a resumed page depends on its keys
        // before the position too: the whole span is read.
        if self.writes.is_empty() {
            return Ok(self.query_snapshot(name, position, span));
        }
        let (read, after) = match span {
            Span::After(span, key, id) if multi_key => (*span, Some((key, id))),
            span => (span, None),
        };
        let found = self.found(position, &read);
        let results = found
            .into_iter()
            .filter(|(key, document)| {
                after.as_ref().is_none_or(|(after, after_id)| {
                    (key.as_bytes(), document.id()) > (after.as_slice(), *after_id)
                })
            })
            .map(|(_, document)| document)
            .collect();
        self.queries.push((name.to_owned(), read));
        Ok(TxIter::listed(results))
    }

    /// [`query`](Self::query) where this transaction wrote nothing: the
    /// snapshot's results, read as they are taken.
    fn query_snapshot(&mut self, name: &str, position: usize, span: Span) -> TxIter<D> {
        let index = &self.snapshot.indexes[position];
        let (start, end) = span.ranks(&index.entries);
        let (from, read) = match span {
            // Which keys of a multi-key document come before the position
            // decides whether it shows: the whole span is read.
            Span::After(whole, ..) if index.def.info.multi_key => {
                (whole.ranks(&index.entries).0, *whole)
            }
            Span::After(ref whole, ..) => (whole.ranks(&index.entries).0, span),
            span => (start, span),
        };
        let results = crate::snapshot::results(&self.snapshot, index, (from, start, end), None);
        self.queries.push((name.to_owned(), read));
        TxIter::lazy(results)
    }

    /// The entries of the index at `position` in `span` as this transaction
    /// sees them, each document once, at its first key.
    fn found(&self, position: usize, span: &Span) -> Vec<(KeyBytes, Versioned<D>)> {
        let index = &self.snapshot.indexes[position];
        let docs = &self.snapshot.docs;
        let (start, end) = span.ranks(&index.entries);
        let mut walk = Walk::new(index.entries.clone());
        let mut found = Vec::with_capacity(end - start);
        for rank in start..end {
            let Some((entry, document)) = walk.at(rank) else {
                break;
            };
            if self.writes.contains_key(&entry.id) {
                continue;
            }
            if let Some(document) = document.as_ref().or_else(|| docs.get(&entry.id)) {
                found.push((entry.key.clone(), document.clone()));
            }
        }
        let mut merged = false;
        for (id, written) in &self.writes {
            let (Some(new), Some(keys)) = (&written.new, written.new_keys.get(position)) else {
                continue;
            };
            for key in keys.as_slice() {
                if span.contains(key.as_bytes(), *id) {
                    found.push((key.clone(), new.clone()));
                    merged = true;
                }
            }
        }
        if merged {
            found.sort_by(|(a, x), (b, y)| a.cmp(b).then(x.id().cmp(&y.id())));
        }
        if index.def.info.multi_key {
            let mut seen = HashSet::with_capacity(found.len());
            found.retain(|(_, document)| seen.insert(document.id()));
        }
        found
    }

    /// Every document as this transaction sees it, in id order.
    pub(crate) fn all(&mut self) -> TxIter<D> {
        self.scanned = true;
        if self.writes.is_empty() {
            return TxIter::lazy(Snapshot::new(Arc::clone(&self.snapshot)).iter());
        }
        let mut results = Vec::with_capacity(self.snapshot.docs.len());
        let mut writes = self.writes.iter().peekable();
        for (id, document) in self.snapshot.docs.entries() {
            while let Some((_, written)) = writes.next_if(|(written, _)| *written < id) {
                results.extend(written.new.clone());
            }
            match writes.next_if(|(written, _)| *written == id) {
                Some((_, written)) => results.extend(written.new.clone()),
                None => results.push(document.clone()),
            }
        }
        for (_, written) in writes {
            results.extend(written.new.clone());
        }
        TxIter::listed(results)
    }

    /// How many documents there are as this transaction sees it. Reads the
    /// whole store, as [`all`](Self::all) does, without listing it.
    pub(crate) fn len(&mut self) -> usize {
        self.scanned = true;
        let (mut added, mut removed) = (0, 0);
        for written in self.writes.values() {
            match (&written.base, &written.new) {
                (None, Some(_)) => added += 1,
                (Some(_), None) => removed += 1,
                _ => {}
            }
        }
        self.snapshot.docs.len() + added - removed
    }

    fn conflict(&self, id: Option<Id>, index: Option<&str>, read: String) -> Error {
        Error::Conflict {
            store: self.name.as_deref().map(str::to_owned),
            id,
            index: index.map(str::to_owned),
            read,
        }
    }

    /// Fails with [`Error::Conflict`] unless everything this transaction read
    /// is still what `current` holds: then the transaction can take effect at
    /// this instant as if it had run alone (serializable).
    pub(crate) fn validate(&self, current: &State<D>) -> Result<()> {
        let snapshot = &*self.snapshot;
        if current.indexes_version() != snapshot.indexes_version() {
            return Err(self.conflict(
                None,
                None,
                "the indexes (one was created or dropped)".to_owned(),
            ));
        }
        if let Some(id) = self.deadlines.changed(current) {
            return Err(self.conflict(Some(id), None, format!("the deadline of document {id}")));
        }
        // The same documents, none of them expired since the snapshot.
        if current.generation() == snapshot.generation()
            && current.docs.len() == snapshot.docs.len()
        {
            return Ok(());
        }
        let read_ids = self.reads.iter().map(|(id, seen)| (id, seen.as_ref()));
        let written_ids = self
            .writes
            .iter()
            .map(|(id, written)| (id, written.base.as_ref()));
        for (id, seen) in read_ids.chain(written_ids) {
            if !same(current.docs.get(id), seen) {
                return Err(self.conflict(Some(*id), None, format!("document {id}")));
            }
        }
        for (name, span) in &self.queries {
            if !same_results(snapshot, current, name, span) {
                let described = Described { index: name, span };
                return Err(self.conflict(None, Some(name), described.to_string()));
            }
        }
        if self.scanned {
            return Err(self.conflict(None, None, "the documents it iterated".to_owned()));
        }
        Ok(())
    }

    /// Fails with [`Error::UniqueViolation`] if the writes would give two
    /// documents one key of a unique index, counting both the current state
    /// and the transaction's own writes.
    pub(crate) fn check_unique(&self, current: &State<D>) -> Result<()> {
        for (position, index) in current.indexes.iter().enumerate() {
            if !index.def.info.unique {
                continue;
            }
            let mut keys: Vec<_> = self
                .writes
                .iter()
                .filter(|(_, written)| written.new.is_some())
                .filter_map(|(id, written)| Some((written.new_keys.get(position)?, *id)))
                .flat_map(|(keys, id)| keys.as_slice().iter().map(move |key| (key, id)))
                .collect();
            keys.sort_unstable();
            let violation = |key: &crate::key::KeyBytes, existing: Id| Error::UniqueViolation {
                index: index.name().to_owned(),
                key: describe(key.as_bytes()),
                existing,
            };
            if let Some(pair) = keys.windows(2).find(|pair| pair[0].0 == pair[1].0) {
                return Err(violation(pair[0].0, pair[0].1));
            }
            for (key, id) in keys {
                let start = index.entries.rank_by(|entry| entry.key < *key);
                let holders = (start..).map_while(|rank| {
                    index
                        .entries
                        .nth(rank)
                        .filter(|(entry, _)| entry.key == *key)
                        .map(|(entry, _)| entry.id)
                });
                for holder in holders {
                    // A document this transaction writes holds the key after
                    // it only if listed above.
                    if holder != id && !self.writes.contains_key(&holder) {
                        return Err(violation(key, holder));
                    }
                }
            }
        }
        Ok(())
    }

    /// How many documents this transaction writes here.
    pub(crate) fn write_count(&self) -> usize {
        self.writes.len()
    }

    /// Lets go of the snapshot, so that the current state, if nobody else
    /// holds it, can be changed in place.
    pub(crate) fn release_snapshot(&mut self) {
        self.snapshot = Arc::new(State::empty());
    }

    /// The state after this transaction's writes, built on a private copy of
    /// `current` (which readers go on reading meanwhile), and what changed.
    pub(crate) fn build(&mut self, current: &Arc<State<D>>, halfway: &dyn Fn()) -> Built<D> {
        let mut next = (**current).clone();
        let (changes, weights) = self.apply_to(&mut next, halfway);
        Built {
            state: Arc::new(next),
            changes,
            weights,
        }
    }

    /// Applies this transaction's writes to `next`; returns what changed.
    /// Each document written (and not merely inserted then deleted), as it
    /// will be: none for a delete.
    pub(crate) fn changed(&self) -> impl Iterator<Item = (Id, Option<&Versioned<D>>)> {
        self.writes
            .iter()
            .filter(|(_, written)| written.base.is_some() || written.new.is_some())
            .map(|(id, written)| (*id, written.new.as_ref()))
    }

    pub(crate) fn apply_to(
        &mut self,
        next: &mut State<D>,
        halfway: &dyn Fn(),
    ) -> (Vec<Change<D>>, Vec<u64>) {
        let mut changes = Vec::with_capacity(self.writes.len());
        let mut weights = Vec::with_capacity(self.writes.len());
        let mut writes = Vec::with_capacity(self.writes.len());
        for (id, written) in std::mem::take(&mut self.writes) {
            let Written {
                base,
                base_keys,
                new,
                new_keys,
                weight,
            } = written;
            if base.is_none() && new.is_none() {
                continue;
            }
            writes.push(DocWrite {
                id,
                record: new.clone(),
                old_keys: base_keys,
                new_keys,
            });
            changes.push(Change { id, old: base, new });
            weights.push(weight);
        }
        next.apply_many(writes, halfway);
        self.deadlines.apply(next);
        (changes, weights)
    }
}

/// A store's state after a transaction, and what the transaction changed.
pub(crate) struct Built<D> {
    state: Arc<State<D>>,
    changes: Vec<Change<D>>,
    /// What each changed document weighs, in the order of `changes`.
    weights: Vec<u64>,
}

/// Whether an index query returns the same entries with the same stored
/// versions in two states.
fn same_results<D>(before: &State<D>, now: &State<D>, name: &str, span: &Span) -> bool {
    let (Ok(a), Ok(b)) = (before.index(name), now.index(name)) else {
        return false;
    };
    let (start_a, end_a) = span.ranks(&a.entries);
    let (start_b, end_b) = span.ranks(&b.entries);
    if end_a - start_a != end_b - start_b {
        return false;
    }
    let mut walk_a = Walk::new(a.entries.clone());
    let mut walk_b = Walk::new(b.entries.clone());
    (start_a..end_a)
        .zip(start_b..end_b)
        .all(
            |(rank_a, rank_b)| match (walk_a.at(rank_a), walk_b.at(rank_b)) {
                (Some((entry_a, doc_a)), Some((entry_b, doc_b))) => {
                    entry_a == entry_b
                        && same(
                            doc_a.as_ref().or_else(|| before.docs.get(&entry_a.id)),
                            doc_b.as_ref().or_else(|| now.docs.get(&entry_b.id)),
                        )
                }
                _ => false,
            },
        )
}

/// A store as a transaction's commit sees it, whatever its document type.
pub(crate) trait Member: Send + Sync {
    /// What identifies the store within a transaction.
    fn address(&self) -> usize;
    /// The current state, as an `Arc<State<D>>`. Removes nothing past its
    /// deadline: it is taken inside the database's publish gate, where a
    /// commit cannot be made.
    fn snapshot_any(&self) -> Result<Box<dyn Any + Send + Sync>>;
    /// [`snapshot_any`](Self::snapshot_any) if it needs no wait for the
    /// store's writer; none if it would.
    fn snapshot_now(&self) -> Option<Result<Box<dyn Any + Send + Sync>>>;
    /// Removes what is past its deadline, before a cut.
    fn expire_due(&self) -> Result<()>;
    fn sequence(&self) -> &Sequence;
    /// Takes the writer lock for the commit of `part` (a `Part<D>`).
    fn lock<'s>(&'s self, part: &'s mut (dyn Any + Send)) -> Option<Box<dyn Locked<'s> + 's>>;
    /// Evicts what a commit took over the store's capacity, if it has one.
    fn keep_to_capacity(&self);
}

impl<D: Send + Sync + 'static> Member for Engine<D> {
    fn address(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    fn snapshot_any(&self) -> Result<Box<dyn Any + Send + Sync>> {
        Ok(Box::new(self.current()?))
    }

    fn snapshot_now(&self) -> Option<Result<Box<dyn Any + Send + Sync>>> {
        let state = self.current_now()?;
        Some(state.map(|state| Box::new(state) as Box<dyn Any + Send + Sync>))
    }

    fn expire_due(&self) -> Result<()> {
        Engine::expire_due(self)
    }

    fn sequence(&self) -> &Sequence {
        Engine::sequence(self)
    }

    fn keep_to_capacity(&self) {
        // The commit stands whatever this finds: a store whose pinned
        // documents fill it stays over until some are unpinned.
        let _ = self.make_room(crate::capacity::Room::NOTHING);
    }

    fn lock<'s>(&'s self, part: &'s mut (dyn Any + Send)) -> Option<Box<dyn Locked<'s> + 's>> {
        let part = part.downcast_mut::<Part<D>>()?;
        Some(Box::new(Held {
            engine: self,
            earliest: None,
            documents: false,
            part,
            writer: self.lock_writer(),
            sequence: self.sequence(),
            feed: self.feed(),
            address: Engine::address(self),
            counters: self.counters(),
            journal: self.journal(),
            next: None,
            in_place: false,
            readers: None,
            replaced: None,
            done: None,
        }))
    }
}

/// One store's part of a commit, with its writer lock held.
pub(crate) trait Locked<'s> {
    /// Checks that the store is open and what the transaction read is current.
    fn validate(&self) -> Result<()>;
    /// Checks the unique indexes.
    fn check(&self) -> Result<()>;
    /// Builds the new state on a private copy, calling `halfway` midway; or,
    /// if the commit is `small`, readies the writes to be applied in place.
    fn build(&mut self, small: bool, halfway: &dyn Fn());
    /// Adds what was built to the commit's log frame, for a durable store.
    fn record(&self, record: &mut Record) -> Result<()>;
    /// Applies a built commit's changes to the point-read hash, with no read
    /// slot held; readers read the tree until it is installed.
    fn stage(&mut self);
    /// Holds the readers' slots, so that every store of the commit can change
    /// before any reader sees one.
    fn hold_readers(&mut self);
    /// Whether the commit changes a document of this store.
    fn changes(&self) -> bool;
    /// Publishes the new state as part of commit `seq`, which changes `parts`
    /// stores; readers see it when [`release_readers`](Self::release_readers)
    /// lets them.
    fn install(&mut self, seq: u64, parts: usize);
    /// Installs the new state as part of commit `seq` without publishing
    /// it: a durable store's commit waiting for the disk.
    fn install_pending(&mut self, seq: u64, parts: usize);
    /// What publishes the pending state once it is on disk, if the commit
    /// changes this store.
    fn settling(&self) -> Option<Box<dyn Settling<'s> + 's>>;
    fn release_readers(&mut self);
    /// Lets the lock go; returns what must run after every lock is released.
    fn unlock(self: Box<Self>) -> Box<dyn FnOnce() + 's>;
}

/// One store's part of a durable commit waiting for the disk, after its
/// writer lock was released.
pub(crate) trait Settling<'s> {
    /// Holds the readers' slots, so that every store of the commit can change
    /// before any reader sees one.
    fn hold_readers(&mut self);
    /// Publishes the state the commit made (readers see it once released).
    fn publish(&mut self);
    fn release_readers(&mut self);
    /// The disk failed: lets go of the state, and of the commit.
    fn roll_back(self: Box<Self>);
}

struct Settle<'s, D> {
    engine: &'s Engine<D>,
    mine: Arc<State<D>>,
    readers: Option<HeldReaders<'s, State<D>>>,
}

impl<'s, D: Send + Sync + 'static> Settling<'s> for Settle<'s, D> {
    fn hold_readers(&mut self) {
        self.readers = Some(self.engine.hold_readers());
    }

    fn publish(&mut self) {
        if let Some(readers) = self.readers.as_mut() {
            self.engine.publish_settled(readers, &self.mine);
        }
    }

    fn release_readers(&mut self) {
        self.readers = None;
    }

    fn roll_back(self: Box<Self>) {
        let Settle { engine, mine, .. } = *self;
        drop(mine);
        engine.roll_back();
    }
}

struct Held<'s, D> {
    engine: &'s Engine<D>,
    /// The earliest deadline of the store, when the commit set it: the
    /// sweeper is woken after every lock is released.
    earliest: Option<u64>,
    /// Whether the commit changes a document here (not only deadlines).
    documents: bool,
    part: &'s mut Part<D>,
    writer: Writer<'s, D>,
    sequence: &'s Sequence,
    feed: &'s Feed<D>,
    address: usize,
    /// Where a conflict on this store is counted (see `stats`).
    counters: &'s Arc<Counters>,
    journal: Option<&'s Journal<D>>,
    /// The new state, when built on a private copy.
    next: Option<Built<D>>,
    /// Whether the writes are applied in place instead, under the readers' slots.
    in_place: bool,
    readers: Option<HeldReaders<'s, State<D>>>,
    /// The state replaced, when a new one was built: freed after unlocking.
    replaced: Option<Arc<State<D>>>,
    /// The commit made, once published.
    done: Option<Commit<D>>,
}

impl<'s, D: Send + Sync + 'static> Locked<'s> for Held<'s, D> {
    fn validate(&self) -> Result<()> {
        if self.writer.is_closed() {
            return Err(Error::Closed);
        }
        // A document that expired since the transaction read it counts as
        // changed; one not yet swept away does not hold a unique key.
        let valid = self.part.validate(&visible(self.writer.state()));
        if let Err(Error::Conflict { .. }) = valid {
            stats::conflicted(self.counters);
        }
        valid
    }

    fn check(&self) -> Result<()> {
        if self.part.has_writes() {
            self.part.check_unique(&visible(self.writer.state()))
        } else {
            Ok(())
        }
    }

    fn build(&mut self, small: bool, halfway: &dyn Fn()) {
        if !self.part.has_writes() {
            return;
        }
        self.documents = self.part.changes_documents();
        // Deadlines alone change no document: nothing to copy for.
        if small || !self.documents {
            halfway();
            self.part.release_snapshot();
            self.in_place = true;
        } else {
            self.next = Some(self.part.build(self.writer.state(), halfway));
        }
    }

    fn record(&self, record: &mut Record) -> Result<()> {
        let Some(journal) = self.journal else {
            return Ok(());
        };
        match &self.next {
            Some(built) => record.add(
                journal,
                built
                    .changes
                    .iter()
                    .map(|change| (change.id, change.new.as_ref())),
            ),
            None if self.in_place => record.add(journal, self.part.changed()),
            None => Ok(()),
        }?;
        record.add_deadlines(journal, self.part.deadlines_set());
        Ok(())
    }

    fn stage(&mut self) {
        if let Some(built) = &self.next {
            drop(self.writer.stage(&built.changes));
            self.writer.stage_deadlines(self.part.deadlines_set());
        }
    }

    fn hold_readers(&mut self) {
        if self.next.is_some() || self.in_place {
            self.readers = Some(self.writer.hold_readers());
        }
    }

    fn changes(&self) -> bool {
        (self.next.is_some() || self.in_place) && self.documents
    }

    fn install(&mut self, seq: u64, parts: usize) {
        let Some(mut readers) = self.readers.take() else {
            return;
        };
        self.install_as(seq, parts, Some(&mut readers));
        self.readers = Some(readers);
    }

    fn install_pending(&mut self, seq: u64, parts: usize) {
        if self.changes() {
            self.install_as(seq, parts, None);
        }
    }

    fn settling(&self) -> Option<Box<dyn Settling<'s> + 's>> {
        self.done.as_ref()?;
        Some(Box::new(Settle {
            engine: self.engine,
            mine: Arc::clone(self.writer.state()),
            readers: None,
        }))
    }

    fn release_readers(&mut self) {
        self.readers = None;
    }

    fn unlock(self: Box<Self>) -> Box<dyn FnOnce() + 's> {
        let Held {
            engine,
            earliest,
            writer,
            sequence,
            feed,
            done,
            replaced,
            readers,
            ..
        } = *self;
        drop(readers);
        drop(writer);
        Box::new(move || {
            if let Some(at) = earliest {
                engine.wake_sweeper(at);
            }
            if let Some(commit) = done {
                sequence.committed(feed, commit);
            }
            drop(replaced);
        })
    }
}

impl<'s, D: Send + Sync + 'static> Held<'s, D> {
    /// Installs the new state as part of commit `seq`: published through
    /// `readers` if given, else only the writer's (see `install_pending`).
    fn install_as(
        &mut self,
        seq: u64,
        parts: usize,
        readers: Option<&mut HeldReaders<'s, State<D>>>,
    ) {
        let prev = self.writer.state().seq;
        let documents = self.documents;
        let engine = self.engine;
        let changes = if let Some(Built {
            mut state,
            changes,
            weights,
        }) = self.next.take()
        {
            let next = Arc::make_mut(&mut state);
            next.seq = seq;
            self.engine.reweigh_changes(next, &changes, &weights);
            self.replaced = Some(match readers {
                Some(readers) => self.writer.install(readers, state),
                None => self.writer.replace(state),
            });
            changes
        } else if self.in_place {
            let part = &mut *self.part;
            let apply = |state: &mut State<D>| {
                if documents {
                    state.seq = seq;
                }
                let (changes, weights) = part.apply_to(state, &|| {});
                engine.reweigh_changes(state, &changes, &weights);
                changes
            };
            match readers {
                Some(readers) => {
                    let changes = self.writer.change(readers, apply);
                    // The point-read hash follows under the same slots.
                    drop(self.writer.stage(&changes));
                    self.writer.stage_deadlines(part.deadlines_set());
                    self.writer.settle(readers);
                    changes
                }
                None => self.writer.change_unpublished(apply),
            }
        } else {
            return;
        };
        self.writer
            .record_writes(changes.iter().map(|change| change.id));
        self.earliest = self
            .part
            .earliest_deadline_set()
            .filter(|at| self.engine.note_deadline(*at));
        if !documents {
            // Deadlines only: no commit to hear.
            return;
        }
        self.done = Some(Commit {
            seq,
            prev,
            parts,
            address: self.address,
            expired: false,
            evicted: false,
            changes,
        });
    }
}

/// A store's share of a transaction, whatever its document type.
pub(crate) trait AnyPart: Send {
    fn has_writes(&self) -> bool;
    fn changes_documents(&self) -> bool;
    fn write_count(&self) -> usize;
    fn is_idle(&self) -> bool;
    fn as_any(&mut self) -> &mut (dyn Any + Send);
}

impl<D: Send + Sync + 'static> AnyPart for Part<D> {
    fn has_writes(&self) -> bool {
        Part::has_writes(self)
    }

    fn changes_documents(&self) -> bool {
        Part::changes_documents(self)
    }

    fn write_count(&self) -> usize {
        Part::write_count(self)
    }

    fn is_idle(&self) -> bool {
        Part::is_idle(self)
    }

    fn as_any(&mut self) -> &mut (dyn Any + Send) {
        self
    }
}
