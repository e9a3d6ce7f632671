//! Documents with their own keys inside a transaction: the key-based
//! operations of a [`Keyed`] collection, each an id-based operation after one
//! lookup of the key, which the transaction records as read like any other
//! lookup (a concurrent write of that key is a conflict) and which sees the
//! transaction's own writes.

use crate::index::KeySink;
use crate::key::{KeyFor, describe};
use crate::keyed::KeyOf;
use crate::query::IndexRef;
use crate::snapshot::{Arity, encode};
use crate::{Error, Keyed, Result, Versioned};

use super::TxCollection;
use super::span::Span;

impl<T: Keyed> TxCollection<'_, T> {
    /// The document whose own key is `key`, as the transaction sees it.
    ///
    /// ```
    /// use docstore::{Collection, Indexed};
    ///
    /// #[derive(Indexed, Clone)]
    /// struct Product {
    ///     #[key]
    ///     sku: String,
    ///     price: u32,
    /// }
    ///
    /// let products = Collection::<Product>::new();
    /// products.transaction(|tx| {
    ///     tx.insert(Product { sku: "A-1".into(), price: 30 })?;
    ///     // Its own insert, found by its key.
    ///     assert_eq!(tx.get_key("A-1")?.map(|p| p.price), Some(30));
    ///     Ok::<_, docstore::Error>(())
    /// })?;
    /// # Ok::<(), docstore::Error>(())
    /// ```
    pub fn get_key(&self, key: impl KeyFor<KeyOf<T>>) -> Result<Option<Versioned<T>>> {
        self.get_unique(T::KEY, key)
    }

    /// Buffers a replacement of the document with the same own key as
    /// `document`; returns the version it will have. Fails with
    /// [`Error::KeyNotFound`] if no document has that key.
    ///
    /// ```
    /// use docstore::{Collection, Indexed};
    ///
    /// #[derive(Indexed, Clone)]
    /// struct Product {
    ///     #[key]
    ///     sku: String,
    ///     price: u32,
    /// }
    ///
    /// let products = Collection::<Product>::new();
    /// products.insert(Product { sku: "A-1".into(), price: 30 })?;
    /// let version = products.transaction(|tx| tx.update_key(Product { sku: "A-1".into(), price: 25 }))?;
    /// assert_eq!(version, 2);
    /// assert_eq!(products.get_key("A-1")?.map(|p| p.price), Some(25));
    /// # Ok::<(), docstore::Error>(())
    /// ```
    pub fn update_key(&self, document: T) -> Result<u64> {
        let key = self.own_key(&document)?;
        let Some(current) = self.holder(key.clone())? else {
            return Err(key_not_found::<T>(&key));
        };
        self.view.replace(current.id(), None, document)
    }

    /// Buffers an insert of `document`, or a replacement of the document with
    /// the same own key; returns the document it replaces, as the transaction
    /// saw it, if any.
    ///
    /// ```
    /// use docstore::{Collection, Indexed};
    ///
    /// #[derive(Indexed, Clone)]
    /// struct Product {
    ///     #[key]
    ///     sku: String,
    ///     price: u32,
    /// }
    ///
    /// let products = Collection::<Product>::new();
    /// products.transaction(|tx| {
    ///     assert!(tx.upsert(Product { sku: "A-1".into(), price: 30 })?.is_none());
    ///     let replaced = tx.upsert(Product { sku: "A-1".into(), price: 25 })?;
    ///     assert_eq!(replaced.map(|p| p.price), Some(30));
    ///     Ok::<_, docstore::Error>(())
    /// })?;
    /// assert_eq!(products.get_key("A-1")?.map(|p| (p.price, p.version())), Some((25, 1)));
    /// # Ok::<(), docstore::Error>(())
    /// ```
    pub fn upsert(&self, document: T) -> Result<Option<Versioned<T>>> {
        let key = self.own_key(&document)?;
        match self.holder(key)? {
            Some(current) => {
                self.view.replace(current.id(), None, document)?;
                Ok(Some(current))
            }
            None => self.view.insert(document).map(|_| None),
        }
    }

    /// Buffers an edit of the document whose own key is `key`, made by `edit`
    /// on a copy; returns the document as it will be. Fails with
    /// [`Error::KeyNotFound`] if no document has the key, and with
    /// [`Error::KeyChanged`] if `edit` changes it.
    ///
    /// ```
    /// use docstore::{Collection, Indexed};
    ///
    /// #[derive(Indexed, Clone)]
    /// struct Product {
    ///     #[key]
    ///     sku: String,
    ///     stock: u32,
    /// }
    ///
    /// let products = Collection::<Product>::new();
    /// products.insert(Product { sku: "A-1".into(), stock: 3 })?;
    /// let sold = products.transaction(|tx| tx.modify_key("A-1", |p| p.stock -= 1))?;
    /// assert_eq!(sold.stock, 2);
    /// # Ok::<(), docstore::Error>(())
    /// ```
    pub fn modify_key(
        &self,
        key: impl KeyFor<KeyOf<T>>,
        edit: impl FnOnce(&mut T),
    ) -> Result<Versioned<T>>
    where
        T: Clone,
    {
        let key = self.query_key(key)?;
        let Some(current) = self.holder(key.clone())? else {
            return Err(key_not_found::<T>(&key));
        };
        let mut document = (*current).clone();
        edit(&mut document);
        let weight = self.view.engine.weigh(&document);
        self.view
            .with(|part| part.replace(current.id(), None, document, weight))
    }

    /// Buffers the deletion of the document whose own key is `key`; returns it
    /// as the transaction saw it, or `None` if no document has the key.
    ///
    /// ```
    /// use docstore::{Collection, Indexed};
    ///
    /// #[derive(Indexed, Clone)]
    /// struct Product {
    ///     #[key]
    ///     sku: String,
    /// }
    ///
    /// let products = Collection::<Product>::new();
    /// products.insert(Product { sku: "A-1".into() })?;
    /// products.transaction(|tx| {
    ///     assert!(tx.delete_key("A-1")?.is_some());
    ///     assert!(tx.get_key("A-1")?.is_none());
    ///     assert!(tx.delete_key("A-1")?.is_none());
    ///     Ok::<_, docstore::Error>(())
    /// })?;
    /// assert!(products.get_key("A-1")?.is_none());
    /// # Ok::<(), docstore::Error>(())
    /// ```
    pub fn delete_key(&self, key: impl KeyFor<KeyOf<T>>) -> Result<Option<Versioned<T>>> {
        let key = self.query_key(key)?;
        match self.holder(key)? {
            Some(current) => self.view.delete(current.id(), None).map(Some),
            None => Ok(None),
        }
    }

    /// The document holding the encoded own key `key`, as the transaction
    /// sees it; recorded as a lookup.
    fn holder(&self, key: Vec<u8>) -> Result<Option<Versioned<T>>> {
        let handle = T::KEY;
        let name = handle.index_name();
        self.view
            .with(|part| Ok(part.query(name, Span::Key(key))?.next()))
    }

    /// `key`, encoded as the own key's index encodes it.
    fn query_key(&self, key: impl KeyFor<KeyOf<T>>) -> Result<Vec<u8>> {
        let handle = T::KEY;
        let name = handle.index_name();
        self.view.with(|part| {
            encode(part.index(name)?, Arity::Exact, |out| {
                key.write_key_for(out)
            })
        })
    }

    /// The own key of `document`, encoded.
    fn own_key(&self, document: &T) -> Result<Vec<u8>> {
        let handle = T::KEY;
        let name = handle.index_name();
        self.view.with(|part| {
            let keys = part.index(name)?.keys_of(document, &mut KeySink::new())?;
            // A `#[key]` field is neither optional nor multi-key: one key.
            Ok(keys
                .as_slice()
                .first()
                .map(|key| key.as_bytes().to_vec())
                .unwrap_or_default())
        })
    }
}

fn key_not_found<T: Keyed>(key: &[u8]) -> Error {
    Error::KeyNotFound {
        index: T::KEY.index_name().to_owned(),
        key: describe(key),
    }
}
