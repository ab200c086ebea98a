//! Snapshots by hand: [`PluginSystem::create_state_snapshot`] and
//! [`PluginSystem::restore_state_snapshot`].

use crate::access::{AccessError, OnTxn};
use crate::engine::containment::contain;
use crate::plugin::snapshot::Snapshot;
use crate::system::{Error, PluginSystem};
use crate::transaction::reload::{ReloadResult, Trigger};
use crate::transaction::swap::RestoreSnapshot;

impl PluginSystem {
    /// Takes a snapshot of `name`'s state now.
    ///
    /// Waits while a reload holds the plugin. From inside typed access to the
    /// same plugin it is refused ([`Error::Reentrant`]).
    pub fn create_state_snapshot(&self, name: &str) -> Result<Snapshot, Error> {
        let mut out = None;
        let lent = self
            .engine
            .access(name.to_owned(), None, OnTxn::Wait, |instance, live| {
                // Lent to this thread: no transaction can swap the
                // descriptor until the instance is back.
                let Some(d) = self.engine.read(name, |e| e.descriptor.clone()) else {
                    return;
                };
                out = Some(
                    d.vtable()
                        .and_then(|vt| contain(name, "snapshot", || (vt.save)(instance)))
                        .map(|bytes| Snapshot {
                            plugin: name.to_owned(),
                            version: d.metadata.version().clone(),
                            state_version: d.metadata.state_version(),
                            fingerprint: live.state,
                            bytes,
                            taken_at: std::time::SystemTime::now(),
                        }),
                );
            });
        match lent {
            Ok(()) => {}
            Err(AccessError::Unknown(n)) => return Err(Error::Unknown(n)),
            Err(AccessError::NotActive { plugin, state }) => {
                return Err(Error::NotActive { plugin, state });
            }
            Err(AccessError::Reentrant(_)) => {
                return Err(Error::Reentrant("create_state_snapshot"));
            }
            Err(e) => return Err(e.into()),
        }
        match out {
            Some(Ok(snapshot)) => Ok(snapshot),
            Some(Err(source)) => Err(Error::Snapshot {
                plugin: name.to_owned(),
                source,
            }),
            None => Err(Error::Unknown(name.to_owned())),
        }
    }

    /// Puts `snapshot` back into its plugin, as a reload transaction: the plugin is rebuilt from the
    /// snapshot (migrated if its layout changed since) and reactivated; on
    /// failure it keeps its current state. A snapshot of another layout, for
    /// a plugin without migration, is refused and changes nothing.
    pub fn restore_state_snapshot(&self, snapshot: &Snapshot) -> ReloadResult {
        let mut swap = RestoreSnapshot(snapshot.clone());
        self.reload_as(&[snapshot.plugin.as_str()], Trigger::Snapshot, &mut swap)
    }
}
