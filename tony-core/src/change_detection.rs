//! Which plugins a change concerns: the plugins defined in a source file,
//! and the plugins an incoming hot patch changes.

use std::path::Path;

use crate::containment::contain;
use crate::status::PluginState;
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

    /// The plugins an incoming hot patch changes: those whose code or state
    /// fingerprint, asked of the patch's new code *before it is applied*,
    /// differs from the live instance's. Sorted by name.
    ///
    /// `resolve` maps a subsecond `HotFn` key to the address the patch would
    /// install for it, or `None` when the patch leaves it alone (tony-hot
    /// builds it from the incoming jump table). Inactive plugins are skipped:
    /// they have no instance to cycle and will load the new code anyway. A
    /// plugin whose new fingerprint function panics counts as changed, so
    /// that its reload (which asks the same function) refuses the patch.
    pub fn plugins_changed_by(&self, resolve: &dyn Fn(u64) -> Option<u64>) -> Vec<String> {
        let active: Vec<_> = self
            .status()
            .into_iter()
            .filter(|s| s.state == PluginState::Active)
            .filter_map(|s| {
                let peek = self.engine.descriptor(&s.name)?.vtable.peek_fingerprints;
                Some((s.name, peek, s.fingerprints))
            })
            .collect();
        active
            .into_iter()
            .filter_map(|(name, peek, live)| {
                match contain(&name, "fingerprints", || Ok(peek(resolve))) {
                    Ok(new) => new.is_some_and(|new| new != live).then_some(name),
                    Err(e) => {
                        tracing::warn!(plugin = %name, error = %e, "the patch's fingerprint function failed; counting the plugin as changed");
                        Some(name)
                    }
                }
            })
            .collect()
    }
}
