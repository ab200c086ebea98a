//! The reload transaction: validate -> prepare (old code) -> swap -> commit
//! (new code), and on failure undo in reverse. Manual reloads, configuration
//! changes and hot patches all go through [`run`]; this module plans and
//! validates (stage 1), `transaction/commit.rs` runs stages 2 to 5.

pub(crate) mod commit;
pub(crate) mod lifecycle;
pub(crate) mod reload;
pub(crate) mod swap;
pub(crate) mod validate;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use crate::engine::Engine;
use crate::engine::containment::contain;
use crate::events::Event;
use crate::events::status::PluginState;
use crate::plugin::resolve::{self, Conflict};
use crate::transaction::commit::Candidates;
use crate::transaction::reload::{ReloadError, ReloadResult, Stage, StateRestore, Trigger, fail};
use crate::transaction::swap::Swap;

/// Runs one transaction over `targets` (plus their dependents, when the
/// configuration says so). The caller holds the system's transaction lock.
pub(crate) fn run(
    engine: &Engine,
    targets: &[String],
    trigger: Trigger,
    swap: &mut dyn Swap,
) -> ReloadResult {
    let started = Instant::now();
    if targets.is_empty() {
        return swap_only(swap, trigger, started);
    }
    let config = engine.config();
    let primary = targets.first().cloned().unwrap_or_default();
    engine.emit(Event::ReloadStarted {
        plugins: targets.to_vec(),
        trigger: trigger.clone(),
    });

    let previous = engine.read(&primary, |e| e.descriptor.metadata.version().clone());
    let mut result = ReloadResult {
        success: false,
        previous_version: previous.clone(),
        new_version: previous,
        ..ReloadResult::none_reloaded(primary.clone(), trigger, None)
    };

    let outcome = plan(engine, targets, config.reload_dependents, swap)
        .and_then(|(order, candidates)| {
            if config.validate_before_reload {
                validate(engine, &order, &candidates)?;
            }
            result.dependents_reloaded = order
                .iter()
                .filter(|n| !targets.contains(n))
                .cloned()
                .collect();
            Ok((order, candidates))
        })
        .and_then(|(order, candidates)| {
            commit::execute(engine, &order, candidates, swap, &config, &mut result)
        });

    if let Err(e) = outcome {
        tracing::warn!(plugin = %e.plugin, stage = %e.stage, error = %e.message, "reload failed");
        result.error = Some(e);
    } else {
        result.success = true;
        result.new_version = engine.read(&primary, |e| e.descriptor.metadata.version().clone());
        result.state_preserved = result
            .states
            .iter()
            .all(|(_, s)| !matches!(s, StateRestore::Reset { .. }));
    }
    result.duration = started.elapsed();
    engine.emit(if result.success {
        Event::ReloadCompleted(Box::new(result.clone()))
    } else {
        Event::ReloadFailed(Box::new(result.clone()))
    });
    result
}

/// The set to cycle, in activation order, with the descriptor each will have.
fn plan(
    engine: &Engine,
    targets: &[String],
    with_dependents: bool,
    swap: &dyn Swap,
) -> Result<(Vec<String>, Candidates), ReloadError> {
    for t in targets {
        match engine.read(t, |e| (e.state, e.kept.is_some())) {
            None => {
                return Err(fail(
                    t,
                    Stage::Validate,
                    "no plugin of that name is registered",
                ));
            }
            // A failed plugin whose last good state is kept comes back from it.
            Some((PluginState::Active, _) | (PluginState::Failed, true)) => {}
            Some((state, _)) => {
                return Err(fail(
                    t,
                    Stage::Validate,
                    format!("plugin is {state}, not active"),
                ));
            }
        }
    }
    let catalog = engine.catalog();
    let mut set: BTreeSet<String> = targets.iter().cloned().collect();
    if with_dependents {
        set.extend(resolve::dependents(&catalog, targets, |n| {
            engine.is_active(n)
        }));
    }
    let candidates = set
        .iter()
        .map(|n| {
            let current = engine.descriptor(n);
            // The swap is user code (a hot patch's reads its new registry).
            let candidate = contain(n, "swap", || Ok(swap.candidate(n)))
                .map_err(|e| fail(n, Stage::Validate, e))?;
            let d = candidate
                .or(current)
                .ok_or_else(|| fail(n, Stage::Validate, "vanished"))?;
            Ok((n.clone(), d))
        })
        .collect::<Result<Candidates, ReloadError>>()?;
    // In the order of the metadata they will have: the new code may depend
    // on something the old did not.
    let mut next = catalog;
    for (n, d) in &candidates {
        next.insert(n.clone(), Arc::clone(&d.metadata));
    }
    let order = resolve::order_subset(&next, &set);
    Ok((order, candidates))
}

/// Stage 1: nothing has changed yet; a rejection changes nothing.
fn validate(engine: &Engine, order: &[String], candidates: &Candidates) -> Result<(), ReloadError> {
    let mut catalog = engine.catalog();
    for (n, d) in candidates {
        catalog.insert(n.clone(), Arc::clone(&d.metadata));
    }
    for name in order {
        let new = &catalog[name];
        new.validate().map_err(|e| fail(name, Stage::Validate, e))?;
        // No dependency cycle through it: new metadata (a hot patch of the
        // attribute) can close one.
        let resolution = resolve::resolve(&catalog, &[name.as_str()], &engine.tony_version);
        if let Some(cycle) =
            (resolution.conflicts.iter()).find(|c| matches!(c, Conflict::Cycle { .. }))
        {
            return Err(fail(name, Stage::Validate, cycle));
        }
        if let Some(min) = new.min_tony_version().filter(|m| engine.tony_version < **m) {
            return Err(fail(
                name,
                Stage::Validate,
                format!(
                    "needs Tony {min} or newer, this is Tony {}",
                    engine.tony_version
                ),
            ));
        }
        // Its own required dependencies still hold.
        for d in new.dependencies().iter().filter(|d| !d.optional) {
            match catalog.get(&d.name) {
                Some(m) if d.req.matches(m.version()) && engine.is_active(&d.name) => {}
                Some(m) => {
                    return Err(fail(
                        name,
                        Stage::Validate,
                        format!(
                            "requires `{}` {}, found {} ({})",
                            d.name,
                            d.req,
                            m.version(),
                            if engine.is_active(&d.name) {
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
            if !engine.is_active(other) {
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
        let running = engine.read(name, |e| Arc::clone(&e.descriptor.metadata));
        let running = running.as_deref().unwrap_or(new);
        for v in engine.validators.iter() {
            let verdict = contain(name, "validator", || Ok(v.validate(new, running)))
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

/// A transaction over no plugin (a hot patch that changes none): the swap
/// alone, serialized with every other transaction like any reload, but with
/// no reload events, since nothing is reloaded.
fn swap_only(swap: &mut dyn Swap, trigger: Trigger, started: Instant) -> ReloadResult {
    let error = contain("", "swap", || swap.apply()).err().map(|e| {
        if let Err(undo) = contain("", "swap undo", || swap.undo()) {
            tracing::error!(error = %undo, "undoing a failed swap failed");
        }
        fail("", Stage::Swap, e)
    });
    ReloadResult {
        state_preserved: true,
        attempts: 1,
        duration: started.elapsed(),
        ..ReloadResult::none_reloaded(String::new(), trigger, error)
    }
}
