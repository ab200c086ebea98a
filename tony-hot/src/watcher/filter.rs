//! Extension filter and ignore globs.

use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::{Error, WatcherConfig};

/// A child name no pattern is expected to mention: a directory is ignored
/// as a whole when a path inside it, named like this, would be ignored.
const PROBE: &str = "\u{1}tony-probe\u{1}";

/// The compiled `extensions` and `ignore` of a [`WatcherConfig`].
#[derive(Debug)]
pub(crate) struct Filter {
    /// Lower-case, without the dot; empty: all.
    extensions: Vec<String>,
    /// Patterns matched against the path relative to a watched root.
    relative: GlobSet,
    /// Patterns matched against the absolute path.
    absolute: GlobSet,
}

impl Filter {
    pub(crate) fn new(config: &WatcherConfig) -> Result<Self, Error> {
        let extensions = config
            .extensions
            .iter()
            .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
            .filter(|e| !e.is_empty())
            .collect();
        let mut relative = GlobSetBuilder::new();
        let mut absolute = GlobSetBuilder::new();
        for pattern in &config.ignore {
            let trimmed = pattern.strip_prefix("./").unwrap_or(pattern);
            if trimmed.is_empty() {
                continue;
            }
            let glob = Glob::new(trimmed).map_err(|source| Error::InvalidPattern {
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
            set.build().map_err(|source| Error::InvalidPattern {
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

    /// Whether `path` (`relative` to its watched root) is ignored. A
    /// directory also counts as ignored when everything inside it would be.
    pub(crate) fn is_ignored(&self, relative: &Path, absolute: &Path, is_dir: bool) -> bool {
        let hit = |rel: &Path, abs: &Path| {
            (!self.relative.is_empty()
                && rel
                    .ancestors()
                    .filter(|a| !a.as_os_str().is_empty())
                    .any(|a| self.relative.is_match(a)))
                || (!self.absolute.is_empty() && abs.ancestors().any(|a| self.absolute.is_match(a)))
        };
        hit(relative, absolute) || (is_dir && hit(&relative.join(PROBE), &absolute.join(PROBE)))
    }

    /// Whether a file at `path` has one of the configured extensions.
    pub(crate) fn extension_allows(&self, path: &Path) -> bool {
        if self.extensions.is_empty() {
            return true;
        }
        path.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| self.extensions.iter().any(|x| x.eq_ignore_ascii_case(e)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn filter(config: WatcherConfig) -> Filter {
        Filter::new(&config).unwrap()
    }

    #[test]
    fn default_patterns_ignore_target_and_git_at_any_depth() {
        let f = filter(WatcherConfig::default());
        let ignored =
            |rel: &str, dir| f.is_ignored(Path::new(rel), &Path::new("/w").join(rel), dir);
        assert!(ignored("target/debug/x.rs", false));
        assert!(ignored(".git/HEAD", false));
        assert!(ignored("crates/a/target/x", false));
        assert!(ignored("crates/a/.git/config", false));
        assert!(
            ignored("target", true),
            "a directory whose content is all ignored"
        );
        assert!(ignored("crates/a/target", true));
        assert!(!ignored("src/target.rs", false));
        assert!(!ignored("src", true));
        assert!(!ignored("targets/x.rs", false));
    }

    #[test]
    fn relative_patterns_do_not_see_the_root_location() {
        // A root that itself lies under a `target` directory is still watched.
        let f = filter(WatcherConfig::default());
        let abs = Path::new("/home/u/target/tmp/w/src/lib.rs");
        assert!(!f.is_ignored(Path::new("src/lib.rs"), abs, false));
    }

    #[test]
    fn user_patterns_relative_absolute_and_parents() {
        let f = filter(
            WatcherConfig::default()
                .with_ignore("build")
                .with_ignore("*.tmp")
                .with_ignore("/abs/gen/**"),
        );
        assert!(f.is_ignored(
            Path::new("build/out.rs"),
            Path::new("/w/build/out.rs"),
            false
        ));
        assert!(f.is_ignored(Path::new("a/b.tmp"), Path::new("/w/a/b.tmp"), false));
        assert!(f.is_ignored(Path::new("x.rs"), Path::new("/abs/gen/x.rs"), false));
        assert!(!f.is_ignored(Path::new("src/x.rs"), Path::new("/w/src/x.rs"), false));
    }

    #[test]
    fn extensions_ignore_dot_and_case() {
        let f = filter(WatcherConfig::default().with_extensions([".rs", "TOML"]));
        assert!(f.extension_allows(Path::new("a/b.rs")));
        assert!(f.extension_allows(Path::new("Cargo.toml")));
        assert!(f.extension_allows(Path::new("X.RS")));
        assert!(!f.extension_allows(Path::new("a.md")));
        assert!(!f.extension_allows(Path::new("Makefile")));
        assert!(filter(WatcherConfig::default()).extension_allows(Path::new("Makefile")));
    }

    #[test]
    fn invalid_pattern_is_named() {
        let err = Filter::new(&WatcherConfig::default().with_ignore("a/[b")).unwrap_err();
        assert!(
            matches!(err, Error::InvalidPattern { ref pattern, .. } if pattern == "a/[b"),
            "{err}"
        );
    }
}
