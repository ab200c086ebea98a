//! Cross-crate tests for Tony: hot patches through synthetic subsecond jump
//! tables (`tests/patch_*.rs`), the per-patch bench (`benches/patch.rs`),
//! the README's first example run under every preset
//! (`tests/first_plugin.rs`), and the code blocks of the README and the
//! guide as doctests (below). The library holds nothing else. `build.rs`
//! exports `main` from every binary, which subsecond needs to rebase a jump
//! table.

/// The code blocks of the README and of the guide under `docs/`, run as
/// doctests (`cargo test -p tony-tests --doc`) so that they cannot rot.
/// Each Rust block is marked `standalone_crate`: merged into one binary,
/// every block's `#[tony_plugin]`s would be registered in every other.
#[cfg(doctest)]
pub mod docs {
    #[doc = include_str!("../../README.md")]
    pub struct Readme;
    #[doc = include_str!("../../docs/plugins.md")]
    pub struct Plugins;
    #[doc = include_str!("../../docs/dependencies.md")]
    pub struct Dependencies;
    #[doc = include_str!("../../docs/reloads.md")]
    pub struct Reloads;
    #[doc = include_str!("../../docs/hot-patching.md")]
    pub struct HotPatching;
    #[doc = include_str!("../../docs/configuration.md")]
    pub struct Configuration;
    #[doc = include_str!("../../docs/events.md")]
    pub struct Events;
    #[doc = include_str!("../../docs/async.md")]
    pub struct Async;
    #[doc = include_str!("../../docs/troubleshooting.md")]
    pub struct Troubleshooting;
    #[doc = include_str!("../../docs/performance.md")]
    pub struct Performance;
    #[doc = include_str!("../../docs/architecture.md")]
    pub struct Architecture;
    #[doc = include_str!("../../docs/README.md")]
    pub struct GuideIndex;
    #[doc = include_str!("../../docs/concurrency.md")]
    pub struct Concurrency;
    #[doc = include_str!("../../docs/hot-patching-notes.md")]
    pub struct HotPatchingNotes;
}
