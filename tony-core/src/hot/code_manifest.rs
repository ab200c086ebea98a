//! [`CodeManifest`]: what code of each plugin type a binary, or an incoming
//! hot patch, contains, as `#[tony_plugin]` described it.
//!
//! Every `#[tony_plugin]` struct and impl block submits a description of
//! itself to `inventory` (static data: hashes of the struct, the state
//! layout, each impl block and each method). A hot-patch library's
//! constructors run when it is loaded and submit the descriptions of every
//! plugin in the crates it recompiled, *again*, onto the same list. So:
//!
//! - the **running** manifest starts as the binary's own submissions and is
//!   replaced, plugin by plugin, by each patch that is applied
//!   ([`commit_running`]);
//! - the **incoming** manifest of a patch is what its library submitted:
//!   [`Watermark::now`] before loading it, [`Watermark::incoming`] after
//!   (the nodes that were not there before, wherever the list puts them);
//! - [`CodeManifest::diff`] of the two names, per plugin, what the edit
//!   changed (methods added, removed or edited; impl blocks; state layout),
//!   new plugin types and removed ones.
//!
//! Nothing here depends on symbol names, which an edit can change: only on
//! plugin names and on data the new code itself carries. The incoming
//! submissions are *read*, never adopted as the registry: their functions
//! point straight into one patch library.

use std::any::TypeId;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{LazyLock, Mutex, PoisonError};

use crate::hot::code_change::{ChangeKind, CodeDiff, PluginChange};
use crate::hot::code_check;
pub use crate::hot::code_check::IncomingCodeError;
use crate::plugin::descriptor::{CodeEntry, PluginDescriptor};
use crate::plugin::registry::Registration;
use crate::plugin::snapshot;

/// One `#[tony_plugin]` impl block, submitted to `inventory`.
#[doc(hidden)]
pub struct ImplBlock {
    type_id: fn() -> TypeId,
    code: &'static BlockCode,
}

impl ImplBlock {
    /// The block of the type `type_id` identifies, described by `code`.
    pub const fn new(type_id: fn() -> TypeId, code: &'static BlockCode) -> Self {
        ImplBlock { type_id, code }
    }
}

inventory::collect!(ImplBlock);

/// What the macro saw of an impl block.
#[doc(hidden)]
pub struct BlockCode {
    /// The implemented trait's path as written, empty for an inherent block.
    pub trait_name: &'static str,
    /// Hash of the block outside its methods (header, associated items).
    pub hash: u64,
    /// Each method's name (`Trait::name` in a trait impl) and hash.
    pub methods: &'static [(&'static str, u64)],
}

/// The code of one plugin type: its struct, its state layout, its
/// `#[tony_plugin]` impl blocks and their methods.
#[derive(Clone)]
pub struct PluginCode {
    name: &'static str,
    type_id: TypeId,
    crate_name: &'static str,
    bin_name: Option<&'static str>,
    struct_hash: u64,
    state: u64,
    /// Trait path (empty: inherent) -> the hashes of the blocks, sorted.
    blocks: BTreeMap<&'static str, Vec<u64>>,
    /// `method` or `Trait::method` -> hash.
    methods: BTreeMap<&'static str, u64>,
    entry: CodeEntry,
}

impl PluginCode {
    /// The plugin's name.
    pub fn name(&self) -> &str {
        self.name
    }

    /// The crate that defines the plugin.
    pub fn crate_name(&self) -> &str {
        self.crate_name
    }

    /// The compilation unit that defines the plugin.
    fn unit(&self) -> Unit {
        (self.crate_name, self.bin_name)
    }

    /// The binary target that defines the plugin (`CARGO_BIN_NAME`), or
    /// `None` when a library does.
    pub fn bin_name(&self) -> Option<&str> {
        self.bin_name
    }

    /// The compilation unit that defines the plugin, as
    /// [`PatchReceipt::recompiled`](crate::PatchReceipt::recompiled) names
    /// it: the crate name, followed by ` (bin NAME)` for a binary target.
    pub fn unit_name(&self) -> String {
        unit_name(self.unit())
    }

    /// The state fingerprint.
    pub fn state(&self) -> u64 {
        self.state
    }

    /// The code fingerprint: the struct, every impl block and method.
    pub fn code(&self) -> u64 {
        let mut blocks: Vec<u64> = self.blocks.values().flatten().copied().collect();
        blocks.sort_unstable();
        let h = blocks.into_iter().fold(
            snapshot::fnv_u64(snapshot::FNV_OFFSET, self.struct_hash),
            snapshot::fnv_u64,
        );
        self.methods.iter().fold(h, |h, (name, hash)| {
            snapshot::fnv_u64(snapshot::fnv_u64(h, snapshot::fnv1a(name)), *hash)
        })
    }

    /// The names of the plugin's methods in `#[tony_plugin]` impl blocks
    /// (`Trait::method` for trait impls), sorted.
    pub fn methods(&self) -> impl Iterator<Item = &str> {
        self.methods.keys().copied()
    }

    /// The plugin's descriptor, built by *this* code. Of an incoming
    /// manifest, the functions point into the patch library: only for
    /// plugin types the running binary does not have.
    ///
    /// The code's hot entry is called contained: an error when it panics or
    /// describes another plugin than this one.
    pub fn descriptor(&self) -> Result<PluginDescriptor, IncomingCodeError> {
        let own = code_check::checked_answer(self.name, self.entry, self.entry)?;
        Ok(PluginDescriptor::generated_as(self.entry, own.metadata))
    }

    /// The descriptor a plugin type of the running binary gets from a patch
    /// that brings this code: its functions still through `running`'s hot
    /// entry (the binary's, which the jump table leads to this patch's code
    /// and to every later patch's), its metadata from this code, so that a
    /// version, a dependency or a description edited in the attribute is
    /// validated before the patch goes in, and shown once it is.
    ///
    /// An error, and the patch must be refused, when this code's hot entry
    /// panics or its description names another plugin or type than
    /// `running`'s.
    pub fn descriptor_via(
        &self,
        running: &PluginCode,
    ) -> Result<PluginDescriptor, IncomingCodeError> {
        // This code's own entry, called directly: the metadata it was
        // compiled with, whatever table is installed now.
        let new = code_check::checked_answer(self.name, self.entry, running.entry)?;
        Ok(PluginDescriptor::generated_as(running.entry, new.metadata))
    }

    /// What changed from `self` (old) to `new`, or `None` when nothing did.
    fn diff(&self, new: &PluginCode) -> Option<CodeDiff> {
        let mut d = CodeDiff {
            struct_changed: self.struct_hash != new.struct_hash,
            state_layout_changed: self.state != new.state,
            ..CodeDiff::default()
        };
        for (m, h) in &new.methods {
            match self.methods.get(m) {
                None => d.methods_added.push((*m).to_owned()),
                Some(old) if old != h => d.methods_changed.push((*m).to_owned()),
                Some(_) => {}
            }
        }
        for m in self.methods.keys() {
            if !new.methods.contains_key(m) {
                d.methods_removed.push((*m).to_owned());
            }
        }
        let keys: BTreeSet<&str> = self
            .blocks
            .keys()
            .chain(new.blocks.keys())
            .copied()
            .collect();
        for key in keys {
            let label = block_label(key, self.name);
            let (old, now) = (self.blocks.get(key), new.blocks.get(key));
            let (n_old, n_new) = (old.map_or(0, Vec::len), now.map_or(0, Vec::len));
            if n_new > n_old {
                d.blocks_added.push(label);
            } else if n_new < n_old {
                d.blocks_removed.push(label);
            } else if old != now {
                d.blocks_changed.push(label);
            }
        }
        (d != CodeDiff::default()).then_some(d)
    }
}

fn block_label(trait_name: &str, plugin: &str) -> String {
    if trait_name.is_empty() {
        format!("impl of `{plugin}`")
    } else {
        format!("impl {trait_name} for `{plugin}`")
    }
}

impl std::fmt::Debug for PluginCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginCode")
            .field("name", &self.name)
            .field("crate_name", &self.crate_name)
            .field("code", &format_args!("{:#x}", self.code()))
            .field("state", &format_args!("{:#x}", self.state))
            .field("methods", &self.methods.keys())
            .finish_non_exhaustive()
    }
}

/// Edits, for tests that describe a patch's code by hand (see
/// `tests/tests/patch_detection.rs`).
#[doc(hidden)]
impl PluginCode {
    /// A method added, or its code changed.
    #[must_use]
    pub fn with_method(mut self, name: &'static str, hash: u64) -> Self {
        self.methods.insert(name, hash);
        self
    }

    /// A method removed.
    #[must_use]
    pub fn without_method(mut self, name: &str) -> Self {
        self.methods.remove(name);
        self
    }

    /// An impl block added (`trait_name` empty: inherent).
    #[must_use]
    pub fn with_block(mut self, trait_name: &'static str, hash: u64) -> Self {
        self.blocks.entry(trait_name).or_default().push(hash);
        self
    }

    /// A new state layout.
    #[must_use]
    pub fn with_state(mut self, state: u64) -> Self {
        self.state = state;
        self
    }

    /// This code under another plugin name.
    #[must_use]
    pub fn renamed(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// This code as compiled into the binary target `bin` of its package
    /// (`None`: its library).
    #[must_use]
    pub fn in_bin(mut self, bin: Option<&'static str>) -> Self {
        self.bin_name = bin;
        self
    }

    /// This code behind another hot entry (a patch library's).
    #[must_use]
    pub fn with_entry(mut self, entry: CodeEntry) -> Self {
        self.entry = entry;
        self
    }
}

/// Edits, for tests that describe a patch's code by hand.
#[doc(hidden)]
impl CodeManifest {
    /// `code` in place of the plugin of its name, or added.
    #[must_use]
    pub fn with_plugin(mut self, code: PluginCode) -> Self {
        self.units.insert(code.unit());
        self.plugins.insert(code.name, code);
        self
    }

    /// The plugin `name` removed.
    #[must_use]
    pub fn without_plugin(mut self, name: &str) -> Self {
        self.plugins.remove(name);
        self
    }
}

/// The plugin types of a binary or of a hot patch, by name, with their code.
#[derive(Clone, Debug, Default)]
pub struct CodeManifest {
    plugins: BTreeMap<&'static str, PluginCode>,
    /// The compilation units these plugins come from: a plugin of one of
    /// them that is missing from an incoming manifest was removed by the
    /// edit. Units, not crate names: dx recompiles a package's binary
    /// without its library, and the two share a crate name.
    units: BTreeSet<Unit>,
}

/// A compilation unit: a crate name, and the binary target when it is one
/// (`CARGO_BIN_NAME`; `None` for a library).
type Unit = (&'static str, Option<&'static str>);

fn unit_name((crate_name, bin): Unit) -> String {
    match bin {
        Some(bin) => format!("{crate_name} (bin {bin})"),
        None => crate_name.to_owned(),
    }
}

impl CodeManifest {
    /// The manifest built from these submissions: each registration joined
    /// with the impl blocks of its type.
    fn from_nodes<'a>(
        registrations: impl IntoIterator<Item = &'a Registration>,
        blocks: impl IntoIterator<Item = &'a ImplBlock>,
    ) -> Self {
        let mut by_type: BTreeMap<TypeId, Vec<&ImplBlock>> = BTreeMap::new();
        for b in blocks {
            by_type.entry((b.type_id)()).or_default().push(b);
        }
        let mut m = CodeManifest::default();
        for r in registrations {
            let s = r.code;
            let mut code = PluginCode {
                name: s.name,
                type_id: (r.type_id)(),
                crate_name: s.crate_name,
                bin_name: s.bin_name,
                struct_hash: s.code,
                state: s.state,
                blocks: BTreeMap::new(),
                methods: BTreeMap::new(),
                entry: r.entry,
            };
            for b in by_type.get(&(r.type_id)()).into_iter().flatten() {
                code.blocks
                    .entry(b.code.trait_name)
                    .or_default()
                    .push(b.code.hash);
                code.methods.extend(b.code.methods.iter().copied());
            }
            for hashes in code.blocks.values_mut() {
                hashes.sort_unstable();
            }
            m.units.insert((s.crate_name, s.bin_name));
            m.plugins.insert(s.name, code);
        }
        m
    }

    /// The manifest of the binary as it started: every submission present
    /// the first time this is called (tony-hot calls it before any patch
    /// can load).
    pub fn original() -> &'static CodeManifest {
        &ORIGINAL
    }

    /// The manifest of the code running now: the binary's, with the plugins
    /// of each applied hot patch in place.
    pub fn running() -> CodeManifest {
        running()
    }

    /// The plugin `name`'s code, if this manifest has it.
    pub fn get(&self, name: &str) -> Option<&PluginCode> {
        self.plugins.get(name)
    }

    /// Every plugin, by name.
    pub fn plugins(&self) -> impl Iterator<Item = &PluginCode> {
        self.plugins.values()
    }

    /// Asks every plugin's newest code, through the jump table installed
    /// now, for its description, contained: after a patch is installed,
    /// each must answer, and answer for its own plugin and type. The first
    /// that does not is the error, and the patch must be rolled back.
    pub fn check_entries(&self) -> Result<(), IncomingCodeError> {
        self.plugins
            .values()
            .try_for_each(|code| code_check::check_newest(code.name, code.entry))
    }

    /// The compilation units it describes (see [`PluginCode::unit_name`]),
    /// sorted: for a patch, the crates dx recompiled that hold plugins.
    pub fn unit_names(&self) -> Vec<String> {
        self.units.iter().copied().map(unit_name).collect()
    }

    /// Whether the manifest has no plugin.
    pub fn is_empty(&self) -> bool {
        self.plugins.is_empty()
    }

    /// What changes from `self` (the code running) to `incoming` (a
    /// patch's), sorted by plugin name: plugins whose code changed, plugins
    /// new in `incoming`, and plugins of a compilation unit `incoming`
    /// recompiled that it no longer has. A plugin whose unit `incoming` does
    /// not describe is unchanged, even when another unit of its crate name
    /// (the binary beside its library) is there.
    pub fn diff(&self, incoming: &CodeManifest) -> Vec<PluginChange> {
        let mut changes = Vec::new();
        for (name, new) in &incoming.plugins {
            let kind = match self.plugins.get(name) {
                None => Some(ChangeKind::Added),
                Some(old) => old.diff(new).map(ChangeKind::Modified),
            };
            changes.extend(kind.map(|kind| PluginChange {
                plugin: (*name).to_owned(),
                kind,
            }));
        }
        for (name, old) in &self.plugins {
            if incoming.units.contains(&old.unit()) && !incoming.plugins.contains_key(name) {
                changes.push(PluginChange {
                    plugin: (*name).to_owned(),
                    kind: ChangeKind::Removed,
                });
            }
        }
        changes.sort_by(|a, b| a.plugin.cmp(&b.plugin));
        changes
    }

    /// `self` with `incoming`'s plugins in place of its own, and `removed`
    /// taken out: the code running once the patch is applied.
    #[must_use]
    pub fn patched(&self, incoming: &CodeManifest, removed: &[String]) -> CodeManifest {
        let mut m = self.clone();
        for name in removed {
            m.plugins.remove(name.as_str());
        }
        m.plugins
            .extend(incoming.plugins.iter().map(|(k, v)| (*k, v.clone())));
        m.units.extend(incoming.units.iter().copied());
        m
    }
}

/// The submissions present when the binary's manifest was first asked for.
static ORIGINAL: LazyLock<CodeManifest> = LazyLock::new(|| {
    CodeManifest::from_nodes(
        inventory::iter::<Registration>(),
        inventory::iter::<ImplBlock>(),
    )
});

/// Every plugin type of the binary by type, duplicates of a name included
/// (the manifest keeps one per name; separate systems may each use another).
static ORIGINAL_BY_TYPE: LazyLock<BTreeMap<TypeId, PluginCode>> = LazyLock::new(|| {
    inventory::iter::<Registration>()
        .filter_map(|r| {
            let single = CodeManifest::from_nodes([r], inventory::iter::<ImplBlock>());
            single.plugins.into_values().next()
        })
        .map(|c| (c.type_id, c))
        .collect()
});

/// The code running now, when a patch changed it (else the original's).
static RUNNING: Mutex<Option<CodeManifest>> = Mutex::new(None);

/// The manifest of the code running now: the binary's, with each applied
/// patch's plugins in place.
pub(crate) fn running() -> CodeManifest {
    RUNNING
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .unwrap_or_else(|| CodeManifest::original().clone())
}

/// Records `manifest` as the code running now (after a patch is applied,
/// or to put the previous one back when it is rolled back). Not public API:
/// reached through `__private` by tony-hot's patch swap.
pub fn commit_running(manifest: CodeManifest) {
    *RUNNING.lock().unwrap_or_else(PoisonError::into_inner) = Some(manifest);
}

/// The running code fingerprint of plugin `name` of type `type_id`, when
/// `#[tony_plugin]` describes it.
pub(crate) fn running_code(name: &str, type_id: TypeId) -> Option<u64> {
    let running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
    let manifest = running.as_ref().unwrap_or_else(|| CodeManifest::original());
    match manifest.get(name) {
        Some(code) if code.type_id == type_id => Some(code.code()),
        // Another type of the same name: the binary's own description of it.
        _ => ORIGINAL_BY_TYPE.get(&type_id).map(PluginCode::code),
    }
}

/// The submissions present at one moment: what is submitted after it is
/// what a library loaded since then brought.
///
/// A set of node addresses, not a position in inventory's list: inventory
/// documents no iteration order, so a patch library's nodes are told by
/// their being new, wherever the list puts them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watermark {
    registrations: HashSet<usize>,
    blocks: HashSet<usize>,
}

impl Watermark {
    /// The submissions now. Also fixes the binary's own manifest, if it was
    /// not yet (so that a library loaded later is never taken for the
    /// binary).
    pub fn now() -> Self {
        LazyLock::force(&ORIGINAL);
        Watermark {
            registrations: addresses(inventory::iter::<Registration>()),
            blocks: addresses(inventory::iter::<ImplBlock>()),
        }
    }

    /// What was submitted since `self`: the manifest of the library (or
    /// libraries) loaded in between; empty when none submitted anything.
    pub fn incoming(&self) -> CodeManifest {
        CodeManifest::from_nodes(
            since(inventory::iter::<Registration>(), &self.registrations),
            since(inventory::iter::<ImplBlock>(), &self.blocks),
        )
    }
}

fn addresses<T: 'static>(nodes: impl Iterator<Item = &'static T>) -> HashSet<usize> {
    nodes.map(|n| std::ptr::from_ref(n) as usize).collect()
}

/// The nodes not in `before`, in whatever order the list gives them.
fn since<'a, T: 'static>(
    nodes: impl Iterator<Item = &'static T> + 'a,
    before: &'a HashSet<usize>,
) -> impl Iterator<Item = &'static T> + 'a {
    nodes.filter(move |n| !before.contains(&(std::ptr::from_ref(*n) as usize)))
}

#[cfg(test)]
mod tests {
    use super::{addresses, since};

    static NODES: [u32; 6] = [0, 1, 2, 3, 4, 5];

    /// The nodes `since` finds after `before` was taken, given the list in
    /// `order` (indexes into `NODES`).
    fn found(before: &[usize], order: &[usize]) -> Vec<u32> {
        let mark = addresses(before.iter().map(|&i| &NODES[i]));
        let mut new: Vec<u32> = since(order.iter().map(|&i| &NODES[i]), &mark)
            .copied()
            .collect();
        new.sort_unstable();
        new
    }

    #[test]
    fn a_patch_is_found_wherever_inventory_puts_its_nodes() {
        let before = [0, 1, 2];
        // Pushed at the head (inventory 0.3.25 does this), at the tail,
        // interleaved, and with the old nodes reordered too.
        for order in [
            [3, 4, 5, 0, 1, 2],
            [0, 1, 2, 3, 4, 5],
            [0, 3, 1, 4, 2, 5],
            [5, 2, 4, 0, 3, 1],
        ] {
            assert_eq!(found(&before, &order), [3, 4, 5], "order {order:?}");
        }
        // Nothing loaded: nothing new, whatever the order.
        assert!(found(&before, &[2, 0, 1]).is_empty());
    }
}
