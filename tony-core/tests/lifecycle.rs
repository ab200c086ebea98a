//! Loading, unloading, services, events, status and typed access.
#![allow(clippy::unwrap_used, missing_docs)]

#[macro_use]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};

use tony_core::error::SystemError;
use tony_core::{
    AccessError, BoxError, Context, Event, EventKind, Metadata, Plugin, PluginDescriptor,
    PluginState, PluginType, Unload,
};

/// A service the base plugin provides.
pub struct Greeting(pub String);

#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct Base {
    greeted: u32,
}

impl Plugin for Base {
    fn activate(&mut self, ctx: &mut Context<'_>) -> Result<(), BoxError> {
        ctx.provide(Greeting(format!("hello from tony {}", ctx.tony_version())))?;
        Ok(())
    }
}

impl PluginType for Base {
    const NAME: &'static str = "base";
    const STATE_FINGERPRINT: u64 = PluginDescriptor::layout_fingerprint::<Self>();
    fn descriptor() -> PluginDescriptor {
        PluginDescriptor::serde::<Self>(Metadata::new("base", "1.0.0"))
    }
}

#[derive(Default)]
pub struct User {
    seen: Option<String>,
}

impl Plugin for User {
    fn activate(&mut self, ctx: &mut Context<'_>) -> Result<(), BoxError> {
        let dep = ctx.dependency("base").ok_or("base missing")?;
        assert_eq!(dep.metadata().version().to_string(), "1.0.0");
        self.seen = Some(ctx.service::<Greeting>().ok_or("no greeting")?.0.clone());
        Ok(())
    }
}

impl PluginType for User {
    const NAME: &'static str = "user";
    const STATE_FINGERPRINT: u64 = PluginDescriptor::layout_fingerprint::<Self>();
    fn descriptor() -> PluginDescriptor {
        PluginDescriptor::stateless::<Self>(
            Metadata::new("user", "1.0.0").with_dependency("base", "^1"),
        )
    }
}

simple_plugin!(Lonely, "lonely", "0.1.0");

fn system() -> tony_core::PluginSystem {
    common::system(vec![
        Base::descriptor(),
        User::descriptor(),
        Lonely::descriptor(),
    ])
}

#[test]
fn services_are_owned_and_withdrawn_on_deactivate() {
    let system = system();
    system.initialize().unwrap();
    assert!(
        system
            .service::<Greeting>()
            .unwrap()
            .0
            .starts_with("hello from tony")
    );
    assert!(
        system
            .with::<User, _>(|u| u.seen.clone())
            .unwrap()
            .is_some()
    );

    system.unload_plugin("base", Unload::Cascade).unwrap();
    assert!(
        system.service::<Greeting>().is_none(),
        "service outlived its provider"
    );
    system.load_plugin("user").unwrap(); // loads base first
    assert!(system.service::<Greeting>().is_some());
}

#[test]
fn unload_is_refused_while_dependents_are_active_unless_cascading() {
    let system = system();
    system.initialize().unwrap();
    let err = system.unload_plugin("base", Unload::Refuse).unwrap_err();
    assert!(
        matches!(&err, SystemError::HasDependents { plugin, dependents } if plugin == "base" && dependents == &["user"])
    );
    assert!(err.to_string().contains("user"));
    assert_eq!(state(&system, "base"), PluginState::Active);

    let unloaded = system.unload_plugin("base", Unload::Cascade).unwrap();
    assert_eq!(unloaded, ["user", "base"], "dependents go first");
    assert_eq!(state(&system, "base"), PluginState::Inactive);
    assert_eq!(state(&system, "user"), PluginState::Inactive);
    assert_eq!(state(&system, "lonely"), PluginState::Active);
    assert!(matches!(
        system.unload_plugin("base", Unload::Refuse),
        Err(SystemError::NotActive { .. })
    ));
}

fn state(system: &tony_core::PluginSystem, name: &str) -> PluginState {
    system
        .status()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap()
        .state
}

#[test]
fn status_lists_every_plugin_with_version_state_and_source() {
    let system = system();
    let before = system.status();
    assert_eq!(
        before.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["base", "lonely", "user"]
    );
    assert!(before.iter().all(|s| s.state == PluginState::Registered));
    system.initialize().unwrap();
    let base = system
        .status()
        .into_iter()
        .find(|s| s.name == "base")
        .unwrap();
    assert_eq!(base.version.to_string(), "1.0.0");
    assert!(
        base.source.file.ends_with("lifecycle.rs"),
        "{}",
        base.source
    );
    assert_eq!(
        system.plugins_in_file(std::path::Path::new(&*base.source.file)),
        ["base", "lonely", "user"]
    );
}

#[test]
fn typed_access_errors() {
    let system = system();
    assert!(matches!(
        system.with::<Base, _>(|_| ()),
        Err(AccessError::NotActive { .. })
    ));
    system.initialize().unwrap();
    system.with_mut::<Base, _>(|b| b.greeted = 7).unwrap();
    assert_eq!(system.with::<Base, _>(|b| b.greeted).unwrap(), 7);
    let nested = system
        .with::<Base, _>(|_| system.with::<Base, _>(|_| ()))
        .unwrap();
    assert!(matches!(nested, Err(AccessError::Reentrant(_))));
    let reload_inside = system
        .with::<Base, _>(|_| system.reload_plugin("base"))
        .unwrap();
    assert!(
        !reload_inside.success,
        "a reload from inside typed access must be refused, not deadlock"
    );
    let other = common::system(vec![]);
    assert!(matches!(
        other.with::<Base, _>(|_| ()),
        Err(AccessError::Unknown(_))
    ));
}

#[test]
fn subscriptions_per_kind_and_wildcard() {
    let system = system();
    let (all_tx, all_rx) = mpsc::channel();
    let (kind_tx, kind_rx) = mpsc::channel();
    let counted = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&counted);
    system.subscribe_all(all_tx);
    system.subscribe(EventKind::ReloadCompleted, kind_tx);
    let id = system.subscribe(EventKind::PluginLoaded, move |_: &Event| {
        c.fetch_add(1, Ordering::SeqCst);
    });
    system.initialize().unwrap();
    assert_eq!(counted.load(Ordering::SeqCst), 3);
    assert!(system.unsubscribe(id));
    assert!(!system.unsubscribe(id));

    let result = system.reload_plugin("base");
    assert!(result.success, "{:?}", result.error);
    let kinds: Vec<EventKind> = all_rx.try_iter().map(|e| e.kind()).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == EventKind::PluginLoaded)
            .count(),
        3
    );
    for k in [
        EventKind::ReloadStarted,
        EventKind::StatePreserved,
        EventKind::StateRestored,
        EventKind::ReloadCompleted,
    ] {
        assert!(kinds.contains(&k), "{k:?} missing from {kinds:?}");
    }
    let only: Vec<Event> = kind_rx.try_iter().collect();
    assert_eq!(only.len(), 1);
    let Event::ReloadCompleted(r) = &only[0] else {
        panic!()
    };
    assert_eq!(r.plugin, "base");
    assert_eq!(r.dependents_reloaded, ["user"]);
    system.load_plugin("lonely").unwrap();
    assert_eq!(
        counted.load(Ordering::SeqCst),
        3,
        "unsubscribed sink still called"
    );
}

#[test]
fn a_panicking_subscriber_breaks_nothing() {
    let system = system();
    let (tx, rx) = mpsc::channel();
    system.subscribe_all(|_: &Event| panic!("subscriber bug"));
    system.subscribe_all(tx);
    system.initialize().unwrap();
    assert!(system.reload_plugin("base").success);
    assert!(
        rx.try_iter()
            .any(|e| e.kind() == EventKind::ReloadCompleted),
        "later subscribers still served"
    );
}

#[test]
fn activation_failure_marks_failed_and_skips_dependents() {
    #[derive(Default)]
    struct Broken;
    impl Plugin for Broken {
        fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> {
            panic!("boom at start")
        }
    }
    let system = common::system(vec![
        PluginDescriptor::stateless::<Broken>(Metadata::new("base", "1.0.0")),
        User::descriptor(),
    ]);
    let err = system.initialize().unwrap_err();
    let SystemError::Incomplete { failed, skipped } = &err else {
        panic!("{err}")
    };
    assert_eq!(failed[0].0, "base");
    assert!(failed[0].1.contains("boom at start"), "{err}");
    assert_eq!(skipped, &["user"]);
    let status = system.status();
    assert_eq!(status[0].state, PluginState::Failed);
    assert!(
        status[0]
            .error
            .as_deref()
            .unwrap()
            .contains("boom at start")
    );
}

pub struct SlowService;

/// Provides its service late in `activate`, leaving a window in every reload.
#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct Slow;

impl Plugin for Slow {
    fn activate(&mut self, ctx: &mut Context<'_>) -> Result<(), BoxError> {
        std::thread::sleep(std::time::Duration::from_micros(200));
        ctx.provide(SlowService)?;
        Ok(())
    }
}

impl PluginType for Slow {
    const NAME: &'static str = "slow";
    const STATE_FINGERPRINT: u64 = PluginDescriptor::layout_fingerprint::<Self>();
    fn descriptor() -> PluginDescriptor {
        PluginDescriptor::serde::<Self>(Metadata::new("slow", "1.0.0"))
    }
}

#[test]
fn services_never_vanish_for_callers_during_a_reload() {
    let system = common::system(vec![Slow::descriptor()]);
    system.initialize().unwrap();
    let looking = std::sync::atomic::AtomicBool::new(false);
    let reloads = AtomicUsize::new(0);
    std::thread::scope(|s| {
        s.spawn(|| {
            // Start once the lookups run, so that every reload overlaps them.
            while !looking.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
            for _ in 0..100 {
                assert!(system.reload_plugin("slow").success);
                reloads.fetch_add(1, Ordering::SeqCst);
            }
        });
        s.spawn(|| {
            while reloads.load(Ordering::SeqCst) < 100 {
                assert!(
                    system.service::<SlowService>().is_some(),
                    "service missing mid-reload"
                );
                looking.store(true, Ordering::SeqCst);
            }
        });
    });
}
