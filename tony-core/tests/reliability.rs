//! Issue 11: no deadlock and no escaped panic whatever user code does, and
//! no lost or wiped state. Each test fails on the engine before the fix
//! (deadlocks are caught by `common::within`, never by hanging CI).
#![allow(clippy::unwrap_used, missing_docs)]

#[macro_use]
mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, OnceLock, mpsc};
use std::time::Duration;

use tony_core::{
    BoxError, Context, Event, Metadata, Plugin, PluginConfigFile, PluginDescriptor, PluginState,
    PluginSystem, PluginType, Registry, SourceLocation, Unload,
};

// ---- plugins -------------------------------------------------------------

count_plugin!(A, "rel-a");
count_plugin!(B, "rel-b", dep "rel-a");

fn ab() -> PluginSystem {
    let system = common::system(vec![A::descriptor(), B::descriptor()]);
    system.initialize().unwrap();
    system
}

/// A panic payload whose own `Drop` panics.
struct BadPayload;
impl Drop for BadPayload {
    fn drop(&mut self) {
        panic!("the panic payload's Drop panics too");
    }
}

/// "rel-bomb": its `Drop`, its service's `Drop` and its `activate` panic on
/// demand (each flag is consumed by one panic).
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Bomb {
    value: u64,
}
static BOMB_DROP: AtomicBool = AtomicBool::new(false);
static BOMB_SERVICE_DROP: AtomicBool = AtomicBool::new(false);
static BOMB_BAD_PAYLOAD: AtomicBool = AtomicBool::new(false);
struct BombService;
impl Drop for BombService {
    fn drop(&mut self) {
        if BOMB_SERVICE_DROP.swap(false, Ordering::SeqCst) {
            panic!("service drop bomb");
        }
    }
}
impl Drop for Bomb {
    fn drop(&mut self) {
        if BOMB_DROP.swap(false, Ordering::SeqCst) {
            panic!("plugin drop bomb");
        }
    }
}
impl Plugin for Bomb {
    fn activate(&mut self, ctx: &mut Context<'_>) -> Result<(), BoxError> {
        if BOMB_BAD_PAYLOAD.swap(false, Ordering::SeqCst) {
            std::panic::panic_any(BadPayload);
        }
        ctx.provide(BombService)?;
        Ok(())
    }
}
impl PluginType for Bomb {
    const NAME: &'static str = "rel-bomb";
    const STATE_FINGERPRINT: u64 = PluginDescriptor::layout_fingerprint::<Self>();
    fn descriptor() -> PluginDescriptor {
        PluginDescriptor::serde::<Self>(Metadata::new("rel-bomb", "1.0.0"))
    }
}

/// The bomb tests share its flags: one at a time.
static BOMB_SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
fn bomb_serial() -> std::sync::MutexGuard<'static, ()> {
    BOMB_SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn bomb() -> PluginSystem {
    let system = common::system(vec![Bomb::descriptor()]);
    system.initialize().unwrap();
    system.with_mut::<Bomb, _>(|b| b.value = 42).unwrap();
    system
}

fn state_of(system: &PluginSystem, name: &str) -> PluginState {
    system
        .status()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap()
        .state
}

/// After whatever happened, the bomb is usable from another thread.
fn bomb_usable(system: &PluginSystem) {
    let s = system.clone();
    common::within(10, "typed access after a panicking drop", move || {
        s.with::<Bomb, _>(|b| b.value).unwrap();
        assert!(s.reload_plugin("rel-bomb").success);
    });
}

// ---- deadlocks -----------------------------------------------------------

#[test]
fn nested_access_b_then_a_against_a_reload_of_a() {
    // The reload validates, then takes its plugins; the validator lets the
    // accessor borrow B right before that, so the reload would take A and
    // wait for B while the accessor, holding B, waits for A.
    let go = Arc::new(Barrier::new(2));
    let inside = Arc::new(Barrier::new(2));
    let armed = Arc::new(AtomicBool::new(true));
    let system = {
        let (go, inside, armed) = (Arc::clone(&go), Arc::clone(&inside), Arc::clone(&armed));
        PluginSystem::builder()
            .register_inventory(false)
            .config(common::config())
            .descriptor(A::descriptor())
            .descriptor(B::descriptor())
            .validator(move |new: &Metadata, _: &Metadata| {
                if new.name() == "rel-b" && armed.swap(false, Ordering::SeqCst) {
                    go.wait();
                    inside.wait();
                }
                tony_core::Validation::valid()
            })
            .build()
            .unwrap()
    };
    system.initialize().unwrap();
    let accessor = {
        let system = system.clone();
        std::thread::spawn(move || {
            go.wait();
            system
                .with_mut::<B, _>(|b| {
                    inside.wait();
                    // Let the reload take what it can first.
                    std::thread::sleep(Duration::from_millis(100));
                    b.count += system.with::<A, _>(|a| a.count).unwrap() + 1;
                })
                .unwrap();
        })
    };
    let s = system.clone();
    let result = common::within(
        10,
        "reload of rel-a against with_mut<B>{with<A>}",
        move || s.reload_plugin("rel-a"),
    );
    assert!(result.success, "{:?}", result.error);
    accessor.join().unwrap();
    assert_eq!(system.with::<B, _>(|b| b.count).unwrap(), 1);
}

#[test]
fn a_panicking_plugin_drop_during_reload_is_contained() {
    let _serial = bomb_serial();
    let system = bomb();
    BOMB_DROP.store(true, Ordering::SeqCst);
    let result = catch_unwind(AssertUnwindSafe(|| system.reload_plugin("rel-bomb")))
        .expect("the Drop panic reached the caller of reload");
    assert!(result.success, "{:?}", result.error);
    assert_eq!(state_of(&system, "rel-bomb"), PluginState::Active);
    assert_eq!(system.with::<Bomb, _>(|b| b.value).unwrap(), 42);
    bomb_usable(&system);
}

#[test]
fn a_panicking_plugin_drop_during_unload_is_contained() {
    let _serial = bomb_serial();
    let system = bomb();
    BOMB_DROP.store(true, Ordering::SeqCst);
    let unloaded = catch_unwind(AssertUnwindSafe(|| {
        system.unload_plugin("rel-bomb", Unload::Refuse)
    }))
    .expect("the Drop panic reached the caller of unload");
    assert_eq!(unloaded.unwrap(), ["rel-bomb"]);
    assert_eq!(state_of(&system, "rel-bomb"), PluginState::Inactive);
    let s = system.clone();
    common::within(10, "load after a panicking drop", move || {
        s.load_plugin("rel-bomb").unwrap()
    });
    bomb_usable(&system);
}

#[test]
fn a_panicking_plugin_drop_during_a_snapshot_restore_is_contained() {
    let _serial = bomb_serial();
    let system = bomb();
    let snapshot = system.create_state_snapshot("rel-bomb").unwrap();
    system.with_mut::<Bomb, _>(|b| b.value = 7).unwrap();
    BOMB_DROP.store(true, Ordering::SeqCst);
    let result = catch_unwind(AssertUnwindSafe(|| {
        system.restore_state_snapshot(&snapshot)
    }))
    .expect("the Drop panic reached the caller of restore");
    assert!(result.success, "{:?}", result.error);
    assert_eq!(system.with::<Bomb, _>(|b| b.value).unwrap(), 42);
    bomb_usable(&system);
}

#[test]
fn a_panicking_service_drop_is_contained() {
    let _serial = bomb_serial();
    let system = bomb();
    BOMB_SERVICE_DROP.store(true, Ordering::SeqCst);
    let result = catch_unwind(AssertUnwindSafe(|| system.reload_plugin("rel-bomb")))
        .expect("the service's Drop panic reached the caller of reload");
    assert!(result.success, "{:?}", result.error);
    BOMB_SERVICE_DROP.store(true, Ordering::SeqCst);
    catch_unwind(AssertUnwindSafe(|| {
        system.unload_plugin("rel-bomb", Unload::Refuse)
    }))
    .expect("the service's Drop panic reached the caller of unload")
    .unwrap();
    assert_eq!(state_of(&system, "rel-bomb"), PluginState::Inactive);
    system.load_plugin("rel-bomb").unwrap();
    bomb_usable(&system);
    assert!(system.service::<BombService>().is_some());
}

#[test]
fn a_hook_panic_whose_payload_drop_panics_is_contained() {
    let _serial = bomb_serial();
    let system = bomb();
    // Every commit attempt activates once; only the first panics.
    BOMB_BAD_PAYLOAD.store(true, Ordering::SeqCst);
    let result = catch_unwind(AssertUnwindSafe(|| system.reload_plugin("rel-bomb")))
        .expect("the payload's Drop panic reached the caller of reload");
    assert!(
        result.success,
        "retried after the panic: {:?}",
        result.error
    );
    assert_eq!(result.attempts, 2);
    bomb_usable(&system);
}

#[test]
fn a_subscriber_panic_whose_payload_drop_panics_is_contained() {
    let system = ab();
    system.subscribe_all(|_: &Event| std::panic::panic_any(BadPayload));
    catch_unwind(AssertUnwindSafe(|| {
        tony_core::__private::emit(&system, Event::PluginUnloaded { plugin: "x".into() })
    }))
    .expect("the payload's Drop panic reached the emitter");
    let s = system.clone();
    let result = common::within(10, "reload with a panicking subscriber", move || {
        catch_unwind(AssertUnwindSafe(|| s.reload_plugin("rel-a")))
    })
    .expect("the payload's Drop panic reached the caller of reload");
    assert!(result.success, "{:?}", result.error);
}

// ---- re-entrant calls ------------------------------------------------------

#[test]
fn system_calls_from_inside_typed_access_do_not_self_deadlock() {
    let system = ab();
    let s = system.clone();
    common::within(10, "status() inside with", move || {
        s.with::<A, _>(|_| assert_eq!(s.status().len(), 2)).unwrap()
    });
    let s = system.clone();
    common::within(
        10,
        "create_state_snapshot of the same plugin inside with",
        move || {
            s.with::<A, _>(|_| {
                // Works or is refused cleanly; never waits on itself.
                let _ = s.create_state_snapshot("rel-a");
                // Another plugin's snapshot works.
                s.create_state_snapshot("rel-b").unwrap();
            })
            .unwrap()
        },
    );
    let s = system.clone();
    common::within(10, "resolve_dependencies() inside with", move || {
        s.with::<A, _>(|_| assert_eq!(s.resolve_dependencies("rel-b").order, ["rel-a", "rel-b"]))
            .unwrap()
    });
    let s = system.clone();
    common::within(10, "dependency_graph_dot() inside with", move || {
        s.with::<A, _>(|_| assert!(s.dependency_graph_dot().contains("rel-b")))
            .unwrap()
    });
    let s = system.clone();
    common::within(10, "apply_plugin_config() inside with", move || {
        s.with::<A, _>(|_| {
            let file = PluginConfigFile::parse("[plugins.rel-a]\nx = 1\n", "plugins.toml").unwrap();
            // Refused, or a refused reload: anything but waiting on itself.
            if let Ok(Some(result)) = s.apply_plugin_config(file) {
                assert!(!result.success);
            }
        })
        .unwrap()
    });
    // Nothing is left held.
    let s = system.clone();
    common::within(10, "reload after the nested calls", move || {
        assert!(s.reload_plugin("rel-a").success)
    });
}

/// "rel-lookup": provides a service whose `Drop` looks up another service.
#[derive(Default)]
struct Lookup;
struct HostThing;
struct LooksUpOnDrop;
static LOOKUP_SYSTEM: OnceLock<PluginSystem> = OnceLock::new();
static LOOKUPS: AtomicUsize = AtomicUsize::new(0);
impl Drop for LooksUpOnDrop {
    fn drop(&mut self) {
        if let Some(system) = LOOKUP_SYSTEM.get() {
            assert!(system.service::<HostThing>().is_some());
            LOOKUPS.fetch_add(1, Ordering::SeqCst);
        }
    }
}
impl Plugin for Lookup {
    fn activate(&mut self, ctx: &mut Context<'_>) -> Result<(), BoxError> {
        ctx.provide(LooksUpOnDrop)?;
        Ok(())
    }
}
impl PluginType for Lookup {
    const NAME: &'static str = "rel-lookup";
    const STATE_FINGERPRINT: u64 = PluginDescriptor::layout_fingerprint::<Self>();
    fn descriptor() -> PluginDescriptor {
        PluginDescriptor::stateless::<Self>(Metadata::new("rel-lookup", "1.0.0"))
    }
}

#[test]
fn a_service_drop_that_looks_up_a_service_does_not_deadlock() {
    let system = PluginSystem::builder()
        .register_inventory(false)
        .config(common::config())
        .service(HostThing)
        .descriptor(Lookup::descriptor())
        .build()
        .unwrap();
    system.initialize().unwrap();
    let _ = LOOKUP_SYSTEM.set(system.clone());
    let s = system.clone();
    common::within(
        10,
        "unload with a service Drop that looks up a service",
        move || {
            s.unload_plugin("rel-lookup", Unload::Refuse).unwrap();
        },
    );
    assert_eq!(LOOKUPS.load(Ordering::SeqCst), 1);
}

#[test]
fn events_are_delivered_with_no_lock_held() {
    let system = ab();
    // A rendezvous channel: each delivery waits for the consumer, which
    // touches the plugin being reloaded before taking the next event.
    let (tx, rx) = mpsc::sync_channel::<Event>(0);
    let id = system.subscribe_all(tx);
    let consumer = {
        let system = system.clone();
        std::thread::spawn(move || {
            let mut seen = 0;
            for _ in rx {
                system.with::<A, _>(|_| ()).unwrap();
                seen += 1;
            }
            seen
        })
    };
    let s = system.clone();
    let result = common::within(
        10,
        "reload with a blocking sink whose consumer touches the plugin",
        move || s.reload_plugin("rel-a"),
    );
    assert!(result.success, "{:?}", result.error);
    assert!(system.unsubscribe(id));
    assert!(consumer.join().unwrap() >= 2);
}

// ---- lost or wiped state ---------------------------------------------------

mod faulty {
    faulty_plugin!(Faulty, "rel-faulty", "1.0.0");
}
use common::{Hook, Mode};
use faulty::Faulty;

#[test]
fn a_failed_rollback_keeps_the_last_good_state_for_the_next_load() {
    let system = common::system(vec![Faulty::descriptor()]);
    system.initialize().unwrap();
    system.with_mut::<Faulty, _>(|f| f.state.value = 7).unwrap();
    // Three commit attempts and the rollback's reactivation all fail.
    common::inject("rel-faulty", Hook::Activate, Mode::Error, 4);
    let result = system.reload_plugin("rel-faulty");
    assert!(!result.success);
    assert_eq!(result.failed, ["rel-faulty"]);
    assert_eq!(state_of(&system, "rel-faulty"), PluginState::Failed);
    system.load_plugin("rel-faulty").unwrap();
    assert_eq!(system.with::<Faulty, _>(|f| f.state.value).unwrap(), 7);

    // And through a reload.
    common::inject("rel-faulty", Hook::Activate, Mode::Panic, 4);
    assert!(!system.reload_plugin("rel-faulty").success);
    assert_eq!(state_of(&system, "rel-faulty"), PluginState::Failed);
    let result = system.reload_plugin("rel-faulty");
    assert!(result.success, "{:?}", result.error);
    assert_eq!(system.with::<Faulty, _>(|f| f.state.value).unwrap(), 7);
}

/// "rel-plain": a serde plugin without migration.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Plain {
    value: u64,
}
impl Plugin for Plain {
    fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> {
        Ok(())
    }
}
impl PluginType for Plain {
    const NAME: &'static str = "rel-plain";
    const STATE_FINGERPRINT: u64 = PluginDescriptor::layout_fingerprint::<Self>();
    fn descriptor() -> PluginDescriptor {
        PluginDescriptor::serde::<Self>(Metadata::new("rel-plain", "1.0.0"))
    }
}

#[test]
fn restoring_a_snapshot_of_another_layout_without_migration_is_refused() {
    let system = common::system(vec![Plain::descriptor()]);
    system.initialize().unwrap();
    system.with_mut::<Plain, _>(|p| p.value = 99).unwrap();
    let mut snapshot = system.create_state_snapshot("rel-plain").unwrap();
    snapshot.fingerprint ^= 0xdead_beef;
    snapshot.bytes = vec![1, 2, 3];
    let result = system.restore_state_snapshot(&snapshot);
    assert!(!result.success, "restored bytes of another layout");
    assert_eq!(system.with::<Plain, _>(|p| p.value).unwrap(), 99);
    assert_eq!(state_of(&system, "rel-plain"), PluginState::Active);
}

#[test]
fn two_types_with_one_name_and_one_location_are_an_error_naming_both() {
    #[derive(Default)]
    struct First;
    #[derive(Default)]
    struct Second;
    impl Plugin for First {
        fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> {
            Ok(())
        }
    }
    impl Plugin for Second {
        fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> {
            Ok(())
        }
    }
    let meta = || Metadata::new("twin", "1.0.0").with_source(SourceLocation::new("gen.rs", 1));
    let err = Registry::new(
        false,
        vec![
            PluginDescriptor::stateless::<First>(meta()),
            PluginDescriptor::stateless::<Second>(meta()),
        ],
    )
    .expect_err("two types merged into one plugin");
    let msg = err.to_string();
    assert!(msg.contains("First") && msg.contains("Second"), "{msg}");
    // The same type submitted twice from one place is one plugin.
    let once = Registry::new(
        false,
        vec![
            PluginDescriptor::stateless::<First>(meta()),
            PluginDescriptor::stateless::<First>(meta()),
        ],
    )
    .unwrap();
    assert_eq!(once.len(), 1);
}

// A patch whose new fingerprint function panics: rolled back, and the
// plugin reloads afterwards. Hot patches are read from the patch library's
// own description now, so this lives with the other patch tests:
// tests/tests/patch_apply.rs::a_patch_whose_new_fingerprint_fn_panics_is_rolled_back.
