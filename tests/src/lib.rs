//! Cross-crate tests for Tony: hot patches through synthetic subsecond jump
//! tables (`tests/patch_*.rs`) and the per-patch bench
//! (`benches/patch.rs`). There is no library here; the tests and benches
//! are the package. `build.rs` exports `main` from every binary, which
//! subsecond needs to rebase a jump table.
