//! Hot patches end to end, without dx: synthetic jump tables that point
//! `#[tony_plugin]` functions at replacement functions compiled into this
//! test binary (which exports `main`, see `build.rs`), handled by
//! `tony_hot::apply_patch_transaction` exactly as a table from
//! `dx serve --hot-patch` would be.
//!
//! subsecond's jump table is process-global: every test takes [`serial`],
//! which runs the tests one at a time and puts the original code back when
//! the test ends, whether it passed or not.

#![allow(clippy::unwrap_used, missing_docs)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use dioxus_devtools::{DevserverMsg, HotReloadMsg};
use serde::{Deserialize, Serialize};
use subsecond::JumpTable;
use tony_core::{
    AccessError, BoxError, Context, Event, EventKind, Fingerprints, HotReloadConfig, OldState,
    Plugin, PluginState, PluginSystem, PluginType, ReloadResult, StateRestore, Trigger,
    tony_plugin,
};
use tony_hot::PatchError;
use tony_hot::testing::{self, Intake, Patch, hot_key};

// ---------------------------------------------------------------------------
// Serialisation and cleanup
// ---------------------------------------------------------------------------

static LOCK: Mutex<()> = Mutex::new(());

/// One patch test at a time; the original code is installed when it starts
/// and again when it ends (on drop, so also when the test fails).
struct Serial {
    _lock: MutexGuard<'static, ()>,
}

fn serial() -> Serial {
    let lock = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    restore_original().unwrap();
    alpha_inherent_block_key(); // before the counters are reset: it activates Alpha
    reset_counters();
    Serial { _lock: lock }
}

fn restore_original() -> Result<(), PatchError> {
    Patch::new(testing::original()?)?.apply()
}

impl Drop for Serial {
    fn drop(&mut self) {
        // Runs before `_lock` is released.
        if let Err(e) = restore_original() {
            if std::thread::panicking() {
                eprintln!("could not restore the original code: {e}");
            } else {
                panic!("could not restore the original code: {e}");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Plugins
// ---------------------------------------------------------------------------

/// How many times each plugin's (original) `activate` ran.
static ALPHA_ACTIVATED: AtomicU32 = AtomicU32::new(0);
static USER_ACTIVATED: AtomicU32 = AtomicU32::new(0);
static BETA_ACTIVATED: AtomicU32 = AtomicU32::new(0);
/// How many times a replacement (new-code) hook ran.
static NEW_ACTIVATE_RAN: AtomicU32 = AtomicU32::new(0);
static NEW_MIGRATE_RAN: AtomicU32 = AtomicU32::new(0);
/// What the new `migrate` was handed.
static MIGRATED_FROM: Mutex<Option<(u32, u64)>> = Mutex::new(None);
/// `count` of the last activated gamma/delta instance.
static LAYOUT_SEEN: AtomicU64 = AtomicU64::new(u64::MAX);

fn reset_counters() {
    for c in [
        &ALPHA_ACTIVATED,
        &USER_ACTIVATED,
        &BETA_ACTIVATED,
        &NEW_ACTIVATE_RAN,
        &NEW_MIGRATE_RAN,
    ] {
        c.store(0, Ordering::SeqCst);
    }
    *MIGRATED_FROM.lock().unwrap_or_else(PoisonError::into_inner) = None;
    LAYOUT_SEEN.store(u64::MAX, Ordering::SeqCst);
}

fn count(c: &AtomicU32) -> u32 {
    c.load(Ordering::SeqCst)
}

/// Plugin A: a counter whose step a patch changes.
#[tony_plugin(name = "hp-alpha", version = "1.0.0")]
#[derive(Default, Serialize, Deserialize)]
struct Alpha {
    count: u64,
}

#[tony_plugin]
impl Alpha {
    fn step(&self) -> u64 {
        1
    }

    fn tick(&mut self) -> u64 {
        self.count += self.step();
        self.count
    }
}

#[tony_plugin]
impl Plugin for Alpha {
    fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
        ALPHA_ACTIVATED.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Depends on A: cycled with it.
#[tony_plugin(name = "hp-alpha-user", version = "1.0.0", dependencies("hp-alpha" = "^1"))]
#[derive(Default, Serialize, Deserialize)]
struct AlphaUser {
    activations: u32,
}

#[tony_plugin]
impl Plugin for AlphaUser {
    fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
        self.activations += 1;
        USER_ACTIVATED.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// B: unrelated to A, in the same tables.
#[tony_plugin(name = "hp-beta", version = "1.0.0")]
#[derive(Default, Serialize, Deserialize)]
struct Beta {
    count: u64,
}

#[tony_plugin]
impl Beta {
    fn value(&self) -> u64 {
        100 + self.count
    }
}

#[tony_plugin]
impl Plugin for Beta {
    fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
        BETA_ACTIVATED.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// A plugin whose state layout a patch changes; it can migrate.
#[tony_plugin(name = "hp-gamma", version = "1.0.0", state_version = 1)]
#[derive(Default, Serialize, Deserialize)]
struct Gamma {
    count: u64,
}

#[tony_plugin]
impl Plugin for Gamma {
    fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
        LAYOUT_SEEN.store(self.count, Ordering::SeqCst);
        Ok(())
    }

    fn migrate(_old: &OldState<'_>) -> Result<Self, BoxError> {
        Err("the original code knows no older layout".into())
    }
}

/// A plugin whose state layout a patch changes; it has no migration.
#[tony_plugin(name = "hp-delta", version = "1.0.0")]
#[derive(Default, Serialize, Deserialize)]
struct Delta {
    count: u64,
}

#[tony_plugin]
impl Plugin for Delta {
    fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
        LAYOUT_SEEN.store(self.count, Ordering::SeqCst);
        Ok(())
    }
}

/// Not plugin code.
fn helper() -> u32 {
    1
}

// ---------------------------------------------------------------------------
// The "new code" a patch installs
// ---------------------------------------------------------------------------

fn helper_v2() -> u32 {
    2
}

fn alpha_step_v2(_: &Alpha) -> u64 {
    10
}

/// The new hash of `#[tony_plugin] impl Alpha` (whose `step` was edited):
/// what the macro computes for the edited block.
fn alpha_inherent_block_v2() -> u64 {
    0x5eed_0001
}

/// The new hash of `#[tony_plugin] impl Plugin for Alpha` (whose `activate`
/// was edited).
fn alpha_plugin_block_v2() -> u64 {
    0x5eed_0002
}

fn alpha_activate_fails(_: &mut Alpha, _: &mut Context<'_>) -> Result<(), BoxError> {
    NEW_ACTIVATE_RAN.fetch_add(1, Ordering::SeqCst);
    Err("the new activate refuses".into())
}

fn alpha_activate_panics(_: &mut Alpha, _: &mut Context<'_>) -> Result<(), BoxError> {
    NEW_ACTIVATE_RAN.fetch_add(1, Ordering::SeqCst);
    panic!("the new activate panics");
}

/// B's "recompiled but unchanged" method.
fn beta_value_same(b: &Beta) -> u64 {
    100 + b.count
}

/// A new state layout for gamma (code and state fingerprints change).
fn gamma_fingerprints_v2() -> Fingerprints {
    let old = Gamma::__tony_plugin_fingerprints();
    Fingerprints {
        code: old.code ^ 1,
        state: old.state ^ 1,
    }
}

/// The new code's migration from the old layout (same fields here; the new
/// code multiplies the count by 1000 so the test can tell it ran).
fn gamma_migrate_v2(old: &OldState<'_>) -> Result<Gamma, BoxError> {
    NEW_MIGRATE_RAN.fetch_add(1, Ordering::SeqCst);
    *MIGRATED_FROM.lock().unwrap_or_else(PoisonError::into_inner) =
        Some((old.state_version, old.fingerprint));
    #[derive(Deserialize)]
    struct GammaV1 {
        count: u64,
    }
    let v1: GammaV1 = old.decode()?;
    Ok(Gamma {
        count: v1.count * 1000,
    })
}

fn delta_fingerprints_v2() -> Fingerprints {
    let old = Delta::__tony_plugin_fingerprints();
    Fingerprints {
        code: old.code ^ 1,
        state: old.state ^ 1,
    }
}

// ---------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------

/// The key of the hash fn of `#[tony_plugin] impl Alpha` (the block of
/// `step`). Its name carries a hash of the block's item names, so it is
/// found as dx's table would be read: it is the one key besides the
/// struct's fingerprint fn and the `impl Plugin` block's hash fn that
/// `PluginSystem::plugins_changed_by` asks about for Alpha.
fn alpha_inherent_block_key() -> u64 {
    static KEY: OnceLock<u64> = OnceLock::new();
    *KEY.get_or_init(|| {
        let system = PluginSystem::builder()
            .config(config(3))
            .register_inventory(false)
            .plugin::<Alpha>()
            .build()
            .unwrap();
        system.initialize().unwrap();
        let asked = Mutex::new(Vec::new());
        let changed = system.plugins_changed_by(&|key| {
            asked.lock().unwrap().push(key);
            None
        });
        assert!(changed.is_empty());
        let mut asked = asked.into_inner().unwrap();
        let known = [
            hot_key(&Alpha::__tony_plugin_fingerprints),
            hot_key(&Alpha::__tony_hot_fingerprint_Plugin),
        ];
        for k in known {
            assert!(asked.contains(&k), "{k:#x} not asked: {asked:x?}");
        }
        asked.retain(|k| !known.contains(k));
        assert_eq!(asked.len(), 1, "{asked:x?}");
        asked[0]
    })
}

/// Entries of the table dx would send for a recompiled crate in which
/// nothing of B changed: B's functions mapped to (equivalent) new code.
fn beta_unchanged() -> Vec<(u64, u64)> {
    vec![
        (
            hot_key(&Beta::__tony_plugin_fingerprints),
            hot_key(&Beta::__tony_plugin_fingerprints),
        ),
        (hot_key(&Beta::__tony_hot_value), hot_key(&beta_value_same)),
        (
            hot_key(&Beta::__tony_hot_Plugin_activate),
            hot_key(&Beta::__tony_hot_Plugin_activate),
        ),
        (
            hot_key(&Beta::__tony_hot_fingerprint_Plugin),
            hot_key(&Beta::__tony_hot_fingerprint_Plugin),
        ),
        (
            hot_key(&AlphaUser::__tony_plugin_fingerprints),
            hot_key(&AlphaUser::__tony_plugin_fingerprints),
        ),
        (
            hot_key(&AlphaUser::__tony_hot_fingerprint_Plugin),
            hot_key(&AlphaUser::__tony_hot_fingerprint_Plugin),
        ),
    ]
}

/// An edit of A's `step`: the method and its block's hash change (so A's
/// code fingerprint does); B and A's dependent are in the table unchanged,
/// and so are A's other fingerprint fns.
fn alpha_edit() -> Vec<(u64, u64)> {
    let mut entries = vec![
        (
            alpha_inherent_block_key(),
            hot_key(&alpha_inherent_block_v2),
        ),
        (hot_key(&Alpha::__tony_hot_step), hot_key(&alpha_step_v2)),
        (
            hot_key(&Alpha::__tony_plugin_fingerprints),
            hot_key(&Alpha::__tony_plugin_fingerprints),
        ),
    ];
    entries.extend(beta_unchanged());
    entries
}

fn table(entries: Vec<(u64, u64)>) -> JumpTable {
    testing::table(entries).unwrap()
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn config(max_retry_attempts: u32) -> HotReloadConfig {
    HotReloadConfig::default()
        .with_enabled(true)
        .with_max_retry_attempts(max_retry_attempts)
}

fn system(config: HotReloadConfig) -> PluginSystem {
    let system = PluginSystem::builder()
        .config(config)
        .register_inventory(false)
        .plugin::<Alpha>()
        .plugin::<AlphaUser>()
        .plugin::<Beta>()
        .build()
        .unwrap();
    system.initialize().unwrap();
    system
}

/// Records every event.
fn record(system: &PluginSystem) -> Arc<Mutex<Vec<Event>>> {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    system.subscribe_all(move |e: &Event| sink.lock().unwrap().push(e.clone()));
    events
}

fn kinds(events: &Mutex<Vec<Event>>) -> Vec<EventKind> {
    events.lock().unwrap().iter().map(Event::kind).collect()
}

fn reload_results(events: &Mutex<Vec<Event>>) -> Vec<ReloadResult> {
    events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::ReloadCompleted(r) | Event::ReloadFailed(r) => Some((**r).clone()),
            _ => None,
        })
        .collect()
}

fn tick(system: &PluginSystem) -> u64 {
    system.with_mut::<Alpha, _>(Alpha::tick).unwrap()
}

fn alpha_count(system: &PluginSystem) -> u64 {
    system.with::<Alpha, _>(|a| a.count).unwrap()
}

/// Everything observable about the system: states, live fingerprints,
/// plugin state, what the methods answer.
fn observe(system: &PluginSystem) -> (Vec<(String, PluginState, Fingerprints)>, u64, u64, u32) {
    let status = system
        .status()
        .into_iter()
        .map(|s| (s.name, s.state, s.fingerprints))
        .collect();
    let alpha = system.with::<Alpha, _>(|a| (a.count, a.step())).unwrap();
    let beta = system.with::<Beta, _>(Beta::value).unwrap();
    let user = system.with::<AlphaUser, _>(|u| u.activations).unwrap();
    (status, alpha.0 * 1000 + alpha.1, beta, user)
}

fn live_fingerprints(system: &PluginSystem, name: &str) -> Fingerprints {
    system
        .status()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap()
        .fingerprints
}

// ---------------------------------------------------------------------------
// 1. A method is redirected, and the original comes back
// ---------------------------------------------------------------------------

#[test]
fn a_plugin_method_is_redirected_and_an_empty_table_restores_it() {
    let _serial = serial();
    let mut alpha = Alpha { count: 5 };
    assert_eq!(alpha.step(), 1);

    Patch::new(table(vec![(
        hot_key(&Alpha::__tony_hot_step),
        hot_key(&alpha_step_v2),
    )]))
    .unwrap()
    .apply()
    .unwrap();
    assert_eq!(alpha.step(), 10, "the visible method runs the new code");
    assert_eq!(
        alpha.tick(),
        15,
        "callers of the method see the new code too"
    );

    Patch::new(testing::original().unwrap())
        .unwrap()
        .apply()
        .unwrap();
    assert_eq!(alpha.step(), 1, "an empty-map table restores the original");
    assert_eq!(alpha.tick(), 16);
}

// ---------------------------------------------------------------------------
// 2. A changed plugin is cycled with its dependent, not an unrelated one
// ---------------------------------------------------------------------------

#[test]
fn a_patch_cycles_the_changed_plugin_and_its_dependent_only() {
    let _serial = serial();
    let system = system(config(3));
    for _ in 0..3 {
        tick(&system);
    }
    assert_eq!(alpha_count(&system), 3);
    let before = live_fingerprints(&system, "hp-alpha");
    let beta_before = live_fingerprints(&system, "hp-beta");
    assert_eq!(
        (
            count(&ALPHA_ACTIVATED),
            count(&USER_ACTIVATED),
            count(&BETA_ACTIVATED)
        ),
        (1, 1, 1)
    );
    let events = record(&system);

    // What plugins_changed_by asks for: only A's fingerprint fn may differ.
    let patch = Patch::new(table(alpha_edit())).unwrap();
    assert_eq!(
        system.plugins_changed_by(&|k| patch.resolve_key(k)),
        ["hp-alpha"]
    );

    let receipt = tony_hot::apply_patch_transaction(&system, table(alpha_edit())).unwrap();
    assert!(receipt.applied, "{receipt:?}");
    assert_eq!(receipt.changed, ["hp-alpha"]);
    assert_eq!(receipt.cycled, ["hp-alpha", "hp-alpha-user"]);
    assert!(receipt.note.contains("state preserved"), "{}", receipt.note);

    // A and its dependent were cycled, B was not touched.
    assert_eq!(
        (
            count(&ALPHA_ACTIVATED),
            count(&USER_ACTIVATED),
            count(&BETA_ACTIVATED)
        ),
        (2, 2, 1)
    );
    let started: Vec<Vec<String>> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::ReloadStarted { plugins, trigger } => {
                assert_eq!(*trigger, Trigger::Patch);
                Some(plugins.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(started, [["hp-alpha"]]);
    let preserved: Vec<String> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::StatePreserved { plugin, .. } => Some(plugin.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(preserved, ["hp-alpha-user", "hp-alpha"], "dependents first");
    let results = reload_results(&events);
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].dependents_reloaded, ["hp-alpha-user"]);
    assert!(
        results[0]
            .states
            .iter()
            .all(|(_, s)| *s == StateRestore::Decoded)
    );
    assert!(
        kinds(&events).contains(&EventKind::PatchApplied),
        "the receipt is published"
    );

    // State kept, new code running, new fingerprint live, B unchanged.
    assert_eq!(alpha_count(&system), 3, "A's counter survived the patch");
    assert_eq!(
        system.with::<AlphaUser, _>(|u| u.activations).unwrap(),
        2,
        "the dependent kept its state and was activated again"
    );
    assert_eq!(tick(&system), 13, "the new step runs");
    let after = live_fingerprints(&system, "hp-alpha");
    assert_ne!(after.code, before.code, "the new code fingerprint is live");
    assert_eq!(after.state, before.state);
    assert_eq!(live_fingerprints(&system, "hp-beta"), beta_before);
    assert_eq!(system.with::<Beta, _>(Beta::value).unwrap(), 100);
}

// ---------------------------------------------------------------------------
// 3. A failing new `activate` rolls back to the old code and state
// ---------------------------------------------------------------------------

/// An edit of A's `step` and `activate` (both blocks' hashes change).
fn failing_patch(new_activate: u64) -> JumpTable {
    let mut entries = alpha_edit();
    entries.push((hot_key(&Alpha::__tony_hot_Plugin_activate), new_activate));
    entries.push((
        hot_key(&Alpha::__tony_hot_fingerprint_Plugin),
        hot_key(&alpha_plugin_block_v2),
    ));
    table(entries)
}

/// Applies `patch`, expects a rollback after `attempts` tries of the new
/// `activate`, and the old code and state afterwards.
fn expect_rollback(system: &PluginSystem, patch: JumpTable, attempts: u32, message: &str) {
    let events = record(system);
    let count_before = alpha_count(system);
    let fingerprints_before = live_fingerprints(system, "hp-alpha");
    let old_activations = count(&ALPHA_ACTIVATED);
    NEW_ACTIVATE_RAN.store(0, Ordering::SeqCst);

    let receipt = tony_hot::apply_patch_transaction(system, patch).unwrap();
    assert!(!receipt.applied, "{receipt:?}");
    assert_eq!(receipt.changed, ["hp-alpha"]);
    assert!(
        receipt.note.starts_with("rolled back") && receipt.note.contains(message),
        "{}",
        receipt.note
    );
    assert_eq!(count(&NEW_ACTIVATE_RAN), attempts, "max_retry_attempts");
    let results = reload_results(&events);
    assert_eq!(results.len(), 1);
    assert!(!results[0].success && results[0].rolled_back);
    assert_eq!(results[0].attempts, attempts);
    assert!(results[0].failed.is_empty(), "{:?}", results[0].failed);
    assert!(kinds(&events).contains(&EventKind::ReloadFailed));

    // The old activate ran once more (the rollback), the old code is back.
    assert_eq!(count(&ALPHA_ACTIVATED), old_activations + 1);
    assert_eq!(alpha_count(system), count_before, "old state");
    assert_eq!(live_fingerprints(system, "hp-alpha"), fingerprints_before);
    assert!(
        system
            .status()
            .iter()
            .all(|s| s.state == PluginState::Active)
    );
    assert_eq!(tick(system), count_before + 1, "the old step runs again");
}

#[test]
fn a_patch_whose_activate_fails_or_panics_is_rolled_back() {
    let _serial = serial();
    let system = system(config(3));
    tick(&system);
    tick(&system);

    expect_rollback(
        &system,
        failing_patch(hot_key(&alpha_activate_fails)),
        3,
        "the new activate refuses",
    );
    expect_rollback(
        &system,
        failing_patch(hot_key(&alpha_activate_panics)),
        3,
        "the new activate panics",
    );
    assert_eq!(alpha_count(&system), 4);

    // The retry limit is the configured one, not a constant.
    let once = self::system(config(1));
    expect_rollback(
        &once,
        failing_patch(hot_key(&alpha_activate_fails)),
        1,
        "the new activate refuses",
    );
}

// ---------------------------------------------------------------------------
// 4. A patch for another process or build is ignored
// ---------------------------------------------------------------------------

fn message(
    table: Option<JumpTable>,
    for_pid: Option<u32>,
    for_build_id: Option<u64>,
) -> DevserverMsg {
    DevserverMsg::HotReload(HotReloadMsg {
        jump_table: table,
        for_pid,
        for_build_id,
        ms_elapsed: 42,
        ..HotReloadMsg::default()
    })
}

#[test]
fn patches_for_another_process_or_build_are_ignored() {
    let _serial = serial();
    let system = system(config(3));
    tick(&system);
    let pid = std::process::id();
    let build = 0;
    let ignored = |m: Option<Intake>| match m {
        Some(Intake::Ignored { reason }) => reason,
        other => panic!("expected Ignored, got {other:?}"),
    };
    let patch = || Some(table(alpha_edit()));

    // What the intake thread would do with each message.
    let handle = |msg| match testing::classify(msg, pid, build) {
        Some(Intake::Patch { table, .. }) => {
            Some(tony_hot::apply_patch_transaction(&system, table).unwrap())
        }
        _ => None,
    };

    let other_pid = ignored(testing::classify(
        message(patch(), Some(pid.wrapping_add(1)), Some(build)),
        pid,
        build,
    ));
    assert!(
        other_pid.contains(&pid.wrapping_add(1).to_string()),
        "{other_pid}"
    );
    // dx replays its last patch to every new connection without a pid.
    ignored(testing::classify(
        message(patch(), None, Some(build)),
        pid,
        build,
    ));
    let other_build = ignored(testing::classify(
        message(patch(), Some(pid), Some(build + 1)),
        pid,
        build,
    ));
    assert!(other_build.contains("build"), "{other_build}");
    assert!(
        testing::classify(message(None, Some(pid), Some(build)), pid, build).is_none(),
        "no table: nothing for Tony"
    );
    assert!(matches!(
        testing::classify(DevserverMsg::HotPatchStart, pid, build),
        Some(Intake::PatchStarted)
    ));

    let before = observe(&system);
    for msg in [
        message(patch(), Some(pid.wrapping_add(1)), Some(build)),
        message(patch(), None, Some(build)),
        message(patch(), Some(pid), Some(build + 1)),
        message(patch(), Some(pid), None),
    ] {
        assert!(handle(msg).is_none());
    }
    assert_eq!(observe(&system), before, "nothing changed");

    // The same table addressed to us goes through.
    let receipt = handle(message(patch(), Some(pid), Some(build))).unwrap();
    assert_eq!(receipt.changed, ["hp-alpha"]);
    assert_eq!(system.with::<Alpha, _>(Alpha::step).unwrap(), 10);
}

// ---------------------------------------------------------------------------
// 5. A bad library is refused and changes nothing
// ---------------------------------------------------------------------------

/// The path of the libc this process runs with.
fn libc_path() -> PathBuf {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| {
            let name = p.rsplit('/').next().unwrap_or_default();
            name.starts_with("libc.so") || name.starts_with("libc-")
        })
        .map(PathBuf::from)
        .expect("libc in /proc/self/maps")
}

#[test]
fn a_patch_with_a_bad_library_is_refused_and_changes_nothing() {
    let _serial = serial();
    let system = system(config(3));
    tick(&system);
    tick(&system);
    let events = record(&system);
    let before = observe(&system);

    let mut missing = table(alpha_edit());
    missing.lib = PathBuf::from("/nonexistent/libtony-patch-0.so");
    let e = tony_hot::apply_patch_transaction(&system, missing).unwrap_err();
    assert!(matches!(e, PatchError::Load { .. }), "{e:?}");
    assert_eq!(observe(&system), before);

    let mut no_main = table(alpha_edit());
    no_main.lib = libc_path();
    let e = tony_hot::apply_patch_transaction(&system, no_main).unwrap_err();
    assert!(matches!(e, PatchError::NoMainInLib { .. }), "{e:?}");
    assert_eq!(observe(&system), before);

    // Built against another binary: its main lies above ours.
    let mut foreign = table(alpha_edit());
    foreign.aslr_reference += 0x1000;
    let e = tony_hot::apply_patch_transaction(&system, foreign).unwrap_err();
    assert!(matches!(e, PatchError::Foreign { .. }), "{e:?}");
    assert_eq!(observe(&system), before);

    assert_eq!(kinds(&events), [], "no reload started, no receipt");
    assert_eq!(tick(&system), 3, "the original step still runs");
}

// ---------------------------------------------------------------------------
// 6. A patch that changes no plugin cycles nothing
// ---------------------------------------------------------------------------

#[test]
fn a_patch_of_non_plugin_code_changes_no_plugin() {
    let _serial = serial();
    let system = system(config(3));
    tick(&system);
    let events = record(&system);
    let before = observe(&system);
    let call_helper = || subsecond::HotFn::current(helper).call(());
    assert_eq!(call_helper(), 1);

    // Only a non-plugin function.
    let receipt = tony_hot::apply_patch_transaction(
        &system,
        table(vec![(hot_key(&helper), hot_key(&helper_v2))]),
    )
    .unwrap();
    assert_eq!(receipt.note, "no plugin changed");
    assert!(receipt.applied && receipt.changed.is_empty() && receipt.cycled.is_empty());
    assert_eq!(call_helper(), 2, "the table was applied");

    // As dx sends it: the plugins of the recompiled crate are in the table
    // too, unchanged.
    let mut entries = vec![(hot_key(&helper), hot_key(&helper_v2))];
    entries.extend(beta_unchanged());
    entries.push((
        hot_key(&Alpha::__tony_plugin_fingerprints),
        hot_key(&Alpha::__tony_plugin_fingerprints),
    ));
    let receipt = tony_hot::apply_patch_transaction(&system, table(entries)).unwrap();
    assert_eq!(receipt.note, "no plugin changed");
    assert!(receipt.applied && receipt.changed.is_empty() && receipt.cycled.is_empty());

    let seen = kinds(&events);
    assert!(!seen.contains(&EventKind::ReloadStarted), "{seen:?}");
    assert!(!seen.contains(&EventKind::StatePreserved), "{seen:?}");
    assert_eq!(seen, [EventKind::PatchApplied, EventKind::PatchApplied]);
    assert_eq!(observe(&system), before, "nothing cycled");
    assert_eq!((count(&ALPHA_ACTIVATED), count(&BETA_ACTIVATED)), (1, 1));
}

// ---------------------------------------------------------------------------
// 7. A changed state layout: rebuilt from the snapshot by the new code
// ---------------------------------------------------------------------------

fn layout_system<T: PluginType>() -> PluginSystem {
    let system = PluginSystem::builder()
        .config(config(3))
        .register_inventory(false)
        .plugin::<T>()
        .build()
        .unwrap();
    system.initialize().unwrap();
    let snapshot = system.create_state_snapshot(T::NAME).unwrap();
    assert_eq!(snapshot.old_state().decode::<u64>().unwrap(), 0);
    system
}

/// The state of `name` as the live code encodes it.
fn stored_count(system: &PluginSystem, name: &str) -> (u64, u64) {
    let snapshot = system.create_state_snapshot(name).unwrap();
    (
        snapshot.old_state().decode::<u64>().unwrap(),
        snapshot.fingerprint,
    )
}

#[test]
fn a_changed_state_layout_is_migrated_by_the_new_code() {
    let _serial = serial();
    let system = layout_system::<Gamma>();
    system.with_mut::<Gamma, _>(|g| g.count = 7).unwrap();
    let old = live_fingerprints(&system, "hp-gamma");
    assert_eq!(old.state, Gamma::STATE_FINGERPRINT);
    let events = record(&system);

    let receipt = tony_hot::apply_patch_transaction(
        &system,
        table(vec![
            (
                hot_key(&Gamma::__tony_plugin_fingerprints),
                hot_key(&gamma_fingerprints_v2),
            ),
            (
                hot_key(&Gamma::__tony_hot_Plugin_migrate),
                hot_key(&gamma_migrate_v2),
            ),
        ]),
    )
    .unwrap();
    assert!(receipt.applied, "{receipt:?}");
    assert_eq!(receipt.changed, ["hp-gamma"]);
    assert!(receipt.note.contains("state preserved"), "{}", receipt.note);

    assert_eq!(count(&NEW_MIGRATE_RAN), 1, "the new code's migrate ran");
    assert_eq!(
        *MIGRATED_FROM.lock().unwrap(),
        Some((1, old.state)),
        "it was handed the old snapshot's state version and fingerprint"
    );
    let results = reload_results(&events);
    assert_eq!(
        results[0].states,
        [(
            "hp-gamma".to_owned(),
            StateRestore::Migrated {
                from_state_version: 1
            }
        )]
    );
    assert!(results[0].state_preserved && results[0].state_note().is_none());
    assert_eq!(
        LAYOUT_SEEN.load(Ordering::SeqCst),
        7000,
        "activated migrated"
    );
    assert_eq!(
        stored_count(&system, "hp-gamma"),
        (7000, gamma_fingerprints_v2().state)
    );
    // Code compiled against the old layout may not touch the new instance.
    assert!(matches!(
        system.with::<Gamma, _>(|g| g.count),
        Err(AccessError::StaleLayout { .. })
    ));
}

#[test]
fn a_changed_state_layout_without_migration_resets_and_says_so() {
    let _serial = serial();
    let system = layout_system::<Delta>();
    system.with_mut::<Delta, _>(|d| d.count = 7).unwrap();
    let events = record(&system);

    let receipt = tony_hot::apply_patch_transaction(
        &system,
        table(vec![(
            hot_key(&Delta::__tony_plugin_fingerprints),
            hot_key(&delta_fingerprints_v2),
        )]),
    )
    .unwrap();
    assert!(receipt.applied, "{receipt:?}");
    assert_eq!(receipt.changed, ["hp-delta"]);
    assert!(
        receipt.note.contains("state reset") && receipt.note.contains("no migration"),
        "{}",
        receipt.note
    );
    let results = reload_results(&events);
    assert!(!results[0].state_preserved);
    assert!(matches!(
        results[0].states[..],
        [(ref p, StateRestore::Reset { .. })] if p == "hp-delta"
    ));
    assert!(
        results[0]
            .state_note()
            .is_some_and(|n| n.starts_with("hp-delta")),
        "{:?}",
        results[0].state_note()
    );
    let reset_events: Vec<bool> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::StateRestored { plugin, how } if plugin == "hp-delta" => {
                Some(matches!(how, StateRestore::Reset { .. }))
            }
            _ => None,
        })
        .collect();
    assert_eq!(reset_events, [true], "an event says so too");
    assert_eq!(
        LAYOUT_SEEN.load(Ordering::SeqCst),
        0,
        "activated from default"
    );
    assert_eq!(
        stored_count(&system, "hp-delta"),
        (0, delta_fingerprints_v2().state)
    );
}
