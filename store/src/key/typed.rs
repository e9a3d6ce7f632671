//! What can be a key, and what a query may pass for one.
//!
//! [`IndexKey`] is implemented by every type that can be indexed; the derive
//! requires it of each indexed field, so indexing a type with no order fails to
//! compile. [`KeyFor<K>`] says which argument types a query may pass for an index
//! whose key type is `K` (`&str` for `String`, `u32` for `u32`, `("Paris", 30)`
//! for `(String, u32)`), so a query with the wrong key type fails to compile.
//! Schemaless indexes take any JSON-like key: their key type is [`JsonKey`].

use std::borrow::Cow;
use std::ops::{Bound, Range, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive};
use std::rc::Rc;
use std::sync::Arc;

use super::encode::{KeyWriter, encode_json};
use crate::Id;

/// A type whose values can be index keys, with the order described in
/// [the key module](crate#key-order).
///
/// Implemented for integers, floats, `bool`, `char`, `str` and `String`, [`Id`]
/// and `uuid::Uuid` (as their hyphenated text), `std::time::SystemTime` and
/// `Duration` (as nanoseconds; instants before the epoch are negative), behind
/// the `chrono` feature chrono's `NaiveDate`, `NaiveDateTime` and
/// `DateTime<Utc>`, behind the `time` feature time's `Date` and
/// `OffsetDateTime` (dates as days since 1970-01-01, instants as nanoseconds
/// since the epoch), `Option` (where `None` is null), sequences (as arrays),
/// tuples (as composite keys), and the usual smart pointers.
///
/// For a type of your own, `#[derive(IndexKey)]` keys a fieldless enum by the
/// order of its variants and a newtype as its field, and lets queries take it
/// by value. Or implement it by writing the key through [`KeyWriter`]; to pass
/// such a type to queries by value too, also implement `KeyFor<T> for T`
/// (queries take `&T` either way).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an index key",
    label = "this type has no order docstore can index",
    note = "index keys are integers, floats, bool, char, String/str, Id, Uuid, SystemTime, \
            Duration, Option, Vec or arrays of keys, or a type of yours that derives or \
            implements `docstore::IndexKey`"
)]
pub trait IndexKey {
    /// Writes this key's fields.
    fn write_key(&self, out: &mut KeyWriter);
}

/// The key type of a schemaless index: any JSON-like value.
///
/// Queries on a [`Store`](crate::Store) accept anything that is
/// `KeyFor<JsonKey>`: string slices and `String`s, numbers, booleans,
/// `serde_json::Value`s, and for composite indexes tuples of these or a `Vec`,
/// slice or array of `Value`s, one per field (a JSON array *value* is one
/// value, an array key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonKey;

/// A value a query may pass as a key of an index whose key type is `K`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a key for an index whose keys are `{K}`",
    label = "expected a key of type `{K}` (or a borrowed form of it)",
    note = "pass the index's own key type, a reference to it, or `&str` for a `String` key; \
            a key type of your own passes by value once it derives `IndexKey` (or implements \
            `KeyFor<Self>`)"
)]
pub trait KeyFor<K: ?Sized> {
    /// Writes this argument as a key of type `K`.
    fn write_key_for(&self, out: &mut KeyWriter);
}

/// A range of keys a query may pass for an index whose key type is `K`: any of
/// Rust's range forms (`a..b`, `a..=b`, `a..`, `..b`, `..=b`, `..`) or a pair of
/// [`Bound`]s, over [`KeyFor<K>`] values.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a range of keys for an index whose keys are `{K}`",
    label = "expected a range such as `a..b` over keys of type `{K}`"
)]
pub trait KeyRange<K: ?Sized> {
    /// Writes the bounds; returns which kind each is. A bound's writer is left
    /// empty when the bound is `Unbounded`.
    fn write_bounds(&self, start: &mut KeyWriter, end: &mut KeyWriter) -> (Bound<()>, Bound<()>);
}

/// One end of a range of keys of type `K`: a whole key ([`KeyFor<K>`]) or, for a
/// composite key, a tuple of its leading fields, which stands for every key
/// starting with them (`("Paris",)..=("Rome",)` covers all of Rome).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a bound for keys of type `{K}`",
    label = "expected a key of type `{K}`, or a tuple of its leading fields"
)]
pub trait KeyBound<K: ?Sized> {
    /// Writes the bound's fields.
    fn write_bound(&self, out: &mut KeyWriter);
}

impl<K: ?Sized, Q: KeyFor<K>> KeyBound<K> for Q {
    fn write_bound(&self, out: &mut KeyWriter) {
        self.write_key_for(out);
    }
}

/// The key type of a composite index: a tuple of its fields' key types (or
/// [`JsonKey`], as a schemaless index may be composite). What `prefix` and
/// `range_within` need, as only a composite index has leading fields.
#[diagnostic::on_unimplemented(
    message = "`prefix` and `range_within` need a composite index, and this index's keys are \
               `{Self}`, one field",
    label = "this index is not composite",
    note = "a composite index is declared with `#[indexed(composite(name = (field, field)))]`; \
            query a one-field index with `lookup` or `range` (`range(index, a..b)`)"
)]
pub trait CompositeKey {}

impl CompositeKey for JsonKey {}

macro_rules! composite_keys {
    ($(($($name:ident),+))*) => {$(
        impl<$($name),+> CompositeKey for ($($name,)+) {}
    )*};
}

composite_keys! {
    (A, B)
    (A, B, C)
    (A, B, C, D)
    (A, B, C, D, E)
    (A, B, C, D, E, F)
}

/// The leading fields of a composite key of type `K`, for a prefix query: a
/// tuple of the first one or more fields (`("Paris",)` for `(String, u32)`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a prefix of keys of type `{K}`",
    label = "expected a tuple of leading fields of a composite key",
    note = "`prefix` needs a composite index, whose keys are tuples such as `(String, u32)`, \
            and takes a tuple of their leading fields, such as `(\"Paris\",)`"
)]
pub trait KeyPrefix<K: ?Sized> {
    /// Writes the prefix's fields.
    fn write_prefix(&self, out: &mut KeyWriter);
}

/// The leading fields of a composite key of type `K` that a
/// [`range_within`](crate::Snapshot::range_within) query fixes, with `Next`, the
/// type of the field after them, which its range is over: `("paid",)` for
/// `(String, u64)` leaves a range over `u64`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not the leading fields of keys of type `{K}`",
    label = "expected a tuple of fewer fields than `{K}` has, such as `(first,)`",
    note = "`range_within` needs a composite index: it fixes the leading fields and \
            ranges over the next one"
)]
pub trait KeyLeading<K: ?Sized> {
    /// The type of the field after the leading ones.
    type Next: ?Sized;

    /// Writes the leading fields.
    fn write_leading(&self, out: &mut KeyWriter);
}

#[diagnostic::do_not_recommend]
impl<Q: KeyFor<JsonKey>> KeyLeading<JsonKey> for Q {
    type Next = JsonKey;

    fn write_leading(&self, out: &mut KeyWriter) {
        self.write_key_for(out);
    }
}

impl<K: IndexKey + ?Sized> KeyFor<K> for &K {
    fn write_key_for(&self, out: &mut KeyWriter) {
        (**self).write_key(out);
    }
}

macro_rules! owned_keys {
    ($($ty:ty),*) => {$(
        impl KeyFor<$ty> for $ty {
            fn write_key_for(&self, out: &mut KeyWriter) {
                self.write_key(out);
            }
        }
        #[diagnostic::do_not_recommend]
        impl KeyFor<JsonKey> for $ty {
            fn write_key_for(&self, out: &mut KeyWriter) {
                self.write_key(out);
            }
        }
        #[diagnostic::do_not_recommend]
        impl KeyFor<JsonKey> for &$ty {
            fn write_key_for(&self, out: &mut KeyWriter) {
                self.write_key(out);
            }
        }
    )*};
}

macro_rules! unsigned_keys {
    ($($ty:ty),*) => {$(
        impl IndexKey for $ty {
            fn write_key(&self, out: &mut KeyWriter) {
                out.write_u64(u64::from(*self));
            }
        }
    )*};
}

macro_rules! signed_keys {
    ($($ty:ty),*) => {$(
        impl IndexKey for $ty {
            fn write_key(&self, out: &mut KeyWriter) {
                out.write_i64(i64::from(*self));
            }
        }
    )*};
}

unsigned_keys!(u8, u16, u32, u64);
signed_keys!(i8, i16, i32, i64);

impl IndexKey for usize {
    fn write_key(&self, out: &mut KeyWriter) {
        out.write_u64(u64::try_from(*self).unwrap_or(u64::MAX));
    }
}

impl IndexKey for isize {
    fn write_key(&self, out: &mut KeyWriter) {
        out.write_i128(i128::try_from(*self).unwrap_or(0));
    }
}

impl IndexKey for u128 {
    fn write_key(&self, out: &mut KeyWriter) {
        out.write_u128(*self);
    }
}

impl IndexKey for i128 {
    fn write_key(&self, out: &mut KeyWriter) {
        out.write_i128(*self);
    }
}

impl IndexKey for f64 {
    fn write_key(&self, out: &mut KeyWriter) {
        out.write_f64(*self);
    }
}

impl IndexKey for f32 {
    fn write_key(&self, out: &mut KeyWriter) {
        out.write_f64(f64::from(*self));
    }
}

impl IndexKey for bool {
    fn write_key(&self, out: &mut KeyWriter) {
        out.write_bool(*self);
    }
}

/// A `char` is the one-character string, so it orders with strings.
impl IndexKey for char {
    fn write_key(&self, out: &mut KeyWriter) {
        out.write_str(self.encode_utf8(&mut [0; 4]));
    }
}

impl IndexKey for str {
    fn write_key(&self, out: &mut KeyWriter) {
        out.write_str(self);
    }
}

impl IndexKey for String {
    fn write_key(&self, out: &mut KeyWriter) {
        out.write_str(self);
    }
}

/// An id is keyed as its hyphenated text, so that a typed `Id` field and a
/// schemaless document holding the same id as a string give the same key.
impl IndexKey for Id {
    fn write_key(&self, out: &mut KeyWriter) {
        let mut buffer = uuid::Uuid::encode_buffer();
        out.write_str(self.to_uuid().hyphenated().encode_lower(&mut buffer));
    }
}

/// A UUID is keyed as its lowercase hyphenated text, as an [`Id`] is: the
/// text's order is the bytes' order, and a schemaless document holding the
/// UUID as a string has the same key.
impl IndexKey for uuid::Uuid {
    fn write_key(&self, out: &mut KeyWriter) {
        let mut buffer = uuid::Uuid::encode_buffer();
        out.write_str(self.hyphenated().encode_lower(&mut buffer));
    }
}

impl IndexKey for serde_json::Value {
    fn write_key(&self, out: &mut KeyWriter) {
        encode_json(out, self);
    }
}

/// `None` is null, the lowest key. (An indexed `Option` *field* leaves `None`
/// out of the index instead; this is for options inside composite keys.)
impl<K: IndexKey> IndexKey for Option<K> {
    fn write_key(&self, out: &mut KeyWriter) {
        match self {
            Some(key) => key.write_key(out),
            None => out.write_null(),
        }
    }
}

impl<K: IndexKey + ?Sized> IndexKey for &K {
    fn write_key(&self, out: &mut KeyWriter) {
        (**self).write_key(out);
    }
}

impl<K: IndexKey + ?Sized> IndexKey for Box<K> {
    fn write_key(&self, out: &mut KeyWriter) {
        (**self).write_key(out);
    }
}

impl<K: IndexKey + ?Sized> IndexKey for Arc<K> {
    fn write_key(&self, out: &mut KeyWriter) {
        (**self).write_key(out);
    }
}

impl<K: IndexKey + ?Sized> IndexKey for Rc<K> {
    fn write_key(&self, out: &mut KeyWriter) {
        (**self).write_key(out);
    }
}

impl<K: IndexKey + ToOwned + ?Sized> IndexKey for Cow<'_, K> {
    fn write_key(&self, out: &mut KeyWriter) {
        (**self).write_key(out);
    }
}

/// A sequence is one array key (a multi-key index, by contrast, keys each element).
impl<K: IndexKey> IndexKey for [K] {
    fn write_key(&self, out: &mut KeyWriter) {
        out.begin_array();
        for item in self {
            item.write_key(out);
        }
        out.end_array();
    }
}

impl<K: IndexKey, const N: usize> IndexKey for [K; N] {
    fn write_key(&self, out: &mut KeyWriter) {
        self.as_slice().write_key(out);
    }
}

impl<K: IndexKey> IndexKey for Vec<K> {
    fn write_key(&self, out: &mut KeyWriter) {
        self.as_slice().write_key(out);
    }
}

owned_keys!(
    u8,
    u16,
    u32,
    u64,
    usize,
    u128,
    i8,
    i16,
    i32,
    i64,
    isize,
    i128,
    f32,
    f64,
    bool,
    char,
    String,
    Id,
    uuid::Uuid
);

/// Sequences pass element by element: `vec![1, 2]` or `[1, 2]` for a `Vec<u32>` key.
impl<K, Q: KeyFor<K>> KeyFor<Vec<K>> for Vec<Q> {
    fn write_key_for(&self, out: &mut KeyWriter) {
        write_sequence(self, out);
    }
}

impl<K, Q: KeyFor<K>, const N: usize> KeyFor<Vec<K>> for [Q; N] {
    fn write_key_for(&self, out: &mut KeyWriter) {
        write_sequence(self, out);
    }
}

impl<K, Q: KeyFor<K>> KeyFor<Vec<K>> for &[Q] {
    fn write_key_for(&self, out: &mut KeyWriter) {
        write_sequence(self, out);
    }
}

impl<K, Q: KeyFor<K>, const N: usize> KeyFor<[K; N]> for [Q; N] {
    fn write_key_for(&self, out: &mut KeyWriter) {
        write_sequence(self, out);
    }
}

fn write_sequence<K, Q: KeyFor<K>>(items: &[Q], out: &mut KeyWriter) {
    out.begin_array();
    for item in items {
        item.write_key_for(out);
    }
    out.end_array();
}

/// `None` passes as null, `Some(q)` as `q`.
impl<K, Q: KeyFor<K>> KeyFor<Option<K>> for Option<Q> {
    fn write_key_for(&self, out: &mut KeyWriter) {
        match self {
            Some(key) => key.write_key_for(out),
            None => out.write_null(),
        }
    }
}

impl<K: ?Sized, Q: KeyFor<K>> KeyFor<Box<K>> for Box<Q> {
    fn write_key_for(&self, out: &mut KeyWriter) {
        (**self).write_key_for(out);
    }
}

impl KeyFor<String> for &str {
    fn write_key_for(&self, out: &mut KeyWriter) {
        out.write_str(self);
    }
}

impl KeyFor<String> for Box<str> {
    fn write_key_for(&self, out: &mut KeyWriter) {
        out.write_str(self);
    }
}

impl KeyFor<String> for Cow<'_, str> {
    fn write_key_for(&self, out: &mut KeyWriter) {
        out.write_str(self);
    }
}

#[diagnostic::do_not_recommend]
impl KeyFor<JsonKey> for &str {
    fn write_key_for(&self, out: &mut KeyWriter) {
        out.write_str(self);
    }
}

#[diagnostic::do_not_recommend]
impl KeyFor<JsonKey> for serde_json::Value {
    fn write_key_for(&self, out: &mut KeyWriter) {
        encode_json(out, self);
    }
}

#[diagnostic::do_not_recommend]
impl KeyFor<JsonKey> for &serde_json::Value {
    fn write_key_for(&self, out: &mut KeyWriter) {
        encode_json(out, self);
    }
}

/// Run-time composite keys: a Rust sequence of JSON values gives one value per
/// field, for an index whose fields were chosen at run time. (A JSON array, a
/// `Value::Array`, is one value: an array key.)
fn write_fields(values: &[serde_json::Value], out: &mut KeyWriter) {
    for value in values {
        encode_json(out, value);
    }
    out.fields_given_one_by_one();
}

#[diagnostic::do_not_recommend]
impl KeyFor<JsonKey> for [serde_json::Value] {
    fn write_key_for(&self, out: &mut KeyWriter) {
        write_fields(self, out);
    }
}

#[diagnostic::do_not_recommend]
impl KeyFor<JsonKey> for &[serde_json::Value] {
    fn write_key_for(&self, out: &mut KeyWriter) {
        write_fields(self, out);
    }
}

#[diagnostic::do_not_recommend]
impl KeyFor<JsonKey> for Vec<serde_json::Value> {
    fn write_key_for(&self, out: &mut KeyWriter) {
        write_fields(self, out);
    }
}

#[diagnostic::do_not_recommend]
impl KeyFor<JsonKey> for &Vec<serde_json::Value> {
    fn write_key_for(&self, out: &mut KeyWriter) {
        write_fields(self, out);
    }
}

#[diagnostic::do_not_recommend]
impl<const N: usize> KeyFor<JsonKey> for [serde_json::Value; N] {
    fn write_key_for(&self, out: &mut KeyWriter) {
        write_fields(self, out);
    }
}

#[diagnostic::do_not_recommend]
impl<const N: usize> KeyFor<JsonKey> for &[serde_json::Value; N] {
    fn write_key_for(&self, out: &mut KeyWriter) {
        write_fields(*self, out);
    }
}

#[diagnostic::do_not_recommend]
impl<Q: KeyFor<JsonKey>> KeyFor<JsonKey> for Option<Q> {
    fn write_key_for(&self, out: &mut KeyWriter) {
        match self {
            Some(key) => key.write_key_for(out),
            None => out.write_null(),
        }
    }
}

#[diagnostic::do_not_recommend]
impl<Q: KeyFor<JsonKey>> KeyPrefix<JsonKey> for Q {
    fn write_prefix(&self, out: &mut KeyWriter) {
        self.write_key_for(out);
    }
}

macro_rules! tuple_keys {
    ($(($($name:ident $q:ident $idx:tt),+))*) => {$(

        impl<$($name: IndexKey),+> IndexKey for ($($name,)+) {
            fn write_key(&self, out: &mut KeyWriter) {
                $(self.$idx.write_key(out);)+
            }
        }

        impl<$($name,)+ $($q: KeyFor<$name>),+> KeyFor<($($name,)+)> for ($($q,)+) {
            fn write_key_for(&self, out: &mut KeyWriter) {
                $(self.$idx.write_key_for(out);)+
            }
        }

        #[diagnostic::do_not_recommend]
        impl<$($q: KeyFor<JsonKey>),+> KeyFor<JsonKey> for ($($q,)+) {
            fn write_key_for(&self, out: &mut KeyWriter) {
                $(self.$idx.write_key_for(out);)+
                out.fields_given_one_by_one();
            }
        }
    )*};
}

tuple_keys! {
    (A QA 0)
    (A QA 0, B QB 1)
    (A QA 0, B QB 1, C QC 2)
    (A QA 0, B QB 1, C QC 2, D QD 3)
    (A QA 0, B QB 1, C QC 2, D QD 3, E QE 4)
    (A QA 0, B QB 1, C QC 2, D QD 3, E QE 4, F QF 5)
}

macro_rules! tuple_prefix {
    ([$($key:ident)+] $($name:ident $q:ident $idx:tt)+) => {
        impl<$($key,)+ $($q: KeyFor<$name>),+> KeyPrefix<($($key,)+)> for ($($q,)+) {
            fn write_prefix(&self, out: &mut KeyWriter) {
                $(self.$idx.write_key_for(out);)+
            }
        }
    };
}

tuple_prefix!([A] A QA 0);
tuple_prefix!([A B] A QA 0);
tuple_prefix!([A B] A QA 0 B QB 1);
tuple_prefix!([A B C] A QA 0);
tuple_prefix!([A B C] A QA 0 B QB 1);
tuple_prefix!([A B C] A QA 0 B QB 1 C QC 2);
tuple_prefix!([A B C D] A QA 0);
tuple_prefix!([A B C D] A QA 0 B QB 1);
tuple_prefix!([A B C D] A QA 0 B QB 1 C QC 2);
tuple_prefix!([A B C D] A QA 0 B QB 1 C QC 2 D QD 3);
tuple_prefix!([A B C D E] A QA 0);
tuple_prefix!([A B C D E] A QA 0 B QB 1);
tuple_prefix!([A B C D E] A QA 0 B QB 1 C QC 2);
tuple_prefix!([A B C D E] A QA 0 B QB 1 C QC 2 D QD 3);
tuple_prefix!([A B C D E] A QA 0 B QB 1 C QC 2 D QD 3 E QE 4);
tuple_prefix!([A B C D E F] A QA 0);
tuple_prefix!([A B C D E F] A QA 0 B QB 1);
tuple_prefix!([A B C D E F] A QA 0 B QB 1 C QC 2);
tuple_prefix!([A B C D E F] A QA 0 B QB 1 C QC 2 D QD 3);
tuple_prefix!([A B C D E F] A QA 0 B QB 1 C QC 2 D QD 3 E QE 4);
tuple_prefix!([A B C D E F] A QA 0 B QB 1 C QC 2 D QD 3 E QE 4 F QF 5);

macro_rules! leading_bound {
    ([$($key:ident)+] $($name:ident $q:ident $idx:tt)+) => {
        impl<$($key,)+ $($q: KeyFor<$name>),+> KeyBound<($($key,)+)> for ($($q,)+) {
            fn write_bound(&self, out: &mut KeyWriter) {
                $(self.$idx.write_key_for(out);)+
            }
        }
    };
}

leading_bound!([A B] A QA 0);
leading_bound!([A B C] A QA 0);
leading_bound!([A B C] A QA 0 B QB 1);
leading_bound!([A B C D] A QA 0);
leading_bound!([A B C D] A QA 0 B QB 1);
leading_bound!([A B C D] A QA 0 B QB 1 C QC 2);
leading_bound!([A B C D E] A QA 0);
leading_bound!([A B C D E] A QA 0 B QB 1);
leading_bound!([A B C D E] A QA 0 B QB 1 C QC 2);
leading_bound!([A B C D E] A QA 0 B QB 1 C QC 2 D QD 3);
leading_bound!([A B C D E F] A QA 0);
leading_bound!([A B C D E F] A QA 0 B QB 1);
leading_bound!([A B C D E F] A QA 0 B QB 1 C QC 2);
leading_bound!([A B C D E F] A QA 0 B QB 1 C QC 2 D QD 3);
leading_bound!([A B C D E F] A QA 0 B QB 1 C QC 2 D QD 3 E QE 4);

fn write_bound<K: ?Sized, Q: KeyBound<K>>(bound: Bound<&Q>, out: &mut KeyWriter) -> Bound<()> {
    match bound {
        Bound::Included(key) => {
            key.write_bound(out);
            Bound::Included(())
        }
        Bound::Excluded(key) => {
            key.write_bound(out);
            Bound::Excluded(())
        }
        Bound::Unbounded => Bound::Unbounded,
    }
}

macro_rules! ranges {
    ($($range:ident),*) => {$(
        impl<K: ?Sized, Q: KeyBound<K>> KeyRange<K> for $range<Q> {
            fn write_bounds(&self, start: &mut KeyWriter, end: &mut KeyWriter) -> (Bound<()>, Bound<()>) {
                use std::ops::RangeBounds;
                (write_bound(self.start_bound(), start), write_bound(self.end_bound(), end))
            }
        }
    )*};
}

ranges!(Range, RangeInclusive, RangeFrom, RangeTo, RangeToInclusive);

impl<K: ?Sized, Q: KeyBound<K>> KeyRange<K> for (Bound<Q>, Bound<Q>) {
    fn write_bounds(&self, start: &mut KeyWriter, end: &mut KeyWriter) -> (Bound<()>, Bound<()>) {
        (
            write_bound(self.0.as_ref(), start),
            write_bound(self.1.as_ref(), end),
        )
    }
}

impl<K: ?Sized> KeyRange<K> for RangeFull {
    fn write_bounds(&self, _: &mut KeyWriter, _: &mut KeyWriter) -> (Bound<()>, Bound<()>) {
        (Bound::Unbounded, Bound::Unbounded)
    }
}

macro_rules! leading_fields {
    ([$($key:ident)+] $next:ident; $($name:ident $q:ident $idx:tt)+) => {
        impl<$($key,)+ $($q: KeyFor<$name>),+> KeyLeading<($($key,)+)> for ($($q,)+) {
            type Next = $next;

            fn write_leading(&self, out: &mut KeyWriter) {
                $(self.$idx.write_key_for(out);)+
            }
        }
    };
}

leading_fields!([A B] B; A QA 0);
leading_fields!([A B C] B; A QA 0);
leading_fields!([A B C] C; A QA 0 B QB 1);
leading_fields!([A B C D] B; A QA 0);
leading_fields!([A B C D] C; A QA 0 B QB 1);
leading_fields!([A B C D] D; A QA 0 B QB 1 C QC 2);
leading_fields!([A B C D E] B; A QA 0);
leading_fields!([A B C D E] C; A QA 0 B QB 1);
leading_fields!([A B C D E] D; A QA 0 B QB 1 C QC 2);
leading_fields!([A B C D E] E; A QA 0 B QB 1 C QC 2 D QD 3);
leading_fields!([A B C D E F] B; A QA 0);
leading_fields!([A B C D E F] C; A QA 0 B QB 1);
leading_fields!([A B C D E F] D; A QA 0 B QB 1 C QC 2);
leading_fields!([A B C D E F] E; A QA 0 B QB 1 C QC 2 D QD 3);
leading_fields!([A B C D E F] F; A QA 0 B QB 1 C QC 2 D QD 3 E QE 4);
