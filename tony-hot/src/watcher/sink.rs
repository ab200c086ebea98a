//! Where change events go.

use std::sync::mpsc;

use super::ChangeEvent;

/// Receives the watcher's [`ChangeEvent`]s, one call per event, on the
/// watcher's own thread.
///
/// Implemented for closures `FnMut(ChangeEvent) + Send + 'static` and for
/// [`mpsc::Sender`] / [`mpsc::SyncSender`] of `ChangeEvent` (a send to a
/// dropped receiver is ignored). A sink that panics is caught: the panic is
/// logged with `tracing` and the watcher goes on with the next event.
/// A sink should return quickly; while it runs, the watcher's thread
/// processes nothing else.
///
/// # Example
///
/// ```
/// use tony_hot::{ChangeEvent, ChangeSink, FileWatcher, WatcherConfig};
///
/// /// Counts events.
/// struct Counter(std::sync::Arc<std::sync::atomic::AtomicUsize>);
///
/// impl ChangeSink for Counter {
///     fn handle_event(&mut self, _event: ChangeEvent) {
///         self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///     }
/// }
///
/// let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
/// let _by_type = FileWatcher::new(WatcherConfig::default(), Counter(count.clone()))?;
/// let _by_closure = FileWatcher::new(WatcherConfig::default(), |e: ChangeEvent| {
///     tracing::info!(?e, "changed");
/// })?;
/// let (tx, _rx) = std::sync::mpsc::channel();
/// let _by_channel = FileWatcher::new(WatcherConfig::default(), tx)?;
/// # Ok::<(), tony_hot::WatchError>(())
/// ```
pub trait ChangeSink: Send + 'static {
    /// Handles one event.
    fn handle_event(&mut self, event: ChangeEvent);
}

impl<F> ChangeSink for F
where
    F: FnMut(ChangeEvent) + Send + 'static,
{
    fn handle_event(&mut self, event: ChangeEvent) {
        self(event);
    }
}

impl ChangeSink for mpsc::Sender<ChangeEvent> {
    fn handle_event(&mut self, event: ChangeEvent) {
        if let Err(mpsc::SendError(event)) = self.send(event) {
            tracing::debug!(?event, "change receiver dropped; event discarded");
        }
    }
}

/// Blocks the watcher's thread while the channel is full.
impl ChangeSink for mpsc::SyncSender<ChangeEvent> {
    fn handle_event(&mut self, event: ChangeEvent) {
        if let Err(mpsc::SendError(event)) = self.send(event) {
            tracing::debug!(?event, "change receiver dropped; event discarded");
        }
    }
}
