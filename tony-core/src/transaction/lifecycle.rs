//! Loading and unloading: activating plugins in dependency order (from
//! their default state, or from the last good state a failed rollback kept)
//! and deactivating them. The caller holds the transaction lock; each plugin
//! is held while its hooks run, and no lock is held while they do.

use std::collections::BTreeSet;

use crate::access::context::Context;
use crate::engine::Engine;
use crate::engine::containment::{self, contain};
use crate::events::status::PluginState;
use crate::events::{ErrorSource, Event};
use crate::plugin::BoxError;
use crate::plugin::descriptor::{PluginResult, VTable, is_no_migration};
use crate::plugin::resolve;
use crate::plugin::snapshot::Snapshot;

/// What a load did.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    /// Plugins activated, in order.
    pub(crate) activated: Vec<String>,
    /// Roots whose dependencies cannot be satisfied.
    pub(crate) unresolved: Vec<resolve::Error>,
    /// Plugins whose activation failed, with why.
    pub(crate) failed: Vec<(String, BoxError)>,
    /// Plugins left out because something they need failed.
    pub(crate) skipped: Vec<String>,
}

/// Loads `roots` and what they need; keeps going past failures and reports
/// them all.
pub(crate) fn load(engine: &Engine, roots: &[&str]) -> Loaded {
    let catalog = engine.catalog();
    let mut out = Loaded::default();
    // One walk for all roots: linear in the graph, whatever its shape.
    let order = resolve::resolve(&catalog, roots, &engine.tony_version).order;
    let resolved: BTreeSet<&str> = order.iter().map(String::as_str).collect();
    let mut broken: BTreeSet<String> = BTreeSet::new();
    for root in roots.iter().filter(|r| !resolved.contains(**r)) {
        // Rare: resolve it alone for the conflicts that concern it.
        let e = resolve::Error {
            plugin: (*root).to_owned(),
            conflicts: resolve::resolve(&catalog, &[root], &engine.tony_version).conflicts,
        };
        engine.emit(Event::Error {
            source: ErrorSource::Lifecycle,
            plugin: Some((*root).to_owned()),
            message: e.to_string(),
        });
        broken.insert((*root).to_owned());
        out.unresolved.push(e);
    }
    for name in &order {
        if engine.is_active(name) {
            continue;
        }
        let meta = &catalog[name];
        if resolve::edges(&catalog, meta).any(|d| {
            broken.contains(d)
                && meta
                    .dependencies()
                    .iter()
                    .any(|x| x.name == d && !x.optional)
        }) {
            out.skipped.push(name.clone());
            broken.insert(name.clone());
            continue;
        }
        match activate(engine, name) {
            Ok(()) => out.activated.push(name.clone()),
            Err(e) => {
                out.failed.push((name.clone(), e));
                broken.insert(name.clone());
            }
        }
    }
    out
}

/// Rebuilds an instance from `snapshot` through the current code: decoded
/// when the layout is the same, migrated otherwise. `None` for "no
/// migration", which the caller decides about.
pub(crate) fn rebuild(
    plugin: &str,
    vt: &VTable,
    live_state: u64,
    snapshot: &Snapshot,
) -> Result<Option<Box<dyn crate::plugin::Plugin>>, BoxError> {
    if live_state == snapshot.fingerprint {
        return contain(plugin, "restore", || (vt.load)(&snapshot.bytes)).map(Some);
    }
    let migrated: PluginResult = contain(plugin, "migrate", || {
        Ok((vt.migrate)(&snapshot.old_state()))
    })?;
    match migrated {
        Ok(instance) => Ok(Some(instance)),
        Err(e) if is_no_migration(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Activates one plugin: from its default state, or from the last good
/// state a failed rollback kept.
fn activate(engine: &Engine, name: &str) -> Result<(), BoxError> {
    let hold = engine.acquire(&[name.to_owned()]);
    let Some((descriptor, kept)) = engine.read(name, |e| (e.descriptor.clone(), e.kept.clone()))
    else {
        return Err(format!("unknown plugin `{name}`").into());
    };
    // Built in one contained call and activated in another, the instance
    // outside both: a panicking `activate` must not drop it while unwinding
    // (a `Drop` that panics then would abort the process).
    let built = descriptor.vtable().and_then(|vt| {
        contain(name, "create", || {
            let live = (vt.fingerprints)();
            let instance = match &kept {
                None => (vt.create)(),
                Some(s) => match rebuild(name, &vt, live.state, s)? {
                    Some(instance) => instance,
                    None => {
                        // As a reload does: say so, never silently.
                        tracing::warn!(
                            plugin = name,
                            "its kept state was written by another state layout and it has no \
                         migration; started from default"
                        );
                        (vt.create)()
                    }
                },
            };
            Ok((instance, live))
        })
    });
    let outcome = built.and_then(|(mut instance, live)| {
        let activated = contain(name, "activate", || {
            instance.activate(&mut Context::new(engine, &descriptor.metadata))
        });
        match activated {
            Ok(()) => Ok((instance, live)),
            Err(e) => {
                if let Err(d) = containment::drop_contained(name, "drop", instance) {
                    tracing::error!(plugin = name, error = %d, "dropping a failed instance panicked");
                }
                Err(e)
            }
        }
    });
    let outcome = match outcome {
        Ok((instance, live)) => {
            engine.put_instance(name, instance, live);
            engine.update(name, |e| {
                e.state = PluginState::Active;
                e.error = None;
                e.kept = None;
            });
            Ok(())
        }
        Err(e) => {
            engine.update(name, |s| {
                s.state = PluginState::Failed;
                s.error = Some(e.to_string());
            });
            Err(e)
        }
    };
    drop(hold);
    match outcome {
        Ok(()) => {
            tracing::info!(plugin = name, version = %descriptor.metadata.version(), "plugin loaded");
            engine.emit(Event::PluginLoaded {
                plugin: name.to_owned(),
                version: descriptor.metadata.version().clone(),
            });
            Ok(())
        }
        Err(e) => {
            engine.services.withdraw(name);
            tracing::error!(plugin = name, error = %e, "plugin failed to activate");
            engine.emit(Event::Error {
                source: ErrorSource::Lifecycle,
                plugin: Some(name.to_owned()),
                message: format!("failed to activate: {e}"),
            });
            Err(e)
        }
    }
}

/// Unloads the active plugins among `names`, in the order given (dependents
/// first). A failed `deactivate` or a panicking `Drop` is reported; the
/// plugin is unloaded anyway.
pub(crate) fn unload(engine: &Engine, names: &[String]) {
    for name in names {
        if engine.is_active(name) {
            deactivate(engine, name);
        }
    }
}

fn deactivate(engine: &Engine, name: &str) {
    let hold = engine.acquire(&[name.to_owned()]);
    let Some(descriptor) = engine.descriptor(name) else {
        return;
    };
    let instance = engine.take_instance(name);
    let mut problems = Vec::new();
    if let Some(mut instance) = instance {
        let r = contain(name, "deactivate", || {
            instance.deactivate(&mut Context::new(engine, &descriptor.metadata))
        });
        if let Err(e) = r {
            problems.push(format!("deactivate failed: {e}"));
        }
        // Services go right after `deactivate`, before the instance.
        engine.services.withdraw(name);
        if let Err(e) = containment::drop_contained(name, "drop", instance) {
            problems.push(format!("dropping the instance failed: {e}"));
        }
    }
    engine.services.withdraw(name);
    engine.update(name, |e| {
        e.state = PluginState::Inactive;
        e.error = (!problems.is_empty()).then(|| problems.join("; "));
    });
    drop(hold);
    for p in problems {
        tracing::warn!(plugin = name, problem = %p, "unloaded anyway");
        engine.emit(Event::Error {
            source: ErrorSource::Lifecycle,
            plugin: Some(name.to_owned()),
            message: p,
        });
    }
    tracing::info!(plugin = name, "plugin unloaded");
    engine.emit(Event::PluginUnloaded {
        plugin: name.to_owned(),
    });
}
