//! Model test: random commits to a schemaless store and a typed collection,
//! transactions across both, index changes, checkpoints and close/reopen,
//! checked against a plain map after every reopen.

use std::collections::BTreeMap;
use std::sync::Arc;

use docstore::durable_testing::SimFs;
use docstore::{Collection, DurableDb, DurableOptions, Error, Id, Indexed, Store, SyncPolicy};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Indexed, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Account {
    #[index(unique)]
    owner: String,
    #[index]
    balance: i64,
}

struct Random(u64);

impl Random {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[derive(Default, Clone, PartialEq, Debug)]
struct Model {
    docs: BTreeMap<Id, Value>,
    accounts: BTreeMap<Id, Account>,
    indexed: bool,
}

fn open(fs: &SimFs, sync: SyncPolicy) -> (DurableDb, Arc<Store>, Arc<Collection<Account>>) {
    let options = DurableOptions::new()
        .sync(sync)
        .checkpoint_after(4 << 10)
        .filesystem(Arc::new(fs.clone()));
    let (db, _) = DurableDb::open("/db", options).unwrap();
    let docs = db.store("docs").unwrap();
    let accounts = db.collection::<Account>("accounts").unwrap();
    (db, docs, accounts)
}

fn check(model: &Model, docs: &Store, accounts: &Collection<Account>) {
    let got: BTreeMap<Id, Value> = docs
        .iter()
        .unwrap()
        .map(|d| (d.id(), d.value().to_value()))
        .collect();
    assert_eq!(got, model.docs);
    let got: BTreeMap<Id, Account> = accounts
        .iter()
        .unwrap()
        .map(|d| (d.id(), (*d).clone()))
        .collect();
    assert_eq!(got, model.accounts);
    assert_eq!(docs.indexes().unwrap().len(), usize::from(model.indexed));
    if model.indexed {
        let small = model
            .docs
            .values()
            .filter(|v| v["n"].as_u64() < Some(50))
            .count();
        assert_eq!(docs.range("by_n", 0..50).unwrap().count(), small);
    }
    let rich = model.accounts.values().filter(|a| a.balance >= 100).count();
    assert_eq!(
        accounts.range(Account::balance, 100..).unwrap().count(),
        rich
    );
    assert!(docs.verify().unwrap().is_empty());
    assert!(accounts.verify().unwrap().is_empty());
}

fn run(seed: u64, sync: SyncPolicy) {
    let fs = SimFs::new(seed);
    let mut random = Random(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1);
    let mut model = Model::default();
    let (mut db, mut docs, mut accounts) = open(&fs, sync);
    for step in 0..300 {
        let doc_ids: Vec<Id> = model.docs.keys().copied().collect();
        let account_ids: Vec<Id> = model.accounts.keys().copied().collect();
        match random.below(12) {
            0..=2 => {
                let doc = json!({"n": random.below(100)});
                model.docs.insert(docs.insert(doc.clone()).unwrap(), doc);
            }
            3 if !doc_ids.is_empty() => {
                let id = doc_ids[random.below(doc_ids.len() as u64) as usize];
                docs.delete(id).unwrap();
                model.docs.remove(&id);
            }
            4 => {
                let account = Account {
                    owner: format!("owner{step}"),
                    balance: random.below(200) as i64,
                };
                let id = accounts.insert(account.clone()).unwrap();
                model.accounts.insert(id, account);
            }
            5 if account_ids.len() >= 2 => {
                let a = account_ids[random.below(account_ids.len() as u64) as usize];
                let b = account_ids[random.below(account_ids.len() as u64) as usize];
                if a == b {
                    continue;
                }
                let note = json!({"n": 99, "moved": 10});
                let note_id = db
                    .transaction(|tx| {
                        let accounts = tx.collection(&accounts);
                        let from = accounts.get(a)?;
                        let to = accounts.get(b)?;
                        accounts.update(
                            a,
                            Account {
                                balance: from.balance - 10,
                                ..(*from).clone()
                            },
                        )?;
                        accounts.update(
                            b,
                            Account {
                                balance: to.balance + 10,
                                ..(*to).clone()
                            },
                        )?;
                        tx.store(&docs).insert(note.clone())
                    })
                    .unwrap();
                model.accounts.get_mut(&a).unwrap().balance -= 10;
                model.accounts.get_mut(&b).unwrap().balance += 10;
                model.docs.insert(note_id, note);
            }
            6 => {
                if model.indexed {
                    docs.drop_index("by_n").unwrap();
                } else {
                    docs.create_index("by_n", ["n"]).unwrap();
                }
                model.indexed = !model.indexed;
            }
            7 => db.checkpoint().unwrap(),
            8 => {
                let failed = db.transaction(|tx| {
                    tx.store(&docs).insert(json!({"never": true}))?;
                    Err::<(), _>(Error::Closed)
                });
                assert!(failed.is_err());
            }
            9 => {
                drop((docs, accounts));
                db.close().unwrap();
                (db, docs, accounts) = open(&fs, sync);
                check(&model, &docs, &accounts);
            }
            _ => {}
        }
    }
    drop((docs, accounts, db));
    let (_db, docs, accounts) = open(&fs, sync);
    check(&model, &docs, &accounts);
}

#[test]
fn random_commits_with_reopens_and_checkpoints_match_the_model() {
    for seed in 1..=6 {
        run(seed, SyncPolicy::Never);
        run(seed + 100, SyncPolicy::Always);
    }
}
