//! Patch intake from the dx devserver: `dioxus_devtools::connect` on its websocket thread,
//! filtered by pid and build id, handed over a channel to the thread that does Tony's work.

use std::sync::mpsc::Sender;
use std::time::Instant;

use dioxus_devtools::DevserverMsg;
use subsecond::JumpTable;

/// What the intake hands to Tony's own thread.
#[derive(Debug)]
pub enum Intake {
    /// A jump table for this process and build. Not applied yet.
    Patch {
        /// The table as received (unshifted).
        table: JumpTable,
        /// dx's own compile+link time for this patch.
        ms_elapsed: u64,
        /// When the websocket thread received it.
        received: Instant,
    },
    /// A table that is not for us (another pid/build, or the replay dx sends on connect).
    Ignored {
        /// Why.
        reason: String,
    },
    /// dx started compiling a patch (`DevserverMsg::HotPatchStart`).
    PatchStarted,
    /// dx started a full rebuild: this process will be replaced.
    FullRebuild,
    /// The dev server is shutting down.
    Shutdown,
}

/// Whether patches can arrive at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntakeStatus {
    /// `DIOXUS_DEVSERVER_IP`/`DIOXUS_DEVSERVER_PORT` are unset: not running under `dx serve`.
    NotUnderDx,
    /// Under dx, but this executable does not export `main`: patches could never apply.
    MainNotExported,
    /// A websocket thread was started. (`connect` reports no connection failure: it just ends.)
    Connecting,
}

/// Sorts one devserver message. Pure: unit-testable without a socket.
/// `pid`/`build_id`: `std::process::id()` and `dioxus_cli_config::build_id()` (DIOXUS_BUILD_ID, 0
/// when unset).
pub fn classify(msg: DevserverMsg, pid: u32, build_id: u64) -> Option<Intake> {
    let received = Instant::now();
    match msg {
        DevserverMsg::HotReload(msg) => {
            let table = msg.jump_table?; // templates/assets only: nothing for Tony
            if msg.for_pid != Some(pid) {
                // dx replays its last patch to every new connection with `for_pid: None`.
                return Some(Intake::Ignored {
                    reason: format!("patch for pid {:?}, we are {pid}", msg.for_pid),
                });
            }
            if msg.for_build_id != Some(build_id) {
                return Some(Intake::Ignored {
                    reason: format!("patch for build {:?}, we are {build_id}", msg.for_build_id),
                });
            }
            Some(Intake::Patch {
                table,
                ms_elapsed: msg.ms_elapsed,
                received,
            })
        }
        DevserverMsg::HotPatchStart => Some(Intake::PatchStarted),
        DevserverMsg::FullReloadStart | DevserverMsg::FullReloadCommand => {
            Some(Intake::FullRebuild)
        }
        DevserverMsg::Shutdown => Some(Intake::Shutdown),
        _ => None, // FullReloadFailed and future variants (the enum is non_exhaustive)
    }
}

/// Starts the intake: `dioxus_devtools::connect` with a callback that never blocks and never
/// panics (a panic would end the websocket thread, silently stopping all patches).
pub fn start(tx: Sender<Intake>) -> IntakeStatus {
    if dioxus_cli_config::devserver_ws_endpoint().is_none() {
        return IntakeStatus::NotUnderDx;
    }
    // Also initialises subsecond's unsynchronised cache of `main`'s address on *this* thread,
    // before `connect`'s thread reads it for the handshake.
    if super::table::running_main().is_err() {
        return IntakeStatus::MainNotExported;
    }
    let pid = std::process::id();
    let build_id = dioxus_cli_config::build_id();
    dioxus_devtools::connect(move |msg| {
        let sorted = std::panic::catch_unwind(|| classify(msg, pid, build_id));
        if let Ok(Some(intake)) = sorted {
            // Receiver gone = Tony shut down; nothing to do on this thread.
            let _ = tx.send(intake);
        }
    });
    IntakeStatus::Connecting
}
