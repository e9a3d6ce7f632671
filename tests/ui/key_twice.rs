use docstore::Indexed;

#[derive(Indexed)]
struct Product {
    #[key]
    sku: String,
    #[key]
    ean: String,
}

fn main() {}
