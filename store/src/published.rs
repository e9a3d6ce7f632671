//! How readers reach the current state without contending with each other.
//!
//! One `RwLock` would do, but every read would then increment and decrement the
//! same lock word: on a multi-core machine that cache line bounces between the
//! cores doing reads, and parallel reads stop scaling. Instead the current state
//! is published in a few read slots, each with its own lock on its own cache
//! line; a thread always reads through the same slot, so readers on different
//! slots never touch a shared line. A writer takes every slot's lock to change
//! the state, which costs it a few uncontended lock operations.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::{RwLock, RwLockWriteGuard};

/// Enough slots that the reading threads of a small machine rarely share one.
const SLOTS: usize = 4;

/// A slot on a cache line of its own (128 bytes covers adjacent-line prefetch).
#[repr(align(128))]
struct Slot<T> {
    /// `None` only while a writer changes the state; see [`Published::change`].
    current: RwLock<Option<Arc<T>>>,
}

/// The current version of a value, readable from many threads at once.
pub(crate) struct Published<T> {
    slots: [Slot<T>; SLOTS],
}

/// The slot this thread reads through: threads are dealt slots in turn.
fn slot_of_this_thread() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SLOT: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SLOTS;
    }
    SLOT.with(|slot| *slot)
}

impl<T> Published<T> {
    pub(crate) fn new(current: &Arc<T>) -> Self {
        Published {
            slots: std::array::from_fn(|_| Slot {
                current: RwLock::new(Some(Arc::clone(current))),
            }),
        }
    }

    /// Runs `read` on the current value (clone the `Arc` to keep it); hands
    /// `read` back if nothing is published, which happens only if a writer
    /// panicked while changing it.
    pub(crate) fn read<F, R>(&self, read: F) -> Result<R, F>
    where
        F: FnOnce(&Arc<T>) -> R,
    {
        let Some(slot) = self.slots.get(slot_of_this_thread()) else {
            return Err(read);
        };
        let current = slot.current.read();
        match current.as_ref() {
            Some(value) => Ok(read(value)),
            None => Err(read),
        }
    }

    fn lock_all(&self) -> [RwLockWriteGuard<'_, Option<Arc<T>>>; SLOTS] {
        // Always in slot order, and only by a caller holding the writer's mutex,
        // so two writers cannot deadlock.
        std::array::from_fn(|i| self.slots[i].current.write())
    }

    /// Publishes `next` in place of the current value.
    pub(crate) fn set(&self, next: &Arc<T>) {
        self.hold().set(next);
    }

    /// Whether someone besides the slots and the writer holds `master`, the
    /// writer's handle on the published value: a snapshot.
    pub(crate) fn is_shared(&self, master: &Arc<T>) -> bool {
        Arc::strong_count(master) > SLOTS + 1
    }

    /// Holds every slot, so that values published in several places (the
    /// stores of one transaction) can all change before any reader sees one.
    pub(crate) fn hold(&self) -> Held<'_, T> {
        Held {
            slots: self.lock_all(),
        }
    }
}

/// Every slot of a [`Published`], held by a writer.
pub(crate) struct Held<'a, T> {
    slots: [RwLockWriteGuard<'a, Option<Arc<T>>>; SLOTS],
}

impl<T> Held<'_, T> {
    /// What readers see now.
    pub(crate) fn current(&self) -> Option<&Arc<T>> {
        self.slots.first().and_then(|slot| slot.as_ref())
    }

    /// Publishes `next`; readers see it once the slots are let go.
    pub(crate) fn set(&mut self, next: &Arc<T>) {
        for slot in &mut self.slots {
            **slot = Some(Arc::clone(next));
        }
    }
}

impl<T: Clone> Published<T> {
    /// Changes `master` (the writer's own handle on the published value) and
    /// publishes the result, as one step for readers.
    pub(crate) fn change<R>(&self, master: &mut Arc<T>, change: impl FnOnce(&mut T) -> R) -> R {
        self.hold().change(master, change)
    }
}

impl<T: Clone> Held<'_, T> {
    /// Changes `master` (the writer's own handle on the published value) and
    /// publishes the result; readers see it once the slots are let go.
    ///
    /// The slots let go of their handles first, so that when no snapshot holds
    /// the value `Arc::make_mut` changes it in place rather than copying it.
    pub(crate) fn change<R>(&mut self, master: &mut Arc<T>, change: impl FnOnce(&mut T) -> R) -> R {
        for slot in &mut self.slots {
            **slot = None;
        }
        let result = change(Arc::make_mut(master));
        self.set(master);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_see_each_change_whole_and_snapshots_keep_theirs() {
        let mut master = Arc::new(vec![1, 2, 3]);
        let published = Published::new(&master);
        let before = published.read(Arc::clone).ok();
        published.change(&mut master, |value| value.push(4));
        let len = |value: &Arc<Vec<i32>>| value.len();
        assert_eq!(
            published.read(|value| value.to_vec()).ok(),
            Some(vec![1, 2, 3, 4])
        );
        assert_eq!(before.as_deref(), Some(&vec![1, 2, 3]));
        std::thread::scope(|s| {
            for _ in 0..6 {
                s.spawn(|| assert_eq!(published.read(len).ok(), Some(4)));
            }
        });
        published.set(&Arc::new(Vec::new()));
        assert_eq!(published.read(len).ok(), Some(0));
    }

    #[test]
    fn a_change_with_no_snapshot_alive_is_made_in_place() {
        let mut master = Arc::new(vec![0u8; 16]);
        let published = Published::new(&master);
        let address = master.as_ptr();
        published.change(&mut master, |value| value[0] = 1);
        assert_eq!(master.as_ptr(), address);
    }
}
