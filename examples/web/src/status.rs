//! The JSON documents of `/_tony`: the service's status, a reload's result.

use serde_json::{Value, json};
use tony_core::ReloadResult;

use crate::Web;

/// The status document.
pub fn status_json(web: &Web) -> Value {
    let plugins: Vec<Value> = web
        .system()
        .status()
        .into_iter()
        .map(|s| {
            json!({
                "name": s.name,
                "version": s.version.to_string(),
                "state": s.state.to_string(),
                "dependencies": s.dependencies,
                "source": s.source.to_string(),
                "error": s.error,
            })
        })
        .collect();
    let last_patch = web.observer().last_patch().map(|(p, at)| {
        json!({
            "changed": p.changed,
            "cycled": p.cycled,
            "applied": p.applied,
            "note": p.note,
            "at_unix_ms": unix_ms(at),
        })
    });
    // Saves that did not reach the service, each with its likely cause.
    let missed_edits: Vec<Value> = (web.hot_status().into_iter())
        .flat_map(|s| s.missed_edits)
        .map(|m| {
            json!({
                "file": m.file.display().to_string(),
                "plugins": m.plugins,
                "since_unix_ms": unix_ms(m.since),
                "cause": m.cause.to_string(),
                "line": m.to_string(),
            })
        })
        .collect();
    json!({
        "tony": tony_core::tony_version().to_string(),
        "pid": std::process::id(),
        "hot_patching": cfg!(feature = "hot"),
        "plugins": plugins,
        "reloads": web.observer().reload_count(),
        "last_patch": last_patch,
        "missed_edits": missed_edits,
    })
}

fn unix_ms(at: std::time::SystemTime) -> u64 {
    at.duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A [`ReloadResult`] as JSON.
pub fn reload_json(r: &ReloadResult) -> Value {
    json!({
        "success": r.success,
        "plugin": r.plugin,
        "previous_version": r.previous_version.as_ref().map(ToString::to_string),
        "new_version": r.new_version.as_ref().map(ToString::to_string),
        "state_preserved": r.state_preserved,
        "dependents_reloaded": r.dependents_reloaded,
        "rolled_back": r.rolled_back,
        "micros": u64::try_from(r.duration.as_micros()).unwrap_or(u64::MAX),
        "error": r.error.as_ref().map(ToString::to_string),
    })
}
