//! A `#[tony_plugin]` struct is found by the registry, with the metadata its
//! attribute gives and the right defaults for what it does not.

#![allow(clippy::unwrap_used)]

use serde::{Deserialize, Serialize};
use tony_core::{
    BoxError, Context, Plugin, PluginConfigFile, PluginSystem, PluginType, Registry, tony_plugin,
};

/// A plugin with every default.
///
///   Its description is this doc comment, trimmed.
#[tony_plugin]
#[derive(Default, Serialize, Deserialize)]
struct DefaultsPlugin {
    n: u32,
}

impl Plugin for DefaultsPlugin {
    fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> {
        Ok(())
    }
}

/// Not the description: the attribute's wins.
#[tony_plugin(
    name = "full",
    version = "1.2.3-beta.1",
    description = "Explicit description",
    min_tony_version = "0.1.0",
    state_version = 7,
    dependencies("defaults-plugin" = "^0.1", "utils-plugin" = ">=2.0.0" optional),
    config = FullConfig,
)]
#[derive(Default, Serialize, Deserialize)]
struct Full {
    label: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct FullConfig {
    greeting: String,
}

impl Plugin for Full {
    fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> {
        Ok(())
    }
}

#[tony_plugin(stateless)]
#[derive(Default)]
struct HTTPServer;

impl Plugin for HTTPServer {
    fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> {
        Ok(())
    }
}

fn registry() -> Registry {
    Registry::new(true, Vec::new()).unwrap()
}

/// The line of `needle` in this file, 1-based.
fn line_of(needle: &str) -> u32 {
    let src = include_str!("registry.rs");
    let i = src.lines().position(|l| l.contains(needle)).unwrap();
    u32::try_from(i + 1).unwrap()
}

#[test]
fn defaults() {
    let registry = registry();
    let d = registry
        .get("defaults-plugin")
        .expect("registered under its kebab-case name");
    let m = d.metadata();
    assert_eq!(m.version().to_string(), env!("CARGO_PKG_VERSION"));
    assert_eq!(
        m.description(),
        "A plugin with every default.\n\nIts description is this doc comment, trimmed."
    );
    assert_eq!(m.min_tony_version(), None);
    assert!(m.dependencies().is_empty());
    assert_eq!(m.state_version(), 0);
    assert_eq!(DefaultsPlugin::NAME, "defaults-plugin");
}

#[test]
fn explicit_metadata() {
    let registry = registry();
    let m = registry.get("full").unwrap().metadata();
    assert_eq!(m.version().to_string(), "1.2.3-beta.1");
    assert_eq!(m.description(), "Explicit description");
    assert_eq!(
        m.min_tony_version().map(ToString::to_string).as_deref(),
        Some("0.1.0")
    );
    assert_eq!(m.state_version(), 7);
    let deps: Vec<String> = m.dependencies().iter().map(ToString::to_string).collect();
    assert_eq!(
        deps,
        ["defaults-plugin ^0.1", "utils-plugin >=2.0.0 (optional)"]
    );
    assert_eq!(Full::NAME, "full");
}

#[test]
fn acronyms_make_one_word_of_the_default_name() {
    assert!(registry().get("http-server").is_some());
    assert_eq!(HTTPServer::NAME, "http-server");
}

#[test]
fn source_location_is_the_absolute_file_and_the_struct_line() {
    let registry = registry();
    for (name, needle) in [
        ("defaults-plugin", "struct DefaultsPlugin {"),
        ("full", "struct Full {"),
        ("http-server", "struct HTTPServer;"),
    ] {
        let source = registry.get(name).unwrap().metadata().source();
        let file = std::path::Path::new(source.file.as_ref());
        assert!(file.is_absolute(), "{file:?}");
        assert!(file.ends_with("tony-macros/tests/registry.rs"), "{file:?}");
        assert!(file.is_file(), "{file:?}");
        assert_eq!(source.line, line_of(needle), "{name}");
    }
}

#[test]
fn state_fingerprints_differ_between_layouts() {
    assert_ne!(DefaultsPlugin::STATE_FINGERPRINT, Full::STATE_FINGERPRINT);
    assert_ne!(Full::STATE_FINGERPRINT, HTTPServer::STATE_FINGERPRINT);
}

#[test]
fn config_tables_are_checked_against_the_config_type() {
    let system = PluginSystem::builder()
        .select(|m| ["full", "defaults-plugin"].contains(&m.name()))
        .build()
        .unwrap();
    system.initialize().unwrap();
    let bad = PluginConfigFile::parse("[plugins.full]\ngreeting = 5\n", "plugins.toml").unwrap();
    let err = system.apply_plugin_config(bad).unwrap_err().to_string();
    assert!(err.contains("full") && err.contains("greeting"), "{err}");
    let good =
        PluginConfigFile::parse("[plugins.full]\ngreeting = \"hi\"\n", "plugins.toml").unwrap();
    let reload = system.apply_plugin_config(good).unwrap();
    assert!(reload.is_some_and(|r| r.success));
}

/// Declares a plugin from a `macro_rules!`: the expansion must not depend on
/// hygiene of the caller (a regression: arguments spanned at the struct's
/// name were invisible to the generated fns).
macro_rules! declare_plugin {
    ($ty:ident, $name:literal) => {
        /// Declared by a macro.
        #[tony_plugin(name = $name, version = "1.0.0")]
        #[derive(Default, Serialize, Deserialize)]
        struct $ty {
            n: u32,
        }

        impl Plugin for $ty {
            fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> {
                Ok(())
            }
        }
    };
}

declare_plugin!(FromMacroRules, "from-macro-rules");

#[test]
fn a_plugin_declared_by_macro_rules_registers_and_reloads() {
    let system = PluginSystem::builder()
        .select(|m| m.name() == "from-macro-rules")
        .build()
        .unwrap();
    system.initialize().unwrap();
    system.with_mut::<FromMacroRules, _>(|p| p.n = 5).unwrap();
    assert!(system.reload_plugin("from-macro-rules").success);
    assert_eq!(system.with::<FromMacroRules, _>(|p| p.n).unwrap(), 5);
}
