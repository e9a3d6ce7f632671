//! Keyset pagination: a query that resumes after the last document a page
//! showed, named by its key and id, so that a stateless service can page
//! through any index with no cursor kept between requests.
//!
//! An index orders its entries by key, then by id, so `(key, id)` is a position
//! that stays meaningful across writes: resuming after it never repeats a
//! document already shown and never skips one that was there all along, however
//! many documents share a key. (A document written between two pages shows if
//! its position is after the resume point, as a database's keyset paging does.)

use crate::key::{KeyFor, KeyRange};
use crate::query::IndexRef;
use crate::snapshot::{Arity, encode, results, span};
use crate::{Id, Iter, Result, Snapshot};

impl<D> Snapshot<D> {
    /// The documents of `index` after the one with key `key` and id `id`, in
    /// key order (ties in id order): the next page after a page that ended
    /// there. The first page is [`by_index`](Self::by_index); take each page
    /// with `.take(n)`. The position need not hold a document any more.
    ///
    /// On a multi-key index a document comes at its smallest key, so resume
    /// after that one. O(log n) to start; on a multi-key index where some
    /// document has several keys, finding the repeats reads the index's
    /// entries before the page too, O(log n + e) for e entries in all (see
    /// [`range`](Self::range)).
    ///
    /// ```
    /// use docstore_core::Store;
    /// use serde_json::json;
    ///
    /// let store = Store::new();
    /// store.create_index("by_city", ["city"])?;
    /// for city in ["Oslo", "Lima", "Oslo", "Lima", "Oslo"] {
    ///     store.insert(json!({"city": city}))?;
    /// }
    /// let first: Vec<_> = store.by_index("by_city")?.take(2).collect();
    /// // A stateless service hands out the last key and id, and resumes there.
    /// let last = first.last().expect("a full page");
    /// let key = last.get("city").and_then(|city| city.as_str()).expect("a city");
    /// let next: Vec<_> = store.after("by_city", key, last.id())?.take(2).collect();
    /// assert_eq!(next.len(), 2);
    /// assert!(next.iter().all(|doc| doc.get("city").and_then(|c| c.as_str()) == Some("Oslo")));
    /// # Ok::<(), docstore_core::Error>(())
    /// ```
    pub fn after<I: IndexRef<D>>(
        &self,
        index: I,
        key: impl KeyFor<I::Key>,
        id: Id,
    ) -> Result<Iter<D>> {
        self.range_after(index, .., key, id)
    }

    /// The documents of `index` in `range` after the one with key `key` and id
    /// `id`: the next page of a [`range`](Self::range) query (a prefix is the
    /// range `(first,)..=(first,)`). A position before the range starts it from
    /// the beginning, one after it gives nothing.
    pub fn range_after<I: IndexRef<D>>(
        &self,
        index: I,
        range: impl KeyRange<I::Key>,
        key: impl KeyFor<I::Key>,
        id: Id,
    ) -> Result<Iter<D>> {
        let state = self.state.now();
        let index = state.index(index.index_name())?;
        let (from, end) = span(index, &range, None)?;
        let key = encode(index, Arity::Exact, |out| key.write_key_for(out))?;
        let key = key.as_slice();
        let resume = index
            .entries
            .rank_by(|entry| (entry.key.as_bytes(), entry.id) <= (key, id));
        Ok(results(
            &state,
            index,
            (from, resume.clamp(from, end), end),
            self.as_of.clone(),
        ))
    }
}
