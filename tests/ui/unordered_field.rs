use std::collections::HashMap;

use docstore::Indexed;

#[derive(Indexed)]
struct User {
    #[index]
    scores: HashMap<String, u32>,
}

fn main() {}
