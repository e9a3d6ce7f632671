//! What a read-modify-write that may decline did: the answer of `try_update_with`.

use crate::Versioned;

/// The outcome of [`try_update_with`](crate::Store::try_update_with): the closure
/// either gave a replacement, which was stored, or declined, and the document was
/// left as it is.
///
/// Like [`AtomicUsize::fetch_update`](std::sync::atomic::AtomicUsize::fetch_update),
/// which returns `Err(current)` when its closure declines, both arms carry the
/// document as it now stands, so the caller learns what it needs without a flag
/// smuggled out of the closure.
///
/// ```
/// use docstore_core::{Store, Updated};
/// use serde_json::json;
///
/// let store = Store::new();
/// let id = store.insert(json!({"stock": 1}))?;
/// let take_one = |doc: &docstore_core::Document| {
///     let stock = doc.get("stock")?.as_u64()?;
///     (stock > 0).then(|| json!({"stock": stock - 1}))
/// };
/// match store.try_update_with(id, take_one)? {
///     Updated::Changed(doc) => assert_eq!(doc.version(), 2),
///     Updated::Declined(_) => unreachable!("there was one in stock"),
/// }
/// // Out of stock: declined, nothing written.
/// let second = store.try_update_with(id, take_one)?;
/// assert!(second.is_declined());
/// assert_eq!(second.document().version(), 2);
/// # Ok::<(), docstore_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use = "says whether the document was changed"]
pub enum Updated<D> {
    /// The closure gave a replacement; this is the document as stored, with its
    /// new version.
    Changed(Versioned<D>),
    /// The closure declined; this is the document it was shown, unchanged.
    Declined(Versioned<D>),
}

impl<D> Updated<D> {
    /// Whether the document was changed.
    pub fn is_changed(&self) -> bool {
        matches!(self, Updated::Changed(_))
    }

    /// Whether the closure declined.
    pub fn is_declined(&self) -> bool {
        matches!(self, Updated::Declined(_))
    }

    /// The document as it now stands, changed or not.
    pub fn document(&self) -> &Versioned<D> {
        match self {
            Updated::Changed(document) | Updated::Declined(document) => document,
        }
    }

    /// The document as it now stands, changed or not.
    pub fn into_document(self) -> Versioned<D> {
        match self {
            Updated::Changed(document) | Updated::Declined(document) => document,
        }
    }

    /// `Ok(changed)` or `Err(unchanged)`, the shape `fetch_update` returns.
    pub fn into_result(self) -> Result<Versioned<D>, Versioned<D>> {
        match self {
            Updated::Changed(document) => Ok(document),
            Updated::Declined(document) => Err(document),
        }
    }
}
