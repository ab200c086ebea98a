//! Checks of the code a hot patch brings, before Tony believes it: its hot
//! entry (generated code: what gives a plugin's description and functions)
//! is called contained, and what it answers must describe the plugin it
//! claims to replace (same name, same Rust type).

use crate::plugin::BoxError;
use crate::plugin::descriptor::{CodeEntry, Generated, PluginDescriptor};

/// Why the code a patch brings for a plugin is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IncomingCodeError {
    /// The new code's hot entry panicked while giving the plugin's
    /// description and functions.
    #[error("the new code of `{plugin}` cannot be used: {message}")]
    EntryFailed {
        /// The plugin.
        plugin: String,
        /// What panicked, where, and its message.
        message: String,
    },
    /// The new code's description names another plugin, or another type,
    /// than the plugin it replaces.
    #[error(
        "the new code of `{plugin}` (type `{expected_type}`) describes plugin `{found_name}` \
         of type `{found_type}`: refused"
    )]
    Mismatch {
        /// The plugin the code claims to replace.
        plugin: String,
        /// The plugin's Rust type (`?` when it cannot be told).
        expected_type: String,
        /// The plugin name the new code's description carries.
        found_name: String,
        /// The Rust type the new code's functions stand for (`?` when it
        /// cannot be told).
        found_type: String,
    },
}

/// What the hot entry `entry` of `plugin`'s incoming code answers, called
/// directly (the code it was compiled with, whatever jump table is
/// installed) and contained, checked against the plugin it replaces, whose
/// own hot entry is `expected` (the same one for a type the running binary
/// does not have).
pub(crate) fn checked_answer(
    plugin: &str,
    entry: CodeEntry,
    expected: CodeEntry,
) -> Result<&'static Generated, IncomingCodeError> {
    let new = answer(plugin, entry)?;
    let old = answer(plugin, expected)?;
    check(plugin, old, new)
}

/// Asks `plugin`'s newest code, through the jump table installed now, for
/// its description, contained: it must answer, and answer for `plugin` and
/// for the type `entry` (its own hot entry) stands for.
pub(crate) fn check_newest(plugin: &str, entry: CodeEntry) -> Result<(), IncomingCodeError> {
    let own = answer(plugin, entry)?;
    let newest = PluginDescriptor::answer_with(plugin, || PluginDescriptor::newest(entry))
        .map_err(|e| entry_failed(plugin, &e))?;
    check(plugin, own, newest).map(drop)
}

/// Calls the hot entry `entry` of `plugin`'s code directly, contained.
fn answer(plugin: &str, entry: CodeEntry) -> Result<&'static Generated, IncomingCodeError> {
    PluginDescriptor::answer_with(plugin, entry).map_err(|e| entry_failed(plugin, &e))
}

fn entry_failed(plugin: &str, e: &BoxError) -> IncomingCodeError {
    IncomingCodeError::EntryFailed {
        plugin: plugin.to_owned(),
        message: e.to_string(),
    }
}

/// `new` must describe the plugin `old` describes: its name and its type.
fn check(
    plugin: &str,
    old: &'static Generated,
    new: &'static Generated,
) -> Result<&'static Generated, IncomingCodeError> {
    let expected_type = PluginDescriptor::seen_type(plugin, old.vtable.fingerprints);
    let found_type = PluginDescriptor::seen_type(plugin, new.vtable.fingerprints);
    let same_type = match (expected_type, found_type) {
        (Some(a), Some(b)) => a == b,
        // Hand-written fingerprints that do not tell: the name decides.
        _ => true,
    };
    if new.metadata.name == plugin && same_type {
        return Ok(new);
    }
    Err(IncomingCodeError::Mismatch {
        plugin: plugin.to_owned(),
        expected_type: expected_type.unwrap_or("?").to_owned(),
        found_name: new.metadata.name.to_owned(),
        found_type: found_type.unwrap_or("?").to_owned(),
    })
}
