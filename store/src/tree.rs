//! A persistent, counted B+tree: the ordered map under every collection and index.
//!
//! Nodes are shared through `Arc`, so cloning a tree is O(1) and a clone is a
//! snapshot. Writes go through `Arc::make_mut`: a node nobody else holds is changed
//! in place, and a node a snapshot still holds is copied first (path copying), so
//! a snapshot never sees later writes and a writer pays for copies only while
//! snapshots are alive. Every branch records the size and smallest key of each
//! child, which gives rank queries (`rank_by`, `nth`) in O(log n): the basis of
//! lazy query results with an exact length, of first-k / last-k, and of cursors
//! that can jump by any distance.

mod bulk;
mod slots;

use std::borrow::Borrow;
use std::mem;
use std::sync::Arc;

use slots::{SlotIter, Slots};

use crate::Id;

/// Most entries in a leaf before it splits.
const LEAF_MAX: usize = 32;
/// Most children in a branch before it splits.
const BRANCH_MAX: usize = 16;
/// A node has room for one more than its most, so it can take an entry and then split.
const LEAF_SLOTS: usize = LEAF_MAX + 1;
const BRANCH_SLOTS: usize = BRANCH_MAX + 1;

/// Slots of a leaf in an index's tree. Halving them (16 entries) brought the
/// p99 of writes beside a scan on a store of 1M documents closer to that of
/// writes alone, since a write whose path a snapshot shares copies two index
/// leaves; but it cost 9% more memory for the workload's store, over
/// README's memory targets, so index leaves stay the documents' size.
pub(crate) const INDEX_LEAF_SLOTS: usize = LEAF_MAX + 1;

/// The tree of an index's entries.
pub(crate) type IndexTree<K, V> = Tree<K, V, INDEX_LEAF_SLOTS>;
/// A walk over an index's entries.
pub(crate) type IndexWalk<K, V> = Walk<K, V, INDEX_LEAF_SLOTS>;

type LeafEntries<K, V, const S: usize> = Slots<(K, V), S>;
type Children<K, V, const S: usize> = Slots<Child<K, V, S>, BRANCH_SLOTS>;

/// An ordered map with O(1) snapshots.
pub(crate) struct Tree<K, V, const S: usize = LEAF_SLOTS> {
    root: Option<Arc<Node<K, V, S>>>,
    len: usize,
}

impl<K, V, const S: usize> Clone for Tree<K, V, S> {
    fn clone(&self) -> Self {
        Tree {
            root: self.root.clone(),
            len: self.len,
        }
    }
}

impl<K, V, const S: usize> Default for Tree<K, V, S> {
    fn default() -> Self {
        Tree { root: None, len: 0 }
    }
}

enum Node<K, V, const S: usize> {
    Leaf(LeafEntries<K, V, S>),
    Branch(Children<K, V, S>),
}

/// What a copy of a node does first with each entry it will clone: read the
/// memory the entry points to (a reference count), with plain loads.
///
/// A write copies each node on its path that a snapshot shares, and cloning
/// an entry that holds an `Arc` increments that `Arc`'s count: a locked
/// instruction, which lets no later load start before its own cache miss is
/// served. A leaf of records scattered over a large store thus waited for its
/// misses one after another. Read first, the misses overlap, and the
/// increments then find their lines in cache.
pub(crate) trait Warm {
    /// Reads what the entry points to; nothing for entries held inline.
    fn warm(&self) {}
}

macro_rules! held_inline {
    ($($t:ty),*) => { $(impl Warm for $t {})* };
}
held_inline!((), u64, Id);
#[cfg(test)]
held_inline!(i32, u32);

impl<T: ?Sized> Warm for Arc<T> {
    fn warm(&self) {
        std::hint::black_box(Arc::strong_count(self));
    }
}

impl<A: Warm, B: Warm> Warm for (A, B) {
    fn warm(&self) {
        self.0.warm();
        self.1.warm();
    }
}

impl<T: Warm> Warm for Option<T> {
    fn warm(&self) {
        if let Some(inner) = self {
            inner.warm();
        }
    }
}

impl<K: Clone + Warm, V: Clone + Warm, const S: usize> Clone for Node<K, V, S> {
    fn clone(&self) -> Self {
        match self {
            Node::Leaf(entries) => {
                for entry in entries.iter() {
                    entry.warm();
                }
                Node::Leaf(entries.clone())
            }
            Node::Branch(children) => {
                for child in children.iter() {
                    child.node.warm();
                }
                Node::Branch(children.clone())
            }
        }
    }
}

#[derive(Clone)]
struct Child<K, V, const S: usize> {
    /// The smallest key in the subtree: what searches route by.
    min: K,
    /// How many entries the subtree holds: what rank queries add up.
    len: usize,
    node: Arc<Node<K, V, S>>,
}

impl<K, V, const S: usize> Node<K, V, S> {
    fn width(&self) -> usize {
        match self {
            Node::Leaf(entries) => entries.len(),
            Node::Branch(children) => children.len(),
        }
    }

    fn min(&self) -> Option<&K> {
        match self {
            Node::Leaf(entries) => entries.first().map(|(key, _)| key),
            Node::Branch(children) => children.first().map(|child| &child.min),
        }
    }
}

impl<K: Ord + Clone + Warm, V: Clone + Warm, const S: usize> Tree<K, V, S> {
    /// Builds a tree from entries already sorted by key, with no duplicates, in O(n).
    pub(crate) fn from_sorted(entries: Vec<(K, V)>) -> Self {
        let len = entries.len();
        if len == 0 {
            return Tree::default();
        }
        // Leave a quarter of each node free, so the first inserts do not split.
        let mut level: Vec<Child<K, V, S>> = chunks(entries, (S - 1) * 3 / 4)
            .into_iter()
            .filter_map(|leaf| child_of_leaf(Slots::from_iter_capped(leaf).0))
            .collect();
        while level.len() > 1 {
            level = chunks(level, BRANCH_MAX * 3 / 4)
                .into_iter()
                .filter_map(|children| child_of_branch(Slots::from_iter_capped(children).0))
                .collect();
        }
        Tree {
            root: level.pop().map(|child| child.node),
            len,
        }
    }

    /// Inserts or replaces; returns the value replaced.
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        let Some(root) = &mut self.root else {
            let mut entries = Slots::new();
            // Cannot fail: the slots are empty.
            let _ = entries.push((key, value));
            self.root = Some(Arc::new(Node::Leaf(entries)));
            self.len = 1;
            return None;
        };
        let (old, split) = insert_into(unshare(root), key, value);
        if let Some(right) = split
            && let Some(left) = self.root.take()
        {
            let left = Child {
                min: left.min().unwrap_or(&right.min).clone(),
                len: self.len + usize::from(old.is_none()) - right.len,
                node: left,
            };
            let (children, _) = Slots::from_iter_capped([left, right]);
            self.root = Some(Arc::new(Node::Branch(children)));
        }
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// Removes a key; returns its value. Removing an absent key may still copy
    /// shared nodes on its path, which is harmless: callers remove keys they know
    /// are present, and skipping a read-only descent first keeps removal to one pass.
    pub(crate) fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let root = self.root.as_mut()?;
        let (old, _) = remove_from(unshare(root), key)?;
        self.len -= 1;
        // Let the root shrink: an empty leaf goes, a branch of one child is replaced by it.
        loop {
            match self.root.as_deref() {
                Some(Node::Leaf(entries)) if entries.is_empty() => self.root = None,
                Some(Node::Branch(children)) if children.len() == 1 => {
                    self.root = children.first().map(|child| Arc::clone(&child.node));
                }
                _ => break,
            }
        }
        Some(old)
    }
}

impl<K: Ord, V, const S: usize> Tree<K, V, S> {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let mut node = self.root.as_deref()?;
        loop {
            match node {
                Node::Leaf(entries) => {
                    let at = entries
                        .binary_search_by(|(k, _)| k.borrow().cmp(key))
                        .ok()?;
                    return entries.get(at).map(|(_, value)| value);
                }
                Node::Branch(children) => {
                    let after = children.partition_point(|child| child.min.borrow() <= key);
                    node = &children.get(after.checked_sub(1)?)?.node;
                }
            }
        }
    }

    /// Calls `each` on the run of entries that fail `below` (a partition
    /// predicate) but satisfy `within`, by reference and with no rank kept,
    /// if the run lies in one leaf and holds at most `most` entries; returns
    /// whether it did (otherwise `each` may have seen part of the run). One
    /// descent, no reference counts: the cheapest way to read a short run.
    pub(crate) fn short_run(
        &self,
        mut below: impl FnMut(&K) -> bool,
        mut within: impl FnMut(&K) -> bool,
        most: usize,
        mut each: impl FnMut(&K, &V),
    ) -> bool {
        let Some(mut node) = self.root.as_deref() else {
            return true;
        };
        // The nearest right sibling of the path so far (its min is the first
        // key after the subtree being descended), and the key after that
        // sibling's subtree.
        let mut next: Option<&Child<K, V, S>> = None;
        let mut beyond: Option<&K> = None;
        // Whether the descent moved on to `next`, because the run starts
        // exactly at a leaf's first key: then it takes the leftmost path.
        let mut moved = false;
        loop {
            match node {
                Node::Leaf(entries) => {
                    let at = if moved {
                        0
                    } else {
                        entries.warm_lines();
                        entries.partition_point(|(k, _)| below(k))
                    };
                    if at == entries.len() && !moved {
                        match next {
                            Some(sibling) if within(&sibling.min) => {
                                node = &sibling.node;
                                next = None;
                                moved = true;
                                continue;
                            }
                            _ => return true,
                        }
                    }
                    let mut run = 0;
                    for (k, v) in entries.iter().skip(at) {
                        if !within(k) {
                            return true;
                        }
                        run += 1;
                        if run > most {
                            return false;
                        }
                        each(k, v);
                    }
                    // The run reaches the end of this leaf: it goes on only
                    // if the next key is in it. Telling so here spares the
                    // caller a second descent.
                    // Before a move `beyond` is set only beside `next`; after
                    // one it is the key after the subtree moved into.
                    let after = next.map(|sibling| &sibling.min).or(beyond);
                    return !after.is_some_and(within);
                }
                Node::Branch(children) => {
                    let chosen = if moved {
                        0
                    } else {
                        children.warm_lines();
                        children
                            .partition_point(|child| below(&child.min))
                            .saturating_sub(1)
                    };
                    let Some(child) = children.get(chosen) else {
                        return true;
                    };
                    if let Some(sibling) = children.get(chosen + 1) {
                        if !moved {
                            beyond = children.get(chosen + 2).or(next).map(|after| &after.min);
                        }
                        next = Some(sibling);
                    }
                    node = &child.node;
                }
            }
        }
    }

    /// The ranks of the keys that fail `below` (a partition predicate, as for
    /// [`rank_by`](Self::rank_by)) but satisfy `within`, which must hold for a
    /// run of keys right after those satisfying `below`. Also returns a walk
    /// positioned on the run's first leaf. One descent does it when the run ends
    /// in the leaf where it starts, as the run of one key mostly does.
    pub(crate) fn run_by(
        &self,
        mut below: impl FnMut(&K) -> bool,
        mut within: impl FnMut(&K) -> bool,
    ) -> (usize, usize, Walk<K, V, S>) {
        let mut walk = Walk::new(self.clone());
        let Some(mut node) = self.root.as_ref() else {
            return (0, 0, walk);
        };
        let mut rank = 0;
        loop {
            match &**node {
                Node::Leaf(entries) => {
                    let at = entries.partition_point(|(k, _)| below(k));
                    let run = entries
                        .iter()
                        .skip(at)
                        .take_while(|(k, _)| within(k))
                        .count();
                    let start = rank + at;
                    let end = if at + run < entries.len() {
                        start + run
                    } else {
                        self.rank_by(|k| below(k) || within(k))
                    };
                    walk.leaf = Some((Arc::clone(node), rank));
                    return (start, end, walk);
                }
                Node::Branch(children) => match child_by(children, &mut below, &mut rank) {
                    Some(child) => node = child,
                    None => return (rank, rank, walk),
                },
            }
        }
    }

    /// How many keys satisfy `below`, which must hold for a leading run of keys
    /// and then never again (a partition point, as in `slice::partition_point`).
    pub(crate) fn rank_by(&self, mut below: impl FnMut(&K) -> bool) -> usize {
        let mut rank = 0;
        let Some(mut node) = self.root.as_deref() else {
            return 0;
        };
        loop {
            match node {
                Node::Leaf(entries) => return rank + entries.partition_point(|(k, _)| below(k)),
                Node::Branch(children) => match child_by(children, &mut below, &mut rank) {
                    Some(child) => node = child,
                    None => return rank,
                },
            }
        }
    }

    /// The entry at `rank` in key order.
    pub(crate) fn nth(&self, rank: usize) -> Option<(&K, &V)> {
        let (leaf, start) = self.leaf_at(rank)?;
        match &**leaf {
            Node::Leaf(entries) => entries.get(rank - start).map(|(k, v)| (k, v)),
            Node::Branch(_) => None,
        }
    }

    /// The leaf holding `rank`, with the rank of its first entry.
    fn leaf_at(&self, rank: usize) -> Option<(&Arc<Node<K, V, S>>, usize)> {
        let mut node = self.root.as_ref()?;
        let mut start = 0;
        loop {
            match &**node {
                Node::Leaf(entries) => {
                    return (rank - start < entries.len()).then_some((node, start));
                }
                Node::Branch(children) => {
                    let mut next = None;
                    for child in children.iter() {
                        if rank < start + child.len {
                            next = Some(&child.node);
                            break;
                        }
                        start += child.len;
                    }
                    node = next?;
                }
            }
        }
    }

    /// Checks every structural invariant; describes the first one broken.
    pub(crate) fn check(&self) -> Result<(), String> {
        let Some(root) = &self.root else {
            return if self.len == 0 {
                Ok(())
            } else {
                Err(format!("empty tree claims {} entries", self.len))
            };
        };
        let (len, _) = check_node(root, None)?;
        if len != self.len {
            return Err(format!("tree claims {} entries, holds {len}", self.len));
        }
        Ok(())
    }
}

/// `Arc::make_mut` on a node: in place when nobody else holds it, a copy when
/// a snapshot shares it. Tests count the copies (see [`copies`]).
fn unshare<K: Clone + Warm, V: Clone + Warm, const S: usize>(
    node: &mut Arc<Node<K, V, S>>,
) -> &mut Node<K, V, S> {
    copies::note(node);
    Arc::make_mut(node)
}

/// How many shared nodes the writes on this thread copied: the extra work a
/// write pays while a snapshot (or an index build) holds the nodes on its path.
#[cfg(feature = "testing")]
pub(crate) mod copies {
    use std::cell::Cell;
    use std::sync::Arc;

    thread_local! {
        static COPIED: Cell<u64> = const { Cell::new(0) };
    }

    pub(super) fn note<T>(node: &Arc<T>) {
        if Arc::strong_count(node) > 1 {
            COPIED.with(|copied| copied.set(copied.get() + 1));
        }
    }

    /// The copies since the last call.
    pub(crate) fn take() -> u64 {
        COPIED.with(Cell::take)
    }
}

#[cfg(not(feature = "testing"))]
mod copies {
    pub(super) fn note<T>(_: &std::sync::Arc<T>) {}
}

/// Returns (entries, depth).
fn check_node<K: Ord, V, const S: usize>(
    node: &Node<K, V, S>,
    lower: Option<&K>,
) -> Result<(usize, usize), String> {
    match node {
        Node::Leaf(entries) => {
            if entries
                .iter()
                .zip(entries.iter().skip(1))
                .any(|(a, b)| a.0 >= b.0)
            {
                return Err("leaf keys out of order".into());
            }
            if let (Some(lower), Some((first, _))) = (lower, entries.first())
                && first < lower
            {
                return Err("leaf key below its branch's bound".into());
            }
            Ok((entries.len(), 0))
        }
        Node::Branch(children) => {
            let mut total = 0;
            let mut depth = None;
            for (i, child) in children.iter().enumerate() {
                if children
                    .get(i + 1)
                    .is_some_and(|next| next.min <= child.min)
                {
                    return Err("branch children out of order".into());
                }
                if child.node.min() != Some(&child.min) {
                    return Err("a child's recorded min is not its smallest key".into());
                }
                let (len, child_depth) = check_node(&child.node, Some(&child.min))?;
                if len != child.len {
                    return Err(format!("child records {} entries, holds {len}", child.len));
                }
                if *depth.get_or_insert(child_depth) != child_depth {
                    return Err("leaves at different depths".into());
                }
                total += len;
            }
            Ok((total, depth.unwrap_or(0) + 1))
        }
    }
}

/// Splits `items` into runs of about `target`, as even as possible.
fn chunks<T>(items: Vec<T>, target: usize) -> Vec<Vec<T>> {
    let (count, base, extra) = even_sizes(items.len(), target);
    let mut out = Vec::with_capacity(count);
    let mut items = items.into_iter();
    for i in 0..count {
        let size = base + usize::from(i < extra);
        out.push(items.by_ref().take(size).collect());
    }
    out
}

/// How `len` items split into runs of about `target`, as even as possible:
/// the number of runs, and their size, the first `extra` one more.
fn even_sizes(len: usize, target: usize) -> (usize, usize, usize) {
    let count = len.div_ceil(target.max(1)).max(1);
    (count, len / count, len % count)
}

/// The child a search by the partition predicate `below` goes down into, adding
/// to `rank` the entries of the children before it: the last child whose
/// smallest key satisfies `below`, or the first child if none does (every key
/// failing `below` then lies in or after it).
fn child_by<'a, K, V, const S: usize>(
    children: &'a Children<K, V, S>,
    below: &mut impl FnMut(&K) -> bool,
    rank: &mut usize,
) -> Option<&'a Arc<Node<K, V, S>>> {
    let after = children.partition_point(|child| below(&child.min));
    let Some(last) = after.checked_sub(1) else {
        return children.first().map(|child| &child.node);
    };
    *rank += children
        .iter()
        .take(last)
        .map(|child| child.len)
        .sum::<usize>();
    children.get(last).map(|child| &child.node)
}

/// Returns the value replaced, and a new right sibling if the node split.
fn insert_into<K: Ord + Clone + Warm, V: Clone + Warm, const S: usize>(
    node: &mut Node<K, V, S>,
    key: K,
    value: V,
) -> (Option<V>, Option<Child<K, V, S>>) {
    match node {
        Node::Leaf(entries) => match entries.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(at) => match entries.get_mut(at) {
                Some(entry) => (Some(mem::replace(&mut entry.1, value)), None),
                None => (None, None),
            },
            Err(at) => {
                let last = entries.last_insert();
                if entries.insert(at, (key, value)).is_err() {
                    // Unreachable: a leaf always has a free slot between splits.
                    return (None, None);
                }
                if entries.len() < S {
                    return (None, None);
                }
                let right = entries.split_off(leaf_split(at, last, S));
                (None, child_of_leaf(right))
            }
        },
        Node::Branch(children) => {
            let after = children.partition_point(|child| child.min <= key);
            let at = after.saturating_sub(1);
            let Some(child) = children.get_mut(at) else {
                return (None, None);
            };
            // Only a key below every child's min (none precedes it) lowers the
            // first child's: the search already told, with no compare more.
            if after == 0 {
                child.min = key.clone();
            }
            let (old, split) = insert_into(unshare(&mut child.node), key, value);
            if old.is_none() {
                child.len += 1;
            }
            let Some(right) = split else {
                return (old, None);
            };
            child.len -= right.len;
            if children.insert(at + 1, right).is_err() {
                // Unreachable: a branch always has a free slot between splits.
                return (old, None);
            }
            if children.len() <= BRANCH_MAX {
                return (old, None);
            }
            let split_at = if at + 2 == children.len() {
                BRANCH_MAX
            } else {
                children.len() / 2
            };
            let right = children.split_off(split_at);
            (old, child_of_branch(right))
        }
    }
}

/// Where a full leaf of `slots` entries splits after an insert at `at`, the
/// insert before it having gone to `last`.
///
/// Inserts often walk through a node in order: ids are time-ordered, and an
/// index over a field with few values (an age, a city) takes each new entry
/// at the end of its value's run, after every earlier one. Halving a node
/// such a walk has passed leaves its first half empty forever (an index's
/// leaves end about half full); splitting just past the walk's position
/// leaves the entries behind it full. Scattered inserts split in half.
fn leaf_split(at: usize, last: Option<usize>, slots: usize) -> usize {
    let (low, high) = (2, slots.saturating_sub(2).max(2));
    if at + 1 == slots {
        // Appending: the new entry starts the right node alone.
        return slots - 1;
    }
    match last {
        // Walking up: what comes next lands after the new entry.
        Some(last) if last < at && at <= last + 2 => (at + 1).clamp(low, high),
        // Walking down: what comes next lands before it.
        Some(last) if last == at => at.clamp(low, high),
        _ => slots / 2,
    }
}

fn child_of_leaf<K: Clone, V, const S: usize>(
    entries: LeafEntries<K, V, S>,
) -> Option<Child<K, V, S>> {
    Some(Child {
        min: entries.first()?.0.clone(),
        len: entries.len(),
        node: Arc::new(Node::Leaf(entries)),
    })
}

fn child_of_branch<K: Clone, V, const S: usize>(
    children: Children<K, V, S>,
) -> Option<Child<K, V, S>> {
    Some(Child {
        min: children.first()?.min.clone(),
        len: children.iter().map(|child| child.len).sum(),
        node: Arc::new(Node::Branch(children)),
    })
}

/// Removes `key`; returns its value, and whether it was the node's first
/// entry (whose removal changes the node's min).
fn remove_from<K, V, Q, const S: usize>(node: &mut Node<K, V, S>, key: &Q) -> Option<(V, bool)>
where
    K: Ord + Clone + Warm + Borrow<Q>,
    V: Clone + Warm,
    Q: Ord + ?Sized,
{
    match node {
        Node::Leaf(entries) => {
            let at = entries
                .binary_search_by(|(k, _)| k.borrow().cmp(key))
                .ok()?;
            entries.remove(at).map(|(_, value)| (value, at == 0))
        }
        Node::Branch(children) => {
            let at = children
                .partition_point(|child| child.min.borrow() <= key)
                .checked_sub(1)?;
            let child = children.get_mut(at)?;
            let (old, was_min) = remove_from(unshare(&mut child.node), key)?;
            child.len -= 1;
            if child.len == 0 {
                children.remove(at);
                return Some((old, at == 0));
            }
            // The child says whether its min went: no key compare per level.
            if was_min && let Some(min) = child.node.min() {
                child.min = min.clone();
            }
            let max = match &*child.node {
                Node::Leaf(_) => S - 1,
                Node::Branch(_) => BRANCH_MAX,
            };
            if child.node.width() < max / 4 {
                // Moves entries between neighbours in order: the node's first
                // entry stays first.
                merge_with_neighbour(children, at, max);
            }
            Some((old, at == 0 && was_min))
        }
    }
}

/// Merges an underfull child with a neighbour; if the two together are too
/// wide for one node, shares their items evenly between the two instead. Items
/// move in place: nothing is allocated unless a snapshot shares one of the two.
fn merge_with_neighbour<K: Clone + Warm, V: Clone + Warm, const S: usize>(
    children: &mut Children<K, V, S>,
    at: usize,
    max: usize,
) {
    let left_at = if at + 1 < children.len() {
        at
    } else if at > 0 {
        at - 1
    } else {
        return;
    };
    let Some((left, right)) = children.pair_mut(left_at) else {
        return;
    };
    match (unshare(&mut left.node), unshare(&mut right.node)) {
        (Node::Leaf(left_entries), Node::Leaf(right_entries)) => {
            left_entries.rebalance(right_entries, max);
            left.len = left_entries.len();
            right.len = right_entries.len();
        }
        (Node::Branch(left_children), Node::Branch(right_children)) => {
            left_children.rebalance(right_children, max);
            left.len = left_children.iter().map(|child| child.len).sum();
            right.len = right_children.iter().map(|child| child.len).sum();
        }
        // Siblings always have the same height; should that ever not hold, leave
        // both as they are rather than lose entries.
        _ => return,
    }
    match right.node.min() {
        Some(min) => right.min = min.clone(),
        None => {
            children.remove(left_at + 1);
        }
    }
}

/// Every entry of a tree in key order, by reference: a depth-first walk that
/// touches no reference count, for reading a whole snapshot as fast as memory
/// allows.
///
/// Its per-entry state (the current leaf's slice iterator) is kept apart from
/// the leaf finder, which [`Leaves::step`] (out of line) takes and gives back
/// by value: had it taken `&mut self`, the iterator's address would escape,
/// and the compiler would then write the leaf's position back to memory on
/// every entry, which cost a scan twice the instructions of a hash map's.
pub(crate) struct Entries<'a, K, V, const S: usize = LEAF_SLOTS> {
    /// A plain slice iterator over occupied slots: the hot loop of a scan,
    /// kept as simple as can be.
    leaf: std::slice::Iter<'a, Option<(K, V)>>,
    leaves: Leaves<'a, K, V, S>,
}

/// The leaves of a tree, in key order, each found one leaf ahead of the one
/// handed out.
///
/// Reading a leaf's values mostly waits on memory (each value points
/// elsewhere), and those waits overlap only while the processor knows which
/// addresses come next: had the walk looked for the next leaf only at the end
/// of this one, every leaf would start with a wait no other load overlaps,
/// which measured twice as slow as reading the same values from a vector.
struct Leaves<'a, K, V, const S: usize> {
    /// The unvisited children of each branch on the path to the leaf after `ahead`.
    branches: Vec<SlotIter<'a, Child<K, V, S>>>,
    /// The entries of the next leaf that has any, already found.
    ahead: &'a [Option<(K, V)>],
    /// How many entries the leaves not yet handed out hold (`ahead`'s among them).
    after: usize,
}

impl<K, V, const S: usize> Default for Leaves<'_, K, V, S> {
    fn default() -> Self {
        Leaves {
            branches: Vec::new(),
            ahead: &[],
            after: 0,
        }
    }
}

impl<K, V, const S: usize> Tree<K, V, S> {
    #[inline]
    pub(crate) fn entries(&self) -> Entries<'_, K, V, S> {
        let mut leaves = Leaves {
            after: self.len,
            ..Leaves::default()
        };
        if let Some(root) = &self.root {
            leaves.ahead = leaves.descend(root);
        }
        let (leaf, leaves) = leaves.step();
        Entries {
            leaf: leaf.iter(),
            leaves,
        }
    }
}

impl<'a, K, V, const S: usize> Leaves<'a, K, V, S> {
    /// Goes down the leftmost path of `node` to its first leaf.
    fn descend(&mut self, mut node: &'a Node<K, V, S>) -> &'a [Option<(K, V)>] {
        loop {
            match node {
                Node::Leaf(entries) => return entries.occupied(),
                Node::Branch(children) => {
                    let mut rest = children.iter();
                    let first = rest.next();
                    self.branches.push(rest);
                    match first {
                        Some(child) => node = &child.node,
                        None => return &[],
                    }
                }
            }
        }
    }

    /// Hands over the leaf found ahead (empty at the end) and finds the next
    /// one with entries. Out of line, so that `Entries::next`, the per-entry
    /// loop, stays small enough to inline into the caller's loop.
    #[inline(never)]
    fn step(mut self) -> (&'a [Option<(K, V)>], Self) {
        let next = std::mem::take(&mut self.ahead);
        self.after = self.after.saturating_sub(next.len());
        while self.ahead.is_empty() {
            let Some(branch) = self.branches.last_mut() else {
                break;
            };
            match branch.next() {
                Some(child) => self.ahead = self.descend(&child.node),
                None => {
                    self.branches.pop();
                }
            }
        }
        (next, self)
    }
}

impl<'a, K, V, const S: usize> Iterator for Entries<'a, K, V, S> {
    type Item = (&'a K, &'a V);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(slot) = self.leaf.next() {
                // Every slot of an occupied run holds an entry.
                if let Some((key, value)) = slot {
                    return Some((key, value));
                }
                continue;
            }
            if self.leaves.ahead.is_empty() {
                return None;
            }
            let (leaf, leaves) = std::mem::take(&mut self.leaves).step();
            self.leaf = leaf.iter();
            self.leaves = leaves;
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let remaining = self.leaf.len() + self.leaves.after;
        (remaining, Some(remaining))
    }
}

impl<K, V, const S: usize> ExactSizeIterator for Entries<'_, K, V, S> {}

/// A position-addressed walk over a tree snapshot that owns what it reads, so it
/// can outlive the store's lock and move across threads. It caches the leaf it
/// read last, which makes a sequential walk O(1) per step amortised.
pub(crate) struct Walk<K, V, const S: usize = LEAF_SLOTS> {
    tree: Tree<K, V, S>,
    leaf: Option<(Arc<Node<K, V, S>>, usize)>,
}

impl<K, V, const S: usize> Clone for Walk<K, V, S> {
    fn clone(&self) -> Self {
        Walk {
            tree: self.tree.clone(),
            leaf: self.leaf.clone(),
        }
    }
}

impl<K: Ord, V, const S: usize> Walk<K, V, S> {
    pub(crate) fn new(tree: Tree<K, V, S>) -> Self {
        Walk { tree, leaf: None }
    }

    /// The entry at `rank`.
    pub(crate) fn at(&mut self, rank: usize) -> Option<(&K, &V)> {
        let cached = self
            .leaf
            .as_ref()
            .is_some_and(|(leaf, start)| rank >= *start && rank - start < leaf.width());
        if !cached {
            self.leaf = self
                .tree
                .leaf_at(rank)
                .map(|(leaf, start)| (Arc::clone(leaf), start));
        }
        let (leaf, start) = self.leaf.as_ref()?;
        match &**leaf {
            Node::Leaf(entries) => entries.get(rank - start).map(|(k, v)| (k, v)),
            Node::Branch(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// A deterministic stream of numbers for shuffling.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn matches_a_btreemap_under_random_inserts_and_removes() {
        matches_a_btreemap::<LEAF_SLOTS>();
        matches_a_btreemap::<INDEX_LEAF_SLOTS>();
    }

    fn matches_a_btreemap<const S: usize>() {
        let mut tree: Tree<_, _, S> = Tree::default();
        let mut model = BTreeMap::new();
        let mut state = 7;
        for step in 0..20_000u64 {
            let key = xorshift(&mut state) % 2_000;
            if xorshift(&mut state).is_multiple_of(3) {
                assert_eq!(tree.remove(&key), model.remove(&key));
            } else {
                assert_eq!(tree.insert(key, step), model.insert(key, step));
            }
            if step % 1_000 == 0 {
                assert_eq!(tree.check(), Ok(()));
            }
        }
        assert_eq!(tree.check(), Ok(()));
        assert_eq!(tree.len(), model.len());
        for (rank, (key, value)) in model.iter().enumerate() {
            assert_eq!(tree.nth(rank), Some((key, value)));
            assert_eq!(tree.get(key), Some(value));
            assert_eq!(tree.rank_by(|k| k < key), rank);
        }
        assert_eq!(tree.nth(model.len()), None);
    }

    #[test]
    fn runs_are_found_in_one_leaf_or_across_several() {
        let tree: Tree<(u32, u32), ()> =
            Tree::from_sorted((0..3_000).map(|i| ((i / 100, i % 100), ())).collect());
        for key in [0, 7, 29] {
            let (start, end, mut walk) = tree.run_by(|k| k.0 < key, |k| k.0 == key);
            assert_eq!((start, end), (key as usize * 100, key as usize * 100 + 100));
            assert_eq!(walk.at(start).map(|(k, _)| *k), Some((key, 0)));
        }
        let (start, end, _) = tree.run_by(|k| *k < (5, 50), |k| *k == (5, 50));
        assert_eq!((start, end), (550, 551));
        let (start, end, _) = tree.run_by(|k| k.0 < 99, |k| k.0 == 99);
        assert_eq!((start, end), (3_000, 3_000));
        let empty: Tree<u32, ()> = Tree::default();
        assert_eq!(empty.run_by(|_| true, |_| true).0, 0);
    }

    #[test]
    fn a_short_run_is_read_whole_or_declined() {
        // Runs of every length from 1 to 41 at every offset, so that runs end at,
        // start after, and cross every leaf boundary of a tree built by
        // scattered inserts (uneven leaves) and by a sorted load (full ones).
        let mut scattered: Tree<(u32, u32), u32> = Tree::default();
        let mut state = 7;
        let mut keys = Vec::new();
        for group in 0..400u32 {
            for member in 0..=(group % 41) {
                keys.push((group, member));
            }
        }
        while !keys.is_empty() {
            let at = (xorshift(&mut state) % keys.len() as u64) as usize;
            let key = keys.swap_remove(at);
            scattered.insert(key, key.0);
        }
        let sorted = Tree::from_sorted(scattered.entries().map(|(k, v)| (*k, *v)).collect());
        for tree in [&scattered, &sorted] {
            assert_eq!(tree.check(), Ok(()));
            let mut firsts = Vec::new();
            leaf_firsts(tree.root.as_deref(), &mut firsts);
            for group in 0..=400u32 {
                let expected = if group < 400 { group % 41 + 1 } else { 0 };
                for most in [1, 16, 64] {
                    let mut seen = Vec::new();
                    let whole = tree.short_run(
                        |k| k.0 < group,
                        |k| k.0 == group,
                        most,
                        |k, v| seen.push((*k, *v)),
                    );
                    if whole {
                        let want: Vec<_> = (0..expected).map(|m| ((group, m), group)).collect();
                        assert_eq!(seen, want, "group {group}, at most {most}");
                    } else {
                        // Declined only when the run is too long or truly
                        // goes on in a later leaf.
                        let crosses = firsts.iter().any(|first| first.0 == group && first.1 > 0);
                        assert!(
                            expected as usize > most || crosses,
                            "group {group} declined, at most {most}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_snapshot_keeps_its_contents_while_the_tree_changes() {
        let mut tree: Tree<u32, u32> = Tree::from_sorted((0..1_000).map(|k| (k, k)).collect());
        assert_eq!(tree.check(), Ok(()));
        let snapshot = tree.clone();
        for k in 0..1_000 {
            if k % 2 == 0 {
                tree.remove(&k);
            } else {
                tree.insert(k, k + 1);
            }
        }
        assert_eq!(tree.check(), Ok(()));
        assert_eq!(snapshot.check(), Ok(()));
        assert_eq!(tree.len(), 500);
        assert_eq!(snapshot.len(), 1_000);
        for k in 0..1_000 {
            assert_eq!(snapshot.get(&k), Some(&k));
            assert_eq!(tree.get(&k), (k % 2 == 1).then_some(k + 1).as_ref());
        }
    }

    #[test]
    fn draining_and_refilling_keeps_the_shape_valid() {
        let mut tree: Tree<_, _> = Tree::default();
        for k in 0..5_000u32 {
            tree.insert(k, ());
        }
        for k in (0..5_000u32).rev() {
            assert_eq!(tree.remove(&k), Some(()));
            if k % 500 == 0 {
                assert_eq!(tree.check(), Ok(()));
            }
        }
        assert_eq!(tree.len(), 0);
        assert!(tree.root.is_none());
        assert_eq!(tree.remove(&1), None);
        tree.insert(3, ());
        assert_eq!(tree.nth(0), Some((&3, &())));
    }

    #[test]
    fn removing_from_the_front_keeps_every_recorded_min() {
        // Each removal takes the tree's smallest key, whose leaf and every
        // branch above it must then record the next one; half of the time a
        // snapshot shares the path, so the copies are checked too.
        let mut tree: Tree<_, _, INDEX_LEAF_SLOTS> = Tree::default();
        for k in 0..6_000u32 {
            tree.insert(k, k);
        }
        let mut snapshot = None;
        for k in 0..6_000u32 {
            if k % 2 == 0 {
                snapshot = Some(tree.clone());
            }
            assert_eq!(tree.remove(&k), Some(k));
            if k % 97 == 0 {
                assert_eq!(tree.check(), Ok(()));
                assert_eq!(tree.nth(0).map(|(key, _)| *key), Some(k + 1));
                assert_eq!(tree.get(&(k + 1)), Some(&(k + 1)));
            }
        }
        assert_eq!(tree.len(), 0);
        assert_eq!(snapshot.map(|s| s.len()), Some(2));
    }

    #[test]
    fn a_walk_reads_every_rank_forwards_and_backwards() {
        let tree: Tree<u32, ()> = Tree::from_sorted((0..777).map(|k| (k * 2, ())).collect());
        let mut walk = Walk::new(tree);
        for rank in 0..777 {
            assert_eq!(walk.at(rank).map(|(k, _)| *k), Some(rank as u32 * 2));
        }
        for rank in (0..777).rev() {
            assert_eq!(walk.at(rank).map(|(k, _)| *k), Some(rank as u32 * 2));
        }
        assert!(walk.at(777).is_none());
    }

    #[test]
    fn entries_visit_every_key_in_order() {
        for len in [0, 1, 31, 33, 1_000, 5_000] {
            let mut tree: Tree<_, _> = Tree::default();
            for k in (0..len).rev() {
                tree.insert(k, k * 2);
            }
            let seen: Vec<_> = tree.entries().map(|(k, v)| (*k, *v)).collect();
            assert_eq!(seen, (0..len).map(|k| (k, k * 2)).collect::<Vec<_>>());
            assert_eq!(tree.entries().len(), len as usize);
        }
    }

    #[test]
    fn entries_count_down_exactly_across_leaf_boundaries() {
        let mut tree: Tree<_, _> = Tree::default();
        let mut state = 5;
        for _ in 0..2_000 {
            let key = xorshift(&mut state) % 4_000;
            tree.insert(key, ());
        }
        for _ in 0..700 {
            let key = xorshift(&mut state) % 4_000;
            tree.remove(&key);
        }
        let mut entries = tree.entries();
        for left in (0..tree.len()).rev() {
            assert!(entries.next().is_some());
            assert_eq!(entries.len(), left);
        }
        assert_eq!(entries.next(), None);
        assert_eq!(entries.len(), 0);
    }

    #[test]
    fn entries_follow_removals_down_to_an_empty_tree() {
        let mut tree: Tree<_, _> = Tree::default();
        let mut model = BTreeMap::new();
        for k in 0..3_000u64 {
            tree.insert(k, k);
            model.insert(k, k);
        }
        let mut state = 11;
        while !model.is_empty() {
            for _ in 0..150 {
                let key = xorshift(&mut state) % 3_000;
                assert_eq!(tree.remove(&key), model.remove(&key));
            }
            let seen: Vec<_> = tree.entries().map(|(k, v)| (*k, *v)).collect();
            let want: Vec<_> = model.iter().map(|(k, v)| (*k, *v)).collect();
            assert_eq!(seen, want);
            if model.len() < 200 {
                let rest: Vec<u64> = model.keys().copied().collect();
                for key in rest {
                    assert_eq!(tree.remove(&key), model.remove(&key));
                }
            }
        }
        assert_eq!(tree.entries().next(), None);
    }

    #[test]
    fn appending_in_order_fills_leaves() {
        let mut tree: Tree<_, _> = Tree::default();
        for k in 0..10_000u32 {
            tree.insert(k, ());
        }
        let leaves = count_leaves(tree.root.as_deref());
        assert!(leaves <= 10_000 / LEAF_MAX + 2, "{leaves} leaves");
    }

    /// Leaves of an index over a field with 100 values after entries
    /// `(i % 100, i)` for each `i` in `order`: each lands at one end of its
    /// value's run.
    fn leaves_of_runs(order: impl Iterator<Item = u32>) -> usize {
        let mut tree: Tree<_, _, INDEX_LEAF_SLOTS> = Tree::default();
        for i in order {
            tree.insert((i % 100, i), ());
        }
        assert_eq!(tree.check(), Ok(()));
        count_leaves(tree.root.as_deref())
    }

    #[test]
    fn runs_growing_side_by_side_fill_leaves() {
        let leaves = leaves_of_runs(0..20_000);
        assert!(leaves * LEAF_MAX * 8 <= 20_000 * 10, "{leaves} leaves");
    }

    #[test]
    fn runs_shrinking_side_by_side_fill_leaves() {
        let leaves = leaves_of_runs((0..20_000).rev());
        assert!(leaves * LEAF_MAX * 8 <= 20_000 * 10, "{leaves} leaves");
    }

    #[test]
    fn scattered_inserts_still_split_leaves_in_half() {
        let mut state = 7;
        let mut tree: Tree<_, _> = Tree::default();
        for _ in 0..20_000 {
            tree.insert(xorshift(&mut state), ());
        }
        let leaves = count_leaves(tree.root.as_deref());
        // Random inserts into halved leaves fill them to about ln 2.
        assert!(leaves * LEAF_MAX * 10 <= tree.len() * 16, "{leaves} leaves");
        assert_eq!(tree.check(), Ok(()));
    }

    /// The first key of every leaf, in order.
    fn leaf_firsts<K: Clone, V, const S: usize>(node: Option<&Node<K, V, S>>, out: &mut Vec<K>) {
        match node {
            None => {}
            Some(Node::Leaf(entries)) => out.extend(entries.first().map(|(k, _)| k.clone())),
            Some(Node::Branch(children)) => {
                for child in children.iter() {
                    leaf_firsts(Some(&child.node), out);
                }
            }
        }
    }

    pub(super) fn count_leaves<K, V, const S: usize>(node: Option<&Node<K, V, S>>) -> usize {
        match node {
            None => 0,
            Some(Node::Leaf(_)) => 1,
            Some(Node::Branch(children)) => children
                .iter()
                .map(|child| count_leaves(Some(&child.node)))
                .sum(),
        }
    }
}
