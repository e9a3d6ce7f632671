//! Freeing a tree a little at a time.
//!
//! Dropping the last handle on a tree frees every node only it holds at once,
//! on whichever thread drops it. A [`Teardown`] instead holds the trees given
//! to it and frees their nodes in steps of a bounded number, so the freeing can
//! be spread over the writes of the thread that allocates nodes (see
//! `reclaim`). A node someone else still holds is only let go of: freeing
//! stops there, and its holder frees it later.

use std::sync::Arc;

use super::{LEAF_SLOTS, Node, Tree};

/// Nodes still to let go of, the root of each tree first.
pub(crate) struct Teardown<K, V, const S: usize = LEAF_SLOTS> {
    nodes: Vec<Arc<Node<K, V, S>>>,
}

impl<K, V, const S: usize> Default for Teardown<K, V, S> {
    fn default() -> Self {
        Teardown { nodes: Vec::new() }
    }
}

impl<K, V, const S: usize> Teardown<K, V, S> {
    /// Takes `tree`, to free in later steps.
    pub(crate) fn push(&mut self, tree: Tree<K, V, S>) {
        self.nodes.extend(tree.root);
    }

    /// Whether nothing is left to free.
    pub(crate) fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Lets go of up to `budget` nodes, freeing those only it held (a branch's
    /// children go on the list rather than being freed with it); takes what
    /// it used off `budget`.
    pub(crate) fn step(&mut self, budget: &mut usize) {
        while *budget > 0 {
            let Some(mut node) = self.nodes.pop() else {
                return;
            };
            *budget -= 1;
            if let Some(Node::Branch(children)) = Arc::get_mut(&mut node) {
                self.nodes.extend(children.drain().map(|child| child.node));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Weak;

    fn tree_of(n: u64) -> (Tree<u64, Arc<u64>>, Vec<Weak<u64>>) {
        let values: Vec<_> = (0..n).map(Arc::new).collect();
        let watched = values.iter().map(Arc::downgrade).collect();
        let tree = Tree::from_sorted((0..n).zip(values).collect());
        (tree, watched)
    }

    fn alive(watched: &[Weak<u64>]) -> usize {
        watched
            .iter()
            .filter(|value| value.strong_count() > 0)
            .count()
    }

    #[test]
    fn a_torn_down_tree_is_freed_a_few_nodes_at_a_time() {
        let (tree, watched) = tree_of(1_000);
        let mut teardown = Teardown::default();
        teardown.push(tree);
        let mut steps = 0;
        while !teardown.is_empty() {
            let mut budget = 4;
            teardown.step(&mut budget);
            steps += 1;
            if steps == 1 {
                assert!(alive(&watched) > 900, "one step freed too much");
            }
        }
        assert!(steps > 10, "freed in {steps} steps");
        assert_eq!(alive(&watched), 0);
    }

    #[test]
    fn nodes_another_tree_shares_are_left_to_it() {
        let (tree, watched) = tree_of(1_000);
        let mut kept = tree.clone();
        kept.insert(0, Arc::new(7));
        let mut teardown = Teardown::default();
        teardown.push(tree);
        while !teardown.is_empty() {
            teardown.step(&mut 4);
        }
        // Only the entry the copy replaced went.
        assert_eq!(alive(&watched), 999);
        assert_eq!(kept.len(), 1_000);
        assert_eq!(kept.get(&0).map(|v| **v), Some(7));
        assert_eq!(kept.get(&999).map(|v| **v), Some(999));
        assert!(kept.check().is_ok());
    }
}
