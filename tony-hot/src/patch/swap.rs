//! A hot patch as the swap step of a reload transaction.

use std::time::Instant;

use subsecond::JumpTable;
use tony_core::{BoxError, Event, PatchReceipt, PluginSystem, Swap, Trigger};

use super::table::{self, Patch, PatchError};

/// The swap of a hot-patch transaction: `apply` installs the incoming jump
/// table, `undo` re-installs the one that ran before (the original binary's
/// code when none did).
pub struct PatchSwap {
    incoming: Option<Patch>,
    previous: JumpTable,
    applied: bool,
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
    pub(crate) fn new(patch: Patch) -> Result<Self, PatchError> {
        Ok(PatchSwap {
            incoming: Some(patch),
            previous: table::capture()?,
            applied: false,
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
        Ok(outcome?)
    }

    fn undo(&mut self) -> Result<(), BoxError> {
        if !self.applied {
            return Ok(());
        }
        table::apply(self.previous.clone())?;
        self.applied = false;
        Ok(())
    }
}

/// Handles one jump table as dx sends it (not yet shifted): finds the
/// plugins whose code or state the patch changes by asking the *new* code
/// for their fingerprints before applying it, then applies it — as the swap
/// step of a reload transaction of those plugins (and their dependents) when
/// there are any, directly otherwise. A failed transaction puts the previous
/// code back.
///
/// Emits [`Event::PatchApplied`] with the receipt. `Err` means the table was
/// refused before anything changed (a library that does not load, a table
/// for another binary).
pub fn apply_patch_transaction(
    system: &PluginSystem,
    table: JumpTable,
) -> Result<PatchReceipt, PatchError> {
    let started = Instant::now();
    let patch = Patch::new(table)?;
    let changed = system.plugins_changed_by(&|key| patch.resolve_key(key));
    let receipt = if changed.is_empty() {
        patch.apply()?;
        PatchReceipt {
            changed: Vec::new(),
            cycled: Vec::new(),
            applied: true,
            note: "no plugin changed".to_owned(),
        }
    } else {
        let mut swap = PatchSwap::new(patch)?;
        let names: Vec<&str> = changed.iter().map(String::as_str).collect();
        let result = system.reload(&names, Trigger::Patch, &mut swap);
        let mut cycled = changed.clone();
        cycled.extend(result.dependents_reloaded.iter().cloned());
        let note = match (&result.error, result.state_preserved) {
            (None, true) => format!("{} changed; state preserved", changed.join(", ")),
            (None, false) => format!(
                "{} changed; state reset: {}",
                changed.join(", "),
                result.state_note().unwrap_or_default()
            ),
            (Some(e), _) => format!("rolled back to the previous code: {e}"),
        };
        PatchReceipt {
            changed,
            cycled,
            applied: result.success,
            note,
        }
    };
    tracing::info!(
        changed = ?receipt.changed,
        cycled = ?receipt.cycled,
        applied = receipt.applied,
        elapsed = ?started.elapsed(),
        "hot patch: {}",
        receipt.note
    );
    system.emit(Event::PatchApplied(Box::new(receipt.clone())));
    Ok(receipt)
}
