//! `typed`: docstore's `Collection` of a struct with `#[derive(Indexed)]`.

use std::ops::Range;
use std::sync::Arc;

use docstore::{Collection, Db, Error, Id, Indexed, TxCollection};

use crate::common::{self, Found, Home, System, doubled, initial_age};
use crate::feed::{Drain, Feeds};

/// A typed `Collection`, standalone or one of a [`Db`]'s (`--db`), whose
/// transactions it then runs as the database's.
pub struct Typed<D: Indexed> {
    collection: Arc<Collection<D>>,
    db: Option<Arc<Db>>,
}

impl<D: Indexed> Typed<D> {
    fn new(home: &Home) -> Self {
        match home.db() {
            Some(db) => Typed {
                collection: db.collection(&home.fresh_name()).expect("a new collection"),
                db: Some(Arc::clone(db)),
            },
            None => Typed {
                collection: Arc::new(Collection::new()),
                db: None,
            },
        }
    }

    /// Runs `body` in a transaction on this collection: the database's when
    /// it has one, the collection's own otherwise.
    fn transaction<R>(&self, mut body: impl FnMut(&TxCollection<'_, D>) -> Result<R, Error>) -> R {
        let outcome = match &self.db {
            Some(db) => db.transaction(|tx| body(&tx.collection(&self.collection))),
            None => self.collection.transaction(body),
        };
        outcome.expect("a transaction")
    }
}

/// [`Doc`]'s nested address.
#[derive(Clone, Debug)]
#[expect(
    dead_code,
    reason = "stored like every system stores them, never read back"
)]
pub struct Address {
    pub zip: String,
    pub street: String,
}

/// Declares the workload's document as a struct whose three indexes carry
/// `$options`, with its `System` impl: `Doc` (plain indexes, also the document
/// of `baseline-typed`) and `CoveringDoc` (covering indexes, `--covering`).
macro_rules! typed_system {
    ($(#[$doc:meta])* $name:ident, #[index $($options:tt)*]) => {
        $(#[$doc])*
        #[derive(Indexed, Clone, Debug)]
        #[expect(
            dead_code,
            reason = "stored like every system stores them, never read back"
        )]
        pub struct $name {
            #[index $($options)*]
            pub name: String,
            #[index $($options)*]
            pub age: u32,
            #[index $($options)*]
            pub city: String,
            pub score: f64,
            pub active: bool,
            pub tags: Vec<String>,
            pub address: Address,
        }

        impl $name {
            /// Document `i` with this age.
            pub fn build(i: usize, age: u64) -> $name {
                $name {
                    name: common::name(i),
                    age: u32::try_from(age).expect("ages are below 100"),
                    city: common::city(i),
                    score: common::score(i),
                    active: common::active(i),
                    tags: common::tags(i).into(),
                    address: Address {
                        zip: common::zip(i),
                        street: common::street(i),
                    },
                }
            }

            /// The ages of the documents a query found.
            fn found(results: docstore::Iter<$name>) -> Found {
                let mut found = Found::default();
                for doc in results {
                    found.add(u64::from(doc.age));
                }
                found
            }
        }

        impl System for Typed<$name> {
            const NAME: &'static str = "typed";

            fn new(home: &Home) -> Self {
                Typed::new(home)
            }

            fn insert(&self, i: usize) -> Id {
                self.collection
                    .insert($name::build(i, initial_age(i)))
                    .expect("insert")
            }

            fn get_age(&self, id: Id) -> u64 {
                u64::from(self.collection.get(id).expect("get").age)
            }

            fn update(&self, id: Id, i: usize, age: u64) {
                self.collection
                    .update(id, $name::build(i, age))
                    .expect("update");
            }

            fn lookup_name(&self, name: &str) -> Found {
                $name::found(self.collection.lookup($name::name, name).expect("lookup"))
            }

            fn lookup_city(&self, city: &str) -> Found {
                $name::found(self.collection.lookup($name::city, city).expect("lookup"))
            }

            fn range_age(&self, start: u64, end: u64) -> Found {
                let start = u32::try_from(start).expect("ages are small");
                let end = u32::try_from(end).expect("ages are small");
                $name::found(self.collection.range($name::age, start..end).expect("range"))
            }

            fn scan(&self) -> Found {
                // Reading by reference from a snapshot skips the per-document
                // reference count that an owning iterator pays.
                let snapshot = self.collection.snapshot().expect("snapshot");
                let mut found = Found::default();
                for doc in &snapshot {
                    found.add(u64::from(doc.age));
                }
                found
            }

            fn delete(&self, id: Id) {
                self.collection.delete(id).expect("delete");
            }

            fn transfer(&self, a: Id, b: Id) -> i64 {
                self.transaction(|tx| {
                    let (from, to) = (tx.get(a)?, tx.get(b)?);
                    let read = doubled(from.score) + doubled(to.score);
                    let (mut from, mut to) = (from.into_value(), to.into_value());
                    from.score -= 1.0;
                    to.score += 1.0;
                    tx.update(a, from)?;
                    tx.update(b, to)?;
                    Ok(read)
                })
            }

            fn insert_batch(&self, range: Range<usize>) -> Vec<Id> {
                self.transaction(|tx| {
                    range
                        .clone()
                        .map(|i| tx.insert($name::build(i, initial_age(i))))
                        .collect()
                })
            }

            fn score2(&self, id: Id) -> i64 {
                doubled(self.collection.get(id).expect("get").score)
            }
        }

        impl Feeds for Typed<$name> {
            fn subscribe(&self, capacity: usize) -> Box<dyn Drain> {
                Box::new(
                    self.collection
                        .subscribe_with_capacity(capacity)
                        .expect("a subscription"),
                )
            }

            fn watch_elsewhere(&self, k: usize) -> Box<dyn Drain> {
                Box::new(
                    self.collection
                        .watch($name::name, format!("nobody-{k}"))
                        .expect("a watch"),
                )
            }

            fn insert_with_ttl(&self, i: usize, ttl: std::time::Duration) -> Id {
                self.collection
                    .insert_with_ttl($name::build(i, initial_age(i)), ttl)
                    .expect("insert")
            }
        }
    };
}

typed_system!(
    /// The workload's document as a struct (also `baseline-typed`'s document).
    Doc,
    #[index]
);

typed_system!(
    /// [`Doc`] with covering indexes.
    CoveringDoc,
    #[index(covering)]
);
