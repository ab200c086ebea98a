//! The `#[tony_plugin]` attribute of the Tony plugin framework.
//!
//! Use it through `tony_core`, which re-exports it (`tony_core::tony_plugin`)
//! and provides everything the generated code refers to: a crate using the
//! attribute needs no `inventory` or `subsecond` dependency of its own.
//!
//! The macro works in three stages, one file each: `parse` (a small AST that
//! keeps the syn nodes, for spans), `validate` (every rejection is an error
//! at the offending tokens) and `expand` (plus `impl_block` for the
//! impl-block form and `fingerprint` for the hashes).

mod expand;
mod fingerprint;
mod impl_block;
mod parse;
mod validate;

use proc_macro::TokenStream;

/// Declares a plugin (on a struct), or makes methods hot-patchable (on an
/// impl block).
///
/// # On a struct
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use tony_core::{BoxError, Context, Plugin, PluginType, Registry, tony_plugin};
///
/// /// Greets people.
/// #[tony_plugin(
///     name = "greeter",
///     version = "1.2.0",
///     min_tony_version = "0.1.0",
///     state_version = 2,
///     dependencies("base-plugin" = "^1.0.0", "utils-plugin" = ">=2.0.0" optional),
///     config = GreeterConfig,
/// )]
/// #[derive(Default, Serialize, Deserialize)]
/// struct Greeter {
///     greeted: u64,
///     #[serde(skip)]
///     cache: Vec<String>,
/// }
///
/// #[derive(Deserialize)]
/// struct GreeterConfig {
///     greeting: String,
/// }
///
/// impl Plugin for Greeter {
///     fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
///         Ok(())
///     }
/// }
///
/// // Registered: no further code.
/// let registry = Registry::new(true, Vec::new())?;
/// let meta = registry.get("greeter").ok_or("not registered")?.metadata();
/// assert_eq!(meta.version().to_string(), "1.2.0");
/// assert_eq!(meta.description(), "Greets people."); // the doc comment
/// assert_eq!(meta.dependencies().len(), 2);
/// assert!(meta.source().file.ends_with(".rs"));
/// assert_eq!(Greeter::NAME, "greeter");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Every key is optional:
///
/// | key | value | default |
/// |---|---|---|
/// | `name` | a plugin name: 1 to 64 of `a-z`, `0-9`, `-`, starting with a letter, no trailing or doubled `-` | the type's name in kebab-case (`HttpServer` → `http-server`) |
/// | `version` | semver | the crate's `CARGO_PKG_VERSION` |
/// | `description` | text | the doc comment, lines trimmed |
/// | `min_tony_version` | semver | none |
/// | `state_version` | `u32` | `0` |
/// | `dependencies(...)` | `"name" = "semver range"`, then `optional` for an optional one | none |
/// | `stateless` | flag | the state is the struct, carried across reloads with serde + bincode |
/// | `config = Type` | a `serde::Deserialize` type the plugin's config table must fit | no check |
///
/// The struct must implement `Plugin` and `Default`, and, unless
/// `stateless`, `serde::Serialize` and `serde::Deserialize`. A `stateless`
/// plugin restarts from `Default` on every reload.
///
/// The attribute implements `tony_core::PluginType` and registers the
/// plugin, so `PluginSystem` finds it with no further code. It records the
/// struct's source file (absolute) and line, and two fingerprints:
///
/// - **state**: a hash of the fields' names, types and `serde` attributes,
///   the container's `serde`/`repr` attributes, `state_version` and
///   `stateless`. A reload restores a snapshot directly only when it is
///   unchanged, and otherwise asks `Plugin::migrate`. Only the struct's own
///   tokens count: a change inside a field's *type* goes unnoticed, so bump
///   `state_version` then.
/// - **code**: a hash of the struct, its attribute and every
///   `#[tony_plugin]` impl block of it. After a hot patch, the plugins whose
///   code fingerprint changed are the ones reloaded. Code outside those
///   blocks (free functions, impls without the attribute) does not count.
///
/// Both are deterministic: the same source gives the same values in every
/// build. Names starting with `__tony_` are reserved on the plugin type.
///
/// Errors are reported at the offending tokens: an unknown or repeated key,
/// a version or range that is not semver, an invalid name, a dependency on
/// the plugin itself or listed twice, a generic struct, an enum, union or
/// function.
///
/// # On an impl block
///
/// ```standalone_crate
/// use serde::{Deserialize, Serialize};
/// use tony_core::{BoxError, Context, Plugin, PluginSystem, tony_plugin};
///
/// #[tony_plugin] // named `counter`, at the crate's version
/// #[derive(Default, Serialize, Deserialize)]
/// struct Counter {
///     count: u64,
/// }
///
/// #[tony_plugin]
/// impl Counter {
///     /// Edit me while `dx serve --hot-patch` runs: the next call runs the
///     /// new body, and the count is kept.
///     fn step(&self) -> u64 {
///         1
///     }
/// }
///
/// #[tony_plugin]
/// impl Plugin for Counter {
///     fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
///         self.count += self.step();
///         Ok(())
///     }
/// }
///
/// let system = PluginSystem::builder().build()?;
/// system.initialize()?;
/// assert!(system.reload_plugin("counter").success);
/// assert_eq!(system.with::<Counter, _>(|c| c.count)?, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Inherent and trait impls alike (`impl Greeter`, `impl Plugin for
/// Greeter`, `impl Default for Greeter`). Each method keeps its signature,
/// attributes and docs; its body moves to a hidden method that the visible
/// one calls through subsecond's jump table, so that in development a patch
/// reaches the running process. Without tony-core's `hot` feature the call
/// is a plain inlined call.
///
/// These methods pass through unchanged, and are not hot: generic over
/// types or consts (lifetimes are fine), with `impl Trait` as a parameter or
/// return type, `async`, `const`, `unsafe`, `extern` or `default` fns, fns
/// with a `#[cfg]` on a parameter, and fns of more than 8 parameters
/// counting `self`. A generic impl block, or one with arguments, is an
/// error. The type must be local to the crate (the hidden methods live in an
/// inherent impl of it).
#[proc_macro_attribute]
pub fn tony_plugin(args: TokenStream, item: TokenStream) -> TokenStream {
    let source = expand::Source {
        file: source_file(),
    };
    expand::tony_plugin(args.into(), item.into(), &source).into()
}

/// The absolute path of the file being expanded.
///
/// `file!()` is relative to the directory rustc runs in, which for a
/// workspace member is the workspace root, not `CARGO_MANIFEST_DIR`; the
/// span's file, joined to that same directory, is the real path. `None`
/// when the compiler has no file on disk for the span (then the expansion
/// falls back to `CARGO_MANIFEST_DIR` + `file!()`).
fn source_file() -> Option<String> {
    let file = proc_macro::Span::call_site().local_file()?;
    let file = if file.is_absolute() {
        file
    } else {
        std::env::current_dir().ok()?.join(file)
    };
    file.is_file().then(|| file.to_string_lossy().into_owned())
}
