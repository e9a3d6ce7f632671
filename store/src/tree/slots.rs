//! A fixed-capacity vector stored inline, so that a tree node is one allocation.
//!
//! A node holding a `Vec` costs two cache misses to reach its entries (the node,
//! then the vector's buffer); keeping the entries inline costs one, on every
//! level of every search. `Option` slots keep this free of `unsafe`, and cost no
//! space for the tree's entry types, whose `Option` fits in a niche.

use std::cmp::Ordering;

/// The items of a [`Slots`], in order.
pub(super) type SlotIter<'a, T> =
    std::iter::Flatten<std::iter::Take<std::slice::Iter<'a, Option<T>>>>;

#[derive(Clone)]
pub(super) struct Slots<T, const N: usize> {
    len: usize,
    /// Where the latest [`insert`](Self::insert) went (`usize::MAX` before
    /// any): what tells a run of inserts walking through a node from
    /// scattered ones, which split differently.
    last_insert: usize,
    items: [Option<T>; N],
}

impl<T, const N: usize> Slots<T, N> {
    pub(super) fn new() -> Self {
        Slots {
            len: 0,
            last_insert: usize::MAX,
            items: std::array::from_fn(|_| None),
        }
    }

    /// Takes at most `N` items; any beyond are handed back.
    pub(super) fn from_iter_capped(items: impl IntoIterator<Item = T>) -> (Self, Vec<T>) {
        let mut slots = Slots::new();
        let mut rest = Vec::new();
        for item in items {
            if let Err(item) = slots.push(item) {
                rest.push(item);
            }
        }
        (slots, rest)
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    pub(super) fn get(&self, at: usize) -> Option<&T> {
        self.items.get(at)?.as_ref()
    }

    pub(super) fn get_mut(&mut self, at: usize) -> Option<&mut T> {
        self.items.get_mut(at)?.as_mut()
    }

    /// Where the latest insert went, if one did since this node was made.
    pub(super) fn last_insert(&self) -> Option<usize> {
        (self.last_insert != usize::MAX).then_some(self.last_insert)
    }

    pub(super) fn first(&self) -> Option<&T> {
        self.get(0)
    }

    pub(super) fn iter(&self) -> SlotIter<'_, T> {
        self.items.iter().take(self.len).flatten()
    }

    /// The occupied slots (every one of them `Some`).
    pub(super) fn occupied(&self) -> &[Option<T>] {
        self.items.get(..self.len).unwrap_or_default()
    }

    /// How many items satisfy `pred`, which holds for a leading run and then never.
    #[inline]
    pub(super) fn partition_point(&self, mut pred: impl FnMut(&T) -> bool) -> usize {
        let (mut low, mut high) = (0, self.len);
        while low < high {
            let mid = low + (high - low) / 2;
            if self.get(mid).is_some_and(&mut pred) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        low
    }

    /// Loads one word of each cache line the occupied slots span, so that the
    /// cache misses of a search's probes overlap instead of following one
    /// another: on a large tree, where each probe of a node's binary search
    /// otherwise waits for the one before it.
    #[inline]
    pub(super) fn warm_lines(&self) {
        let step = (64 / std::mem::size_of::<Option<T>>()).max(1);
        let seen = self
            .occupied()
            .iter()
            .step_by(step)
            .filter(|slot| slot.is_some())
            .count();
        std::hint::black_box(seen);
    }

    #[inline]
    pub(super) fn binary_search_by(
        &self,
        mut compare: impl FnMut(&T) -> Ordering,
    ) -> Result<usize, usize> {
        let at = self.partition_point(|item| compare(item) == Ordering::Less);
        match self.get(at).map(compare) {
            Some(Ordering::Equal) => Ok(at),
            _ => Err(at),
        }
    }

    /// Appends; hands the item back when full.
    pub(super) fn push(&mut self, item: T) -> Result<(), T> {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(item);
                self.len += 1;
                Ok(())
            }
            None => Err(item),
        }
    }

    /// Inserts at `at`, shifting later items up; hands the item back when full.
    pub(super) fn insert(&mut self, at: usize, item: T) -> Result<(), T> {
        if self.len >= N || at > self.len {
            return Err(item);
        }
        match self.items.get_mut(at..=self.len) {
            Some(tail) => {
                tail.rotate_right(1);
                if let Some(slot) = tail.first_mut() {
                    *slot = Some(item);
                }
                self.len += 1;
                self.last_insert = at;
                Ok(())
            }
            None => Err(item),
        }
    }

    /// Removes the item at `at`, shifting later items down.
    pub(super) fn remove(&mut self, at: usize) -> Option<T> {
        if at >= self.len {
            return None;
        }
        let tail = self.items.get_mut(at..self.len)?;
        let item = tail.first_mut()?.take();
        tail.rotate_left(1);
        self.len -= 1;
        item
    }

    /// Takes every item out, in order, leaving it empty.
    pub(super) fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        let len = std::mem::take(&mut self.len);
        self.items.iter_mut().take(len).filter_map(Option::take)
    }

    /// Moves the items from `at` on into a new `Slots`.
    pub(super) fn split_off(&mut self, at: usize) -> Self {
        let mut right = Slots::new();
        for slot in self.items.iter_mut().take(self.len).skip(at) {
            if let Some(item) = slot.take() {
                // Cannot fail: `right` holds fewer items than `self` did.
                let _ = right.push(item);
            }
        }
        self.len = self.len.min(at);
        if self.last_insert >= self.len {
            self.last_insert = usize::MAX;
        }
        right
    }

    /// The items at `at` and `at + 1`, both mutable.
    pub(super) fn pair_mut(&mut self, at: usize) -> Option<(&mut T, &mut T)> {
        if at + 1 >= self.len {
            return None;
        }
        let (left, right) = self.items.split_at_mut(at + 1);
        Some((left.last_mut()?.as_mut()?, right.first_mut()?.as_mut()?))
    }

    /// Evens out two neighbours' items, `self` holding the earlier ones: all of
    /// them in `self` if they fit within `max`, otherwise half each (`self` the
    /// smaller half). Items move between the two in place, keeping their order.
    pub(super) fn rebalance(&mut self, right: &mut Self, max: usize) {
        let total = self.len + right.len;
        let keep = if total <= max.min(N) {
            total
        } else {
            total / 2
        };
        if keep > self.len {
            // Move the first items of `right` to the end of `self`.
            let moved = keep - self.len;
            let (Some(to), Some(from)) = (
                self.items.get_mut(self.len..keep),
                right.items.get_mut(..right.len),
            ) else {
                return;
            };
            for (to, from) in to.iter_mut().zip(from.iter_mut()) {
                *to = from.take();
            }
            from.rotate_left(moved);
            right.len -= moved;
            self.len = keep;
        } else if keep < self.len {
            // Move the last items of `self` to the front of `right`.
            let moved = self.len - keep;
            let (Some(to), Some(from)) = (
                right.items.get_mut(..right.len + moved),
                self.items.get_mut(keep..self.len),
            ) else {
                return;
            };
            to.rotate_right(moved);
            for (to, from) in to.iter_mut().zip(from.iter_mut()) {
                *to = from.take();
            }
            right.len += moved;
            self.len = keep;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_a_bounded_vec() {
        let mut slots: Slots<u32, 4> = Slots::new();
        assert_eq!(slots.push(10), Ok(()));
        assert_eq!(slots.insert(0, 5), Ok(()));
        assert_eq!(slots.insert(1, 7), Ok(()));
        assert_eq!(slots.insert(9, 1), Err(1));
        assert_eq!(slots.push(20), Ok(()));
        assert_eq!(slots.push(30), Err(30));
        assert_eq!(slots.iter().copied().collect::<Vec<_>>(), [5, 7, 10, 20]);
        assert_eq!(slots.binary_search_by(|x| x.cmp(&10)), Ok(2));
        assert_eq!(slots.binary_search_by(|x| x.cmp(&8)), Err(2));
        assert_eq!(slots.remove(1), Some(7));
        assert_eq!(slots.remove(3), None);
        let right = slots.split_off(1);
        assert_eq!(slots.iter().copied().collect::<Vec<_>>(), [5]);
        assert_eq!(right.iter().copied().collect::<Vec<_>>(), [10, 20]);
        let (full, rest) = Slots::<u32, 2>::from_iter_capped([1, 2, 3]);
        assert_eq!((full.len(), rest), (2, vec![3]));
    }

    #[test]
    fn rebalancing_neighbours_keeps_order_and_evens_them_out() {
        let items = |slots: &Slots<u32, 8>| slots.iter().copied().collect::<Vec<_>>();
        let of = |range: std::ops::Range<u32>| Slots::<u32, 8>::from_iter_capped(range).0;
        // Both fit in one: the right one empties into the left.
        let (mut left, mut right) = (of(0..2), of(2..5));
        left.rebalance(&mut right, 7);
        assert_eq!((items(&left), items(&right)), (vec![0, 1, 2, 3, 4], vec![]));
        // Too many for one, left short: it takes the right's first items.
        let (mut left, mut right) = (of(0..1), of(1..8));
        left.rebalance(&mut right, 7);
        assert_eq!(
            (items(&left), items(&right)),
            (vec![0, 1, 2, 3], vec![4, 5, 6, 7])
        );
        // Too many for one, right short: it takes the left's last items.
        let (mut left, mut right) = (of(0..8), of(8..9));
        left.rebalance(&mut right, 7);
        assert_eq!(
            (items(&left), items(&right)),
            (vec![0, 1, 2, 3], vec![4, 5, 6, 7, 8])
        );
        let mut pair = of(0..3);
        assert_eq!(pair.pair_mut(1).map(|(a, b)| (*a, *b)), Some((1, 2)));
        assert!(pair.pair_mut(2).is_none());
    }
}
