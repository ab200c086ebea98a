//! Stages 2 to 5 of a reload transaction, with the set held: prepare (old
//! code, dependents first) -> swap -> commit (new code, dependencies first,
//! retried) -> on failure, undo in reverse. No other thread reaches these
//! plugins until the transaction ends; no lock is held while hooks run.
//!
//! The last good state is never thrown away: a plugin that a rollback cannot
//! reactivate is left [`PluginState::Failed`] with the snapshot its prepare
//! phase took, and its next load or reload starts from it.

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::access::context::Context;
use crate::config::HotReloadConfig;
use crate::engine::Engine;
use crate::engine::containment::{self, contain};
use crate::events::status::PluginState;
use crate::events::{ErrorSource, Event};
use crate::plugin::Plugin;
use crate::plugin::descriptor::PluginDescriptor;
use crate::plugin::fingerprint::Fingerprints;
use crate::plugin::snapshot::Snapshot;
use crate::transaction::lifecycle;
use crate::transaction::reload::{ReloadError, ReloadResult, Stage, StateRestore, fail};
use crate::transaction::swap::Swap;

/// The descriptor each plugin of the transaction will have after the swap.
pub(crate) type Candidates = BTreeMap<String, PluginDescriptor>;

/// A plugin taken out of service by the prepare phase.
struct Taken {
    name: String,
    /// The previous instance; `None` for a failed plugin coming back from
    /// its kept state.
    old: Option<Box<dyn Plugin>>,
    old_descriptor: PluginDescriptor,
    old_live: Fingerprints,
    /// The last good state.
    snapshot: Snapshot,
    /// Rebuild from this instead of `snapshot` (a manual restore).
    restore: Option<Snapshot>,
}

/// Stages 2 to 5 over `order` (dependencies first).
pub(crate) fn execute(
    engine: &Engine,
    order: &[String],
    candidates: Candidates,
    swap: &mut dyn Swap,
    config: &HotReloadConfig,
    result: &mut ReloadResult,
) -> Result<(), ReloadError> {
    let hold = engine.acquire(order);
    let outcome = prepare_swap_commit(engine, order, candidates, swap, config, result);
    drop(hold);
    outcome
}

fn prepare_swap_commit(
    engine: &Engine,
    order: &[String],
    mut candidates: Candidates,
    swap: &mut dyn Swap,
    config: &HotReloadConfig,
    result: &mut ReloadResult,
) -> Result<(), ReloadError> {
    // 2. prepare, old code, dependents first.
    let mut taken: Vec<Taken> = Vec::with_capacity(order.len());
    for name in order.iter().rev() {
        match take_one(engine, name) {
            Ok(t) => taken.push(t),
            Err((e, failed)) => {
                // Dependencies first: the failed one, then the ones taken before it.
                let back = failed.into_iter().chain(taken.into_iter().rev()).collect();
                reinstate(engine, back, result);
                return Err(e);
            }
        }
    }
    taken.reverse(); // dependencies first again

    // 3. swap (user code: the snapshots it asks to restore, then `apply`).
    let restores = taken.iter().try_fold(Vec::new(), |mut v, t| {
        contain(&t.name, "swap", || Ok(swap.restore_from(&t.name).cloned())).map(|s| {
            v.push(s);
            v
        })
    });
    let restores = match restores {
        Ok(restores) => restores,
        Err(e) => {
            reinstate(engine, taken, result);
            return Err(fail(&result.plugin, Stage::Swap, e));
        }
    };
    if let Err(e) = contain(&result.plugin, "swap", || swap.apply()) {
        if let Err(undo) = contain(&result.plugin, "swap undo", || swap.undo()) {
            tracing::error!(error = %undo, "undoing a failed swap failed");
        }
        reinstate(engine, taken, result);
        return Err(fail(&result.plugin, Stage::Swap, e));
    }
    for (t, restore) in taken.iter_mut().zip(restores) {
        if let Some(d) = candidates.remove(&t.name) {
            engine.update(&t.name, |e| e.descriptor = d);
        }
        t.restore = restore;
    }

    // 4. commit, new code, dependencies first; retried.
    let attempts = config.max_retry_attempts.get();
    let mut last = None;
    for attempt in 1..=attempts {
        result.attempts = attempt;
        match commit(engine, &taken, config.preserve_state) {
            Ok(states) => {
                result.states = states;
                for t in taken {
                    if let Some(old) = t.old {
                        drop_reported(engine, &t.name, old);
                    }
                }
                return Ok(());
            }
            Err(e) => {
                tracing::warn!(attempt, plugin = %e.plugin, stage = %e.stage, error = %e.message, "commit attempt failed");
                last = Some(e);
            }
        }
    }

    // 5. undo in reverse: old code back, old instances reactivated.
    if let Err(e) = contain(&result.plugin, "swap undo", || swap.undo()) {
        tracing::error!(error = %e, "undoing the swap failed");
        engine.emit(Event::Error {
            source: ErrorSource::HotReload,
            plugin: Some(result.plugin.clone()),
            message: format!("undoing the swap failed: {e}"),
        });
    }
    reinstate(engine, taken, result);
    Err(last.unwrap_or_else(|| fail(&result.plugin, Stage::Activate, "no attempt ran")))
}

/// Drops a plugin instance no longer needed; a panicking `Drop` is reported.
fn drop_reported(engine: &Engine, name: &str, instance: Box<dyn Plugin>) {
    if let Err(e) = containment::drop_contained(name, "drop", instance) {
        tracing::error!(plugin = name, error = %e, "dropping the previous instance panicked");
        engine.emit(Event::Error {
            source: ErrorSource::HotReload,
            plugin: Some(name.to_owned()),
            message: format!("dropping the previous instance failed: {e}"),
        });
    }
}

/// Snapshots then deactivates one plugin. A failed snapshot leaves it as it
/// was; a failed deactivate hands it back to be reinstated.
fn take_one(engine: &Engine, name: &str) -> Result<Taken, (ReloadError, Option<Taken>)> {
    let Some((descriptor, live, kept)) =
        engine.read(name, |e| (e.descriptor.clone(), e.live, e.kept.clone()))
    else {
        return Err((fail(name, Stage::Snapshot, "vanished"), None));
    };
    // The code's hot entry answers before anything is taken: after a patch
    // whose entry panics, the plugin stays as it is.
    let vtable = descriptor.vtable();
    let old = engine.take_instance(name);
    let Some(old) = old else {
        // A failed plugin: its kept state is the last good one.
        return match kept {
            Some(snapshot) => Ok(Taken {
                name: name.to_owned(),
                old: None,
                old_descriptor: descriptor,
                old_live: live,
                snapshot,
                restore: None,
            }),
            None => Err((fail(name, Stage::Snapshot, "plugin has no instance"), None)),
        };
    };

    let bytes = match vtable.and_then(|vt| contain(name, "snapshot", || (vt.save)(&*old))) {
        Ok(b) => b,
        Err(e) => {
            engine.put_instance(name, old, live);
            return Err((fail(name, Stage::Snapshot, e), None));
        }
    };
    engine.emit(Event::StatePreserved {
        plugin: name.to_owned(),
        bytes: bytes.len(),
    });
    let snapshot = Snapshot {
        plugin: name.to_owned(),
        version: descriptor.metadata.version().clone(),
        state_version: descriptor.metadata.state_version(),
        fingerprint: live.state,
        bytes,
        taken_at: SystemTime::now(),
    };
    let mut taken = Taken {
        name: name.to_owned(),
        old: Some(old),
        old_descriptor: descriptor,
        old_live: live,
        snapshot,
        restore: None,
    };
    let metadata = &taken.old_descriptor.metadata;
    let deactivated = match taken.old.as_mut() {
        Some(old) => contain(name, "deactivate", || {
            old.deactivate(&mut Context::new(engine, metadata))
        }),
        None => Ok(()),
    };
    engine.services.withdraw(name);
    match deactivated {
        Ok(()) => Ok(taken),
        Err(e) => Err((fail(name, Stage::Deactivate, e), Some(taken))),
    }
}

/// One commit attempt: rebuild every instance through the current code and
/// activate it. On failure, deactivates what this attempt activated.
fn commit(
    engine: &Engine,
    taken: &[Taken],
    preserve_state: bool,
) -> Result<Vec<(String, StateRestore)>, ReloadError> {
    let mut done: Vec<&Taken> = Vec::new();
    let mut states = Vec::new();
    for t in taken {
        match rebuild_and_activate(engine, t, preserve_state) {
            Ok(how) => {
                states.push((t.name.clone(), how));
                done.push(t);
            }
            Err(e) => {
                for t in done.into_iter().rev() {
                    let taken_back = engine
                        .take_instance(&t.name)
                        .zip(engine.descriptor(&t.name));
                    if let Some((mut new, descriptor)) = taken_back {
                        let _ = contain(&t.name, "deactivate", || {
                            new.deactivate(&mut Context::new(engine, &descriptor.metadata))
                        });
                        drop_reported(engine, &t.name, new);
                    }
                    engine.services.withdraw(&t.name);
                }
                return Err(e);
            }
        }
    }
    Ok(states)
}

fn rebuild_and_activate(
    engine: &Engine,
    t: &Taken,
    preserve_state: bool,
) -> Result<StateRestore, ReloadError> {
    let name = t.name.as_str();
    let descriptor = engine
        .descriptor(name)
        .ok_or_else(|| fail(name, Stage::Restore, "vanished"))?;
    let vt = descriptor
        .vtable()
        .map_err(|e| fail(name, Stage::Restore, e))?;
    let snapshot = t.restore.as_ref().unwrap_or(&t.snapshot);
    let live = contain(name, "fingerprints", || Ok((vt.fingerprints)()))
        .map_err(|e| fail(name, Stage::Restore, e))?;
    let fresh = || contain(name, "create", || Ok((vt.create)()));
    // A manual snapshot restore always restores, whatever `preserve_state` says.
    let (mut instance, how) = if !preserve_state && t.restore.is_none() {
        let reason = "preserve_state is off".to_owned();
        let instance = fresh().map_err(|e| fail(name, Stage::Restore, e))?;
        (instance, StateRestore::Reset { reason })
    } else {
        let stage = if live.state == snapshot.fingerprint {
            Stage::Restore
        } else {
            Stage::Migrate
        };
        match lifecycle::rebuild(name, &vt, live.state, snapshot)
            .map_err(|e| fail(name, stage, e))?
        {
            Some(instance) if stage == Stage::Restore => (instance, StateRestore::Decoded),
            Some(instance) => (
                instance,
                StateRestore::Migrated {
                    from_state_version: snapshot.state_version,
                },
            ),
            // A snapshot restored by hand must fit: never wipe the live state.
            None if t.restore.is_some() => {
                return Err(fail(
                    name,
                    Stage::Migrate,
                    format!(
                        "the snapshot was written by another state layout ({:#x}, the code has {:#x}) \
                         and the plugin has no migration; its state is left as it was",
                        snapshot.fingerprint, live.state
                    ),
                ));
            }
            None => {
                let reason = "state layout changed and the plugin has no migration; \
                              started from default"
                    .to_owned();
                tracing::warn!(plugin = name, "{reason}");
                let instance = fresh().map_err(|e| fail(name, Stage::Restore, e))?;
                (instance, StateRestore::Reset { reason })
            }
        }
    };
    engine.emit(Event::StateRestored {
        plugin: name.to_owned(),
        how: how.clone(),
    });
    let activated = contain(name, "activate", || {
        instance.activate(&mut Context::new(engine, &descriptor.metadata))
    });
    if let Err(e) = activated {
        engine.services.withdraw(name);
        drop_reported(engine, name, instance);
        return Err(fail(name, Stage::Activate, e));
    }
    engine.put_instance(name, instance, live);
    engine.update(name, |e| {
        e.state = PluginState::Active;
        e.error = None;
        e.kept = None;
    });
    Ok(how)
}

/// Puts the previous instances back and reactivates them, dependencies
/// first. One that cannot be reactivated is left failed, with its last good
/// state kept.
fn reinstate(engine: &Engine, taken: Vec<Taken>, result: &mut ReloadResult) {
    result.rolled_back = true;
    for t in taken {
        let Taken {
            name,
            old,
            old_descriptor,
            old_live,
            snapshot,
            ..
        } = t;
        engine.update(&name, |e| e.descriptor = old_descriptor.clone());
        let error = match old {
            Some(mut old) => {
                let activated = contain(&name, "activate", || {
                    old.activate(&mut Context::new(engine, &old_descriptor.metadata))
                });
                match activated {
                    Ok(()) => {
                        engine.put_instance(&name, old, old_live);
                        engine.update(&name, |e| {
                            e.state = PluginState::Active;
                            e.error = None;
                        });
                        continue;
                    }
                    Err(e) => {
                        engine.services.withdraw(&name);
                        drop_reported(engine, &name, old);
                        format!("rollback could not reactivate the previous version: {e}")
                    }
                }
            }
            None => "reload failed; it stays failed".to_owned(),
        };
        tracing::error!(plugin = %name, error = %error, "plugin left failed; its last good state is kept");
        engine.update(&name, |e| {
            e.state = PluginState::Failed;
            e.error = Some(error.clone());
            e.kept = Some(snapshot);
        });
        result.failed.push(name.clone());
        engine.emit(Event::Error {
            source: ErrorSource::HotReload,
            plugin: Some(name),
            message: format!("{error}; its last good state is kept for the next load"),
        });
    }
}
