//! Tables for plugins that do not exist: most often a typo in a plugin's name.

use std::fmt;
use std::path::PathBuf;

use super::PluginConfigFile;

/// A `[plugins.<name>]` table whose plugin is not registered, found by
/// [`PluginConfigFile::unknown_tables`].
///
/// It displays as `plugins.toml:3: [plugins.gretter]: no plugin `gretter` (did you mean
/// `greeter`?)`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnknownTable {
    /// The file.
    pub path: PathBuf,
    /// The name in the table's header.
    pub plugin: String,
    /// 1-based line of the table's name.
    pub line: usize,
    /// The registered plugin name closest to `plugin`, when one is close enough to be a
    /// likely typo (an edit distance of at most a third of the name, and at least 1).
    pub closest: Option<String>,
}

impl fmt::Display for UnknownTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: [plugins.{}]: no plugin `{}`",
            self.path.display(),
            self.line,
            self.plugin,
            self.plugin
        )?;
        match &self.closest {
            Some(closest) => write!(f, " (did you mean `{closest}`?)"),
            None => Ok(()),
        }
    }
}

impl PluginConfigFile {
    /// The tables of this file whose plugin is not among `known` (the registered plugin
    /// names), each with its line and the closest known name, sorted by name.
    ///
    /// ```
    /// use tony_core::PluginConfigFile;
    ///
    /// let file = PluginConfigFile::parse("[plugins.gretter]\ngreeting = \"hi\"\n", "plugins.toml")?;
    /// let unknown = file.unknown_tables(["greeter", "http"]);
    /// assert_eq!(
    ///     unknown[0].to_string(),
    ///     "plugins.toml:1: [plugins.gretter]: no plugin `gretter` (did you mean `greeter`?)"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn unknown_tables<'a>(
        &self,
        known: impl IntoIterator<Item = &'a str>,
    ) -> Vec<UnknownTable> {
        let known: Vec<&str> = known.into_iter().collect();
        self.plugins
            .iter()
            .filter(|(name, _)| !known.contains(&name.as_str()))
            .map(|(name, entry)| UnknownTable {
                path: self.path.clone(),
                plugin: name.clone(),
                line: entry.line,
                closest: closest(name, &known).map(str::to_owned),
            })
            .collect()
    }

    /// As [`unknown_tables`](Self::unknown_tables), also logging each with `tracing::warn!`.
    pub fn warn_unknown_tables<'a>(
        &self,
        known: impl IntoIterator<Item = &'a str>,
    ) -> Vec<UnknownTable> {
        let unknown = self.unknown_tables(known);
        for table in &unknown {
            tracing::warn!(
                path = %table.path.display(),
                line = table.line,
                plugin = %table.plugin,
                closest = table.closest.as_deref(),
                "{table}"
            );
        }
        unknown
    }
}

/// The name in `known` closest to `name`, if it is close enough to be a typo.
fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    known
        .iter()
        .map(|candidate| (edit_distance(name, candidate), *candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance between `a` and `b`, in characters (one row of the table).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(above + 1)
                .min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::{closest, edit_distance};

    #[test]
    fn edit_distance_counts_insertions_deletions_and_substitutions() {
        assert_eq!(edit_distance("greeter", "greeter"), 0);
        assert_eq!(edit_distance("gretter", "greeter"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn closest_ignores_names_too_far_to_be_a_typo() {
        assert_eq!(closest("htp", &["http", "greeter"]), Some("http"));
        assert_eq!(closest("database", &["http", "greeter"]), None);
    }
}
