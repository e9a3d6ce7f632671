use std::collections::HashMap;

use docstore::Indexed;

#[derive(Indexed)]
#[indexed(composite(by_city_scores = (city, scores)))]
struct User {
    city: String,
    scores: HashMap<String, u32>,
}

fn main() {}
