//! Hot reload switched on for a system: live configuration end to end,
//! source tracking, status, presets. Real temp files; waits with deadlines.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tony_core::{
    BoxError, Context, Environment, ErrorSource, Event, EventKind, HotReloadConfig, Plugin,
    PluginSystem, tony_plugin,
};
use tony_hot::{HotReloadExt, IntakeState, WatchState};

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct GreeterConfig {
    pub word: String,
    #[serde(default)]
    pub times: u32,
}

/// Greets with a configured word; counts its greetings (state).
#[tony_plugin(name = "configured-greeter", version = "1.0.0", config = GreeterConfig)]
#[derive(Default, Serialize, Deserialize)]
pub struct ConfiguredGreeter {
    greeted: u64,
    #[serde(skip)]
    config: GreeterConfig,
}

impl Plugin for ConfiguredGreeter {
    fn activate(&mut self, ctx: &mut Context<'_>) -> Result<(), BoxError> {
        self.config = ctx.config()?;
        Ok(())
    }
}

fn config(dir: &Path, env: Environment) -> HotReloadConfig {
    let file = dir.join("plugins.toml");
    if !file.exists() {
        std::fs::write(&file, "[plugins.configured-greeter]\nword = \"hi\"\n").unwrap();
    }
    let mut c = HotReloadConfig::for_environment(env);
    c.debounce = Duration::from_millis(50);
    c.plugin_config_path = Some(dir.join("plugins.toml"));
    c
}

fn system(c: HotReloadConfig) -> PluginSystem {
    let system = PluginSystem::builder()
        .config(c)
        .select(|m| m.name() == "configured-greeter")
        .build()
        .unwrap();
    system.initialize().unwrap();
    system
}

fn wait_for(rx: &mpsc::Receiver<Event>, what: &str, mut f: impl FnMut(&Event) -> bool) -> Event {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(e) if f(&e) => return e,
            Ok(_) => {}
            Err(_) => panic!("timed out waiting for {what}"),
        }
    }
}

#[test]
fn editing_the_config_file_reconfigures_live_and_a_broken_edit_keeps_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plugins.toml");
    std::fs::write(&file, "[plugins.configured-greeter]\nword = \"hello\"\n").unwrap();
    let system = system(config(dir.path(), Environment::Development));
    system
        .with_mut::<ConfiguredGreeter, _>(|g| g.greeted = 12)
        .unwrap();
    assert_eq!(
        system
            .with::<ConfiguredGreeter, _>(|g| g.config.word.clone())
            .unwrap(),
        "hello"
    );

    let (tx, rx) = mpsc::channel();
    system.subscribe_all(tx);
    let hot = system.start_hot_reload().unwrap();
    assert_eq!(hot.status().config_file.as_deref(), Some(file.as_path()));

    std::fs::write(
        &file,
        "[plugins.configured-greeter]\nword = \"bonjour\"\ntimes = 2\n",
    )
    .unwrap();
    wait_for(&rx, "ConfigReloaded", |e| {
        e.kind() == EventKind::ConfigReloaded
    });
    let (word, times, greeted) = system
        .with::<ConfiguredGreeter, _>(|g| (g.config.word.clone(), g.config.times, g.greeted))
        .unwrap();
    assert_eq!(
        (word.as_str(), times, greeted),
        ("bonjour", 2, 12),
        "reconfigured, state kept"
    );

    // A type error: the old configuration stays, the error names file, line and plugin.
    std::fs::write(
        &file,
        "[plugins.configured-greeter]\nword = \"x\"\ntimes = \"many\"\n",
    )
    .unwrap();
    let e = wait_for(&rx, "config error", |e| {
        matches!(
            e,
            Event::Error {
                source: ErrorSource::Config,
                ..
            }
        )
    });
    let Event::Error {
        message, plugin, ..
    } = e
    else {
        unreachable!()
    };
    assert_eq!(plugin.as_deref(), Some("configured-greeter"));
    assert!(
        message.contains("plugins.toml:3") && message.contains("times"),
        "{message}"
    );
    assert_eq!(
        system
            .with::<ConfiguredGreeter, _>(|g| g.config.word.clone())
            .unwrap(),
        "bonjour"
    );

    // A syntax error: same.
    std::fs::write(&file, "[plugins.configured-greeter\nword = \n").unwrap();
    let e = wait_for(&rx, "syntax error", |e| {
        matches!(
            e,
            Event::Error {
                source: ErrorSource::Config,
                ..
            }
        )
    });
    let Event::Error { message, .. } = e else {
        unreachable!()
    };
    assert!(message.contains("plugins.toml:1"), "{message}");
    assert_eq!(
        system
            .with::<ConfiguredGreeter, _>(|g| g.config.word.clone())
            .unwrap(),
        "bonjour"
    );

    // Fixed again: applies.
    std::fs::write(&file, "[plugins.configured-greeter]\nword = \"hej\"\n").unwrap();
    wait_for(&rx, "ConfigReloaded", |e| {
        e.kind() == EventKind::ConfigReloaded
    });
    assert_eq!(
        system
            .with::<ConfiguredGreeter, _>(|g| g.config.word.clone())
            .unwrap(),
        "hej"
    );
    drop(hot);
}

#[test]
fn a_burst_of_writes_gives_at_most_one_reload() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plugins.toml");
    std::fs::write(&file, "[plugins.configured-greeter]\nword = \"a\"\n").unwrap();
    let mut c = config(dir.path(), Environment::Development);
    c.debounce = Duration::from_millis(200);
    let system = system(c);
    let (tx, rx) = mpsc::channel();
    system.subscribe(EventKind::ReloadStarted, tx);
    let _hot = system.start_hot_reload().unwrap();
    for i in 0..20 {
        std::fs::write(
            &file,
            format!("[plugins.configured-greeter]\nword = \"w{i}\"\n"),
        )
        .unwrap();
    }
    rx.recv_timeout(Duration::from_secs(10))
        .expect("one reload");
    assert!(
        rx.recv_timeout(Duration::from_millis(600)).is_err(),
        "a second reload for one burst"
    );
    assert_eq!(
        system
            .with::<ConfiguredGreeter, _>(|g| g.config.word.clone())
            .unwrap(),
        "w19"
    );
}

#[test]
fn status_lists_watched_sources_and_the_patch_intake() {
    let dir = tempfile::tempdir().unwrap();
    let system = system(config(dir.path(), Environment::Development));
    let hot = system.start_hot_reload().unwrap();
    let status = hot.status();
    assert!(status.enabled);
    assert_eq!(status.watching.len(), 1);
    assert_eq!(status.watching[0].plugin, "configured-greeter");
    assert!(
        status.watching[0].file.ends_with("tests/hot_reload.rs"),
        "{:?}",
        status.watching
    );
    assert_eq!(status.patches.intake, IntakeState::NotUnderDx);
}

#[test]
fn production_and_testing_presets_disable_hot_reload() {
    let dir = tempfile::tempdir().unwrap();
    for env in [Environment::Production, Environment::Testing] {
        let system = system(config(dir.path(), env));
        let status = system.start_hot_reload().unwrap().status();
        assert!(!status.enabled, "{env}");
        assert!(
            status.watching.is_empty() && status.config_file.is_none(),
            "{env}"
        );
        assert_eq!(status.patches.intake, IntakeState::Disabled);
    }
}

#[derive(Default)]
pub struct Elsewhere;

impl Plugin for Elsewhere {
    fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> {
        Ok(())
    }
}

#[test]
fn a_changed_plugin_source_is_reported_with_its_plugins_and_its_miss_told_once() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("elsewhere.rs");
    std::fs::write(&src, "fn v1() {}\n").unwrap();
    let source = tony_core::SourceLocation::new(src.to_string_lossy().into_owned(), 1);
    let system = PluginSystem::builder()
        .register_inventory(false)
        .config(config(dir.path(), Environment::Development))
        .descriptor(tony_core::PluginDescriptor::stateless::<Elsewhere>(
            tony_core::Metadata::new("elsewhere", "1.0.0").with_source(source),
        ))
        .build()
        .unwrap();
    system.initialize().unwrap();
    let (tx, rx) = mpsc::channel();
    system.subscribe_all(tx);
    let hot = system.start_hot_reload().unwrap();
    assert_eq!(hot.status().watching[0].file, src);

    // A comment: the event, and no miss (it changes no code).
    std::fs::write(&src, "// a note\nfn v1() {}\n").unwrap();
    wait_for(&rx, "SourceChanged", |e| {
        e.kind() == EventKind::SourceChanged
    });
    assert!(
        rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "a comment-only save raised more than its SourceChanged"
    );
    assert!(hot.status().missed_edits.is_empty());

    // Code: not under dx, no patch can bring it.
    std::fs::write(&src, "fn v2() {}\n").unwrap();
    let e = wait_for(&rx, "SourceChanged", |e| {
        e.kind() == EventKind::SourceChanged
    });
    let Event::SourceChanged { plugins, path } = e else {
        unreachable!()
    };
    assert_eq!(plugins, ["elsewhere"]);
    assert!(path.ends_with("elsewhere.rs"));
    let e = wait_for(&rx, "the miss", |e| e.kind() == EventKind::EditNotApplied);
    let Event::EditNotApplied(miss) = e else {
        unreachable!()
    };
    assert_eq!(miss.plugins, ["elsewhere"]);
    assert_eq!(miss.cause, tony_core::MissCause::NotUnderDx);
    assert!(miss.to_string().contains("dx serve --hot-patch"), "{miss}");
    assert_eq!(hot.status().missed_edits, [*miss.clone()]);

    // Told once: a second edit gives the event but no second miss.
    std::fs::write(&src, "fn v3() {}\n").unwrap();
    wait_for(&rx, "SourceChanged again", |e| {
        e.kind() == EventKind::SourceChanged
    });
    assert!(
        rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "told twice"
    );
    // Saved back to the code that runs: the miss is gone.
    std::fs::write(&src, "fn v1() {}\n").unwrap();
    wait_for(&rx, "SourceChanged back", |e| {
        e.kind() == EventKind::SourceChanged
    });
    assert!(hot.status().missed_edits.is_empty());
    // Not a reload: nothing to cycle without a patch.
    assert!(
        system
            .status()
            .iter()
            .all(|s| s.state == tony_core::PluginState::Active)
    );
}

fn word(system: &PluginSystem) -> String {
    system
        .with::<ConfiguredGreeter, _>(|g| g.config.word.clone())
        .unwrap()
}

/// Writes `word` to `file` until the system has applied it (a write made
/// before a watch is re-established is missed by design: retried).
fn write_until_applied(system: &PluginSystem, file: &Path, w: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        std::fs::write(
            file,
            format!("[plugins.configured-greeter]\nword = \"{w}\"\n"),
        )
        .unwrap();
        let settle = Instant::now() + Duration::from_millis(500);
        while Instant::now() < settle {
            if word(system) == w {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(Instant::now() < deadline, "`{w}` never applied");
    }
}

#[cfg(unix)]
#[test]
fn a_symlinked_config_file_is_followed_to_its_target_and_when_re_pointed() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    let other = dir.path().join("other");
    std::fs::create_dir(&real).unwrap();
    std::fs::create_dir(&other).unwrap();
    let target = real.join("plugins.toml");
    std::fs::write(&target, "[plugins.configured-greeter]\nword = \"a\"\n").unwrap();
    let link = dir.path().join("plugins.toml");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let system = system(config(dir.path(), Environment::Development));
    let _hot = system.start_hot_reload().unwrap();

    write_until_applied(&system, &target, "edited-target");

    let second = other.join("plugins.toml");
    std::fs::write(&second, "[plugins.configured-greeter]\nword = \"b\"\n").unwrap();
    let tmp = dir.path().join(".plugins.toml.new");
    std::os::unix::fs::symlink(&second, &tmp).unwrap();
    std::fs::rename(&tmp, &link).unwrap();
    write_until_applied(&system, &second, "edited-new-target");
}

#[test]
fn a_config_directory_deleted_and_recreated_is_watched_again_and_status_says_so() {
    let top = tempfile::tempdir().unwrap();
    let dir = top.path().join("conf");
    std::fs::create_dir(&dir).unwrap();
    let system = system(config(&dir, Environment::Development));
    let hot = system.start_hot_reload().unwrap();
    let file = hot.status().config_file.unwrap();
    assert_eq!(hot.status().watched.get(&file), Some(&WatchState::Watched));

    // `git stash`: the directory goes away, then comes back.
    std::fs::remove_dir_all(&dir).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while hot
        .status()
        .watched
        .get(&file)
        .is_none_or(WatchState::is_watched)
    {
        assert!(Instant::now() < deadline, "status still says watched");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::fs::create_dir(&dir).unwrap();
    write_until_applied(&system, &dir.join("plugins.toml"), "back");
    assert_eq!(hot.status().watched.get(&file), Some(&WatchState::Watched));
}

#[test]
fn a_source_directory_deleted_and_recreated_is_reported_then_watched_again() {
    let top = tempfile::tempdir().unwrap();
    let dir = top.path().join("src");
    std::fs::create_dir(&dir).unwrap();
    let src = dir.join("elsewhere.rs");
    std::fs::write(&src, "// v1\n").unwrap();
    let source = tony_core::SourceLocation::new(src.to_string_lossy().into_owned(), 1);
    let system = PluginSystem::builder()
        .register_inventory(false)
        .config(config(top.path(), Environment::Development))
        .descriptor(tony_core::PluginDescriptor::stateless::<Elsewhere>(
            tony_core::Metadata::new("elsewhere", "1.0.0").with_source(source),
        ))
        .build()
        .unwrap();
    system.initialize().unwrap();
    let (tx, rx) = mpsc::channel();
    system.subscribe(EventKind::SourceChanged, tx);
    let hot = system.start_hot_reload().unwrap();
    assert_eq!(hot.status().watching.len(), 1);

    std::fs::remove_dir_all(&dir).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !hot.status().watching.is_empty() {
        assert!(Instant::now() < deadline, "status still says watching");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(hot.status().unwatched[0].plugin, "elsewhere");

    std::fs::create_dir(&dir).unwrap();
    std::fs::write(&src, "// v2\n").unwrap();
    while hot.status().watching.is_empty() {
        assert!(Instant::now() < deadline, "never watched again");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::fs::write(&src, "// v3\n").unwrap();
    wait_for(&rx, "SourceChanged after the re-creation", |e| {
        e.kind() == EventKind::SourceChanged
    });
}
