use docstore::Indexed;

#[derive(Indexed)]
#[indexed(computed(by_len: u32 = name_len))]
struct User {
    name: String,
}

impl User {
    fn name_len(&self) -> usize {
        self.name.len()
    }
}

fn main() {}
