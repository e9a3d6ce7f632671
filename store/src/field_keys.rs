//! The keys of a schemaless index: the values at its field paths, and how a
//! multi-key index walks the arrays on the way.
//!
//! A plain index reads each path as it is written: a step that meets an array
//! finds nothing, and a field holding an array is one key. A multi-key index
//! steps through arrays: a path's step that meets an array of objects goes into
//! each element (`items.sku` over `items: [{"sku": 1}, {"sku": 2}]` gives the
//! keys 1 and 2), and a path ending at an array gives one key per element.
//! Fields whose paths pass through the same array pair per element
//! (`items.sku` with `items.qty` gives one key per item), while fields under
//! different arrays combine every way.
//!
//! The work is bounded by the document's size and the keys it gives, never by
//! the number of combinations it could make: the distinct values of each part
//! are found (and repeats removed) before parts combine, a part without values
//! ends the walk with no keys, and a combination of more than
//! [`MAX_KEYS_PER_DOCUMENT`] distinct keys is refused before it is built.

use crate::index::{KeySink, KeySource, MAX_KEYS_PER_DOCUMENT};
use crate::key::{KeyWriter, encode_value_ref};
use crate::path::FieldPath;
use crate::value::{Object, ValueRef};

/// Combinations that nested arrays may build in one document before it is
/// refused: each part is at most [`MAX_KEYS_PER_DOCUMENT`], but an array of
/// objects each holding two arrays builds one product per element, and their
/// total is what this bounds.
pub(crate) const MAX_COMBINATIONS: usize = 16 * MAX_KEYS_PER_DOCUMENT;

/// Values encoded and combinations built by the walks on this thread, so
/// tests can count the work a document's keys cost.
#[cfg(feature = "testing")]
pub(crate) mod work {
    use std::cell::Cell;

    thread_local! {
        static DONE: Cell<u64> = const { Cell::new(0) };
    }

    pub(crate) fn add(units: usize) {
        DONE.with(|done| done.set(done.get() + units as u64));
    }

    pub(crate) fn take() -> u64 {
        DONE.with(Cell::take)
    }
}

#[cfg(not(feature = "testing"))]
mod work {
    pub(super) fn add(_: usize) {}
}

/// The keys of a schemaless index: the values at its field paths.
pub(crate) struct Fields {
    paths: Vec<FieldPath>,
    multi_key: bool,
}

impl Fields {
    pub(crate) fn new(paths: Vec<FieldPath>, multi_key: bool) -> Fields {
        Fields { paths, multi_key }
    }
}

impl KeySource<Object> for Fields {
    fn keys(&self, document: &Object, sink: &mut KeySink) {
        if let [path] = self.paths.as_slice() {
            // One field: the common case, written straight into the sink.
            match path.find(document) {
                Some(ValueRef::Null) => {}
                Some(ValueRef::Array(items)) if self.multi_key => {
                    for item in items.iter() {
                        sink.push_with(|out| encode_value_ref(out, item));
                        if sink.is_refused() {
                            return;
                        }
                    }
                }
                Some(value) => sink.push_with(|out| encode_value_ref(out, value)),
                // A multi-key path may step through arrays on the way.
                None if self.multi_key && path.segments().len() > 1 => {
                    self.walk(document, sink);
                }
                None => {}
            }
            return;
        }
        if self.multi_key {
            self.walk(document, sink);
            return;
        }
        let mut key = KeyWriter::new();
        for path in &self.paths {
            match path.find(document) {
                // Missing and null fields leave the document out of the index.
                None | Some(ValueRef::Null) => return,
                Some(value) => encode_value_ref(&mut key, value),
            }
        }
        sink.push_with(|out| out.clone_from(&key));
    }
}

impl Fields {
    /// The keys of a multi-key index, walking arrays as the module docs say.
    fn walk(&self, document: &Object, sink: &mut KeySink) {
        let needs: Vec<Need<'_>> = self
            .paths
            .iter()
            .enumerate()
            .map(|(slot, path)| Need {
                slot,
                rest: path.segments(),
            })
            .collect();
        let mut walker = Walker {
            budget: MAX_COMBINATIONS,
        };
        match walker.object(ValueRef::Object(document.as_object_ref()), &needs) {
            Found::Rows(rows) => {
                for row in rows {
                    sink.push_with(|out| {
                        for part in &row {
                            out.append_encoded(part);
                        }
                    });
                }
            }
            Found::TooMany => sink.refuse(format!(
                "a document may have at most {MAX_KEYS_PER_DOCUMENT} keys in one index, and its \
                 arrays may combine in at most {MAX_COMBINATIONS} ways"
            )),
            Found::Invalid(reason) => sink.refuse(reason),
        }
    }
}

/// A field still to be found: its place in the key, and the path left to walk.
#[derive(Clone, Copy)]
struct Need<'p> {
    slot: usize,
    rest: &'p [String],
}

/// One combination: the encoded value of each field it covers, in field order.
type Row = Vec<Box<[u8]>>;

/// What a part of a document gives the fields it covers.
enum Found {
    /// Distinct rows, each covering the part's fields in field order; none
    /// means the document has no key in the index.
    Rows(Vec<Row>),
    /// More than [`MAX_KEYS_PER_DOCUMENT`] distinct rows, or the combinations
    /// budget is spent.
    TooMany,
    /// A value that cannot be a key.
    Invalid(String),
}

struct Walker {
    /// Combinations still allowed to be built.
    budget: usize,
}

impl Walker {
    /// The rows of `needs` (each path's next step names a field) in `object`.
    fn object(&mut self, object: ValueRef<'_>, needs: &[Need<'_>]) -> Found {
        // Fields whose next step is the same field go on together: that is what
        // pairs them per element of an array below.
        let mut groups: Vec<(&str, Vec<Need<'_>>)> = Vec::new();
        for need in needs {
            let Some((step, rest)) = need.rest.split_first() else {
                continue;
            };
            let next = Need {
                slot: need.slot,
                rest,
            };
            match groups.iter_mut().find(|(name, _)| name == step) {
                Some((_, group)) => group.push(next),
                None => groups.push((step, vec![next])),
            }
        }
        let mut factors = Vec::with_capacity(groups.len());
        for (step, group) in &groups {
            let Some(child) = object.get(step) else {
                return Found::Rows(Vec::new());
            };
            factors.push((slots(group), self.value(child, group)));
        }
        self.product(factors)
    }

    /// The rows of `needs` (paths relative to `value`) in `value`: one per
    /// element of an array, with repeats removed.
    fn value(&mut self, value: ValueRef<'_>, needs: &[Need<'_>]) -> Found {
        let ValueRef::Array(items) = value else {
            return self.element(value, needs, true);
        };
        let mut rows = Vec::new();
        for item in items.iter() {
            match self.element(item, needs, false) {
                Found::Rows(more) => rows.extend(more),
                other => return other,
            }
            if rows.len() > 2 * MAX_KEYS_PER_DOCUMENT && !distinct_within_cap(&mut rows) {
                return Found::TooMany;
            }
        }
        if distinct_within_cap(&mut rows) {
            Found::Rows(rows)
        } else {
            Found::TooMany
        }
    }

    /// The rows of `needs` in one value: the paths ending here take it whole,
    /// the others go on into it. A null field (not an array's null element)
    /// leaves the document out, as a missing one does.
    fn element(&mut self, value: ValueRef<'_>, needs: &[Need<'_>], field: bool) -> Found {
        let (here, deeper): (Vec<Need<'_>>, Vec<Need<'_>>) =
            needs.iter().partition(|need| need.rest.is_empty());
        let mut factors = Vec::with_capacity(2);
        if !here.is_empty() {
            if field && matches!(value, ValueRef::Null) {
                return Found::Rows(Vec::new());
            }
            work::add(1);
            let mut out = KeyWriter::new();
            encode_value_ref(&mut out, value);
            if let Some(reason) = out.invalid() {
                return Found::Invalid(reason.to_owned());
            }
            let part: Box<[u8]> = out.bytes().into();
            let row = vec![part; here.len()];
            factors.push((slots(&here), Found::Rows(vec![row])));
        }
        if !deeper.is_empty() {
            if !matches!(value, ValueRef::Object(_)) {
                return Found::Rows(Vec::new());
            }
            factors.push((slots(&deeper), self.object(value, &deeper)));
        }
        self.product(factors)
    }

    /// Every combination of one row from each factor, merged into field order;
    /// none if a factor has none, refused if there would be too many.
    fn product(&mut self, factors: Vec<(Vec<usize>, Found)>) -> Found {
        let mut parts = Vec::with_capacity(factors.len());
        let mut refused = None;
        for (slots, found) in factors {
            match found {
                Found::Rows(rows) if rows.is_empty() => return Found::Rows(rows),
                Found::Rows(rows) => parts.push((slots, rows)),
                other => refused = refused.or(Some(other)),
            }
        }
        if let Some(refused) = refused {
            return refused;
        }
        if parts.len() == 1 {
            return Found::Rows(parts.pop().map(|(_, rows)| rows).unwrap_or_default());
        }
        let total = parts
            .iter()
            .try_fold(1_usize, |total, (_, rows)| total.checked_mul(rows.len()))
            .filter(|&total| total <= MAX_KEYS_PER_DOCUMENT);
        let Some(total) = total else {
            return Found::TooMany;
        };
        let Some(budget) = self.budget.checked_sub(total) else {
            return Found::TooMany;
        };
        self.budget = budget;
        work::add(total);
        let mut order: Vec<usize> = parts.iter().flat_map(|(slots, _)| slots.clone()).collect();
        order.sort_unstable();
        let place = |slot: usize| order.binary_search(&slot).unwrap_or_default();
        let mut rows = Vec::with_capacity(total);
        let mut at = vec![0_usize; parts.len()];
        for _ in 0..total {
            let mut row: Row = vec![Box::default(); order.len()];
            for ((slots, part_rows), &index) in parts.iter().zip(&at) {
                for (slot, value) in slots.iter().zip(&part_rows[index]) {
                    row[place(*slot)] = value.clone();
                }
            }
            rows.push(row);
            // The next combination, the last part moving fastest.
            for (position, (_, part_rows)) in at.iter_mut().zip(&parts).rev() {
                *position += 1;
                if *position < part_rows.len() {
                    break;
                }
                *position = 0;
            }
        }
        // Distinct rows of disjoint fields combine into distinct rows.
        Found::Rows(rows)
    }
}

fn slots(needs: &[Need<'_>]) -> Vec<usize> {
    needs.iter().map(|need| need.slot).collect()
}

/// Sorts `rows` and removes repeats; whether at most the cap remain.
fn distinct_within_cap(rows: &mut Vec<Row>) -> bool {
    rows.sort_unstable();
    rows.dedup();
    rows.len() <= MAX_KEYS_PER_DOCUMENT
}
