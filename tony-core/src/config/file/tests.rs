//! Unit tests of the plugin config file's parsing and typed access.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::fmt;

use super::{Error, PluginConfigFile};

const FILE: &str = "\
# plugin config
[plugins]
inline = { x = 1 }

[plugins.http]
port = 8080
host = \"localhost\"

[plugins.http.tls]
cert = \"cert.pem\"

[plugins.greeter]
greeting = \"hello\"
";

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Http {
    port: u16,
    host: String,
    #[serde(default)]
    tls: Option<Tls>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Tls {
    cert: String,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
struct Greeter {
    greeting: String,
}

fn parse(text: &str) -> PluginConfigFile {
    PluginConfigFile::parse(text, "plugins.toml").unwrap()
}

fn typed_error<C: DeserializeOwned + fmt::Debug>(
    text: &str,
    plugin: &str,
) -> (usize, usize, Option<String>, String) {
    match parse(text).check::<C>(plugin) {
        Err(Error::Config {
            path,
            plugin: at_fault,
            line,
            column,
            key,
            message,
        }) => {
            assert_eq!(
                (path.as_path(), at_fault.as_str()),
                (Path::new("plugins.toml"), plugin)
            );
            (line, column, key, message)
        }
        other => panic!("expected Error::Config, got {other:?}"),
    }
}

#[test]
fn each_plugin_has_its_table_and_line() {
    let file = parse(FILE);
    assert_eq!(file.plugin_names(), ["greeter", "http", "inline"]);
    let http = file.table("http").unwrap();
    assert_eq!(http["port"].as_integer(), Some(8080));
    assert_eq!(http["tls"]["cert"].as_str(), Some("cert.pem"));
    assert_eq!(file.table("inline").unwrap()["x"].as_integer(), Some(1));
    assert_eq!(file.table("missing"), None);
    assert_eq!(file.line_of("inline"), Some(3));
    assert_eq!(file.line_of("http"), Some(5));
    assert_eq!(file.line_of("greeter"), Some(12));
    assert_eq!(file.line_of("missing"), None);
    assert_eq!(file.path(), Path::new("plugins.toml"));
}

#[test]
fn an_empty_file_has_no_plugins() {
    assert!(parse("# nothing yet\n").plugin_names().is_empty());
    assert!(parse("[plugins]\n").plugin_names().is_empty());
}

#[test]
fn top_level_keys_other_than_plugins_are_rejected() {
    let err = PluginConfigFile::parse(
        "# typo\n[plugin.greeter]\ngreeting = \"hi\"\n",
        "plugins.toml",
    )
    .unwrap_err();
    let Error::Layout {
        line,
        column,
        key,
        message,
        ..
    } = &err
    else {
        panic!("expected Error::Layout, got {err:?}");
    };
    assert_eq!((*line, *column, key.as_deref()), (2, 2, Some("plugin")));
    assert!(message.contains("unknown field `plugin`"), "{message}");
}

#[test]
fn a_plugin_entry_must_be_a_table() {
    let err = PluginConfigFile::parse("[plugins]\nhttp = 8080\n", "plugins.toml").unwrap_err();
    let Error::Layout { line, key, .. } = &err else {
        panic!("expected Error::Layout, got {err:?}");
    };
    assert_eq!((*line, key.as_deref()), (2, Some("plugins.http")));
    assert!(
        err.to_string()
            .starts_with("plugins.toml:2:8: `plugins.http`: invalid type"),
        "{err}"
    );
}

#[test]
fn syntax_errors_name_file_line_and_column() {
    let err = PluginConfigFile::parse("[plugins.http]\nport = 80\nhost = \n", "conf/plugins.toml")
        .unwrap_err();
    let Error::Syntax {
        path, line, column, ..
    } = &err
    else {
        panic!("expected Error::Syntax, got {err:?}");
    };
    assert_eq!(
        (path.as_path(), *line, *column),
        (Path::new("conf/plugins.toml"), 3, 8)
    );
    assert!(
        err.to_string()
            .starts_with("conf/plugins.toml:3:8: invalid TOML"),
        "{err}"
    );
}

#[test]
fn changed_plugins_lists_changed_added_and_removed_tables() {
    let old = parse("[plugins.a]\nx = 1\n[plugins.b]\ny = 1\n[plugins.c]\nz = 1\n");
    let new =
        parse("[plugins.d]\n\n[plugins.b]\ny = 2\n\n# moved, same content\n[plugins.a]\nx = 1\n");
    assert_eq!(
        PluginConfigFile::changed_plugins(&old, &new),
        ["b", "c", "d"]
    );
    assert_eq!(
        PluginConfigFile::changed_plugins(&new, &new),
        Vec::<String>::new()
    );
    let empty = PluginConfigFile::default();
    assert_eq!(
        PluginConfigFile::changed_plugins(&empty, &old),
        ["a", "b", "c"]
    );
}

#[test]
fn check_deserializes_the_typed_config() {
    let file = parse(FILE);
    let http: Http = file.check("http").unwrap();
    let tls = Some(Tls {
        cert: "cert.pem".into(),
    });
    assert_eq!(
        http,
        Http {
            port: 8080,
            host: "localhost".into(),
            tls
        }
    );
    let greeter: Greeter = file.check("greeter").unwrap();
    assert_eq!(greeter.greeting, "hello");
}

#[test]
fn check_names_the_line_and_key_of_a_wrong_type() {
    let text = FILE.replace("port = 8080", "port = \"eighty\"");
    let (line, column, key, message) = typed_error::<Http>(&text, "http");
    assert_eq!((line, column, key.as_deref()), (6, 8, Some("port")));
    assert!(message.contains("invalid type"), "{message}");
    let err = parse(&text).check::<Http>("http").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("plugins.toml:6:8: plugin `http`: `port`: invalid type"),
        "{err}"
    );
}

#[test]
fn check_names_the_line_of_an_unknown_or_nested_key() {
    let text = FILE.replace("host = \"localhost\"", "host = \"localhost\"\nhots = 1");
    let (line, column, key, message) = typed_error::<Http>(&text, "http");
    assert_eq!((line, column, key.as_deref()), (8, 1, Some("hots")));
    assert!(message.contains("unknown field `hots`"), "{message}");

    let text = FILE.replace("cert = \"cert.pem\"", "cert = 3");
    let (line, _, key, _) = typed_error::<Http>(&text, "http");
    assert_eq!((line, key.as_deref()), (10, Some("tls.cert")));
}

#[test]
fn check_points_at_the_table_when_a_field_is_missing() {
    let text = FILE.replace("port = 8080\n", "");
    let (line, column, key, message) = typed_error::<Http>(&text, "http");
    assert_eq!((line, column, key), (5, 1, None));
    assert!(message.contains("missing field `port`"), "{message}");

    let (line, _, _, _) = typed_error::<Http>(FILE, "inline");
    assert_eq!(line, 3);
}

#[test]
fn a_plugin_without_a_table_gets_its_defaults() {
    let file = parse(FILE);
    assert_eq!(file.check::<Greeter>("absent").unwrap(), Greeter::default());
    let err = file.check::<Http>("absent").unwrap_err();
    assert!(
        matches!(&err, Error::MissingTable { plugin, .. } if plugin == "absent"),
        "{err:?}"
    );
    assert!(err.to_string().contains("missing field `port`"), "{err}");
}

#[test]
fn plugin_error_points_at_the_plugin_table() {
    let file = parse(FILE);
    let err = file.plugin_error("greeter", "greeting too short");
    assert!(
        matches!(&err, Error::Config { plugin, line: 12, column: 1, key: None, .. } if plugin == "greeter"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "plugins.toml:12:1: plugin `greeter`: greeting too short"
    );
    let err = file.plugin_error("absent", "needed");
    assert!(
        matches!(&err, Error::MissingTable { plugin, .. } if plugin == "absent"),
        "{err:?}"
    );
}

#[test]
fn load_reads_the_file_and_names_it_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plugins.toml");
    fs::write(&path, FILE).unwrap();
    let file = PluginConfigFile::load(&path).unwrap();
    assert_eq!(
        (file.path(), file.line_of("http")),
        (path.as_path(), Some(5))
    );

    let missing = dir.path().join("missing.toml");
    let err = PluginConfigFile::load(&missing).unwrap_err();
    assert!(
        matches!(&err, Error::Read { path, .. } if *path == missing),
        "{err:?}"
    );
    assert!(err.to_string().contains("missing.toml"), "{err}");
}

thread_local! {
    static PARSES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Counts the parses of a file text on this thread (test builds only).
pub(super) fn count_parse() {
    PARSES.with(|n| n.set(n.get() + 1));
}

fn parses() -> usize {
    PARSES.with(std::cell::Cell::get)
}

#[test]
fn check_does_not_parse_the_file_again() {
    let file = parse(FILE);
    let before = parses();
    for _ in 0..100 {
        let http: Http = file.check("http").unwrap();
        assert_eq!(http.port, 8080);
        let _: Greeter = file.check("greeter").unwrap();
        let _: Greeter = file.check("absent").unwrap();
    }
    let _ = file.plugin_error("http", "x");
    assert_eq!(parses(), before, "check parsed the file again");
}

#[test]
fn unknown_tables_name_file_line_and_closest_plugin() {
    let file = parse(FILE);
    let unknown = file.warn_unknown_tables(["greeter", "https", "other"]);
    let found: Vec<_> = unknown
        .iter()
        .map(|t| (t.plugin.as_str(), t.line, t.closest.as_deref()))
        .collect();
    assert_eq!(found, [("http", 5, Some("https")), ("inline", 3, None)]);
    assert_eq!(
        unknown[0].to_string(),
        "plugins.toml:5: [plugins.http]: no plugin `http` (did you mean `https`?)"
    );
    assert!(
        file.unknown_tables(["greeter", "http", "inline"])
            .is_empty()
    );
}

#[test]
fn line_numbers_stay_right_across_many_tables() {
    let text: String = (0..500)
        .map(|i| format!("[plugins.p{i}]\nx = {i}\n\n"))
        .collect();
    let file = parse(&text);
    assert_eq!(file.line_of("p0"), Some(1));
    assert_eq!(file.line_of("p499"), Some(499 * 3 + 1));
    let err = file.plugin_error("p250", "bad");
    assert!(
        err.to_string()
            .starts_with("plugins.toml:751:1: plugin `p250`"),
        "{err}"
    );
}
