//! Cursors: a snapshot's documents with a position that moves both ways.

use std::fmt;

use crate::Versioned;
use crate::query::Source;

/// A position in a snapshot's documents (a scan, or a query's results) that can
/// move forwards, backwards and by any distance.
///
/// The position sits *between* documents, from 0 (before the first) to
/// [`len`](Self::len) (after the last): [`next`](Self::next) returns the document
/// after the position and moves past it, [`prev`](Self::prev) moves back over the
/// document before it and returns it. Moves past either end stop there. A cursor
/// reads one snapshot: writes made after it was opened never show. Cloning gives
/// an independent cursor at the same position. Every move costs O(1) amortised
/// when stepping and O(log n) when jumping; no document is copied.
///
/// ```
/// use docstore_core::Store;
/// use serde_json::json;
///
/// let store = Store::new();
/// for n in 0..5 {
///     store.insert(json!({"n": n}))?;
/// }
/// let n = |doc: docstore_core::Document| doc.get("n").and_then(|v| v.as_u64());
/// let mut cursor = store.cursor()?;
/// assert_eq!(cursor.len(), 5);
/// assert_eq!(cursor.next().and_then(n), Some(0));
/// cursor.advance(2);
/// assert_eq!(cursor.next().and_then(n), Some(3));
/// assert_eq!(cursor.prev().and_then(n), Some(3));
/// cursor.advance(-10);
/// assert_eq!(cursor.position(), 0);
/// # Ok::<(), docstore_core::Error>(())
/// ```
pub struct Cursor<D> {
    source: Source<D>,
    start: usize,
    end: usize,
    at: usize,
}

impl<D> Cursor<D> {
    pub(crate) fn new(source: Source<D>, start: usize, end: usize) -> Self {
        Cursor {
            source,
            start,
            end: end.max(start),
            at: start,
        }
    }

    /// How many documents the cursor ranges over.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether it ranges over none.
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }

    /// The position: how many documents lie before it.
    pub fn position(&self) -> usize {
        self.at - self.start
    }

    /// How many documents lie after the position.
    pub fn remaining(&self) -> usize {
        self.end - self.at
    }

    /// The document after the position, without moving.
    pub fn peek(&mut self) -> Option<Versioned<D>> {
        if self.at < self.end {
            self.source.at(self.at)
        } else {
            None
        }
    }

    /// Returns the document after the position and moves past it; `None` at the end.
    #[allow(clippy::should_implement_trait)] // It also implements Iterator, through this.
    pub fn next(&mut self) -> Option<Versioned<D>> {
        let document = self.peek()?;
        self.at += 1;
        Some(document)
    }

    /// Moves back over the document before the position and returns it; `None`
    /// at the start.
    pub fn prev(&mut self) -> Option<Versioned<D>> {
        if self.at == self.start {
            return None;
        }
        self.at -= 1;
        self.source.at(self.at)
    }

    /// Moves by `steps` (backwards when negative), stopping at either end.
    pub fn advance(&mut self, steps: isize) {
        self.at = if steps >= 0 {
            self.at.saturating_add(steps.unsigned_abs()).min(self.end)
        } else {
            self.at.saturating_sub(steps.unsigned_abs()).max(self.start)
        };
    }

    /// Moves to `position`, or to the end if it is past it.
    pub fn seek(&mut self, position: usize) {
        self.at = self.start.saturating_add(position).min(self.end);
    }

    /// Moves back to the start.
    pub fn reset(&mut self) {
        self.at = self.start;
    }
}

impl<D> Clone for Cursor<D> {
    fn clone(&self) -> Self {
        Cursor {
            source: self.source.clone(),
            start: self.start,
            end: self.end,
            at: self.at,
        }
    }
}

impl<D> fmt::Debug for Cursor<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cursor")
            .field("position", &self.position())
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl<D> Iterator for Cursor<D> {
    type Item = Versioned<D>;

    fn next(&mut self) -> Option<Versioned<D>> {
        Cursor::next(self)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining(), Some(self.remaining()))
    }
}
