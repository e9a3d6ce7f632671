//! `typed`: docstore's `Collection` of a struct with `#[derive(Indexed)]`.

use docstore::{Collection, Id, Indexed};

use crate::common::{self, Found, System, initial_age};

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

        impl System for Collection<$name> {
            const NAME: &'static str = "typed";

            fn new() -> Self {
                Collection::new()
            }

            fn insert(&self, i: usize) -> Id {
                Collection::insert(self, $name::build(i, initial_age(i))).expect("insert")
            }

            fn get_age(&self, id: Id) -> u64 {
                u64::from(self.get(id).expect("get").age)
            }

            fn update(&self, id: Id, i: usize, age: u64) {
                Collection::update(self, id, $name::build(i, age)).expect("update");
            }

            fn lookup_name(&self, name: &str) -> Found {
                $name::found(self.lookup($name::name, name).expect("lookup"))
            }

            fn lookup_city(&self, city: &str) -> Found {
                $name::found(self.lookup($name::city, city).expect("lookup"))
            }

            fn range_age(&self, start: u64, end: u64) -> Found {
                let start = u32::try_from(start).expect("ages are small");
                let end = u32::try_from(end).expect("ages are small");
                $name::found(self.range($name::age, start..end).expect("range"))
            }

            fn scan(&self) -> Found {
                // Reading by reference from a snapshot skips the per-document
                // reference count that an owning iterator pays.
                let snapshot = self.snapshot().expect("snapshot");
                let mut found = Found::default();
                for doc in &snapshot {
                    found.add(u64::from(doc.age));
                }
                found
            }

            fn delete(&self, id: Id) {
                Collection::delete(self, id).expect("delete");
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
