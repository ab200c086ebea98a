//! Fingerprints of real expansions, read back at run time from a
//! `PluginSystem`: identical sources give identical fingerprints; a changed
//! method body changes the code fingerprint only; a changed field changes
//! both.
//!
//! Each module below is one version of the same plugin's source (same type
//! name, same attribute), compiled side by side. The pure functions behind
//! these values are unit-tested in `src/fingerprint.rs`.

use tony_core::{Fingerprints, PluginSystem, PluginType};

mod original {
    use serde::{Deserialize, Serialize};
    use tony_core::{BoxError, Context, Plugin, tony_plugin};

    /// Counts.
    #[tony_plugin(name = "twin", version = "1.0.0")]
    #[derive(Default, Serialize, Deserialize)]
    pub struct Twin {
        count: u64,
    }

    #[tony_plugin]
    impl Plugin for Twin {
        fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
            self.count += 1;
            Ok(())
        }
    }
}

/// Character for character the same as `original`.
mod copy {
    use serde::{Deserialize, Serialize};
    use tony_core::{BoxError, Context, Plugin, tony_plugin};

    /// Counts.
    #[tony_plugin(name = "twin", version = "1.0.0")]
    #[derive(Default, Serialize, Deserialize)]
    pub struct Twin {
        count: u64,
    }

    #[tony_plugin]
    impl Plugin for Twin {
        fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
            self.count += 1;
            Ok(())
        }
    }
}

/// `original` with another body in `activate`.
mod body_edited {
    use serde::{Deserialize, Serialize};
    use tony_core::{BoxError, Context, Plugin, tony_plugin};

    /// Counts.
    #[tony_plugin(name = "twin", version = "1.0.0")]
    #[derive(Default, Serialize, Deserialize)]
    pub struct Twin {
        count: u64,
    }

    #[tony_plugin]
    impl Plugin for Twin {
        fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
            self.count += 2;
            Ok(())
        }
    }
}

/// `original` with another field type.
mod field_edited {
    use serde::{Deserialize, Serialize};
    use tony_core::{BoxError, Context, Plugin, tony_plugin};

    /// Counts.
    #[tony_plugin(name = "twin", version = "1.0.0")]
    #[derive(Default, Serialize, Deserialize)]
    pub struct Twin {
        count: u32,
    }

    #[tony_plugin]
    impl Plugin for Twin {
        fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
            self.count += 1;
            Ok(())
        }
    }
}

/// `original` without `#[tony_plugin]` on its impl block.
mod impl_not_marked {
    use serde::{Deserialize, Serialize};
    use tony_core::{BoxError, Context, Plugin, tony_plugin};

    /// Counts.
    #[tony_plugin(name = "twin", version = "1.0.0")]
    #[derive(Default, Serialize, Deserialize)]
    pub struct Twin {
        count: u64,
    }

    impl Plugin for Twin {
        fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
            self.count += 1;
            Ok(())
        }
    }
}

/// The live fingerprints of `T`, alone in a system, after activation.
fn fingerprints<T: PluginType>() -> Fingerprints {
    let system = PluginSystem::builder()
        .register_inventory(false)
        .plugin::<T>()
        .build()
        .expect("builds");
    system.initialize().expect("activates");
    let status = system.status();
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].fingerprints.state, T::STATE_FINGERPRINT);
    status[0].fingerprints
}

#[test]
fn identical_sources_give_identical_fingerprints() {
    assert_eq!(
        fingerprints::<original::Twin>(),
        fingerprints::<copy::Twin>()
    );
    assert_eq!(
        original::Twin::STATE_FINGERPRINT,
        copy::Twin::STATE_FINGERPRINT
    );
}

#[test]
fn a_changed_method_body_changes_the_code_fingerprint_only() {
    let before = fingerprints::<original::Twin>();
    let after = fingerprints::<body_edited::Twin>();
    assert_eq!(before.state, after.state);
    // The impl blocks count in the code fingerprint.
    assert_ne!(before.code, after.code);
}

#[test]
fn a_changed_field_changes_both() {
    let before = fingerprints::<original::Twin>();
    let after = fingerprints::<field_edited::Twin>();
    assert_ne!(before.state, after.state);
    assert_ne!(before.code, after.code);
}
