//! The reload transaction: validate -> prepare (old code) -> swap -> commit
//! (new code), and on failure undo in reverse. Manual reloads, configuration
//! changes and hot patches all go through [`run`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::containment::contain;
use crate::events::Event;
use crate::reload::{ReloadError, ReloadResult, Stage, Trigger};
use crate::resolve;
use crate::slot::Slot;
use crate::snapshot::Snapshot;
use crate::system::Inner;
use crate::{BoxError, Context, Fingerprints, Plugin, PluginDescriptor, PluginState, StateRestore};

/// The step of a reload that installs the new code or configuration, and
/// takes it back out.
///
/// A manual reload swaps nothing ([`NoSwap`]); a configuration reload swaps
/// the tables; a hot patch applies the jump table and, to undo, re-applies
/// the previous one.
pub trait Swap {
    /// Installs the new version. Runs once every plugin of the transaction is
    /// deactivated.
    fn apply(&mut self) -> Result<(), BoxError>;

    /// Puts the previous version back. Runs when the commit failed for good,
    /// or when `apply` failed.
    fn undo(&mut self) -> Result<(), BoxError>;

    /// The descriptor `plugin` will have after the swap, when it changes
    /// (new metadata, new functions). Validated before anything changes.
    fn candidate(&self, plugin: &str) -> Option<PluginDescriptor> {
        let _ = plugin;
        None
    }

    /// A snapshot to rebuild `plugin` from instead of the one the prepare
    /// phase takes.
    #[doc(hidden)]
    fn restore_from(&self, plugin: &str) -> Option<&Snapshot> {
        let _ = plugin;
        None
    }
}

/// The swap of a manual reload: nothing to install.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSwap;

impl Swap for NoSwap {
    fn apply(&mut self) -> Result<(), BoxError> {
        Ok(())
    }

    fn undo(&mut self) -> Result<(), BoxError> {
        Ok(())
    }
}

/// A plugin taken out of service by the prepare phase.
struct Taken {
    name: String,
    slot: Arc<Slot>,
    old: Box<dyn Plugin>,
    old_descriptor: PluginDescriptor,
    old_live: Fingerprints,
    snapshot: Snapshot,
    /// Rebuild from this instead of `snapshot` (a manual restore).
    restore: Option<Snapshot>,
}

fn fail(plugin: &str, stage: Stage, message: impl ToString) -> ReloadError {
    ReloadError {
        plugin: plugin.to_owned(),
        stage,
        message: message.to_string(),
    }
}

/// Runs one transaction over `targets` (plus their dependents, when the
/// configuration says so). The caller holds the system's transaction lock.
pub(crate) fn run(
    inner: &Inner,
    targets: &[String],
    trigger: Trigger,
    swap: &mut dyn Swap,
) -> ReloadResult {
    let started = Instant::now();
    let config = inner.config();
    let primary = targets.first().cloned().unwrap_or_default();
    inner.emit(Event::ReloadStarted {
        plugins: targets.to_vec(),
        trigger: trigger.clone(),
    });

    let mut result = ReloadResult {
        success: false,
        plugin: primary.clone(),
        previous_version: inner
            .slot(&primary)
            .map(|s| s.peek().descriptor.metadata.version().clone()),
        new_version: None,
        error: None,
        state_preserved: false,
        states: Vec::new(),
        dependents_reloaded: Vec::new(),
        attempts: 0,
        rolled_back: false,
        failed: Vec::new(),
        trigger,
        duration: Default::default(),
    };
    result.new_version = result.previous_version.clone();

    let outcome = plan(inner, targets, config.reload_dependents, swap)
        .and_then(|(order, candidates)| {
            if config.validate_before_reload {
                validate(inner, &order, &candidates)?;
            }
            result.dependents_reloaded = order
                .iter()
                .filter(|n| !targets.contains(n))
                .cloned()
                .collect();
            Ok((order, candidates))
        })
        .and_then(|(order, candidates)| {
            execute(inner, &order, candidates, swap, &config, &mut result)
        });

    if let Err(e) = outcome {
        tracing::warn!(plugin = %e.plugin, stage = %e.stage, error = %e.message, "reload failed");
        result.error = Some(e);
    } else {
        result.success = true;
        result.new_version = inner
            .slot(&primary)
            .map(|s| s.peek().descriptor.metadata.version().clone());
        result.state_preserved = result
            .states
            .iter()
            .all(|(_, s)| !matches!(s, StateRestore::Reset { .. }));
    }
    result.duration = started.elapsed();
    inner.emit(if result.success {
        Event::ReloadCompleted(Box::new(result.clone()))
    } else {
        Event::ReloadFailed(Box::new(result.clone()))
    });
    result
}

type Candidates = BTreeMap<String, PluginDescriptor>;

/// The set to cycle, in activation order, with the descriptor each will have.
fn plan(
    inner: &Inner,
    targets: &[String],
    with_dependents: bool,
    swap: &dyn Swap,
) -> Result<(Vec<String>, Candidates), ReloadError> {
    for t in targets {
        match inner.slot(t).map(|s| s.peek().state) {
            None => {
                return Err(fail(
                    t,
                    Stage::Validate,
                    "no plugin of that name is registered",
                ));
            }
            Some(PluginState::Active) => {}
            Some(state) => {
                return Err(fail(
                    t,
                    Stage::Validate,
                    format!("plugin is {state}, not active"),
                ));
            }
        }
    }
    let catalog = inner.catalog();
    let mut set: BTreeSet<String> = targets.iter().cloned().collect();
    if with_dependents {
        set.extend(resolve::dependents(&catalog, targets, |n| {
            inner.is_active(n)
        }));
    }
    let order = resolve::order_subset(&catalog, &set);
    let candidates = order
        .iter()
        .map(|n| {
            let current = inner.slot(n).map(|s| s.peek().descriptor.clone());
            let d = swap
                .candidate(n)
                .or(current)
                .ok_or_else(|| fail(n, Stage::Validate, "vanished"))?;
            Ok((n.clone(), d))
        })
        .collect::<Result<_, ReloadError>>()?;
    Ok((order, candidates))
}

/// Stage 1: nothing has changed yet; a rejection changes nothing.
fn validate(inner: &Inner, order: &[String], candidates: &Candidates) -> Result<(), ReloadError> {
    let mut catalog = inner.catalog();
    for (n, d) in candidates {
        catalog.insert(n.clone(), Arc::clone(&d.metadata));
    }
    for name in order {
        let new = &catalog[name];
        new.validate().map_err(|e| fail(name, Stage::Validate, e))?;
        if let Some(min) = new.min_tony_version().filter(|m| inner.tony_version < **m) {
            return Err(fail(
                name,
                Stage::Validate,
                format!(
                    "needs Tony {min} or newer, this is Tony {}",
                    inner.tony_version
                ),
            ));
        }
        // Its own required dependencies still hold.
        for d in new.dependencies().iter().filter(|d| !d.optional) {
            match catalog.get(&d.name) {
                Some(m) if d.req.matches(m.version()) && inner.is_active(&d.name) => {}
                Some(m) => {
                    return Err(fail(
                        name,
                        Stage::Validate,
                        format!(
                            "requires `{}` {}, found {} ({})",
                            d.name,
                            d.req,
                            m.version(),
                            if inner.is_active(&d.name) {
                                "active"
                            } else {
                                "not active"
                            }
                        ),
                    ));
                }
                None => {
                    return Err(fail(
                        name,
                        Stage::Validate,
                        format!("requires `{}` {}, which is not registered", d.name, d.req),
                    ));
                }
            }
        }
        // Every active dependent still accepts its version.
        for (other, meta) in &catalog {
            if !inner.is_active(other) {
                continue;
            }
            for d in meta
                .dependencies()
                .iter()
                .filter(|d| d.name == *name && !d.optional)
            {
                if !d.req.matches(new.version()) {
                    return Err(fail(
                        name,
                        Stage::Validate,
                        format!(
                            "version {} breaks dependent `{other}`, which requires {}",
                            new.version(),
                            d.req
                        ),
                    ));
                }
            }
        }
        let running = inner
            .slot(name)
            .map(|s| Arc::clone(&s.peek().descriptor.metadata));
        let running = running.as_deref().unwrap_or(new);
        for v in inner.validators.iter() {
            let verdict = contain(|| Ok(v.validate(new, running)))
                .map_err(|e| fail(name, Stage::Validate, e))?;
            if !verdict.is_valid() {
                return Err(fail(
                    name,
                    Stage::Validate,
                    format!("rejected: {}", verdict.errors.join("; ")),
                ));
            }
        }
    }
    Ok(())
}

/// Stages 2 to 5, with the set held: no other thread reaches these plugins
/// until the transaction ends.
fn execute(
    inner: &Inner,
    order: &[String],
    candidates: Candidates,
    swap: &mut dyn Swap,
    config: &crate::HotReloadConfig,
    result: &mut ReloadResult,
) -> Result<(), ReloadError> {
    let slots: Vec<Arc<Slot>> = order.iter().filter_map(|n| inner.slot(n)).collect();
    for s in &slots {
        s.hold();
    }
    let outcome = prepare_swap_commit(inner, order, &slots, candidates, swap, config, result);
    for s in &slots {
        s.release();
    }
    outcome
}

fn prepare_swap_commit(
    inner: &Inner,
    order: &[String],
    slots: &[Arc<Slot>],
    mut candidates: Candidates,
    swap: &mut dyn Swap,
    config: &crate::HotReloadConfig,
    result: &mut ReloadResult,
) -> Result<(), ReloadError> {
    // 2. prepare, old code, dependents first.
    let mut taken: Vec<Taken> = Vec::with_capacity(order.len());
    for (name, slot) in order.iter().zip(slots).rev() {
        match take_one(inner, name, slot) {
            Ok(t) => taken.push(t),
            Err((e, failed)) => {
                // Dependencies first: the failed one, then the ones taken before it.
                let back = failed.into_iter().chain(taken.into_iter().rev()).collect();
                reinstate(inner, back, result);
                return Err(e);
            }
        }
    }
    taken.reverse(); // dependencies first again

    // 3. swap.
    if let Err(e) = contain(|| swap.apply()) {
        if let Err(undo) = contain(|| swap.undo()) {
            tracing::error!(error = %undo, "undoing a failed swap failed");
        }
        reinstate(inner, taken, result);
        return Err(fail(&result.plugin, Stage::Swap, e));
    }
    for t in &taken {
        if let Some(d) = candidates.remove(&t.name) {
            t.slot.peek().descriptor = d;
        }
    }

    // 4. commit, new code, dependencies first; retried.
    let attempts = config.max_retry_attempts.max(1);
    let mut last = None;
    for t in &mut taken {
        if let Some(s) = swap.restore_from(&t.name) {
            t.restore = Some(s.clone());
        }
    }
    for attempt in 1..=attempts {
        result.attempts = attempt;
        match commit(inner, &taken, config.preserve_state) {
            Ok(states) => {
                result.states = states;
                return Ok(()); // the old instances drop here
            }
            Err(e) => {
                tracing::warn!(attempt, plugin = %e.plugin, stage = %e.stage, error = %e.message, "commit attempt failed");
                last = Some(e);
            }
        }
    }

    // 5. undo in reverse: old code back, old instances reactivated.
    if let Err(e) = contain(|| swap.undo()) {
        tracing::error!(error = %e, "undoing the swap failed");
        inner.emit(Event::Error {
            source: crate::ErrorSource::HotReload,
            plugin: Some(result.plugin.clone()),
            message: format!("undoing the swap failed: {e}"),
        });
    }
    reinstate(inner, taken, result);
    Err(last.unwrap_or_else(|| fail(&result.plugin, Stage::Activate, "no attempt ran")))
}

/// Snapshots then deactivates one plugin. A failed snapshot leaves it as it
/// was; a failed deactivate hands it back to be reinstated.
fn take_one(
    inner: &Inner,
    name: &str,
    slot: &Arc<Slot>,
) -> Result<Taken, (ReloadError, Option<Taken>)> {
    let (old, descriptor, live) = {
        let mut s = slot.peek();
        let Some(instance) = s.instance.take() else {
            return Err((fail(name, Stage::Snapshot, "plugin has no instance"), None));
        };
        (instance, s.descriptor.clone(), s.live)
    };
    let put_back = |old: Box<dyn Plugin>| slot.peek().instance = Some(old);

    let bytes = match contain(|| (descriptor.vtable.save)(&*old)) {
        Ok(b) => b,
        Err(e) => {
            put_back(old);
            return Err((fail(name, Stage::Snapshot, e), None));
        }
    };
    inner.emit(Event::StatePreserved {
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
        slot: Arc::clone(slot),
        old,
        old_descriptor: descriptor,
        old_live: live,
        snapshot,
        restore: None,
    };
    let deactivated = contain(|| {
        let mut ctx = Context::new(inner, &taken.old_descriptor.metadata);
        taken.old.deactivate(&mut ctx)
    });
    inner.services.withdraw(name);
    match deactivated {
        Ok(()) => Ok(taken),
        Err(e) => Err((fail(name, Stage::Deactivate, e), Some(taken))),
    }
}

/// One commit attempt: rebuild every instance through the current code and
/// activate it. On failure, deactivates what this attempt activated.
fn commit(
    inner: &Inner,
    taken: &[Taken],
    preserve_state: bool,
) -> Result<Vec<(String, StateRestore)>, ReloadError> {
    let mut done: Vec<&Taken> = Vec::new();
    let mut states = Vec::new();
    for t in taken {
        match rebuild_and_activate(inner, t, preserve_state) {
            Ok(how) => {
                states.push((t.name.clone(), how));
                done.push(t);
            }
            Err(e) => {
                for t in done.into_iter().rev() {
                    let new = t.slot.peek().instance.take();
                    if let Some(mut new) = new {
                        let descriptor = t.slot.peek().descriptor.clone();
                        let _ = contain(|| {
                            new.deactivate(&mut Context::new(inner, &descriptor.metadata))
                        });
                    }
                    inner.services.withdraw(&t.name);
                }
                return Err(e);
            }
        }
    }
    Ok(states)
}

fn rebuild_and_activate(
    inner: &Inner,
    t: &Taken,
    preserve_state: bool,
) -> Result<StateRestore, ReloadError> {
    let descriptor = t.slot.peek().descriptor.clone();
    let vt = descriptor.vtable;
    let name = t.name.as_str();
    let snapshot = t.restore.as_ref().unwrap_or(&t.snapshot);
    let live = contain(|| Ok((vt.fingerprints)())).map_err(|e| fail(name, Stage::Restore, e))?;
    // A manual snapshot restore always restores, whatever `preserve_state` says.
    let (mut instance, how) = if !preserve_state && t.restore.is_none() {
        let fresh = contain(|| Ok((vt.create)())).map_err(|e| fail(name, Stage::Restore, e))?;
        (
            fresh,
            StateRestore::Reset {
                reason: "preserve_state is off".into(),
            },
        )
    } else if live.state == snapshot.fingerprint {
        let restored =
            contain(|| (vt.load)(&snapshot.bytes)).map_err(|e| fail(name, Stage::Restore, e))?;
        (restored, StateRestore::Decoded)
    } else {
        match contain(|| (vt.migrate)(&snapshot.old_state())) {
            Ok(migrated) => (
                migrated,
                StateRestore::Migrated {
                    from_state_version: snapshot.state_version,
                },
            ),
            Err(e) if crate::__private::is_no_migration(&e) => {
                let fresh =
                    contain(|| Ok((vt.create)())).map_err(|e| fail(name, Stage::Restore, e))?;
                let reason = format!(
                    "state layout changed and the plugin has no migration ({e}); started from default"
                );
                tracing::warn!(plugin = name, "{reason}");
                (fresh, StateRestore::Reset { reason })
            }
            Err(e) => return Err(fail(name, Stage::Migrate, e)),
        }
    };
    inner.emit(Event::StateRestored {
        plugin: name.to_owned(),
        how: how.clone(),
    });
    let activated = contain(|| instance.activate(&mut Context::new(inner, &descriptor.metadata)));
    if let Err(e) = activated {
        inner.services.withdraw(name);
        return Err(fail(name, Stage::Activate, e));
    }
    let mut s = t.slot.peek();
    s.instance = Some(instance);
    s.live = live;
    s.state = PluginState::Active;
    s.error = None;
    Ok(how)
}

/// Puts the previous instances back and reactivates them, dependencies first.
fn reinstate(inner: &Inner, taken: Vec<Taken>, result: &mut ReloadResult) {
    result.rolled_back = true;
    for mut t in taken {
        {
            let mut s = t.slot.peek();
            s.descriptor = t.old_descriptor.clone();
        }
        let activated = contain(|| {
            t.old
                .activate(&mut Context::new(inner, &t.old_descriptor.metadata))
        });
        let mut s = t.slot.peek();
        match activated {
            Ok(()) => {
                s.instance = Some(t.old);
                s.live = t.old_live;
                s.state = PluginState::Active;
            }
            Err(e) => {
                inner.services.withdraw(&t.name);
                tracing::error!(plugin = %t.name, error = %e, "rollback could not reactivate the previous version");
                s.state = PluginState::Failed;
                s.error = Some(format!("rollback failed: {e}"));
                result.failed.push(t.name.clone());
                drop(s);
                inner.emit(Event::Error {
                    source: crate::ErrorSource::HotReload,
                    plugin: Some(t.name.clone()),
                    message: format!("rollback could not reactivate the previous version: {e}"),
                });
            }
        }
    }
}

/// The swap of [`PluginSystem::restore_state_snapshot`](crate::PluginSystem::restore_state_snapshot):
/// nothing to install; the commit rebuilds from the given snapshot.
pub(crate) struct RestoreSnapshot(pub(crate) Snapshot);

impl Swap for RestoreSnapshot {
    fn apply(&mut self) -> Result<(), BoxError> {
        Ok(())
    }

    fn undo(&mut self) -> Result<(), BoxError> {
        Ok(())
    }

    fn restore_from(&self, plugin: &str) -> Option<&Snapshot> {
        (self.0.plugin == plugin).then_some(&self.0)
    }
}
