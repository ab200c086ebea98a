//! Tables of a plugin config file that no plugin reads: a typo in
//! `[plugins.<name>]` would otherwise be accepted silently.

use super::PluginConfigFile;

/// A `[plugins.<name>]` table for a plugin the system does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnknownTable {
    /// The name in the file.
    pub plugin: String,
    /// Where its table starts.
    pub line: Option<usize>,
    /// The known plugin whose name is closest, when one is close (a typo).
    pub closest: Option<String>,
}

impl PluginConfigFile {
    /// The tables of plugins not in `known`, sorted by name, each with its
    /// line and the closest known name (within a third of the name's
    /// length in edits).
    ///
    /// ```
    /// use tony_core::PluginConfigFile;
    ///
    /// let file = PluginConfigFile::parse("[plugins.gretter]\nx = 1\n", "plugins.toml")?;
    /// let unknown = file.unknown_tables(["greeter", "counter"]);
    /// assert_eq!(unknown[0].plugin, "gretter");
    /// assert_eq!(unknown[0].line, Some(1));
    /// assert_eq!(unknown[0].closest.as_deref(), Some("greeter"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn unknown_tables<'a>(
        &self,
        known: impl IntoIterator<Item = &'a str>,
    ) -> Vec<UnknownTable> {
        let known: Vec<&str> = known.into_iter().collect();
        self.tables
            .keys()
            .filter(|name| !known.contains(&name.as_str()))
            .map(|name| UnknownTable {
                plugin: name.clone(),
                line: self.line_of(name),
                closest: known
                    .iter()
                    .map(|k| (edit_distance(name, k), *k))
                    .filter(|(d, _)| *d <= name.chars().count().div_ceil(3))
                    .min()
                    .map(|(_, k)| k.to_owned()),
            })
            .collect()
    }

    /// Logs a warning (file, line, closest name) for each table of a plugin
    /// not in `known`.
    pub(crate) fn warn_unknown_tables<'a>(&self, known: impl IntoIterator<Item = &'a str>) {
        for t in self.unknown_tables(known) {
            tracing::warn!(
                file = %self.path().display(),
                line = t.line.unwrap_or(0),
                plugin = %t.plugin,
                closest = t.closest.as_deref().unwrap_or("-"),
                "plugin config file has a table for a plugin that does not exist{}",
                t.closest
                    .as_deref()
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default()
            );
        }
    }
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::edit_distance;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("greeter", "greeter"), 0);
        assert_eq!(edit_distance("gretter", "greeter"), 1);
        assert_eq!(edit_distance("countr", "counter"), 1);
        assert_eq!(edit_distance("counter", "greeter"), 4);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
