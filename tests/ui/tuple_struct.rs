use docstore::Indexed;

#[derive(Indexed)]
struct Email(#[index] String);

fn main() {}
