//! Typed access through per-plugin slots: what each thread remembers of a
//! name stays right when the type is removed and added again, systems do
//! not share holds, an access waits for another on the plugin's own lock,
//! cycles through several holders are refused, and a closure that panics
//! leaves the plugin usable.
#![allow(clippy::unwrap_used, missing_docs)]

#[macro_use]
mod common;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use tony_core::{
    AccessError, BoxError, Context, Metadata, Plugin, PluginDescriptor, PluginState, PluginSystem,
    PluginType,
};

macro_rules! counter {
    ($ty:ident, $name:literal) => {
        #[derive(Default, serde::Serialize, serde::Deserialize)]
        struct $ty {
            n: u64,
        }
        impl Plugin for $ty {
            fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> {
                Ok(())
            }
        }
        impl PluginType for $ty {
            const NAME: &'static str = $name;
            const STATE_FINGERPRINT: u64 = PluginDescriptor::layout_fingerprint::<Self>();
            fn descriptor() -> PluginDescriptor {
                PluginDescriptor::serde::<Self>(Metadata::new($name, "1.0.0"))
            }
        }
    };
}

counter!(X, "slot-x");
counter!(Y, "slot-y");
counter!(Z, "slot-z");

fn system() -> PluginSystem {
    let system = common::system(vec![X::descriptor(), Y::descriptor(), Z::descriptor()]);
    system.initialize().unwrap();
    system
}

#[test]
fn a_removed_type_is_unknown_and_is_reached_again_once_it_is_back() {
    let system = system();
    // This thread now remembers which slot "slot-x" has.
    system.with_mut::<X, _>(|x| x.n = 7).unwrap();
    system.remove_plugin_types(&["slot-x"]).unwrap();
    assert!(matches!(
        system.with::<X, _>(|x| x.n),
        Err(AccessError::Unknown(_))
    ));
    assert!(system.status().iter().all(|s| s.name != "slot-x"));
    system.add_plugin_types(vec![X::descriptor()]).unwrap();
    // A new instance, in the same slot.
    assert_eq!(system.with::<X, _>(|x| x.n).unwrap(), 0);
    assert_eq!(
        system
            .status()
            .iter()
            .filter(|s| s.name == "slot-x" && s.state == PluginState::Active)
            .count(),
        1
    );
    // Other threads, which never looked it up, find it too.
    let s = system.clone();
    assert_eq!(
        std::thread::spawn(move || s.with::<X, _>(|x| x.n).unwrap())
            .join()
            .unwrap(),
        0
    );
}

#[test]
fn two_systems_lend_their_own_instance_of_one_type_nested() {
    let (one, two) = (system(), system());
    one.with_mut::<X, _>(|x| x.n = 1).unwrap();
    two.with_mut::<X, _>(|x| x.n = 2).unwrap();
    let seen = one
        .with::<X, _>(|a| two.with::<X, _>(|b| (a.n, b.n)).unwrap())
        .unwrap();
    assert_eq!(seen, (1, 2));
}

#[test]
fn an_access_waits_for_another_threads_access_and_sees_its_write() {
    let system = system();
    let inside = Arc::new(Barrier::new(2));
    let holder = {
        let (system, inside) = (system.clone(), Arc::clone(&inside));
        std::thread::spawn(move || {
            system
                .with_mut::<X, _>(|x| {
                    inside.wait();
                    std::thread::sleep(Duration::from_millis(100));
                    x.n += 1;
                })
                .unwrap();
        })
    };
    inside.wait();
    let started = Instant::now();
    let s = system.clone();
    let n = common::within(10, "with<X> while another thread holds X", move || {
        s.with_mut::<X, _>(|x| {
            x.n += 1;
            x.n
        })
        .unwrap()
    });
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert_eq!(n, 2);
    holder.join().unwrap();
}

#[test]
fn a_cycle_through_three_holders_is_refused() {
    let system = system();
    let all_in = Arc::new(Barrier::new(3));
    let s = system.clone();
    let outcomes = common::within(10, "X->Y, Y->Z, Z->X", move || {
        std::thread::scope(|scope| {
            let x = scope.spawn(|| common::hold_then_want::<X, Y>(&s, &all_in));
            let y = scope.spawn(|| common::hold_then_want::<Y, Z>(&s, &all_in));
            let z = scope.spawn(|| common::hold_then_want::<Z, X>(&s, &all_in));
            [x.join().unwrap(), y.join().unwrap(), z.join().unwrap()]
        })
    });
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Err(AccessError::WouldDeadlock(_)))),
        "{outcomes:?}"
    );
    assert!(outcomes.iter().any(Result::is_ok), "{outcomes:?}");
    // Nothing is left held.
    let s = system.clone();
    common::within(10, "a reload of all three afterwards", move || {
        assert!(s.reload_plugin("slot-x").success);
        assert!(s.reload_plugin("slot-y").success);
        assert!(s.reload_plugin("slot-z").success);
    });
}

#[test]
fn a_closure_that_panics_leaves_the_plugin_usable_from_any_thread() {
    let system = system();
    let s = system.clone();
    let panicked = std::thread::spawn(move || {
        s.with_mut::<X, _>(|x| {
            x.n = 3;
            panic!("in a typed-access closure");
        })
    })
    .join();
    assert!(panicked.is_err());
    // As a `Mutex` that does not poison: the write stays.
    let s = system.clone();
    let n = common::within(10, "with<X> after a panic", move || {
        s.with::<X, _>(|x| x.n).unwrap()
    });
    assert_eq!(n, 3);
    let s = system.clone();
    common::within(10, "reload after a panic", move || {
        assert!(s.reload_plugin("slot-x").success)
    });
    assert_eq!(system.with::<X, _>(|x| x.n).unwrap(), 3);
}
