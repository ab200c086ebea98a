//! Unit tests of hot-reload configuration: presets, environment, TOML files, locations.

use std::fs;
use std::io;
use std::path::Path;
use std::time::Duration;

use super::location::Location;
use super::{Environment, Error, HotReloadConfig};

const ALL: [Environment; 3] = [
    Environment::Development,
    Environment::Production,
    Environment::Testing,
];

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn invalid(text: &str) -> (usize, usize, Option<String>, String) {
    match HotReloadConfig::from_toml_str(text, "hot.toml") {
        Err(Error::Invalid {
            path,
            line,
            column,
            key,
            message,
        }) => {
            assert_eq!(path, Path::new("hot.toml"));
            (line, column, key, message)
        }
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
}

#[test]
fn defaults_follow_the_guide() {
    let c = HotReloadConfig::default();
    assert_eq!(c.enabled, cfg!(debug_assertions));
    assert!(c.preserve_state && c.validate_before_reload && c.recursive && c.reload_dependents);
    assert_eq!(c.debounce, ms(500));
    assert_eq!(c.extensions, ["rs", "toml"]);
    assert_eq!(c.ignore, ["target/**", ".git/**"]);
    assert_eq!(c.max_retry_attempts.get(), 3);
    assert_eq!(c.plugin_config_path, None);
}

#[test]
fn development_preset() {
    let c = HotReloadConfig::for_environment(Environment::Development);
    assert!(c.enabled && c.preserve_state && c.validate_before_reload && c.reload_dependents);
    assert_eq!(c.debounce, ms(300));
    assert_eq!(c.max_retry_attempts.get(), 3);
    assert!(c.recursive);
}

#[test]
fn production_preset() {
    let c = HotReloadConfig::for_environment(Environment::Production);
    assert!(!c.enabled && !c.preserve_state && !c.reload_dependents);
    assert!(c.validate_before_reload);
    assert_eq!(c.debounce, ms(500));
    assert_eq!(c.max_retry_attempts.get(), 3);
}

#[test]
fn testing_preset() {
    let c = HotReloadConfig::for_environment(Environment::Testing);
    assert!(!c.enabled && !c.preserve_state);
    assert_eq!(c.debounce, ms(100));
    assert_eq!(c.max_retry_attempts.get(), 1);
    assert!(c.validate_before_reload && c.reload_dependents);
}

#[test]
fn presets_keep_the_default_watch_settings() {
    let default = HotReloadConfig::default();
    for env in ALL {
        let c = HotReloadConfig::for_environment(env);
        assert_eq!(
            (c.recursive, &c.extensions, &c.ignore, &c.plugin_config_path),
            (
                default.recursive,
                &default.extensions,
                &default.ignore,
                &default.plugin_config_path
            ),
            "{env}"
        );
    }
}

#[test]
fn builders_set_their_field() {
    let c = HotReloadConfig::default()
        .with_enabled(false)
        .with_preserve_state(false)
        .with_validate_before_reload(false)
        .with_debounce(ms(42))
        .with_source_roots(["src"])
        .with_recursive(false)
        .with_extensions(["rs"])
        .with_ignore(vec![String::from("**/gen/**")])
        .with_max_retry_attempts(n(7))
        .with_reload_dependents(false)
        .with_plugin_config_path("p.toml");
    let expected = HotReloadConfig {
        enabled: false,
        preserve_state: false,
        validate_before_reload: false,
        debounce: ms(42),
        source_roots: vec!["src".into()],
        recursive: false,
        extensions: vec!["rs".into()],
        ignore: vec!["**/gen/**".into()],
        max_retry_attempts: n(7),
        reload_dependents: false,
        plugin_config_path: Some("p.toml".into()),
    };
    assert_eq!(c, expected);
}

#[test]
fn every_spelling_parses_in_any_case() {
    for (names, env) in [
        (
            ["development", "dev", "DEV", "Development"],
            Environment::Development,
        ),
        (
            ["production", "prod", "PROD", "Production"],
            Environment::Production,
        ),
        (["testing", "test", "TEST", "Testing"], Environment::Testing),
    ] {
        for name in names {
            assert_eq!(name.parse::<Environment>().unwrap(), env, "{name}");
            assert_eq!(Environment::from_var(Some(name)).unwrap(), env, "{name}");
        }
    }
    assert_eq!(
        Environment::from_var(Some(" prod\n")).unwrap(),
        Environment::Production
    );
}

#[test]
fn display_round_trips() {
    for env in ALL {
        assert_eq!(env.to_string().parse::<Environment>().unwrap(), env);
    }
}

#[test]
fn unset_or_empty_var_follows_the_build() {
    let expected = if cfg!(debug_assertions) {
        Environment::Development
    } else {
        Environment::Production
    };
    for value in [None, Some(""), Some("  ")] {
        assert_eq!(Environment::from_var(value).unwrap(), expected, "{value:?}");
    }
}

#[test]
fn unknown_var_lists_the_valid_values() {
    let err = Environment::from_var(Some("staging")).unwrap_err();
    assert!(matches!(&err, Error::InvalidTonyEnv { value } if value == "staging"));
    let message = err.to_string();
    for word in [
        "TONY_ENV",
        "staging",
        "development",
        "dev",
        "production",
        "prod",
        "testing",
        "test",
    ] {
        assert!(message.contains(word), "{word:?} missing from {message:?}");
    }
    let err = "qa".parse::<Environment>().unwrap_err();
    assert!(matches!(&err, Error::UnknownEnvironment { value } if value == "qa"));
    assert!(err.to_string().contains("production (or prod)"));
}

#[test]
fn file_keys_override_the_named_preset() {
    let text = "environment = \"testing\"\nenabled = true\ndebounce_ms = 250\n";
    let c = HotReloadConfig::from_toml_str(text, "hot.toml").unwrap();
    let expected = HotReloadConfig::for_environment(Environment::Testing)
        .with_enabled(true)
        .with_debounce(ms(250));
    assert_eq!(c, expected);
}

#[test]
fn file_without_environment_starts_from_the_default() {
    let c = HotReloadConfig::from_toml_str("max_retry_attempts = 5", "hot.toml").unwrap();
    assert_eq!(c, HotReloadConfig::default().with_max_retry_attempts(n(5)));
    assert_eq!(
        HotReloadConfig::from_toml_str("", "hot.toml").unwrap(),
        HotReloadConfig::default()
    );
}

#[test]
fn every_field_round_trips_through_a_file() {
    let config = HotReloadConfig::for_environment(Environment::Production)
        .with_enabled(true)
        .with_validate_before_reload(false)
        .with_debounce(ms(1234))
        .with_source_roots(["src", "../shared"])
        .with_recursive(false)
        .with_extensions(["rs", "ron"])
        .with_ignore(["**/gen/**"])
        .with_max_retry_attempts(n(9))
        .with_plugin_config_path("conf/plugins.toml");
    let text = toml::to_string(&config).unwrap();
    assert!(text.contains("debounce_ms = 1234"), "{text}");
    assert_eq!(
        HotReloadConfig::from_toml_str(&text, "hot.toml").unwrap(),
        config
    );
    assert_eq!(toml::from_str::<HotReloadConfig>(&text).unwrap(), config);
}

#[test]
fn syntax_error_names_file_line_and_column() {
    let err = HotReloadConfig::from_toml_str("enabled = true\ndebounce_ms = = 3\n", "hot.toml")
        .unwrap_err();
    let Error::Syntax {
        path, line, column, ..
    } = &err
    else {
        panic!("expected Error::Syntax, got {err:?}");
    };
    assert_eq!(
        (path.as_path(), *line, *column),
        (Path::new("hot.toml"), 2, 15)
    );
    assert!(
        err.to_string().starts_with("hot.toml:2:15: invalid TOML: "),
        "{err}"
    );
}

#[test]
fn unknown_key_is_named_with_its_line() {
    let (line, column, key, message) = invalid("enabled = true\n\n  debounce = 300\n");
    assert_eq!((line, column, key.as_deref()), (3, 3, Some("debounce")));
    assert!(message.contains("unknown field `debounce`"), "{message}");
    assert!(
        message.contains("debounce_ms"),
        "the valid keys are listed: {message}"
    );
}

#[test]
fn wrong_type_is_named_with_its_line() {
    let (line, column, key, message) = invalid("enabled = true\nmax_retry_attempts = \"three\"\n");
    assert_eq!(
        (line, column, key.as_deref()),
        (2, 22, Some("max_retry_attempts"))
    );
    assert!(message.contains("invalid type"), "{message}");

    let (line, _, key, _) = invalid("extensions = [\n  \"rs\",\n  3,\n]\n");
    assert_eq!((line, key.as_deref()), (3, Some("extensions")));

    let (line, _, key, _) = invalid("\ndebounce_ms = -1\n");
    assert_eq!((line, key.as_deref()), (2, Some("debounce_ms")));
}

#[test]
fn unknown_environment_in_a_file_is_named_with_its_line() {
    let (line, _, key, message) = invalid("enabled = true\nenvironment = \"staging\"\n");
    assert_eq!((line, key.as_deref()), (2, Some("environment")));
    assert!(
        message.contains("staging") && message.contains("testing (or test)"),
        "{message}"
    );
}

#[test]
fn error_display_names_file_line_and_key() {
    let err = HotReloadConfig::from_toml_str("recursive = 1", "cfg/hot.toml").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cfg/hot.toml:1:13: `recursive`: invalid type"),
        "{err}"
    );
}

#[test]
fn from_toml_file_reads_and_resolves_the_plugin_config_path_and_source_roots() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hot.toml");
    fs::write(
        &path,
        "environment = \"dev\"\nplugin_config_path = \"conf/plugins.toml\"\nsource_roots = [\"src\", \"/abs\"]\n",
    )
    .unwrap();
    let c = HotReloadConfig::from_toml_file(&path).unwrap();
    let expected = HotReloadConfig::for_environment(Environment::Development)
        .with_plugin_config_path(dir.path().join("conf/plugins.toml"))
        .with_source_roots([dir.path().join("src"), "/abs".into()]);
    assert_eq!(c, expected);

    fs::write(&path, "plugin_config_path = \"/etc/tony/plugins.toml\"\n").unwrap();
    let c = HotReloadConfig::from_toml_file(&path).unwrap();
    assert_eq!(
        c.plugin_config_path.as_deref(),
        Some(Path::new("/etc/tony/plugins.toml"))
    );
}

#[test]
fn from_toml_file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    let err = HotReloadConfig::from_toml_file(&missing).unwrap_err();
    assert!(
        matches!(&err, Error::Read { path, source } if *path == missing && source.kind() == io::ErrorKind::NotFound)
    );
    assert!(err.to_string().contains("missing.toml"), "{err}");

    let bad = dir.path().join("bad.toml");
    fs::write(&bad, "# comment\nenabled = yes\n").unwrap();
    let err = HotReloadConfig::from_toml_file(&bad).unwrap_err();
    assert!(
        matches!(&err, Error::Syntax { path, line: 2, .. } if *path == bad),
        "{err:?}"
    );
}

#[test]
fn location_counts_lines_and_characters() {
    let text = "a = 1\nb = \"é\" x\n";
    let at = |offset| Location::of(text, Some(offset..offset), None);
    assert_eq!((at(0).line, at(0).column), (1, 1));
    assert_eq!((at(6).line, at(6).column), (2, 1));
    // `x` is byte 15 but character 9 of line 2; a mid-character offset rounds down.
    assert_eq!((at(15).line, at(15).column), (2, 9));
    assert_eq!((at(12).line, at(12).column), (2, 6));
    assert_eq!(at(usize::MAX).line, 3);
    assert_eq!(Location::of(text, None, None).line, 1);
}

fn n(attempts: u32) -> std::num::NonZeroU32 {
    std::num::NonZeroU32::new(attempts).unwrap()
}

#[test]
fn zero_attempts_is_an_error_at_its_line() {
    let (line, column, key, message) = invalid("enabled = true\nmax_retry_attempts = 0\n");
    assert_eq!(
        (line, column, key.as_deref()),
        (2, 22, Some("max_retry_attempts"))
    );
    assert!(message.contains("nonzero"), "{message}");
}
