//! `PluginSystem::try_lend`: the loan an async host takes, which refuses
//! (`AccessError::Busy`) instead of waiting for a transaction, and whose
//! type and layout the borrower checks.
#![allow(clippy::unwrap_used, missing_docs)]

#[macro_use]
mod common;

use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use tony_core::{AccessError, BoxError, PluginDescriptor, PluginSystem, PluginType, Swap, Unload};

mod a {
    faulty_plugin!(A, "t-a", "1.0.0");
}
mod b {
    faulty_plugin!(B, "t-b", "1.0.0");
}
use a::A;
use b::B;

fn system() -> Arc<PluginSystem> {
    let system = common::system(vec![A::descriptor(), B::descriptor()]);
    system.initialize().unwrap();
    Arc::new(system)
}

/// A reload's swap step that says it got there, then waits to be let go:
/// the reload holds its plugins meanwhile.
struct Brake {
    inside: mpsc::Sender<()>,
    go: mpsc::Receiver<()>,
}

impl Swap for Brake {
    fn apply(&mut self) -> Result<(), BoxError> {
        self.inside.send(())?;
        self.go.recv_timeout(Duration::from_secs(10))?;
        Ok(())
    }

    fn undo(&mut self) -> Result<(), BoxError> {
        Ok(())
    }
}

#[test]
fn a_plugin_under_reload_is_busy_and_the_others_are_lent() {
    let system = system();
    let (inside_tx, inside) = mpsc::channel();
    let (go, go_rx) = mpsc::channel();
    let reload = thread::spawn({
        let system = Arc::clone(&system);
        let mut brake = Brake {
            inside: inside_tx,
            go: go_rx,
        };
        move || system.reload_with(&["t-a"], &mut brake)
    });
    inside.recv_timeout(Duration::from_secs(10)).unwrap();
    let s = Arc::clone(&system);
    let (a, b) = common::within(10, "try_lend during a reload", move || {
        let a = s.try_lend("t-a", |_| ());
        let b = s.try_lend("t-b", |mut l| l.get_mut::<B>().map(|b| b.state.value += 1));
        (a, b)
    });
    assert_eq!(a, Err(AccessError::Busy("t-a".into())));
    assert_eq!(b, Ok(Ok(())));
    go.send(()).unwrap();
    assert!(reload.join().unwrap().success);
    let after = system.try_lend("t-a", |l| l.get::<A>().map(|a| a.active));
    assert_eq!(after, Ok(Ok(true)));
    // Loans granted are counted; the refused one and typed access are not.
    system.with::<A, _>(|_| ()).unwrap();
    let loans: Vec<(String, u64)> = (system.status().into_iter())
        .map(|s| (s.name, s.loans))
        .collect();
    assert_eq!(loans, [("t-a".into(), 1), ("t-b".into(), 1)]);
}

/// A reload waiting for another thread's access has reserved the plugin: a
/// loan asked for then is refused, even once that access has ended and
/// before the reload has taken the plugin.
#[test]
fn a_plugin_a_pending_reload_waits_for_is_busy() {
    let system = system();
    let (held_tx, held_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let holder = thread::spawn({
        let system = Arc::clone(&system);
        move || {
            system
                .with_mut::<A, _>(|a| {
                    held_tx.send(()).unwrap();
                    let _ = go_rx.recv_timeout(Duration::from_secs(10));
                    a.state.value += 1;
                })
                .unwrap();
        }
    });
    held_rx.recv().unwrap();
    let reload = thread::spawn({
        let system = Arc::clone(&system);
        move || system.reload_plugin("t-a")
    });
    // Let the reload reserve `t-a` and wait for the holder; the holder lets
    // go a little later on its own, whatever the loan below does.
    thread::sleep(Duration::from_millis(50));
    let releaser = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        let _ = go_tx.send(());
    });
    let s = Arc::clone(&system);
    let lent = common::within(10, "try_lend of a reserved plugin", move || {
        s.try_lend("t-a", |_| ())
    });
    assert_eq!(lent, Err(AccessError::Busy("t-a".into())));
    releaser.join().unwrap();
    holder.join().unwrap();
    let r = reload.join().unwrap();
    assert!(r.success && r.state_preserved, "{r:?}");
    assert_eq!(system.with::<A, _>(|a| a.state.value), Ok(1));
}

/// Another type of the same name, compiled against another layout: what
/// code from before a hot patch that changed the struct looks like.
#[derive(Default)]
struct StaleA;
impl tony_core::Plugin for StaleA {
    fn activate(&mut self, _: &mut tony_core::Context<'_>) -> Result<(), BoxError> {
        Ok(())
    }
}
impl PluginType for StaleA {
    const NAME: &'static str = "t-a";
    const STATE_FINGERPRINT: u64 = A::STATE_FINGERPRINT ^ 1;
    fn descriptor() -> PluginDescriptor {
        A::descriptor()
    }
}

#[test]
fn the_borrower_checks_type_and_layout() {
    let system = system();
    let out = system
        .try_lend("t-a", |mut l| {
            assert_eq!(l.name(), "t-a");
            assert!(matches!(
                l.get::<StaleA>(),
                Err(AccessError::StaleLayout { ref plugin, expected, live })
                    if plugin == "t-a" && expected == StaleA::STATE_FINGERPRINT
                        && live == A::STATE_FINGERPRINT
            ));
            assert!(matches!(
                l.get_mut::<B>(),
                Err(AccessError::StaleLayout { .. } | AccessError::WrongType { .. })
            ));
            l.get_mut::<A>().unwrap().state.value = 7;
            format!("{l:?}")
        })
        .unwrap();
    assert!(out.contains("t-a"), "{out}");
    assert_eq!(system.with::<A, _>(|a| a.state.value), Ok(7));
    assert_eq!(
        system.try_lend("t-none", |_| ()),
        Err(AccessError::Unknown("t-none".into()))
    );
    system.unload_plugin("t-a", Unload::Refuse).unwrap();
    assert!(matches!(
        system.try_lend("t-a", |_| ()),
        Err(AccessError::NotActive { .. })
    ));
}

#[test]
fn loans_nest_like_typed_access() {
    let system = system();
    let s = Arc::clone(&system);
    common::within(10, "nested loans", move || {
        let inner = s.with_mut::<A, _>(|_| s.try_lend("t-a", |_| ())).unwrap();
        assert_eq!(inner, Err(AccessError::Reentrant("t-a".into())));
        let inner = s.try_lend("t-a", |_| s.with::<A, _>(|_| ())).unwrap();
        assert_eq!(inner, Err(AccessError::Reentrant("t-a".into())));
        let other = s.try_lend("t-a", |_| s.try_lend("t-b", |l| l.get::<B>().is_ok()));
        assert_eq!(other, Ok(Ok(true)));
    });
}

#[test]
fn a_panicking_borrower_lets_the_plugin_go() {
    let system = system();
    let s = Arc::clone(&system);
    let panicked = thread::spawn(move || s.try_lend("t-a", |_| -> () { panic!("borrower") }))
        .join()
        .is_err();
    assert!(panicked);
    let s = Arc::clone(&system);
    common::within(10, "a loan after a panic", move || {
        assert_eq!(s.try_lend("t-a", |_| ()), Ok(()));
        assert!(s.reload_plugin("t-a").success);
    });
}
