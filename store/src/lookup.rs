//! Lookups answered from the current state: a lookup with few results reads
//! them at once, under its read slot, without a snapshot.
//!
//! A snapshot costs a reference count on the whole state (contended when
//! threads query in parallel) and resolves each plain-index result through
//! the documents tree when it is read. A lookup of a unique key, or of any
//! key few documents share, instead reads its index entries and finds their
//! documents through the point-read hash (see `by_id`) while it holds its
//! slot, so its results are those of one state, as a snapshot's are. A lookup
//! with more results reads them lazily from a snapshot, as before.

use std::ops::Bound;

use crate::engine::Engine;
use crate::index::{Entry, SoughtKey};
use crate::key::KeyWriter;
use crate::query::Source;
use crate::snapshot::{Arity, checked};
use crate::{Error, Iter, Result, Versioned};

/// Results up to this many are read at once; beyond, lazily.
const AT_ONCE: usize = 16;

impl<D: Send + Sync + 'static> Engine<D> {
    /// The documents whose key in index `name` is the one `key` writes, in
    /// id order.
    pub(crate) fn lookup(&self, name: &str, key: impl FnOnce(&mut KeyWriter)) -> Result<Iter<D>> {
        self.lookup_in(name, key, false)
    }

    /// The one document whose key in the unique index `name` is the one `key`
    /// writes, if any; fails with [`Error::NotUnique`] for another index.
    pub(crate) fn get_unique(
        &self,
        name: &str,
        key: impl FnOnce(&mut KeyWriter),
    ) -> Result<Option<Versioned<D>>> {
        Ok(self.lookup_in(name, key, true)?.next())
    }

    fn lookup_in(
        &self,
        name: &str,
        key: impl FnOnce(&mut KeyWriter),
        unique: bool,
    ) -> Result<Iter<D>> {
        // Writing the key may run user code: before any lock is taken.
        let mut out = KeyWriter::new();
        key(&mut out);
        self.read_point(|state, point| {
            let index = state.index(name)?;
            let key = checked(index, Arity::Exact, out, Bound::Included(()))?;
            if unique && !index.def.info.unique {
                return Err(Error::NotUnique {
                    index: name.to_owned(),
                });
            }
            let sought = SoughtKey::new(key.as_slice());
            let below = |entry: &Entry| sought.sorts_after(entry);
            let within = |entry: &Entry| sought.matches(entry);
            // The first document apart: a unique key's lookup allocates nothing.
            let mut first: Option<Versioned<D>> = None;
            let mut found: Vec<Versioned<D>> = Vec::new();
            let mut read = |stamp: Option<u64>| {
                first = None;
                found.clear();
                index
                    .entries
                    .short_run(below, within, AT_ONCE, |entry, held| {
                        let document = match held {
                            Some(document) => Some(document.clone()),
                            None => point.get(entry.id, stamp),
                        };
                        match (&first, document) {
                            (None, document) => first = document,
                            (Some(_), Some(document)) => found.push(document),
                            (Some(_), None) => {}
                        }
                    })
            };
            let stamp = point.stable();
            let mut short = read(stamp);
            if short && !point.still(stamp) {
                // A transaction changed the hash meanwhile: read the tree.
                short = read(None);
            }
            if short {
                return Ok(match first {
                    None => Iter::new(Source::Found(Vec::new()), 0, 0),
                    Some(first) if found.is_empty() => Iter::new(Source::One(first), 0, 1),
                    Some(first) => {
                        found.insert(0, first);
                        let len = found.len();
                        Iter::new(Source::Found(found), 0, len)
                    }
                });
            }
            let (start, end, mut entries) = index.entries.run_by(below, within);
            if end - start > AT_ONCE {
                let source = Source::Index {
                    entries,
                    docs: state.docs.clone(),
                    picks: None,
                    as_of: self.as_of(),
                };
                return Ok(Iter::new(source, start, end));
            }
            let mut found: Vec<Versioned<D>> = Vec::with_capacity(end - start);
            let mut read = |stamp: Option<u64>| {
                found.clear();
                for rank in start..end {
                    match entries.at(rank) {
                        Some((_, Some(document))) => found.push(document.clone()),
                        Some((entry, None)) => found.extend(point.get(entry.id, stamp)),
                        None => {}
                    }
                }
            };
            let stamp = point.stable();
            read(stamp);
            if !point.still(stamp) {
                // A transaction changed the hash meanwhile: read the tree.
                read(None);
            }
            let len = found.len();
            Ok(Iter::new(Source::Found(found), 0, len))
        })?
    }
}
