//! The keys an index query covers, kept so the query can be run again at
//! commit, and so the transaction's own writes can be merged into its results.

use std::fmt;
use std::ops::Bound;

use crate::Id;
use crate::index::Entry;
use crate::key::describe;
use crate::tree::Tree;

/// The keys one query reads, as encoded bytes, with exactly the bounds the
/// snapshot's queries use.
#[derive(Clone, Debug)]
pub(crate) enum Span {
    /// One whole key: a lookup.
    Key(Vec<u8>),
    /// Every key starting with these fields.
    Prefix(Vec<u8>),
    /// A range; a bound may give only leading fields, and then stands for every
    /// key extending them.
    Range(Bound<Vec<u8>>, Bound<Vec<u8>>),
    /// The entries of a span after one position, a key and an id: a page
    /// resumed where the last one ended (keyset paging).
    After(Box<Span>, Vec<u8>, Id),
}

/// Whether `key` is at or before `bound`, counting keys that extend it.
fn at_or_extending(key: &[u8], bound: &[u8]) -> bool {
    key <= bound || key.starts_with(bound)
}

impl Span {
    /// Whether the entry of `id` under `key` sorts before the span.
    fn before_start(&self, key: &[u8], id: Id) -> bool {
        match self {
            Span::After(span, after, after_id) => {
                span.before_start(key, id) || (key, id) <= (after.as_slice(), *after_id)
            }
            Span::Key(k) | Span::Prefix(k) => key < k.as_slice(),
            Span::Range(start, _) => match start {
                Bound::Included(s) => key < s.as_slice(),
                Bound::Excluded(s) => at_or_extending(key, s),
                Bound::Unbounded => false,
            },
        }
    }

    /// Whether `key` sorts before the span's end (it may still be before its start).
    fn before_end(&self, key: &[u8]) -> bool {
        match self {
            Span::After(span, ..) => span.before_end(key),
            Span::Key(k) => key <= k.as_slice(),
            Span::Prefix(p) => key < p.as_slice() || key.starts_with(p),
            Span::Range(_, end) => match end {
                Bound::Included(e) => at_or_extending(key, e),
                Bound::Excluded(e) => key < e.as_slice(),
                Bound::Unbounded => true,
            },
        }
    }

    /// Whether the entry of `id` under `key` is in the span.
    pub(crate) fn contains(&self, key: &[u8], id: Id) -> bool {
        !self.before_start(key, id) && self.before_end(key)
    }

    /// The ranks of the entries of `entries` in the span.
    pub(crate) fn ranks<V, const S: usize>(&self, entries: &Tree<Entry, V, S>) -> (usize, usize) {
        let start = entries.rank_by(|entry| self.before_start(entry.key.as_bytes(), entry.id));
        let end = entries.rank_by(|entry| self.before_end(entry.key.as_bytes()));
        (start, end.max(start))
    }
}

/// A query a transaction ran, as the error that says it conflicted shows it.
pub(crate) struct Described<'a> {
    pub(crate) index: &'a str,
    pub(crate) span: &'a Span,
}

impl fmt::Display for Described<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "index {:?} ", self.index)?;
        write_span(f, self.span)
    }
}

/// Writes the keys `span` covers.
fn write_span(f: &mut fmt::Formatter<'_>, span: &Span) -> fmt::Result {
    match span {
        Span::After(span, key, id) => {
            write_span(f, span)?;
            write!(f, " after key {} and id {id}", describe(key))
        }
        Span::Key(key) => write!(f, "key {}", describe(key)),
        Span::Prefix(prefix) => write!(f, "keys starting with {}", describe(prefix)),
        Span::Range(start, end) => {
            f.write_str("range ")?;
            match start {
                Bound::Included(s) => write!(f, "{}", describe(s))?,
                Bound::Excluded(s) => write!(f, "(after {})", describe(s))?,
                Bound::Unbounded => {}
            }
            match end {
                Bound::Included(e) => write!(f, "..={}", describe(e)),
                Bound::Excluded(e) => write!(f, "..{}", describe(e)),
                Bound::Unbounded => f.write_str(".."),
            }
        }
    }
}
