// Shared by the hot-patch tests (`include!`d, so that the tests can name
// the hidden functions `#[tony_plugin]` generates): plugins, the "new
// code" synthetic patches install, the incoming code they describe, and
// helpers.
//
// subsecond's jump table is process-global: every test takes [`serial`],
// which runs the tests of one binary one at a time and puts the original
// code back when the test ends, whether it passed or not.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};
use subsecond::JumpTable;
use tony_core::__private::{Generated, VTable};
use tony_core::{CodeManifest, PluginCode};
use tony_core::{
    AccessError, BoxError, ChangeKind, Context, Event, EventKind, Fingerprints, HotReloadConfig,
    OldState, PatchReceipt, Plugin, PluginState, PluginSystem, PluginType, ReloadResult,
    StateRestore, Trigger, tony_plugin,
};
use tony_hot::PatchError;
use tony_hot::testing::{self, Patch, fn_key, hot_key};

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
    reset_counters();
    Serial { _lock: lock }
}

/// The original code, in the jump table and as the code Tony thinks runs.
fn restore_original() -> Result<(), PatchError> {
    tony_core::__private::commit_running(CodeManifest::original().clone());
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

/// A plugin type the systems of these tests do not start with: a patch
/// "brings" it. Depends on A.
#[tony_plugin(name = "hp-epsilon", version = "1.0.0", dependencies("hp-alpha" = "^1"))]
#[derive(Default, Serialize, Deserialize)]
struct Epsilon {
    bumps: u64,
}

#[tony_plugin]
impl Epsilon {
    fn bump(&mut self) -> u64 {
        self.bumps += 1;
        self.bumps
    }
}

#[tony_plugin]
impl Plugin for Epsilon {
    fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
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
    let old = (Gamma::__tony_plugin_code().vtable.fingerprints)();
    Fingerprints::new(old.code ^ 1, old.state ^ 1)
}

/// Gamma's code with the new layout: what `__tony_plugin_code` answers in
/// the patch.
fn gamma_code_v2() -> &'static Generated {
    static CODE: LazyLock<Generated> = LazyLock::new(|| with_fingerprints(Gamma::__tony_plugin_code(), gamma_fingerprints_v2));
    &CODE
}

/// `code` with other fingerprints: what a patch's hot entry answers.
fn with_fingerprints(code: &Generated, fingerprints: fn() -> Fingerprints) -> Generated {
    Generated {
        vtable: VTable {
            fingerprints,
            ..code.vtable
        },
        ..*code
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
    let old = (Delta::__tony_plugin_code().vtable.fingerprints)();
    Fingerprints::new(old.code ^ 1, old.state ^ 1)
}

fn delta_code_v2() -> &'static Generated {
    static CODE: LazyLock<Generated> = LazyLock::new(|| with_fingerprints(Delta::__tony_plugin_code(), delta_fingerprints_v2));
    &CODE
}


// ---------------------------------------------------------------------------
// Tables and the incoming code they stand for
// ---------------------------------------------------------------------------

fn table(entries: Vec<(u64, u64)>) -> JumpTable {
    testing::table(entries).unwrap()
}

/// The running binary's description of plugin `name`.
fn code_of(name: &str) -> PluginCode {
    CodeManifest::original().get(name).unwrap().clone()
}

/// What a patch library recompiling this crate would submit: every plugin
/// as it is, but for `edited`.
fn incoming(edited: impl IntoIterator<Item = PluginCode>) -> CodeManifest {
    edited
        .into_iter()
        .fold(CodeManifest::original().clone(), CodeManifest::with_plugin)
}

/// An edit of A's `step`: the table maps it to new code; the incoming code
/// says that method changed.
fn alpha_edit() -> (JumpTable, CodeManifest) {
    (
        table(vec![(hot_key(&Alpha::__tony_hot_step), hot_key(&alpha_step_v2))]),
        incoming([code_of("hp-alpha").with_method("step", 0x5eed_0001)]),
    )
}

/// Applies a synthetic patch of this crate.
fn apply(system: &PluginSystem, (table, code): (JumpTable, CodeManifest)) -> PatchReceipt {
    testing::apply_synthetic_patch(system, table, &code).unwrap()
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn config(max_retry_attempts: u32) -> HotReloadConfig {
    HotReloadConfig::default()
        .with_enabled(true)
        .with_max_retry_attempts(std::num::NonZeroU32::new(max_retry_attempts).unwrap())
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

