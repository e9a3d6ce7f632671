//! Model-based property tests of the typed layer: a `Collection` of a struct
//! with `#[derive(Indexed)]` (unique, plain, `Option`, multi-key, float,
//! composite and computed indexes), driven by random sequences of every
//! operation against a naive reference model, compared exactly, order included.
//!
//! Transactions across a database are modelled too: random steps on two typed
//! collections and a schemaless store of one `Db`, each checked against the
//! model as the transaction sees it, ending in a commit, an error, a panic
//! (on purpose, or a computed key's) or a drop; all three stores are compared
//! with the model after each one.
//!
//! Panic safety is part of the model: a computed key that panics, an
//! `update_with` closure that panics and a `clone_filtered` predicate that
//! panics must each leave the collection exactly as it was, and usable.
//!
//! Failing cases are shrunk and their seeds saved in
//! `tests/proptest-regressions/typed_model.txt`, which is committed.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::ops::Bound;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread;

use docstore::{
    Collection, Cursor, Db, Error, Id, Indexed, Iter, Rejected, Snapshot, Store, Transaction,
    TxCollection, TxIter, Versioned,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// The document type.
// ---------------------------------------------------------------------------

// Some indexes are covering (their entries hold the documents), in each form.
#[derive(Indexed, Clone, Debug)]
#[indexed(composite(by_city_age = (city, age), covering))]
#[indexed(computed(by_len: usize = name_len))]
#[indexed(computed(by_trap: u8 = trap, covering))]
struct User {
    #[index(unique, covering)]
    email: String,
    #[index]
    city: String,
    #[index]
    age: u32,
    #[index]
    nickname: Option<String>,
    #[index(each, covering)]
    tags: Vec<String>,
    #[index]
    score: f64,
    name: String,
    n: u64,
    /// Makes the computed key `by_trap` panic.
    panic_key: bool,
}

impl User {
    fn name_len(&self) -> usize {
        self.name.len()
    }

    fn trap(&self) -> u8 {
        assert!(!self.panic_key, "the computed key panics");
        u8::try_from(self.n % 3).unwrap_or(0)
    }
}

/// Equality with floats compared bit for bit (so a NaN document equals itself).
impl PartialEq for User {
    fn eq(&self, other: &Self) -> bool {
        self.email == other.email
            && self.city == other.city
            && self.age == other.age
            && self.nickname == other.nickname
            && self.tags == other.tags
            && self.score.to_bits() == other.score.to_bits()
            && self.name == other.name
            && self.n == other.n
            && self.panic_key == other.panic_key
    }
}

// ---------------------------------------------------------------------------
// The key order, by hand, from the specification (tests/common). Typed
// keys order exactly like schemaless ones, so the model writes them as JSON.
// ---------------------------------------------------------------------------

mod common;

use common::{cmp_seq, cmp_value};

// ---------------------------------------------------------------------------
// The reference model.
// ---------------------------------------------------------------------------

type Key = Vec<Value>;
type Row = (Id, u64, User);

fn row(document: &Versioned<User>) -> Row {
    (document.id(), document.version(), document.value().clone())
}

fn rows(iter: impl Iterator<Item = Versioned<User>>) -> Vec<Row> {
    iter.map(|d| row(&d)).collect()
}

/// An index as the model sees it: its keys for a document, `None` when a key
/// cannot be computed (a NaN float).
struct MIndex {
    name: &'static str,
    unique: bool,
    multi: bool,
    keys: fn(&User) -> Option<Vec<Key>>,
}

fn one(value: Value) -> Option<Vec<Key>> {
    Some(vec![vec![value]])
}

const INDEXES: &[MIndex] = &[
    MIndex {
        name: "email",
        unique: true,
        multi: false,
        keys: |u| one(json!(u.email)),
    },
    MIndex {
        name: "city",
        unique: false,
        multi: false,
        keys: |u| one(json!(u.city)),
    },
    MIndex {
        name: "age",
        unique: false,
        multi: false,
        keys: |u| one(json!(u.age)),
    },
    MIndex {
        name: "nickname",
        unique: false,
        multi: false,
        keys: |u| Some(u.nickname.iter().map(|n| vec![json!(n)]).collect()),
    },
    MIndex {
        name: "tags",
        unique: false,
        multi: true,
        keys: |u| {
            let mut tags: Vec<&String> = u.tags.iter().collect();
            tags.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            tags.dedup();
            Some(tags.into_iter().map(|t| vec![json!(t)]).collect())
        },
    },
    MIndex {
        name: "score",
        unique: false,
        multi: false,
        keys: |u| {
            if u.score.is_nan() {
                None
            } else {
                one(json!(u.score))
            }
        },
    },
    MIndex {
        name: "by_city_age",
        unique: false,
        multi: false,
        keys: |u| Some(vec![vec![json!(u.city), json!(u.age)]]),
    },
    MIndex {
        name: "by_len",
        unique: false,
        multi: false,
        keys: |u| one(json!(u.name.len())),
    },
    MIndex {
        name: "by_trap",
        unique: false,
        multi: false,
        keys: |u| one(json!(u.n % 3)),
    },
];

fn mindex(name: &str) -> &'static MIndex {
    INDEXES
        .iter()
        .find(|i| i.name == name)
        .expect("an index of the model")
}

/// What an operation is expected to do when it fails.
#[derive(Clone, Debug, PartialEq)]
enum Expect {
    NotFound(Id),
    InvalidKey(String),
    Closed,
    VersionConflict(Id, u64, u64),
    UniqueViolation(String, Id),
    /// The call panics (a computed key or a closure), changing nothing.
    Panics,
}

fn classify(error: &Error) -> Expect {
    match error {
        Error::NotFound { id } => Expect::NotFound(*id),
        Error::InvalidKey { index, .. } => Expect::InvalidKey(index.clone()),
        Error::Closed => Expect::Closed,
        Error::VersionConflict {
            id,
            expected,
            actual,
        } => Expect::VersionConflict(*id, *expected, *actual),
        Error::UniqueViolation {
            index, existing, ..
        } => Expect::UniqueViolation(index.clone(), *existing),
        other => panic!("an error the typed model does not expect: {other:?}"),
    }
}

#[derive(Clone, Debug, Default)]
struct Model {
    docs: Vec<(Id, u64, User)>,
    closed: bool,
    deleted: Vec<Id>,
    floor: Option<Id>,
}

impl Model {
    fn open(&self) -> Result<(), Expect> {
        if self.closed {
            Err(Expect::Closed)
        } else {
            Ok(())
        }
    }

    fn position(&self, id: Id) -> Option<usize> {
        self.docs.iter().position(|d| d.0 == id)
    }

    /// Every entry of an index, in key order, ties in id order.
    fn entries(&self, index: &MIndex) -> Vec<(Key, usize)> {
        let mut entries: Vec<(Key, usize)> = self
            .docs
            .iter()
            .enumerate()
            .flat_map(|(at, d)| {
                (index.keys)(&d.2)
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |k| (k, at))
            })
            .collect();
        entries.sort_by(|a, b| cmp_seq(&a.0, &b.0).then(a.1.cmp(&b.1)));
        entries
    }

    /// The documents whose entries `keep` accepts, in key order; a multi-key
    /// index gives each document once, at its first key.
    fn rows_where(&self, name: &str, keep: impl Fn(&[Value]) -> bool) -> Result<Vec<Row>, Expect> {
        self.open()?;
        let index = mindex(name);
        let mut seen = HashSet::new();
        Ok(self
            .entries(index)
            .into_iter()
            .filter(|(key, _)| keep(key))
            .filter(|(_, at)| !index.multi || seen.insert(*at))
            .map(|(_, at)| self.docs[at].clone())
            .collect())
    }

    /// Whether writing `document` (over `id`, if given) fails on its keys: a
    /// panicking computed key or a NaN, in the indexes' order.
    fn key_failure(&self, order: &[&'static MIndex], document: &User) -> Option<Expect> {
        for index in order {
            if index.name == "by_trap" && document.panic_key {
                return Some(Expect::Panics);
            }
            if (index.keys)(document).is_none() {
                return Some(Expect::InvalidKey(index.name.to_owned()));
            }
        }
        None
    }

    fn clash(&self, order: &[&'static MIndex], document: &User, id: Option<Id>) -> Option<Expect> {
        for index in order.iter().filter(|i| i.unique) {
            for key in (index.keys)(document).unwrap_or_default() {
                let holder = self.docs.iter().find(|d| {
                    Some(d.0) != id
                        && (index.keys)(&d.2)
                            .unwrap_or_default()
                            .iter()
                            .any(|k| cmp_seq(k, &key) == Ordering::Equal)
                });
                if let Some(holder) = holder {
                    return Some(Expect::UniqueViolation(index.name.to_owned(), holder.0));
                }
            }
        }
        None
    }
}

// ---------------------------------------------------------------------------
// Operations.
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Sel {
    Live(usize),
    Deleted(usize),
    Nil,
}

#[derive(Clone, Debug)]
enum VPick {
    Current,
    Stale,
    Ahead,
}

#[derive(Clone, Debug)]
enum Mutation {
    Increment,
    City(String),
    Score(f64),
    Email(String),
    Replace(User),
    /// The result's computed key panics.
    PanicKey,
    /// The closure itself panics.
    PanicClosure,
}

impl Mutation {
    fn apply(&self, current: &User) -> User {
        let mut next = current.clone();
        match self {
            Mutation::Increment => next.n += 1,
            Mutation::City(city) => next.city.clone_from(city),
            Mutation::Score(score) => next.score = *score,
            Mutation::Email(email) => next.email.clone_from(email),
            Mutation::Replace(user) => next = user.clone(),
            Mutation::PanicKey => next.panic_key = true,
            Mutation::PanicClosure => panic!("the update_with closure panics"),
        }
        next
    }
}

#[derive(Clone, Debug)]
enum Query {
    City(String),
    Age(u32),
    AgeRange(Bound<u32>, Bound<u32>),
    ScoreRange(Bound<f64>, Bound<f64>),
    CityAge(String, u32),
    CityAgeRange(Bound<(String, u32)>, Bound<(String, u32)>),
    CityPrefix(String),
    Tag(String),
    TagRange(Bound<String>, Bound<String>),
    Nickname(String),
    Len(usize),
    Trap(u8),
    Email(String),
    ByIndex(usize),
}

#[derive(Clone, Debug)]
enum Move {
    Next,
    Prev,
    Advance(isize),
    Seek(usize),
    Reset,
}

#[derive(Clone, Debug)]
enum Consume {
    All,
    Take(usize),
    RevTake(usize),
    Nth(usize),
    Cursor(Vec<Move>),
}

#[derive(Clone, Debug)]
enum Op {
    Insert(User),
    Get(Sel),
    Update(Sel, User),
    UpdateIf(Sel, VPick, User),
    UpdateWith(Sel, Mutation),
    Delete(Sel),
    DeleteIf(Sel, VPick),
    Query(Query, bool, Consume),
    Scan(Consume),
    Hold,
    CheckHeld,
    Clone(User, bool),
    CloneFiltered(u8, bool),
    CloneFilteredPanics,
    Close,
}

struct Held {
    snapshot: Snapshot<User>,
    scan: Iter<User>,
    cursor: Cursor<User>,
    by_city: Iter<User>,
    model: Model,
}

struct Harness {
    users: Collection<User>,
    model: Model,
    /// The indexes in the order the collection has them (its error order).
    order: Vec<&'static MIndex>,
    held: Vec<Held>,
}

/// Everything observable about a collection.
fn dump(users: &Collection<User>) -> (Vec<Row>, Vec<Vec<(Id, u64)>>) {
    let docs = rows(users.iter().expect("iter"));
    let indexes = users
        .indexes()
        .expect("indexes")
        .iter()
        .map(|info| {
            let snapshot = users.snapshot().expect("snapshot");
            index_ids(&snapshot, info.name())
        })
        .collect();
    (docs, indexes)
}

fn index_ids(snapshot: &Snapshot<User>, name: &str) -> Vec<(Id, u64)> {
    by_index_named(snapshot, name)
        .expect("by_index")
        .map(|d| (d.id(), d.version()))
        .collect()
}

/// `by_index` on the index called `name`, through its handle.
fn by_index_named(snapshot: &Snapshot<User>, name: &str) -> Result<Iter<User>, Error> {
    match name {
        "email" => snapshot.by_index(User::email),
        "city" => snapshot.by_index(User::city),
        "age" => snapshot.by_index(User::age),
        "nickname" => snapshot.by_index(User::nickname),
        "tags" => snapshot.by_index(User::tags),
        "score" => snapshot.by_index(User::score),
        "by_city_age" => snapshot.by_index(User::by_city_age),
        "by_len" => snapshot.by_index(User::by_len),
        _ => snapshot.by_index(User::by_trap),
    }
}

fn run_query(snapshot: &Snapshot<User>, query: &Query) -> Result<Iter<User>, Error> {
    match query {
        Query::City(city) => snapshot.lookup(User::city, city.as_str()),
        Query::Age(age) => snapshot.lookup(User::age, *age),
        Query::AgeRange(start, end) => snapshot.range(User::age, (*start, *end)),
        Query::ScoreRange(start, end) => snapshot.range(User::score, (*start, *end)),
        Query::CityAge(city, age) => snapshot.lookup(User::by_city_age, (city.as_str(), *age)),
        Query::CityAgeRange(start, end) => {
            fn view(b: &Bound<(String, u32)>) -> Bound<(&str, u32)> {
                b.as_ref().map(|(c, a)| (c.as_str(), *a))
            }
            snapshot.range(User::by_city_age, (view(start), view(end)))
        }
        Query::CityPrefix(city) => snapshot.prefix(User::by_city_age, (city.as_str(),)),
        Query::Tag(tag) => snapshot.lookup(User::tags, tag),
        Query::TagRange(start, end) => snapshot.range(User::tags, (start.clone(), end.clone())),
        Query::Nickname(nick) => snapshot.lookup(User::nickname, nick.as_str()),
        Query::Len(len) => snapshot.lookup(User::by_len, *len),
        Query::Trap(trap) => snapshot.lookup(User::by_trap, *trap),
        Query::Email(email) => snapshot.lookup(User::email, email.as_str()),
        Query::ByIndex(i) => by_index_named(snapshot, INDEXES[i % INDEXES.len()].name),
    }
}

fn in_bound<T>(
    value: &Value,
    start: &Bound<T>,
    end: &Bound<T>,
    to_value: impl Fn(&T) -> Value,
) -> bool {
    let after = match start {
        Bound::Included(s) => cmp_value(value, &to_value(s)) != Ordering::Less,
        Bound::Excluded(s) => cmp_value(value, &to_value(s)) == Ordering::Greater,
        Bound::Unbounded => true,
    };
    let before = match end {
        Bound::Included(e) => cmp_value(value, &to_value(e)) != Ordering::Greater,
        Bound::Excluded(e) => cmp_value(value, &to_value(e)) == Ordering::Less,
        Bound::Unbounded => true,
    };
    after && before
}

fn expected_query(model: &Model, query: &Query) -> Result<Vec<Row>, Expect> {
    let is = |v: Value| move |k: &[Value]| cmp_seq(k, std::slice::from_ref(&v)) == Ordering::Equal;
    match query {
        Query::City(city) => model.rows_where("city", is(json!(city))),
        Query::Age(age) => model.rows_where("age", is(json!(age))),
        Query::AgeRange(start, end) => {
            model.rows_where("age", |k| in_bound(&k[0], start, end, |a| json!(a)))
        }
        Query::ScoreRange(start, end) => {
            let nan =
                |b: &Bound<f64>| matches!(b, Bound::Included(f) | Bound::Excluded(f) if f.is_nan());
            if nan(start) || nan(end) {
                model.open()?;
                return Err(Expect::InvalidKey("score".into()));
            }
            // Compared as floats: infinities have no JSON form, and every stored
            // score is an exact f64.
            let score = |k: &[Value]| k[0].as_f64().unwrap_or(f64::NAN);
            model.rows_where("score", |k| {
                let after = match start {
                    Bound::Included(s) => score(k) >= *s,
                    Bound::Excluded(s) => score(k) > *s,
                    Bound::Unbounded => true,
                };
                let before = match end {
                    Bound::Included(e) => score(k) <= *e,
                    Bound::Excluded(e) => score(k) < *e,
                    Bound::Unbounded => true,
                };
                after && before
            })
        }
        Query::CityAge(city, age) => model.rows_where("by_city_age", |k| {
            cmp_seq(k, &[json!(city), json!(age)]) == Ordering::Equal
        }),
        Query::CityAgeRange(start, end) => model.rows_where("by_city_age", |k| {
            let key = json!(k);
            in_bound(&key, start, end, |(c, a)| json!([c, a]))
        }),
        Query::CityPrefix(city) => model.rows_where("by_city_age", |k| {
            cmp_value(&k[0], &json!(city)) == Ordering::Equal
        }),
        Query::Tag(tag) => model.rows_where("tags", is(json!(tag))),
        Query::TagRange(start, end) => {
            model.rows_where("tags", |k| in_bound(&k[0], start, end, |t| json!(t)))
        }
        Query::Nickname(nick) => model.rows_where("nickname", is(json!(nick))),
        Query::Len(len) => model.rows_where("by_len", is(json!(len))),
        Query::Trap(trap) => model.rows_where("by_trap", is(json!(trap))),
        Query::Email(email) => model.rows_where("email", is(json!(email))),
        Query::ByIndex(i) => model.rows_where(INDEXES[i % INDEXES.len()].name, |_| true),
    }
}

fn consume(what: &str, mut iter: Iter<User>, expected: &[Row], how: &Consume) {
    assert_eq!(iter.len(), expected.len(), "{what}: len()");
    match how {
        Consume::All => assert_eq!(rows(iter), expected, "{what}"),
        Consume::Take(k) => assert_eq!(
            rows(iter.take(*k)),
            expected[..(*k).min(expected.len())],
            "{what}"
        ),
        Consume::RevTake(k) => {
            let want: Vec<Row> = expected.iter().rev().take(*k).cloned().collect();
            assert_eq!(rows(iter.rev().take(*k)), want, "{what}: rev().take({k})");
        }
        Consume::Nth(k) => {
            assert_eq!(
                iter.nth(*k).map(|d| row(&d)),
                expected.get(*k).cloned(),
                "{what}: nth"
            );
            assert_eq!(
                rows(iter),
                expected.iter().skip(k + 1).cloned().collect::<Vec<_>>()
            );
        }
        Consume::Cursor(moves) => {
            let mut cursor = iter.into_cursor();
            let len = expected.len();
            let mut at = 0usize;
            for step in moves {
                match step {
                    Move::Next => {
                        let want = expected.get(at).cloned();
                        at = (at + 1).min(len);
                        assert_eq!(cursor.next().map(|d| row(&d)), want, "{what}: next");
                    }
                    Move::Prev => {
                        let want = at.checked_sub(1).map(|p| expected[p].clone());
                        at = at.saturating_sub(1);
                        assert_eq!(cursor.prev().map(|d| row(&d)), want, "{what}: prev");
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
                }
                assert_eq!(cursor.position(), at, "{what}: position");
            }
            assert_eq!(
                rows(cursor.clone()),
                expected[at..],
                "{what}: a cloned cursor's rest"
            );
            assert_eq!(rows(cursor), expected[at..], "{what}: the cursor's rest");
        }
    }
}

/// The messages of the panics these tests cause on purpose.
const DELIBERATE: &[&str] = &[
    "the computed key panics",
    "the update_with closure panics",
    "the predicate panics",
    "the closure panics",
    TX_PANIC,
];

/// Keeps the deliberate panics quiet (no message, no backtrace); every other
/// panic is reported as usual.
fn quiet_deliberate_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or_default();
            if !DELIBERATE.contains(&message) {
                report(info);
            }
        }));
    });
}

/// Runs a write expected to fail by panicking, and checks it changed nothing.
fn expect_panic<T>(users: &Collection<User>, what: &str, write: impl FnOnce() -> T) {
    let before = dump(users);
    let outcome = catch_unwind(AssertUnwindSafe(write));
    assert!(outcome.is_err(), "{what}: expected a panic");
    assert_eq!(
        dump(users),
        before,
        "{what}: a panic changed the collection"
    );
}

fn check_rejected<T: std::fmt::Debug>(
    what: &str,
    actual: Result<T, Rejected<User>>,
    expected: &Result<(), Expect>,
    document: &User,
) -> Option<T> {
    match (actual, expected) {
        (Ok(value), Ok(())) => Some(value),
        (Err(rejected), Err(e)) => {
            assert_eq!(&classify(rejected.error()), e, "{what}: wrong error");
            assert_eq!(
                rejected.document(),
                document,
                "{what}: the document is handed back"
            );
            None
        }
        (actual, expected) => panic!("{what}: got {actual:?}, the model expected {expected:?}"),
    }
}

impl Harness {
    fn new() -> Self {
        let users = Collection::<User>::new();
        let order = users
            .indexes()
            .expect("indexes")
            .iter()
            .map(|info| mindex(info.name()))
            .collect();
        Harness {
            users,
            model: Model::default(),
            order,
            held: Vec::new(),
        }
    }

    fn pick(&self, sel: &Sel) -> Id {
        match sel {
            Sel::Live(i) if !self.model.docs.is_empty() => {
                self.model.docs[i % self.model.docs.len()].0
            }
            Sel::Deleted(i) if !self.model.deleted.is_empty() => {
                self.model.deleted[i % self.model.deleted.len()]
            }
            _ => Id::nil(),
        }
    }

    fn version(&self, id: Id, pick: &VPick) -> u64 {
        let current = self
            .model
            .position(id)
            .map_or(1, |at| self.model.docs[at].1);
        match pick {
            VPick::Current => current,
            VPick::Stale => current.saturating_sub(1),
            VPick::Ahead => current + 1,
        }
    }

    /// Expected outcome of writing `document` over `id` (an insert when `None`):
    /// closed, then not found, then the new keys, then the version, then unique
    /// clashes.
    fn expect_write(
        &self,
        id: Option<Id>,
        expected: Option<u64>,
        document: &User,
    ) -> Result<(), Expect> {
        self.model.open()?;
        let at = match id {
            Some(id) => Some(self.model.position(id).ok_or(Expect::NotFound(id))?),
            None => None,
        };
        if let Some(failure) = self.model.key_failure(&self.order, document) {
            return Err(failure);
        }
        if let (Some(at), Some(expected)) = (at, expected) {
            let (id, version, _) = &self.model.docs[at];
            if *version != expected {
                return Err(Expect::VersionConflict(*id, expected, *version));
            }
        }
        match self.model.clash(&self.order, document, id) {
            Some(clash) => Err(clash),
            None => Ok(()),
        }
    }

    fn commit(&mut self, id: Id, version: u64, document: User) {
        if let Some(at) = self.model.position(id) {
            self.model.docs[at] = (id, version, document);
        }
    }

    fn insert(&mut self, user: &User) {
        let expected = self.expect_write(None, None, user);
        if expected == Err(Expect::Panics) {
            expect_panic(&self.users, "insert", || self.users.insert(user.clone()));
            return;
        }
        if let Some(id) = check_rejected("insert", self.users.insert(user.clone()), &expected, user)
        {
            assert!(Some(id) > self.model.floor, "ids increase");
            self.model.floor = Some(id);
            self.model.docs.push((id, 1, user.clone()));
        }
    }

    fn run(&mut self, op: &Op) {
        match op {
            Op::Insert(user) => self.insert(user),
            Op::Get(sel) => {
                let id = self.pick(sel);
                let expected = self.model.open().and_then(|()| {
                    let at = self.model.position(id).ok_or(Expect::NotFound(id))?;
                    Ok(self.model.docs[at].clone())
                });
                let actual = self
                    .users
                    .get(id)
                    .map(|d| row(&d))
                    .map_err(|e| classify(&e));
                assert_eq!(actual, expected, "get");
            }
            Op::Update(sel, user) | Op::UpdateIf(sel, _, user) => {
                let id = self.pick(sel);
                let version = match op {
                    Op::UpdateIf(_, pick, _) => Some(self.version(id, pick)),
                    _ => None,
                };
                let expected = self.expect_write(Some(id), version, user);
                let write = || match version {
                    Some(version) => self.users.update_if(id, version, user.clone()),
                    None => self.users.update(id, user.clone()),
                };
                if expected == Err(Expect::Panics) {
                    expect_panic(&self.users, "update", write);
                    return;
                }
                if let Some(new) = check_rejected("update", write(), &expected, user) {
                    let at = self.model.position(id).expect("live");
                    assert_eq!(new, self.model.docs[at].1 + 1, "update: the new version");
                    self.commit(id, new, user.clone());
                }
            }
            Op::UpdateWith(sel, mutation) => {
                let id = self.pick(sel);
                let current = self
                    .model
                    .position(id)
                    .map(|at| self.model.docs[at].2.clone());
                let expected = match (&current, mutation) {
                    (_, _) if self.model.closed => Err(Expect::Closed),
                    (None, _) => Err(Expect::NotFound(id)),
                    (Some(_), Mutation::PanicClosure) => Err(Expect::Panics),
                    (Some(current), mutation) => {
                        let next = mutation.apply(current);
                        self.expect_write(Some(id), None, &next).map(|()| next)
                    }
                };
                let call = || self.users.update_with(id, |u| mutation.apply(u));
                if expected.as_ref().err() == Some(&Expect::Panics) {
                    expect_panic(&self.users, "update_with", call);
                    return;
                }
                let actual = call();
                match (actual, expected) {
                    (Ok(stored), Ok(next)) => {
                        let at = self.model.position(id).expect("live");
                        let version = self.model.docs[at].1 + 1;
                        assert_eq!(row(&stored), (id, version, next.clone()), "update_with");
                        self.commit(id, version, next);
                    }
                    (Err(a), Err(e)) => assert_eq!(classify(&a), e, "update_with: wrong error"),
                    (a, e) => panic!("update_with: got {a:?}, the model expected {e:?}"),
                }
            }
            Op::Delete(sel) | Op::DeleteIf(sel, _) => {
                let id = self.pick(sel);
                let version = match op {
                    Op::DeleteIf(_, pick) => Some(self.version(id, pick)),
                    _ => None,
                };
                let expected = self.model.open().and_then(|()| {
                    let at = self.model.position(id).ok_or(Expect::NotFound(id))?;
                    let d = &self.model.docs[at];
                    match version {
                        Some(v) if v != d.1 => Err(Expect::VersionConflict(id, v, d.1)),
                        _ => Ok(d.clone()),
                    }
                });
                let actual = match version {
                    Some(v) => self.users.delete_if(id, v),
                    None => self.users.delete(id),
                };
                let actual = actual.map(|d| row(&d)).map_err(|e| classify(&e));
                assert_eq!(actual, expected, "delete");
                if actual.is_ok() {
                    let at = self.model.position(id).expect("live");
                    self.model.docs.remove(at);
                    self.model.deleted.push(id);
                }
            }
            Op::Query(query, on_collection, how) => {
                let expected = expected_query(&self.model, query);
                let actual = if *on_collection {
                    self.run_on_collection(query)
                } else {
                    self.users
                        .snapshot()
                        .and_then(|snapshot| run_query(&snapshot, query))
                };
                let what = format!("{query:?}");
                match (actual, expected) {
                    (Ok(iter), Ok(expected)) => consume(&what, iter, &expected, how),
                    (Err(a), Err(e)) => assert_eq!(classify(&a), e, "{what}: wrong error"),
                    (a, e) => panic!("{what}: got {a:?}, the model expected {e:?}"),
                }
                if let (Query::Email(email), false) = (query, self.model.closed) {
                    let got = self
                        .users
                        .get_unique(User::email, email.as_str())
                        .expect("get_unique");
                    let want = expected_query(&self.model, query).expect("open");
                    assert_eq!(got.map(|d| row(&d)), want.into_iter().next(), "get_unique");
                }
            }
            Op::Scan(how) => match (self.users.iter(), self.model.open()) {
                (Ok(iter), Ok(())) => consume("iter", iter, &self.model.docs, how),
                (Err(a), Err(e)) => assert_eq!(classify(&a), e),
                (a, e) => panic!("iter: got {a:?}, expected {e:?}"),
            },
            Op::Hold => {
                if let (Ok(snapshot), Ok(scan), Ok(cursor), Ok(by_city)) = (
                    self.users.snapshot(),
                    self.users.iter(),
                    self.users.cursor(),
                    self.users.by_index(User::city),
                ) {
                    self.held.push(Held {
                        snapshot,
                        scan,
                        cursor,
                        by_city,
                        model: self.model.clone(),
                    });
                } else {
                    assert!(self.model.closed);
                }
            }
            Op::CheckHeld => self.check_held(),
            Op::Clone(extra, switch) => {
                let copy = self.users.clone();
                if self.model.closed {
                    assert!(copy.is_closed());
                    return;
                }
                let mut other = Harness {
                    users: copy,
                    model: self.model.clone(),
                    order: self.order.clone(),
                    held: Vec::new(),
                };
                other.model.floor = self.model.docs.last().map(|d| d.0);
                other.check_all("a clone");
                other.insert(extra);
                other.check_all("a clone after an insert");
                self.check_all("the original after writes to its clone");
                if *switch {
                    *self = other;
                }
            }
            Op::CloneFiltered(bit, switch) => {
                let keep = |id: Id| (id.to_u128() >> (bit % 128)) & 1 == 1;
                let actual = self.users.clone_filtered(|d| keep(d.id()));
                if self.model.closed {
                    assert_eq!(actual.err(), Some(Error::Closed));
                    return;
                }
                let mut model = self.model.clone();
                model.docs.retain(|d| keep(d.0));
                model.deleted.clear();
                model.floor = self.model.docs.last().map(|d| d.0);
                let other = Harness {
                    users: actual.expect("clone_filtered"),
                    model,
                    order: self.order.clone(),
                    held: Vec::new(),
                };
                other.check_all("a filtered clone");
                if *switch {
                    *self = other;
                }
            }
            Op::CloneFilteredPanics => {
                // With no documents the predicate never runs.
                if self.model.closed || self.model.docs.is_empty() {
                    return;
                }
                expect_panic(&self.users, "clone_filtered", || {
                    self.users.clone_filtered(|d| {
                        assert!(d.version() == 0, "the predicate panics");
                        true
                    })
                });
            }
            Op::Close => {
                self.users.close();
                self.users.close();
                assert!(self.users.is_closed());
                self.model.closed = true;
            }
        }
    }

    fn run_on_collection(&self, query: &Query) -> Result<Iter<User>, Error> {
        let users = &self.users;
        match query {
            Query::City(city) => users.lookup(User::city, city),
            Query::Age(age) => users.lookup(User::age, age),
            Query::AgeRange(start, end) => users.range(User::age, (*start, *end)),
            Query::CityAge(city, age) => users.lookup(User::by_city_age, (city, age)),
            Query::CityPrefix(city) => users.prefix(User::by_city_age, (city,)),
            Query::Tag(tag) => users.lookup(User::tags, tag.as_str()),
            Query::Len(len) => users.lookup(User::by_len, len),
            _ => users
                .snapshot()
                .and_then(|snapshot| run_query(&snapshot, query)),
        }
    }

    fn check_held(&self) {
        for held in &self.held {
            assert_eq!(rows(held.scan.clone()), held.model.docs, "a held iterator");
            assert_eq!(rows(held.cursor.clone()), held.model.docs, "a held cursor");
            assert_eq!(
                rows(held.snapshot.iter()),
                held.model.docs,
                "a held snapshot"
            );
            let want = held.model.rows_where("city", |_| true).expect("open then");
            assert_eq!(rows(held.by_city.clone()), want, "a held index scan");
        }
    }

    fn check_all(&self, what: &str) {
        if self.model.closed {
            assert_eq!(self.users.len().err(), Some(Error::Closed), "{what}");
            assert_eq!(self.users.verify().err(), Some(Error::Closed), "{what}");
            return;
        }
        assert_eq!(self.users.len(), Ok(self.model.docs.len()), "{what}: len()");
        assert_eq!(
            rows(self.users.iter().expect("iter")),
            self.model.docs,
            "{what}: documents"
        );
        let snapshot = self.users.snapshot().expect("snapshot");
        for index in &self.order {
            let want: Vec<(Id, u64)> = self
                .model
                .rows_where(index.name, |_| true)
                .expect("open")
                .into_iter()
                .map(|r| (r.0, r.1))
                .collect();
            assert_eq!(
                index_ids(&snapshot, index.name),
                want,
                "{what}: index {}",
                index.name
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Generators.
// ---------------------------------------------------------------------------

fn user() -> BoxedStrategy<User> {
    (
        (0u8..30).prop_map(|e| format!("e{e}")),
        select(vec!["Paris", "Rome", "Oslo"]).prop_map(str::to_owned),
        0u32..5,
        select(vec![None, Some("x"), Some("y")]).prop_map(|n| n.map(str::to_owned)),
        vec(select(vec!["a", "b", "c"]).prop_map(str::to_owned), 0..4),
        prop_oneof![
            8 => select(vec![0.0, -0.0, 1.5, 2.0, -1.0, 1e300, 5e-324, 3.0]),
            1 => Just(f64::NAN),
        ],
        select(vec!["", "a", "bb", "ccc"]).prop_map(str::to_owned),
        0u64..5,
        prop::bool::weighted(0.05),
    )
        .prop_map(
            |(email, city, age, nickname, tags, score, name, n, panic_key)| User {
                email,
                city,
                age,
                nickname,
                tags,
                // A document never has both a NaN and a panicking key, so which
                // index fails first does not depend on the indexes' order.
                score: if panic_key && score.is_nan() {
                    1.0
                } else {
                    score
                },
                name,
                n,
                panic_key,
            },
        )
        .boxed()
}

fn sel() -> BoxedStrategy<Sel> {
    prop_oneof![
        8 => any::<usize>().prop_map(Sel::Live),
        2 => any::<usize>().prop_map(Sel::Deleted),
        1 => Just(Sel::Nil),
    ]
    .boxed()
}

fn vpick() -> BoxedStrategy<VPick> {
    prop_oneof![3 => Just(VPick::Current), 1 => Just(VPick::Stale), 1 => Just(VPick::Ahead)].boxed()
}

fn mutation() -> BoxedStrategy<Mutation> {
    prop_oneof![
        4 => Just(Mutation::Increment),
        2 => select(vec!["Paris", "Rome", "Lima"]).prop_map(|c| Mutation::City(c.to_owned())),
        2 => select(vec![0.5, -0.0, f64::NAN, 2.0]).prop_map(Mutation::Score),
        2 => (0u8..30).prop_map(|e| Mutation::Email(format!("e{e}"))),
        2 => user().prop_map(Mutation::Replace),
        1 => Just(Mutation::PanicKey),
        1 => Just(Mutation::PanicClosure),
    ]
    .boxed()
}

fn bound<T: Clone + std::fmt::Debug + 'static>(
    values: BoxedStrategy<T>,
) -> BoxedStrategy<Bound<T>> {
    prop_oneof![
        2 => values.clone().prop_map(Bound::Included),
        2 => values.prop_map(Bound::Excluded),
        1 => Just(Bound::Unbounded),
    ]
    .boxed()
}

fn query() -> BoxedStrategy<Query> {
    let city = || {
        select(vec!["Paris", "Rome", "Oslo", "Lima", ""])
            .prop_map(str::to_owned)
            .boxed()
    };
    let age = || (0u32..6).boxed();
    let score = || {
        select(vec![
            -1.0,
            -0.0,
            0.0,
            1.5,
            2.0,
            1e300,
            f64::NAN,
            f64::INFINITY,
        ])
        .boxed()
    };
    let tag = || {
        select(vec!["a", "b", "c", "d", ""])
            .prop_map(str::to_owned)
            .boxed()
    };
    prop_oneof![
        city().prop_map(Query::City),
        age().prop_map(Query::Age),
        (bound(age()), bound(age())).prop_map(|(s, e)| Query::AgeRange(s, e)),
        (bound(score()), bound(score())).prop_map(|(s, e)| Query::ScoreRange(s, e)),
        (city(), age()).prop_map(|(c, a)| Query::CityAge(c, a)),
        (
            bound((city(), age()).boxed()),
            bound((city(), age()).boxed())
        )
            .prop_map(|(s, e)| Query::CityAgeRange(s, e)),
        city().prop_map(Query::CityPrefix),
        tag().prop_map(Query::Tag),
        (bound(tag()), bound(tag())).prop_map(|(s, e)| Query::TagRange(s, e)),
        select(vec!["x", "y", "z"]).prop_map(|n| Query::Nickname(n.to_owned())),
        (0usize..5).prop_map(Query::Len),
        (0u8..4).prop_map(Query::Trap),
        (0u8..31).prop_map(|e| Query::Email(format!("e{e}"))),
        (0usize..INDEXES.len()).prop_map(Query::ByIndex),
    ]
    .boxed()
}

fn consume_how() -> BoxedStrategy<Consume> {
    let moves = vec(
        prop_oneof![
            3 => Just(Move::Next),
            2 => Just(Move::Prev),
            2 => (-5isize..6).prop_map(Move::Advance),
            1 => Just(Move::Advance(isize::MIN)),
            1 => prop_oneof![0usize..8, Just(usize::MAX)].prop_map(Move::Seek),
            1 => Just(Move::Reset),
        ],
        0..10,
    );
    prop_oneof![
        3 => Just(Consume::All),
        1 => (0usize..5).prop_map(Consume::Take),
        1 => (0usize..5).prop_map(Consume::RevTake),
        1 => (0usize..6).prop_map(Consume::Nth),
        2 => moves.prop_map(Consume::Cursor),
    ]
    .boxed()
}

fn op() -> BoxedStrategy<Op> {
    prop_oneof![
        40 => user().prop_map(Op::Insert),
        10 => sel().prop_map(Op::Get),
        12 => (sel(), user()).prop_map(|(s, u)| Op::Update(s, u)),
        12 => (sel(), vpick(), user()).prop_map(|(s, v, u)| Op::UpdateIf(s, v, u)),
        16 => (sel(), mutation()).prop_map(|(s, m)| Op::UpdateWith(s, m)),
        8 => sel().prop_map(Op::Delete),
        6 => (sel(), vpick()).prop_map(|(s, v)| Op::DeleteIf(s, v)),
        40 => (query(), any::<bool>(), consume_how()).prop_map(|(q, c, h)| Op::Query(q, c, h)),
        6 => consume_how().prop_map(Op::Scan),
        3 => Just(Op::Hold),
        3 => Just(Op::CheckHeld),
        2 => (user(), any::<bool>()).prop_map(|(u, s)| Op::Clone(u, s)),
        2 => (any::<u8>(), any::<bool>()).prop_map(|(b, s)| Op::CloneFiltered(b, s)),
        2 => Just(Op::CloneFilteredPanics),
        1 => Just(Op::Close),
    ]
    .boxed()
}

fn config() -> ProptestConfig {
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() {
        ProptestConfig::default().cases
    } else {
        400
    };
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/proptest-regressions/typed_model.txt"
        )))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// Random sequences of every typed operation, against the model.
    #[test]
    fn typed_sequences_match_the_model(
        documents in vec(user(), 0..20),
        ops in vec(op(), 1..80),
    ) {
        quiet_deliberate_panics();
        let mut harness = Harness::new();
        let all = documents.into_iter().map(Op::Insert).chain(ops);
        for (step, op) in all.enumerate() {
            harness.run(&op);
            harness.check_all(&format!("after step {step} ({op:?})"));
        }
        harness.check_held();
        if !harness.model.closed {
            prop_assert_eq!(harness.users.verify(), Ok(Vec::new()));
        }
    }
}

// ---------------------------------------------------------------------------
// Transactions across a database: two typed collections and a schemaless
// store, checked against a model of all three.
// ---------------------------------------------------------------------------

/// The second typed collection: orders, by unique number and by user email.
#[derive(Indexed, Clone, Debug, PartialEq)]
struct Order {
    #[index(unique)]
    number: u32,
    #[index]
    email: String,
    quantity: u32,
}

type Rows<T> = Vec<(Id, u64, T)>;

/// The database as the model holds it: users (with the model above), orders
/// and a schemaless log whose documents have a "kind".
#[derive(Clone, Debug, Default)]
struct DbModel {
    users: Model,
    orders: Rows<Order>,
    log: Rows<Value>,
}

/// One step inside a transaction on the database.
#[derive(Clone, Debug)]
enum DbStep {
    InsertUser(User),
    UpdateUser(Sel, Option<VPick>, User),
    DeleteUser(Sel),
    GetUser(Sel),
    QueryUsers(Query),
    InsertOrder(Order),
    /// A new quantity for an order.
    UpdateOrder(Sel, u32),
    DeleteOrder(Sel),
    OrdersOf(String),
    OrderNumbered(u32),
    /// A log entry of this kind.
    Log(u8),
    LogOfKind(u8),
    DeleteLog(Sel),
    ScanLog,
}

/// How a transaction on the database ends.
#[derive(Clone, Debug)]
enum DbEnd {
    Commit,
    CommitExplicit,
    Fail,
    Panic,
    Drop,
}

/// The messages of the panics the database transactions cause on purpose.
const TX_PANIC: &str = "the transaction's body panics";

/// Why the test's transaction body failed.
#[derive(Debug)]
enum DbFail {
    Store(Error),
    GaveUp,
}

impl From<Error> for DbFail {
    fn from(error: Error) -> Self {
        DbFail::Store(error)
    }
}

fn pick_in<T>(rows: &Rows<T>, deleted: &[Id], sel: &Sel) -> Id {
    match sel {
        Sel::Live(i) if !rows.is_empty() => rows[i % rows.len()].0,
        Sel::Deleted(i) if !deleted.is_empty() => deleted[i % deleted.len()],
        _ => Id::nil(),
    }
}

/// The database as a transaction sees it.
struct DbScratch {
    db: DbModel,
    order: Vec<&'static MIndex>,
    /// Every id deleted, in any store, for `Sel::Deleted`.
    deleted: Vec<Id>,
    /// Documents whose version the transaction raised (once each).
    raised: HashSet<Id>,
    /// User ids handed out, committed or not.
    handed: Vec<Id>,
}

/// Raises a written document's version, once per transaction.
fn raise<T>(raised: &mut HashSet<Id>, row: &mut (Id, u64, T)) -> u64 {
    if raised.insert(row.0) {
        row.1 += 1;
    }
    row.1
}

/// Removes document `id` from `rows` as the transaction deletes it.
fn delete_row<T: Clone + PartialEq + std::fmt::Debug>(
    what: &str,
    rows: &mut Rows<T>,
    deleted: &mut Vec<Id>,
    id: Id,
    actual: Result<Versioned<T>, Error>,
) {
    let expected = rows
        .iter()
        .position(|r| r.0 == id)
        .ok_or(Expect::NotFound(id));
    match (actual, expected) {
        (Ok(actual), Ok(at)) => {
            let row = rows.remove(at);
            assert_eq!(
                (actual.id(), actual.version(), actual.value()),
                (row.0, row.1, &row.2),
                "{what}"
            );
            deleted.push(id);
        }
        (Err(a), Err(e)) => assert_eq!(classify(&a), e, "{what}: wrong error"),
        (a, e) => panic!("{what}: got {a:?}, the model expected {e:?}"),
    }
}

fn tx_by_index(users: &TxCollection<'_, User>, name: &str) -> Result<TxIter<User>, Error> {
    match name {
        "email" => users.by_index(User::email),
        "city" => users.by_index(User::city),
        "age" => users.by_index(User::age),
        "nickname" => users.by_index(User::nickname),
        "tags" => users.by_index(User::tags),
        "score" => users.by_index(User::score),
        "by_city_age" => users.by_index(User::by_city_age),
        "by_len" => users.by_index(User::by_len),
        _ => users.by_index(User::by_trap),
    }
}

fn tx_query(users: &TxCollection<'_, User>, query: &Query) -> Result<TxIter<User>, Error> {
    match query {
        Query::City(city) => users.lookup(User::city, city.as_str()),
        Query::Age(age) => users.lookup(User::age, *age),
        Query::AgeRange(start, end) => users.range(User::age, (*start, *end)),
        Query::ScoreRange(start, end) => users.range(User::score, (*start, *end)),
        Query::CityAge(city, age) => users.lookup(User::by_city_age, (city.as_str(), *age)),
        Query::CityAgeRange(start, end) => {
            fn view(b: &Bound<(String, u32)>) -> Bound<(&str, u32)> {
                b.as_ref().map(|(c, a)| (c.as_str(), *a))
            }
            users.range(User::by_city_age, (view(start), view(end)))
        }
        Query::CityPrefix(city) => users.prefix(User::by_city_age, (city.as_str(),)),
        Query::Tag(tag) => users.lookup(User::tags, tag),
        Query::TagRange(start, end) => users.range(User::tags, (start.clone(), end.clone())),
        Query::Nickname(nick) => users.lookup(User::nickname, nick.as_str()),
        Query::Len(len) => users.lookup(User::by_len, *len),
        Query::Trap(trap) => users.lookup(User::by_trap, *trap),
        Query::Email(email) => users.lookup(User::email, email.as_str()),
        Query::ByIndex(i) => tx_by_index(users, INDEXES[i % INDEXES.len()].name),
    }
}

/// The database's three stores.
struct Stores {
    db: Db,
    users: Arc<Collection<User>>,
    orders: Arc<Collection<Order>>,
    log: Arc<Store>,
}

impl DbScratch {
    /// Runs `step` in `tx` and in the model. A step whose computed key panics
    /// panics here, as it does in the transaction.
    fn run(&mut self, stores: &Stores, tx: &Transaction<'_>, step: &DbStep) {
        let users = tx.collection(&stores.users);
        let orders = tx.collection(&stores.orders);
        let log = tx.store(&stores.log);
        match step {
            DbStep::InsertUser(user) => {
                let failure = self.db.users.key_failure(&self.order, user);
                let actual = users.insert(user.clone());
                match (actual, failure) {
                    (Ok(id), None) => {
                        assert!(Some(id) > self.db.users.floor, "ids increase");
                        self.db.users.floor = Some(id);
                        self.handed.push(id);
                        self.raised.insert(id);
                        self.db.users.docs.push((id, 1, user.clone()));
                    }
                    (Err(a), Some(e)) => assert_eq!(classify(&a), e, "tx insert: wrong error"),
                    (a, e) => panic!("tx insert: got {a:?}, the model expected {e:?}"),
                }
            }
            DbStep::UpdateUser(sel, pick, user) => {
                let id = self.pick_user(sel);
                let at = self.db.users.position(id);
                let current = at.map(|at| self.db.users.docs[at].1);
                let version = pick.as_ref().map(|pick| {
                    let current = current.unwrap_or(1);
                    match pick {
                        VPick::Current => current,
                        VPick::Stale => current.saturating_sub(1),
                        VPick::Ahead => current + 1,
                    }
                });
                // Not found, then the version, then the keys.
                let expected = match (at, current, version) {
                    (None, _, _) => Err(Expect::NotFound(id)),
                    (_, Some(current), Some(v)) if v != current => {
                        Err(Expect::VersionConflict(id, v, current))
                    }
                    _ => self
                        .db
                        .users
                        .key_failure(&self.order, user)
                        .map_or(Ok(()), Err),
                };
                let actual = match version {
                    Some(v) => users.update_if(id, v, user.clone()),
                    None => users.update(id, user.clone()),
                };
                match (actual, expected) {
                    (Ok(new), Ok(())) => {
                        let row = &mut self.db.users.docs[at.expect("live")];
                        assert_eq!(new, raise(&mut self.raised, row), "tx update: version");
                        row.2 = user.clone();
                    }
                    (Err(a), Err(e)) => assert_eq!(classify(&a), e, "tx update: wrong error"),
                    (a, e) => panic!("tx update: got {a:?}, the model expected {e:?}"),
                }
            }
            DbStep::DeleteUser(sel) => {
                let id = self.pick_user(sel);
                delete_row(
                    "tx delete user",
                    &mut self.db.users.docs,
                    &mut self.deleted,
                    id,
                    users.delete(id),
                );
            }
            DbStep::GetUser(sel) => {
                let id = self.pick_user(sel);
                let expected = self
                    .db
                    .users
                    .position(id)
                    .map(|at| self.db.users.docs[at].clone())
                    .ok_or(Expect::NotFound(id));
                let actual = users.get(id).map(|d| row(&d)).map_err(|e| classify(&e));
                assert_eq!(actual, expected, "tx get user");
            }
            DbStep::QueryUsers(query) => {
                let what = format!("tx {query:?}");
                let actual = tx_query(&users, query).map(rows);
                match (actual, expected_query(&self.db.users, query)) {
                    (Ok(a), Ok(e)) => assert_eq!(a, e, "{what}"),
                    (Err(a), Err(e)) => assert_eq!(classify(&a), e, "{what}: wrong error"),
                    (a, e) => panic!("{what}: got {a:?}, the model expected {e:?}"),
                }
            }
            DbStep::InsertOrder(order) => {
                let id = orders.insert(order.clone()).expect("tx insert order");
                assert!(
                    self.db.orders.iter().all(|r| r.0 < id),
                    "order ids increase"
                );
                self.raised.insert(id);
                self.db.orders.push((id, 1, order.clone()));
            }
            DbStep::UpdateOrder(sel, quantity) => {
                let id = pick_in(&self.db.orders, &self.deleted, sel);
                let at = self.db.orders.iter().position(|r| r.0 == id);
                let actual = orders.get(id).and_then(|order| {
                    orders.update(
                        id,
                        Order {
                            quantity: *quantity,
                            ..(*order).clone()
                        },
                    )
                });
                match (actual, at) {
                    (Ok(new), Some(at)) => {
                        let row = &mut self.db.orders[at];
                        assert_eq!(new, raise(&mut self.raised, row), "tx update order");
                        row.2.quantity = *quantity;
                    }
                    (Err(a), None) => assert_eq!(classify(&a), Expect::NotFound(id)),
                    (a, e) => panic!("tx update order: got {a:?}, the model had {e:?}"),
                }
            }
            DbStep::DeleteOrder(sel) => {
                let id = pick_in(&self.db.orders, &self.deleted, sel);
                delete_row(
                    "tx delete order",
                    &mut self.db.orders,
                    &mut self.deleted,
                    id,
                    orders.delete(id),
                );
            }
            DbStep::OrdersOf(email) => {
                let actual: Rows<Order> = orders
                    .lookup(Order::email, email.as_str())
                    .expect("lookup")
                    .map(|o| (o.id(), o.version(), (*o).clone()))
                    .collect();
                let expected: Rows<Order> = self
                    .db
                    .orders
                    .iter()
                    .filter(|o| &o.2.email == email)
                    .cloned()
                    .collect();
                assert_eq!(actual, expected, "tx orders of {email}");
            }
            DbStep::OrderNumbered(number) => {
                let actual = orders
                    .get_unique(Order::number, *number)
                    .expect("get_unique")
                    .map(|o| (o.id(), o.version(), (*o).clone()));
                // Before a commit refuses it, a transaction may hold two
                // orders of one number: the first in id order is found.
                let expected = self
                    .db
                    .orders
                    .iter()
                    .find(|o| o.2.number == *number)
                    .cloned();
                assert_eq!(actual, expected, "tx order number {number}");
            }
            DbStep::Log(kind) => {
                let entry = json!({"kind": kind});
                let id = log.insert(entry.clone()).expect("tx log");
                self.raised.insert(id);
                self.db.log.push((id, 1, entry));
            }
            DbStep::LogOfKind(kind) => {
                let actual: Rows<Value> = log
                    .lookup("by_kind", *kind)
                    .expect("lookup")
                    .map(|d| (d.id(), d.version(), d.to_value()))
                    .collect();
                let expected: Rows<Value> = self
                    .db
                    .log
                    .iter()
                    .filter(|d| d.2["kind"] == json!(kind))
                    .cloned()
                    .collect();
                assert_eq!(actual, expected, "tx log of kind {kind}");
            }
            DbStep::DeleteLog(sel) => {
                let id = pick_in(&self.db.log, &self.deleted, sel);
                let actual = log.delete(id);
                let expected = self.db.log.iter().position(|r| r.0 == id);
                match (actual, expected) {
                    (Ok(d), Some(at)) => {
                        let row = self.db.log.remove(at);
                        assert_eq!((d.id(), d.version(), d.to_value()), row, "tx delete log");
                        self.deleted.push(id);
                    }
                    (Err(a), None) => assert_eq!(classify(&a), Expect::NotFound(id)),
                    (a, e) => panic!("tx delete log: got {a:?}, the model had {e:?}"),
                }
            }
            DbStep::ScanLog => {
                let actual: Rows<Value> = log
                    .iter()
                    .expect("iter")
                    .map(|d| (d.id(), d.version(), d.to_value()))
                    .collect();
                assert_eq!(actual, self.db.log, "tx log scan");
            }
        }
    }

    fn pick_user(&self, sel: &Sel) -> Id {
        pick_in(&self.db.users.docs, &self.deleted, sel)
    }

    /// The unique indexes the transaction's writes break, at most one per
    /// collection (its first, in creation order): its commit must refuse
    /// them, naming one (which one depends on the order the collections are
    /// checked in).
    fn broken_unique(&self) -> Vec<String> {
        let written = |id: &Id| self.raised.contains(id);
        let users = &self.db.users;
        let mut broken: Vec<String> = self
            .order
            .iter()
            .filter(|index| index.unique)
            .find(|index| {
                users
                    .docs
                    .iter()
                    .filter(|d| written(&d.0))
                    .any(|d| users.clash(&[**index], &d.2, Some(d.0)).is_some())
            })
            .map(|index| index.name.to_owned())
            .into_iter()
            .collect();
        let orders = &self.db.orders;
        if orders.iter().filter(|o| written(&o.0)).any(|o| {
            orders
                .iter()
                .any(|p| p.0 != o.0 && p.2.number == o.2.number)
        }) {
            broken.push("number".to_owned());
        }
        broken
    }
}

impl Stores {
    fn new() -> Stores {
        let db = Db::new();
        let users = db.collection::<User>("users").expect("users");
        let orders = db.collection::<Order>("orders").expect("orders");
        let log = db.store("log").expect("log");
        log.create_index("by_kind", ["kind"]).expect("by_kind");
        Stores {
            db,
            users,
            orders,
            log,
        }
    }

    /// Everything in the three stores against the model.
    fn check(&self, model: &DbModel, order: &[&'static MIndex], what: &str) {
        let harness = Harness {
            users: (*self.users).clone(),
            model: model.users.clone(),
            order: order.to_vec(),
            held: Vec::new(),
        };
        harness.check_all(what);
        let orders: Rows<Order> = self
            .orders
            .iter()
            .expect("iter")
            .map(|o| (o.id(), o.version(), (*o).clone()))
            .collect();
        assert_eq!(orders, model.orders, "{what}: orders");
        let log: Rows<Value> = self
            .log
            .iter()
            .expect("iter")
            .map(|d| (d.id(), d.version(), d.to_value()))
            .collect();
        assert_eq!(log, model.log, "{what}: log");
        assert_eq!(self.users.verify(), Ok(Vec::new()), "{what}: users verify");
        assert_eq!(
            self.orders.verify(),
            Ok(Vec::new()),
            "{what}: orders verify"
        );
        assert_eq!(self.log.verify(), Ok(Vec::new()), "{what}: log verify");
    }

    /// Runs one transaction of `steps` ending as `end`, against the model.
    fn transaction(
        &self,
        model: &mut DbModel,
        deleted: &mut Vec<Id>,
        order: &[&'static MIndex],
        steps: &[DbStep],
        end: &DbEnd,
    ) {
        let start = || DbScratch {
            db: model.clone(),
            order: order.to_vec(),
            deleted: deleted.clone(),
            raised: HashSet::new(),
            handed: Vec::new(),
        };
        let mut scratch = start();
        let mut runs = 0;
        let body = |tx: &Transaction<'_>, scratch: &mut DbScratch| -> Result<(), DbFail> {
            for step in steps {
                scratch.run(self, tx, step);
            }
            match end {
                DbEnd::Fail => Err(DbFail::GaveUp),
                DbEnd::Panic => panic!("{}", TX_PANIC),
                _ => Ok(()),
            }
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| match end {
            DbEnd::CommitExplicit | DbEnd::Drop => {
                runs += 1;
                let tx = self.db.begin().expect("begin");
                body(&tx, &mut scratch)?;
                match end {
                    DbEnd::Drop => Err(DbFail::GaveUp),
                    _ => tx.commit().map_err(DbFail::Store),
                }
            }
            _ => self.db.transaction(|tx| {
                runs += 1;
                scratch = start();
                body(tx, &mut scratch)
            }),
        }));
        assert_eq!(runs, 1, "a transaction ran {runs} times uncontended");
        if let Some(last) = scratch.handed.iter().max() {
            model.users.floor = model.users.floor.max(Some(*last));
        }
        let commits = matches!(end, DbEnd::Commit | DbEnd::CommitExplicit);
        let broken = scratch.broken_unique();
        match (outcome, broken) {
            // A panic inside (on purpose, or a computed key's) commits nothing.
            (Err(_), _) => {}
            (Ok(Ok(())), broken) if commits && broken.is_empty() => {
                let floor = model.users.floor;
                *model = scratch.db;
                model.users.floor = floor;
                *deleted = scratch.deleted;
            }
            (Ok(Err(DbFail::Store(Error::UniqueViolation { index, .. }))), broken) if commits => {
                assert!(
                    broken.contains(&index),
                    "a commit refused {index}; the model broke {broken:?}"
                );
            }
            (Ok(Err(DbFail::GaveUp)), _) if !commits => {}
            (Ok(outcome), broken) => {
                panic!("a transaction ending {end:?}: got {outcome:?}, the model broke {broken:?}")
            }
        }
    }
}

fn db_step() -> BoxedStrategy<DbStep> {
    let order = (0u32..6, (0u8..30).prop_map(|e| format!("e{e}")), 1u32..4).prop_map(
        |(number, email, quantity)| Order {
            number,
            email,
            quantity,
        },
    );
    prop_oneof![
        6 => user().prop_map(DbStep::InsertUser),
        4 => (sel(), proptest::option::of(vpick()), user())
            .prop_map(|(s, v, u)| DbStep::UpdateUser(s, v, u)),
        2 => sel().prop_map(DbStep::DeleteUser),
        3 => sel().prop_map(DbStep::GetUser),
        4 => query().prop_map(DbStep::QueryUsers),
        4 => order.prop_map(DbStep::InsertOrder),
        2 => (sel(), 1u32..9).prop_map(|(s, q)| DbStep::UpdateOrder(s, q)),
        1 => sel().prop_map(DbStep::DeleteOrder),
        2 => (0u8..30).prop_map(|e| DbStep::OrdersOf(format!("e{e}"))),
        2 => (0u32..6).prop_map(DbStep::OrderNumbered),
        3 => (0u8..3).prop_map(DbStep::Log),
        1 => (0u8..3).prop_map(DbStep::LogOfKind),
        1 => sel().prop_map(DbStep::DeleteLog),
        1 => Just(DbStep::ScanLog),
    ]
    .boxed()
}

fn db_end() -> BoxedStrategy<DbEnd> {
    prop_oneof![
        4 => Just(DbEnd::Commit),
        2 => Just(DbEnd::CommitExplicit),
        1 => Just(DbEnd::Fail),
        1 => Just(DbEnd::Panic),
        1 => Just(DbEnd::Drop),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: config().cases / 4, ..config() })]

    /// Random transactions across two typed collections and a schemaless
    /// store of one database: each step against the model as the transaction
    /// sees it, and all three stores against the model after each one.
    #[test]
    fn transactions_across_a_db_match_the_model(
        transactions in vec((vec(db_step(), 0..10), db_end()), 1..25),
    ) {
        quiet_deliberate_panics();
        let stores = Stores::new();
        let order: Vec<&'static MIndex> = stores
            .users
            .indexes()
            .expect("indexes")
            .iter()
            .map(|info| mindex(info.name()))
            .collect();
        let mut model = DbModel::default();
        let mut deleted = Vec::new();
        for (n, (steps, end)) in transactions.iter().enumerate() {
            stores.transaction(&mut model, &mut deleted, &order, steps, end);
            stores.check(&model, &order, &format!("after transaction {n} ({end:?})"));
        }
    }
}

// ---------------------------------------------------------------------------
// Panic safety across threads.
// ---------------------------------------------------------------------------

fn sample(i: u64) -> User {
    User {
        email: format!("u{i}@x"),
        city: ["Paris", "Rome", "Oslo"][usize::try_from(i % 3).unwrap_or(0)].to_owned(),
        age: u32::try_from(i % 50).unwrap_or(0),
        nickname: i.is_multiple_of(2).then(|| format!("n{i}")),
        tags: vec!["a".into(), format!("t{}", i % 7)],
        score: f64::from(u32::try_from(i).unwrap_or(0)) / 4.0,
        name: "x".repeat(usize::try_from(i % 5).unwrap_or(0)),
        n: i,
        panic_key: false,
    }
}

/// A computed key, an `update_with` closure and a `clone_filtered` predicate
/// that panic, while other threads write and read: each panic leaves the
/// collection exactly as it was, and the other threads finish their work.
#[test]
fn panics_in_user_code_leave_the_collection_as_it_was_and_usable() {
    quiet_deliberate_panics();
    let users = Arc::new(Collection::<User>::new());
    for i in 0..60 {
        users.insert(sample(i)).expect("insert");
    }
    let victim = users
        .iter()
        .expect("iter")
        .nth(10)
        .expect("a document")
        .id();

    // Alone: compare a full dump before and after each panic.
    let before = dump(&users);
    let mut poisoned = sample(1_000);
    poisoned.panic_key = true;
    assert!(catch_unwind(AssertUnwindSafe(|| users.insert(poisoned.clone()))).is_err());
    assert!(catch_unwind(AssertUnwindSafe(|| users.update(victim, poisoned.clone()))).is_err());
    assert!(
        catch_unwind(AssertUnwindSafe(|| users.update_if(
            victim,
            1,
            poisoned.clone()
        )))
        .is_err()
    );
    assert!(
        catch_unwind(AssertUnwindSafe(|| {
            users.update_with(victim, |u| User {
                panic_key: true,
                ..u.clone()
            })
        }))
        .is_err()
    );
    assert!(
        catch_unwind(AssertUnwindSafe(|| {
            users.update_with(victim, |_| -> User { panic!("the closure panics") })
        }))
        .is_err()
    );
    assert!(
        catch_unwind(AssertUnwindSafe(|| {
            users.clone_filtered(|d| {
                assert!(d.value().n < 30, "the predicate panics");
                true
            })
        }))
        .is_err()
    );
    assert_eq!(
        dump(&users),
        before,
        "a panic in user code changed the collection"
    );
    assert_eq!(users.verify(), Ok(Vec::new()));
    // The next write indexes only its own keys (nothing left over from a panic).
    let id = users.insert(sample(2_000)).expect("insert after panics");
    assert_eq!(users.verify(), Ok(Vec::new()));
    assert_eq!(
        users
            .lookup(User::by_trap, 2)
            .expect("lookup")
            .filter(|d| d.id() == id)
            .count(),
        1
    );
    users.delete(id).expect("delete");

    // Concurrently: panicking callers beside working ones.
    let panickers: Vec<_> = (0..3)
        .map(|t| {
            let users = Arc::clone(&users);
            thread::spawn(move || {
                for i in 0..40u64 {
                    let mut bad = sample(10_000 + t * 100 + i);
                    bad.panic_key = true;
                    let outcome = catch_unwind(AssertUnwindSafe(|| match i % 3 {
                        0 => users.insert(bad).map(|_| ()).map_err(Error::from),
                        1 => users
                            .update_with(victim, |u| User {
                                panic_key: true,
                                ..u.clone()
                            })
                            .map(|_| ()),
                        _ => users
                            .clone_filtered(|_| -> bool { panic!("the predicate panics") })
                            .map(|_| ()),
                    }));
                    assert!(outcome.is_err(), "user code panicked, so the call did");
                }
            })
        })
        .collect();
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let users = Arc::clone(&users);
            thread::spawn(move || {
                let mut mine = Vec::new();
                for i in 0..60u64 {
                    mine.push(
                        users
                            .insert(sample(20_000 + t * 1_000 + i))
                            .expect("insert"),
                    );
                    users
                        .update_with(victim, |u| User {
                            n: u.n + 3,
                            ..u.clone()
                        })
                        .expect("update_with");
                    assert!(users.lookup(User::city, "Rome").expect("lookup").count() > 0);
                }
                mine
            })
        })
        .collect();
    for panicker in panickers {
        panicker.join().expect("the panicking threads end normally");
    }
    let mut inserted = 0;
    for worker in workers {
        inserted += worker.join().expect("the working threads finish").len();
    }
    assert_eq!(inserted, 4 * 60);
    assert_eq!(users.len(), Ok(60 + 4 * 60));
    let stored = users.get(victim).expect("get");
    assert_eq!(
        stored.value().n,
        10 + 3 * 4 * 60,
        "every working update landed, no panicking one"
    );
    assert_eq!(stored.version(), 1 + 4 * 60);
    assert_eq!(users.verify(), Ok(Vec::new()));
}
