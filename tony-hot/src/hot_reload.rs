//! [`HotReload`]: hot reload switched on for a [`PluginSystem`] — plugin
//! sources and the plugin configuration file watched, hot patches taken from
//! `dx serve --hot-patch` — and its status.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tony_core::{Event, HotReloadConfig, MissedEdit, PluginSystem, UnknownTable};

use crate::patch::{BuildClock, IntakeState, PatchIntake, PatchStatus};
use crate::pending::Tracker;
pub use crate::watcher::Error;
use crate::watcher::{Change, FileWatcher, Root, WatchState};

/// Switches hot reload on for a [`PluginSystem`].
///
/// ```no_run
/// use tony_hot::HotReloadExt;
///
/// let system = tony_core::PluginSystem::builder().build()?;
/// system.initialize()?;
/// let hot = system.start_hot_reload()?; // runs until dropped
/// for w in hot.status().watching {
///     println!("{} <- {}", w.plugin, w.file.display());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait HotReloadExt {
    /// Starts watching plugin sources and the plugin configuration file, and
    /// taking hot patches from dx. Does nothing (and says so in the status)
    /// when the configuration has hot reload disabled, as the production and
    /// testing presets do.
    fn start_hot_reload(&self) -> Result<HotReload, Error>;
}

impl HotReloadExt for PluginSystem {
    fn start_hot_reload(&self) -> Result<HotReload, Error> {
        HotReload::start(self.clone())
    }
}

/// A plugin and the source file it was compiled from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WatchedPlugin {
    /// The plugin.
    pub plugin: String,
    /// Its source file (recorded by `#[tony_plugin]`), canonical when it
    /// exists.
    pub file: PathBuf,
}

impl WatchedPlugin {
    /// A plugin and its source file.
    pub fn new(plugin: impl Into<String>, file: impl Into<PathBuf>) -> Self {
        Self {
            plugin: plugin.into(),
            file: file.into(),
        }
    }
}

/// What hot reload is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HotReloadStatus {
    /// Whether hot reload runs (the configuration's `enabled`).
    pub enabled: bool,
    /// Every plugin whose source file is watched right now: it lies in a
    /// watched source root, and `recursive`, `extensions` and `ignore`
    /// admit it.
    pub watching: Vec<WatchedPlugin>,
    /// Every other plugin: its source file is missing (built elsewhere?),
    /// outside the source roots, excluded by the settings, or its root is
    /// waiting for a deleted directory to reappear (see `watched`).
    pub unwatched: Vec<WatchedPlugin>,
    /// The plugin configuration file, when one is watched (a relative path
    /// from the configuration is resolved against the working directory at
    /// start).
    pub config_file: Option<PathBuf>,
    /// The tables of the plugin configuration file in force that name no
    /// registered plugin (most often a typo), with file, line and the
    /// closest plugin name; each was also emitted as
    /// [`Event::UnknownConfigTable`].
    pub config_warnings: Vec<UnknownTable>,
    /// Saved edits of plugin source that did not reach the running app,
    /// each with its likely cause, until a later save is applied (also
    /// raised as [`Event::EditNotApplied`]).
    pub missed_edits: Vec<MissedEdit>,
    /// Every path watched: the source roots (each with its subdirectories
    /// when `recursive`, minus the ignored ones) and the configuration
    /// file, with whether each is watched right now or waiting for a
    /// deleted directory to reappear.
    pub watched: BTreeMap<PathBuf, WatchState>,
    /// How many directories are watched, one operating-system watch each
    /// (an inotify watch on Linux). Ignored trees cost none.
    pub watched_dirs: usize,
    /// The hot-patch intake.
    pub patches: PatchStatus,
}

/// Hot reload, running. Stops when dropped.
pub struct HotReload {
    system: PluginSystem,
    enabled: bool,
    plugins: Vec<WatchedPlugin>,
    config_file: Option<PathBuf>,
    // Fields drop in order: the watcher first, then the pending edits it
    // feeds, then the intake.
    watcher: Option<FileWatcher>,
    pending: Option<Arc<Tracker>>,
    intake: Option<PatchIntake>,
}

impl std::fmt::Debug for HotReload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotReload")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl HotReload {
    fn start(system: PluginSystem) -> Result<HotReload, Error> {
        let config = system.config();
        let mut hot = HotReload {
            system: system.clone(),
            enabled: config.enabled,
            plugins: Vec::new(),
            config_file: None,
            watcher: None,
            pending: None,
            intake: None,
        };
        if !config.enabled {
            tracing::info!(
                "hot reload is disabled by the configuration (TONY_ENV preset); nothing is watched"
            );
            return Ok(hot);
        }
        hot.plugins = plugin_sources(&system);
        let mut roots: Vec<Root> = source_roots(&config, &hot.plugins)
            .into_iter()
            .map(Root::source)
            .collect();
        // Resolved against the working directory now, not at each change.
        hot.config_file = (config.plugin_config_path.as_deref()).map(absolute);
        roots.extend(hot.config_file.clone().map(Root::config));
        let clock = BuildClock::default();
        let intake = PatchIntake::start(system.clone(), Arc::clone(&clock));
        let takes_patches = intake.status().intake == IntakeState::Listening;
        hot.intake = Some(intake);
        let files = hot.plugins.iter().map(|w| w.file.as_path());
        let pending = Arc::new(Tracker::start(&system, takes_patches, files, clock));
        hot.pending = Some(Arc::clone(&pending));
        let mut sink = Sink {
            system,
            owners: Owners::new(&hot.plugins, config.recursive),
            config_file: hot.config_file.clone(),
            pending,
        };
        hot.watcher = Some(FileWatcher::start(&config, roots, move |c| {
            sink_change(&mut sink, c)
        })?);
        let status = hot.status();
        tracing::info!(
            plugins = status.watching.len(),
            roots = ?status.watched.keys().collect::<Vec<_>>(),
            directories = status.watched_dirs,
            "hot reload started"
        );
        Ok(hot)
    }

    /// What is watched, and the state of the patch intake.
    pub fn status(&self) -> HotReloadStatus {
        let watcher = self.watcher.as_ref();
        let (watching, unwatched) = (self.plugins.iter().cloned())
            .partition(|w| w.file.is_file() && watcher.is_some_and(|f| f.admits(&w.file)));
        HotReloadStatus {
            enabled: self.enabled,
            watching,
            unwatched,
            config_file: self.config_file.clone(),
            config_warnings: self.system.unknown_config_tables(),
            missed_edits: self
                .pending
                .as_ref()
                .map(|p| p.missed())
                .unwrap_or_default(),
            watched: watcher.map(FileWatcher::roots).unwrap_or_default(),
            watched_dirs: watcher.map_or(0, FileWatcher::watched_dirs),
            patches: self
                .intake
                .as_ref()
                .map(PatchIntake::status)
                .unwrap_or_default(),
        }
    }

    /// The system this hot reload serves.
    pub fn system(&self) -> &PluginSystem {
        &self.system
    }

    /// Stops watching and taking patches (the same as dropping it).
    pub fn stop(self) {}
}

/// Every active or registered plugin with its source file.
fn plugin_sources(system: &PluginSystem) -> Vec<WatchedPlugin> {
    (system.status().into_iter())
        .map(|s| WatchedPlugin::new(s.name, canonical(Path::new(&*s.source.file))))
        .collect()
}

/// The directories to watch: the ones the configuration names, else those
/// holding plugin source files; canonical, without one inside another when
/// recursive.
fn source_roots(config: &HotReloadConfig, plugins: &[WatchedPlugin]) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = if config.source_roots.is_empty() {
        (plugins.iter())
            .filter(|w| w.file.is_file())
            .filter_map(|w| w.file.parent().map(Path::to_path_buf))
            .collect()
    } else {
        (config.source_roots.iter())
            .map(|p| canonical(&absolute(p)))
            .collect()
    };
    roots.sort();
    roots.dedup();
    let mut kept: Vec<PathBuf> = Vec::new();
    for root in roots {
        if !(config.recursive && kept.iter().any(|k| root.starts_with(k))) {
            kept.push(root);
        }
    }
    kept
}

/// Which plugins a source file belongs to.
struct Owners {
    plugins: Vec<WatchedPlugin>,
    recursive: bool,
}

impl Owners {
    fn new(plugins: &[WatchedPlugin], recursive: bool) -> Self {
        let plugins = plugins.to_vec();
        Self { plugins, recursive }
    }

    /// The plugins defined in `file`; else those whose source files lie in
    /// the nearest directory above it (within reach when not recursive).
    fn of(&self, file: &Path) -> Vec<String> {
        let named = |keep: &dyn Fn(&WatchedPlugin) -> bool| -> Vec<String> {
            let names: BTreeSet<&str> = (self.plugins.iter())
                .filter(|w| keep(w))
                .map(|w| w.plugin.as_str())
                .collect();
            names.into_iter().map(str::to_owned).collect()
        };
        let defined = named(&|w| w.file == file);
        if !defined.is_empty() {
            return defined;
        }
        let nearest = (self.plugins.iter())
            .filter_map(|w| w.file.parent())
            .filter(|dir| file.starts_with(dir) && (self.recursive || file.parent() == Some(dir)))
            .max_by_key(|dir| dir.components().count());
        nearest.map_or_else(Vec::new, |dir| named(&|w| w.file.parent() == Some(dir)))
    }
}

/// Turns the watcher's changes into events, pending edits and
/// configuration reloads.
struct Sink {
    system: PluginSystem,
    owners: Owners,
    config_file: Option<PathBuf>,
    pending: Arc<Tracker>,
}

fn sink_change(sink: &mut Sink, change: Change) {
    let path = match change {
        Change::Config => return reload_config(&sink.system, sink.config_file.as_deref()),
        Change::Source(path) => path,
    };
    let plugins = sink.owners.of(&path);
    tracing::info!(file = %path.display(), ?plugins, "source changed");
    // Recorded before the event, so that a subscriber asking the status
    // sees it; its miss, if known at once, is told after the event.
    let missed = sink.pending.saved(&path, &plugins);
    tony_core::__private::emit(&sink.system, Event::SourceChanged { path, plugins });
    sink.pending.tell(missed);
}

fn reload_config(system: &PluginSystem, file: Option<&Path>) {
    let Some(file) = file.filter(|f| f.exists()) else {
        return;
    };
    match system.reload_plugin_config(file) {
        Ok(Some(r)) if !r.success => {
            tracing::warn!(error = ?r.error, "configuration reload rolled back")
        }
        Ok(_) => tracing::info!(file = %file.display(), "plugin configuration applied"),
        Err(e) => {
            tracing::warn!(error = %e, "plugin configuration rejected; the previous one stays")
        }
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}
