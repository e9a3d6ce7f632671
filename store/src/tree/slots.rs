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
    items: [Option<T>; N],
}

impl<T, const N: usize> Slots<T, N> {
    pub(super) fn new() -> Self {
        Slots {
            len: 0,
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

    pub(super) fn get(&self, at: usize) -> Option<&T> {
        self.items.get(at)?.as_ref()
    }

    pub(super) fn get_mut(&mut self, at: usize) -> Option<&mut T> {
        self.items.get_mut(at)?.as_mut()
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

    pub(super) fn push(&mut self, item: T) -> Result<(), T> {
        self.insert(self.len, item)
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
        right
    }

    /// Empties the slots, yielding the items in order.
    pub(super) fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        let len = std::mem::take(&mut self.len);
        self.items.iter_mut().take(len).filter_map(Option::take)
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
}
