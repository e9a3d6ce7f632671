//! `baseline-typed`: the naive store of `baseline` holding `Arc<Doc>`, the
//! typed system's struct, with `u32` ages as by_age's keys.

use docstore::Id;

use crate::baseline::{Naive, NaiveDoc};
use crate::common::{Found, System, initial_age};
use crate::typed::Doc;

impl NaiveDoc for Doc {
    type AgeKey = u32;

    fn name(&self) -> &str {
        &self.name
    }

    fn city(&self) -> &str {
        &self.city
    }

    fn age_key(&self) -> u32 {
        self.age
    }

    fn age(&self) -> u64 {
        u64::from(self.age)
    }

    fn key_of_age(age: u64) -> u32 {
        u32::try_from(age).expect("ages are small")
    }
}

impl System for Naive<Doc> {
    const NAME: &'static str = "baseline-typed";

    fn new() -> Self {
        Naive::new()
    }

    fn insert(&self, i: usize) -> Id {
        Naive::insert(self, Doc::build(i, initial_age(i)))
    }

    fn get_age(&self, id: Id) -> u64 {
        u64::from(self.get(id).expect("get").age)
    }

    fn update(&self, id: Id, i: usize, age: u64) {
        Naive::update(self, id, Doc::build(i, age));
    }

    fn lookup_name(&self, name: &str) -> Found {
        Naive::lookup_name(self, name)
    }

    fn lookup_city(&self, city: &str) -> Found {
        Naive::lookup_city(self, city)
    }

    fn range_age(&self, start: u64, end: u64) -> Found {
        Naive::range_age(self, start, end)
    }

    fn scan(&self) -> Found {
        Naive::scan(self)
    }

    fn delete(&self, id: Id) {
        Naive::delete(self, id);
    }
}
