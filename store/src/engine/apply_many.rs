//! Many documents' writes applied to a state at once: what a large
//! transaction's commit does.
//!
//! Applying them one by one, as single writes are, costs a descent of every
//! tree per document. Here each tree's new entries are sorted and merged in
//! leaf by leaf (see `tree::bulk`): the documents in id order, each index's
//! entries in key order. Removed entries, rarer in a large commit, go one by
//! one.

use crate::index::{Entry, Keys};
use crate::{Id, Versioned};

use super::{IndexChange, State};

/// One document's write in a batch: its new version (none for a delete),
/// and its keys in each index (in index order) before and after; keys
/// missing at the end of either list are none.
pub(crate) struct DocWrite<D> {
    pub(crate) id: Id,
    pub(crate) record: Option<Versioned<D>>,
    pub(crate) old_keys: Vec<Keys>,
    pub(crate) new_keys: Vec<Keys>,
}

impl<D> State<D> {
    /// Applies `writes`, which are in id order with no id twice, calling
    /// `halfway` once the documents tree is done and before the indexes.
    pub(crate) fn apply_many(&mut self, writes: Vec<DocWrite<D>>, halfway: &dyn Fn()) {
        let mut puts = Vec::with_capacity(writes.len());
        let mut index_puts: Vec<Vec<(Entry, Option<Versioned<D>>)>> = self
            .indexes
            .iter()
            .map(|_| Vec::with_capacity(writes.len()))
            .collect();
        for DocWrite {
            id,
            record,
            old_keys,
            new_keys,
        } in writes
        {
            if record.is_none() {
                self.forget_deadline(id);
            }
            let mut old_keys = old_keys.into_iter();
            let mut new_keys = new_keys.into_iter();
            for (index, puts) in self.indexes.iter_mut().zip(&mut index_puts) {
                let change = IndexChange::between(
                    old_keys.next().unwrap_or_default(),
                    new_keys.next().unwrap_or_default(),
                );
                let kept = change.kept.as_slice().len();
                let after = match record {
                    Some(_) => change.added.as_slice().len() + kept,
                    None => 0,
                };
                index.recount(change.removed.as_slice().len() + kept, after);
                let value = record.as_ref().map(|record| index.entry_value(record));
                let entries = &mut index.entries;
                change.removed.each(|key| {
                    entries.remove(&Entry { key, id });
                });
                let Some(value) = value else {
                    continue;
                };
                let mut put = |key| puts.push((Entry { key, id }, value.clone()));
                change.added.each(&mut put);
                if value.is_some() {
                    change.kept.each(put);
                }
            }
            match record {
                Some(record) => puts.push((id, record)),
                None => {
                    self.docs.remove(&id);
                }
            }
            self.generation += 1;
        }
        self.docs.put_sorted(puts);
        halfway();
        for (index, mut puts) in self.indexes.iter_mut().zip(index_puts) {
            // A stable sort finds the ascending runs that entries written in
            // id order mostly form (keys that grow with time, or cycle), and
            // merges them in far fewer comparisons than sorting from scratch
            // (an unstable sort cost 3% more per document). Entries were put
            // in id order, so keeping ties as they are orders them by id
            // without comparing ids.
            puts.sort_by(|(a, _), (b, _)| a.key.cmp(&b.key));
            index.entries.put_sorted(puts);
        }
    }
}
