//! Many entries put into a tree at once, leaf by leaf.
//!
//! Putting entries one by one costs a descent each, and, while a snapshot
//! shares the tree, a check of every node on the path for a copy. A large
//! transaction puts thousands of entries per tree, mostly in a few clusters
//! (new ids all sort last; a new id of an index key sorts last among that
//! key's entries), so sorting them first and merging them into each leaf they
//! land in does the same in one visit per leaf touched: each shared leaf is
//! copied once, straight into its merged form, and a run past a leaf's end
//! becomes fresh leaves built whole.

use std::sync::Arc;

use super::slots::Slots;
use super::{BRANCH_MAX, Child, Node, Tree, Warm, child_of_branch, child_of_leaf};

impl<K: Ord + Clone + Warm, V: Clone + Warm, const S: usize> Tree<K, V, S> {
    /// Puts every entry of `sorted`, which must be sorted by key with no key
    /// twice, replacing the values of keys already present. Returns how many
    /// keys were new.
    pub(crate) fn put_sorted(&mut self, sorted: Vec<(K, V)>) -> usize {
        if sorted.is_empty() {
            return 0;
        }
        let Some(root) = self.root.as_mut() else {
            let added = sorted.len();
            *self = Tree::from_sorted(sorted);
            return added;
        };
        // Smallest last, so that each leaf pops its share off the end.
        let mut pending = sorted;
        pending.reverse();
        let take = pending.len();
        let (added, split) = put_into(root, &mut pending, take, true);
        self.len += added;
        if !split.is_empty()
            && let Some(node) = self.root.take()
            && let Some(min) = node.min().cloned()
        {
            let split_len: usize = split.iter().map(|child| child.len).sum();
            let mut level = Vec::with_capacity(split.len() + 1);
            level.push(Child {
                min,
                len: self.len - split_len,
                node,
            });
            level.extend(split);
            while level.len() > 1 {
                level = group(level, BRANCH_MAX, true, |children| {
                    child_of_branch(Slots::from_iter_capped(children).0)
                });
            }
            self.root = level.pop().map(|child| child.node);
        }
        added
    }
}

/// Merges the `take` smallest entries of `pending` (sorted largest first)
/// into the subtree `node`, which they all belong to. Returns how many keys
/// were new, and the subtrees to put right after `node` if it overflowed.
/// `last` says whether `node` is the rightmost of its level: entries past its
/// end then fill leaves up, as appending one by one does.
fn put_into<K: Ord + Clone + Warm, V: Clone + Warm, const S: usize>(
    node: &mut Arc<Node<K, V, S>>,
    pending: &mut Vec<(K, V)>,
    take: usize,
    last: bool,
) -> (usize, Vec<Child<K, V, S>>) {
    if matches!(**node, Node::Leaf(_)) {
        return put_into_leaf(node, pending, take, last);
    }
    let Node::Branch(children) = Arc::make_mut(node) else {
        return (0, Vec::new());
    };
    let count = children.len();
    let mut remaining = take;
    let mut added = 0;
    let mut splits: Vec<(usize, Vec<Child<K, V, S>>)> = Vec::new();
    for at in 0..count {
        if remaining == 0 {
            break;
        }
        let start = pending.len() - remaining;
        let here = match children.get(at + 1) {
            // Entries cluster (a few runs in a large tree), so most children
            // get none: one comparison with the smallest left tells so,
            // sparing a search of what is left.
            Some(next)
                if pending
                    .last()
                    .is_some_and(|(smallest, _)| *smallest >= next.min) =>
            {
                0
            }
            Some(next) => {
                let mine = pending.get(start..).unwrap_or_default();
                mine.len() - mine.partition_point(|(key, _)| *key >= next.min)
            }
            None => remaining,
        };
        if here == 0 {
            continue;
        }
        let Some(child) = children.get_mut(at) else {
            break;
        };
        if let Some((smallest, _)) = pending.last()
            && *smallest < child.min
        {
            child.min = smallest.clone();
        }
        let (new, split) = put_into(&mut child.node, pending, here, last && at + 1 == count);
        remaining -= here;
        added += new;
        child.len += new;
        child.len -= split.iter().map(|child| child.len).sum::<usize>();
        if !split.is_empty() {
            splits.push((at, split));
        }
    }
    if splits.is_empty() {
        return (added, Vec::new());
    }
    let mut all = Vec::with_capacity(count + splits.iter().map(|(_, s)| s.len()).sum::<usize>());
    let mut splits = splits.into_iter().peekable();
    for (at, child) in children.drain().enumerate() {
        all.push(child);
        if let Some((_, split)) = splits.next_if(|(split_at, _)| *split_at == at) {
            all.extend(split);
        }
    }
    let mut groups = group(all, BRANCH_MAX, last, Some).into_iter();
    if let Some(first) = groups.next() {
        *children = Slots::from_iter_capped(first).0;
    }
    let rest = groups
        .filter_map(|group| child_of_branch(Slots::from_iter_capped(group).0))
        .collect();
    (added, rest)
}

/// [`put_into`] for a leaf: merges its entries with its share of `pending`
/// into one sorted run, copying them out of the leaf if a snapshot shares it,
/// moving them if not, and cuts the run into leaves.
fn put_into_leaf<K: Ord + Clone + Warm, V: Clone + Warm, const S: usize>(
    node: &mut Arc<Node<K, V, S>>,
    pending: &mut Vec<(K, V)>,
    take: usize,
    last: bool,
) -> (usize, Vec<Child<K, V, S>>) {
    if node.width() + take <= (S - 1)
        && let Some(Node::Leaf(entries)) = Arc::get_mut(node)
    {
        // Room for all of them, in a leaf of its own: each goes in its
        // place, cheaper than rebuilding the leaf. A shared leaf is copied
        // once, straight into its merged form, below: copying it first and
        // then shifting entries up for each new one cost more.
        let mut added = 0;
        for _ in 0..take {
            let Some((key, value)) = pending.pop() else {
                break;
            };
            let at = entries.partition_point(|(old, _)| *old < key);
            match entries.get_mut(at) {
                Some(entry) if entry.0 == key => entry.1 = value,
                _ => {
                    if entries.insert(at, (key, value)).is_ok() {
                        added += 1;
                    }
                }
            }
        }
        return (added, Vec::new());
    }
    // The merged run, laid out once at its full length.
    let mut run = Vec::with_capacity(node.width() + take);
    let added = match Arc::get_mut(node) {
        Some(Node::Leaf(entries)) => merge(entries.drain(), pending, take, &mut run),
        Some(Node::Branch(_)) => return (0, Vec::new()),
        None => match &**node {
            Node::Leaf(entries) => merge(entries.iter().cloned(), pending, take, &mut run),
            Node::Branch(_) => return (0, Vec::new()),
        },
    };
    let mut sizes = run_sizes(run.len(), S - 1, last);
    let mut run = run.into_iter();
    let first = Slots::from_iter_capped(run.by_ref().take(sizes.next().unwrap_or(0))).0;
    let rest = sizes
        .filter_map(|size| child_of_leaf(Slots::from_iter_capped(run.by_ref().take(size)).0))
        .collect();
    match Arc::get_mut(node) {
        Some(leaf) => *leaf = Node::Leaf(first),
        None => *node = Arc::new(Node::Leaf(first)),
    }
    (added, rest)
}

/// The sizes of the runs [`group`] cuts `len` items into, each at most
/// `max`: computed, so that a merged leaf's entries can go from the run
/// straight into their leaves.
fn run_sizes(len: usize, max: usize, fill: bool) -> impl Iterator<Item = usize> {
    let max = max.max(1);
    let (count, base, extra) = if len <= max {
        (1, len, 0)
    } else if fill {
        (len.div_ceil(max), max, 0)
    } else {
        super::even_sizes(len, max * 3 / 4)
    };
    let mut left = len;
    (0..count).map(move |at| {
        let size = (base + usize::from(at < extra)).min(left);
        left -= size;
        size
    })
}

/// Merges `old` (in key order) with the `take` smallest entries of `pending`
/// (sorted largest first) into `run`, a new entry replacing an old one of
/// its key. Returns how many keys were new.
fn merge<K: Ord, V>(
    old: impl Iterator<Item = (K, V)>,
    pending: &mut Vec<(K, V)>,
    take: usize,
    run: &mut Vec<(K, V)>,
) -> usize {
    let mut added = 0;
    let mut old = old.peekable();
    for _ in 0..take {
        let Some((key, value)) = pending.pop() else {
            break;
        };
        while let Some(before) = old.next_if(|(old_key, _)| *old_key < key) {
            run.push(before);
        }
        // A key already present keeps its place and takes the new value.
        if old.next_if(|(old_key, _)| *old_key == key).is_none() {
            added += 1;
        }
        run.push((key, value));
    }
    run.extend(old);
    added
}

/// Cuts `items` into runs that each fit in a node of at most `max`, made into
/// what `make` makes of a run. At the end of a level (`fill`) runs are full,
/// the last one taking what is left, as appending in order leaves them;
/// elsewhere they are even and a quarter short of full, so that the next
/// entries put there do not split them at once.
fn group<T, R>(
    items: Vec<T>,
    max: usize,
    fill: bool,
    mut make: impl FnMut(Vec<T>) -> Option<R>,
) -> Vec<R> {
    let sizes = run_sizes(items.len(), max, fill);
    let mut items = items.into_iter();
    sizes
        .filter_map(|size| make(items.by_ref().take(size).collect()))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::tree::LEAF_MAX;

    fn contents(tree: &Tree<u32, u32>) -> Vec<(u32, u32)> {
        tree.entries().map(|(k, v)| (*k, *v)).collect()
    }

    #[test]
    fn an_appended_run_fills_fresh_leaves() {
        let mut tree = Tree::default();
        for start in (0..10_000u32).step_by(1_000) {
            let added = tree.put_sorted((start..start + 1_000).map(|k| (k, k)).collect());
            assert_eq!(added, 1_000);
            assert_eq!(tree.check(), Ok(()));
        }
        assert_eq!(tree.len(), 10_000);
        assert_eq!(
            contents(&tree),
            (0..10_000).map(|k| (k, k)).collect::<Vec<_>>()
        );
        let leaves = super::super::tests::count_leaves(tree.root.as_deref());
        assert!(
            leaves <= 10_000 / (LEAF_MAX * 3 / 4) + 10,
            "{leaves} leaves"
        );
    }

    #[test]
    fn present_keys_take_the_new_value_and_are_not_counted() {
        let mut tree: Tree<u32, u32> = Tree::from_sorted((0..100).map(|k| (k * 2, 0)).collect());
        let added = tree.put_sorted((50..150).map(|k| (k, 1)).collect());
        // 50..150 holds 50 even keys already present.
        assert_eq!(added, 50);
        assert_eq!(tree.len(), 150);
        assert_eq!(tree.get(&60), Some(&1));
        assert_eq!(tree.get(&40), Some(&0));
        assert_eq!(tree.check(), Ok(()));
    }

    #[test]
    fn a_snapshot_keeps_its_contents_while_runs_are_merged_in() {
        let mut tree: Tree<u32, u32> = Tree::from_sorted((0..5_000).map(|k| (k * 10, k)).collect());
        let snapshot = tree.clone();
        let before = contents(&snapshot);
        tree.put_sorted((0..5_000).map(|k| (k * 10 + 5, 0)).collect());
        assert_eq!(snapshot.check(), Ok(()));
        assert_eq!(contents(&snapshot), before);
        assert_eq!(tree.check(), Ok(()));
        assert_eq!(tree.len(), 10_000);
    }

    /// What a batch of documents does to an index on a field with few
    /// values: each value's run gains a few entries at its end, scattered
    /// over the tree, while readers hold the tree as it was.
    #[test]
    fn runs_growing_at_their_ends_keep_snapshots_and_shape() {
        // Key = value * 1_000_000 + sequence: 20 values, entries in sequence order.
        let key = |value: u32, seq: u32| value * 1_000_000 + seq;
        let mut tree: Tree<u32, u32> = Tree::default();
        let mut model = BTreeMap::new();
        for batch in 0..30u32 {
            let snapshot = tree.clone();
            let before = contents(&snapshot);
            let mut puts: Vec<(u32, u32)> = (0..20)
                .flat_map(|value| (0..7).map(move |n| (key(value, batch * 7 + n), batch)))
                .collect();
            puts.sort();
            model.extend(puts.iter().copied());
            assert_eq!(tree.put_sorted(puts), 140);
            assert_eq!(tree.check(), Ok(()));
            assert_eq!(contents(&snapshot), before);
        }
        assert_eq!(contents(&tree), model.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn nothing_to_put_changes_nothing() {
        let mut tree: Tree<u32, u32> = Tree::default();
        assert_eq!(tree.put_sorted(Vec::new()), 0);
        assert_eq!(tree.len(), 0);
        assert_eq!(tree.put_sorted(vec![(3, 3)]), 1);
        assert_eq!(contents(&tree), [(3, 3)]);
    }

    /// A batch of distinct keys, sorted, each with a value.
    fn batch() -> impl Strategy<Value = Vec<(u32, u32)>> {
        proptest::collection::btree_map(0..3_000u32, any::<u32>(), 0..400)
            .prop_map(|map| map.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Batches of puts, between removals and single inserts, leave the
        /// tree holding what a `BTreeMap` holds, in a valid shape, and never
        /// change a snapshot taken before them.
        #[test]
        fn matches_a_btreemap(
            start in proptest::collection::btree_map(0..3_000u32, any::<u32>(), 0..600),
            steps in proptest::collection::vec((batch(), proptest::collection::vec(0..3_000u32, 0..50)), 1..6),
        ) {
            let mut tree = Tree::from_sorted(start.clone().into_iter().collect());
            let mut model: BTreeMap<u32, u32> = start;
            for (puts, removes) in steps {
                let snapshot = tree.clone();
                let seen: Vec<_> = model.iter().map(|(k, v)| (*k, *v)).collect();
                let new = puts.iter().filter(|(k, _)| !model.contains_key(k)).count();
                model.extend(puts.iter().copied());
                prop_assert_eq!(tree.put_sorted(puts), new);
                prop_assert_eq!(tree.check(), Ok(()));
                prop_assert_eq!(contents(&snapshot), seen);
                for key in removes {
                    prop_assert_eq!(tree.remove(&key), model.remove(&key));
                }
                tree.insert(1_500, 7);
                model.insert(1_500, 7);
                prop_assert_eq!(tree.check(), Ok(()));
                prop_assert_eq!(tree.len(), model.len());
                prop_assert_eq!(contents(&tree), model.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>());
                for (rank, (key, value)) in model.iter().enumerate().step_by(37) {
                    prop_assert_eq!(tree.nth(rank), Some((key, value)));
                }
            }
        }
    }
}
