use std::collections::HashMap;

use docstore::{Collection, Indexed};

#[derive(Indexed)]
struct Entry<K> {
    #[index]
    key: K,
}

fn main() {
    let _ = Collection::<Entry<HashMap<u8, u8>>>::new();
}
