//! A durable database: write, crash (exit without closing), reopen and see
//! what came back.
//!
//! Run with `cargo run --example durable`. It runs itself twice: once as the
//! "application" that writes and then dies with `std::process::exit` (no
//! close, no destructors), then as the one that reopens the directory.

use std::process::Command;

use docstore::{DurableDb, DurableOptions, Indexed, SyncPolicy};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Indexed, Clone, Debug, Serialize, Deserialize)]
struct Account {
    #[index(unique)]
    owner: String,
    balance: i64,
}

fn write(dir: &str) -> Result<(), docstore::Error> {
    let options = DurableOptions::new().sync(SyncPolicy::Always);
    let (db, _) = DurableDb::open(dir, options)?;
    let accounts = db.collection::<Account>("accounts")?;
    let events = db.store("events")?;
    let _ = events.create_index("by_kind", ["kind"]);
    let ada = accounts.insert(Account {
        owner: "ada".into(),
        balance: 100,
    })?;
    let bob = accounts.insert(Account {
        owner: "bob".into(),
        balance: 20,
    })?;
    db.transaction(|tx| {
        let accounts = tx.collection(&accounts);
        let (a, b) = (accounts.get(ada)?, accounts.get(bob)?);
        accounts.update(
            ada,
            Account {
                balance: a.balance - 30,
                ..(*a).clone()
            },
        )?;
        accounts.update(
            bob,
            Account {
                balance: b.balance + 30,
                ..(*b).clone()
            },
        )?;
        tx.store(&events)
            .insert(json!({"kind": "transfer", "amount": 30}))?;
        Ok::<_, docstore::Error>(())
    })?;
    println!("writer: 2 accounts, one transfer of 30, all acknowledged; now crashing");
    // Dies without closing anything: the commits were fsynced before they
    // returned, so they are on disk.
    std::process::exit(0);
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("docstore-example-{}", std::process::id()));
    if let Some(dir) = std::env::args().nth(1) {
        write(&dir)?;
        return Ok(());
    }
    let _ = std::fs::remove_dir_all(&dir);
    let status = Command::new(std::env::current_exe()?).arg(&dir).status()?;
    println!("writer exited: {status}");

    let (db, recovery) = DurableDb::open(&dir, DurableOptions::new())?;
    println!(
        "reopened: {} commits recovered (checkpoint: {:?}), cut: {:?}",
        recovery.last_seq, recovery.checkpoint, recovery.cut
    );
    let accounts = db.collection::<Account>("accounts")?;
    for account in accounts.iter()? {
        println!(
            "  {} has {} (version {})",
            account.owner,
            account.balance,
            account.version()
        );
    }
    let events = db.store("events")?;
    for event in events.lookup("by_kind", "transfer")? {
        println!("  event: {}", event.value());
    }
    drop((accounts, events));
    db.close()?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
