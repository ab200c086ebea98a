//! Restoring from arbitrary bytes returns an error or a valid state, and
//! never panics.
#![allow(clippy::unwrap_used, missing_docs)]

#[macro_use]
mod common;

use proptest::prelude::*;
use tony_core::{PluginSystem, PluginType, Snapshot, Stage};

#[derive(Default, Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Rich {
    name: String,
    values: Vec<u64>,
    nested: Option<(i32, Vec<String>)>,
    flag: bool,
}

impl tony_core::Plugin for Rich {
    fn activate(&mut self, _: &mut tony_core::Context<'_>) -> Result<(), tony_core::BoxError> {
        Ok(())
    }
}

impl PluginType for Rich {
    const NAME: &'static str = "rich";
    const STATE_FINGERPRINT: u64 = tony_core::PluginDescriptor::layout_fingerprint::<Self>();
    fn descriptor() -> tony_core::PluginDescriptor {
        tony_core::PluginDescriptor::serde::<Self>(tony_core::Metadata::new("rich", "1.0.0"))
    }
}

fn system() -> (PluginSystem, Snapshot) {
    let system = common::system(vec![Rich::descriptor()]);
    system.initialize().unwrap();
    system
        .with_mut::<Rich, _>(|r| {
            *r = Rich {
                name: "tony".into(),
                values: vec![1, 2, 3, u64::MAX],
                nested: Some((-5, vec!["a".into()])),
                flag: true,
            }
        })
        .unwrap();
    let snap = system.create_state_snapshot("rich").unwrap();
    (system, snap)
}

fn restore_is_clean(
    system: &PluginSystem,
    snap: &Snapshot,
    bytes: Vec<u8>,
) -> Result<(), TestCaseError> {
    let before = system.with::<Rich, _>(Rich::clone).unwrap();
    let mut s = snap.clone();
    s.bytes = bytes;
    let result = system.restore_state_snapshot(&s);
    let after = system.with::<Rich, _>(Rich::clone);
    prop_assert!(after.is_ok(), "plugin lost: {:?}", after);
    // On success the plugin holds whatever the bytes decoded to: a valid
    // `Rich` by construction. On failure it must hold what it held before.
    if !result.success {
        prop_assert_eq!(result.error.unwrap().stage, Stage::Restore);
        prop_assert_eq!(after.unwrap(), before);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let (system, snap) = system();
        restore_is_clean(&system, &snap, bytes)?;
    }

    #[test]
    fn truncated_snapshots(cut in 0usize..64) {
        let (system, snap) = system();
        let mut bytes = snap.bytes.clone();
        bytes.truncate(cut.min(bytes.len().saturating_sub(1)));
        restore_is_clean(&system, &snap, bytes)?;
    }

    #[test]
    fn flipped_snapshots(at in 0usize..64, bit in 0u8..8) {
        let (system, snap) = system();
        let mut bytes = snap.bytes.clone();
        let i = at % bytes.len();
        bytes[i] ^= 1 << bit;
        restore_is_clean(&system, &snap, bytes)?;
    }
}
