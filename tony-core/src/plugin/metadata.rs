//! What a plugin says about itself: name, version, dependencies, source.

use std::borrow::Cow;
use std::fmt;

use semver::{Version, VersionReq};

/// Why a plugin's metadata is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The name breaks the naming rule (see [`Metadata::validate_name`]).
    #[error("invalid plugin name `{name}`: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// Which part of the rule it breaks.
        reason: &'static str,
    },
    /// A version string is not semver.
    #[error("plugin `{plugin}`: invalid {what} `{value}`: {message}")]
    InvalidVersion {
        /// The plugin at fault.
        plugin: String,
        /// Which field: `version`, `min_tony_version`.
        what: &'static str,
        /// The string as given.
        value: String,
        /// The parser's explanation.
        message: String,
    },
    /// A dependency's range is not a semver requirement.
    #[error("plugin `{plugin}`: dependency `{dependency}` has invalid range `{value}`: {message}")]
    InvalidRange {
        /// The plugin at fault.
        plugin: String,
        /// The dependency's name.
        dependency: String,
        /// The range as given.
        value: String,
        /// The parser's explanation.
        message: String,
    },
    /// A plugin lists itself as a dependency.
    #[error("plugin `{plugin}` depends on itself")]
    SelfDependency {
        /// The plugin at fault.
        plugin: String,
    },
    /// A plugin lists the same dependency twice.
    #[error("plugin `{plugin}` lists dependency `{dependency}` twice")]
    DuplicateDependency {
        /// The plugin at fault.
        plugin: String,
        /// The repeated dependency.
        dependency: String,
    },
}

/// Where a plugin is defined: recorded by `#[tony_plugin]` (absolute path),
/// or by [`SourceLocation::caller`] for plugins registered by hand.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SourceLocation {
    /// The source file.
    pub file: Cow<'static, str>,
    /// The 1-based line of the plugin's definition.
    pub line: u32,
}

impl SourceLocation {
    /// A location from a file and line.
    pub fn new(file: impl Into<Cow<'static, str>>, line: u32) -> Self {
        SourceLocation {
            file: file.into(),
            line,
        }
    }

    /// The location of the code calling this function.
    ///
    /// ```
    /// let here = tony_core::SourceLocation::caller();
    /// assert!(here.file.ends_with(".rs"));
    /// ```
    #[track_caller]
    pub fn caller() -> Self {
        let loc = std::panic::Location::caller();
        SourceLocation::new(loc.file(), loc.line())
    }
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A dependency on another plugin: a name, a semver range, and whether the
/// plugin can live without it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Dependency {
    /// The name of the plugin depended on.
    pub name: String,
    /// The versions accepted.
    pub req: VersionReq,
    /// An optional dependency may be absent; see [`Resolution`](crate::Resolution)
    /// for what happens when it is present in a version out of range.
    pub optional: bool,
}

impl fmt::Display for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.req)?;
        if self.optional {
            f.write_str(" (optional)")?;
        }
        Ok(())
    }
}

/// What a plugin says about itself.
///
/// Built with [`Metadata::new`] and `with_*` methods. Parse errors are kept
/// and reported, with the plugin's name, when the registry is built (see
/// [`Metadata::validate`]), so the builder chain stays readable:
///
/// ```
/// use tony_core::Metadata;
///
/// let meta = Metadata::new("dependent-plugin", "1.0.0")
///     .with_description("Plugin that depends on others")
///     .with_min_tony_version("0.1.0")
///     .with_dependency("base-plugin", "^1.0.0")
///     .with_optional_dependency("utils-plugin", ">=2.0.0");
/// assert!(meta.validate().is_ok());
/// assert_eq!(meta.dependencies().len(), 2);
///
/// let bad = Metadata::new("Bad Name", "one");
/// assert!(bad.validate().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    name: Cow<'static, str>,
    version: Version,
    description: Cow<'static, str>,
    min_tony_version: Option<Version>,
    dependencies: Vec<Dependency>,
    state_version: u32,
    source: SourceLocation,
    problems: Vec<Error>,
}

impl Metadata {
    /// Metadata for `name` at `version` (semver), with the caller as its
    /// source location.
    #[track_caller]
    pub fn new(name: impl Into<Cow<'static, str>>, version: &str) -> Self {
        let name = name.into();
        let mut problems = Vec::new();
        if let Err(e) = Self::validate_name(&name) {
            problems.push(e);
        }
        let version = parse_version(&name, "version", version, &mut problems);
        Metadata {
            name,
            version,
            description: Cow::Borrowed(""),
            min_tony_version: None,
            dependencies: Vec::new(),
            state_version: 0,
            source: SourceLocation::caller(),
            problems,
        }
    }

    /// Checks the naming rule: 1 to 64 characters of lowercase ASCII letters,
    /// digits and `-`, starting with a letter, with no trailing or doubled `-`.
    ///
    /// ```
    /// use tony_core::Metadata;
    /// assert!(Metadata::validate_name("base-plugin2").is_ok());
    /// assert!(Metadata::validate_name("-x").is_err());
    /// assert!(Metadata::validate_name("a--b").is_err());
    /// ```
    pub fn validate_name(name: &str) -> Result<(), Error> {
        let reason = if name.is_empty() || name.len() > 64 {
            Some("must be 1 to 64 characters long")
        } else if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            Some("must start with a lowercase ASCII letter")
        } else if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            Some("may contain only lowercase ASCII letters, digits and `-`")
        } else if name.ends_with('-') || name.contains("--") {
            Some("must not end with `-` or contain `--`")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::InvalidName {
                name: name.to_owned(),
                reason,
            }),
            None => Ok(()),
        }
    }

    /// Sets the version (semver), as a new version of the same plugin
    /// would have it; an invalid one is reported by [`validate`](Self::validate).
    ///
    /// ```
    /// use tony_core::Metadata;
    /// let m = Metadata::new("counter", "1.0.0").with_version("1.1.0");
    /// assert_eq!(m.version(), &tony_core::semver::Version::new(1, 1, 0));
    /// assert!(Metadata::new("counter", "1.0.0").with_version("one").validate().is_err());
    /// ```
    pub fn with_version(mut self, version: &str) -> Self {
        self.problems.retain(|p| {
            !matches!(
                p,
                Error::InvalidVersion {
                    what: "version",
                    ..
                }
            )
        });
        self.version = parse_version(&self.name, "version", version, &mut self.problems);
        self
    }

    /// Sets the one-line description.
    pub fn with_description(mut self, description: impl Into<Cow<'static, str>>) -> Self {
        self.description = description.into();
        self
    }

    /// Sets the minimum Tony version this plugin needs (semver).
    pub fn with_min_tony_version(mut self, version: &str) -> Self {
        let v = parse_version(&self.name, "min_tony_version", version, &mut self.problems);
        self.min_tony_version = Some(v);
        self
    }

    /// Adds a required dependency on `name` within the semver range `req`.
    pub fn with_dependency(self, name: impl Into<String>, req: &str) -> Self {
        self.push_dependency(name.into(), req, false)
    }

    /// Adds an optional dependency on `name` within the semver range `req`.
    pub fn with_optional_dependency(self, name: impl Into<String>, req: &str) -> Self {
        self.push_dependency(name.into(), req, true)
    }

    /// Sets the state version, passed to [`Plugin::migrate`](crate::Plugin::migrate)
    /// in [`OldState`](crate::OldState). Bump it when the state's meaning
    /// changes even though its layout does not.
    pub fn with_state_version(mut self, state_version: u32) -> Self {
        self.state_version = state_version;
        self
    }

    /// Sets where the plugin is defined.
    pub fn with_source(mut self, source: SourceLocation) -> Self {
        self.source = source;
        self
    }

    fn push_dependency(mut self, name: String, req: &str, optional: bool) -> Self {
        if name == self.name {
            self.problems.push(Error::SelfDependency {
                plugin: self.name.to_string(),
            });
        }
        if self.dependencies.iter().any(|d| d.name == name) {
            self.problems.push(Error::DuplicateDependency {
                plugin: self.name.to_string(),
                dependency: name.clone(),
            });
        }
        match VersionReq::parse(req) {
            Ok(req) => self.dependencies.push(Dependency {
                name,
                req,
                optional,
            }),
            Err(e) => self.problems.push(Error::InvalidRange {
                plugin: self.name.to_string(),
                dependency: name,
                value: req.to_owned(),
                message: e.to_string(),
            }),
        }
        self
    }

    /// The first problem found while building this metadata, if any.
    pub fn validate(&self) -> Result<(), Error> {
        match self.problems.first() {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// The plugin's unique name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The plugin's version.
    pub fn version(&self) -> &Version {
        &self.version
    }

    /// The one-line description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The minimum Tony version, if the plugin sets one.
    pub fn min_tony_version(&self) -> Option<&Version> {
        self.min_tony_version.as_ref()
    }

    /// The plugins this one depends on.
    pub fn dependencies(&self) -> &[Dependency] {
        &self.dependencies
    }

    /// The state version (see [`Metadata::with_state_version`]).
    pub fn state_version(&self) -> u32 {
        self.state_version
    }

    /// Where the plugin is defined.
    pub fn source(&self) -> &SourceLocation {
        &self.source
    }
}

fn parse_version(
    plugin: &str,
    what: &'static str,
    value: &str,
    problems: &mut Vec<Error>,
) -> Version {
    Version::parse(value).unwrap_or_else(|e| {
        problems.push(Error::InvalidVersion {
            plugin: plugin.to_owned(),
            what,
            value: value.to_owned(),
            message: e.to_string(),
        });
        Version::new(0, 0, 0)
    })
}

/// The version of Tony compiled into this binary; checked against each
/// plugin's `min_tony_version`.
pub fn tony_version() -> Version {
    // CARGO_PKG_VERSION is always valid semver: cargo refuses anything else.
    Version::parse(env!("CARGO_PKG_VERSION")).unwrap_or(Version::new(0, 0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_pieces_are_reported_with_the_plugin_name() {
        let m = Metadata::new("p", "1.x");
        assert!(
            matches!(m.validate(), Err(Error::InvalidVersion { ref plugin, .. }) if plugin == "p")
        );
        let m = Metadata::new("p", "1.0.0").with_dependency("q", "^^1");
        let e = m.validate().unwrap_err().to_string();
        assert!(
            e.contains("`p`") && e.contains("`q`") && e.contains("^^1"),
            "{e}"
        );
        let m = Metadata::new("p", "1.0.0").with_dependency("p", "*");
        assert_eq!(
            m.validate(),
            Err(Error::SelfDependency { plugin: "p".into() })
        );
        let m = Metadata::new("p", "1.0.0")
            .with_dependency("q", "*")
            .with_optional_dependency("q", "*");
        assert!(matches!(
            m.validate(),
            Err(Error::DuplicateDependency { .. })
        ));
    }

    #[test]
    fn name_rule() {
        for ok in ["a", "base-plugin", "x2", "a-b-c"] {
            assert!(Metadata::validate_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "A", "2a", "a_b", "a-", "a--b", "é", &"a".repeat(65)] {
            assert!(Metadata::validate_name(bad).is_err(), "{bad}");
        }
    }
}
