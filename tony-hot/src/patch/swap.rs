//! A hot patch as the swap step of a reload transaction.
//!
//! What a patch changes is read from the patch itself: loading its library
//! runs its constructors, which submit a description of every plugin in the
//! crates it recompiled (see [`tony_core::code_manifest`]). Compared with
//! the code running now, that tells, per plugin, which methods, impl blocks
//! or state layout changed, which plugin types are new and which are gone,
//! whatever the edit renamed, added or removed.

use std::time::Instant;

use subsecond::JumpTable;
use tony_core::__private::Watermark;
use tony_core::CodeManifest;
use tony_core::{
    BoxError, ChangeKind, Event, PatchReceipt, PluginChange, PluginDescriptor, PluginState,
    PluginSystem, Stage, Swap, Trigger,
};

use super::table::{self, Patch, PatchError};

/// The swap of a hot-patch transaction: `apply` installs the incoming jump
/// table and records the incoming code as the code running; `undo` puts the
/// previous table (the original binary's code when none ran) and record back.
pub struct PatchSwap {
    incoming: Option<Patch>,
    previous: JumpTable,
    applied: bool,
    /// The code running before and after the patch.
    manifests: (CodeManifest, CodeManifest),
    /// The descriptors the patch brings. A plugin type that only patches
    /// have gets this patch's (its functions live in one patch library, so
    /// each patch brings its own); one of the binary's keeps its functions
    /// and takes the patch's metadata.
    candidates: Vec<(String, PluginDescriptor)>,
}

impl std::fmt::Debug for PatchSwap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatchSwap")
            .field("applied", &self.applied)
            .finish_non_exhaustive()
    }
}

impl PatchSwap {
    /// Prepares to install `patch`, remembering what runs now.
    fn new(patch: Patch, before: CodeManifest, after: CodeManifest) -> Result<Self, PatchError> {
        Ok(PatchSwap {
            incoming: Some(patch),
            previous: table::capture()?,
            applied: false,
            manifests: (before, after),
            candidates: Vec::new(),
        })
    }
}

impl Swap for PatchSwap {
    fn apply(&mut self) -> Result<(), BoxError> {
        let patch = self
            .incoming
            .take()
            .ok_or("the patch was already applied")?;
        let outcome = patch.apply();
        // A panic after the table was committed still counts as applied: undo must run.
        self.applied = match &outcome {
            Ok(()) => true,
            Err(PatchError::Panicked { committed, .. }) => *committed,
            Err(_) => false,
        };
        if self.applied {
            tony_core::__private::commit_running(self.manifests.1.clone());
        }
        outcome?;
        // Installed: every plugin's newest code must answer for itself
        // before any plugin is rebuilt through it; else the transaction
        // undoes the table.
        self.manifests.1.check_entries()?;
        Ok(())
    }

    fn undo(&mut self) -> Result<(), BoxError> {
        if !self.applied {
            return Ok(());
        }
        table::apply(self.previous.clone())?;
        tony_core::__private::commit_running(self.manifests.0.clone());
        self.applied = false;
        Ok(())
    }

    fn candidate(&self, plugin: &str) -> Option<PluginDescriptor> {
        self.candidates
            .iter()
            .find(|(name, _)| name == plugin)
            .map(|(_, d)| d.clone())
    }
}

/// Handles one jump table as dx sends it (not yet shifted): loads its
/// library, reads what the patch changes, and applies it as the swap step
/// of a reload transaction of the changed plugins (and their dependents);
/// then registers and activates the plugin types it adds, and unloads the
/// ones it removes. A failed transaction puts the previous code back.
///
/// Emits [`Event::PatchApplied`] with the receipt. `Err` means the table was
/// refused before anything changed (a library that does not load, a table
/// for another binary).
pub fn apply_patch_transaction(
    system: &PluginSystem,
    table: JumpTable,
) -> Result<PatchReceipt, PatchError> {
    // Before the library loads: fixes the binary's own manifest, and marks
    // where the library's submissions will start.
    let started = Instant::now();
    let mark = Watermark::now();
    let patch = Patch::new(table)?;
    let incoming = mark.incoming();
    Ok(apply_patch_with(system, patch, &incoming, started))
}

#[cfg(feature = "testing")]
/// [`apply_patch_transaction`] with the incoming code described by hand:
/// for tests, whose synthetic patches load no library.
#[doc(hidden)]
pub fn apply_synthetic_patch(
    system: &PluginSystem,
    table: JumpTable,
    incoming: &CodeManifest,
) -> Result<PatchReceipt, PatchError> {
    let started = Instant::now();
    let patch = Patch::new(table)?;
    Ok(apply_patch_with(system, patch, incoming, started))
}

fn apply_patch_with(
    system: &PluginSystem,
    patch: Patch,
    incoming: &CodeManifest,
    started: Instant,
) -> PatchReceipt {
    let loaded = started.elapsed();
    let running = CodeManifest::running();
    let changes = running.diff(incoming);
    let states: std::collections::BTreeMap<String, PluginState> = system
        .status()
        .into_iter()
        .map(|s| (s.name, s.state))
        .collect();
    let mut receipt = PatchReceipt::default();
    receipt.changes.clone_from(&changes);
    receipt.recompiled = incoming.unit_names();
    receipt.load_time = loaded;

    let mut modified = Vec::new();
    let mut added = Vec::new();
    let mut removed = Vec::new();
    for c in &changes {
        match (&c.kind, states.get(&c.plugin)) {
            (ChangeKind::Modified(_), Some(_)) => modified.push(c.plugin.clone()),
            // Not registered with this system: a type it does not use.
            (ChangeKind::Modified(_), None) => {}
            (ChangeKind::Added, None) => added.push(c.plugin.clone()),
            // Already registered (say, by hand): its code changed.
            (ChangeKind::Added, Some(_)) => modified.push(c.plugin.clone()),
            (ChangeKind::Removed, Some(_)) => removed.push(c.plugin.clone()),
            (ChangeKind::Removed, None) => {}
            (_, _) => {}
        }
    }
    receipt.changed.clone_from(&modified);

    // The code running after the patch: the incoming code in. Removed types
    // leave it once they are unloaded (below).
    let after = running.patched(incoming, &[]);
    let mut swap = match PatchSwap::new(patch, running.clone(), after) {
        Ok(s) => s,
        Err(e) => {
            receipt.note = format!("refused: {e}");
            return finish(system, receipt, started);
        }
    };
    // Types only patches have get this patch's descriptor; the binary's own
    // keep their hot entry, with the patch's metadata (a version or a
    // dependency edited in the attribute is validated like any reload's).
    let original = CodeManifest::original();
    for name in &modified {
        let Some(code) = incoming.get(name) else {
            continue;
        };
        let descriptor = match original.get(name) {
            Some(own) => code.descriptor_via(own),
            None => code.descriptor(),
        };
        match descriptor {
            Ok(d) => swap.candidates.push((name.clone(), d)),
            Err(e) => {
                receipt.note = format!("refused, nothing changed: {e}");
                return finish(system, receipt, started);
            }
        }
    }

    // Cycle the active ones; the rest pick up the new code when they load.
    let mut state_note = None;
    let cycle: Vec<&str> = modified
        .iter()
        .filter(|n| states.get(*n) == Some(&PluginState::Active))
        .map(String::as_str)
        .collect();
    if cycle.is_empty() {
        // Still a transaction: serialized with reloads running on other
        // threads, so nobody sees the code change under a reload.
        let result = tony_core::__private::reload_as(system, &[], Trigger::Patch, &mut swap);
        if let Some(e) = &result.error {
            receipt.note = format!("refused: {e}");
            return finish(system, receipt, started);
        }
        receipt.applied = true;
    } else {
        let result = tony_core::__private::reload_as(system, &cycle, Trigger::Patch, &mut swap);
        receipt.cycled = cycle.iter().map(|s| (*s).to_owned()).collect();
        receipt
            .cycled
            .extend(result.dependents_reloaded.iter().cloned());
        receipt.applied = result.success;
        if let Some(e) = &result.error {
            // Refused by validation, the patch never went in and no plugin
            // was touched; later, what was cycled went back to the old code.
            let outcome = if e.stage == Stage::Validate {
                receipt.cycled.clear();
                "refused, nothing changed"
            } else {
                "rolled back to the previous code"
            };
            receipt.note = format!("{}; {outcome}: {e}", changes_summary(&receipt));
            return finish(system, receipt, started);
        }
        state_note = Some(match result.state_note() {
            Some(why) if !result.state_preserved => format!("state reset: {why}"),
            _ => "state preserved".to_owned(),
        });
    }

    // The patch is in: new types join, removed ones leave.
    if !added.is_empty() {
        add_types(system, incoming, &added, &mut receipt);
    }
    if !removed.is_empty() {
        remove_types(system, &removed, &mut receipt);
    }
    let mut note = changes_summary(&receipt);
    if let Some(state) = state_note {
        note = format!("{note}; {state}");
    }
    if let Some(why) = &receipt.restart_needed {
        note = format!("{note}; restart needed: {why}");
    }
    receipt.note = note;
    finish(system, receipt, started)
}

/// Registers and activates the plugin types the patch brought (their
/// descriptors are the patch library's: nothing else has their code).
fn add_types(
    system: &PluginSystem,
    incoming: &CodeManifest,
    added: &[String],
    receipt: &mut PatchReceipt,
) {
    let mut descriptors: Vec<PluginDescriptor> = Vec::new();
    for code in added.iter().filter_map(|n| incoming.get(n)) {
        match code.descriptor() {
            Ok(d) => descriptors.push(d),
            Err(e) => restart(receipt, format!("new plugin type refused: {e}")),
        }
    }
    match system.add_plugin_types(descriptors) {
        Ok(done) => {
            receipt.added = done
                .added
                .iter()
                .filter(|n| done.activated.contains(n))
                .cloned()
                .collect();
            for (plugin, why) in &done.failed {
                restart(
                    receipt,
                    format!("new plugin `{plugin}` could not be activated: {why}"),
                );
            }
            for plugin in &done.skipped {
                restart(
                    receipt,
                    format!("new plugin `{plugin}` waits for a plugin that failed"),
                );
            }
        }
        Err(e) => restart(receipt, format!("new plugin type(s) refused: {e}")),
    }
}

/// Deactivates, unloads and forgets the plugin types the patch removed;
/// refused (the old code keeps running them) while active plugins that
/// stay depend on them.
fn remove_types(system: &PluginSystem, removed: &[String], receipt: &mut PatchReceipt) {
    let names: Vec<&str> = removed.iter().map(String::as_str).collect();
    match system.remove_plugin_types(&names) {
        Ok(order) => {
            // Only now are they gone; refused, they stay in the running
            // code, and the next patch of their crate tries again.
            tony_core::__private::commit_running(
                CodeManifest::running().patched(&CodeManifest::default(), &order),
            );
            receipt.removed = order;
        }
        Err(e) => restart(
            receipt,
            format!("plugin type(s) removed from the code but still running: {e}"),
        ),
    }
}

fn restart(receipt: &mut PatchReceipt, why: String) {
    receipt.restart_needed = Some(match receipt.restart_needed.take() {
        Some(before) => format!("{before}; {why}"),
        None => why,
    });
}

/// What the patch changes, in words.
fn changes_summary(r: &PatchReceipt) -> String {
    if r.changes.is_empty() {
        return "no plugin changed: code outside plugins".to_owned();
    }
    let parts: Vec<String> = r.changes.iter().map(PluginChange::to_string).collect();
    parts.join("; ")
}

fn finish(system: &PluginSystem, mut receipt: PatchReceipt, started: Instant) -> PatchReceipt {
    receipt.duration = started.elapsed();
    tracing::info!(
        changed = ?receipt.changed,
        added = ?receipt.added,
        removed = ?receipt.removed,
        cycled = ?receipt.cycled,
        applied = receipt.applied,
        elapsed = ?receipt.duration,
        "hot patch: {}",
        receipt.note
    );
    tony_core::__private::emit(system, Event::PatchApplied(Box::new(receipt.clone())));
    receipt
}
