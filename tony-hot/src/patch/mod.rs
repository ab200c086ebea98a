//! Hot patches from `dx serve --hot-patch`: intake, the plugins a patch
//! changes, and the patch as the swap step of a reload transaction.
//!
//! Without the `patch` feature only [`PatchStatus`] remains, saying so.

#[cfg(feature = "patch")]
mod intake;
#[cfg(feature = "patch")]
mod swap;
#[cfg(feature = "patch")]
pub(crate) mod table;
#[cfg(feature = "patch")]
mod worker;

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tony_core::PatchReceipt;

/// When dx started building the patch now arriving (its `HotPatchStart`
/// message), if it said: a patch holds the saves written before that.
/// Shared by the intake, which sets it, and the pending edits, which read
/// it when the patch's receipt comes.
pub(crate) type BuildClock = Arc<Mutex<Option<SystemTime>>>;

#[cfg(feature = "patch")]
pub use table::PatchError;
#[cfg(feature = "patch")]
pub(crate) use worker::PatchIntake;

/// Jump tables made by hand, to test hot-patch handling in a plain
/// `cargo test`, without dx.
///
/// The test binary must export `main` (a `build.rs` printing
/// `cargo:rustc-link-arg=-Wl,--export-dynamic-symbol=main`). A table built
/// with [`table`](testing::table) maps the `HotFn` key of an original fn
/// item ([`hot_key`](testing::hot_key)) to the key of a replacement compiled
/// into the same binary; [`original`](testing::original) puts the original
/// code back. subsecond's jump table is process-global: run such tests one
/// at a time and restore the original when done.
///
/// Not public API (the `testing` feature): these follow subsecond's jump
/// table and dx's messages as Tony's pinned versions have them.
#[cfg(feature = "testing")]
pub mod testing {
    pub use super::swap::{PatchSwap, apply_patch_transaction, apply_synthetic_patch};
    pub use super::table::synthetic::table;
    pub use super::table::{Patch, capture, fn_key, hot_key, original};

    /// The intake's sorting of devserver messages (pid and build filter),
    /// exposed for tests only.
    #[doc(hidden)]
    pub use super::intake::{Intake, classify};
    /// The patch thread's loop, fed by the test.
    #[doc(hidden)]
    pub use super::worker::run_intake;
}

/// Whether hot patches can arrive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum IntakeState {
    /// Hot reload is off, or tony-hot was built without its `patch` feature.
    #[default]
    Disabled,
    /// Not running under `dx serve --hot-patch` (no devserver address).
    NotUnderDx,
    /// Under dx, but the executable does not export `main`: patches could
    /// never apply.
    MainNotExported,
    /// Listening to the dx devserver.
    Listening,
}

/// The hot-patch intake, for [`HotReloadStatus`](crate::HotReloadStatus).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PatchStatus {
    /// Whether patches can arrive.
    pub intake: IntakeState,
    /// Patches received for this process.
    pub received: u64,
    /// Patches applied and kept.
    pub applied: u64,
    /// Messages ignored (another process or build, dx's replay on connect).
    pub ignored: u64,
    /// Patches refused before anything changed (a bad library, a foreign table).
    pub rejected: u64,
    /// Patches applied then rolled back (a plugin failed with the new code).
    pub rolled_back: u64,
    /// What the last patch did.
    pub last_receipt: Option<PatchReceipt>,
}

impl PatchStatus {
    /// One line for people.
    ///
    /// ```
    /// assert_eq!(tony_hot::PatchStatus::default().summary(), "hot patches: off");
    /// ```
    pub fn summary(&self) -> String {
        match self.intake {
            IntakeState::Disabled => "hot patches: off".to_owned(),
            IntakeState::NotUnderDx => {
                "hot patches: not running under `dx serve --hot-patch`".to_owned()
            }
            IntakeState::MainNotExported => {
                "hot patches: unavailable, the executable does not export `main`".to_owned()
            }
            IntakeState::Listening => format!(
                "hot patches: listening to dx ({} received, {} applied, {} rolled back, {} rejected)",
                self.received, self.applied, self.rolled_back, self.rejected
            ),
        }
    }
}

/// Without the `patch` feature: an intake that never takes anything.
#[cfg(not(feature = "patch"))]
pub(crate) struct PatchIntake;

#[cfg(not(feature = "patch"))]
impl PatchIntake {
    pub(crate) fn start(_system: tony_core::PluginSystem, _clock: BuildClock) -> Self {
        PatchIntake
    }

    pub(crate) fn status(&self) -> PatchStatus {
        PatchStatus::default()
    }
}
