//! Building a new index while writers go on.
//!
//! The build reads a snapshot outside every lock, then catches up with the
//! writes that landed meanwhile, in rounds: while a build runs, each write
//! records its document's id in the engine's [`WriteLog`] (one push under the
//! writers' lock it already holds), and a round re-keys just those documents,
//! outside the lock, against a newer snapshot. Once a round's backlog is small,
//! or after [`ROUNDS`] rounds, the last one runs under the lock and publishes
//! the index. Writers therefore wait at most for one round's writes to be
//! re-keyed, whatever the store's size and the write rate, and the build ends
//! after at most `ROUNDS + 1` catch-ups.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{Engine, State, build_index};
use crate::index::{Entry, IndexDef, IndexState, KeySink, holder_other_than};
use crate::key::describe;
use crate::tree::Tree;
use crate::{Error, Id, Result, Versioned};

/// Catch-up rounds run outside the lock before the last one runs under it.
const ROUNDS: usize = 8;

/// A backlog this small is caught up under the lock at once: shorter than
/// any writer's wait for a whole round would otherwise be.
const SMALL_ROUND: usize = 64;

/// What a test runs before each catch-up round, given the round's number.
#[cfg(feature = "testing")]
pub(crate) type BuildHook = Arc<dyn Fn(usize) + Send + Sync>;

/// The ids of documents written while an index build runs, in write order.
#[derive(Default)]
pub(crate) struct WriteLog {
    /// Builds in progress; ids are recorded only while there is one.
    builders: usize,
    /// The state's generation when the first id in `ids` was not yet written.
    base: u64,
    ids: Vec<Id>,
}

impl WriteLog {
    /// Notes a write of document `id`, made under the writers' lock as the
    /// state's generation moved on by one.
    pub(crate) fn record(&mut self, id: Id) {
        if self.builders > 0 {
            self.ids.push(id);
        }
    }

    fn begin(&mut self, generation: u64) {
        if self.builders == 0 {
            self.base = generation;
            self.ids.clear();
        }
        self.builders += 1;
    }

    fn end(&mut self) {
        self.builders = self.builders.saturating_sub(1);
        if self.builders == 0 {
            self.ids = Vec::new();
        }
    }

    /// The documents written between two generations, if the log covers them.
    fn between(&self, from: u64, to: u64) -> Option<&[Id]> {
        let start = usize::try_from(from.checked_sub(self.base)?).ok()?;
        let end = usize::try_from(to.checked_sub(self.base)?).ok()?;
        self.ids.get(start..end)
    }
}

/// Keeps the write log recording while one build runs, however it ends.
struct Registration<'a, D> {
    engine: &'a Engine<D>,
}

impl<D> Drop for Registration<'_, D> {
    fn drop(&mut self) {
        self.engine.writer.lock().builds.end();
    }
}

impl<D> Engine<D> {
    /// Adds an index and fills it from every document, without stalling
    /// writers: see the module docs.
    pub(crate) fn create_index(&self, def: IndexDef<D>) -> Result<()> {
        let def = Arc::new(def);
        let mut seen = {
            let mut guard = self.writer.lock();
            self.check_can_add(&guard.state, &def)?;
            let generation = guard.state.generation;
            guard.builds.begin(generation);
            Documents::of(&guard.state)
        };
        let _registration = Registration { engine: self };
        let mut index = build_index(&def, &seen.docs)?;
        let mut rounds = 0;
        loop {
            self.pause_build_for_tests(rounds);
            let mut guard = self.writer.lock();
            self.check_can_add(&guard.state, &def)?;
            let current = Documents::of(&guard.state);
            let Some(written) = guard.builds.between(seen.generation, current.generation) else {
                // A write went unrecorded: build again, this once under the lock.
                index = build_index(&def, &current.docs)?;
                self.publish_index(&mut guard.state, index)?;
                return Ok(());
            };
            if written.len() <= SMALL_ROUND || rounds >= ROUNDS {
                catch_up(&mut index, &seen, &current, written)?;
                drop(seen);
                self.publish_index(&mut guard.state, index)?;
                return Ok(());
            }
            let written = written.to_vec();
            drop(guard);
            catch_up(&mut index, &seen, &current, &written)?;
            seen = current;
            rounds += 1;
        }
    }

    fn check_can_add(&self, state: &State<D>, def: &IndexDef<D>) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        if state.index(&def.info.name).is_ok() {
            return Err(Error::IndexExists {
                name: def.info.name.clone(),
            });
        }
        Ok(())
    }

    /// Logs the new index (a durable store's) and publishes it.
    fn publish_index(&self, state: &mut Arc<State<D>>, index: IndexState<D>) -> Result<()> {
        let info = index.def.info.clone();
        let publish = || {
            self.published.change(state, |state| {
                state.indexes.push(index);
                state.indexes_version += 1;
            });
        };
        match &self.journal {
            Some(journal) => journal.create_index(&info, publish),
            None => {
                publish();
                Ok(())
            }
        }
    }

    #[cfg(feature = "testing")]
    fn pause_build_for_tests(&self, round: usize) {
        let hook = self.build_hook.lock().clone();
        if let Some(hook) = hook {
            hook(round);
        }
    }

    #[cfg(not(feature = "testing"))]
    fn pause_build_for_tests(&self, _round: usize) {}

    /// Runs `hook` in every index build of this engine before each round of
    /// catching up (round 0 right after the first pass), outside every lock.
    #[cfg(feature = "testing")]
    pub(crate) fn set_build_hook(&self, hook: Option<BuildHook>) {
        *self.build_hook.lock() = hook;
    }
}

/// The documents of a state, which is all a build reads. Holding them alone
/// rather than the whole state leaves the live indexes unshared, so that the
/// writes landing during a build copy the nodes on their path in the
/// documents tree only, not in every index they change too.
struct Documents<D> {
    docs: Tree<Id, Versioned<D>>,
    generation: u64,
}

impl<D> Documents<D> {
    fn of(state: &State<D>) -> Self {
        Documents {
            docs: state.docs.clone(),
            generation: state.generation,
        }
    }
}

/// Brings `index`, built for the documents of `before`, up to `after`, where
/// only the documents `written` differ: their entries from `before` go, their
/// entries from `after` come, and the new keys are checked for uniqueness once
/// every old one is gone (a key may pass from one document to another).
fn catch_up<D>(
    index: &mut IndexState<D>,
    before: &Documents<D>,
    after: &Documents<D>,
    written: &[Id],
) -> Result<()> {
    let def = Arc::clone(&index.def);
    let mut ids = written.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut sink = KeySink::new();
    let mut added = Vec::new();
    for &id in &ids {
        let mut had = 0;
        if let Some(old) = before.docs.get(&id) {
            // The build (or an earlier round) keyed this version, so it can be again.
            let keys = def.keys_of(old.value(), &mut sink).unwrap_or_default();
            had = keys.as_slice().len();
            for key in keys {
                index.entries.remove(&Entry { key, id });
            }
        }
        let mut has = 0;
        if let Some(new) = after.docs.get(&id) {
            let keys = def.keys_of(new.value(), &mut sink)?;
            has = keys.as_slice().len();
            for key in keys {
                added.push((Entry { key, id }, new));
            }
        }
        index.recount(had, has);
    }
    for (entry, document) in added {
        if def.info.unique
            && let Some(existing) = holder_other_than(&index.entries, &entry.key, entry.id)
        {
            return Err(Error::UniqueViolation {
                index: def.info.name.clone(),
                key: describe(entry.key.as_bytes()),
                existing,
            });
        }
        let value = def.info.covering.then(|| document.clone());
        index.entries.insert(entry, value);
    }
    Ok(())
}
