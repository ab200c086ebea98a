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
# one app of N plugins (scripts/lib/speed-app.sh, the template of
# scripts/patch-speed.sh), each one adding to the one before: bare
# (subsecond alone), deps (Tony's crates loaded, no Tony code), struct
# (#[tony_plugin] on the structs), impls (and on the impl blocks), host (a
# PluginSystem in main: patch-speed's Tony app).
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

# ---------------------------------------------------------------- the apps
# shellcheck source=lib/speed-app.sh
. "$repo/scripts/lib/speed-app.sh"

# manifest DEPS: one app crate per dependency set (bare, tony), its own
# workspace with the repo's Cargo.lock and its own target dir.
manifest() {
    local dir=$scratch/$1
    mkdir -p "$dir/src" &&
        speed_app_manifest "$1" "cost-$1" "$repo" >"$dir/Cargo.toml" &&
        cp "$repo/Cargo.lock" "$dir/Cargo.lock"
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
    speed_app_main "$v" "$n" >"$dir/src/main.rs" || return 1
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
