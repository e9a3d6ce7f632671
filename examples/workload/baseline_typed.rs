//! `baseline-typed`: the naive store of `baseline` holding `Arc<Doc>`, the
//! typed system's struct, with `u32` ages as by_age's keys.

use crate::baseline::NaiveDoc;
use crate::typed::Doc;

impl NaiveDoc for Doc {
    const SYSTEM: &'static str = "baseline-typed";
    type AgeKey = u32;

    fn build(i: usize, age: u64) -> Doc {
        Doc::build(i, age)
    }

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

    fn score(&self) -> f64 {
        self.score
    }

    fn with_score(&self, score: f64) -> Doc {
        Doc {
            score,
            ..self.clone()
        }
    }
}
