//! Tony's own patch thread: takes what the intake receives on dx's websocket
//! thread and runs each patch as a transaction, so the websocket thread
//! never blocks and never runs plugin code.

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::SystemTime;

use subsecond::JumpTable;
use tony_core::{ErrorSource, Event, PatchReceipt, PluginSystem};

use super::intake::{self, Intake, IntakeStatus};
use super::swap::apply_patch_transaction;
use super::table::panic_message;
use super::{BuildClock, IntakeState, PatchStatus};

/// The running intake and its thread.
pub(crate) struct PatchIntake {
    status: Arc<Mutex<PatchStatus>>,
    thread: Option<JoinHandle<()>>,
}

impl PatchIntake {
    /// Connects to the dx devserver, when there is one, and starts the thread.
    pub(crate) fn start(system: PluginSystem, clock: BuildClock) -> Self {
        // The binary's own plugin code, read before any patch library can
        // load and submit its own.
        let _ = tony_core::CodeManifest::original();
        let (tx, rx) = mpsc::channel();
        let state = match intake::start(tx) {
            IntakeStatus::NotUnderDx => IntakeState::NotUnderDx,
            IntakeStatus::MainNotExported => IntakeState::MainNotExported,
            IntakeStatus::Connecting => IntakeState::Listening,
        };
        let status = Arc::new(Mutex::new(PatchStatus {
            intake: state,
            ..PatchStatus::default()
        }));
        if state == IntakeState::MainNotExported {
            tracing::error!(
                "running under dx, but this executable does not export `main`: hot patches cannot apply"
            );
        }
        let thread = (state == IntakeState::Listening).then(|| {
            let status = Arc::clone(&status);
            std::thread::Builder::new()
                .name("tony-patches".into())
                .spawn(move || run(&system, &rx, &status, &clock))
        });
        let thread = match thread {
            Some(Ok(t)) => Some(t),
            Some(Err(e)) => {
                tracing::error!(error = %e, "cannot start the patch thread; hot patches are off");
                None
            }
            None => None,
        };
        PatchIntake { status, thread }
    }

    pub(crate) fn status(&self) -> PatchStatus {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for PatchIntake {
    fn drop(&mut self) {
        // The thread ends when dx's websocket thread (the only sender) ends;
        // that thread belongs to dioxus-devtools and cannot be stopped, so
        // the patch thread is detached rather than joined.
        drop(self.thread.take());
    }
}

/// The patch thread's loop, on the calling thread, over what `rx` brings
/// until it closes: what the intake's thread runs, for tests that feed it
/// their own messages. Returns the intake's counts.
#[cfg(feature = "testing")]
pub fn run_intake(system: &PluginSystem, rx: &Receiver<Intake>) -> PatchStatus {
    let status = Mutex::new(PatchStatus {
        intake: IntakeState::Listening,
        ..PatchStatus::default()
    });
    run(system, rx, &status, &BuildClock::default());
    status.into_inner().unwrap_or_else(PoisonError::into_inner)
}

/// Applies one table; a panic that escapes the transaction despite its
/// containment is caught here, so that the thread lives on to apply the
/// next patch.
fn apply_caught(system: &PluginSystem, table: JumpTable) -> Result<PatchReceipt, String> {
    match panic::catch_unwind(AssertUnwindSafe(|| apply_patch_transaction(system, table))) {
        Ok(Ok(receipt)) => Ok(receipt),
        Ok(Err(e)) => Err(format!("hot patch refused; nothing changed: {e}")),
        Err(payload) => {
            let message = panic_message(&*payload);
            // A payload whose own `Drop` panics is leaked, not let unwind.
            if let Err(again) = panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
                std::mem::forget(again);
            }
            Err(format!(
                "handling a hot patch panicked: {message}; the patch thread goes on"
            ))
        }
    }
}

fn run(
    system: &PluginSystem,
    rx: &Receiver<Intake>,
    status: &Mutex<PatchStatus>,
    clock: &BuildClock,
) {
    let set_clock = |at: Option<SystemTime>| {
        *clock.lock().unwrap_or_else(PoisonError::into_inner) = at;
    };
    let update = |f: &dyn Fn(&mut PatchStatus)| {
        f(&mut status.lock().unwrap_or_else(PoisonError::into_inner))
    };
    for message in rx {
        match message {
            Intake::Patch {
                table,
                ms_elapsed,
                received,
            } => {
                update(&|s| s.received += 1);
                let handled = apply_caught(system, table);
                // The next patch's build has not started yet.
                set_clock(None);
                match handled {
                    Ok(receipt) => {
                        tracing::info!(
                            dx_ms = ms_elapsed,
                            tony = ?received.elapsed(),
                            "hot patch handled: {}",
                            receipt.note
                        );
                        let applied = receipt.applied;
                        update(&|s| {
                            if applied {
                                s.applied += 1;
                            } else {
                                s.rolled_back += 1;
                            }
                            s.last_receipt = Some(receipt.clone());
                        });
                    }
                    Err(message) => {
                        tracing::error!("{message}");
                        update(&|s| s.rejected += 1);
                        tony_core::__private::emit(
                            system,
                            Event::Error {
                                source: ErrorSource::Patch,
                                plugin: None,
                                message,
                            },
                        );
                    }
                }
            }
            Intake::Ignored { reason } => {
                tracing::debug!(%reason, "hot patch ignored");
                update(&|s| s.ignored += 1);
            }
            Intake::PatchStarted => {
                tracing::debug!("dx is compiling a patch");
                set_clock(Some(SystemTime::now()));
            }
            Intake::FullRebuild => {
                tracing::info!("dx is rebuilding the whole app; this process will be replaced")
            }
            Intake::Shutdown => {
                tracing::info!("dx devserver shut down; no more hot patches");
                break;
            }
        }
    }
}
