//! tony-core's modules form a tree read top-down: no import circle between
//! any two files (folders group them by concept: engine, transaction,
//! access, plugin, events, config, hot, system), every module imports from
//! the module that defines a thing (not from `lib.rs` re-exports), and no
//! source file is over 600 lines.
//!
//! The graph is drawn from the code itself: every file is a module, and
//! every `crate::…` and `super::…` path outside comments an edge.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// `text` without `//` comments (doc comments included) and string literals.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut in_str = false;
        let mut prev = ' ';
        let mut kept = String::new();
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if !in_str && c == '/' && chars.get(i + 1) == Some(&'/') {
                break;
            }
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            } else if !in_str {
                kept.push(c);
            }
            prev = c;
            i += 1;
        }
        out.push_str(&kept);
        out.push('\n');
    }
    out
}

/// The first path segment of every `crate::` path in `code`, including
/// each branch of `crate::{a::X, b::{Y, Z}}`.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // e.g. `tony_crate::`
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 1 => {
                        found.insert(ident(group[start..i].trim()));
                        start = i + 1;
                    }
                    _ => {}
                }
                if depth == 0 {
                    found.insert(ident(group[start..i].trim()));
                    break;
                }
            }
        } else {
            found.insert(ident(rest));
        }
    }
    found.remove("");
    found
}

/// A circle in `graph`, as the path that closes it, if there is one.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        graph: &Graph,
        node: &str,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(pos) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[pos..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(graph, next, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(graph, n, &mut Vec::new(), &mut done))
}

fn src() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Every source file as a module path: `engine/mod.rs` is `engine`,
/// `engine/slot.rs` is `engine::slot`, `lib.rs` is the crate root (left out).
fn file_modules() -> BTreeMap<String, std::path::PathBuf> {
    rust_files(src())
        .into_iter()
        .filter_map(|path| {
            let rel = path.strip_prefix(src()).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            let name = parts.join("::");
            (name != "lib").then_some((name, path))
        })
        .collect()
}

/// The module paths named in `code` of the module `me`: `crate::a::b::X`
/// and `super::b::X`, each cut to the longest prefix that is a module.
fn named_modules(me: &str, code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let parent = me.rsplit_once("::").map_or("", |(p, _)| p).to_owned();
    let mut found = BTreeSet::new();
    // In an inline `mod tests`, `super` is this very file.
    let outside_tests = code.split("mod tests {").next().unwrap_or(code);
    for (prefix, base) in [("crate::", String::new()), ("super::", parent)] {
        let mut rest = if prefix == "super::" {
            outside_tests
        } else {
            code
        };
        while let Some(at) = rest.find(prefix) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let path: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
            while !segments.is_empty() {
                let candidate = if base.is_empty() {
                    segments.join("::")
                } else {
                    format!("{base}::{}", segments.join("::"))
                };
                if modules.contains(&candidate) {
                    found.insert(candidate);
                    break;
                }
                segments.pop();
            }
            if segments.is_empty() && !base.is_empty() {
                found.insert(base.clone()); // an item of the parent module
            }
        }
    }
    found.remove(me);
    found
}

/// File module -> the file modules it names; and the names it imports from
/// `crate::` that are no module (re-exports of `lib.rs`).
fn graph() -> (Graph, Vec<(String, String)>) {
    let files = file_modules();
    let modules: BTreeSet<String> = files.keys().cloned().collect();
    let top: BTreeSet<String> = modules
        .iter()
        .filter(|m| !m.contains("::"))
        .cloned()
        .collect();
    let mut graph = Graph::new();
    let mut reexports = Vec::new();
    for (m, path) in &files {
        let code = code_only(&std::fs::read_to_string(path).unwrap());
        graph.insert(m.clone(), named_modules(m, &code, &modules));
        for first in crate_paths(&code) {
            if !top.contains(&first) {
                reexports.push((m.clone(), first));
            }
        }
    }
    (graph, reexports)
}

#[test]
fn the_module_graph_has_no_circle() {
    let (graph, _) = graph();
    assert!(graph.len() > 30, "modules not found: {graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import circle in tony-core: {}", cycle.join(" -> "));
    }
}

#[test]
fn modules_import_from_the_defining_module() {
    let (_, reexports) = graph();
    assert!(
        reexports.is_empty(),
        "imports through lib.rs re-exports (import from the defining module): {reexports:?}"
    );
}

#[test]
fn no_source_file_is_over_600_lines() {
    let mut long = Vec::new();
    for path in rust_files(src()) {
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        if lines > 600 {
            long.push((path.display().to_string(), lines));
        }
    }
    assert!(long.is_empty(), "files over 600 lines: {long:?}");
}

#[test]
fn the_checks_can_fail() {
    let mut g = Graph::new();
    g.entry("system".into())
        .or_default()
        .insert("transaction".into());
    g.entry("transaction".into())
        .or_default()
        .insert("engine".into());
    assert_eq!(find_cycle(&g), None);
    g.entry("engine".into())
        .or_default()
        .insert("system".into());
    assert_eq!(
        find_cycle(&g).unwrap(),
        ["engine", "system", "transaction", "engine"]
    );
    let code = code_only(
        "use crate::{a::X, b::{Y, Z}};\n// crate::comment::X\nlet s = \"crate::string\"; crate::Reexport::f();",
    );
    assert_eq!(
        crate_paths(&code).into_iter().collect::<Vec<_>>(),
        ["Reexport", "a", "b"]
    );
}
