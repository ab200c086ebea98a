#!/usr/bin/env bash
# Where a Tony app's patch compile goes (issue 12): what rustc spends on the
# edited crate, with dx's own flags, as Tony is added to a bare-subsecond app
# one piece at a time.
#
# dx compiles a patch as `rustc <the fat build's args> -Clink-dead-code
# -Csave-temps=true` on the edited crate (incremental), then links it
# itself. This script compiles the same way with `cargo rustc`, adds
# `-Z time-passes` (through RUSTC_BOOTSTRAP=1: a measurement, not a build),
# and reports rustc's time without its own link step, for five variants of
# one app of N plugins (the template of scripts/patch-speed.sh), each one
# adding to the one before:
#   bare    plain structs, the loop through subsecond::HotFn (as patch-speed)
#   deps    the same, but the loop through tony_core::hot::call and tony-hot
#           referenced (WatcherConfig): Tony's crates loaded, no Tony code
#   struct  + #[tony_plugin(name = ..)] on each struct (`impl Plugin` plain)
#   impls   + #[tony_plugin] on each impl block (hot methods)
#   host    + a PluginSystem: built, initialized, with/with_mut in the loop,
#           a subscriber, start_hot_reload (= patch-speed's tony app)
# For each: a warm-up compile, then K edits of plugin 0's `step` literal;
# the medians of rustc's total minus `link`, and of macro expansion, codegen
# and LLVM. No dx needed (rustc's phases are dx's "Compiling").
#
# Usage: scripts/compile-cost.sh [--n N] [--edits K]
# Environment: COMPILE_COST_DIR (scratch, default
#   ${CARGO_TARGET_DIR:-<repo>/target}/compile-cost, kept between runs).
# Exit 0 when it measured everything, 1 when it could not, 2 on bad arguments.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
n=1
edits=5
while [ $# -gt 0 ]; do
    case "$1" in
        --n) n=${2:?--n needs a number}; shift ;;
        --edits) edits=${2:?--edits needs a number}; shift ;;
        -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "compile-cost: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[[ $n =~ ^[1-9][0-9]*$ && $edits =~ ^[1-9][0-9]*$ ]] ||
    { echo "compile-cost: --n and --edits want positive numbers" >&2; exit 2; }
command -v perl >/dev/null || { echo "FAIL: perl is needed (edits)"; exit 1; }

scratch=${COMPILE_COST_DIR:-${CARGO_TARGET_DIR:-$repo/target}/compile-cost}
mkdir -p "$scratch" && scratch=$(cd "$scratch" && pwd) || exit 1
export CARGO_NET_OFFLINE=true RUSTC_BOOTSTRAP=1
unset RUSTFLAGS CARGO_BUILD_RUSTFLAGS 2>/dev/null
dx_flags=(-Clink-dead-code -Csave-temps=true -Ztime-passes)
lock_version=$(awk '/^name = "subsecond"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' "$repo/Cargo.lock")

# ---------------------------------------------------------------- the apps
# manifest DEPS: one app crate per dependency set (bare, tony), its own
# workspace with the repo's Cargo.lock and its own target dir.
manifest() {
    local deps=$1 dir=$scratch/$1
    mkdir -p "$dir/src" || return 1
    {
        printf '[package]\nname = "cost-%s"\nversion = "0.1.0"\nedition = "2024"\npublish = false\n\n[workspace]\n\n' "$deps"
        if [ "$deps" = tony ]; then
            printf '[features]\nhot = ["tony-hot/patch"]\n\n[dependencies]\n'
            printf 'tony-core = { path = "%s/tony-core" }\n' "$repo"
            printf 'tony-hot = { path = "%s/tony-hot", default-features = false }\n' "$repo"
        else
            printf '[dependencies]\nsubsecond = "=%s"\n' "$lock_version"
            printf 'dioxus-devtools = { version = "=%s", default-features = false }\n' "$lock_version"
        fi
        printf 'serde = { version = "1", features = ["derive"] }\n\n[profile.dev]\ndebug = "line-tables-only"\n'
    } >"$dir/Cargo.toml" && cp "$repo/Cargo.lock" "$dir/Cargo.lock"
}

# main VARIANT: the app's main.rs for VARIANT, on stdout.
main_rs() {
    local v=$1 i lit
    echo "#![allow(missing_docs, unused_imports, clippy::print_stdout)]"
    echo "use serde::{Deserialize, Serialize};"
    echo "use std::time::Duration;"
    [ "$v" != bare ] && echo "use tony_core::{tony_plugin, BoxError, Context, Event, EventKind, Plugin, PluginSystem};"
    [ "$v" = host ] && echo "use tony_hot::HotReloadExt;"
    for ((i = 0; i < n; i++)); do
        lit=$((i + 1))
        [ "$i" = 0 ] && lit="/* STEP */ 1"
        echo
        case $v in struct | impls | host) echo "#[tony_plugin(name = \"p$i\")]" ;; esac
        printf '#[derive(Default, Serialize, Deserialize)]\npub struct P%s {\n    pub count: u64,\n    pub label: String,\n}\n\n' "$i"
        case $v in impls | host) echo "#[tony_plugin]" ;; esac
        cat <<EOF
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
EOF
        case $v in struct | impls | host)
            case $v in impls | host) echo "#[tony_plugin]" ;; esac
            cat <<EOF
impl Plugin for P$i {
    fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
        self.label.clear();
        Ok(())
    }
}
EOF
            ;;
        esac
    done
    echo
    if [ "$v" = host ]; then
        echo "fn tick_all(system: &PluginSystem) {"
        echo "    let mut sum = 0u64;"
        for ((i = 0; i < n; i++)); do echo "    sum += system.with_mut::<P$i, _>(P$i::tick).unwrap_or(0);"; done
        cat <<'EOF'
    let step = system.with::<P0, _>(P0::step).unwrap_or(0);
    println!("STEP {step} sum={sum}");
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let system = PluginSystem::builder().build()?;
    system.subscribe(EventKind::PatchApplied, |e: &Event| {
        if let Event::PatchApplied(r) = e {
            println!("RECEIPT applied={} changed=[{}]", r.applied, r.changed.join(","));
        }
    });
    system.initialize()?;
    let _hot = system.start_hot_reload()?;
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
    for ((i = 0; i < n; i++)); do echo "    p$i: P$i,"; done
    echo "}"
    echo
    echo "fn tick_all(state: &mut State) {"
    echo "    let mut sum = 0u64;"
    for ((i = 0; i < n; i++)); do echo "    sum += state.p$i.tick();"; done
    cat <<'EOF'
    let step = state.p0.step();
    println!("STEP {step} sum={sum}");
}

fn main() {
    let mut state = State::default();
EOF
    if [ "$v" = bare ]; then
        cat <<'EOF'
    dioxus_devtools::connect_subsecond();
    loop {
        subsecond::HotFn::current(tick_all).call((&mut state,));
        std::thread::sleep(Duration::from_millis(100));
    }
}
EOF
    else
        cat <<'EOF'
    let _watcher = tony_hot::WatcherConfig::default();
    loop {
        tony_core::hot::call(tick_all, (&mut state,));
        std::thread::sleep(Duration::from_millis(100));
    }
}
EOF
    fi
}

# ---------------------------------------------------------------- measuring
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%g\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# passes FILE: "nolink expand codegen llvm" in ms from one -Z time-passes log.
passes() {
    awk '$1 == "time:" {
            ms = $2; sub(/;/, "", ms); ms *= 1000; name = $NF
            if (name == "total") total = ms
            else if (name == "link") link = ms
            else if (name == "expand_crate") expand = ms
            else if (name == "codegen_crate") codegen = ms
            else if (name == "LLVM_passes") llvm = ms
        }
        END { printf "%.0f %.0f %.0f %.0f\n", total - link, expand, codegen, llvm }' "$1"
}

# compile DIR FEATURES LOG: one patch-like compile of the app in DIR.
compile() {
    (cd "$1" && CARGO_TARGET_DIR="$1/target" cargo rustc -q $2 -- "${dx_flags[@]}") >"$3" 2>&1
}

# measure VARIANT: prints its row.
measure() {
    local v=$1 deps=tony features="--features hot" dir e f rows=()
    [ "$v" = bare ] && { deps=bare; features=""; }
    dir=$scratch/$deps
    main_rs "$v" >"$dir/src/main.rs" || return 1
    compile "$dir" "$features" "$scratch/warm.log" && compile "$dir" "$features" "$scratch/warm.log" ||
        { echo "FAIL: $v does not compile:"; grep -E '^error' -A6 "$scratch/warm.log" | head -30; return 1; }
    for ((e = 1; e <= edits; e++)); do
        V=$((e + 1)) perl -pi -e 's{/\* STEP \*/ [0-9]+}{/* STEP */ $ENV{V}}' "$dir/src/main.rs"
        compile "$dir" "$features" "$scratch/edit.log" || { echo "FAIL: $v, edit $e does not compile"; return 1; }
        rows+=("$(passes "$scratch/edit.log")")
    done
    for f in 1 2 3 4; do
        printf '%8s' "$(printf '%s\n' "${rows[@]}" | awk -v f=$f '{ print $f }' | median)"
    done
}

manifest bare && manifest tony || { echo "FAIL: cannot write the apps under $scratch"; exit 1; }
echo "rustc on the edited crate, dx's flags, N = $n plugin(s), median of $edits edits (ms)"
printf '%-8s%8s%8s%8s%8s\n' variant compile expand codegen llvm
for v in bare deps struct impls host; do
    row=$(measure "$v") || { echo "$row"; exit 1; }
    printf '%-8s%s\n' "$v" "$row"
done
echo "compile = rustc's total without its link step (dx links the patch itself)"
