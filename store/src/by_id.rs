//! The current documents by id, hashed: what point reads read.
//!
//! The persistent documents tree serves snapshots, scans and every read that
//! needs an order, but finding one document in it is a descent of several
//! levels, each a cache miss once the store outgrows the caches. Beside it the
//! engine keeps this hash of the *current* documents (snapshots never read
//! it), so that a get, and the id-to-document step of a plain index's result,
//! costs about one miss, as in a `HashMap`.
//!
//! It must agree with the published state whenever a reader can look:
//!
//! - a single-document write changes its one entry while it holds every read
//!   slot (see `published`), so a reader holding a slot sees the hash and the
//!   tree agree, and a reader of the hash alone sees the write no earlier than
//!   the write is underway: single writes stay linearizable. It also moves
//!   the stamp (below) on, odd while it changes its entry, so that a stamp
//!   read with a state names that state's documents;
//! - a transaction changes many entries, which no reader may see in part. It
//!   makes [`stamp`](ById::stamp) odd first, changes its entries with no slot
//!   held (so a large commit does not stall readers in proportion to its
//!   size), and makes the stamp even again while it holds the slots to publish
//!   its state. A reader whose stamp was odd, or changed while it read, reads
//!   the tree under its slot instead: the state from before the transaction,
//!   or after it.
//!
//! Each bucket's document has its deadline filed at the same position of a
//! second array (`NO_DEADLINE` for none), written in step with the document
//! under the shard's lock, so that
//! a get of a store with deadlines still reads the hash alone: it hides a
//! document whose deadline it finds due, whatever else the store holds, and
//! reads the clock only for a document that has a deadline. The deadline is
//! read with the document it goes with, so a commit that publishes a
//! document and a past deadline for it together is never seen in part. The
//! array is made by a shard's first deadline: a store without deadlines pays
//! no byte a document for them.
//!
//! A query read lazily from a snapshot finds its results' documents through
//! the hash too, as long as the stamp is the one read with the snapshot's
//! state: nothing was written since, so the hash holds the snapshot's very
//! documents. Once a write moves the stamp on, it reads the snapshot's tree.
//!
//! The table is split into shards by the id's hash, each behind its own lock
//! on its own cache line, so that parallel readers do not bounce one lock
//! word between cores. Each shard is an open-addressing table with linear
//! probing that stores the id's hash beside the document, so a probe compares
//! a word in the table and never reads a document it does not return, and
//! growing never touches the documents.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

use crate::clock::Micros;
use crate::commit::Change;
use crate::id_hash::IdSeed;
use crate::tree::Tree;
use crate::{Id, Versioned};

/// Enough shards that two threads rarely read through the same lock.
const SHARD_BITS: u32 = 5;
const SHARDS: usize = 1 << SHARD_BITS;

/// The deadline word of a document without a deadline.
pub(crate) const NO_DEADLINE: Micros = Micros::MAX;

/// A shard's table grows past this share of its buckets filled (in eighths).
const MAX_LOAD_EIGHTHS: usize = 7;

/// The smallest table a shard allocates.
const MIN_BUCKETS: usize = 8;

/// One shard, on a cache line of its own (128 bytes covers adjacent-line
/// prefetch).
#[repr(align(128))]
struct Shard<D> {
    table: RwLock<Table<D>>,
}

/// An open-addressing table: each bucket holds an id's hash and its
/// document; `deadlines` the document's deadline at the same position.
struct Table<D> {
    buckets: Vec<Option<Bucket<D>>>,
    /// As long as `buckets` once some document of the shard had a deadline,
    /// empty until then. An empty bucket's entry is `NO_DEADLINE`.
    deadlines: Vec<Micros>,
    len: usize,
}

/// A filled bucket.
struct Bucket<D> {
    hash: u64,
    document: Versioned<D>,
}

impl<D> Table<D> {
    const fn new() -> Self {
        Table {
            buckets: Vec::new(),
            deadlines: Vec::new(),
            len: 0,
        }
    }

    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }

    /// Where document `id` is, if the table holds it.
    fn find(&self, hash: u64, id: Id) -> Option<usize> {
        let mask = self.mask();
        let mut at = hash as usize & mask;
        // The load limit keeps a bucket empty, so every probe ends.
        loop {
            match self.buckets.get(at)? {
                None => return None,
                Some(bucket) if bucket.hash == hash && bucket.document.id() == id => {
                    return Some(at);
                }
                Some(_) => at = (at + 1) & mask,
            }
        }
    }

    /// The document at `at`, if any.
    fn document(&self, at: usize) -> Option<&Versioned<D>> {
        self.buckets
            .get(at)?
            .as_ref()
            .map(|bucket| &bucket.document)
    }

    /// The deadline filed at `at`.
    fn deadline(&self, at: usize) -> Micros {
        self.deadlines.get(at).copied().unwrap_or(NO_DEADLINE)
    }

    /// Files `deadline` at `at`, making the array on the first deadline.
    fn file(&mut self, at: usize, deadline: Micros) {
        if self.deadlines.is_empty() {
            if deadline == NO_DEADLINE {
                return;
            }
            self.deadlines = vec![NO_DEADLINE; self.buckets.len()];
        }
        if let Some(slot) = self.deadlines.get_mut(at) {
            *slot = deadline;
        }
    }

    /// The bucket holding `id`, or the empty bucket where it would go.
    fn position(&self, hash: u64, id: Id) -> Option<usize> {
        let mask = self.mask();
        let mut at = hash as usize & mask;
        loop {
            match self.buckets.get(at)? {
                Some(bucket) if bucket.hash != hash || bucket.document.id() != id => {
                    at = (at + 1) & mask;
                }
                _ => return Some(at),
            }
        }
    }

    /// Files `document` with `deadline`, or with the deadline filed with the
    /// document it replaces (none for a new one) if `None`.
    fn insert(
        &mut self,
        hash: u64,
        document: Versioned<D>,
        deadline: Option<Micros>,
    ) -> Option<Versioned<D>> {
        if (self.len + 1) * 8 > self.buckets.len() * MAX_LOAD_EIGHTHS {
            self.grow();
        }
        let at = self.position(hash, document.id())?;
        // An empty bucket's deadline is none: a new document has none.
        let kept = self.deadline(at);
        let old = self
            .buckets
            .get_mut(at)?
            .replace(Bucket { hash, document })
            .map(|old| old.document);
        self.file(at, deadline.unwrap_or(kept));
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// Files `deadline` with document `id`, if the table holds it.
    fn set_deadline(&mut self, hash: u64, id: Id, deadline: Micros) {
        if let Some(at) = self.find(hash, id) {
            self.file(at, deadline);
        }
    }

    fn remove(&mut self, hash: u64, id: Id) -> Option<Versioned<D>> {
        let mut hole = self.position(hash, id)?;
        let removed = self.buckets.get_mut(hole)?.take()?.document;
        self.len -= 1;
        // Shift back the entries after the hole that probed past it, so that no
        // tombstones are needed and every probe still ends at an empty bucket.
        let mask = self.mask();
        let mut next = hole;
        loop {
            next = (next + 1) & mask;
            let Some(Some(bucket)) = self.buckets.get(next) else {
                break;
            };
            let home = bucket.hash as usize & mask;
            let stays = if hole <= next {
                hole < home && home <= next
            } else {
                hole < home || home <= next
            };
            if !stays {
                let moved = self.buckets.get_mut(next).and_then(Option::take);
                if let Some(bucket) = self.buckets.get_mut(hole) {
                    *bucket = moved;
                }
                let deadline = self.deadline(next);
                self.file(hole, deadline);
                hole = next;
            }
        }
        self.file(hole, NO_DEADLINE);
        Some(removed)
    }

    fn grow(&mut self) {
        let size = (self.buckets.len() * 2).max(MIN_BUCKETS);
        let old = std::mem::replace(
            &mut self.buckets,
            std::iter::repeat_with(|| None).take(size).collect(),
        );
        let deadlines = std::mem::take(&mut self.deadlines);
        if !deadlines.is_empty() {
            self.deadlines = vec![NO_DEADLINE; size];
        }
        let mask = self.mask();
        for (from, moved) in old.into_iter().enumerate() {
            let Some(moved) = moved else { continue };
            let mut at = moved.hash as usize & mask;
            while let Some(Some(_)) = self.buckets.get(at) {
                at = (at + 1) & mask;
            }
            if let Some(bucket) = self.buckets.get_mut(at) {
                *bucket = Some(moved);
            }
            if let (Some(slot), Some(deadline)) = (self.deadlines.get_mut(at), deadlines.get(from))
            {
                *slot = *deadline;
            }
        }
    }
}

/// The current documents by id; see the module docs.
pub(crate) struct ById<D> {
    shards: Box<[Shard<D>]>,
    /// Even while the hash agrees with the published state; odd while a
    /// transaction changes it. On a line of its own: readers load it on every
    /// read, and nothing else there may be written.
    stamp: Stamp,
    /// Whether the hash is kept at all: a store that publishes states it did
    /// not build in step with its writes (a durable store, whose commits are
    /// published once on disk, possibly out of order) or that was cloned in
    /// O(1) reads through the tree instead.
    kept: bool,
    /// What its ids are hashed with (see `id_hash`).
    seed: IdSeed,
}

#[repr(align(128))]
struct Stamp(AtomicU64);

/// What [`ById::clear`] took out, freed when dropped.
pub(crate) struct Emptied<D>(
    #[expect(dead_code, reason = "held only to be dropped")] Vec<Table<D>>,
);

/// The hash as of one state's stamp: what a snapshot reads its documents
/// through while nothing has been written since it was taken.
pub(crate) struct AsOf<D> {
    by_id: Arc<ById<D>>,
    stamp: u64,
}

impl<D> Clone for AsOf<D> {
    fn clone(&self) -> Self {
        AsOf {
            by_id: Arc::clone(&self.by_id),
            stamp: self.stamp,
        }
    }
}

impl<D> AsOf<D> {
    /// The hash as of `stamp`, which the caller read with the state it
    /// stands for (under a read slot).
    pub(crate) fn new(by_id: &Arc<ById<D>>, stamp: u64) -> Self {
        AsOf {
            by_id: Arc::clone(by_id),
            stamp,
        }
    }

    /// Document `id` as of the stamp, if nothing was written since.
    #[inline]
    pub(crate) fn get(&self, id: Id) -> Found<D> {
        if !self.by_id.still(self.stamp) {
            return Found::Unknown;
        }
        let found = self.by_id.get_within(id);
        if self.by_id.still(self.stamp) {
            Found::Known(found)
        } else {
            Found::Unknown
        }
    }
}

/// What a read of the hash found.
pub(crate) enum Found<D> {
    /// The document, or none with that id.
    Known(Option<Versioned<D>>),
    /// The hash cannot answer now (a transaction is changing it, or it is not
    /// kept): read the tree.
    Unknown,
}

impl<D> ById<D> {
    /// An empty hash, kept or not.
    pub(crate) fn new(kept: bool) -> Self {
        ById {
            shards: (0..if kept { SHARDS } else { 0 })
                .map(|_| Shard {
                    table: RwLock::new(Table::new()),
                })
                .collect(),
            stamp: Stamp(AtomicU64::new(0)),
            kept,
            seed: IdSeed::random(),
        }
    }

    /// A kept hash of every document in `docs`, with its deadline from
    /// `deadline`.
    pub(crate) fn of(
        docs: &Tree<Id, Versioned<D>>,
        deadline: impl Fn(Id) -> Option<Micros>,
    ) -> Self {
        let hash = ById::new(true);
        for (id, document) in docs.entries() {
            hash.put(
                *id,
                document.clone(),
                Some(deadline(*id).unwrap_or(NO_DEADLINE)),
            );
        }
        hash
    }

    #[inline]
    fn shard(&self, hash: u64) -> Option<&RwLock<Table<D>>> {
        let shard = (hash >> (64 - SHARD_BITS)) as usize;
        self.shards.get(shard).map(|shard| &shard.table)
    }

    /// The current stamp, if no transaction is changing the hash.
    #[inline]
    pub(crate) fn stable(&self) -> Option<u64> {
        let stamp = self.stamp.0.load(Ordering::Acquire);
        (self.kept && stamp & 1 == 0).then_some(stamp)
    }

    /// Whether the hash is as it was when [`stable`](Self::stable) gave `stamp`.
    #[inline]
    pub(crate) fn still(&self, stamp: u64) -> bool {
        self.stamp.0.load(Ordering::Acquire) == stamp
    }

    /// Document `id` with its deadline ([`NO_DEADLINE`] for none), read under
    /// its shard's lock; `None` if the hash cannot answer now (a transaction
    /// is changing it, or it is not kept).
    #[inline]
    pub(crate) fn get_dated(&self, id: Id) -> Option<Option<(Versioned<D>, Micros)>> {
        let stamp = self.stable()?;
        let found = {
            let hash = self.seed.hash(id);
            let table = self.shard(hash)?.read();
            table.find(hash, id).and_then(|at| {
                let document = table.document(at)?.clone();
                Some((document, table.deadline(at)))
            })
        };
        // A transaction that changed the shard since the stamp was read made
        // the stamp odd before (the shard's lock orders the two), so a changed
        // stamp is all a reader must check.
        self.still(stamp).then_some(found)
    }

    /// Document `id` as the hash holds it now, without its deadline; `None`
    /// if the hash cannot answer now. Apart from [`get_dated`](Self::get_dated)
    /// so that a second caller does not keep the compiler from inlining that
    /// one into `get`, whose hot path it is.
    pub(crate) fn get_current(&self, id: Id) -> Option<Option<Versioned<D>>> {
        let stamp = self.stable()?;
        let found = self.get_within(id);
        self.still(stamp).then_some(found)
    }

    /// Document `id`, for a caller that checks the stamp around its reads.
    #[inline]
    pub(crate) fn get_within(&self, id: Id) -> Option<Versioned<D>> {
        let hash = self.seed.hash(id);
        let table = self.shard(hash)?.read();
        table
            .find(hash, id)
            .and_then(|at| table.document(at).cloned())
    }

    /// Files `document` under `id` (removes document `id` for none), for a
    /// single-document write, with the read slots held; returns the document
    /// filed there before. The document keeps the deadline filed with the
    /// one it replaces unless `deadline` gives one.
    pub(crate) fn write_one(
        &self,
        id: Id,
        document: Option<Versioned<D>>,
        deadline: Option<Micros>,
    ) -> Option<Versioned<D>> {
        if !self.kept {
            return None;
        }
        self.stamp.0.fetch_or(1, Ordering::AcqRel);
        let old = match document {
            Some(document) => self.put(id, document, deadline),
            None => self.remove(id),
        };
        self.settle();
        old
    }

    /// Files deadline `at` (none: takes it off) with document `id`, with the
    /// read slots held, as the state's deadlines change.
    pub(crate) fn set_deadline(&self, id: Id, at: Option<Micros>) {
        if !self.kept {
            return;
        }
        self.stamp.0.fetch_or(1, Ordering::AcqRel);
        self.file_deadline(id, at);
        self.settle();
    }

    fn file_deadline(&self, id: Id, at: Option<Micros>) {
        let hash = self.seed.hash(id);
        if let Some(shard) = self.shard(hash) {
            shard
                .write()
                .set_deadline(hash, id, at.unwrap_or(NO_DEADLINE));
        }
    }

    /// Files `document` under `id` (see [`Table::insert`] for `deadline`);
    /// returns the document filed there before.
    fn put(
        &self,
        id: Id,
        document: Versioned<D>,
        deadline: Option<Micros>,
    ) -> Option<Versioned<D>> {
        let hash = self.seed.hash(id);
        self.shard(hash)?.write().insert(hash, document, deadline)
    }

    /// Removes document `id`; returns it.
    fn remove(&self, id: Id) -> Option<Versioned<D>> {
        let hash = self.seed.hash(id);
        self.shard(hash)?.write().remove(hash, id)
    }

    /// Applies a transaction's changes with the stamp odd, so that readers
    /// read the tree until [`settle`](Self::settle) (under the read slots)
    /// makes it even. Returns the documents replaced, for the caller to drop
    /// outside every lock.
    pub(crate) fn stage(&self, changes: &[Change<D>]) -> Vec<Versioned<D>> {
        if !self.kept || changes.is_empty() {
            return Vec::new();
        }
        self.stamp.0.fetch_or(1, Ordering::AcqRel);
        let mut replaced = Vec::with_capacity(changes.len());
        for change in changes {
            let old = match &change.new {
                Some(new) => self.put(change.id, new.clone(), None),
                None => self.remove(change.id),
            };
            replaced.extend(old);
        }
        replaced
    }

    /// Files a transaction's deadlines (after its documents, by
    /// [`stage`](Self::stage)) with the stamp odd, until
    /// [`settle`](Self::settle).
    pub(crate) fn stage_deadlines(&self, deadlines: impl Iterator<Item = (Id, Option<Micros>)>) {
        if !self.kept {
            return;
        }
        let mut deadlines = deadlines.peekable();
        if deadlines.peek().is_none() {
            return;
        }
        self.stamp.0.fetch_or(1, Ordering::AcqRel);
        for (id, at) in deadlines {
            self.file_deadline(id, at);
        }
    }

    /// Ends what [`stage`](Self::stage) began: readers read the hash again.
    pub(crate) fn settle(&self) {
        let stamp = self.stamp.0.load(Ordering::Acquire);
        if stamp & 1 == 1 {
            self.stamp.0.store(stamp + 1, Ordering::Release);
        }
    }

    /// Empties the hash; returns what it held, for the caller to drop outside
    /// every lock.
    pub(crate) fn clear(&self) -> Emptied<D> {
        self.stamp.0.fetch_or(1, Ordering::AcqRel);
        let emptied = Emptied(
            self.shards
                .iter()
                .map(|shard| std::mem::replace(&mut *shard.table.write(), Table::new()))
                .collect(),
        );
        self.settle();
        emptied
    }

    /// How many documents it holds.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|shard| shard.table.read().len).sum()
    }

    /// Describes each way the hash differs from `docs` and their deadlines
    /// (which must be the published state's, read with no writer running).
    pub(crate) fn differences(
        &self,
        docs: &Tree<Id, Versioned<D>>,
        deadline: impl Fn(Id) -> Option<Micros>,
    ) -> Vec<String> {
        if !self.kept {
            return Vec::new();
        }
        let mut problems = Vec::new();
        for (id, document) in docs.entries() {
            let stored = deadline(*id).unwrap_or(NO_DEADLINE);
            match self.get_dated(*id).flatten() {
                Some((held, at)) if held.ptr_eq(document) && at == stored => {}
                Some((held, at)) if held.ptr_eq(document) => problems.push(format!(
                    "the point-read hash holds deadline {at} for document {id}, not the \
                     stored deadline {stored}"
                )),
                Some((held, _)) => problems.push(format!(
                    "the point-read hash holds version {} of document {id}, not the stored \
                     version {}",
                    held.version(),
                    document.version()
                )),
                None => problems.push(format!("the point-read hash lacks document {id}")),
            }
        }
        let held = self.len();
        if held != docs.len() {
            problems.push(format!(
                "the point-read hash holds {held} documents; the store holds {}",
                docs.len()
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(n: u128, version: u64) -> (Id, Versioned<u128>) {
        let id = Id::from_u128(n);
        (id, Versioned::new(id, version, n))
    }

    #[test]
    fn finds_what_it_holds_through_growth_and_removal() {
        let hash = ById::new(true);
        for n in 1..=5_000u128 {
            let (id, document) = doc(n * 7919, 1);
            assert!(hash.put(id, document, None).is_none());
        }
        assert_eq!(hash.len(), 5_000);
        let (id, second) = doc(7919 * 10, 2);
        assert_eq!(hash.put(id, second, None).map(|old| old.version()), Some(1));
        for n in (1..=5_000u128).filter(|n| n % 3 == 0) {
            assert!(hash.remove(Id::from_u128(n * 7919)).is_some());
        }
        assert!(hash.remove(Id::from_u128(3)).is_none());
        for n in 1..=5_000u128 {
            let found = hash.get_within(Id::from_u128(n * 7919));
            assert_eq!(found.is_some(), n % 3 != 0, "document {n}");
        }
        assert_eq!(hash.get_within(id).map(|d| d.version()), Some(2));
        assert_eq!(hash.len(), 5_000 - 5_000 / 3);
    }

    #[test]
    fn ids_chosen_to_collide_under_a_fixed_hash_are_all_found() {
        // Ids whose halves xor to one value (see `id_hash`'s tests).
        let chosen: Vec<Id> = (0..1_000u128)
            .map(|n| Id::from_u128((n << 64) | n))
            .collect();
        let hash = ById::new(true);
        for id in &chosen {
            hash.put(*id, Versioned::new(*id, 1, 0u8), None);
        }
        assert!(chosen.iter().all(|id| hash.get_within(*id).is_some()));
    }

    #[test]
    fn removal_keeps_every_probe_run_reachable() {
        // One shard's table, filled with ids that collide, then emptied in an
        // order that makes every backward shift happen, wrapping included.
        let mut table = Table::new();
        let ids: Vec<Id> = (1..=6u128).map(Id::from_u128).collect();
        let homes = [7u64, 7, 0, 6, 7, 1];
        for (id, home) in ids.iter().zip(homes) {
            table.insert(home | (8 << 32), Versioned::new(*id, 1, ()), None);
        }
        for (gone, (id, home)) in ids.iter().zip(homes).enumerate() {
            assert!(table.remove(home | (8 << 32), *id).is_some());
            for (rest, rest_home) in ids.iter().zip(homes).skip(gone + 1) {
                assert!(table.find(rest_home | (8 << 32), *rest).is_some());
            }
        }
        assert_eq!(table.len, 0);
    }

    #[test]
    fn deadlines_follow_their_documents_through_growth_and_removal() {
        let hash = ById::new(true);
        for n in 1..=3_000u128 {
            let (id, document) = doc(n * 7919, 1);
            hash.put(id, document, None);
        }
        // No deadline yet: no shard made its deadline array.
        assert!(
            hash.shards
                .iter()
                .all(|s| s.table.read().deadlines.is_empty())
        );
        let at = |n: u128| n.is_multiple_of(5).then_some(n as Micros);
        for n in (1..=3_000u128).filter(|n| n % 5 == 0) {
            hash.set_deadline(Id::from_u128(n * 7919), at(n));
        }
        // Growth moves buckets, removal shifts them back: each deadline
        // stays with its document.
        for n in 3_001..=9_000u128 {
            let (id, document) = doc(n * 7919, 1);
            hash.put(id, document, at(n));
        }
        for n in (1..=9_000u128).filter(|n| n % 3 == 0) {
            hash.remove(Id::from_u128(n * 7919));
        }
        for n in (1..=9_000u128).filter(|n| n % 3 != 0) {
            let found = hash.get_dated(Id::from_u128(n * 7919)).flatten();
            let deadline = found.map(|(_, deadline)| deadline);
            assert_eq!(deadline, Some(at(n).unwrap_or(NO_DEADLINE)), "document {n}");
        }
        // A new document in a bucket a dated one left has no deadline.
        let (id, document) = doc(3 * 5 * 7919, 1);
        hash.put(id, document, None);
        assert!(matches!(hash.get_dated(id), Some(Some((_, NO_DEADLINE)))));
    }

    #[test]
    fn a_staged_transaction_is_unknown_until_settled() {
        let hash = ById::new(true);
        let (id, first) = doc(42, 1);
        hash.put(id, first.clone(), Some(7));
        let (_, second) = doc(42, 2);
        let replaced = hash.stage(&[Change {
            id,
            old: Some(first),
            new: Some(second),
        }]);
        assert_eq!(replaced.len(), 1);
        assert!(hash.get_dated(id).is_none());
        hash.settle();
        // A document rewritten keeps the deadline filed with it.
        assert!(matches!(hash.get_dated(id), Some(Some((d, 7))) if d.version() == 2));
        hash.set_deadline(id, None);
        assert!(matches!(hash.get_dated(id), Some(Some((_, NO_DEADLINE)))));
        assert!(ById::<u8>::new(false).get_dated(id).is_none());
    }
}
