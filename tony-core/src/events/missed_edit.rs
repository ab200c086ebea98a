//! [`MissedEdit`]: a saved edit of plugin code that did not reach the
//! running app, and why ([`MissCause`]).

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// A saved edit of plugin code that did not reach the running app.
///
/// Raised as [`Event::EditNotApplied`](crate::Event::EditNotApplied) and
/// listed by tony-hot's status until a later save is applied (or brings the
/// file back to the code that runs). Its `Display` is one line:
///
/// ```
/// use std::time::Duration;
/// use tony_core::{MissCause, MissedEdit};
///
/// let miss = MissedEdit::new("src/counter.rs", ["counter"], MissCause::NoPatch {
///     waited: Duration::from_secs(3),
/// });
/// assert!(miss.to_string().starts_with("edit not applied: src/counter.rs (counter): "));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MissedEdit {
    /// The file saved.
    pub file: PathBuf,
    /// The plugins whose source tree holds it.
    pub plugins: Vec<String>,
    /// When the first save that is still not applied was made.
    pub since: SystemTime,
    /// The likely cause, with what to do about it.
    pub cause: MissCause,
}

impl MissedEdit {
    /// A miss of `file`, holding `plugins`, saved now.
    pub fn new(
        file: impl Into<PathBuf>,
        plugins: impl IntoIterator<Item = impl Into<String>>,
        cause: MissCause,
    ) -> Self {
        MissedEdit {
            file: file.into(),
            plugins: plugins.into_iter().map(Into::into).collect(),
            since: SystemTime::now(),
            cause,
        }
    }
}

impl fmt::Display for MissedEdit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "edit not applied: {}", self.file.display())?;
        if !self.plugins.is_empty() {
            write!(f, " ({})", self.plugins.join(", "))?;
        }
        write!(f, ": {}", self.cause)
    }
}

/// Why a saved edit did not reach the running app, as far as Tony can tell.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MissCause {
    /// The app does not take hot patches: it is not running under
    /// `dx serve --hot-patch`, or was built without tony-hot's `patch`
    /// feature.
    NotUnderDx,
    /// The plugins are in the library target of the package whose binary
    /// runs (`src/lib.rs` beside `src/main.rs`): dx 0.7.10 patches the
    /// binary target only.
    LibraryOfBinary {
        /// The package's crate name.
        crate_name: String,
    },
    /// dx sent a patch after the save, but it did not recompile the crate
    /// that holds the file (one the binary does not depend on directly?).
    NotRecompiled {
        /// The crate that holds the file's plugins.
        crate_name: String,
    },
    /// No patch came within `waited` of the save: most likely it does not
    /// compile (dx prints the error in its own output).
    NoPatch {
        /// How long Tony waited.
        waited: Duration,
    },
}

impl fmt::Display for MissCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MissCause::NotUnderDx => f.write_str(
                "this app takes no hot patches; run it with `dx serve --hot-patch` and its \
                 `hot` feature (tony-hot's `patch`), or restart it to see the edit",
            ),
            MissCause::LibraryOfBinary { crate_name } => write!(
                f,
                "dx patches the binary target only, and these plugins are in the library \
                 target of `{crate_name}`; move them into the binary target or into a \
                 workspace crate of their own, or restart the app"
            ),
            MissCause::NotRecompiled { crate_name } => write!(
                f,
                "dx's patch did not recompile `{crate_name}`; make it a direct dependency of \
                 the binary, or restart the app"
            ),
            MissCause::NoPatch { waited } => write!(
                f,
                "no patch came within {:.1} s of the save; it most likely does not compile \
                 (see dx's output)",
                waited.as_secs_f64()
            ),
        }
    }
}
