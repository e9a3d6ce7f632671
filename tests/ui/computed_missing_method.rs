use docstore::Indexed;

#[derive(Indexed)]
#[indexed(computed(by_domain: String = domain))]
struct User {
    email: String,
}

fn main() {}
