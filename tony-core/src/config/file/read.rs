//! Reading a plugin config file: bounded in size, regular files only.

use std::fs::{self, File};
use std::io::Read;
use std::path::Path;

use super::Error;

/// Reads the regular file at `path` as UTF-8, refusing it when it is larger than `max_size`.
///
/// The file type is checked (after following symlinks) before the file is opened, because
/// opening a FIFO blocks until a writer appears; tony-core has no `libc` to open with
/// `O_NONBLOCK`. What remains is a race: a regular file swapped for a FIFO between the check
/// and the open can still block the open. A swap for an endless file cannot make the read
/// endless: it reads at most `max_size + 1` bytes, and the opened file's type is checked again.
pub(super) fn read_bounded(path: &Path, max_size: u64) -> Result<String, Error> {
    let read_error = |source| Error::Read {
        path: path.to_owned(),
        source,
    };
    let not_a_file = |meta: &fs::Metadata| Error::NotAFile {
        path: path.to_owned(),
        kind: kind(&meta.file_type()),
    };
    let meta = fs::metadata(path).map_err(read_error)?;
    if !meta.is_file() {
        return Err(not_a_file(&meta));
    }
    let too_large = || Error::TooLarge {
        path: path.to_owned(),
        limit: max_size,
    };
    if meta.len() > max_size {
        return Err(too_large());
    }
    let file = File::open(path).map_err(read_error)?;
    let meta = file.metadata().map_err(read_error)?;
    if !meta.is_file() {
        return Err(not_a_file(&meta));
    }
    let mut bytes = Vec::new();
    file.take(max_size.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > max_size {
        return Err(too_large());
    }
    String::from_utf8(bytes)
        .map_err(|err| read_error(std::io::Error::new(std::io::ErrorKind::InvalidData, err)))
}

/// What a file that is not a regular file is, for messages.
fn kind(file_type: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::fs;

    use super::super::{Error, PluginConfigFile};

    const FILE: &str = "[plugins.http]\nport = 8080\n";

    fn port(file: &PluginConfigFile) -> Option<i64> {
        file.table("http")?.get("port")?.as_integer()
    }

    #[test]
    fn a_loaded_file_keeps_its_tables_when_the_disk_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plugins.toml");
        fs::write(&path, FILE).unwrap();
        let file = PluginConfigFile::load(&path).unwrap();
        fs::write(&path, FILE.replace("8080", "9090")).unwrap();
        assert_eq!(port(&file), Some(8080));
        let reloaded = PluginConfigFile::load(&path).unwrap();
        assert_eq!(port(&reloaded), Some(9090));
    }

    #[test]
    fn a_file_over_the_cap_is_refused_naming_file_and_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plugins.toml");
        fs::write(&path, FILE).unwrap();
        let len = FILE.len() as u64;
        assert!(PluginConfigFile::load_with_limit(&path, len).is_ok());
        let err = PluginConfigFile::load_with_limit(&path, len - 1).unwrap_err();
        assert!(
            matches!(&err, Error::TooLarge { path: p, limit } if *p == path && *limit == len - 1),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains("plugins.toml") && message.contains(&format!("{}", len - 1)),
            "{message}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_to_dev_zero_is_refused_without_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plugins.toml");
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        let err = PluginConfigFile::load(&path).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::NotAFile {
                    kind: "a device",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("plugins.toml"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plugins.toml");
        match std::process::Command::new("mkfifo").arg(&path).status() {
            Ok(status) if status.success() => {}
            other => {
                tracing::warn!(?other, "mkfifo unavailable; FIFO test skipped");
                return;
            }
        }
        // A blocked open would hang the test: run it on a thread and bound the wait.
        let (tx, rx) = std::sync::mpsc::channel();
        let fifo = path.clone();
        std::thread::spawn(move || {
            let _ = tx.send(PluginConfigFile::load(&fifo).map(|_| ()));
        });
        let result = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("loading a FIFO blocked");
        let err = result.unwrap_err();
        assert!(
            matches!(&err, Error::NotAFile { kind: "a FIFO", .. }),
            "{err:?}"
        );
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = PluginConfigFile::load(dir.path()).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::NotAFile {
                    kind: "a directory",
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
