//! Pending edits: saves of plugin source waiting for the patch that brings
//! them, and the ones that will not come ([`MissedEdit`]).
//!
//! A save of a `.rs` file in a plugin's source tree is *pending* until a
//! patch arrives that holds it (dx started building it after the file was
//! written) and recompiled the compilation unit of one of its plugins (dx
//! recompiles whole crates, so such a patch holds the save, whatever it
//! changed). It is *missed* when:
//!
//! - the app takes no patches at all (right away);
//! - a patch arrives without its unit, and that unit is the library target
//!   of the package whose binary runs, which dx 0.7.10 never recompiles
//!   (right away);
//! - the wait bound passes: after a patch that did not recompile its unit,
//!   or with no patch at all (the save most likely does not compile).
//!
//! The bound follows the patches seen: three times the slowest save-to-patch
//! time so far, at least [`MIN_WAIT`], at most [`MAX_WAIT`]. A patch that
//! settles a missed edit after all clears it.
//!
//! No false alarm for a save that changes no code: a file's *tokens*
//! (comments and whitespace dropped) are compared with those of the version
//! last applied (or seen at start); a save back to them is no edit. What
//! this cannot tell: an edit in a `cfg`-disabled item or in code no plugin
//! reaches is still an edit, and is settled like one by the next patch of
//! its crate.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime};

use proc_macro2::{TokenStream, TokenTree};
use tony_core::{MissCause, MissedEdit};

/// The shortest wait for a patch before a save is reported as not applied.
pub(crate) const MIN_WAIT: Duration = Duration::from_secs(3);
/// The longest.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(60);

mod tracker;

pub(crate) use tracker::Tracker;

/// A plugin a saved file belongs to, and where its code is compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Owner {
    pub(crate) plugin: String,
    pub(crate) crate_name: String,
    /// Its compilation unit as receipts name it
    /// ([`PluginCode::unit_name`](tony_core::PluginCode::unit_name)); `None`
    /// when `#[tony_plugin]` did not describe it (registered by hand), and
    /// any patch may hold its edit.
    pub(crate) unit: Option<String>,
    /// Whether it is the library target of the package whose binary runs.
    pub(crate) library_of_binary: bool,
}

/// Every file's last applied tokens and its pending edit.
#[derive(Debug)]
pub(crate) struct Ledger {
    files: HashMap<PathBuf, Entry>,
    /// The slowest save-to-patch time seen.
    slowest: Duration,
    /// Whether patches can arrive at all.
    takes_patches: bool,
    last_patch: Option<LastPatch>,
}

#[derive(Debug, Default)]
struct Entry {
    /// The tokens of the version running (last applied, or seen at start).
    applied: Option<u64>,
    pending: Option<Pending>,
}

#[derive(Debug)]
struct Pending {
    owners: Vec<Owner>,
    tokens: u64,
    /// When the first save not applied yet was recorded.
    since: SystemTime,
    /// The latest save: the bound runs from it.
    last_save: Instant,
    /// When the file was last written (its mtime), which tells the patches
    /// that hold this save from those built before it.
    modified: SystemTime,
    /// A patch that holds the last save came without recompiling its unit.
    passed_over: bool,
    missed: Option<MissedEdit>,
}

/// The last patch: what it recompiled, and the saves it holds (those
/// written before dx started building it).
#[derive(Debug)]
struct LastPatch {
    recompiled: Vec<String>,
    covers: SystemTime,
}

impl Ledger {
    pub(crate) fn new(takes_patches: bool) -> Self {
        Ledger {
            files: HashMap::new(),
            slowest: Duration::ZERO,
            takes_patches,
            last_patch: None,
        }
    }

    /// Records `file` as running in its current version.
    pub(crate) fn baseline(&mut self, file: &Path) {
        if let Some(tokens) = file_tokens(file) {
            self.files.entry(file.to_owned()).or_default().applied = Some(tokens);
        }
    }

    /// `file` was saved. Returns the miss when it is known at once.
    pub(crate) fn saved(
        &mut self,
        file: &Path,
        owners: Vec<Owner>,
        now: Instant,
    ) -> Option<MissedEdit> {
        if owners.is_empty() || file.extension().is_none_or(|e| e != "rs") {
            return None;
        }
        let tokens = file_tokens(file).unwrap_or(0);
        let modified = std::fs::metadata(file)
            .and_then(|m| m.modified())
            .unwrap_or_else(|_| SystemTime::now());
        let entry = self.files.entry(file.to_owned()).or_default();
        if entry.applied == Some(tokens) {
            // Back to the code that runs (or only comments and whitespace).
            entry.pending = None;
            return None;
        }
        if let Some(p) = &mut entry.pending
            && !self.takes_patches
            && p.missed.is_some()
        {
            // Told once per file while no patch can come.
            p.tokens = tokens;
            return None;
        }
        let since = entry
            .pending
            .as_ref()
            .map_or_else(SystemTime::now, |p| p.since);
        let mut pending = Pending {
            owners,
            tokens,
            since,
            last_save: now,
            modified,
            passed_over: false,
            missed: None,
        };
        if !self.takes_patches {
            pending.missed = Some(miss(file, &pending, MissCause::NotUnderDx));
        }
        let mut missed = pending.missed.clone();
        entry.pending = Some(pending);
        // dx can be quicker than the watcher's debounce: a patch that holds
        // this save may have come already.
        if let Some(last) = &self.last_patch
            && modified <= last.covers
        {
            missed = judge(file, entry, &last.recompiled, now, &mut self.slowest).or(missed);
        }
        missed
    }

    /// A patch arrived that recompiled the units `recompiled` (as receipts
    /// name them) and holds the saves written up to `covers` (when dx
    /// started building it). Settles what it brought; returns the misses
    /// it proves.
    pub(crate) fn patched(
        &mut self,
        recompiled: &[String],
        covers: SystemTime,
        now: Instant,
    ) -> Vec<MissedEdit> {
        let mut missed = Vec::new();
        for (file, entry) in &mut self.files {
            if entry.pending.as_ref().is_some_and(|p| p.modified <= covers) {
                missed.extend(judge(file, entry, recompiled, now, &mut self.slowest));
            }
        }
        self.last_patch = Some(LastPatch {
            recompiled: recompiled.to_vec(),
            covers,
        });
        missed
    }

    /// The pending edits whose wait is over by `now`, newly missed.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<MissedEdit> {
        let bound = self.bound();
        let mut missed = Vec::new();
        for (file, entry) in &mut self.files {
            let Some(pending) = &mut entry.pending else {
                continue;
            };
            if pending.missed.is_some() || now.saturating_duration_since(pending.last_save) < bound
            {
                continue;
            }
            let cause = match pending.owners.first() {
                Some(owner) if pending.passed_over => MissCause::NotRecompiled {
                    crate_name: owner.crate_name.clone(),
                },
                _ => MissCause::NoPatch { waited: bound },
            };
            pending.missed = Some(miss(file, pending, cause));
            missed.extend(pending.missed.clone());
        }
        missed
    }

    /// Every edit reported as not applied and not settled since, by file.
    pub(crate) fn missed(&self) -> Vec<MissedEdit> {
        let mut all: Vec<MissedEdit> = (self.files.values())
            .filter_map(|e| e.pending.as_ref()?.missed.clone())
            .collect();
        all.sort_by(|a, b| a.file.cmp(&b.file));
        all
    }

    /// How long a save waits for its patch.
    pub(crate) fn bound(&self) -> Duration {
        (self.slowest * 3).clamp(MIN_WAIT, MAX_WAIT)
    }
}

/// What a patch that holds the pending save of `entry` says of it: settled
/// when it recompiled an owner's unit; else passed over, and missed at once
/// when the unit is one dx never recompiles (the library of the binary).
fn judge(
    file: &Path,
    entry: &mut Entry,
    recompiled: &[String],
    now: Instant,
    slowest: &mut Duration,
) -> Option<MissedEdit> {
    let pending = entry.pending.as_mut()?;
    let holds = |o: &Owner| o.unit.as_ref().is_none_or(|u| recompiled.contains(u));
    if pending.owners.iter().any(holds) {
        *slowest = (*slowest).max(now.saturating_duration_since(pending.last_save));
        entry.applied = Some(pending.tokens);
        entry.pending = None;
        return None;
    }
    pending.passed_over = true;
    // A patch without its unit proves the cause, even after the wait
    // already reported "no patch" (dx rebuilding a library is slower than
    // a patch).
    let guessed =
        (pending.missed.as_ref()).is_none_or(|m| matches!(m.cause, MissCause::NoPatch { .. }));
    let lib = pending.owners.iter().find(|o| o.library_of_binary)?;
    if !guessed {
        return None;
    }
    let cause = MissCause::LibraryOfBinary {
        crate_name: lib.crate_name.clone(),
    };
    pending.missed = Some(miss(file, pending, cause));
    pending.missed.clone()
}

fn miss(file: &Path, pending: &Pending, cause: MissCause) -> MissedEdit {
    let mut m = MissedEdit::new(file, pending.owners.iter().map(|o| o.plugin.clone()), cause);
    m.plugins.sort();
    m.plugins.dedup();
    m.since = pending.since;
    m
}

/// A hash of `file`'s Rust tokens; `None` when it cannot be read.
fn file_tokens(file: &Path) -> Option<u64> {
    std::fs::read_to_string(file).ok().map(|text| tokens(&text))
}

/// A hash of the tokens of `text`, without comments or whitespace (doc
/// comments are attributes, so they count); of the text itself while it
/// does not lex (an unclosed delimiter mid-edit).
fn tokens(text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    match TokenStream::from_str(text) {
        Ok(stream) => hash_stream(stream, &mut h),
        Err(_) => text.hash(&mut h),
    }
    h.finish()
}

fn hash_stream(stream: TokenStream, h: &mut DefaultHasher) {
    for tree in stream {
        match tree {
            TokenTree::Group(g) => {
                (g.delimiter() as u8).hash(h);
                hash_stream(g.stream(), h);
                0xffu8.hash(h);
            }
            TokenTree::Ident(i) => ('i', i.to_string()).hash(h),
            TokenTree::Punct(p) => {
                ('p', p.as_char(), p.spacing() == proc_macro2::Spacing::Joint).hash(h)
            }
            TokenTree::Literal(l) => ('l', l.to_string()).hash(h),
        }
    }
}

#[cfg(test)]
mod tests;
