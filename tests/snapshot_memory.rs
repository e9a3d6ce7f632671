//! What a dropped snapshot held is given back: by the collection's next
//! writes when a reader drops it (so a reader that scans in a loop never frees
//! the writer's memory under its feet), at once when the collection is gone.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use docstore::{Collection, Error, Id, Indexed};

/// Counts the values alive that were made from one `Alive`.
#[derive(Debug)]
struct Alive(Arc<AtomicUsize>);

impl Clone for Alive {
    fn clone(&self) -> Self {
        self.0.fetch_add(1, Ordering::Relaxed);
        Alive(Arc::clone(&self.0))
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[derive(Indexed, Clone, Debug)]
struct Visit {
    #[index]
    page: u32,
    alive: Alive,
}

const VISITS: u32 = 2_000;

/// A collection of `VISITS` visits, each then updated while a snapshot taken
/// before is alive; returns the snapshot, the ids and the live counter.
fn updated_under_a_snapshot()
-> Result<(Collection<Visit>, docstore::Snapshot<Visit>, Vec<Id>, Alive), Error> {
    let alive = Alive(Arc::new(AtomicUsize::new(0)));
    let visits = Collection::new();
    let ids = (0..VISITS)
        .map(|page| {
            visits.insert(Visit {
                page,
                alive: alive.clone(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let snapshot = visits.snapshot()?;
    for (page, id) in (0..VISITS).zip(&ids) {
        visits.update(
            *id,
            Visit {
                page: page + 1,
                alive: alive.clone(),
            },
        )?;
    }
    Ok((visits, snapshot, ids, alive))
}

fn live(alive: &Alive) -> usize {
    alive.0.load(Ordering::Relaxed)
}

#[test]
fn a_snapshot_a_reader_drops_is_freed_by_the_next_writes() -> Result<(), Error> {
    let (visits, snapshot, ids, alive) = updated_under_a_snapshot()?;
    let total = VISITS as usize;
    assert_eq!(live(&alive), 2 * total);
    thread::spawn(move || drop(snapshot))
        .join()
        .expect("the reader");
    // The reader freed nothing, and nothing counts as held any more.
    assert_eq!(live(&alive), 2 * total);
    assert!(visits.stats()?.oldest.is_none());
    let mut writes = 0;
    while live(&alive) > total {
        visits.update(
            ids[0],
            Visit {
                page: 0,
                alive: alive.clone(),
            },
        )?;
        writes += 1;
        assert!(
            writes <= total,
            "{} old versions left",
            live(&alive) - total
        );
    }
    // A little per write, not all at once.
    assert!(writes > 1, "freed in {writes} writes");
    assert_eq!(visits.len()?, total);
    assert_eq!(visits.lookup(Visit::page, 2)?.count(), 1);
    Ok(())
}

#[test]
fn a_snapshot_that_outlives_its_collection_frees_what_it_held_when_dropped() -> Result<(), Error> {
    let (visits, snapshot, _, alive) = updated_under_a_snapshot()?;
    drop(visits);
    assert_eq!(snapshot.len(), VISITS as usize);
    assert_eq!(snapshot.lookup(Visit::page, 0)?.count(), 1);
    drop(snapshot);
    assert_eq!(live(&alive), 0);
    Ok(())
}

#[test]
fn what_snapshots_handed_back_goes_with_the_collection() -> Result<(), Error> {
    let (visits, snapshot, _, alive) = updated_under_a_snapshot()?;
    drop(snapshot);
    drop(visits);
    assert_eq!(live(&alive), 0);
    Ok(())
}

#[test]
fn a_snapshot_still_cloned_elsewhere_keeps_its_documents() -> Result<(), Error> {
    let (visits, snapshot, ids, alive) = updated_under_a_snapshot()?;
    let kept = snapshot.clone();
    drop(snapshot);
    for _ in 0..VISITS {
        visits.update(
            ids[0],
            Visit {
                page: 0,
                alive: alive.clone(),
            },
        )?;
    }
    assert_eq!(live(&alive), 2 * VISITS as usize);
    assert_eq!(kept.get(ids[1])?.page, 1);
    drop(kept);
    while live(&alive) > VISITS as usize {
        visits.update(
            ids[0],
            Visit {
                page: 0,
                alive: alive.clone(),
            },
        )?;
    }
    Ok(())
}

#[test]
fn transactions_free_it_too() -> Result<(), Error> {
    let (visits, snapshot, ids, alive) = updated_under_a_snapshot()?;
    thread::spawn(move || drop(snapshot))
        .join()
        .expect("the reader");
    let mut commits = 0;
    while live(&alive) > VISITS as usize {
        visits.transaction(|tx| {
            tx.update(
                ids[0],
                Visit {
                    page: 0,
                    alive: alive.clone(),
                },
            )
        })?;
        commits += 1;
        assert!(commits <= VISITS, "{} old versions left", live(&alive));
    }
    Ok(())
}
