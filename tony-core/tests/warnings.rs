//! Issue 22: warnings reach the app, not only the log. A `[plugins.<typo>]`
//! table reaches subscribers (file, line, closest plugin name) and the
//! status; a reload refused by validation emits exactly the events the
//! docs of `Event::ReloadFailed` say.
#![allow(clippy::unwrap_used, missing_docs)]

#[macro_use]
mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};

use tony_core::{
    Event, EventKind, Metadata, PluginConfigFile, PluginSystem, PluginType, Stage, UnknownTable,
    Validation,
};

simple_plugin!(Greeter, "greeter", "1.0.0");

fn record(system: &PluginSystem) -> Arc<Mutex<Vec<Event>>> {
    let events: Arc<Mutex<Vec<Event>>> = Arc::default();
    let sink = Arc::clone(&events);
    system.subscribe_all(move |e: &Event| sink.lock().unwrap().push(e.clone()));
    events
}

fn unknown_tables(events: &Mutex<Vec<Event>>) -> Vec<UnknownTable> {
    events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::UnknownConfigTable(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

const TYPO: &str =
    "[plugins.greeter]\ngreeting = \"hi\"\n\n[plugins.gretter]\ngreeting = \"hey\"\n";

#[test]
fn an_unknown_table_in_the_file_at_start_reaches_subscribers_and_the_status() {
    let system = PluginSystem::builder()
        .register_inventory(false)
        .config(common::config())
        .descriptor(Greeter::descriptor())
        .plugin_config(PluginConfigFile::parse(TYPO, "plugins.toml").unwrap())
        .build()
        .unwrap();
    let events = record(&system);

    system.initialize().unwrap();

    let seen = unknown_tables(&events);
    assert_eq!(seen.len(), 1, "{seen:?}");
    let t = &seen[0];
    assert_eq!(
        (
            t.path.as_path(),
            t.plugin.as_str(),
            t.line,
            t.closest.as_deref()
        ),
        (Path::new("plugins.toml"), "gretter", 4, Some("greeter"))
    );
    assert_eq!(
        system.unknown_config_tables(),
        seen,
        "the status says so too"
    );
}

#[test]
fn an_unknown_table_in_an_applied_file_reaches_subscribers() {
    let system = common::system(vec![Greeter::descriptor()]);
    system.initialize().unwrap();
    assert!(system.unknown_config_tables().is_empty());
    let events = record(&system);

    system
        .apply_plugin_config(PluginConfigFile::parse(TYPO, "plugins.toml").unwrap())
        .unwrap();

    let seen = unknown_tables(&events);
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        seen[0].to_string(),
        "plugins.toml:4: [plugins.gretter]: no plugin `gretter` (did you mean `greeter`?)"
    );
    assert_eq!(system.unknown_config_tables(), seen);
}

#[test]
fn a_reload_refused_by_validation_emits_reload_started_then_reload_failed_and_no_error() {
    let system = PluginSystem::builder()
        .register_inventory(false)
        .config(common::config())
        .descriptor(Greeter::descriptor())
        .validator(|_: &Metadata, _: &Metadata| Validation::reject("not today"))
        .build()
        .unwrap();
    system.initialize().unwrap();
    let events = record(&system);

    let result = system.reload_plugin("greeter");

    assert!(!result.success);
    let error = result.error.as_ref().unwrap();
    assert_eq!(error.stage, Stage::Validate);
    let events = events.lock().unwrap();
    let kinds: Vec<EventKind> = events.iter().map(Event::kind).collect();
    assert_eq!(kinds, [EventKind::ReloadStarted, EventKind::ReloadFailed]);
    match &events[1] {
        Event::ReloadFailed(r) => {
            assert_eq!(**r, result);
            assert!(r.error.as_ref().unwrap().message.contains("not today"));
        }
        other => panic!("{other:?}"),
    }
}
