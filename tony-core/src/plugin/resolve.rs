//! The resolver: activation order by topological sort of the dependency
//! graph, with conflicts that name their culprits.
//!
//! # Optional dependencies
//!
//! An absent optional dependency is fine. An optional dependency that is
//! *present in a version out of range* is treated as absent: the plugin
//! loads, it is not ordered after it, [`Context::dependency`](crate::Context::dependency)
//! returns `None`, and the resolution lists it in [`Resolution::ignored`] (and
//! logs a warning). Refusing to load would punish a plugin for something it
//! declared it can live without; wiring it to an incompatible version would
//! break the range it asked for.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;

use semver::{Version, VersionReq};

use crate::plugin::metadata::Metadata;

/// One reason a plugin cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Conflict {
    /// No plugin of that name is registered.
    #[error("unknown plugin `{plugin}`")]
    Unknown {
        /// The name asked for.
        plugin: String,
    },
    /// A required dependency is not registered.
    #[error("plugin `{plugin}` requires `{dependency}` {required}, which is not registered")]
    Missing {
        /// The plugin with the dependency.
        plugin: String,
        /// The missing plugin.
        dependency: String,
        /// The range required.
        required: VersionReq,
    },
    /// A required dependency is registered in a version out of range.
    #[error(
        "plugin `{plugin}` requires `{dependency}` {required}, but version {found} is registered"
    )]
    Version {
        /// The plugin with the dependency.
        plugin: String,
        /// The dependency.
        dependency: String,
        /// The range required.
        required: VersionReq,
        /// The version registered.
        found: Version,
    },
    /// The dependency graph has a cycle.
    #[error("dependency cycle: {}", path.join(" -> "))]
    Cycle {
        /// The cycle, starting and ending with the same plugin.
        path: Vec<String>,
    },
    /// The plugin needs a newer Tony.
    #[error("plugin `{plugin}` needs Tony {required} or newer, this is Tony {actual}")]
    TonyVersion {
        /// The plugin.
        plugin: String,
        /// Its `min_tony_version`.
        required: Version,
        /// The running Tony.
        actual: Version,
    },
}

/// Why a plugin could not be resolved: all its conflicts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot resolve `{plugin}`: {}", list(conflicts))]
#[non_exhaustive]
pub struct Error {
    /// The plugin asked for.
    pub plugin: String,
    /// Every conflict found.
    pub conflicts: Vec<Conflict>,
}

fn list(conflicts: &[Conflict]) -> String {
    conflicts
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The answer to [`PluginSystem::resolve_dependencies`](crate::PluginSystem::resolve_dependencies).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Resolution {
    /// Activation order: dependencies first, the plugin asked for last.
    pub order: Vec<String>,
    /// Everything that prevents activation; empty on success.
    pub conflicts: Vec<Conflict>,
    /// Optional dependencies present in a version out of range, treated as
    /// absent: `(plugin, dependency, range, version found)`.
    pub ignored: Vec<(String, String, VersionReq, Version)>,
}

impl Resolution {
    /// Whether the plugin can be activated.
    pub fn success(&self) -> bool {
        self.conflicts.is_empty()
    }
}

/// The metadata of every registered plugin, by name.
pub(crate) type Catalog = BTreeMap<String, Arc<Metadata>>;

/// Resolves `roots` and everything they need, in activation order.
pub(crate) fn resolve(catalog: &Catalog, roots: &[&str], tony: &Version) -> Resolution {
    let mut walk = Walk {
        catalog,
        tony,
        done: BTreeSet::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Resolution::default(),
        failed: BTreeSet::new(),
    };
    for root in roots {
        walk.visit(root);
    }
    walk.out.conflicts.dedup();
    walk.out
}

/// The edges used for ordering: required dependencies, and optional ones
/// present in range.
pub(crate) fn edges<'c>(
    catalog: &'c Catalog,
    m: &'c Metadata,
) -> impl Iterator<Item = &'c str> + 'c {
    m.dependencies().iter().filter_map(move |d| {
        let found = catalog.get(&d.name)?;
        (!d.optional || d.req.matches(found.version())).then_some(d.name.as_str())
    })
}

struct Walk<'c> {
    catalog: &'c Catalog,
    tony: &'c Version,
    done: BTreeSet<String>,
    stack: Vec<String>,
    on_stack: BTreeSet<String>,
    out: Resolution,
    failed: BTreeSet<String>,
}

impl Walk<'_> {
    /// Depth-first; returns whether `name` resolved.
    fn visit(&mut self, name: &str) -> bool {
        if self.done.contains(name) {
            return true;
        }
        if self.failed.contains(name) {
            return false;
        }
        if self.on_stack.contains(name) {
            let pos = self.stack.iter().position(|n| n == name).unwrap_or(0);
            let mut path = self.stack[pos..].to_vec();
            path.push(name.to_owned());
            self.out.conflicts.push(Conflict::Cycle { path });
            return false;
        }
        let Some(meta) = self.catalog.get(name) else {
            self.out.conflicts.push(Conflict::Unknown {
                plugin: name.to_owned(),
            });
            return false;
        };
        let mut ok = true;
        if let Some(min) = meta.min_tony_version().filter(|min| self.tony < *min) {
            self.out.conflicts.push(Conflict::TonyVersion {
                plugin: name.to_owned(),
                required: min.clone(),
                actual: self.tony.clone(),
            });
            ok = false;
        }
        self.stack.push(name.to_owned());
        self.on_stack.insert(name.to_owned());
        let mut deps: Vec<_> = meta.dependencies().iter().collect();
        deps.sort_by(|a, b| a.name.cmp(&b.name));
        for d in deps {
            match self.catalog.get(&d.name) {
                None if d.optional => {}
                None => {
                    self.out.conflicts.push(Conflict::Missing {
                        plugin: name.to_owned(),
                        dependency: d.name.clone(),
                        required: d.req.clone(),
                    });
                    ok = false;
                }
                Some(found) if !d.req.matches(found.version()) => {
                    if d.optional {
                        tracing::warn!(plugin = name, dependency = %d.name, required = %d.req, found = %found.version(),
                            "optional dependency out of range: treated as absent");
                        self.out.ignored.push((
                            name.to_owned(),
                            d.name.clone(),
                            d.req.clone(),
                            found.version().clone(),
                        ));
                    } else {
                        self.out.conflicts.push(Conflict::Version {
                            plugin: name.to_owned(),
                            dependency: d.name.clone(),
                            required: d.req.clone(),
                            found: found.version().clone(),
                        });
                        ok = false;
                    }
                }
                Some(_) => {
                    let dep_ok = self.visit(&d.name);
                    // A broken optional dependency is left out, not fatal.
                    ok &= dep_ok || d.optional;
                }
            }
        }
        self.stack.pop();
        self.on_stack.remove(name);
        if ok {
            self.done.insert(name.to_owned());
            self.out.order.push(name.to_owned());
        } else {
            self.failed.insert(name.to_owned());
        }
        ok
    }
}

/// Every plugin of `catalog` that depends, directly or not, on one of
/// `names`, among those `keep` accepts; sorted by name.
pub(crate) fn dependents(
    catalog: &Catalog,
    names: &[String],
    keep: impl Fn(&str) -> bool,
) -> Vec<String> {
    let mut found: BTreeSet<String> = BTreeSet::new();
    let mut frontier: Vec<String> = names.to_vec();
    while let Some(target) = frontier.pop() {
        for (name, meta) in catalog {
            if !found.contains(name)
                && !names.contains(name)
                && keep(name)
                && edges(catalog, meta).any(|e| e == target)
            {
                found.insert(name.clone());
                frontier.push(name.clone());
            }
        }
    }
    found.into_iter().collect()
}

/// Orders `set` dependencies first (only edges inside `set` count).
pub(crate) fn order_subset(catalog: &Catalog, set: &BTreeSet<String>) -> Vec<String> {
    fn visit(
        catalog: &Catalog,
        set: &BTreeSet<String>,
        name: &str,
        seen: &mut BTreeSet<String>,
        out: &mut Vec<String>,
    ) {
        if !seen.insert(name.to_owned()) {
            return;
        }
        if let Some(meta) = catalog.get(name) {
            let mut deps: Vec<&str> = edges(catalog, meta).filter(|d| set.contains(*d)).collect();
            deps.sort_unstable();
            for d in deps {
                visit(catalog, set, d, seen, out);
            }
        }
        out.push(name.to_owned());
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(set.len());
    for name in set {
        visit(catalog, set, name, &mut seen, &mut out);
    }
    out
}

/// The dependency graph in Graphviz DOT: an edge from each plugin to what it
/// depends on, dashed for optional dependencies, red when out of range.
pub(crate) fn to_dot(catalog: &Catalog) -> String {
    let mut dot = String::from(
        "digraph tony {\n    rankdir=LR;\n    node [shape=box, fontname=\"monospace\"];\n",
    );
    for (name, meta) in catalog {
        let _ = writeln!(
            dot,
            "    \"{name}\" [label=\"{name}\\n{}\"];",
            meta.version()
        );
    }
    for (name, meta) in catalog {
        for d in meta.dependencies() {
            let mut attrs = vec![format!("label=\"{}\"", d.req)];
            if d.optional {
                attrs.push("style=dashed".into());
            }
            match catalog.get(&d.name) {
                Some(found) if !d.req.matches(found.version()) => attrs.push("color=red".into()),
                None => {
                    attrs.push("color=red".into());
                    let _ = writeln!(dot, "    \"{}\" [style=dotted];", d.name);
                }
                Some(_) => {}
            }
            let _ = writeln!(
                dot,
                "    \"{name}\" -> \"{}\" [{}];",
                d.name,
                attrs.join(", ")
            );
        }
    }
    dot.push_str("}\n");
    dot
}
