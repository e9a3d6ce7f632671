//! Mistakes a user can make with `#[derive(Indexed)]` and typed queries: each
//! must fail to compile with a message that points at the user's own code.

#[test]
fn ui() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
