use docstore::IndexKey;

#[derive(IndexKey)]
enum Status {
    Open,
    Paid { at: u64 },
    Refunded(u64),
}

fn main() {}
