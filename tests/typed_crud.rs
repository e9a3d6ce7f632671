//! Writing and reading typed documents: insert, get, update (plain, conditional,
//! atomic), delete, unique violations, close, clones.

use std::sync::Arc;
use std::thread;

use docstore::{Collection, Error, Id, Indexed, Updated};

#[derive(Indexed, Clone, Debug, PartialEq)]
struct Account {
    #[index(unique)]
    email: String,
    #[index(unique)]
    handle: String,
    #[index]
    city: String,
    balance: i64,
}

fn account(email: &str, handle: &str, city: &str) -> Account {
    Account {
        email: email.to_owned(),
        handle: handle.to_owned(),
        city: city.to_owned(),
        balance: 0,
    }
}

fn emails(found: impl Iterator<Item = docstore::Versioned<Account>>) -> Vec<String> {
    found.map(|doc| doc.email.clone()).collect()
}

#[test]
fn insert_then_get_returns_the_document_at_version_1() -> Result<(), Error> {
    let accounts = Collection::<Account>::new();
    let ada = account("ada@example.com", "ada", "London");
    let id = accounts.insert(ada.clone())?;

    let stored = accounts.get(id)?;
    assert_eq!(stored.id(), id);
    assert_eq!(stored.version(), 1);
    assert_eq!(*stored, ada);
    assert!(accounts.contains(id)?);
    assert_eq!(accounts.len()?, 1);
    Ok(())
}

#[test]
fn ids_follow_insertion_order() -> Result<(), Error> {
    let accounts = Collection::<Account>::new();
    let ids: Vec<Id> = (0..50)
        .map(|n| Ok(accounts.insert(account(&format!("{n}@x"), &format!("h{n}"), "Paris"))?))
        .collect::<Result<_, Error>>()?;
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
    let scanned: Vec<Id> = accounts.iter()?.map(|doc| doc.id()).collect();
    assert_eq!(scanned, ids);
    Ok(())
}

#[test]
fn update_replaces_the_document_and_bumps_its_version() -> Result<(), Error> {
    let accounts = Collection::<Account>::new();
    let id = accounts.insert(account("ada@example.com", "ada", "London"))?;
    let before = accounts.get(id)?;

    let version = accounts.update(id, account("ada@example.com", "ada", "Paris"))?;
    assert_eq!(version, 2);
    assert_eq!(accounts.get(id)?.city, "Paris");
    // A reader keeps the version it was handed.
    assert_eq!(before.city, "London");
    assert_eq!(before.version(), 1);
    // The index follows the change.
    assert_eq!(accounts.lookup(Account::city, "London")?.count(), 0);
    assert_eq!(accounts.lookup(Account::city, "Paris")?.count(), 1);
    Ok(())
}

#[test]
fn update_if_refuses_a_stale_version_and_hands_the_document_back() -> Result<(), Error> {
    let accounts = Collection::<Account>::new();
    let id = accounts.insert(account("ada@example.com", "ada", "London"))?;
    assert_eq!(
        accounts.update_if(id, 1, account("ada@example.com", "ada", "Paris"))?,
        2
    );

    let stale = account("ada@example.com", "ada", "Rome");
    let rejected = accounts
        .update_if(id, 1, stale.clone())
        .expect_err("version 1 is stale");
    assert_eq!(
        *rejected.error(),
        Error::VersionConflict {
            id,
            expected: 1,
            actual: 2
        }
    );
    assert_eq!(rejected.into_document(), stale);
    let stored = accounts.get(id)?;
    assert_eq!((stored.version(), stored.city.as_str()), (2, "Paris"));
    Ok(())
}

#[test]
fn update_with_from_16_threads_loses_no_increment() -> Result<(), Error> {
    const THREADS: usize = 16;
    const INCREMENTS: usize = 100;
    let accounts = Arc::new(Collection::<Account>::new());
    let id = accounts.insert(account("ada@example.com", "ada", "London"))?;

    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let accounts = Arc::clone(&accounts);
            thread::spawn(move || -> Result<(), Error> {
                for _ in 0..INCREMENTS {
                    accounts.update_with(id, |current| Account {
                        balance: current.balance + 1,
                        ..current.clone()
                    })?;
                }
                Ok(())
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("worker panicked")?;
    }

    let stored = accounts.get(id)?;
    let total = i64::try_from(THREADS * INCREMENTS).expect("fits");
    assert_eq!(stored.balance, total);
    assert_eq!(
        stored.version(),
        1 + u64::try_from(THREADS * INCREMENTS).expect("fits")
    );
    Ok(())
}

#[test]
fn update_with_reindexes_the_fields_it_changes() -> Result<(), Error> {
    let accounts = Collection::<Account>::new();
    let id = accounts.insert(account("ada@example.com", "ada", "London"))?;
    let updated = accounts.update_with(id, |current| Account {
        city: "Paris".to_owned(),
        ..current.clone()
    })?;
    assert_eq!(updated.version(), 2);
    assert_eq!(
        emails(accounts.lookup(Account::city, "Paris")?),
        ["ada@example.com"]
    );
    assert_eq!(accounts.lookup(Account::city, "London")?.count(), 0);
    assert!(accounts.verify()?.is_empty());
    Ok(())
}

#[test]
fn update_with_on_a_missing_document_is_not_found() {
    let accounts = Collection::<Account>::new();
    let missing = Id::nil();
    let error = accounts
        .update_with(missing, Clone::clone)
        .expect_err("nothing to update");
    assert_eq!(error, Error::NotFound { id: missing });
}

#[test]
fn delete_returns_the_document_and_unindexes_it() -> Result<(), Error> {
    let accounts = Collection::<Account>::new();
    let id = accounts.insert(account("ada@example.com", "ada", "London"))?;
    let deleted = accounts.delete(id)?;
    assert_eq!(deleted.email, "ada@example.com");
    assert_eq!(
        accounts.get(id).expect_err("deleted"),
        Error::NotFound { id }
    );
    assert_eq!(
        accounts.delete(id).expect_err("deleted"),
        Error::NotFound { id }
    );
    assert_eq!(accounts.lookup(Account::city, "London")?.count(), 0);
    assert!(
        accounts
            .get_unique(Account::email, "ada@example.com")?
            .is_none()
    );
    // The unique key is free again.
    accounts.insert(account("ada@example.com", "ada", "Paris"))?;
    Ok(())
}

#[test]
fn delete_if_refuses_a_stale_version() -> Result<(), Error> {
    let accounts = Collection::<Account>::new();
    let id = accounts.insert(account("ada@example.com", "ada", "London"))?;
    accounts.update(id, account("ada@example.com", "ada", "Paris"))?;
    assert_eq!(
        accounts.delete_if(id, 1).expect_err("stale"),
        Error::VersionConflict {
            id,
            expected: 1,
            actual: 2
        }
    );
    assert!(accounts.contains(id)?);
    assert_eq!(accounts.delete_if(id, 2)?.version(), 2);
    assert!(!accounts.contains(id)?);
    Ok(())
}

#[test]
fn a_unique_violation_on_insert_hands_the_document_back() -> Result<(), Error> {
    let accounts = Collection::<Account>::new();
    let ada = accounts.insert(account("ada@example.com", "ada", "London"))?;
    let copycat = account("ada@example.com", "not-ada", "Paris");

    let rejected = accounts
        .insert(copycat.clone())
        .expect_err("email is taken");
    match rejected.error() {
        Error::UniqueViolation {
            index, existing, ..
        } => {
            assert_eq!(index, "email");
            assert_eq!(*existing, ada);
        }
        other => panic!("expected a unique violation, got {other:?}"),
    }
    assert_eq!(rejected.into_document(), copycat);
    assert_eq!(accounts.len()?, 1);
    assert_eq!(accounts.lookup(Account::city, "Paris")?.count(), 0);
    Ok(())
}

#[test]
fn every_unique_index_is_checked_before_anything_changes() -> Result<(), Error> {
    let accounts = Collection::<Account>::new();
    accounts.insert(account("ada@example.com", "ada", "London"))?;
    let grace = accounts.insert(account("grace@example.com", "grace", "Arlington"))?;

    // A new email, but a handle that is taken: neither key may land.
    let clash = account("grace@navy.mil", "ada", "Arlington");
    let rejected = accounts
        .update(grace, clash.clone())
        .expect_err("handle is taken");
    assert!(matches!(
        rejected.error(),
        Error::UniqueViolation { index, .. } if index == "handle"
    ));
    assert_eq!(rejected.into_document(), clash);
    assert!(
        accounts
            .get_unique(Account::email, "grace@navy.mil")?
            .is_none()
    );
    assert_eq!(
        accounts
            .get_unique(Account::email, "grace@example.com")?
            .map(|doc| doc.id()),
        Some(grace)
    );
    assert_eq!(accounts.get(grace)?.version(), 1);
    assert!(accounts.verify()?.is_empty());
    Ok(())
}

#[test]
fn updating_a_missing_document_hands_it_back() {
    let accounts = Collection::<Account>::new();
    let missing = Id::nil();
    let ghost = account("ghost@example.com", "ghost", "Nowhere");
    let rejected = accounts
        .update(missing, ghost.clone())
        .expect_err("no such id");
    assert_eq!(*rejected.error(), Error::NotFound { id: missing });
    assert_eq!(rejected.into_document(), ghost);
}

#[test]
fn a_rejected_write_converts_into_the_error_with_question_mark() {
    fn insert_twice(accounts: &Collection<Account>) -> Result<(), Error> {
        accounts.insert(account("ada@example.com", "ada", "London"))?;
        accounts.insert(account("ada@example.com", "ada2", "London"))?;
        Ok(())
    }
    let accounts = Collection::<Account>::new();
    assert!(matches!(
        insert_twice(&accounts),
        Err(Error::UniqueViolation { .. })
    ));
}

#[test]
fn after_close_every_call_fails_with_closed() -> Result<(), Error> {
    let accounts = Collection::<Account>::new();
    let id = accounts.insert(account("ada@example.com", "ada", "London"))?;
    accounts.close();
    accounts.close(); // idempotent
    assert!(accounts.is_closed());

    let ada = account("grace@example.com", "grace", "Arlington");
    let rejected = accounts.insert(ada.clone()).expect_err("closed");
    assert_eq!(
        (rejected.error(), rejected.document()),
        (&Error::Closed, &ada)
    );
    assert_eq!(accounts.get(id).map(|_| ()), Err(Error::Closed));
    assert_eq!(accounts.contains(id).map(|_| ()), Err(Error::Closed));
    assert_eq!(
        *accounts
            .update(id, ada.clone())
            .expect_err("closed")
            .error(),
        Error::Closed
    );
    assert_eq!(
        *accounts.update_if(id, 1, ada).expect_err("closed").error(),
        Error::Closed
    );
    assert_eq!(
        accounts.update_with(id, Clone::clone).map(|_| ()),
        Err(Error::Closed)
    );
    assert_eq!(accounts.delete(id).map(|_| ()), Err(Error::Closed));
    assert_eq!(accounts.delete_if(id, 1).map(|_| ()), Err(Error::Closed));
    assert_eq!(accounts.len(), Err(Error::Closed));
    assert_eq!(accounts.is_empty(), Err(Error::Closed));
    assert_eq!(accounts.indexes().map(|_| ()), Err(Error::Closed));
    assert_eq!(accounts.snapshot().map(|_| ()), Err(Error::Closed));
    assert_eq!(accounts.iter().map(|_| ()), Err(Error::Closed));
    assert_eq!(accounts.cursor().map(|_| ()), Err(Error::Closed));
    assert_eq!(
        accounts.lookup(Account::city, "London").map(|_| ()),
        Err(Error::Closed)
    );
    assert_eq!(
        accounts.range(Account::city, ..).map(|_| ()),
        Err(Error::Closed)
    );
    assert_eq!(
        accounts.by_index(Account::city).map(|_| ()),
        Err(Error::Closed)
    );
    assert_eq!(
        accounts
            .get_unique(Account::email, "ada@example.com")
            .map(|_| ()),
        Err(Error::Closed)
    );
    assert_eq!(
        accounts.clone_filtered(|_| true).map(|_| ()),
        Err(Error::Closed)
    );
    assert_eq!(accounts.verify().map(|_| ()), Err(Error::Closed));
    Ok(())
}

#[test]
fn a_clone_is_independent_of_its_original() -> Result<(), Error> {
    let original = Collection::<Account>::new();
    let ada = original.insert(account("ada@example.com", "ada", "London"))?;
    original.update(ada, account("ada@example.com", "ada", "Paris"))?;
    let copy = original.clone();

    assert_eq!(copy.get(ada)?.version(), 2);
    original.update(ada, account("ada@example.com", "ada", "Rome"))?;
    let grace = copy.insert(account("grace@example.com", "grace", "Arlington"))?;

    assert_eq!(copy.get(ada)?.city, "Paris");
    assert_eq!(original.get(ada)?.city, "Rome");
    assert_eq!(
        original.get(grace).expect_err("only in the copy"),
        Error::NotFound { id: grace }
    );
    assert_eq!(
        emails(copy.lookup(Account::city, "Paris")?),
        ["ada@example.com"]
    );
    assert_eq!(original.lookup(Account::city, "Paris")?.count(), 0);
    // Ids made by either side never collide with the other's.
    assert_ne!(
        original.insert(account("x@example.com", "x", "Oslo"))?,
        grace
    );
    Ok(())
}

#[test]
fn clone_filtered_keeps_ids_versions_and_indexes_of_what_it_keeps() -> Result<(), Error> {
    let accounts = Collection::<Account>::new();
    let ada = accounts.insert(account("ada@example.com", "ada", "London"))?;
    accounts.update(ada, account("ada@example.com", "ada", "Paris"))?;
    let grace = accounts.insert(account("grace@example.com", "grace", "Arlington"))?;
    let linus = accounts.insert(account("linus@example.com", "linus", "Paris"))?;

    let parisians = accounts.clone_filtered(|doc| doc.city == "Paris")?;
    let kept: Vec<(Id, u64)> = parisians
        .iter()?
        .map(|doc| (doc.id(), doc.version()))
        .collect();
    assert_eq!(kept, [(ada, 2), (linus, 1)]);
    assert!(!parisians.contains(grace)?);
    assert_eq!(parisians.lookup(Account::city, "Paris")?.count(), 2);
    assert!(
        parisians
            .get_unique(Account::email, "grace@example.com")?
            .is_none()
    );
    assert!(parisians.verify()?.is_empty());

    parisians.delete(ada)?;
    assert!(accounts.contains(ada)?);
    Ok(())
}

#[test]
fn try_update_with_declines_without_a_new_version_and_never_overdraws() -> Result<(), Error> {
    let accounts = Arc::new(Collection::<Account>::new());
    let mut funded = account("a@x", "a", "Oslo");
    funded.balance = 50;
    let id = accounts.insert(funded)?;

    // 8 threads each try 20 withdrawals of 1 from a balance of 50: exactly 50
    // succeed, and the balance never goes below zero.
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let accounts = Arc::clone(&accounts);
            thread::spawn(move || {
                (0..20)
                    .filter(|_| {
                        // The closure may run again after a conflict; the
                        // outcome says what the call did.
                        let result = accounts.try_update_with(id, |a| {
                            (a.balance > 0).then(|| Account {
                                balance: a.balance - 1,
                                ..a.clone()
                            })
                        });
                        matches!(result, Ok(Updated::Changed(_)))
                    })
                    .count()
            })
        })
        .collect();
    let withdrawals: usize = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    let last = accounts.get(id)?;
    assert_eq!(last.balance, 0);
    assert_eq!(last.version(), 51);
    assert_eq!(withdrawals, 50);

    // Declining changes nothing and returns the stored version.
    let unchanged = accounts.try_update_with(id, |_| None)?;
    assert!(unchanged.is_declined());
    assert!(unchanged.into_document().ptr_eq(&last));
    assert_eq!(
        accounts
            .try_update_with(Id::nil(), |a| Some(a.clone()))
            .err(),
        Some(Error::NotFound { id: Id::nil() })
    );
    Ok(())
}
