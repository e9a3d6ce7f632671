use docstore::Indexed;

#[derive(Indexed)]
#[indexed(computed(by_domain: &str = domain))]
struct User {
    email: String,
}

impl User {
    fn domain(&self) -> &str {
        self.email.split('@').nth(1).unwrap_or_default()
    }
}

fn main() {}
