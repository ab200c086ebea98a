//! [`Fingerprints`]: what identifies a plugin's code and state layout.

/// Hashes identifying a plugin's code and its state layout.
///
/// `#[tony_plugin]` computes them from the plugin's tokens; after a hot
/// patch, asking the new code gives the new values, which is how Tony knows
/// which plugins an edit changed and whether their state needs migrating.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Fingerprints {
    /// Hash of the plugin's code (its struct and `#[tony_plugin]` impl blocks).
    pub code: u64,
    /// Hash of the plugin's state type definition.
    pub state: u64,
}
