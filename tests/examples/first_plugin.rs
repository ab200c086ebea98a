//! The README's first example, as a program: `cargo run -p tony-tests
//! --example first_plugin`, under any `TONY_ENV`, in debug or `--release`.
//! The program is `readme/first_plugin.rs`, which the README shows
//! verbatim; `tests/first_plugin.rs` checks that and runs it under every
//! preset.

include!("readme/first_plugin.rs");
