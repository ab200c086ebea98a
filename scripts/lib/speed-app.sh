# The app that scripts/patch-speed.sh and scripts/compile-cost.sh measure:
# N plugins (each a serde struct with two fields, methods `step(&self) ->
# u64` and `tick(&mut self) -> u64`) and a loop that ticks them, printing
# `READY pid P` once and `STEP s sum=n` per round. Plugin 0's `step`
# returns the literal marked `/* STEP */`, which the scripts edit.
#
# speed_app_main VARIANT N [LAYOUT [PER]]: the app's main.rs, on stdout.
#   VARIANT, each adding to the one before:
#     bare    plain structs held in main, the loop through
#             subsecond::HotFn, dioxus_devtools::connect_subsecond()
#     deps    the same through tony_core::hot::call, tony-hot referenced:
#             Tony's crates loaded, no Tony code
#     struct  + #[tony_plugin(name = ..)] on each struct (`impl Plugin` plain)
#     impls   + #[tony_plugin] on each impl block (hot methods)
#     host    + a PluginSystem: built, initialized, with/with_mut in the
#             loop, a receipt subscriber (`RECEIPT ...`), start_hot_reload
#   LAYOUT: flat (default: every plugin in main.rs), modules (each plugin
#   in `pub mod pN` of main.rs), files (each plugin in src/pN.rs, `mod pN;`
#   in main.rs; speed_app_file writes those files), crates (the plugins in workspace library
#   crates of PER each, `speed-c0` .. : main.rs uses them and ticks every
#   plugin; plugin 0, the edited one, is in speed-c0) or crates-local (the
#   same, but each crate ticks its own plugins in a `tick_crate` fn, which
#   main.rs calls: no per-plugin code in the binary).
# speed_app_lib VARIANT FROM TO [LOCAL]: the lib.rs of the library crate
#   holding plugins FROM .. TO-1 (layout crates), on stdout; with LOCAL
#   "true", also its `tick_crate` (layout crates-local).
# speed_app_manifest DEPS NAME REPO [CRATES [PREFIX]]: the app's
#   Cargo.toml, on stdout; DEPS is bare (subsecond, dioxus-devtools) or tony
#   (tony-core, tony-hot and the `hot` feature). With CRATES, the package is
#   also the root of a workspace of the library crates crates/c0 .. and
#   depends on them all, as `speed_c0` ..; their packages are named
#   PREFIX-c0 .. (default speed): cargo hashes a path dependency by its path
#   relative to the workspace, so two apps sharing a target dir need
#   different names for crates that differ.
# speed_app_lib_manifest DEPS NAME REPO: a library crate's Cargo.toml.
# speed_app_step FILE V LINES: FILE with plugin 0's literal set to V and
#   LINES blank lines after it (0 or 1: an edit that moves every line
#   below it, or not), on stdout.

speed_app_manifest() {
    local deps=$1 name=$2 repo=$3 crates=${4:-0} prefix=${5:-speed} version k
    version=$(awk '/^name = "subsecond"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' "$repo/Cargo.lock")
    printf '[package]\nname = "%s"\nversion = "0.1.0"\nedition = "2024"\npublish = false\n\n[workspace]\n' "$name"
    if [ "$crates" -gt 0 ]; then
        printf 'members = ["crates/*"]\n'
    fi
    echo
    if [ "$deps" = tony ]; then
        printf '[features]\nhot = ["tony-hot/patch"]\n\n[dependencies]\n'
        printf 'tony-core = { path = "%s/tony-core" }\n' "$repo"
        printf 'tony-hot = { path = "%s/tony-hot", default-features = false }\n' "$repo"
    else
        printf '[dependencies]\nsubsecond = "=%s"\n' "$version"
        printf 'dioxus-devtools = { version = "=%s", default-features = false }\n' "$version"
    fi
    for ((k = 0; k < crates; k++)); do
        printf 'speed-c%s = { path = "crates/c%s", package = "%s-c%s" }\n' "$k" "$k" "$prefix" "$k"
    done
    printf 'serde = { version = "1", features = ["derive"] }\n\n[profile.dev]\ndebug = "line-tables-only"\n'
}

speed_app_lib_manifest() {
    local deps=$1 name=$2 repo=$3
    printf '[package]\nname = "%s"\nversion = "0.1.0"\nedition = "2024"\npublish = false\n\n[dependencies]\n' "$name"
    [ "$deps" = tony ] && printf 'tony-core = { path = "%s/tony-core" }\n' "$repo"
    printf 'serde = { version = "1", features = ["derive"] }\n'
}

# speed_app_plugin VARIANT I LAYOUT: plugin I's items.
speed_app_plugin() {
    local v=$1 i=$2 layout=$3 lit=$(($2 + 1))
    local tony_struct=false tony_impls=false
    case $v in struct) tony_struct=true ;; impls | host) tony_struct=true tony_impls=true ;; esac
    [ "$i" = 0 ] && lit="/* STEP */ 1"
    echo
    if [ "$layout" = modules ]; then
        printf 'pub use p%s::P%s;\npub mod p%s {\nuse super::*;\n' "$i" "$i" "$i"
    fi
    $tony_struct && echo "#[tony_plugin(name = \"p$i\")]"
    printf '#[derive(Default, Serialize, Deserialize)]\npub struct P%s {\n    pub count: u64,\n    pub label: String,\n}\n\n' "$i"
    $tony_impls && echo "#[tony_plugin]"
    cat <<EOT
impl P$i {
    pub fn step(&self) -> u64 {
        $lit
    }

    pub fn tick(&mut self) -> u64 {
        self.count += self.step();
        if self.label.len() < 8 {
            self.label.push('x');
        }
        self.count + self.label.len() as u64
    }
}
EOT
    if $tony_struct; then
        echo
        $tony_impls && echo "#[tony_plugin]"
        cat <<'EOT'
impl Plugin for P@ {
    fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
        self.label.clear();
        Ok(())
    }
}
EOT
    fi | sed "s/P@/P$i/"
    [ "$layout" = modules ] && echo "}"
    return 0
}

speed_app_lib() {
    local v=$1 from=$2 to=$3 local=${4:-false} i
    echo "//! Generated by scripts/lib/speed-app.sh ($v, plugins $from..$to)."
    echo "#![allow(missing_docs)]"
    echo "use serde::{Deserialize, Serialize};"
    [ "$v" != bare ] && [ "$v" != deps ] && echo "use tony_core::{tony_plugin, BoxError, Context, Plugin, PluginSystem};"
    for ((i = from; i < to; i++)); do speed_app_plugin "$v" "$i" flat; done
    $local || return 0
    echo
    if [ "$v" = host ]; then
        echo "pub fn tick_crate(system: &PluginSystem) -> u64 {"
        echo "    let mut sum = 0u64;"
        for ((i = from; i < to; i++)); do echo "    sum += system.with_mut::<P$i, _>(P$i::tick).unwrap_or(0);"; done
    else
        echo "#[derive(Default)]"
        echo "pub struct State {"
        for ((i = from; i < to; i++)); do echo "    pub p$i: P$i,"; done
        echo "}"
        echo
        echo "pub fn tick_crate(state: &mut State) -> u64 {"
        echo "    let mut sum = 0u64;"
        for ((i = from; i < to; i++)); do echo "    sum += state.p$i.tick();"; done
    fi
    echo "    sum"
    echo "}"
}

speed_app_main() {
    local v=$1 n=$2 layout=${3:-flat} per=${4:-5} i k
    echo "//! Generated by scripts/lib/speed-app.sh ($v, $n plugins, $layout)."
    echo "#![allow(missing_docs, unused_imports, clippy::print_stdout)]"
    echo "use serde::{Deserialize, Serialize};"
    echo "use std::time::Duration;"
    [ "$v" != bare ] && echo "use tony_core::{tony_plugin, BoxError, Context, Event, EventKind, Plugin, PluginSystem};"
    [ "$v" = host ] && echo "use tony_hot::HotReloadExt;"
    local crates=0
    if [ "${layout#crates}" != "$layout" ]; then
        crates=$(((n + per - 1) / per))
        for ((k = 0; k < crates; k++)); do echo "use speed_c$k::*;"; done
    elif [ "$layout" = files ]; then
        for ((i = 0; i < n; i++)); do printf 'mod p%s;\npub use p%s::P%s;\n' "$i" "$i" "$i"; done
    else
        for ((i = 0; i < n; i++)); do speed_app_plugin "$v" "$i" "$layout"; done
    fi
    echo
    if [ "$v" = host ]; then
        echo "fn tick_all(system: &PluginSystem) {"
        echo "    let mut sum = 0u64;"
        if [ "$layout" = crates-local ]; then
            for ((k = 0; k < crates; k++)); do echo "    sum += speed_c$k::tick_crate(system);"; done
        else
            for ((i = 0; i < n; i++)); do echo "    sum += system.with_mut::<P$i, _>(P$i::tick).unwrap_or(0);"; done
        fi
        cat <<'EOF'
    let step = system.with::<P0, _>(P0::step).unwrap_or(0);
    println!("STEP {step} sum={sum}");
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let system = PluginSystem::builder().build()?;
    system.subscribe(EventKind::PatchApplied, |e: &Event| {
        if let Event::PatchApplied(r) = e {
            println!(
                "RECEIPT applied={} changed=[{}] tony_ms={:.1}",
                r.applied,
                r.changed.join(","),
                r.duration.as_secs_f64() * 1e3
            );
        }
    });
    system.initialize()?;
    let _hot = system.start_hot_reload()?;
    println!("READY pid {}", std::process::id());
    loop {
        tony_core::hot::call(tick_all, (&system,));
        std::thread::sleep(Duration::from_millis(100));
    }
}
EOF
        return
    fi
    echo "#[derive(Default)]"
    echo "struct State {"
    if [ "$layout" = crates-local ]; then
        for ((k = 0; k < crates; k++)); do echo "    c$k: speed_c$k::State,"; done
    else
        for ((i = 0; i < n; i++)); do echo "    p$i: P$i,"; done
    fi
    echo "}"
    echo
    echo "fn tick_all(state: &mut State) {"
    echo "    let mut sum = 0u64;"
    if [ "$layout" = crates-local ]; then
        for ((k = 0; k < crates; k++)); do echo "    sum += speed_c$k::tick_crate(&mut state.c$k);"; done
        echo "    let step = state.c0.p0.step();"
    else
        for ((i = 0; i < n; i++)); do echo "    sum += state.p$i.tick();"; done
        echo "    let step = state.p0.step();"
    fi
    cat <<'EOF'
    println!("STEP {step} sum={sum}");
}

fn main() {
EOF
    [ "$v" = bare ] && echo "    dioxus_devtools::connect_subsecond();"
    cat <<'EOF'
    let mut state = State::default();
    println!("READY pid {}", std::process::id());
EOF
    if [ "$v" = bare ]; then
        cat <<'EOF'
    loop {
        subsecond::HotFn::current(tick_all).call((&mut state,));
        std::thread::sleep(Duration::from_millis(100));
    }
}
EOF
    else
        cat <<'EOF'
    let _hot: Option<tony_hot::HotReload> = None;
    loop {
        tony_core::hot::call(tick_all, (&mut state,));
        std::thread::sleep(Duration::from_millis(100));
    }
}
EOF
    fi
}

# speed_app_file VARIANT I: src/pI.rs of layout files, on stdout.
speed_app_file() {
    echo "//! Generated by scripts/lib/speed-app.sh ($1, plugin $2)."
    echo "use super::*;"
    speed_app_plugin "$1" "$2" flat
}

speed_app_step() {
    V=$2 L=$3 perl -0pe 's{/\* STEP \*/ [0-9]+\n+}{"/* STEP */ $ENV{V}\n" . ("\n" x $ENV{L})}e' "$1"
}
