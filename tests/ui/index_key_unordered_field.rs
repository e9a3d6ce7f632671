use docstore::IndexKey;

struct Opaque;

#[derive(IndexKey)]
struct Wrapper(Opaque);

fn main() {}
