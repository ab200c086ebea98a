//! A new version of a `#[tony_plugin]` type presented through the public
//! API (`PluginDescriptor::with_metadata` + `replace_descriptors`): same
//! code, new metadata. The state, typed access and the hot methods must
//! all survive; a version its dependents refuse must change nothing.
#![allow(clippy::unwrap_used)]

use serde::{Deserialize, Serialize};
use tony_core::semver::Version;
use tony_core::{
    BoxError, Context, Plugin, PluginDescriptor, PluginSystem, PluginType, Stage, tony_plugin,
};

#[tony_plugin(name = "nv-base", version = "1.0.0")]
#[derive(Default, Serialize, Deserialize)]
struct Base {
    count: u64,
}

#[tony_plugin]
impl Base {
    fn bump(&mut self) -> u64 {
        self.count += 1;
        self.count
    }
}

impl Plugin for Base {
    fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> {
        Ok(())
    }
}

#[tony_plugin(name = "nv-user", version = "1.0.0", dependencies("nv-base" = "^1"))]
#[derive(Default, Serialize, Deserialize)]
struct User;

impl Plugin for User {
    fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> {
        Ok(())
    }
}

fn version_of(system: &PluginSystem, name: &str) -> Version {
    system
        .status()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap()
        .version
}

/// `Base`'s descriptor with its version set to `v`.
fn base_at(v: &str) -> PluginDescriptor {
    let d = Base::descriptor();
    let m = d.metadata().clone().with_version(v);
    d.with_metadata(m)
}

#[test]
fn a_new_version_keeps_code_state_and_typed_access() {
    let system = PluginSystem::builder().build().unwrap();
    system.initialize().unwrap();
    let fingerprints_before = system
        .status()
        .into_iter()
        .find(|s| s.name == "nv-base")
        .unwrap()
        .fingerprints;
    system.with_mut::<Base, _>(|b| b.count = 41).unwrap();

    let result = system.replace_descriptors(vec![base_at("1.1.0")]);
    assert!(result.success, "{:?}", result.error);
    assert!(result.state_preserved, "{:?}", result.state_note());
    assert_eq!(result.new_version, Some(Version::new(1, 1, 0)));
    assert_eq!(result.dependents_reloaded, ["nv-user"]);
    assert_eq!(version_of(&system, "nv-base"), Version::new(1, 1, 0));
    // Same code and layout: typed access and the hot method still reach it.
    assert_eq!(system.with_mut::<Base, _>(|b| b.bump()).unwrap(), 42);
    let after = system
        .status()
        .into_iter()
        .find(|s| s.name == "nv-base")
        .unwrap();
    assert_eq!(after.fingerprints, fingerprints_before);

    // A version its dependent refuses: nothing changes.
    let refused = system.replace_descriptors(vec![base_at("2.0.0")]);
    assert!(!refused.success);
    let error = refused.error.unwrap();
    assert_eq!(error.stage, Stage::Validate);
    assert!(error.message.contains("nv-user"), "{error}");
    assert_eq!(version_of(&system, "nv-base"), Version::new(1, 1, 0));
    assert_eq!(system.with::<Base, _>(|b| b.count).unwrap(), 42);
}
