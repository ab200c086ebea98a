//! One trybuild case per diagnostic of `#[tony_plugin]`: each must give
//! exactly one error, at the offending tokens, and nothing else.
//!
//! Regenerate the expected output with `TRYBUILD=overwrite`, then read every
//! `.stderr` before committing it.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
