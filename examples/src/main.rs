//! The Tony demo.
//!
//! ```text
//! cargo run -p tony-examples            # run live; edit demo.toml while it runs; Ctrl-C to quit
//! cargo run -p tony-examples -- --once  # one scripted round of every scenario, then exit
//! cargo run -p tony-examples -- --graph # the dependency graph as Graphviz DOT
//! dx serve --hot-patch -p tony-examples --features hot   # edit plugin code live
//! ```
#![allow(clippy::print_stdout)] // a demo talks to a person

mod plugins;
mod report;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use plugins::banner::Banner;
use plugins::counter::Counter;
use plugins::reporter::Reporter;
use tony_core::{HotReloadConfig, Metadata, PluginSystem, Unload, Validation, hot};
use tony_hot::HotReloadExt;

type Error = Box<dyn std::error::Error>;

fn main() {
    if let Err(e) = run() {
        eprintln!("demo: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let once = args.iter().any(|a| a == "--once");
    let graph = args.iter().any(|a| a == "--graph");
    if let Some(other) = args
        .iter()
        .find(|a| !matches!(a.as_str(), "--once" | "--graph"))
    {
        return Err(format!("unknown argument `{other}` (expected --once or --graph)").into());
    }

    // `--once` edits a copy of the configuration, never the one you edit.
    let scratch = tempdir()?;
    let config_path = if once {
        let copy = scratch.join("demo.toml");
        std::fs::copy(demo_toml(), &copy)?;
        copy
    } else {
        demo_toml()
    };

    let frozen = Arc::new(AtomicBool::new(false));
    let system = build(&config_path, Arc::clone(&frozen))?;
    if graph {
        print!("{}", system.dependency_graph_dot());
        return Ok(());
    }
    report::log_events(&system);
    system.initialize()?;
    report::table(&system);

    let result = if once {
        scripted_round(&system, &config_path, &frozen)
    } else {
        live(&system)
    };
    system.unload_plugin("greeter", Unload::Cascade)?;
    for plugin in ["counter", "banner"] {
        system.unload_plugin(plugin, Unload::Cascade)?;
    }
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn demo_toml() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("demo.toml")
}

fn tempdir() -> Result<PathBuf, Error> {
    let dir = std::env::temp_dir().join(format!("tony-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn build(config_path: &Path, frozen: Arc<AtomicBool>) -> Result<PluginSystem, Error> {
    let mut config = HotReloadConfig::from_env()?;
    config.plugin_config_path = Some(config_path.to_path_buf());
    config.debounce = Duration::from_millis(100);
    // The demo shows the hot-reload machinery whatever TONY_ENV says.
    config.enabled = true;
    config.preserve_state = true;
    config.reload_dependents = true;
    Ok(PluginSystem::builder()
        .config(config)
        .validator(move |new: &Metadata, _: &Metadata| {
            if new.name() == "counter" && frozen.load(Ordering::SeqCst) {
                Validation::reject("the counter is frozen for maintenance")
            } else {
                Validation::valid()
            }
        })
        .build()?)
}

/// Every scenario once, for people and for the demo's test.
fn scripted_round(
    system: &PluginSystem,
    config_path: &Path,
    frozen: &AtomicBool,
) -> Result<(), Error> {
    report::step("1. a stateful plugin keeps its state across a reload");
    for _ in 0..3 {
        system.with_mut::<Counter, _>(|c| c.tick())?;
    }
    println!("   counter = {}", system.with::<Counter, _>(|c| c.count)?);
    report::reload(&system.reload_plugin("counter"));
    println!(
        "   counter after reload = {}",
        system.with::<Counter, _>(|c| c.count)?
    );

    report::step("2. reloading a base plugin reloads its dependent");
    report::reload(&system.reload_plugin("greeter"));
    let (activations, line, metrics) =
        system.with::<Reporter, _>(|r| (r.activations, r.line.clone(), r.with_metrics))?;
    println!(
        "   reporter: activations = {activations}, says {line:?}, optional metrics present: {metrics}"
    );

    report::step("3. editing demo.toml reconfigures the banner live, state kept");
    println!(
        "   banner: [{}]",
        system.with_mut::<Banner, _>(|b| b.render())?
    );
    std::fs::write(
        config_path,
        "[plugins.banner]\ntext = \"Reconfigured live\"\nwidth = 30\n",
    )?;
    if let Some(r) = system.reload_plugin_config(config_path)? {
        report::reload(&r);
    }
    let (line, shown) = system.with_mut::<Banner, _>(|b| (b.render(), b.shown))?;
    println!("   banner: [{line}] (shown {shown} times)");

    report::step("4. a broken edit is reported and the old configuration keeps running");
    std::fs::write(
        config_path,
        "[plugins.banner]\ntext = \"Broken\"\nwidth = \"wide\"\n",
    )?;
    match system.reload_plugin_config(config_path) {
        Err(e) => println!("   rejected: {e}"),
        Ok(_) => println!("   UNEXPECTED: the broken configuration was accepted"),
    }
    println!(
        "   banner still: [{}]",
        system.with_mut::<Banner, _>(|b| b.render())?
    );

    report::step("5. a validator rejects a bad reload; nothing changes");
    frozen.store(true, Ordering::SeqCst);
    report::reload(&system.reload_plugin("counter"));
    frozen.store(false, Ordering::SeqCst);
    println!(
        "   counter still = {}",
        system.with::<Counter, _>(|c| c.count)?
    );

    report::table(system);
    Ok(())
}

/// One tick of the live demo: the counter and the banner, printed when they
/// change.
fn live_tick(system: &PluginSystem, last: &mut String) {
    let count = system.with_mut::<Counter, _>(|c| c.tick());
    let banner = system.with_mut::<Banner, _>(|b| b.render());
    let line = match (count, banner) {
        (Ok(count), Ok(banner)) => format!("counter = {count:<6} banner: [{}]", banner.trim()),
        (count, banner) => format!("counter: {count:?} banner: {banner:?}"),
    };
    if line != *last {
        println!("{line}");
        *last = line;
    }
}

/// Ticks once a second until Ctrl-C, with hot reload on.
fn live(system: &PluginSystem) -> Result<(), Error> {
    let stop = Arc::new(AtomicBool::new(false));
    let s = Arc::clone(&stop);
    ctrlc::set_handler(move || s.store(true, Ordering::SeqCst))?;
    let hot = system.start_hot_reload()?;
    let status = hot.status();
    println!(
        "watching {} plugin source file(s) and {}",
        status.watching.len(),
        status
            .config_file
            .as_deref()
            .map_or("no config file".into(), |p| p.display().to_string())
    );
    println!(
        "patches: {} (pid {})",
        status.patches.summary(),
        std::process::id()
    );
    println!(
        "edit {} or a plugin under dx; Ctrl-C to quit\n",
        demo_toml().display()
    );
    let mut last = String::new();
    while !stop.load(Ordering::SeqCst) {
        // Through the jump table: under dx, an edit of `live_tick` (or of a
        // plugin's struct it reads) runs from the next tick on.
        hot::call(live_tick, (system, &mut last));
        for _ in 0..10 {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    println!("\nstopping");
    drop(hot);
    Ok(())
}
