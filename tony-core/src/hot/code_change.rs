//! [`PluginChange`]: what a hot patch does to one plugin type, as a
//! receipt tells it.

use std::fmt;

/// What a hot patch changes in one plugin type.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PluginChange {
    /// The plugin.
    pub plugin: String,
    /// What happens to it.
    pub kind: ChangeKind,
}

/// Whether a plugin type is new, gone, or changed by a patch.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChangeKind {
    /// The patch brings a plugin type the running code does not have.
    Added,
    /// The patch recompiled the plugin's crate without it.
    Removed,
    /// The plugin's code changed.
    Modified(CodeDiff),
}

/// How a plugin's code changed: methods (`name`, or `Trait::name` in a
/// trait impl), impl blocks, the struct, the state layout.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CodeDiff {
    /// Methods the patch adds.
    pub methods_added: Vec<String>,
    /// Methods the patch removes (or renames away).
    pub methods_removed: Vec<String>,
    /// Methods whose code the patch changes.
    pub methods_changed: Vec<String>,
    /// `#[tony_plugin]` impl blocks the patch adds.
    pub blocks_added: Vec<String>,
    /// `#[tony_plugin]` impl blocks the patch removes.
    pub blocks_removed: Vec<String>,
    /// Impl blocks changed outside their methods (associated items).
    pub blocks_changed: Vec<String>,
    /// The struct or its attribute changed.
    pub struct_changed: bool,
    /// The state layout changed: the state is migrated, or reset.
    pub state_layout_changed: bool,
}

impl fmt::Display for CodeDiff {
    /// `+helper ~step -old impl-added(...) struct state-layout`, in words.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        let mut list = |what: &str, items: &[String]| {
            if !items.is_empty() {
                parts.push(format!("{what} {}", items.join(", ")));
            }
        };
        list("methods added:", &self.methods_added);
        list("methods removed:", &self.methods_removed);
        list("methods changed:", &self.methods_changed);
        list("blocks added:", &self.blocks_added);
        list("blocks removed:", &self.blocks_removed);
        list("blocks changed:", &self.blocks_changed);
        if self.state_layout_changed {
            parts.push("state layout changed".to_owned());
        } else if self.struct_changed {
            parts.push("struct changed (same state layout)".to_owned());
        }
        f.write_str(&parts.join("; "))
    }
}

impl fmt::Display for PluginChange {
    /// `counter: methods added: helper; methods changed: step`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ChangeKind::Added => write!(f, "{}: new plugin type", self.plugin),
            ChangeKind::Removed => write!(f, "{}: plugin type removed", self.plugin),
            ChangeKind::Modified(d) => write!(f, "{}: {d}", self.plugin),
        }
    }
}
