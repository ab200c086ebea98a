//! Unusual plugin config files are refused quickly and clearly: too large,
//! not a regular file (a FIFO would block, `/dev/zero` never ends); a table
//! for a plugin that does not exist is reported with the closest name.

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::mpsc;
use std::time::Duration;

use tony_core::PluginConfigFile;
use tony_core::error::ConfigFileError;

/// `load(path)` on another thread, failing the test instead of hanging.
fn load_within(path: std::path::PathBuf) -> Result<PluginConfigFile, ConfigFileError> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(PluginConfigFile::load(path));
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("PluginConfigFile::load did not return within 10 s")
}

#[test]
fn a_file_over_the_size_cap_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plugins.toml");
    let mut text = String::from("[plugins.big]\nx = \"");
    text.push_str(&"a".repeat(PluginConfigFile::MAX_SIZE as usize));
    text.push_str("\"\n");
    std::fs::write(&path, text).unwrap();
    let err = load_within(path.clone()).unwrap_err();
    assert!(matches!(err, ConfigFileError::TooLarge { .. }), "{err:?}");
    assert!(err.to_string().contains("too large"), "{err}");
    assert!(err.to_string().contains("plugins.toml"), "{err}");
}

#[test]
fn a_symlink_to_dev_zero_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plugins.toml");
    std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
    let err = load_within(path).unwrap_err();
    assert!(matches!(err, ConfigFileError::NotAFile { .. }), "{err:?}");
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plugins.toml");
    let made = std::process::Command::new("mkfifo").arg(&path).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("mkfifo unavailable; skipped");
        return;
    }
    let err = load_within(path).unwrap_err();
    assert!(matches!(err, ConfigFileError::NotAFile { .. }), "{err:?}");
}

#[test]
fn a_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_within(dir.path().to_path_buf()).unwrap_err();
    assert!(matches!(err, ConfigFileError::NotAFile { .. }), "{err:?}");
}

#[test]
fn tables_of_unknown_plugins_name_the_line_and_closest_plugin() {
    let file = PluginConfigFile::parse(
        "[plugins.greeter]\nx = 1\n\n[plugins.countr]\ny = 2\n\n[plugins.zzz]\n",
        "plugins.toml",
    )
    .unwrap();
    let unknown = file.unknown_tables(["greeter", "counter", "banner"]);
    let got: Vec<(&str, Option<usize>, Option<&str>)> = unknown
        .iter()
        .map(|t| (t.plugin.as_str(), t.line, t.closest.as_deref()))
        .collect();
    assert_eq!(
        got,
        [("countr", Some(4), Some("counter")), ("zzz", Some(7), None)]
    );
}

#[test]
fn line_numbers_of_many_tables_are_exact() {
    let mut text = String::new();
    for i in 0..2000 {
        text.push_str(&format!("# plugin {i}\n[plugins.p{i}]\nx = {i}\n\n"));
    }
    let file = PluginConfigFile::parse(text, "plugins.toml").unwrap();
    for i in [0, 1, 999, 1999] {
        assert_eq!(file.line_of(&format!("p{i}")), Some(4 * i + 2));
    }
}
