use docstore::{Collection, IndexKey, Indexed, KeyWriter};

#[derive(Clone, Copy)]
struct Ts(u64);

impl IndexKey for Ts {
    fn write_key(&self, out: &mut KeyWriter) {
        out.write_u64(self.0);
    }
}

#[derive(Indexed)]
struct Order {
    #[index]
    at: Ts,
}

fn main() {
    let orders = Collection::<Order>::new();
    // By reference compiles; by value needs `#[derive(IndexKey)]` or `KeyFor<Ts> for Ts`.
    let _ = orders.range(Order::at, &Ts(0)..&Ts(9));
    let _ = orders.range(Order::at, Ts(0)..Ts(9));
}
