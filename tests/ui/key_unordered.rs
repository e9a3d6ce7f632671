use docstore::Indexed;

struct Sku {
    code: String,
}

#[derive(Indexed)]
struct Product {
    #[key]
    sku: Sku,
}

fn main() {}
