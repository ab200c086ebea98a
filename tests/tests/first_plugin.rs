//! The README's first example, kept as `examples/readme/first_plugin.rs`
//! (run as `--example first_plugin`). The README shows that file verbatim,
//! and its asserts must hold under every `TONY_ENV` preset, and in release
//! (`cargo test --release -p tony-tests --test first_plugin`, where no
//! `TONY_ENV` means production).

include!("../examples/readme/first_plugin.rs");

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod presets {
    use std::process::Command;

    /// Set in the child process that runs the example's `main`.
    const CHILD: &str = "TONY_FIRST_PLUGIN_CHILD";

    #[test]
    fn the_readme_shows_this_program() {
        let readme = include_str!("../../README.md");
        let program = include_str!("../examples/readme/first_plugin.rs");
        let first = readme
            .split("\n```rust")
            .nth(1)
            .and_then(|rest| rest.split_once('\n'))
            .and_then(|(_, rest)| rest.split("```").next())
            .expect("the README has a rust code block");
        assert_eq!(
            first, program,
            "README.md's first rust block must be tests/examples/readme/first_plugin.rs"
        );
    }

    /// Runs the example's `main` when the parent asked for it (the preset is
    /// read from `TONY_ENV` when the system is built, so each preset needs
    /// a process of its own).
    #[test]
    fn child() {
        if std::env::var_os(CHILD).is_some() {
            super::main().unwrap();
        }
    }

    #[test]
    fn its_asserts_hold_under_every_preset() {
        for env in [
            None,
            Some("development"),
            Some("production"),
            Some("testing"),
        ] {
            let mut cmd = Command::new(std::env::current_exe().unwrap());
            cmd.args(["--exact", "presets::child", "--nocapture"])
                .env(CHILD, "1");
            match env {
                Some(env) => cmd.env("TONY_ENV", env),
                None => cmd.env_remove("TONY_ENV"),
            };
            let out = cmd.output().unwrap();
            assert!(
                out.status.success(),
                "TONY_ENV={env:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                String::from_utf8_lossy(&out.stdout).contains("1 passed"),
                "TONY_ENV={env:?}: the example did not run"
            );
        }
    }
}
