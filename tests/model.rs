//! Model-based property tests of the schemaless [`Store`].
//!
//! Random sequences of every operation run against the store and, side by side,
//! against a naive reference model written here: a vector of `(id, version,
//! document)` in id order, index definitions, and linear scans. Every result is
//! compared exactly, order included, and every error by variant (and by the ids,
//! versions and names it carries). The key order the model uses is written by
//! hand from the specification, independently of the engine's byte encoding.
//!
//! Failing cases are shrunk and their seeds saved in
//! `tests/proptest-regressions/model.txt`, which is committed, so that every
//! failure found once is replayed first on every later run.

use std::cmp::Ordering;
use std::collections::VecDeque;
use std::ops::Bound;

use docstore::{
    Cursor, Document, Error, Id, IndexOptions, Iter, JsonKey, KeyFor, KeyPrefix, KeyRange, Object,
    Snapshot, Store,
};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{Map, Value, json};

// ---------------------------------------------------------------------------
// The key order, by hand, from the specification (tests/common).
// ---------------------------------------------------------------------------

mod common;

use common::{cmp_seq, cmp_value, key_combinations};

/// A composite key compares field by field; a key holding only the leading
/// fields of another sorts first.
fn cmp_key(a: &[Value], b: &[Value]) -> Ordering {
    cmp_seq(a, b)
}

// ---------------------------------------------------------------------------
// The reference model.
// ---------------------------------------------------------------------------

type Row = (Id, u64, Value);

fn row(document: &Document) -> Row {
    (document.id(), document.version(), document.to_value())
}

fn rows(iter: impl Iterator<Item = Document>) -> Vec<Row> {
    iter.map(|d| row(&d)).collect()
}

/// The index catalog the sequences draw from: plain, composite, multi-key
/// candidates, dotted paths, an escaped dot, fields holding objects.
const CATALOG: &[(&str, &[&str])] = &[
    ("by_city", &["city"]),
    ("by_age", &["age"]),
    ("by_city_age", &["city", "age"]),
    ("by_tags", &["tags"]),
    ("by_zip", &["address.zip"]),
    ("by_dot", &[r"a\.b"]),
    ("by_address", &["address"]),
    ("by_n", &["n"]),
    ("by_age_tags", &["age", "tags"]),
];
const MISSING_INDEX: &str = "no_such_index";

fn index_name(i: usize) -> &'static str {
    CATALOG.get(i).map_or(MISSING_INDEX, |entry| entry.0)
}

/// Parses a field path as the specification defines it: `.` separates, `\`
/// escapes `.` or `\`, no segment may be empty.
fn parse_path(text: &str) -> Option<Vec<String>> {
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('.' | '\\')) => current.push(e),
                _ => return None,
            },
            '.' => segments.push(std::mem::take(&mut current)),
            other => current.push(other),
        }
    }
    segments.push(current);
    if segments.iter().any(String::is_empty) {
        None
    } else {
        Some(segments)
    }
}

fn find<'a>(document: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter()
        .try_fold(document, |value, segment| value.as_object()?.get(segment))
}

#[derive(Clone, Debug)]
struct MIndex {
    name: String,
    fields: Vec<String>,
    paths: Vec<Vec<String>>,
    unique: bool,
    multi: bool,
}

impl MIndex {
    /// The keys a document has: none if a field is missing or null; one per
    /// combination of array elements for a multi-key index; sorted, deduplicated.
    fn keys_of(&self, document: &Value) -> Vec<Vec<Value>> {
        let mut values = Vec::new();
        for path in &self.paths {
            match find(document, path) {
                None | Some(Value::Null) => return Vec::new(),
                Some(value) => values.push(value),
            }
        }
        key_combinations(&values, self.multi)
    }
}

#[derive(Clone, Debug)]
struct MDoc {
    id: Id,
    version: u64,
    value: Value,
}

/// What an operation is expected to fail with.
#[derive(Clone, Debug, PartialEq)]
enum Expect {
    NotFound(Id),
    InvalidDocument,
    IndexExists(String),
    EmptyIndex(String),
    IndexNotFound(String),
    InvalidIndex(String),
    InvalidKey(String),
    NotUnique(String),
    Closed,
    VersionConflict(Id, u64, u64),
    UniqueViolation(String, Id),
}

fn classify(error: &Error) -> Expect {
    match error {
        Error::NotFound { id } => Expect::NotFound(*id),
        Error::InvalidDocument { .. } => Expect::InvalidDocument,
        Error::IndexExists { name } => Expect::IndexExists(name.clone()),
        Error::EmptyIndex { name } => Expect::EmptyIndex(name.clone()),
        Error::IndexNotFound { name } => Expect::IndexNotFound(name.clone()),
        Error::InvalidIndex { name, .. } => Expect::InvalidIndex(name.clone()),
        Error::InvalidKey { index, .. } => Expect::InvalidKey(index.clone()),
        Error::NotUnique { index } => Expect::NotUnique(index.clone()),
        Error::Closed => Expect::Closed,
        Error::VersionConflict {
            id,
            expected,
            actual,
        } => Expect::VersionConflict(*id, *expected, *actual),
        Error::UniqueViolation {
            index, existing, ..
        } => Expect::UniqueViolation(index.clone(), *existing),
        other => panic!("an error variant the model does not know: {other:?}"),
    }
}

/// Compares an outcome with the model's expectation, results by `same`.
fn check<T: std::fmt::Debug, U: std::fmt::Debug>(
    what: &str,
    actual: &Result<T, Error>,
    expected: &Result<U, Expect>,
    same: impl FnOnce(&T, &U),
) {
    match (actual, expected) {
        (Ok(a), Ok(e)) => same(a, e),
        (Err(a), Err(e)) => assert_eq!(&classify(a), e, "{what}: wrong error ({a})"),
        _ => panic!("{what}: got {actual:?}, the model expected {expected:?}"),
    }
}

#[derive(Clone, Debug, Default)]
struct Model {
    docs: Vec<MDoc>,
    indexes: Vec<MIndex>,
    closed: bool,
    /// Every id the store hands out from now on must be greater than this.
    floor: Option<Id>,
    deleted: Vec<Id>,
}

impl Model {
    fn position(&self, id: Id) -> Option<usize> {
        self.docs.iter().position(|d| d.id == id)
    }

    fn index(&self, name: &str) -> Result<&MIndex, Expect> {
        if self.closed {
            return Err(Expect::Closed);
        }
        self.indexes
            .iter()
            .find(|i| i.name == name)
            .ok_or_else(|| Expect::IndexNotFound(name.to_owned()))
    }

    fn open(&self) -> Result<(), Expect> {
        if self.closed {
            Err(Expect::Closed)
        } else {
            Ok(())
        }
    }

    fn all_rows(&self) -> Vec<Row> {
        self.docs
            .iter()
            .map(|d| (d.id, d.version, d.value.clone()))
            .collect()
    }

    /// The index's entries (key, position of the document), in key order, ties
    /// in id order.
    fn entries(&self, index: &MIndex) -> Vec<(Vec<Value>, usize)> {
        let mut entries: Vec<(Vec<Value>, usize)> = self
            .docs
            .iter()
            .enumerate()
            .flat_map(|(at, d)| index.keys_of(&d.value).into_iter().map(move |k| (k, at)))
            .collect();
        // Documents are held in id order, so their position orders ties by id.
        entries.sort_by(|a, b| cmp_key(&a.0, &b.0).then(a.1.cmp(&b.1)));
        entries
    }

    /// The documents whose entries `keep` accepts, in key order, ties in id
    /// order. A multi-key index gives each document once, at its first key.
    fn rows_where(&self, index: &MIndex, keep: impl Fn(&[Value]) -> bool) -> Vec<Row> {
        let mut seen = std::collections::HashSet::new();
        self.entries(index)
            .into_iter()
            .filter(|(key, _)| keep(key))
            .filter(|(_, at)| !index.multi || seen.insert(*at))
            .map(|(_, at)| {
                let d = &self.docs[at];
                (d.id, d.version, d.value.clone())
            })
            .collect()
    }

    /// The first unique-index clash `document` would cause for a write to `id`
    /// (`None` for an insert), in index creation order, then key order, then id
    /// order.
    fn clash(&self, document: &Value, id: Option<Id>) -> Option<Expect> {
        for index in self.indexes.iter().filter(|i| i.unique) {
            for key in index.keys_of(document) {
                let holder = self.docs.iter().find(|d| {
                    Some(d.id) != id
                        && index
                            .keys_of(&d.value)
                            .iter()
                            .any(|k| cmp_key(k, &key) == Ordering::Equal)
                });
                if let Some(holder) = holder {
                    return Some(Expect::UniqueViolation(index.name.clone(), holder.id));
                }
            }
        }
        None
    }

    fn lookup(&self, name: &str, key: &[Value]) -> Result<Vec<Row>, Expect> {
        let index = self.index(name)?;
        if key.len() != index.fields.len() {
            return Err(Expect::InvalidKey(name.to_owned()));
        }
        Ok(self.rows_where(index, |k| cmp_key(k, key) == Ordering::Equal))
    }

    /// The key is checked before the index's uniqueness.
    fn get_unique(&self, name: &str, key: &[Value]) -> Result<Option<Row>, Expect> {
        let found = self.lookup(name, key)?;
        if !self.index(name)?.unique {
            return Err(Expect::NotUnique(name.to_owned()));
        }
        Ok(found.into_iter().next())
    }

    fn range(
        &self,
        name: &str,
        start: &Bound<Vec<Value>>,
        end: &Bound<Vec<Value>>,
    ) -> Result<Vec<Row>, Expect> {
        let index = self.index(name)?;
        for bound in [start, end] {
            if let Bound::Included(k) | Bound::Excluded(k) = bound
                && k.len() > index.fields.len()
            {
                return Err(Expect::InvalidKey(name.to_owned()));
            }
        }
        // A bound giving only the leading fields stands for every key that
        // starts with them: an inclusive end takes them all, an exclusive start
        // none of them.
        let extends = |k: &[Value], b: &[Value]| {
            k.len() >= b.len() && cmp_key(&k[..b.len()], b) == Ordering::Equal
        };
        Ok(self.rows_where(index, |k| {
            let after_start = match start {
                Bound::Included(s) => cmp_key(k, s) != Ordering::Less,
                Bound::Excluded(s) => cmp_key(k, s) == Ordering::Greater && !extends(k, s),
                Bound::Unbounded => true,
            };
            let before_end = match end {
                Bound::Included(e) => cmp_key(k, e) != Ordering::Greater || extends(k, e),
                Bound::Excluded(e) => cmp_key(k, e) == Ordering::Less,
                Bound::Unbounded => true,
            };
            after_start && before_end
        }))
    }

    fn prefix(&self, name: &str, prefix: &[Value]) -> Result<Vec<Row>, Expect> {
        let index = self.index(name)?;
        if prefix.is_empty() || prefix.len() > index.fields.len() {
            return Err(Expect::InvalidKey(name.to_owned()));
        }
        Ok(self.rows_where(index, |k| {
            k.len() >= prefix.len() && cmp_key(&k[..prefix.len()], prefix) == Ordering::Equal
        }))
    }

    fn by_index(&self, name: &str) -> Result<Vec<Row>, Expect> {
        let index = self.index(name)?;
        Ok(self.rows_where(index, |_| true))
    }

    fn create_index(
        &self,
        name: &str,
        fields: &[&str],
        unique: bool,
        multi: bool,
    ) -> Result<MIndex, Expect> {
        // A closed store says so before it looks at the arguments.
        self.open()?;
        let mut paths = Vec::new();
        for field in fields {
            paths.push(parse_path(field).ok_or_else(|| Expect::InvalidIndex(name.to_owned()))?);
        }
        if paths.is_empty() {
            return Err(Expect::EmptyIndex(name.to_owned()));
        }
        if self.indexes.iter().any(|i| i.name == name) {
            return Err(Expect::IndexExists(name.to_owned()));
        }
        let index = MIndex {
            name: name.to_owned(),
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            paths,
            unique,
            multi,
        };
        if unique {
            let entries = self.entries(&index);
            if let Some(pair) = entries
                .windows(2)
                .find(|pair| cmp_key(&pair[0].0, &pair[1].0) == Ordering::Equal)
            {
                return Err(Expect::UniqueViolation(
                    name.to_owned(),
                    self.docs[pair[0].1].id,
                ));
            }
        }
        Ok(index)
    }
}

// ---------------------------------------------------------------------------
// Queries against a store or a snapshot of it.
// ---------------------------------------------------------------------------

enum Src<'a> {
    Store(&'a Store),
    Snap(&'a Snapshot<Object>),
}

impl Src<'_> {
    fn lookup(&self, name: &str, key: impl KeyFor<JsonKey>) -> Result<Iter<Object>, Error> {
        match self {
            Src::Store(s) => s.lookup(name, key),
            Src::Snap(s) => s.lookup(name, key),
        }
    }

    fn get_unique(&self, name: &str, key: impl KeyFor<JsonKey>) -> Result<Option<Document>, Error> {
        match self {
            Src::Store(s) => s.get_unique(name, key),
            Src::Snap(s) => s.get_unique(name, key),
        }
    }

    fn range(&self, name: &str, range: impl KeyRange<JsonKey>) -> Result<Iter<Object>, Error> {
        match self {
            Src::Store(s) => s.range(name, range),
            Src::Snap(s) => s.range(name, range),
        }
    }

    fn prefix(&self, name: &str, prefix: impl KeyPrefix<JsonKey>) -> Result<Iter<Object>, Error> {
        match self {
            Src::Store(s) => s.prefix(name, prefix),
            Src::Snap(s) => s.prefix(name, prefix),
        }
    }

    fn by_index(&self, name: &str) -> Result<Iter<Object>, Error> {
        match self {
            Src::Store(s) => s.by_index(name),
            Src::Snap(s) => s.by_index(name),
        }
    }

    fn iter(&self) -> Result<Iter<Object>, Error> {
        match self {
            Src::Store(s) => s.iter(),
            Src::Snap(s) => Ok(s.iter()),
        }
    }
}

fn with_src<T>(
    store: &Store,
    on_snapshot: bool,
    query: impl FnOnce(&Src<'_>) -> Result<T, Error>,
) -> Result<T, Error> {
    if on_snapshot {
        let snapshot = store.snapshot()?;
        query(&Src::Snap(&snapshot))
    } else {
        query(&Src::Store(store))
    }
}

/// Runs a lookup, passing a one-field key in one of the forms a caller may use.
fn lookup_as(src: &Src<'_>, name: &str, key: &[Value], form: u8) -> Result<Iter<Object>, Error> {
    match key {
        [k] => match (form % 4, k) {
            (1, Value::String(s)) => src.lookup(name, s.as_str()),
            (1, Value::Bool(b)) => src.lookup(name, *b),
            (1, Value::Number(n)) => {
                if let Some(u) = n.as_u64() {
                    src.lookup(name, u)
                } else if let Some(i) = n.as_i64() {
                    src.lookup(name, i)
                } else {
                    src.lookup(name, n.as_f64().unwrap_or(f64::NAN))
                }
            }
            (2, _) => src.lookup(name, k),
            (3, _) => src.lookup(name, (k.clone(),)),
            _ => src.lookup(name, k.clone()),
        },
        [a, b] => src.lookup(name, (a.clone(), b.clone())),
        [a, b, c] => src.lookup(name, (a.clone(), b.clone(), c.clone())),
        _ => panic!("keys have 1 to 3 fields"),
    }
}

fn get_unique_as(src: &Src<'_>, name: &str, key: &[Value]) -> Result<Option<Document>, Error> {
    match key {
        [k] => src.get_unique(name, k.clone()),
        [a, b] => src.get_unique(name, (a.clone(), b.clone())),
        [a, b, c] => src.get_unique(name, (a.clone(), b.clone(), c.clone())),
        _ => panic!("keys have 1 to 3 fields"),
    }
}

fn prefix_as(src: &Src<'_>, name: &str, key: &[Value], form: u8) -> Result<Iter<Object>, Error> {
    match key {
        // A bare JSON array is refused on a composite index (it is one value, most
        // likely fields meant as a tuple), so an array is spelled unambiguously.
        [k] if form.is_multiple_of(2) && !k.is_array() => src.prefix(name, k.clone()),
        [k] => src.prefix(name, (k.clone(),)),
        [a, b] => src.prefix(name, (a.clone(), b.clone())),
        [a, b, c] => src.prefix(name, (a.clone(), b.clone(), c.clone())),
        _ => panic!("prefixes have 1 to 3 fields"),
    }
}

/// Runs a range with Rust's range syntax where the bounds have a syntax, and as
/// a pair of `Bound`s otherwise (or when `syntax` is off).
fn range_with<Q: KeyFor<JsonKey>>(
    src: &Src<'_>,
    name: &str,
    start: Bound<Q>,
    end: Bound<Q>,
    syntax: bool,
) -> Result<Iter<Object>, Error> {
    use Bound::{Excluded, Included, Unbounded};
    if !syntax {
        return src.range(name, (start, end));
    }
    match (start, end) {
        (Included(a), Excluded(b)) => src.range(name, a..b),
        (Included(a), Included(b)) => src.range(name, a..=b),
        (Included(a), Unbounded) => src.range(name, a..),
        (Unbounded, Excluded(b)) => src.range(name, ..b),
        (Unbounded, Included(b)) => src.range(name, ..=b),
        (Unbounded, Unbounded) => src.range(name, ..),
        (start, end) => src.range(name, (start, end)),
    }
}

fn map_bound<Q>(bound: &Bound<Vec<Value>>, f: impl Fn(&[Value]) -> Q) -> Bound<Q> {
    match bound {
        Bound::Included(k) => Bound::Included(f(k)),
        Bound::Excluded(k) => Bound::Excluded(f(k)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn range_as(
    src: &Src<'_>,
    name: &str,
    arity: usize,
    start: &Bound<Vec<Value>>,
    end: &Bound<Vec<Value>>,
    syntax: bool,
) -> Result<Iter<Object>, Error> {
    // A bare JSON array is refused on a composite index (it is one value, most
    // likely fields meant as a tuple), so an array bound is spelled as a 1-tuple.
    let has_array = [start, end]
        .into_iter()
        .any(|b| matches!(b, Bound::Included(k) | Bound::Excluded(k) if k.first().is_some_and(Value::is_array)));
    match arity {
        1 if has_array => {
            let f = |k: &[Value]| (k[0].clone(),);
            range_with(src, name, map_bound(start, f), map_bound(end, f), syntax)
        }
        1 => {
            let f = |k: &[Value]| k[0].clone();
            range_with(src, name, map_bound(start, f), map_bound(end, f), syntax)
        }
        2 => {
            let f = |k: &[Value]| (k[0].clone(), k[1].clone());
            range_with(src, name, map_bound(start, f), map_bound(end, f), syntax)
        }
        _ => {
            let f = |k: &[Value]| (k[0].clone(), k[1].clone(), k[2].clone());
            range_with(src, name, map_bound(start, f), map_bound(end, f), syntax)
        }
    }
}

// ---------------------------------------------------------------------------
// Consuming results in every way a caller can, against the expected rows.
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Move {
    Next,
    Prev,
    Peek,
    Advance(isize),
    Seek(usize),
    Reset,
    CloneRest,
}

#[derive(Clone, Debug)]
enum Consume {
    All,
    Take(usize),
    RevTake(usize),
    Nth(usize),
    NthBack(usize),
    Count,
    Last,
    /// `true` reads from the front, `false` from the back.
    Mixed(Vec<bool>),
    Cursor(Vec<Move>),
}

fn consume(what: &str, mut iter: Iter<Object>, expected: &[Row], how: &Consume) {
    assert_eq!(iter.len(), expected.len(), "{what}: len()");
    match how {
        Consume::All => assert_eq!(rows(iter), expected, "{what}"),
        Consume::Take(k) => {
            let want: Vec<Row> = expected.iter().take(*k).cloned().collect();
            assert_eq!(rows(iter.take(*k)), want, "{what}: take({k})");
        }
        Consume::RevTake(k) => {
            let want: Vec<Row> = expected.iter().rev().take(*k).cloned().collect();
            assert_eq!(rows(iter.rev().take(*k)), want, "{what}: rev().take({k})");
        }
        Consume::Nth(k) => {
            assert_eq!(
                iter.nth(*k).map(|d| row(&d)),
                expected.get(*k).cloned(),
                "{what}: nth({k})"
            );
            let rest: Vec<Row> = expected.iter().skip(k + 1).cloned().collect();
            assert_eq!(rows(iter), rest, "{what}: after nth({k})");
        }
        Consume::NthBack(k) => {
            let want = expected.iter().rev().nth(*k).cloned();
            assert_eq!(
                iter.nth_back(*k).map(|d| row(&d)),
                want,
                "{what}: nth_back({k})"
            );
            let keep = expected.len().saturating_sub(k + 1);
            assert_eq!(rows(iter), expected[..keep], "{what}: after nth_back({k})");
        }
        Consume::Count => assert_eq!(iter.count(), expected.len(), "{what}: count()"),
        Consume::Last => assert_eq!(iter.last().map(|d| row(&d)), expected.last().cloned()),
        Consume::Mixed(sides) => {
            let mut want: VecDeque<Row> = expected.iter().cloned().collect();
            for &front in sides {
                let (got, exp) = if front {
                    (iter.next(), want.pop_front())
                } else {
                    (iter.next_back(), want.pop_back())
                };
                assert_eq!(got.map(|d| row(&d)), exp, "{what}: mixed ends");
                assert_eq!(iter.len(), want.len(), "{what}: len() while mixing");
            }
            assert_eq!(rows(iter), Vec::from(want), "{what}: rest after mixing");
        }
        Consume::Cursor(moves) => run_cursor(what, iter.into_cursor(), expected, moves),
    }
}

fn run_cursor(what: &str, mut cursor: Cursor<Object>, items: &[Row], moves: &[Move]) {
    let len = items.len();
    let mut at = 0usize;
    assert_eq!(
        (cursor.len(), cursor.is_empty()),
        (len, len == 0),
        "{what}: cursor len"
    );
    for step in moves {
        match step {
            Move::Next => {
                let want = items.get(at).cloned();
                if want.is_some() {
                    at += 1;
                }
                assert_eq!(cursor.next().map(|d| row(&d)), want, "{what}: next");
            }
            Move::Prev => {
                let want = if at == 0 {
                    None
                } else {
                    at -= 1;
                    items.get(at).cloned()
                };
                assert_eq!(cursor.prev().map(|d| row(&d)), want, "{what}: prev");
            }
            Move::Peek => {
                assert_eq!(
                    cursor.peek().map(|d| row(&d)),
                    items.get(at).cloned(),
                    "{what}: peek"
                );
            }
            Move::Advance(n) => {
                at = common::advanced(at, *n, len);
                cursor.advance(*n);
            }
            Move::Seek(p) => {
                at = (*p).min(len);
                cursor.seek(*p);
            }
            Move::Reset => {
                at = 0;
                cursor.reset();
            }
            Move::CloneRest => {
                let copy = cursor.clone();
                assert_eq!(rows(copy), items[at..], "{what}: a cloned cursor");
            }
        }
        assert_eq!(cursor.position(), at, "{what}: position after {step:?}");
        assert_eq!(
            cursor.remaining(),
            len - at,
            "{what}: remaining after {step:?}"
        );
    }
    assert_eq!(rows(cursor), items[at..], "{what}: the cursor's rest");
}

// ---------------------------------------------------------------------------
// Operations.
// ---------------------------------------------------------------------------

/// Picks a document id: a live one, a deleted one, the nil id, or one never issued.
#[derive(Clone, Debug)]
enum Sel {
    Live(usize),
    Deleted(usize),
    Nil,
    Random(u128),
}

/// Picks the version a conditional write expects.
#[derive(Clone, Debug)]
enum VPick {
    Current,
    Stale,
    Ahead,
    Zero,
}

#[derive(Clone, Debug)]
enum Mutation {
    Increment,
    SetCity(Value),
    Replace(Value),
    NonObject(Value),
    Same,
    RemoveAge,
}

impl Mutation {
    fn apply(&self, current: &Value) -> Value {
        match self {
            Mutation::Increment => {
                let n = current.get("n").and_then(Value::as_i64).unwrap_or(0);
                let mut next = current.clone();
                next["n"] = json!(n + 1);
                next
            }
            Mutation::SetCity(city) => {
                let mut next = current.clone();
                next["city"] = city.clone();
                next
            }
            Mutation::Replace(document) | Mutation::NonObject(document) => document.clone(),
            Mutation::Same => current.clone(),
            Mutation::RemoveAge => {
                let mut next = current.clone();
                if let Some(map) = next.as_object_mut() {
                    map.remove("age");
                }
                next
            }
        }
    }
}

#[derive(Clone, Debug)]
enum Pred {
    All,
    Nothing,
    City(Value),
    EvenN,
    VersionAtLeast(u64),
    IdBit(u8),
}

impl Pred {
    fn keep(&self, id: Id, version: u64, value: &Value) -> bool {
        match self {
            Pred::All => true,
            Pred::Nothing => false,
            Pred::City(city) => value.get("city") == Some(city),
            Pred::EvenN => value
                .get("n")
                .and_then(Value::as_i64)
                .is_some_and(|n| n % 2 == 0),
            Pred::VersionAtLeast(v) => version >= *v,
            Pred::IdBit(bit) => (id.to_u128() >> bit) & 1 == 1,
        }
    }
}

#[derive(Clone, Debug)]
enum Op {
    Insert(Value),
    InsertNonObject(Value),
    Get(Sel),
    Contains(Sel),
    Update(Sel, Value),
    UpdateNonObject(Sel, Value),
    UpdateIf(Sel, VPick, Value),
    UpdateWith(Sel, Mutation),
    Delete(Sel),
    DeleteIf(Sel, VPick),
    CreateIndex {
        index: usize,
        unique: bool,
        multi: bool,
        /// Changes how results are read, never what they are.
        covering: bool,
    },
    CreateBad {
        kind: u8,
        index: usize,
    },
    DropIndex(usize),
    Lookup {
        index: usize,
        key: Vec<Value>,
        form: u8,
        on_snapshot: bool,
        consume: Consume,
    },
    GetUnique {
        index: usize,
        key: Vec<Value>,
    },
    Range {
        index: usize,
        start: (u8, Vec<Value>),
        end: (u8, Vec<Value>),
        syntax: bool,
        on_snapshot: bool,
        consume: Consume,
    },
    Prefix {
        index: usize,
        key: Vec<Value>,
        form: u8,
        consume: Consume,
    },
    ByIndex {
        index: usize,
        consume: Consume,
    },
    Scan {
        on_snapshot: bool,
        consume: Consume,
    },
    StoreCursor(Vec<Move>),
    Hold,
    CheckHeld,
    CloneStore {
        extra: Value,
        switch: bool,
    },
    CloneFiltered {
        pred: Pred,
        extra: Value,
        switch: bool,
    },
    Close,
}

fn bound(kind: u8, key: &[Value]) -> Bound<Vec<Value>> {
    match kind % 3 {
        0 => Bound::Included(key.to_vec()),
        1 => Bound::Excluded(key.to_vec()),
        _ => Bound::Unbounded,
    }
}

/// What a held snapshot, iterator and cursor must still show later.
struct Held {
    snapshot: Snapshot<Object>,
    scan: Iter<Object>,
    cursor: Cursor<Object>,
    by_index: Option<(String, Iter<Object>)>,
    model: Model,
}

struct Harness {
    store: Store,
    model: Model,
    held: Vec<Held>,
}

impl Harness {
    fn new() -> Self {
        Harness {
            store: Store::new(),
            model: Model::default(),
            held: Vec::new(),
        }
    }

    fn pick(&self, sel: &Sel) -> Id {
        let docs = &self.model.docs;
        let deleted = &self.model.deleted;
        match sel {
            Sel::Live(i) if !docs.is_empty() => docs[i % docs.len()].id,
            Sel::Deleted(i) if !deleted.is_empty() => deleted[i % deleted.len()],
            Sel::Random(bits) => Id::from_u128(*bits),
            _ => Id::nil(),
        }
    }

    fn version_for(&self, id: Id, pick: &VPick) -> u64 {
        let current = self
            .model
            .position(id)
            .map_or(1, |at| self.model.docs[at].version);
        match pick {
            VPick::Current => current,
            VPick::Stale => current.saturating_sub(1),
            VPick::Ahead => current + 1,
            VPick::Zero => 0,
        }
    }

    /// Expected outcome of replacing document `id` with `document`, given the
    /// version check; on success, the new version.
    fn expect_replace(
        &self,
        id: Id,
        expected: Option<u64>,
        document: &Value,
    ) -> Result<u64, Expect> {
        self.model.open()?;
        let at = self.model.position(id).ok_or(Expect::NotFound(id))?;
        let current = self.model.docs[at].version;
        if let Some(expected) = expected
            && expected != current
        {
            return Err(Expect::VersionConflict(id, expected, current));
        }
        if let Some(clash) = self.model.clash(document, Some(id)) {
            return Err(clash);
        }
        Ok(current + 1)
    }

    fn commit_replace(&mut self, id: Id, version: u64, document: Value) {
        if let Some(at) = self.model.position(id) {
            self.model.docs[at].version = version;
            self.model.docs[at].value = document;
        }
    }

    fn insert(&mut self, document: Value) {
        let expected = self
            .model
            .open()
            .and_then(|()| match self.model.clash(&document, None) {
                Some(clash) => Err(clash),
                None => Ok(()),
            });
        let actual = self.store.insert(document.clone());
        check("insert", &actual, &expected, |_, _| {});
        if let Ok(id) = actual {
            assert!(
                Some(id) > self.model.floor,
                "insert: id {id} is not above every earlier id"
            );
            assert!(self.model.position(id).is_none(), "insert: id {id} reused");
            self.model.floor = Some(id);
            self.model.docs.push(MDoc {
                id,
                version: 1,
                value: document,
            });
        }
    }

    fn run(&mut self, op: &Op) {
        match op {
            Op::Insert(document) => self.insert(document.clone()),
            Op::InsertNonObject(value) => {
                // A closed store says so first; an open one refuses the document.
                let expected = self.model.open().and(Err::<(), _>(Expect::InvalidDocument));
                let actual = self.store.insert(value.clone());
                check("insert(non-object)", &actual, &expected, |_, ()| {});
            }
            Op::Get(sel) => {
                let id = self.pick(sel);
                let expected = self.model.open().and_then(|()| {
                    let at = self.model.position(id).ok_or(Expect::NotFound(id))?;
                    let d = &self.model.docs[at];
                    Ok((d.id, d.version, d.value.clone()))
                });
                let actual = self.store.get(id);
                check("get", &actual, &expected, |a, e| {
                    assert_eq!(&row(a), e, "get")
                });
            }
            Op::Contains(sel) => {
                let id = self.pick(sel);
                let expected = self
                    .model
                    .open()
                    .map(|()| self.model.position(id).is_some());
                let actual = self.store.contains(id);
                check("contains", &actual, &expected, |a, e| {
                    assert_eq!(a, e, "contains")
                });
            }
            Op::Update(sel, document) => {
                let id = self.pick(sel);
                let expected = self.expect_replace(id, None, document);
                let actual = self.store.update(id, document.clone());
                check("update", &actual, &expected, |a, e| {
                    assert_eq!(a, e, "update: version")
                });
                if let Ok(version) = actual {
                    self.commit_replace(id, version, document.clone());
                }
            }
            Op::UpdateNonObject(sel, value) => {
                let id = self.pick(sel);
                // Closed first, then the document, then the id.
                let expected = self
                    .model
                    .open()
                    .and(Err::<u64, _>(Expect::InvalidDocument));
                let actual = self.store.update(id, value.clone());
                check("update(non-object)", &actual, &expected, |_, _| {});
            }
            Op::UpdateIf(sel, pick, document) => {
                let id = self.pick(sel);
                let version = self.version_for(id, pick);
                let expected = self.expect_replace(id, Some(version), document);
                let actual = self.store.update_if(id, version, document.clone());
                check("update_if", &actual, &expected, |a, e| {
                    assert_eq!(a, e, "update_if: version")
                });
                if let Ok(version) = actual {
                    self.commit_replace(id, version, document.clone());
                }
            }
            Op::UpdateWith(sel, mutation) => {
                let id = self.pick(sel);
                let next = self
                    .model
                    .position(id)
                    .map(|at| mutation.apply(&self.model.docs[at].value));
                let expected = self.model.open().and_then(|()| {
                    let next = next.clone().ok_or(Expect::NotFound(id))?;
                    if !next.is_object() {
                        return Err(Expect::InvalidDocument);
                    }
                    let version = self.expect_replace(id, None, &next)?;
                    Ok((id, version, next))
                });
                let mut calls = 0;
                let actual = self.store.update_with(id, |current| {
                    calls += 1;
                    mutation.apply(&current.to_value())
                });
                check("update_with", &actual, &expected, |a, e| {
                    assert_eq!(&row(a), e, "update_with")
                });
                if next.is_some() && !self.model.closed {
                    assert_eq!(
                        calls, 1,
                        "update_with: the closure ran {calls} times uncontended"
                    );
                }
                if let Ok(document) = actual {
                    self.commit_replace(id, document.version(), document.to_value());
                }
            }
            Op::Delete(sel) | Op::DeleteIf(sel, _) => {
                let id = self.pick(sel);
                let version = match op {
                    Op::DeleteIf(_, pick) => Some(self.version_for(id, pick)),
                    _ => None,
                };
                let expected = self.model.open().and_then(|()| {
                    let at = self.model.position(id).ok_or(Expect::NotFound(id))?;
                    let d = &self.model.docs[at];
                    if let Some(version) = version
                        && version != d.version
                    {
                        return Err(Expect::VersionConflict(id, version, d.version));
                    }
                    Ok((d.id, d.version, d.value.clone()))
                });
                let actual = match version {
                    Some(version) => self.store.delete_if(id, version),
                    None => self.store.delete(id),
                };
                check("delete", &actual, &expected, |a, e| {
                    assert_eq!(&row(a), e, "delete")
                });
                if actual.is_ok()
                    && let Some(at) = self.model.position(id)
                {
                    self.model.docs.remove(at);
                    self.model.deleted.push(id);
                }
            }
            Op::CreateIndex {
                index,
                unique,
                multi,
                covering,
            } => {
                let (name, fields) = CATALOG[index % CATALOG.len()];
                let expected = self.model.create_index(name, fields, *unique, *multi);
                let mut options = IndexOptions::new();
                if *unique {
                    options = options.unique();
                }
                if *multi {
                    options = options.multi_key();
                }
                if *covering {
                    options = options.covering();
                }
                let actual = self
                    .store
                    .create_index_with(name, fields.iter().copied(), options);
                check("create_index", &actual, &expected, |(), _| {});
                if let Ok(index) = expected {
                    self.model.indexes.push(index);
                }
            }
            Op::CreateBad { kind, index } => {
                let name = index_name(*index);
                let fields: &[&str] = match kind % 6 {
                    0 => &[],
                    1 => &["a..b"],
                    2 => &[r"a\x"],
                    3 => &[""],
                    4 => &["city", "age."],
                    _ => &[".city"],
                };
                let expected = self.model.create_index(name, fields, false, false);
                let actual = self.store.create_index(name, fields.iter().copied());
                check("create_index(bad)", &actual, &expected, |(), _| {});
                if let Ok(index) = expected {
                    self.model.indexes.push(index);
                }
            }
            Op::DropIndex(index) => {
                let name = index_name(*index);
                let expected = self.model.index(name).map(|_| ());
                let actual = self.store.drop_index(name);
                check("drop_index", &actual, &expected, |(), ()| {});
                if actual.is_ok() {
                    self.model.indexes.retain(|i| i.name != name);
                }
            }
            Op::Lookup {
                index,
                key,
                form,
                on_snapshot,
                consume: how,
            } => {
                let name = index_name(*index);
                let expected = self.model.lookup(name, key);
                let actual = with_src(&self.store, *on_snapshot, |src| {
                    lookup_as(src, name, key, *form)
                });
                let what = format!("lookup({name}, {key:?})");
                check(&what, &actual, &expected, |_, _| {});
                if let (Ok(iter), Ok(expected)) = (actual, expected) {
                    consume(&what, iter, &expected, how);
                }
            }
            Op::GetUnique { index, key } => {
                let name = index_name(*index);
                let expected = self.model.get_unique(name, key);
                let actual = with_src(&self.store, false, |src| get_unique_as(src, name, key));
                let what = format!("get_unique({name}, {key:?})");
                check(&what, &actual, &expected, |a, e| {
                    assert_eq!(&a.as_ref().map(row), e, "{what}");
                });
            }
            Op::Range {
                index,
                start,
                end,
                syntax,
                on_snapshot,
                consume: how,
            } => {
                let name = index_name(*index);
                let (start, end) = (bound(start.0, &start.1), bound(end.0, &end.1));
                let arity = match (&start, &end) {
                    (Bound::Included(k) | Bound::Excluded(k), _)
                    | (_, Bound::Included(k) | Bound::Excluded(k)) => k.len(),
                    _ => 1,
                };
                let expected = self.model.range(name, &start, &end);
                let actual = with_src(&self.store, *on_snapshot, |src| {
                    range_as(src, name, arity, &start, &end, *syntax)
                });
                let what = format!("range({name}, {start:?}, {end:?})");
                check(&what, &actual, &expected, |_, _| {});
                if let (Ok(iter), Ok(expected)) = (actual, expected) {
                    consume(&what, iter, &expected, how);
                }
            }
            Op::Prefix {
                index,
                key,
                form,
                consume: how,
            } => {
                let name = index_name(*index);
                let expected = self.model.prefix(name, key);
                let actual = with_src(&self.store, false, |src| prefix_as(src, name, key, *form));
                let what = format!("prefix({name}, {key:?})");
                check(&what, &actual, &expected, |_, _| {});
                if let (Ok(iter), Ok(expected)) = (actual, expected) {
                    consume(&what, iter, &expected, how);
                }
            }
            Op::ByIndex {
                index,
                consume: how,
            } => {
                let name = index_name(*index);
                let expected = self.model.by_index(name);
                let actual = with_src(&self.store, false, |src| src.by_index(name));
                let what = format!("by_index({name})");
                check(&what, &actual, &expected, |_, _| {});
                if let (Ok(iter), Ok(expected)) = (actual, expected) {
                    consume(&what, iter, &expected, how);
                }
            }
            Op::Scan {
                on_snapshot,
                consume: how,
            } => {
                let expected = self.model.open().map(|()| self.model.all_rows());
                let actual = with_src(&self.store, *on_snapshot, |src| src.iter());
                check("iter", &actual, &expected, |_, _| {});
                if let (Ok(iter), Ok(expected)) = (actual, expected) {
                    consume("iter", iter, &expected, how);
                }
            }
            Op::StoreCursor(moves) => {
                let expected = self.model.open().map(|()| self.model.all_rows());
                let actual = self.store.cursor();
                check("cursor", &actual, &expected, |_, _| {});
                if let (Ok(cursor), Ok(expected)) = (actual, expected) {
                    run_cursor("store cursor", cursor, &expected, moves);
                }
            }
            Op::Hold => {
                let Ok(snapshot) = self.store.snapshot() else {
                    assert!(self.model.closed, "snapshot() failed on an open store");
                    return;
                };
                let by_index = self.model.indexes.first().and_then(|index| {
                    let iter = self.store.by_index(&index.name).ok()?;
                    Some((index.name.clone(), iter))
                });
                self.held.push(Held {
                    scan: self.store.iter().expect("open store"),
                    cursor: self.store.cursor().expect("open store"),
                    snapshot,
                    by_index,
                    model: self.model.clone(),
                });
            }
            Op::CheckHeld => self.check_held(),
            Op::CloneStore { extra, switch } => {
                let copy = self.store.clone();
                if self.model.closed {
                    assert!(copy.is_closed(), "a clone of a closed store is closed");
                    assert_eq!(copy.len(), Err(Error::Closed));
                    return;
                }
                let mut other = Harness {
                    store: copy,
                    model: self.model.clone(),
                    held: Vec::new(),
                };
                other.model.floor = self.model.docs.last().map(|d| d.id);
                other.check_all("clone");
                other.insert(extra.clone());
                other.run(&Op::UpdateWith(Sel::Live(0), Mutation::Increment));
                other.check_all("clone after writes");
                self.check_all("original after writes to its clone");
                if *switch {
                    self.store = other.store;
                    self.model = other.model;
                }
            }
            Op::CloneFiltered {
                pred,
                extra,
                switch,
            } => {
                let mut seen = Vec::new();
                let actual = self.store.clone_filtered(|d| {
                    seen.push(d.id());
                    pred.keep(d.id(), d.version(), &d.to_value())
                });
                let expected = self.model.open();
                check("clone_filtered", &actual, &expected, |_, ()| {});
                let Ok(copy) = actual else { return };
                let all: Vec<Id> = self.model.docs.iter().map(|d| d.id).collect();
                assert_eq!(
                    seen, all,
                    "clone_filtered: the predicate sees each document once, in id order"
                );
                let mut model = self.model.clone();
                model.docs.retain(|d| pred.keep(d.id, d.version, &d.value));
                model.deleted.clear();
                model.floor = self.model.docs.last().map(|d| d.id);
                let mut other = Harness {
                    store: copy,
                    model,
                    held: Vec::new(),
                };
                other.check_all("filtered clone");
                other.insert(extra.clone());
                other.check_all("filtered clone after an insert");
                self.check_all("original after writes to its filtered clone");
                if *switch {
                    self.store = other.store;
                    self.model = other.model;
                }
            }
            Op::Close => {
                self.store.close();
                self.model.closed = true;
                assert!(self.store.is_closed());
                self.store.close();
                assert!(self.store.is_closed(), "close is idempotent");
            }
        }
    }

    fn check_held(&self) {
        for held in &self.held {
            let expected = held.model.all_rows();
            assert_eq!(rows(held.scan.clone()), expected, "a held iterator");
            assert_eq!(rows(held.cursor.clone()), expected, "a held cursor");
            assert_eq!(rows(held.snapshot.iter()), expected, "a held snapshot");
            assert_eq!(held.snapshot.len(), expected.len(), "a held snapshot's len");
            for (id, version, value) in &expected {
                let got = held.snapshot.get(*id).map(|d| row(&d));
                assert_eq!(
                    got,
                    Ok((*id, *version, value.clone())),
                    "a held snapshot's get"
                );
            }
            if let Some((name, iter)) = &held.by_index {
                let want = held.model.by_index(name).expect("the index existed");
                assert_eq!(rows(iter.clone()), want, "a held by_index({name})");
                assert_eq!(
                    rows(held.snapshot.by_index(name.as_str()).expect("held")),
                    want
                );
            }
            let names: Vec<String> = held
                .snapshot
                .indexes()
                .iter()
                .map(|i| i.name().to_owned())
                .collect();
            let want: Vec<String> = held.model.indexes.iter().map(|i| i.name.clone()).collect();
            assert_eq!(names, want, "a held snapshot's indexes");
        }
    }

    /// The whole store against the model: documents, index definitions, and
    /// every index's full content in key order.
    fn check_all(&self, what: &str) {
        if self.model.closed {
            assert_eq!(
                self.store.len(),
                Err(Error::Closed),
                "{what}: len() on a closed store"
            );
            assert!(
                self.store.iter().is_err(),
                "{what}: iter() on a closed store"
            );
            assert_eq!(
                self.store.verify(),
                Err(Error::Closed),
                "{what}: verify() when closed"
            );
            return;
        }
        assert_eq!(self.store.len(), Ok(self.model.docs.len()), "{what}: len()");
        assert_eq!(
            self.store.is_empty(),
            Ok(self.model.docs.is_empty()),
            "{what}: is_empty()"
        );
        let dump = rows(self.store.iter().expect("open store"));
        assert_eq!(dump, self.model.all_rows(), "{what}: the documents");
        let infos = self.store.indexes().expect("open store");
        let have: Vec<(String, Vec<String>, bool, bool)> = infos
            .iter()
            .map(|i| {
                (
                    i.name().to_owned(),
                    i.fields().to_vec(),
                    i.is_unique(),
                    i.is_multi_key(),
                )
            })
            .collect();
        let want: Vec<(String, Vec<String>, bool, bool)> = self
            .model
            .indexes
            .iter()
            .map(|i| (i.name.clone(), i.fields.clone(), i.unique, i.multi))
            .collect();
        assert_eq!(have, want, "{what}: the index definitions");
        for index in &self.model.indexes {
            let got = rows(self.store.by_index(&index.name).expect("the index exists"));
            let want = self.model.by_index(&index.name).expect("the index exists");
            assert_eq!(got, want, "{what}: the content of index {}", index.name);
        }
    }

    fn check_verify(&self) {
        if !self.model.closed {
            assert_eq!(
                self.store.verify(),
                Ok(Vec::new()),
                "verify() found problems"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Generators: small domains, so that collisions, ties and unique violations
// are frequent.
// ---------------------------------------------------------------------------

fn city() -> BoxedStrategy<Value> {
    select(vec!["Paris", "Rome", "Oslo", "Lima"])
        .prop_map(|s| json!(s))
        .boxed()
}

fn age() -> BoxedStrategy<Value> {
    prop_oneof![
        6 => (0i64..6).prop_map(|n| json!(n)),
        3 => select(vec![json!(2.0), json!(2.5), json!(-0.0), json!(5.0), json!(-1), json!(0.5)]),
        1 => select(vec![
            json!(u64::MAX),
            json!(i64::MIN),
            json!(9_007_199_254_740_992_u64),
            json!(9_007_199_254_740_993_u64),
            json!(9_007_199_254_740_992.0),
            json!("3"),
            json!(true),
            json!([2]),
        ]),
    ]
    .boxed()
}

fn tags() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => vec(select(vec!["a", "b", "c"]), 0..4).prop_map(|v| json!(v)),
        1 => select(vec![json!("a"), json!([["a"], "b"]), json!([1, 1.0, "a"]), json!([null, "a"])]),
    ]
    .boxed()
}

fn zip() -> BoxedStrategy<Value> {
    select(vec![json!(1), json!(2), json!("1"), json!(2.0)]).boxed()
}

fn address() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => zip().prop_map(|z| json!({"zip": z})),
        1 => select(vec![json!({}), json!("x"), json!({"zip": null}), json!({"zip": 1, "street": "s"})]),
    ]
    .boxed()
}

/// A field that is usually present, sometimes missing, sometimes null.
fn field(values: BoxedStrategy<Value>) -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        5 => values.prop_map(Some),
        1 => Just(None),
        1 => Just(Some(Value::Null)),
    ]
    .boxed()
}

fn document() -> BoxedStrategy<Value> {
    (
        field(city()),
        field(age()),
        field(tags()),
        field(address()),
        proptest::option::of(0i64..3),
        proptest::option::of(0i64..4),
    )
        .prop_map(|(city, age, tags, address, dotted, n)| {
            let mut map = Map::new();
            let fields = [
                ("city", city),
                ("age", age),
                ("tags", tags),
                ("address", address),
            ];
            for (name, value) in fields {
                if let Some(value) = value {
                    map.insert(name.to_owned(), value);
                }
            }
            if let Some(dotted) = dotted {
                map.insert("a.b".to_owned(), json!(dotted));
            }
            if let Some(n) = n {
                map.insert("n".to_owned(), json!(n));
            }
            Value::Object(map)
        })
        .boxed()
}

fn non_object() -> BoxedStrategy<Value> {
    select(vec![
        json!(null),
        json!(1),
        json!("x"),
        json!([1, 2]),
        json!(true),
        json!(-0.5),
    ])
    .boxed()
}

/// A key field drawn from every domain the documents use, and beyond.
fn key_value() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => city(),
        3 => age(),
        1 => zip(),
        1 => select(vec![
            json!(null),
            json!(false),
            json!(true),
            json!(""),
            json!("a"),
            json!("b"),
            json!("Z"),
            json!(["a"]),
            json!(["a", "b"]),
            json!([]),
            json!({"zip": 1}),
            json!({}),
            json!(-1e300),
            json!(1e300),
        ]),
    ]
    .boxed()
}

fn key(arity: std::ops::Range<usize>) -> BoxedStrategy<Vec<Value>> {
    vec(key_value(), arity).boxed()
}

fn arity() -> BoxedStrategy<usize> {
    prop_oneof![6 => Just(1usize), 3 => Just(2usize), 1 => Just(3usize)].boxed()
}

fn sel() -> BoxedStrategy<Sel> {
    prop_oneof![
        8 => any::<usize>().prop_map(Sel::Live),
        2 => any::<usize>().prop_map(Sel::Deleted),
        1 => Just(Sel::Nil),
        1 => any::<u128>().prop_map(Sel::Random),
    ]
    .boxed()
}

fn vpick() -> BoxedStrategy<VPick> {
    prop_oneof![
        4 => Just(VPick::Current),
        2 => Just(VPick::Stale),
        1 => Just(VPick::Ahead),
        1 => Just(VPick::Zero),
    ]
    .boxed()
}

fn mutation() -> BoxedStrategy<Mutation> {
    prop_oneof![
        4 => Just(Mutation::Increment),
        2 => city().prop_map(Mutation::SetCity),
        2 => document().prop_map(Mutation::Replace),
        1 => non_object().prop_map(Mutation::NonObject),
        1 => Just(Mutation::Same),
        1 => Just(Mutation::RemoveAge),
    ]
    .boxed()
}

fn moves() -> BoxedStrategy<Vec<Move>> {
    vec(
        prop_oneof![
            4 => Just(Move::Next),
            3 => Just(Move::Prev),
            1 => Just(Move::Peek),
            2 => (-6isize..7).prop_map(Move::Advance),
            1 => select(vec![isize::MIN, isize::MAX, -1000, 1000]).prop_map(Move::Advance),
            1 => prop_oneof![0usize..10, Just(usize::MAX)].prop_map(Move::Seek),
            1 => Just(Move::Reset),
            1 => Just(Move::CloneRest),
        ],
        0..14,
    )
    .boxed()
}

fn consume_how() -> BoxedStrategy<Consume> {
    prop_oneof![
        3 => Just(Consume::All),
        1 => (0usize..6).prop_map(Consume::Take),
        1 => (0usize..6).prop_map(Consume::RevTake),
        1 => (0usize..8).prop_map(Consume::Nth),
        1 => (0usize..8).prop_map(Consume::NthBack),
        1 => Just(Consume::Count),
        1 => Just(Consume::Last),
        1 => vec(any::<bool>(), 0..10).prop_map(Consume::Mixed),
        2 => moves().prop_map(Consume::Cursor),
    ]
    .boxed()
}

/// Index choices: the catalog and one name that never exists.
fn index_choice() -> BoxedStrategy<usize> {
    prop_oneof![10 => 0..CATALOG.len(), 1 => Just(CATALOG.len())].boxed()
}

fn create_index() -> BoxedStrategy<Op> {
    (
        0..CATALOG.len(),
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.5),
    )
        .prop_map(|(index, unique, multi, covering)| Op::CreateIndex {
            index,
            unique,
            multi,
            covering,
        })
        .boxed()
}

fn pred() -> BoxedStrategy<Pred> {
    prop_oneof![
        Just(Pred::All),
        Just(Pred::Nothing),
        city().prop_map(Pred::City),
        Just(Pred::EvenN),
        (1u64..3).prop_map(Pred::VersionAtLeast),
        (0u8..128).prop_map(Pred::IdBit),
    ]
    .boxed()
}

fn op() -> BoxedStrategy<Op> {
    let range = (
        index_choice(),
        arity(),
        any::<(u8, u8)>(),
        any::<bool>(),
        any::<bool>(),
        consume_how(),
    )
        .prop_flat_map(|(index, n, kinds, syntax, on_snapshot, how)| {
            (key(n..n + 1), key(n..n + 1)).prop_map(move |(s, e)| Op::Range {
                index,
                start: (kinds.0, s),
                end: (kinds.1, e),
                syntax,
                on_snapshot,
                consume: how.clone(),
            })
        });
    prop_oneof![
        48 => document().prop_map(Op::Insert),
        4 => non_object().prop_map(Op::InsertNonObject),
        12 => sel().prop_map(Op::Get),
        4 => sel().prop_map(Op::Contains),
        16 => (sel(), document()).prop_map(|(s, d)| Op::Update(s, d)),
        4 => (sel(), non_object()).prop_map(|(s, v)| Op::UpdateNonObject(s, v)),
        16 => (sel(), vpick(), document()).prop_map(|(s, v, d)| Op::UpdateIf(s, v, d)),
        16 => (sel(), mutation()).prop_map(|(s, m)| Op::UpdateWith(s, m)),
        12 => sel().prop_map(Op::Delete),
        8 => (sel(), vpick()).prop_map(|(s, v)| Op::DeleteIf(s, v)),
        12 => create_index(),
        4 => (any::<u8>(), index_choice()).prop_map(|(kind, index)| Op::CreateBad { kind, index }),
        4 => index_choice().prop_map(Op::DropIndex),
        24 => (index_choice(), arity().prop_flat_map(|n| key(n..n + 1)), any::<u8>(), any::<bool>(), consume_how())
            .prop_map(|(index, key, form, on_snapshot, consume)| Op::Lookup { index, key, form, on_snapshot, consume }),
        8 => (index_choice(), arity().prop_flat_map(|n| key(n..n + 1)))
            .prop_map(|(index, key)| Op::GetUnique { index, key }),
        28 => range,
        12 => (index_choice(), key(1..4), any::<u8>(), consume_how())
            .prop_map(|(index, key, form, consume)| Op::Prefix { index, key, form, consume }),
        8 => (index_choice(), consume_how()).prop_map(|(index, consume)| Op::ByIndex { index, consume }),
        8 => (any::<bool>(), consume_how()).prop_map(|(on_snapshot, consume)| Op::Scan { on_snapshot, consume }),
        4 => moves().prop_map(Op::StoreCursor),
        4 => Just(Op::Hold),
        4 => Just(Op::CheckHeld),
        3 => (document(), any::<bool>()).prop_map(|(extra, switch)| Op::CloneStore { extra, switch }),
        3 => (pred(), document(), any::<bool>())
            .prop_map(|(pred, extra, switch)| Op::CloneFiltered { pred, extra, switch }),
        1 => Just(Op::Close),
    ]
    .boxed()
}

fn config(cases: u32, file: &'static str) -> ProptestConfig {
    // PROPTEST_CASES, when set, overrides the default count (for longer CI runs).
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() {
        ProptestConfig::default().cases
    } else {
        cases
    };
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(file))),
        ..ProptestConfig::default()
    }
}

const REGRESSIONS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/proptest-regressions/model.txt"
);

fn run_sequence(setup: &[Op], documents: &[Value], ops: &[Op]) {
    let mut harness = Harness::new();
    let documents = documents.iter().cloned().map(Op::Insert);
    for (step, op) in setup
        .iter()
        .cloned()
        .chain(documents)
        .chain(ops.iter().cloned())
        .enumerate()
    {
        let op = &op;
        harness.run(op);
        harness.check_all(&format!("after step {step} ({op:?})"));
        if step % 8 == 7 {
            harness.check_verify();
        }
    }
    harness.check_held();
    harness.check_verify();
}

proptest! {
    #![proptest_config(config(700, REGRESSIONS))]

    /// Random sequences of every operation, against the model.
    #[test]
    fn random_sequences_match_the_model(
        setup in vec(create_index(), 0..5),
        documents in vec(document(), 0..24),
        ops in vec(op(), 1..80),
    ) {
        run_sequence(&setup, &documents, &ops);
    }
}

// ---------------------------------------------------------------------------
// The key order itself, on random values.
// ---------------------------------------------------------------------------

fn interesting_number() -> BoxedStrategy<Value> {
    let two53 = 1u64 << 53;
    prop_oneof![
        select(vec![
            json!(i64::MIN),
            json!(i64::MIN + 1),
            json!(-(1i64 << 53) - 1),
            json!(-(1i64 << 53)),
            json!(-1),
            json!(0),
            json!(1),
            json!(5),
            json!(6),
            json!(two53),
            json!(two53 + 1),
            json!(two53 + 2),
            json!(i64::MAX),
            json!(i64::MAX as u64 + 1),
            json!(u64::MAX - 1),
            json!(u64::MAX),
        ]),
        select(vec![
            json!(-0.0),
            json!(0.0),
            json!(5.0),
            json!(5.5),
            json!(-5.5),
            json!(9_007_199_254_740_992.0),
            json!(9_007_199_254_740_994.0),
            json!(-9_007_199_254_740_992.0),
            json!(9_223_372_036_854_775_808.0),
            json!(-9_223_372_036_854_775_808.0),
            json!(18_446_744_073_709_551_616.0),
            json!(1e308),
            json!(-1e308),
            json!(f64::MAX),
            json!(f64::MIN),
            json!(5e-324),
            json!(-5e-324),
            json!(f64::MIN_POSITIVE),
            json!(0.1),
            json!(-1.5),
        ]),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        (-3i64..4).prop_map(|n| json!(n)),
        (-3i64..4).prop_map(|n| json!(n as f64)),
    ]
    .boxed()
}

fn any_key() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        4 => interesting_number(),
        1 => select(vec!["", "\0", "\0\0", "a", "a\0", "a\0b", "ab", "b", "é", "\u{10FFFF}", "A", "\u{7f}"])
            .prop_map(|s| json!(s)),
        1 => "[ab\\x00]{0,3}".prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(3, 24, 3, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..3).prop_map(Value::Array),
            btree_map("[ab]{0,2}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

const KEY_REGRESSIONS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/proptest-regressions/model-keys.txt"
);

/// A model of a store holding `{"k": v, "w": [v]}` for each value, with an
/// index on `k` (where a null leaves the document out) and one on `w` (where
/// the value sits inside an array, so a null is a key too).
fn key_model(ids: &[Id], values: &[Value]) -> Model {
    let index = |name: &str| MIndex {
        name: name.into(),
        fields: vec![name.into()],
        paths: vec![vec![name.into()]],
        unique: false,
        multi: false,
    };
    Model {
        docs: ids
            .iter()
            .zip(values)
            .map(|(id, v)| MDoc {
                id: *id,
                version: 1,
                value: json!({ "k": v, "w": [v] }),
            })
            .collect(),
        indexes: vec![index("k"), index("w")],
        ..Model::default()
    }
}

fn key_store(values: &[Value]) -> (Store, Vec<Id>) {
    let store = Store::new();
    store.create_index("k", ["k"]).expect("index");
    store.create_index("w", ["w"]).expect("index");
    let ids = values
        .iter()
        .map(|v| store.insert(json!({ "k": v, "w": [v] })).expect("insert"))
        .collect();
    (store, ids)
}

fn ids_of(iter: Iter<Object>) -> Vec<Id> {
    iter.map(|d| d.id()).collect()
}

fn model_ids(rows: Result<Vec<Row>, Expect>) -> Vec<Id> {
    rows.expect("the model answers")
        .into_iter()
        .map(|r| r.0)
        .collect()
}

proptest! {
    #![proptest_config(config(256, KEY_REGRESSIONS))]

    /// The engine orders, groups and bounds random keys exactly as the
    /// specification's order does; and that order is total, transitive and
    /// consistent with equality.
    #[test]
    fn key_order_matches_the_specification(
        values in vec(any_key(), 1..24),
        pairs in vec((any::<usize>(), any::<usize>(), 0u8..9), 0..12),
    ) {
        // The reference order is a total order on these values.
        for a in &values {
            prop_assert_eq!(cmp_value(a, a), Ordering::Equal);
            for b in &values {
                prop_assert_eq!(cmp_value(a, b), cmp_value(b, a).reverse());
                if a == b {
                    prop_assert_eq!(cmp_value(a, b), Ordering::Equal, "{} == {}", a, b);
                }
                for c in &values {
                    let (ab, bc) = (cmp_value(a, b), cmp_value(b, c));
                    if ab != Ordering::Greater && bc != Ordering::Greater {
                        prop_assert_ne!(cmp_value(a, c), Ordering::Greater);
                    }
                    if ab == Ordering::Equal && bc == Ordering::Equal {
                        prop_assert_eq!(cmp_value(a, c), Ordering::Equal);
                    }
                }
            }
        }

        let (store, ids) = key_store(&values);
        let model = key_model(&ids, &values);
        for name in ["k", "w"] {
            let wrap = |v: &Value| if name == "w" { json!([v]) } else { v.clone() };
            // By index: the model's order, ties in id (insertion) order.
            let got = ids_of(store.by_index(name).expect("index"));
            prop_assert_eq!(got, model_ids(model.by_index(name)), "by_index({}) for {:?}", name, values);
            // Lookups: exactly the equal keys.
            for value in &values {
                let key = wrap(value);
                let got = ids_of(store.lookup(name, &key).expect("lookup"));
                let want = model_ids(model.lookup(name, std::slice::from_ref(&key)));
                prop_assert_eq!(got, want, "lookup({}, {})", name, key);
            }
            // Ranges between random pairs, every bound form.
            for &(a, b, form) in &pairs {
                let lo = wrap(&values[a % values.len()]);
                let hi = wrap(&values[b % values.len()]);
                let (start, end) = match form {
                    0 => (Bound::Included(&lo), Bound::Excluded(&hi)),
                    1 => (Bound::Included(&lo), Bound::Included(&hi)),
                    2 => (Bound::Excluded(&lo), Bound::Included(&hi)),
                    3 => (Bound::Excluded(&lo), Bound::Excluded(&hi)),
                    4 => (Bound::Included(&lo), Bound::Unbounded),
                    5 => (Bound::Excluded(&lo), Bound::Unbounded),
                    6 => (Bound::Unbounded, Bound::Included(&hi)),
                    7 => (Bound::Unbounded, Bound::Excluded(&hi)),
                    _ => (Bound::Unbounded, Bound::Unbounded),
                };
                let to_vec = |b: Bound<&Value>| b.map(|v| vec![v.clone()]);
                let want = model_ids(model.range(name, &to_vec(start), &to_vec(end)));
                let got = ids_of(store.range(name, (start, end)).expect("range"));
                prop_assert_eq!(got, want, "range({}, {:?}, {:?})", name, start, end);
            }
        }
        prop_assert_eq!(store.verify(), Ok(Vec::new()));
    }
}

// ---------------------------------------------------------------------------
// The key order at its edges, spelled out.
// ---------------------------------------------------------------------------

/// Groups of equal keys, in ascending order.
fn ladder() -> Vec<Vec<Value>> {
    let two53 = 1u64 << 53;
    vec![
        vec![json!(null)],
        vec![json!(false)],
        vec![json!(true)],
        vec![json!(f64::MIN)],
        vec![json!(-1e308)],
        vec![json!(-18_446_744_073_709_551_616.0)],
        vec![json!(i64::MIN), json!(-9_223_372_036_854_775_808.0)],
        vec![json!(i64::MIN + 1)],
        vec![json!(-(1i64 << 53) - 1)],
        vec![json!(-(1i64 << 53)), json!(-9_007_199_254_740_992.0)],
        vec![json!(-5.5)],
        vec![json!(-1), json!(-1.0)],
        vec![json!(-5e-324)],
        vec![json!(0), json!(0.0), json!(-0.0)],
        vec![json!(5e-324)],
        vec![json!(f64::MIN_POSITIVE)],
        vec![json!(0.1)],
        vec![json!(5), json!(5.0)],
        vec![json!(5.5)],
        vec![json!(6)],
        vec![json!(two53), json!(9_007_199_254_740_992.0)],
        vec![json!(two53 + 1)],
        vec![json!(two53 + 2), json!(9_007_199_254_740_994.0)],
        vec![json!(i64::MAX - 1)],
        vec![json!(i64::MAX)],
        vec![
            json!(i64::MAX as u64 + 1),
            json!(9_223_372_036_854_775_808.0),
        ],
        vec![json!(u64::MAX - 1)],
        vec![json!(u64::MAX)],
        vec![json!(18_446_744_073_709_551_616.0)],
        vec![json!(1e308)],
        vec![json!(f64::MAX)],
        vec![json!("")],
        vec![json!("\0")],
        vec![json!("A")],
        vec![json!("a")],
        vec![json!("a\0")],
        vec![json!("a\0b")],
        vec![json!("ab")],
        vec![json!("é")],
        vec![json!("\u{10FFFF}")],
        vec![json!([])],
        vec![json!([null])],
        vec![json!([1]), json!([1.0])],
        vec![json!([1, "a"])],
        vec![json!([2])],
        vec![json!(["a"])],
        vec![json!([[]])],
        vec![json!({})],
        vec![json!({"a": 1}), json!({"a": 1.0})],
        vec![json!({"a": 1, "b": 0})],
        vec![json!({"a": 2})],
        vec![json!({"b": 0})],
    ]
}

#[test]
fn key_order_edges_are_exact() {
    let groups = ladder();
    // Insert in a scrambled order, remembering each value's group.
    let mut flat: Vec<(usize, Value)> = groups
        .iter()
        .enumerate()
        .flat_map(|(g, values)| values.iter().map(move |v| (g, v.clone())))
        .collect();
    flat.reverse();
    flat.rotate_left(7);
    let values: Vec<Value> = flat.iter().map(|(_, v)| v.clone()).collect();
    let (store, ids) = key_store(&values);
    let group_of: std::collections::HashMap<Id, usize> = ids
        .iter()
        .zip(&flat)
        .map(|(id, (g, _))| (*id, *g))
        .collect();
    // The model agrees with the ladder, which checks the model too.
    for (g, values) in groups.iter().enumerate() {
        for value in values {
            for (h, others) in groups.iter().enumerate() {
                for other in others {
                    assert_eq!(
                        cmp_value(value, other),
                        g.cmp(&h),
                        "model: {value} vs {other}"
                    );
                }
            }
        }
    }
    for name in ["k", "w"] {
        // The index lists the groups in order (a top-level null is not indexed).
        let listed: Vec<usize> = ids_of(store.by_index(name).expect("index"))
            .iter()
            .map(|id| group_of[id])
            .collect();
        let mut want: Vec<usize> = flat.iter().map(|(g, _)| *g).collect();
        want.sort_unstable();
        if name == "k" {
            want.retain(|g| *g != 0);
        }
        assert_eq!(listed, want, "index order of the ladder in {name}");
        for (g, values) in groups.iter().enumerate() {
            for value in values {
                let key = if name == "w" {
                    json!([value])
                } else {
                    value.clone()
                };
                let found: Vec<usize> = ids_of(store.lookup(name, &key).expect("lookup"))
                    .iter()
                    .map(|id| group_of[id])
                    .collect();
                let size = if name == "k" && g == 0 {
                    0
                } else {
                    values.len()
                };
                assert_eq!(
                    found,
                    vec![g; size],
                    "lookup({name}, {key}) finds exactly its group"
                );
            }
        }
    }
    // Every value reads back exactly, down to the sign of zero.
    for (id, value) in ids.iter().zip(&values) {
        let document = store.get(*id).expect("get");
        assert_eq!(document.to_value(), json!({ "k": value, "w": [value] }));
        let back = document.to_value()["k"].clone();
        assert_eq!(
            back.is_f64(),
            value.is_f64(),
            "{value} keeps its representation"
        );
        if let (Some(a), Some(b)) = (back.as_f64(), value.as_f64()) {
            assert_eq!(a.to_bits(), b.to_bits(), "{value} reads back bit for bit");
        }
        assert_eq!(back.as_u64(), value.as_u64());
        assert_eq!(back.as_i64(), value.as_i64());
    }
    assert_eq!(store.verify(), Ok(Vec::new()));
}

#[test]
fn five_is_five_point_zero_in_every_key_form() {
    let store = Store::new();
    store.create_index("n", ["n"]).expect("index");
    store.create_index("pair", ["n", "s"]).expect("index");
    let int = store.insert(json!({"n": 5, "s": "x"})).expect("insert");
    let float = store.insert(json!({"n": 5.0, "s": "x"})).expect("insert");
    store.insert(json!({"n": 5.5, "s": "x"})).expect("insert");
    store.insert(json!({"n": 6, "s": "x"})).expect("insert");
    let both = vec![int, float];
    let ids = |iter: Iter<Object>| iter.map(|d| d.id()).collect::<Vec<_>>();
    assert_eq!(ids(store.lookup("n", 5u64).expect("lookup")), both);
    assert_eq!(ids(store.lookup("n", 5i64).expect("lookup")), both);
    assert_eq!(ids(store.lookup("n", 5u8).expect("lookup")), both);
    assert_eq!(ids(store.lookup("n", 5.0f64).expect("lookup")), both);
    assert_eq!(ids(store.lookup("n", 5.0f32).expect("lookup")), both);
    assert_eq!(ids(store.lookup("n", json!(5.0)).expect("lookup")), both);
    assert_eq!(ids(store.lookup("pair", (5, "x")).expect("lookup")), both);
    assert_eq!(ids(store.lookup("pair", (5.0, "x")).expect("lookup")), both);
    assert_eq!(ids(store.range("n", 5..6).expect("range")).len(), 3);
    assert_eq!(ids(store.range("n", 5.0..5.5).expect("range")), both);
    assert_eq!(
        ids(store
            .range("n", (Bound::Excluded(5), Bound::Unbounded))
            .expect("range"))
        .len(),
        2
    );
    // The documents keep their own representation.
    assert_eq!(
        store.get(int).expect("get").to_value(),
        json!({"n": 5, "s": "x"})
    );
    assert_eq!(
        store.get(float).expect("get").to_value(),
        json!({"n": 5.0, "s": "x"})
    );
    assert_ne!(json!(5), json!(5.0));
    // A unique index treats them as one key.
    let unique = Store::new();
    unique
        .create_index_with("n", ["n"], IndexOptions::new().unique())
        .expect("index");
    let first = unique.insert(json!({"n": 5})).expect("insert");
    assert_eq!(
        unique.insert(json!({"n": 5.0})).map_err(|e| classify(&e)),
        Err(Expect::UniqueViolation("n".into(), first))
    );
}

/// A multi-key index files a document under each distinct element. The
/// specification says a query never returns a document twice; a range over a
/// multi-key index that covers two of one document's elements is where that
/// could break.
#[test]
fn multi_key_ranges_never_return_a_document_twice() {
    let store = Store::new();
    store
        .create_index_with("tags", ["tags"], IndexOptions::new().multi_key())
        .expect("index");
    store
        .create_index_with("tag_n", ["tags", "n"], IndexOptions::new().multi_key())
        .expect("index");
    let id = store
        .insert(json!({"tags": ["a", "b", "a"], "n": 1}))
        .expect("insert");
    let other = store
        .insert(json!({"tags": ["c", "a"], "n": 1}))
        .expect("insert");
    let ids = |iter: Iter<Object>| iter.map(|d| d.id()).collect::<Vec<_>>();
    assert_eq!(ids(store.lookup("tags", "a").expect("lookup")), [id, other]);
    assert_eq!(ids(store.lookup("tags", "b").expect("lookup")), [id]);
    let ranged = ids(store.range("tags", "a"..="b").expect("range"));
    assert_eq!(ranged, [id, other], "range over two of the document's tags");
    // Each document once, at its first key in the span.
    assert_eq!(ids(store.range("tags", "b"..).expect("range")), [id, other]);
    assert_eq!(ids(store.by_index("tags").expect("by_index")), [id, other]);
    let reversed: Vec<Id> = store
        .by_index("tags")
        .expect("by_index")
        .rev()
        .map(|d| d.id())
        .collect();
    assert_eq!(reversed, [other, id]);
    assert_eq!(store.by_index("tags").expect("by_index").len(), 2);
    assert_eq!(ids(store.range("tag_n", ..).expect("range")), [id, other]);
    assert_eq!(ids(store.prefix("tag_n", "c").expect("prefix")), [other]);
    assert_eq!(
        ids(store.range("tag_n", ("b",)..).expect("range")),
        [id, other]
    );
    assert_eq!(store.verify(), Ok(Vec::new()));
}
