//! The shapes of struct the derive accepts: generic, `pub(crate)`, declared in a
//! function body, made by a `macro_rules!`, with raw identifiers, next to items
//! that shadow the runtime's names. The lints at the top prove the generated
//! code triggers no warning, clippy's pedantic ones included, nor the pickier
//! allow-by-default lints a crate may turn on.
#![deny(warnings, clippy::pedantic)]
#![deny(
    unused_qualifications,
    unreachable_pub,
    missing_debug_implementations,
    missing_copy_implementations,
    trivial_casts,
    single_use_lifetimes,
    elided_lifetimes_in_paths,
    variant_size_differences
)]

use docstore::{Collection, Error, IndexKey, Indexed};

/// A page whose body can be anything: only the title is indexed.
#[derive(Indexed, Clone, Debug)]
pub struct Page<T> {
    #[index]
    title: String,
    body: T,
}

/// A generic key: the derive bounds `K: IndexKey` on its impls by itself.
#[derive(Indexed, Clone, Debug)]
#[indexed(composite(by_key_rank = (key, rank)))]
struct Entry<K> {
    #[index(unique)]
    key: K,
    rank: u32,
}

/// Bounds and where-clauses of the struct are kept.
#[derive(Indexed, Clone, Debug)]
struct Bounded<K: IndexKey + Clone, V>
where
    V: Send + Sync + 'static,
{
    #[index]
    key: K,
    #[index(each)]
    values: Vec<K>,
    extra: V,
}

/// Const generics: the array is one key.
#[derive(Indexed, Clone, Debug)]
struct Grid<const N: usize> {
    #[index]
    cells: [u8; N],
}

pub(crate) mod crate_private {
    use docstore::Indexed;

    /// Visible in the crate only; so are its handles.
    #[derive(Indexed, Clone, Debug)]
    pub(crate) struct Note {
        #[index]
        pub(crate) topic: String,
    }
}

#[test]
fn a_generic_struct_gets_handles_that_infer_its_parameters() -> Result<(), Error> {
    let pages = Collection::<Page<Vec<u8>>>::new();
    pages.insert(Page {
        title: "intro".to_owned(),
        body: vec![1, 2, 3],
    })?;
    let found: Vec<Vec<u8>> = pages
        .lookup(Page::title, "intro")?
        .map(|page| page.body.clone())
        .collect();
    assert_eq!(found, [vec![1, 2, 3]]);
    // The explicit form works too.
    assert_eq!(pages.lookup(Page::<Vec<u8>>::title, "intro")?.count(), 1);

    let texts = Collection::<Page<String>>::new();
    texts.insert(Page {
        title: "intro".to_owned(),
        body: "hello".to_owned(),
    })?;
    assert_eq!(texts.by_index(Page::title)?.count(), 1);
    Ok(())
}

#[test]
fn a_generic_key_type_works_for_each_key_type() -> Result<(), Error> {
    let by_number = Collection::<Entry<u64>>::new();
    by_number.insert(Entry { key: 7, rank: 1 })?;
    by_number.insert(Entry { key: 3, rank: 2 })?;
    let keys: Vec<u64> = by_number.by_index(Entry::key)?.map(|e| e.key).collect();
    assert_eq!(keys, [3, 7]);
    assert!(by_number.get_unique(Entry::key, 7)?.is_some());
    assert_eq!(by_number.lookup(Entry::by_key_rank, (3, 2))?.count(), 1);

    let by_name = Collection::<Entry<String>>::new();
    by_name.insert(Entry {
        key: "x".to_owned(),
        rank: 1,
    })?;
    assert!(by_name.get_unique(Entry::key, "x")?.is_some());
    assert!(
        by_name
            .insert(Entry {
                key: "x".to_owned(),
                rank: 2
            })
            .is_err()
    );
    Ok(())
}

#[test]
fn struct_bounds_and_where_clauses_are_kept() -> Result<(), Error> {
    let items = Collection::<Bounded<i32, ()>>::new();
    items.insert(Bounded {
        key: -1,
        values: vec![4, 5],
        extra: (),
    })?;
    let found: Vec<()> = items
        .lookup(Bounded::values, 5)?
        .map(|item| item.extra)
        .collect();
    assert_eq!(found, [()]);
    assert_eq!(items.range(Bounded::key, ..0)?.count(), 1);
    Ok(())
}

#[test]
fn const_generic_structs_work() -> Result<(), Error> {
    let grids = Collection::<Grid<3>>::new();
    grids.insert(Grid { cells: [1, 2, 3] })?;
    assert_eq!(grids.lookup(Grid::cells, [1, 2, 3])?.count(), 1);
    Ok(())
}

#[test]
fn a_crate_private_struct_works() -> Result<(), Error> {
    use crate_private::Note;
    let notes = Collection::<Note>::new();
    notes.insert(Note {
        topic: "rust".to_owned(),
    })?;
    let topics: Vec<String> = notes
        .lookup(Note::topic, "rust")?
        .map(|note| note.topic.clone())
        .collect();
    assert_eq!(topics, ["rust"]);
    Ok(())
}

#[test]
fn a_struct_declared_in_a_function_body_works() -> Result<(), Error> {
    #[derive(Indexed, Clone, Debug)]
    #[indexed(composite(by_kind_size = (kind, size)))]
    struct File {
        #[index]
        kind: String,
        size: u64,
    }

    let files = Collection::<File>::new();
    files.insert(File {
        kind: "log".to_owned(),
        size: 10,
    })?;
    assert_eq!(files.lookup(File::kind, "log")?.count(), 1);
    assert_eq!(files.prefix(File::by_kind_size, ("log",))?.count(), 1);
    Ok(())
}

#[test]
fn raw_identifiers_are_handles_without_the_prefix_at_run_time() -> Result<(), Error> {
    #[derive(Indexed, Clone, Debug)]
    #[indexed(composite(r#match = (r#type, r#loop)))]
    struct Token {
        #[index]
        r#type: String,
        r#loop: u8,
    }

    let tokens = Collection::<Token>::new();
    tokens.insert(Token {
        r#type: "ident".to_owned(),
        r#loop: 1,
    })?;
    assert_eq!(tokens.lookup(Token::r#type, "ident")?.count(), 1);
    assert_eq!(tokens.lookup(Token::r#match, ("ident", 1))?.count(), 1);
    let names: Vec<String> = tokens
        .indexes()?
        .iter()
        .map(|info| info.name().to_owned())
        .collect();
    assert_eq!(names, ["type", "match"]);
    Ok(())
}

macro_rules! indexed_struct {
    ($name:ident, $field:ident: $ty:ty) => {
        #[derive(Indexed, Clone, Debug)]
        struct $name {
            #[index]
            $field: $ty,
            #[index(each)]
            list: Vec<$ty>,
            #[index]
            maybe: Option<$ty>,
        }
    };
}

indexed_struct!(Generated, code: u16);

#[test]
fn a_struct_made_by_a_declarative_macro_works() -> Result<(), Error> {
    let items = Collection::<Generated>::new();
    items.insert(Generated {
        code: 404,
        list: vec![1, 2],
        maybe: Some(9),
    })?;
    assert_eq!(items.lookup(Generated::code, 404)?.count(), 1);
    assert_eq!(items.lookup(Generated::list, 2)?.count(), 1);
    assert_eq!(items.lookup(Generated::maybe, 9)?.count(), 1);
    Ok(())
}

/// Names the generated code must not pick up: it reaches the runtime through
/// `::docstore::__private` and the standard library through `::core`.
mod shadowing {
    #![allow(dead_code)]

    use ::docstore::{Collection, Error, Indexed};

    mod docstore {}
    mod core {}
    #[allow(non_camel_case_types)]
    struct str;
    struct Vec;
    struct KeySink;
    struct IndexSpec;
    struct IndexRef;
    struct Send;
    struct Copy;
    trait Clone {}
    fn drop() {}

    #[derive(Indexed, ::core::clone::Clone, Debug)]
    #[indexed(composite(by_a_b = (a, b)))]
    struct Shadowed {
        #[index(unique)]
        a: String,
        #[index]
        b: Option<u8>,
        #[index(each)]
        c: ::std::vec::Vec<u8>,
    }

    #[test]
    fn local_names_do_not_shadow_what_the_derive_uses() -> Result<(), Error> {
        let items = Collection::<Shadowed>::new();
        items.insert(Shadowed {
            a: "x".to_owned(),
            b: Some(1),
            c: ::std::vec![2, 3],
        })?;
        assert!(items.get_unique(Shadowed::a, "x")?.is_some());
        assert_eq!(items.lookup(Shadowed::by_a_b, ("x", 1))?.count(), 1);
        assert_eq!(items.lookup(Shadowed::c, 3)?.count(), 1);
        Ok(())
    }
}

#[test]
fn a_struct_without_indexes_is_a_plain_collection() -> Result<(), Error> {
    #[derive(Indexed, Clone, Debug)]
    struct Blob {
        bytes: Vec<u8>,
    }

    let blobs = Collection::<Blob>::new();
    let id = blobs.insert(Blob { bytes: vec![1] })?;
    assert_eq!(blobs.get(id)?.bytes, [1]);
    assert!(blobs.indexes()?.is_empty());
    Ok(())
}

#[test]
fn a_handle_never_used_raises_no_warning() -> Result<(), Error> {
    #[derive(Indexed, Clone, Debug)]
    struct Quiet {
        #[index]
        level: u8,
    }

    let quiet = Collection::<Quiet>::new();
    let id = quiet.insert(Quiet { level: 1 })?;
    assert_eq!(quiet.get(id)?.level, 1);
    Ok(())
}

#[test]
fn handles_are_copy_and_debug() {
    let handle = Page::<u8>::title;
    let copy = handle;
    assert_eq!(format!("{handle:?} {copy:?}"), "title title");
    assert_eq!(format!("{:?}", crate_private::Note::topic), "topic");
}
