use docstore::Indexed;

#[derive(Indexed)]
enum Status {
    Open,
    Closed,
}

fn main() {}
