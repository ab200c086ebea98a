//! notify's watcher with reads left out, for the debouncer to own.

use std::path::Path;

use notify::{Config, Event, EventHandler, RecommendedWatcher, RecursiveMode, Result, Watcher};

/// The platform's watcher, passing everything but access events (opening
/// or closing a file) to the debouncer: a build reading every source would
/// otherwise read as a save of each, and a reload reading the
/// configuration file would report it changed while the next save is
/// half-written.
#[derive(Debug)]
pub(crate) struct NoReads(RecommendedWatcher);

struct Handler<F>(F);

impl<F: EventHandler> EventHandler for Handler<F> {
    fn handle_event(&mut self, event: Result<Event>) {
        if !event.as_ref().is_ok_and(|e| e.kind.is_access()) {
            self.0.handle_event(event);
        }
    }
}

impl Watcher for NoReads {
    fn new<F: EventHandler>(handler: F, config: Config) -> Result<Self> {
        RecommendedWatcher::new(Handler(handler), config).map(Self)
    }

    fn watch(&mut self, path: &Path, mode: RecursiveMode) -> Result<()> {
        self.0.watch(path, mode)
    }

    fn unwatch(&mut self, path: &Path) -> Result<()> {
        self.0.unwatch(path)
    }

    fn kind() -> notify::WatcherKind {
        RecommendedWatcher::kind()
    }
}
