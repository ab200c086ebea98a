//! Which plugins a source file defines (what a changed file concerns; what
//! a hot patch changes is read from the patch itself: `code_manifest`).

use std::path::Path;

use crate::system::PluginSystem;

impl PluginSystem {
    /// The plugins defined in `file` (compared as given, then canonicalized).
    pub fn plugins_in_file(&self, file: &Path) -> Vec<String> {
        let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        let wanted = canon(file);
        self.status()
            .into_iter()
            .filter(|s| canon(Path::new(&*s.source.file)) == wanted)
            .map(|s| s.name)
            .collect()
    }
}
