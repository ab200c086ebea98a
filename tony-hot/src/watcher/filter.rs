//! `extensions` and `ignore` of a [`HotReloadConfig`], compiled.

use std::path::{Component, Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use tony_core::HotReloadConfig;

/// A child name no pattern is expected to mention: a directory is ignored
/// as a whole when a path inside it, named like this, would be ignored
/// (`target/**` says nothing of `target` itself).
const PROBE: &str = "\u{1}tony-probe\u{1}";

/// Which files under a root are worth reporting, and which directories are
/// worth entering.
#[derive(Debug)]
pub(crate) struct Filter {
    /// Lower-case, without the dot; empty: every file.
    extensions: Vec<String>,
    /// Matched against the path below the root, from any of its
    /// directories on (as a `.gitignore` line is): `target/**` ignores
    /// every `target/` of the tree.
    relative: GlobSet,
    /// Matched against the absolute path.
    absolute: GlobSet,
}

/// An `ignore` pattern that is not a valid glob.
#[derive(Debug)]
pub(crate) struct InvalidPattern {
    pub(crate) pattern: String,
    pub(crate) source: globset::Error,
}

impl Filter {
    pub(crate) fn new(config: &HotReloadConfig) -> Result<Self, InvalidPattern> {
        let extensions = (config.extensions.iter())
            .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
            .filter(|e| !e.is_empty())
            .collect();
        let (mut relative, mut absolute) = (GlobSetBuilder::new(), GlobSetBuilder::new());
        for pattern in &config.ignore {
            let trimmed = pattern.strip_prefix("./").unwrap_or(pattern);
            let glob = Glob::new(trimmed).map_err(|source| InvalidPattern {
                pattern: pattern.clone(),
                source,
            })?;
            if Path::new(trimmed).is_absolute() {
                absolute.add(glob);
            } else {
                relative.add(glob);
            }
        }
        let build = |set: GlobSetBuilder| {
            set.build().map_err(|source| InvalidPattern {
                pattern: config.ignore.join(", "),
                source,
            })
        };
        Ok(Self {
            extensions,
            relative: build(relative)?,
            absolute: build(absolute)?,
        })
    }

    /// Whether `path`, `relative` to its root, is ignored; a directory is
    /// ignored when everything in it would be.
    pub(crate) fn ignores(&self, relative: &Path, absolute: &Path, is_dir: bool) -> bool {
        let hit = |rel: &Path, abs: &Path| {
            let names: Vec<Component<'_>> = rel.components().collect();
            (0..names.len()).any(|i| {
                let below: PathBuf = names[i..].iter().collect();
                self.relative.is_match(&below)
            }) || self.absolute.is_match(abs)
        };
        hit(relative, absolute) || (is_dir && hit(&relative.join(PROBE), &absolute.join(PROBE)))
    }

    /// Whether a file at `path` has one of the extensions (any, if none
    /// are set).
    pub(crate) fn allows(&self, path: &Path) -> bool {
        let ext = path.extension().and_then(|e| e.to_str());
        self.extensions.is_empty()
            || ext.is_some_and(|e| self.extensions.iter().any(|x| x.eq_ignore_ascii_case(e)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn filter(ignore: &[&str], extensions: &[&str]) -> Filter {
        let config = HotReloadConfig::default()
            .with_ignore(ignore.iter().copied())
            .with_extensions(extensions.iter().copied());
        Filter::new(&config).unwrap()
    }

    #[test]
    fn default_patterns_ignore_target_and_git_at_any_depth() {
        let f = Filter::new(&HotReloadConfig::default()).unwrap();
        let ignored = |rel: &str, dir| f.ignores(Path::new(rel), &Path::new("/w").join(rel), dir);
        assert!(ignored("target/debug/x.rs", false));
        assert!(ignored(".git/HEAD", false));
        assert!(ignored("crates/a/target/x.rs", false));
        assert!(
            ignored("target", true),
            "a directory whose content is all ignored"
        );
        assert!(ignored("crates/a/.git", true));
        assert!(!ignored("src/target.rs", false));
        assert!(!ignored("targets/x.rs", false));
        assert!(!ignored("src", true));
        // The root's own place does not count: it may lie under a `target/`.
        let abs = Path::new("/home/u/target/tmp/w/src/lib.rs");
        assert!(!f.ignores(Path::new("src/lib.rs"), abs, false));
    }

    #[test]
    fn user_patterns_relative_and_absolute() {
        let f = filter(&["gen/**", "**/*.bak", "/abs/**"], &[]);
        assert!(f.ignores(Path::new("a/gen/x.rs"), Path::new("/w/a/gen/x.rs"), false));
        assert!(f.ignores(Path::new("gen"), Path::new("/w/gen"), true));
        assert!(f.ignores(Path::new("a/b.bak"), Path::new("/w/a/b.bak"), false));
        assert!(f.ignores(Path::new("x.rs"), Path::new("/abs/x.rs"), false));
        assert!(!f.ignores(Path::new("src/x.rs"), Path::new("/w/src/x.rs"), false));
        assert!(!f.ignores(Path::new("target/x.rs"), Path::new("/w/target/x.rs"), false));
    }

    #[test]
    fn extensions_ignore_dot_and_case_and_none_means_all() {
        let f = filter(&[], &[".rs", "TOML"]);
        assert!(f.allows(Path::new("a/b.rs")) && f.allows(Path::new("X.RS")));
        assert!(f.allows(Path::new("Cargo.toml")));
        assert!(!f.allows(Path::new("a.rs~")) && !f.allows(Path::new("Makefile")));
        assert!(filter(&[], &[]).allows(Path::new("Makefile")));
    }

    #[test]
    fn an_invalid_pattern_is_named() {
        let config = HotReloadConfig::default().with_ignore(["a/[b"]);
        assert_eq!(Filter::new(&config).unwrap_err().pattern, "a/[b");
    }
}
