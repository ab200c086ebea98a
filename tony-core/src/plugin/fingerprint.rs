//! [`Fingerprints`]: what identifies a plugin's code and state layout.

/// Hashes identifying a plugin's code and its state layout.
///
/// `#[tony_plugin]` computes them from the plugin's tokens; after a hot
/// patch, asking the new code gives the new values, which is how Tony knows
/// which plugins an edit changed and whether their state needs migrating.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Fingerprints {
    /// Hash of the plugin's code (its struct and `#[tony_plugin]` impl blocks).
    pub code: u64,
    /// Hash of the plugin's state type definition.
    pub state: u64,
}

impl Fingerprints {
    /// Fingerprints with these hashes (for synthetic patches in tests; a
    /// plugin's own come from `#[tony_plugin]`).
    ///
    /// ```
    /// let f = tony_core::Fingerprints::new(1, 2);
    /// assert_eq!((f.code, f.state), (1, 2));
    /// ```
    pub const fn new(code: u64, state: u64) -> Self {
        Fingerprints { code, state }
    }
}
