//! How the demo shows what happens: a table of plugins and a log of events.

use tony_core::{Event, PluginSystem, ReloadResult, StateRestore};

/// Prints a heading for one scenario.
pub fn step(title: &str) {
    println!("\n== {title}");
}

/// Prints the plugin table.
pub fn table(system: &PluginSystem) {
    println!(
        "\n  {:<10} {:<8} {:<8} {:<40} source",
        "plugin", "version", "state", "depends on"
    );
    for s in system.status() {
        let file = std::path::Path::new(&*s.source.file)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let deps = if s.dependencies.is_empty() {
            "-".to_owned()
        } else {
            s.dependencies.join(", ")
        };
        println!(
            "  {:<10} {:<8} {:<8} {:<40} {}:{}",
            s.name, s.version, s.state, deps, file, s.source.line
        );
    }
}

/// Prints the outcome of a reload.
pub fn reload(r: &ReloadResult) {
    if r.success {
        let state = if r.state_preserved {
            "state preserved".to_owned()
        } else {
            format!("state reset: {}", r.state_note().unwrap_or_default())
        };
        let deps = if r.dependents_reloaded.is_empty() {
            String::new()
        } else {
            format!(
                ", dependents reloaded: {}",
                r.dependents_reloaded.join(", ")
            )
        };
        println!(
            "   reload {}: ok in {:?} ({state}{deps})",
            r.plugin, r.duration
        );
    } else if let Some(e) = &r.error {
        println!(
            "   reload {}: FAILED at {} ({}){}",
            r.plugin,
            e.stage,
            e.message,
            if r.rolled_back {
                ", rolled back"
            } else {
                ", nothing changed"
            }
        );
    }
}

/// Logs every event as it happens.
pub fn log_events(system: &PluginSystem) {
    system.subscribe_all(|e: &Event| {
        let line = match e {
            Event::PluginLoaded { plugin, version } => format!("loaded {plugin} {version}"),
            Event::PluginUnloaded { plugin } => format!("unloaded {plugin}"),
            Event::ReloadStarted { plugins, trigger } => {
                format!("reload started: {} ({trigger:?})", plugins.join(", "))
            }
            Event::StatePreserved { plugin, bytes } => {
                format!("state preserved: {plugin} ({bytes} bytes)")
            }
            Event::StateRestored { plugin, how } => match how {
                StateRestore::Decoded => format!("state restored: {plugin}"),
                StateRestore::Migrated { from_state_version } => {
                    format!("state migrated: {plugin} (from state version {from_state_version})")
                }
                StateRestore::Reset { reason } => format!("state reset: {plugin}: {reason}"),
                _ => format!("state restored: {plugin}"),
            },
            Event::ReloadCompleted(r) => {
                format!("reload completed: {} in {:?}", r.plugin, r.duration)
            }
            Event::ReloadFailed(r) => format!(
                "reload failed: {}: {}",
                r.plugin,
                r.error
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ),
            // pid and wall-clock time: whoever reads the log can tell the process survived
            // and measure save -> active from them.
            Event::PatchApplied(p) => format!(
                "hot patch: {} (changed: {}; added: {}; removed: {}; cycled: {}; applied: {}) [pid {} at {}]",
                p.note,
                names(&p.changed),
                names(&p.added),
                names(&p.removed),
                names(&p.cycled),
                p.applied,
                std::process::id(),
                unix_time()
            ),
            Event::SourceChanged { path, plugins } => format!(
                "source changed: {} ({})",
                path.display(),
                plugins.join(", ")
            ),
            // One line: "edit not applied: <file> (<plugins>): <cause, what to do>".
            Event::EditNotApplied(miss) => miss.to_string(),
            Event::ConfigReloaded { path, plugins } => format!(
                "config applied: {} ({})",
                path.display(),
                plugins.join(", ")
            ),
            Event::Error {
                source,
                plugin,
                message,
            } => format!(
                "error ({source:?}{}): {message}",
                plugin
                    .as_deref()
                    .map(|p| format!(", {p}"))
                    .unwrap_or_default()
            ),
            other => format!("{other:?}"),
        };
        println!("   | {line}");
    });
}

fn names(list: &[String]) -> String {
    if list.is_empty() {
        "-".to_owned()
    } else {
        list.join(", ")
    }
}

/// Seconds since the Unix epoch, to the microsecond.
fn unix_time() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:06}", t.as_secs(), t.subsec_micros())
}
