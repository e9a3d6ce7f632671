//! Taking a tree apart on one thread and freeing its memory on another.
//!
//! Dropping the last handle on a tree frees every node only it holds, and
//! every value only those nodes hold, on whichever thread drops it. A
//! [`Teardown`] splits that in two: [`hollow`](Teardown::hollow) walks the
//! tree on the dropping thread, letting go of what others still hold (the
//! reference counts, a cache miss each, are most of the work) and emptying the
//! nodes only it holds; what would be freed (the emptied nodes and the values
//! nothing else holds) it keeps, for [`step`](Teardown::step) to free a few at
//! a time on the thread that allocated them (see `reclaim`).

use std::sync::Arc;

use super::{LEAF_SLOTS, Node, Tree};
use crate::Versioned;

/// A value a tree holds that may share memory with other holders.
pub(crate) trait Sole {
    /// Whether dropping it would free memory: nothing else holds it.
    fn is_sole(&mut self) -> bool;
}

impl<T> Sole for Arc<T> {
    fn is_sole(&mut self) -> bool {
        Arc::get_mut(self).is_some()
    }
}

impl<T> Sole for Versioned<T> {
    fn is_sole(&mut self) -> bool {
        self.record_mut().is_sole()
    }
}

impl<V: Sole> Sole for Option<V> {
    fn is_sole(&mut self) -> bool {
        self.as_mut().is_some_and(Sole::is_sole)
    }
}

/// Emptied nodes and unshared values, to free.
pub(crate) struct Teardown<K, V, const S: usize = LEAF_SLOTS> {
    nodes: Vec<Arc<Node<K, V, S>>>,
    values: Vec<V>,
}

impl<K, V, const S: usize> Default for Teardown<K, V, S> {
    fn default() -> Self {
        Teardown {
            nodes: Vec::new(),
            values: Vec::new(),
        }
    }
}

impl<K, V: Sole, const S: usize> Teardown<K, V, S> {
    /// Takes `tree` apart on this thread, keeping what that would free.
    pub(crate) fn hollow(&mut self, tree: Tree<K, V, S>) {
        let mut stack: Vec<_> = tree.root.into_iter().collect();
        while let Some(mut node) = stack.pop() {
            match Arc::get_mut(&mut node) {
                Some(Node::Branch(children)) => {
                    stack.extend(children.drain().map(|child| child.node));
                }
                Some(Node::Leaf(entries)) => {
                    for (_, mut value) in entries.drain() {
                        if value.is_sole() {
                            self.values.push(value);
                        }
                    }
                }
                // Someone else holds it: they free it.
                None => continue,
            }
            self.nodes.push(node);
        }
    }
}

impl<K, V, const S: usize> Teardown<K, V, S> {
    /// Whether nothing is left to free.
    pub(crate) fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.values.is_empty()
    }

    /// Frees up to `nodes` nodes and `values` values (a value may own many
    /// blocks, an old document all of its own); takes what it freed off each.
    pub(crate) fn step(&mut self, nodes: &mut usize, values: &mut usize) {
        while *values > 0 && self.values.pop().is_some() {
            *values -= 1;
        }
        while *nodes > 0 && self.nodes.pop().is_some() {
            *nodes -= 1;
        }
    }

    /// Takes everything `other` holds, to free with the rest.
    pub(crate) fn append(&mut self, other: &mut Self) {
        self.nodes.append(&mut other.nodes);
        self.values.append(&mut other.values);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A value that counts itself among the living while it is.
    struct Token(Arc<AtomicUsize>);

    impl Drop for Token {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn tree_of(n: u64) -> (Tree<u64, Arc<Token>>, Arc<AtomicUsize>) {
        let living = Arc::new(AtomicUsize::new(n as usize));
        let entries = (0..n)
            .map(|key| (key, Arc::new(Token(Arc::clone(&living)))))
            .collect();
        (Tree::from_sorted(entries), living)
    }

    fn alive(living: &AtomicUsize) -> usize {
        living.load(Ordering::Relaxed)
    }

    #[test]
    fn a_hollowed_tree_is_freed_a_few_values_and_nodes_at_a_time() {
        let (tree, watched) = tree_of(1_000);
        let mut teardown = Teardown::default();
        teardown.hollow(tree);
        assert_eq!(alive(&watched), 1_000, "hollowing freed values");
        let mut steps = 0;
        while !teardown.is_empty() {
            teardown.step(&mut 16, &mut 16);
            steps += 1;
            if steps == 1 {
                assert_eq!(alive(&watched), 1_000 - 16);
            }
        }
        assert!(steps > 60, "freed in {steps} steps");
        assert_eq!(alive(&watched), 0);
    }

    #[test]
    fn what_another_tree_shares_is_left_to_it() {
        let (tree, watched) = tree_of(1_000);
        let mut kept = tree.clone();
        kept.insert(0, Arc::new(Token(Arc::new(AtomicUsize::new(1)))));
        let mut teardown = Teardown::default();
        teardown.hollow(tree);
        // Only the entry the copy replaced is left to free.
        assert_eq!(teardown.values.len(), 1);
        while !teardown.is_empty() {
            teardown.step(&mut 16, &mut 16);
        }
        assert_eq!(alive(&watched), 999);
        assert_eq!(kept.len(), 1_000);
        assert!(kept.get(&999).is_some());
        assert!(kept.check().is_ok());
    }
}
