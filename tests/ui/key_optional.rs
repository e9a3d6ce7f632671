use docstore::Indexed;

#[derive(Indexed)]
struct Product {
    #[key]
    sku: Option<String>,
    #[key(unique)]
    ean: String,
}

fn main() {}
