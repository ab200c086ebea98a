//! Locating TOML errors: line, column and dotted key of a span, for every config error.

use std::fmt;
use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// Formats `` `key`: `` before an error message, or nothing.
pub(crate) struct KeyPrefix<'a>(pub(crate) Option<&'a str>);

impl fmt::Display for KeyPrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(key) => write!(f, "`{key}`: "),
            None => Ok(()),
        }
    }
}

/// Where a TOML error points: 1-based line and column, and the dotted key concerned.
#[derive(Debug)]
pub(crate) struct Location {
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) key: Option<String>,
}

impl Location {
    /// Locates `span` (a byte range of `text`; none: the start) and, given the table parsed
    /// from `text` that the error concerns, names the key (relative to that table) it covers.
    pub(crate) fn of(text: &str, span: Option<Range<usize>>, table: Option<&DeTable<'_>>) -> Self {
        Self::at(&LineIndex::new(text), text, span, table)
    }

    /// As [`Location::of`], with the line starts of `text` computed once by the caller: a
    /// lookup is a binary search, so locating n spans costs O(n log lines), not O(n * len).
    pub(crate) fn at(
        lines: &LineIndex,
        text: &str,
        span: Option<Range<usize>>,
        table: Option<&DeTable<'_>>,
    ) -> Self {
        let start = text.floor_char_boundary(span.as_ref().map_or(0, |span| span.start));
        // Line k (0-based) starts at lines.0[k]; the first start is always 0.
        let line = lines.0.partition_point(|&s| s <= start).max(1);
        let line_start = lines.0.get(line - 1).copied().unwrap_or(0);
        Self {
            line,
            column: text.get(line_start..start).map_or(0, |s| s.chars().count()) + 1,
            key: span
                .zip(table)
                .and_then(|(span, table)| key_at(table, &span)),
        }
    }
}

/// The byte offsets where the lines of a text start, computed once.
#[derive(Clone, Debug, Default)]
pub(crate) struct LineIndex(Vec<usize>);

impl LineIndex {
    /// Indexes the line starts of `text`.
    pub(crate) fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self(starts)
    }
}

/// The dotted path, relative to `table`, of the key whose name or value covers `span`.
fn key_at(table: &DeTable<'_>, span: &Range<usize>) -> Option<String> {
    let covers = |outer: Range<usize>| outer.start <= span.start && span.end <= outer.end;
    table.iter().find_map(|(key, value)| {
        let name = key.get_ref();
        if covers(key.span()) {
            return Some(name.to_string());
        }
        let inner = match value.get_ref() {
            DeValue::Table(table) => key_at(table, span).map(|sub| format!("{name}.{sub}")),
            DeValue::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
                let item = item.get_ref().as_table()?;
                key_at(item, span).map(|sub| format!("{name}[{i}].{sub}"))
            }),
            _ => None,
        };
        inner.or_else(|| covers(value.span()).then(|| name.to_string()))
    })
}
