//! The host loop's body: edited by the catalogue like any other code.

use tony_core::PluginSystem;
use tony_e2e_app::LibSide;
use tony_e2e_plugins::Base;

use crate::counter::Counter;
use crate::user::User;

/// One round: every plugin asked once, one line printed.
pub fn tick(system: &PluginSystem, round: u64) {
    let counter = system.with_mut::<Counter, _>(Counter::tick);
    let user = system.with::<User, _>(User::describe);
    let base = system.with_mut::<Base, _>(Base::greeting);
    println!(
        "TICK round={round} counter[{}] user[{}] base[{}]",
        show(counter),
        show(user),
        show(base)
    );
    // The package's library target, on a line of its own (the catalogue
    // edits the line above).
    let libside = system.with_mut::<LibSide, _>(LibSide::tick);
    println!("LIB libside[{}]", show(libside));
}

fn show<E: std::fmt::Debug>(r: Result<String, E>) -> String {
    r.unwrap_or_else(|e| format!("ERR {e:?}"))
}
