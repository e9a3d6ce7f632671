//! Documents with their own keys: a typed collection whose struct declares one
//! field `#[key]` is addressed by that key as well as by id.
//!
//! The key is a unique index underneath, which the derive declares and marks as
//! the document's own key: the engine refuses any write that would change it
//! (see [`check_kept`]), so a key names one document for that document's whole
//! life, and the key-based operations here are id-based operations after one
//! lookup, retried if a write came in between.

use crate::engine::State;
use crate::index::{IndexDef, IndexState, KeySink, Keys};
use crate::key::{KeyBytes, KeyFor, KeyWriter, describe};
use crate::query::{IndexRef, UniqueIndexRef};
use crate::typed::rejected;
use crate::{Collection, Error, Id, Indexed, Rejected, Result, Versioned};

/// A document type with its own key: implemented by `#[derive(Indexed)]` for a
/// struct with a `#[key]` field, whose handle `KEY` is the key's unique index.
///
/// Gives its [`Collection`] the key-based operations: [`get_key`](Collection::get_key),
/// [`update_key`](Collection::update_key), [`modify_key`](Collection::modify_key),
/// [`delete_key`](Collection::delete_key) and [`upsert`](Collection::upsert).
pub trait Keyed: Indexed {
    /// The handle type of the key's index.
    type KeyIndex: UniqueIndexRef<Self> + Copy;

    /// The handle of the key's index (also reachable as `Struct::field`).
    const KEY: Self::KeyIndex;
}

/// The key type of `T`'s own key (`String` for `#[key] sku: String`).
pub type KeyOf<T> = <<T as Keyed>::KeyIndex as IndexRef<T>>::Key;

/// Fails if a write over document `id` would take away the key it has in the
/// own-key index `def`: the `removed` keys of a write that stores a new version.
pub(crate) fn check_kept<D>(def: &IndexDef<D>, id: Id, removed: &Keys, added: &Keys) -> Result<()> {
    let Some(old) = removed.as_slice().first() else {
        return Ok(());
    };
    let new = added
        .as_slice()
        .first()
        .map_or_else(|| "none".to_owned(), |key| describe(key.as_bytes()));
    Err(Error::KeyChanged {
        index: def.info.name.clone(),
        id,
        old: describe(old.as_bytes()),
        new,
    })
}

/// The document holding `key` in `index`, as of `state`.
fn holder<D>(state: &State<D>, index: &IndexState<D>, key: &KeyBytes) -> Option<Versioned<D>> {
    let id = index.holder_other_than(key, Id::nil())?;
    state.docs.get(&id).cloned()
}

/// A query's key, encoded for `index`.
fn encode_key<K: ?Sized>(index: &str, key: &impl KeyFor<K>) -> Result<KeyBytes> {
    let mut out = KeyWriter::new();
    key.write_key_for(&mut out);
    match out.invalid() {
        Some(reason) => Err(Error::InvalidKey {
            index: index.to_owned(),
            reason: reason.to_owned(),
        }),
        None => Ok(KeyBytes::new(out.bytes())),
    }
}

/// The key `document` has in `index` (its one key: a `#[key]` field is never
/// optional nor multi-key).
fn key_of<D>(index: &IndexState<D>, document: &D) -> Result<Option<KeyBytes>> {
    let keys = index.keys_of(document, &mut KeySink::new())?;
    Ok(keys.into_iter().next())
}

impl<T: Keyed> Collection<T> {
    fn key_name() -> String {
        T::KEY.index_name().to_owned()
    }

    /// The document holding `key` now, found in one snapshot.
    fn find(&self, key: &KeyBytes) -> Result<Option<Versioned<T>>> {
        let state = self.engine.snapshot()?;
        let index = state.index(T::KEY.index_name())?;
        Ok(holder(&state, index, key))
    }

    /// The document whose own key is `key`, if any. O(log n).
    ///
    /// `key` is the key type or a borrowed form of it (`&str` for a `String`
    /// key), as for [`get_unique`](Self::get_unique), which this is with the
    /// key's handle.
    ///
    /// ```
    /// use docstore::{Collection, Indexed};
    ///
    /// #[derive(Indexed, Clone, Debug)]
    /// struct Product {
    ///     #[key]
    ///     sku: String,
    ///     price: u32,
    /// }
    ///
    /// let products = Collection::<Product>::new();
    /// products.insert(Product { sku: "A-1".into(), price: 30 })?;
    /// assert_eq!(products.get_key("A-1")?.map(|p| p.price), Some(30));
    /// assert!(products.get_key("B-2")?.is_none());
    /// # Ok::<(), docstore::Error>(())
    /// ```
    pub fn get_key(&self, key: impl KeyFor<KeyOf<T>>) -> Result<Option<Versioned<T>>> {
        self.get_unique(T::KEY, key)
    }

    /// Replaces the document with the same own key as `document`, and returns
    /// its new version.
    ///
    /// Fails (handing the document back) with [`Error::KeyNotFound`] if no
    /// document has that key, and otherwise as [`update`](Self::update) does.
    pub fn update_key(&self, mut document: T) -> Result<u64, Rejected<T>> {
        loop {
            let found = self.found_by_own_key(&document);
            let current = match found {
                Ok(Some(current)) => current,
                Ok(None) => {
                    let key = self.describe_key(&document);
                    return Err(rejected((
                        Error::KeyNotFound {
                            index: Self::key_name(),
                            key,
                        },
                        document,
                    )));
                }
                Err(error) => return Err(rejected((error, document))),
            };
            match self.update_if(current.id(), current.version(), document) {
                Err(refused) if is_stale(refused.error()) => document = refused.into_document(),
                other => return other,
            }
        }
    }

    /// Inserts `document`, or replaces the document with the same own key;
    /// returns the document it replaced, if any. One atomic step either way:
    /// concurrent upserts of one key leave one document.
    ///
    /// ```
    /// use docstore::{Collection, Indexed};
    ///
    /// #[derive(Indexed, Clone, Debug)]
    /// struct Product {
    ///     #[key]
    ///     sku: String,
    ///     price: u32,
    /// }
    ///
    /// let products = Collection::<Product>::new();
    /// let first = products.upsert(Product { sku: "A-1".into(), price: 30 })?;
    /// assert!(first.is_none());
    /// let replaced = products.upsert(Product { sku: "A-1".into(), price: 25 })?;
    /// assert_eq!(replaced.map(|old| old.price), Some(30));
    /// assert_eq!(products.get_key("A-1")?.map(|p| (p.price, p.version())), Some((25, 2)));
    /// # Ok::<(), docstore::Error>(())
    /// ```
    pub fn upsert(&self, mut document: T) -> Result<Option<Versioned<T>>, Rejected<T>> {
        loop {
            let found = self.found_by_own_key(&document);
            let retry = match found {
                Err(error) => return Err(rejected((error, document))),
                Ok(None) => match self.insert(document) {
                    Ok(_) => return Ok(None),
                    // Someone inserted the key meanwhile: replace theirs.
                    Err(refused) if refused.index() == T::KEY.index_name() => refused,
                    Err(refused) => return Err(refused),
                },
                Ok(Some(current)) => {
                    match self.update_if(current.id(), current.version(), document) {
                        Ok(_) => return Ok(Some(current)),
                        Err(refused) if is_stale(refused.error()) => refused,
                        Err(refused) => return Err(refused),
                    }
                }
            };
            document = retry.into_document();
        }
    }

    /// Atomic in-place edit of the document whose own key is `key`, as
    /// [`modify`](Self::modify) does by id. Fails with [`Error::KeyNotFound`]
    /// if no document has the key, and with [`Error::KeyChanged`] if `edit`
    /// changes the key, changing nothing.
    ///
    /// ```
    /// use docstore::{Collection, Indexed};
    ///
    /// #[derive(Indexed, Clone, Debug)]
    /// struct Product {
    ///     #[key]
    ///     sku: String,
    ///     stock: u32,
    /// }
    ///
    /// let products = Collection::<Product>::new();
    /// products.insert(Product { sku: "A-1".into(), stock: 3 })?;
    /// let sold = products.modify_key("A-1", |p| p.stock -= 1)?;
    /// assert_eq!(sold.stock, 2);
    /// # Ok::<(), docstore::Error>(())
    /// ```
    pub fn modify_key(
        &self,
        key: impl KeyFor<KeyOf<T>>,
        mut edit: impl FnMut(&mut T),
    ) -> Result<Versioned<T>>
    where
        T: Clone,
    {
        let key = encode_key(&Self::key_name(), &key)?;
        loop {
            let Some(current) = self.find(&key)? else {
                return Err(self.key_not_found(&key));
            };
            match self.modify(current.id(), &mut edit) {
                Err(Error::NotFound { .. }) => {}
                other => return other,
            }
        }
    }

    /// Deletes the document whose own key is `key` and returns it as it was,
    /// or `None` if no document has the key.
    pub fn delete_key(&self, key: impl KeyFor<KeyOf<T>>) -> Result<Option<Versioned<T>>> {
        let key = encode_key(&Self::key_name(), &key)?;
        loop {
            let Some(current) = self.find(&key)? else {
                return Ok(None);
            };
            match self.delete(current.id()) {
                Err(Error::NotFound { .. }) => {}
                other => return other.map(Some),
            }
        }
    }

    /// The document holding `document`'s own key now, if any.
    fn found_by_own_key(&self, document: &T) -> Result<Option<Versioned<T>>> {
        let state = self.engine.snapshot()?;
        let index = state.index(T::KEY.index_name())?;
        Ok(key_of(index, document)?.and_then(|key| holder(&state, index, &key)))
    }

    fn describe_key(&self, document: &T) -> String {
        let key = self.engine.snapshot().ok().and_then(|state| {
            let index = state.index(T::KEY.index_name()).ok()?;
            key_of(index, document).ok().flatten()
        });
        key.map_or_else(|| "none".to_owned(), |key| describe(key.as_bytes()))
    }

    fn key_not_found(&self, key: &KeyBytes) -> Error {
        Error::KeyNotFound {
            index: Self::key_name(),
            key: describe(key.as_bytes()),
        }
    }
}

/// Whether a write by id failed only because another write came first (the
/// document changed or went), so that looking the key up again may succeed.
fn is_stale(error: &Error) -> bool {
    matches!(
        error,
        Error::VersionConflict { .. } | Error::NotFound { .. }
    )
}
