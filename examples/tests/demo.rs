//! Runs the demo's scripted round and checks what it shows.
#![allow(clippy::unwrap_used, missing_docs)]

use std::process::Command;

#[test]
fn the_scripted_round_shows_every_scenario() {
    let out = Command::new(env!("CARGO_BIN_EXE_demo"))
        .arg("--once")
        .env("TONY_ENV", "development")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pos = |needle: &str| {
        stdout
            .find(needle)
            .unwrap_or_else(|| panic!("missing {needle:?} in:\n{stdout}"))
    };

    // activation order: dependencies first
    assert!(pos("loaded greeter") < pos("loaded reporter"));
    // counter preserved across a reload
    assert!(pos("counter = 3") < pos("reload counter: ok"));
    pos("counter after reload = 3");
    // dependent reloaded with its base
    pos("reload greeter: ok");
    pos("dependents reloaded: reporter");
    pos("reporter: activations = 2");
    // config change applied, state kept
    pos("config applied:");
    pos("[      Reconfigured live       ] (shown 2 times)");
    // bad config rejected, with file and line, old config still running
    let rejected = pos("rejected: ");
    assert!(
        stdout[rejected..]
            .lines()
            .next()
            .unwrap()
            .contains("demo.toml:3"),
        "{stdout}"
    );
    pos("banner still: [      Reconfigured live       ]");
    // validator rejection changes nothing
    pos("FAILED at validate (rejected: the counter is frozen for maintenance), nothing changed");
    pos("counter still = 3");
}

#[test]
fn the_graph_is_dot() {
    let out = Command::new(env!("CARGO_BIN_EXE_demo"))
        .arg("--graph")
        .output()
        .unwrap();
    let dot = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success());
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(dot.contains("\"reporter\" -> \"greeter\""), "{dot}");
    assert!(dot.contains("\"reporter\" -> \"metrics\""), "{dot}");
}

#[test]
fn unknown_arguments_are_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_demo"))
        .arg("--nope")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--nope"));
}

#[test]
fn the_live_demo_stops_cleanly_on_ctrl_c() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let mut child = Command::new(env!("CARGO_BIN_EXE_demo"))
        .env("TONY_ENV", "development")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("Ctrl-C to quit") {
            break;
        }
    }
    assert!(seen.contains("watching 4 plugin source file(s)"), "{seen}");
    let killed = Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(killed.success());
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "exit status {status:?}\n{seen}{}",
        rest.join("\n")
    );
    let rest = rest.join("\n");
    assert!(
        rest.contains("stopping") && rest.contains("unloaded counter"),
        "{rest}"
    );
}
