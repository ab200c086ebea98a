//! [`HotReload`]: hot reload switched on for a [`PluginSystem`] — plugin
//! sources and the plugin configuration file watched, hot patches taken from
//! `dx serve --hot-patch` — and its status.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use tony_core::{ErrorSource, Event, PluginSystem, UnknownTable};

use crate::patch::{PatchIntake, PatchStatus};
use crate::watcher::{self, ChangeEvent, ChangeSink, FileWatcher, WatchState, WatcherConfig};

/// Why hot reload could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A directory or file could not be watched.
    #[error(transparent)]
    Watch(#[from] watcher::Error),
}

/// Switches hot reload on for a [`PluginSystem`] (the seed's
/// `startHotReload`).
///
/// ```no_run
/// use tony_hot::HotReloadExt;
///
/// let system = tony_core::PluginSystem::builder().build()?;
/// system.initialize()?;
/// let hot = system.start_hot_reload()?; // runs until dropped (`stopHotReload`)
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

/// A plugin source file being watched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchedPlugin {
    /// The plugin.
    pub plugin: String,
    /// Its source file (recorded by `#[tony_plugin]`).
    pub file: PathBuf,
}

/// What hot reload is doing (the seed's `getHotReloadStatus`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HotReloadStatus {
    /// Whether hot reload runs (the configuration's `enabled`).
    pub enabled: bool,
    /// Every plugin whose source file is watched right now.
    pub watching: Vec<WatchedPlugin>,
    /// Plugins whose source file could not be found (built elsewhere?), or
    /// whose directory is gone for now (deleted by a `git checkout`; it is
    /// watched again when it reappears, see `watched`).
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
    /// Every path the watchers hold (plugin source directories, the
    /// configuration file or its directory) and whether it is watched right
    /// now or waiting for a deleted directory to reappear.
    pub watched: BTreeMap<PathBuf, WatchState>,
    /// The hot-patch intake.
    pub patches: PatchStatus,
}

/// Hot reload, running. Stops when dropped (the seed's `stopHotReload`).
pub struct HotReload {
    system: PluginSystem,
    enabled: bool,
    watching: Vec<WatchedPlugin>,
    unwatched: Vec<WatchedPlugin>,
    config_file: Option<PathBuf>,
    // Fields drop in order: watchers first, then the intake.
    _sources: Option<FileWatcher>,
    _config: Option<FileWatcher>,
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
            watching: Vec::new(),
            unwatched: Vec::new(),
            config_file: None,
            _sources: None,
            _config: None,
            intake: None,
        };
        if !config.enabled {
            tracing::info!(
                "hot reload is disabled by the configuration (TONY_ENV preset); nothing is watched"
            );
            return Ok(hot);
        }
        let watch_config = WatcherConfig::new()
            .with_debounce(config.debounce)
            .with_recursive(false)
            .with_extensions(config.extensions.clone());
        let watch_config = config
            .ignore
            .iter()
            .fold(watch_config, |c, p| c.with_ignore(p.clone()));

        let (watching, unwatched) = plugin_sources(&system);
        hot.unwatched = unwatched;
        if !watching.is_empty() {
            let dirs: BTreeSet<PathBuf> = watching
                .iter()
                .filter_map(|w| w.file.parent().map(Path::to_path_buf))
                .collect();
            let watcher = FileWatcher::new(watch_config.clone(), SourceSink::new(system.clone()))?;
            for dir in dirs {
                watcher.watch_path(&dir)?;
            }
            hot._sources = Some(watcher);
        }
        hot.watching = watching;

        if let Some(path) = config.plugin_config_path.clone() {
            // Resolved against the working directory now, not at each change.
            let path = std::path::absolute(&path).unwrap_or(path);
            let ext: Vec<String> = path
                .extension()
                .map(|e| e.to_string_lossy().into_owned())
                .into_iter()
                .collect();
            // An existing file is watched by name (a symlink is followed, and
            // re-pointing it is noticed); a missing one through its
            // directory, where it may be created later.
            let (watched, expected) = match path.parent() {
                Some(dir) if !path.exists() => {
                    let expected = path.file_name().map(|name| canonical(dir).join(name));
                    (dir.to_path_buf(), expected)
                }
                _ => (path.clone(), None),
            };
            let sink_system = system.clone();
            let file = path.clone();
            let watcher = FileWatcher::new(
                watch_config.with_extensions(ext),
                move |event: ChangeEvent| {
                    let ours = expected.as_ref().is_none_or(|e| event.concerns(e));
                    if ours && file.exists() {
                        match sink_system.reload_plugin_config(&file) {
                            Ok(Some(r)) if !r.success => {
                                tracing::warn!(error = ?r.error, "configuration reload rolled back")
                            }
                            Ok(_) => {
                                tracing::info!(file = %file.display(), "plugin configuration applied")
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "plugin configuration rejected; the previous one stays")
                            }
                        }
                    }
                },
            )?;
            watcher.watch_path(&watched)?;
            hot._config = Some(watcher);
            hot.config_file = Some(path);
        }

        hot.intake = Some(PatchIntake::start(system));
        tracing::info!(
            plugins = hot.watching.len(),
            config = ?hot.config_file,
            "hot reload started"
        );
        Ok(hot)
    }

    /// What is watched, and the state of the patch intake.
    pub fn status(&self) -> HotReloadStatus {
        let sources = self
            ._sources
            .as_ref()
            .map(FileWatcher::watch_states)
            .unwrap_or_default();
        let (watching, waiting): (Vec<_>, Vec<_>) = self.watching.iter().cloned().partition(|w| {
            w.file
                .parent()
                .and_then(|dir| sources.get(&canonical(dir)))
                .is_some_and(WatchState::is_watched)
        });
        HotReloadStatus {
            enabled: self.enabled,
            watching,
            unwatched: self.unwatched.iter().cloned().chain(waiting).collect(),
            config_file: self.config_file.clone(),
            config_warnings: self.system.unknown_config_tables(),
            watched: [&self._sources, &self._config]
                .into_iter()
                .flatten()
                .flat_map(FileWatcher::watch_states)
                .collect(),
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

/// Every active or registered plugin's source file, split by whether it exists.
fn plugin_sources(system: &PluginSystem) -> (Vec<WatchedPlugin>, Vec<WatchedPlugin>) {
    system
        .status()
        .into_iter()
        .map(|s| WatchedPlugin {
            plugin: s.name,
            file: PathBuf::from(&*s.source.file),
        })
        .partition(|w| w.file.is_file())
}

/// Turns source-file changes into [`Event::SourceChanged`], and explains once
/// what to do when no hot patch can follow.
struct SourceSink {
    system: PluginSystem,
    /// Canonical source file -> the plugins defined in it.
    files: BTreeMap<PathBuf, Vec<String>>,
    explained: bool,
}

impl SourceSink {
    fn new(system: PluginSystem) -> Self {
        let mut files: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
        for w in plugin_sources(&system).0 {
            files.entry(canonical(&w.file)).or_default().push(w.plugin);
        }
        SourceSink {
            system,
            files,
            explained: false,
        }
    }
}

impl ChangeSink for SourceSink {
    fn handle_event(&mut self, event: ChangeEvent) {
        for path in &event.paths {
            let Some(plugins) = self.files.get(path) else {
                continue;
            };
            tracing::info!(file = %path.display(), ?plugins, "plugin source changed");
            self.system.emit(Event::SourceChanged {
                path: path.clone(),
                plugins: plugins.clone(),
            });
            if !crate::patch::under_dx() && !self.explained {
                self.explained = true;
                let message = format!(
                    "{} changed, but no hot patch can follow: this app is not running under dx. \
                     Run it with `dx serve --hot-patch` (and the crate's `hot` feature) to see edits live; \
                     see the Tony README, \"Hot patching\".",
                    path.display()
                );
                tracing::warn!("{message}");
                self.system.emit(Event::Error {
                    source: ErrorSource::Patch,
                    plugin: plugins.first().cloned(),
                    message,
                });
            }
        }
    }
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}
