//! The watcher's configuration.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The default debounce window: 500 ms.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(500);

/// Ignore patterns every [`WatcherConfig::default`] starts with: build
/// output and git metadata, at the watched root and below it.
pub const DEFAULT_IGNORE: [&str; 4] = ["target/**", ".git/**", "**/target/**", "**/.git/**"];

/// What a [`FileWatcher`](super::FileWatcher) reports, and when.
///
/// Built with `Default` and `with_*` methods, or read from a file with serde
/// (`debounce` in milliseconds or as `"250ms"` / `"2s"`; unknown keys are
/// rejected; `ignore` patterns read from a file are *added* to
/// [`DEFAULT_IGNORE`]).
///
/// * `debounce`: changes to one path are reported once that path has been
///   quiet for this long; a burst of writes gives one event.
/// * `extensions`: file extensions to report, without the dot
///   (`"rs"`, `"toml"`; a leading dot is accepted, case is ignored). Empty:
///   every file. Directories are not subject to it.
/// * `ignore`: globs ([`globset`] syntax, `*` may cross `/`). A relative
///   pattern is matched against the path relative to the watched root, and
///   a path is ignored when it or one of its parents below the root matches
///   (so `build` ignores `build/` and all it holds); an absolute pattern is
///   matched against the absolute path. A directory whose whole content is
///   ignored (`target` under `target/**`) is ignored too and not even
///   watched.
/// * `recursive`: watch directories below a watched directory too.
///
/// Paths watched one by one as files are always reported: the filters apply
/// to what is found inside watched directories.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use tony_hot::WatcherConfig;
///
/// let config = WatcherConfig::default()
///     .with_debounce(Duration::from_millis(200))
///     .with_extensions(["rs", "toml"])
///     .with_ignore("**/generated/**");
/// assert!(config.recursive);
///
/// let from_file: WatcherConfig = toml::from_str(
///     r#"
///     debounce = "200ms"
///     extensions = ["rs", "toml"]
///     ignore = ["**/generated/**"]
///     "#,
/// )?;
/// assert_eq!(from_file, config);
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WatcherConfig {
    /// Quiet time after the last change to a path before it is reported.
    #[serde(with = "millis", alias = "debounce_ms")]
    pub debounce: Duration,
    /// File extensions to report (without the dot); empty reports all.
    pub extensions: Vec<String>,
    /// Glob patterns of paths not to report (see the type's docs).
    #[serde(deserialize_with = "defaults_plus")]
    pub ignore: Vec<String>,
    /// Whether directories are watched with all their subdirectories.
    pub recursive: bool,
}

impl Default for WatcherConfig {
    fn default() -> Self {
        Self {
            debounce: DEFAULT_DEBOUNCE,
            extensions: Vec::new(),
            ignore: DEFAULT_IGNORE.iter().map(|p| (*p).to_owned()).collect(),
            recursive: true,
        }
    }
}

impl WatcherConfig {
    /// The default configuration (same as [`Default::default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the debounce window.
    #[must_use]
    pub fn with_debounce(mut self, debounce: Duration) -> Self {
        self.debounce = debounce;
        self
    }

    /// Replaces the extension list.
    #[must_use]
    pub fn with_extensions<I, S>(mut self, extensions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.extensions = extensions.into_iter().map(Into::into).collect();
        self
    }

    /// Adds one extension to the list.
    #[must_use]
    pub fn with_extension(mut self, extension: impl Into<String>) -> Self {
        self.extensions.push(extension.into());
        self
    }

    /// Adds one ignore pattern (the defaults stay).
    #[must_use]
    pub fn with_ignore(mut self, pattern: impl Into<String>) -> Self {
        let pattern = pattern.into();
        if !self.ignore.contains(&pattern) {
            self.ignore.push(pattern);
        }
        self
    }

    /// Drops the [`DEFAULT_IGNORE`] patterns (user patterns stay), for
    /// watching inside `target/` or `.git/`.
    #[must_use]
    pub fn without_default_ignores(mut self) -> Self {
        self.ignore
            .retain(|p| !DEFAULT_IGNORE.contains(&p.as_str()));
        self
    }

    /// Sets whether subdirectories are watched.
    #[must_use]
    pub fn with_recursive(mut self, recursive: bool) -> Self {
        self.recursive = recursive;
        self
    }
}

/// `ignore` from a file: the defaults, then the file's patterns.
fn defaults_plus<'de, D>(deserializer: D) -> Result<Vec<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let user = Vec::<String>::deserialize(deserializer)?;
    let mut all = WatcherConfig::default().ignore;
    for pattern in user {
        if !all.contains(&pattern) {
            all.push(pattern);
        }
    }
    Ok(all)
}

/// `debounce`: whole milliseconds, read from an integer or from a string
/// with a unit (`"250ms"`, `"2s"`, `"1.5s"`).
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Millis {
        Number(u64),
        Text(String),
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let expected = r#"milliseconds as an integer, or a string like "250ms" or "2s""#;
        let text = match Millis::deserialize(d) {
            Ok(Millis::Number(ms)) => return Ok(Duration::from_millis(ms)),
            Ok(Millis::Text(text)) => text,
            Err(_) => return Err(D::Error::custom(format!("invalid debounce: {expected}"))),
        };
        let s = text.trim();
        let (number, scale) = match (s.strip_suffix("ms"), s.strip_suffix('s')) {
            (Some(n), _) => (n, 1e-3),
            (None, Some(n)) => (n, 1.0),
            (None, None) => (s, 1e-3),
        };
        let value = number.trim().parse::<f64>().ok();
        let duration = value.and_then(|v| Duration::try_from_secs_f64(v * scale).ok());
        duration.ok_or_else(|| D::Error::custom(format!("invalid debounce `{text}`: {expected}")))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn builders_set_what_they_say() {
        let config = WatcherConfig::new();
        assert_eq!(config, WatcherConfig::default());
        assert_eq!(config.debounce, DEFAULT_DEBOUNCE);
        assert!(config.extensions.is_empty() && config.recursive);
        let config = config
            .with_debounce(Duration::from_millis(50))
            .with_extensions(["rs", ".toml"])
            .with_extension("md")
            .with_ignore("**/*.bak")
            .with_ignore("**/*.bak")
            .with_recursive(false);
        assert_eq!(config.debounce, Duration::from_millis(50));
        assert_eq!(config.extensions, ["rs", ".toml", "md"]);
        assert_eq!(config.ignore.len(), DEFAULT_IGNORE.len() + 1);
        assert!(config.ignore.iter().any(|p| p == ".git/**"));
        assert!(!config.recursive);
        let config = config.without_default_ignores().with_ignore("*.tmp");
        assert_eq!(config.ignore, ["**/*.bak", "*.tmp"]);
    }

    #[test]
    fn debounce_reads_integers_and_units() {
        for (text, ms) in [
            ("300", 300),
            ("\"300ms\"", 300),
            ("\"2s\"", 2000),
            ("\"1.5s\"", 1500),
        ] {
            let config: WatcherConfig = toml::from_str(&format!("debounce = {text}")).unwrap();
            assert_eq!(config.debounce, Duration::from_millis(ms), "{text}");
        }
        for bad in ["-1", "\"soon\"", "\"-2s\""] {
            assert!(
                toml::from_str::<WatcherConfig>(&format!("debounce = {bad}")).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn file_patterns_add_to_defaults_and_round_trip() {
        let config: WatcherConfig = toml::from_str("ignore = ['*.tmp', 'target/**']").unwrap();
        let mut expected: Vec<String> = DEFAULT_IGNORE.iter().map(|p| p.to_string()).collect();
        expected.push("*.tmp".into());
        assert_eq!(config.ignore, expected);
        let text = toml::to_string(&config).unwrap();
        assert_eq!(toml::from_str::<WatcherConfig>(&text).unwrap(), config);
    }

    #[test]
    fn empty_file_is_default_and_typos_are_rejected() {
        assert_eq!(
            toml::from_str::<WatcherConfig>("").unwrap(),
            WatcherConfig::default()
        );
        assert!(toml::from_str::<WatcherConfig>("extension = ['rs']").is_err());
    }
}
