use docstore::IndexKey;

#[derive(IndexKey)]
struct Span(u64, u64);

#[derive(IndexKey)]
struct Unit;

fn main() {}
