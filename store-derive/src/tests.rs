//! The macro's own checks: every input, however malformed, gives tokens or
//! errors, never a panic; and errors are reported together.

use crate::expand::derive;

fn errors_of(source: &str) -> Vec<String> {
    let input = syn::parse_str(source).unwrap_or_else(|error| panic!("{source}: {error}"));
    match derive(&input) {
        Ok(_) => Vec::new(),
        Err(error) => error.into_iter().map(|error| error.to_string()).collect(),
    }
}

#[test]
fn valid_inputs_expand() {
    for source in [
        "struct A { #[index] a: u32 }",
        "struct A {}",
        "struct A { a: u32 }",
        "pub(crate) struct A<T: Clone, const N: usize> where T: Send { #[index] a: [T; N] }",
        "struct A { #[index(unique, each, name = \"x\")] a: Option<Vec<u8>>, #[index] #[index(name = \"b\")] c: u8 }",
        "#[indexed(composite(x = (a, b), unique,), computed(y: Option<Vec<u8>> = f, each, unique),)] struct A { a: u8, b: u8 }",
        "#[indexed(computed(y: Vec<u8> = f, each))] struct A { r#type: u8 }",
        "#[indexed(composite(x = (a, b), covering), computed(y: u8 = f, covering, unique))] \
         struct A { #[index(covering, unique)] a: u8, b: u8 }",
        "struct A { #[key] a: String, #[index(unique)] b: u8 }",
        "struct A<T> { #[key] a: T }",
    ] {
        assert_eq!(errors_of(source), Vec::<String>::new(), "{source}");
    }
}

#[test]
fn malformed_inputs_give_errors_not_panics() {
    for source in [
        "enum A { B }",
        "union A { a: u8 }",
        "struct A;",
        "struct A(u8);",
        "struct A { #[index()] a: u8, #[index(,)] b: u8 }",
        "struct A { #[index(name)] a: u8 }",
        "struct A { #[index(name =)] a: u8 }",
        "struct A { #[index(name = \"\")] a: u8 }",
        "struct A { #[index(name = \"self\")] a: u8 }",
        "struct A { #[index(name = 3)] a: u8 }",
        "struct A { #[index(unique = true)] a: u8 }",
        "struct A { #[index(each(x))] a: Vec<u8> }",
        "struct A { #[index(\"unique\")] a: u8 }",
        "struct A { #[index(unique,,)] a: u8 }",
        "struct A { #[index(covering, covering)] a: u8 }",
        "struct A { #[index(covering = true)] a: u8 }",
        "struct A { #[index[unique]] a: u8 }",
        "struct A { #[index{unique}] a: u8 }",
        "#[indexed] struct A { a: u8 }",
        "#[indexed = 1] struct A { a: u8 }",
        "#[indexed(composite)] struct A { a: u8 }",
        "#[indexed(composite())] struct A { a: u8 }",
        "#[indexed(composite(x))] struct A { a: u8 }",
        "#[indexed(composite(x =))] struct A { a: u8 }",
        "#[indexed(composite(x = a))] struct A { a: u8 }",
        "#[indexed(composite(x = ()))] struct A { a: u8 }",
        "#[indexed(composite(x = (a, 1)))] struct A { a: u8 }",
        "#[indexed(composite(x = (a, a)))] struct A { a: u8 }",
        "#[indexed(composite(x = (a, b, c, d, e, f, g)))] struct A { a: u8 }",
        "#[indexed(composite(x = (a, b) unique))] struct A { a: u8, b: u8 }",
        "#[indexed(composite(x = (a, b), each))] struct A { a: u8, b: u8 }",
        "#[indexed(computed)] struct A { a: u8 }",
        "#[indexed(computed(y))] struct A { a: u8 }",
        "#[indexed(computed(y: = f))] struct A { a: u8 }",
        "#[indexed(computed(y: u8))] struct A { a: u8 }",
        "#[indexed(computed(y: u8 = ))] struct A { a: u8 }",
        "#[indexed(computed(y: u8 = self::f))] struct A { a: u8 }",
        "#[indexed(computed(y: u8 = f, each))] struct A { a: u8 }",
        "#[indexed(computed(y: &'static str = f))] struct A { a: u8 }",
        "#[indexed(computed(y: u8 = f, unique, unique))] struct A { a: u8 }",
        "#[indexed(3)] struct A { a: u8 }",
        "#[index] struct A { #[indexed] a: u8 }",
        "struct A<#[index] T> { a: T }",
        "struct A { #[index(each)] a: std::collections::HashMap<u8, u8> }",
        "struct A { #[index(each)] a: Option<u8> }",
        "struct A { #[index] a: u8, #[index(name = \"a\")] b: u8 }",
        "struct A { #[key] a: u8, #[key] b: u8 }",
        "struct A { #[key] a: Option<u8> }",
        "struct A { #[key = 1] a: u8 }",
        "struct A { #[key(name = \"b\")] a: u8 }",
        "struct A { #[key] #[index] a: u8 }",
        "struct A<#[key] T> { a: T }",
    ] {
        assert!(!errors_of(source).is_empty(), "{source} should be refused");
    }
}

#[test]
fn every_mistake_is_reported_in_one_go() {
    let errors = errors_of(
        "#[indexed(composite(x = (a, missing)))] #[indexed(nope)] \
         struct A { #[index(uniq)] a: u8, #[index(each)] b: u8, #[index(name = \"x\")] c: u8 }",
    );
    assert_eq!(errors.len(), 5, "{errors:#?}");
}

fn index_key_errors_of(source: &str) -> Vec<String> {
    let input = syn::parse_str(source).unwrap_or_else(|error| panic!("{source}: {error}"));
    match crate::index_key::derive(&input) {
        Ok(_) => Vec::new(),
        Err(error) => error.into_iter().map(|error| error.to_string()).collect(),
    }
}

#[test]
fn index_key_takes_fieldless_enums_and_newtypes() {
    for source in [
        "enum A { B, C, D }",
        "enum A { B = 3, C = 1 }",
        "enum A {}",
        "struct A(u64);",
        "struct A { inner: String }",
        "pub struct A<T: Clone>(T) where T: Send;",
        "struct A<'a>(&'a str);",
    ] {
        assert_eq!(
            index_key_errors_of(source),
            Vec::<String>::new(),
            "{source}"
        );
    }
}

#[test]
fn index_key_refuses_every_other_shape_with_each_mistake_named() {
    for source in [
        "struct A;",
        "struct A {}",
        "struct A();",
        "struct A(u8, u8);",
        "struct A { a: u8, b: u8 }",
        "union A { a: u8 }",
    ] {
        assert_eq!(index_key_errors_of(source).len(), 1, "{source}");
    }
    // Every variant with fields is named, in one go.
    let errors = index_key_errors_of("enum A { B, C(u8), D { x: u8 }, E }");
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(errors[0].contains("`C`") && errors[1].contains("`D`"));
}
