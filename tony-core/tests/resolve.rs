//! Registry and resolver: order, conflicts that name their culprits,
//! optional dependencies, duplicates, inventory, DOT.
#![allow(clippy::unwrap_used, missing_docs)]

#[macro_use]
mod common;

use tony_core::error::{RegistryError, SystemError};
use tony_core::{
    Conflict, Metadata, PluginDescriptor, PluginState, PluginSystem, PluginType, Registry,
};

mod diamond {
    simple_plugin!(A, "a", "1.0.0");
    simple_plugin!(B, "b", "1.0.0", dep "a" "^1");
    simple_plugin!(C, "c", "1.0.0", dep "a" "^1");
    simple_plugin!(D, "d", "1.0.0", dep "c" "^1", dep "b" "^1");
}

fn diamond() -> Vec<PluginDescriptor> {
    // deliberately not in dependency order
    vec![
        diamond::D::descriptor(),
        diamond::C::descriptor(),
        diamond::A::descriptor(),
        diamond::B::descriptor(),
    ]
}

#[test]
fn diamond_resolves_dependencies_first() {
    let system = common::system(diamond());
    let r = system.resolve_dependencies("d");
    assert!(r.success(), "{:?}", r.conflicts);
    assert_eq!(r.order, ["a", "b", "c", "d"]);
    assert_eq!(system.resolve_dependencies("b").order, ["a", "b"]);

    let (tx, rx) = std::sync::mpsc::channel();
    system.subscribe(tony_core::EventKind::PluginLoaded, tx);
    system.initialize().unwrap();
    let loaded: Vec<String> = rx
        .try_iter()
        .map(|e| match e {
            tony_core::Event::PluginLoaded { plugin, .. } => plugin,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(loaded, ["a", "b", "c", "d"]);
}

mod broken {
    simple_plugin!(NeedsMissing, "needs-missing", "1.0.0", dep "ghost" "^2.1");
    simple_plugin!(Old, "old", "1.4.0");
    simple_plugin!(NeedsNew, "needs-new", "1.0.0", dep "old" ">=2.0.0");
    simple_plugin!(X, "x", "1.0.0", dep "y" "*");
    simple_plugin!(Y, "y", "1.0.0", dep "z" "*");
    simple_plugin!(Z, "z", "1.0.0", dep "x" "*");
    simple_plugin!(Fine, "fine", "1.0.0");
}

#[test]
fn each_conflict_names_its_culprits() {
    use broken::*;
    let system = common::system(vec![
        NeedsMissing::descriptor(),
        Old::descriptor(),
        NeedsNew::descriptor(),
        X::descriptor(),
        Y::descriptor(),
        Z::descriptor(),
        Fine::descriptor(),
        PluginDescriptor::stateless::<Fine>(
            Metadata::new("future", "1.0.0").with_min_tony_version("99.0.0"),
        ),
    ]);

    let r = system.resolve_dependencies("needs-missing");
    assert_eq!(
        r.conflicts,
        [Conflict::Missing {
            plugin: "needs-missing".into(),
            dependency: "ghost".into(),
            required: "^2.1".parse().unwrap()
        }]
    );
    let msg = r.conflicts[0].to_string();
    assert!(
        msg.contains("needs-missing") && msg.contains("ghost") && msg.contains("^2.1"),
        "{msg}"
    );

    let r = system.resolve_dependencies("needs-new");
    let msg = r.conflicts[0].to_string();
    assert!(matches!(r.conflicts[0], Conflict::Version { .. }));
    assert!(
        msg.contains("needs-new") && msg.contains(">=2.0.0") && msg.contains("1.4.0"),
        "{msg}"
    );

    let r = system.resolve_dependencies("x");
    assert_eq!(
        r.conflicts,
        [Conflict::Cycle {
            path: vec!["x".into(), "y".into(), "z".into(), "x".into()]
        }]
    );
    assert!(r.conflicts[0].to_string().contains("x -> y -> z -> x"));

    let r = system.resolve_dependencies("future");
    assert!(matches!(&r.conflicts[0], Conflict::TonyVersion { plugin, .. } if plugin == "future"));
    assert!(r.conflicts[0].to_string().contains("99.0.0"));

    // A batch load keeps going and reports everything it left undone.
    let err = system.initialize().unwrap_err();
    let SystemError::Incomplete { failed, .. } = &err else {
        panic!("{err}")
    };
    let failed: Vec<&str> = failed.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        failed,
        ["future", "needs-missing", "needs-new", "x", "y", "z"]
    );
    let active: Vec<String> = system
        .status()
        .into_iter()
        .filter(|s| s.state == PluginState::Active)
        .map(|s| s.name)
        .collect();
    assert_eq!(active, ["fine", "old"]);

    // A single load gives the typed resolver error.
    let err = system.load_plugin("needs-missing").unwrap_err();
    assert!(
        matches!(err, SystemError::Resolve(ref e) if e.plugin == "needs-missing"),
        "{err}"
    );
}

mod optional {
    simple_plugin!(Utils, "utils", "1.5.0");
    simple_plugin!(Wants, "wants", "1.0.0", optional "utils" ">=2.0.0", optional "absent" "*");

    #[derive(Default)]
    pub struct Probe;
    impl tony_core::Plugin for Probe {
        fn activate(
            &mut self,
            ctx: &mut tony_core::Context<'_>,
        ) -> Result<(), tony_core::BoxError> {
            // present but out of range: treated as absent
            if ctx.dependency("utils").is_some() || ctx.dependency("absent").is_some() {
                return Err("optional dependency out of range was wired".into());
            }
            Ok(())
        }
    }
}

#[test]
fn optional_dependencies_absent_or_out_of_range_are_left_out() {
    let probe = PluginDescriptor::stateless::<optional::Probe>(
        Metadata::new("probe", "1.0.0")
            .with_optional_dependency("utils", ">=2.0.0")
            .with_optional_dependency("absent", "*"),
    );
    let system = common::system(vec![
        optional::Utils::descriptor(),
        optional::Wants::descriptor(),
        probe,
    ]);
    let r = system.resolve_dependencies("wants");
    assert!(r.success());
    assert_eq!(
        r.order,
        ["wants"],
        "an out-of-range optional dependency is not ordered before"
    );
    assert_eq!(r.ignored.len(), 1);
    assert_eq!(
        (r.ignored[0].0.as_str(), r.ignored[0].1.as_str()),
        ("wants", "utils")
    );
    system.initialize().unwrap(); // probe's activate checks dependency() is None
}

#[test]
fn optional_dependency_in_range_is_ordered_and_reachable() {
    simple_plugin!(U2, "utils", "2.1.0");
    let system = common::system(vec![optional::Wants::descriptor(), U2::descriptor()]);
    assert_eq!(
        system.resolve_dependencies("wants").order,
        ["utils", "wants"]
    );
}

#[test]
fn duplicate_names_name_both_locations() {
    simple_plugin!(P, "same", "1.0.0");
    let first = PluginDescriptor::stateless::<P>(Metadata::new("same", "1.0.0"));
    let second = PluginDescriptor::stateless::<P>(Metadata::new("same", "2.0.0"));
    let (l1, l2) = (
        first.metadata().source().clone(),
        second.metadata().source().clone(),
    );
    let err = Registry::new(false, vec![second, first]).unwrap_err();
    let RegistryError::Duplicate {
        name,
        first,
        second,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(name, "same");
    assert_eq!((first, second), (&l1, &l2));
    let msg = err.to_string();
    assert!(
        msg.contains(&l1.to_string()) && msg.contains(&l2.to_string()),
        "{msg}"
    );
}

#[test]
fn invalid_metadata_is_refused_with_location() {
    simple_plugin!(P, "p", "1.0.0");
    let err = Registry::new(
        false,
        vec![PluginDescriptor::stateless::<P>(Metadata::new(
            "p",
            "not-semver",
        ))],
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("`p`") && msg.contains("not-semver") && msg.contains("resolve.rs"),
        "{msg}"
    );
}

// Registration through inventory, as `#[tony_plugin]` does it.
simple_plugin!(Submitted, "submitted-by-hand", "3.1.4");
fn submitted_code() -> &'static tony_core::__private::Generated {
    use tony_core::__private as p;
    static CODE: p::Generated = p::Generated {
        metadata: p::MetadataParts {
            name: "submitted-by-hand",
            version: "3.1.4",
            description: "",
            min_tony_version: None,
            dependencies: &[],
            state_version: 0,
            file: file!(),
            line: line!(),
        },
        vtable: p::VTable {
            fingerprints: p::fingerprints::<Submitted>,
            create: p::create::<Submitted>,
            save: p::stateless_save,
            load: p::stateless_load::<Submitted>,
            migrate: p::stateless_migrate::<Submitted>,
            check_config: None,
        },
    };
    &CODE
}
tony_core::__private::inventory::submit! {
    tony_core::__private::Registration::new(
        submitted_code,
        std::any::TypeId::of::<Submitted>,
        &tony_core::__private::StructCode {
            name: "submitted-by-hand",
            crate_name: "resolve",
            bin_name: None,
            code: 1,
            state: 2,
        },
    )
}

#[test]
fn inventory_registrations_are_collected_sorted() {
    let registry = Registry::new(true, diamond()).unwrap();
    let names: Vec<&str> = registry.names().collect();
    assert!(names.contains(&"submitted-by-hand"), "{names:?}");
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    assert_eq!(
        registry
            .get("submitted-by-hand")
            .unwrap()
            .metadata()
            .version()
            .to_string(),
        "3.1.4"
    );
    let system = PluginSystem::builder()
        .config(common::config())
        .build()
        .unwrap();
    system.load_plugin("submitted-by-hand").unwrap();
}

#[test]
fn graph_exports_as_dot() {
    let system = common::system(diamond());
    let dot = system.dependency_graph_dot();
    assert!(dot.starts_with("digraph"));
    for edge in [
        "\"b\" -> \"a\"",
        "\"c\" -> \"a\"",
        "\"d\" -> \"b\"",
        "\"d\" -> \"c\"",
    ] {
        assert!(dot.contains(edge), "{edge} missing in\n{dot}");
    }
}
