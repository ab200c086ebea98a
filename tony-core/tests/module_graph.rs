//! Issue 14: tony-core's modules form a tree read top-down — no import
//! circle, every module imports from the module that defines a thing (not
//! from `lib.rs` re-exports) — and no source file is over 600 lines.
//!
//! The graph is drawn from the code itself: the `mod` lines of `lib.rs`, and
//! every `crate::…` path outside comments.
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

/// The modules declared in `lib.rs`.
fn modules() -> BTreeSet<String> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    code_only(&lib)
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("pub ").unwrap_or(l);
            let name = l.strip_prefix("mod ")?.strip_suffix(';')?;
            Some(name.to_owned())
        })
        .collect()
}

/// The source of module `m`: `m.rs`, or every file of the directory `m/`
/// (its submodules count as the module).
fn module_text(m: &str) -> String {
    let file = src().join(format!("{m}.rs"));
    if file.is_file() {
        return std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }
    rust_files(&src().join(m))
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display())))
        .collect::<Vec<_>>()
        .join("\n")
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

/// Module -> the modules it names; and the non-module names it imports from
/// `crate::` (re-exports of `lib.rs`).
fn graph() -> (Graph, Vec<(String, String)>) {
    let modules = modules();
    let mut graph = Graph::new();
    let mut reexports = Vec::new();
    for m in &modules {
        let text = module_text(m);
        let edges = graph.entry(m.clone()).or_default();
        for target in crate_paths(&code_only(&text)) {
            if modules.contains(&target) {
                if target != *m {
                    edges.insert(target);
                }
            } else {
                reexports.push((m.clone(), target));
            }
        }
    }
    (graph, reexports)
}

#[test]
fn the_module_graph_has_no_circle() {
    let (graph, _) = graph();
    assert!(graph.len() > 10, "modules not found: {graph:?}");
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
