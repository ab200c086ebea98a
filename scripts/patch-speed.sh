#!/usr/bin/env bash
# What Tony costs in the edit loop (issue 12, "measurement first").
#
# From ONE template (scripts/lib/speed-app.sh, its variants `host` and
# `bare`) it generates, in a scratch directory, two apps identical but for
# Tony, each for N = 1 and N = 20 plugins (every plugin: a serde struct with
# two fields, methods `step(&self) -> u64` and `tick(&mut self) -> u64`):
#   tony  `#[tony_plugin]` on the structs and impl blocks, `impl Plugin`, a
#         PluginSystem with start_hot_reload(); the loop body (every
#         plugin's `tick` through `system.with_mut`) runs through
#         `tony_core::hot::call`.
#   bare  the same structs and methods, plain, held in a struct in main; the
#         loop body is a fn item called through
#         `subsecond::HotFn::current(tick_all).call((&mut state,))`, with
#         `dioxus_devtools::connect_subsecond()` at start.
# Each app is its own small cargo workspace whose Cargo.lock is a copy of the
# repo's (same versions, built offline), depending on the repo's crates by
# path, with the repo's [profile.dev].
#
# Each app runs under `dx serve --hot-patch --verbose`; the script makes 5
# method-body edits (the literal in plugin 0's `step`: 2..6, the same in
# both apps), waits until the app prints the new value, and takes from dx's
# verbose log, per patch: the "Compiling" and "Patch: Link" phases of dx's
# "Flamegraph for thin" and the whole "Hot-patching: ... took N ms". It
# prints the medians and the ratios Tony/bare. Then a plain `cargo build` of
# each 20-plugin crate after a `touch` of its source (3 runs, median; both
# built as under dx: Tony with its `hot` feature, bare with subsecond).
#
# The numbers are noisy on a shared machine: the ratios of one run count.
# It is a measurement: exit 0 when it measured everything, 1 when it could
# not (with a FAIL line), 2 on bad arguments. Without dx: SKIPPED, exit 0.
#
# Usage: scripts/patch-speed.sh [--edits K] [--ns "1 20"] [--modules]
#   --edits K   edits per app (default 5)
#   --ns LIST   plugin counts (default "1 20"; the build row uses the largest)
#   --modules   each plugin in a module of its own (`pub mod pN { ... }`) instead
#               of all in the crate root: rustc compiles a module's code in a
#               codegen unit of its own, so an edit recompiles one plugin
#               (default scratch dir: .../patch-speed-modules)
# Environment: DX (the dx binary), PATCH_SPEED_DIR (scratch, default
#   ${CARGO_TARGET_DIR:-<repo>/target}/patch-speed, kept between runs),
#   PATCH_SPEED_DEADLINE (whole run, s, default 1200),
#   PATCH_SPEED_BUILD_TIMEOUT (first build of one app, s, default 600),
#   PATCH_SPEED_PATCH_TIMEOUT (per patch, s, default 60),
#   PATCH_SPEED_PROFILE (TOML appended to both apps' manifests, e.g.
#   $'[profile.dev.build-override]\nopt-level = 3' to optimize proc macros;
#   use another PATCH_SPEED_DIR to keep both builds cached).
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
name=patch-speed
# shellcheck source=lib/dx-session.sh
. "$repo/scripts/lib/dx-session.sh"
# shellcheck source=lib/speed-app.sh
. "$repo/scripts/lib/speed-app.sh"
edits=5
ns="1 20"
layout=flat
while [ $# -gt 0 ]; do
    case "$1" in
        --edits) edits=${2:?--edits needs a number}; shift ;;
        --ns) ns=${2:?--ns needs a list}; shift ;;
        --modules) layout=modules ;;
        -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "patch-speed: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[[ $edits =~ ^[1-9][0-9]*$ ]] || { echo "patch-speed: --edits wants a positive number" >&2; exit 2; }

# ---------------------------------------------------------------- dx itself
find_dx false
command -v perl >/dev/null || { echo "FAIL: perl is needed (edits)"; exit 1; }

# ---------------------------------------------------------------- settings
started=$(date +%s)
deadline=$((started + ${PATCH_SPEED_DEADLINE:-1200}))
build_timeout=${PATCH_SPEED_BUILD_TIMEOUT:-600}
patch_timeout=${PATCH_SPEED_PATCH_TIMEOUT:-60}
suffix=""
[ "$layout" = modules ] && suffix="-modules"
scratch=${PATCH_SPEED_DIR:-${CARGO_TARGET_DIR:-$repo/target}/patch-speed$suffix}
mkdir -p "$scratch" || exit 1
scratch=$(cd "$scratch" && pwd)
exec 9>"$scratch/lock"
flock -n 9 || { echo "FAIL: another patch-speed run holds $scratch/lock"; exit 1; }
export CARGO_NET_OFFLINE=true TELEMETRY=false NO_DOWNLOADS=1 RUST_BACKTRACE=0
unset RUSTFLAGS CARGO_BUILD_RUSTFLAGS 2>/dev/null

die() { echo "FAIL: $*"; exit 1; }
median() { tr ' ' '\n' | grep -E '^[0-9.]+$' | sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%g\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "-" }'; }

# ---------------------------------------------------------------- the template
# gen KIND N: writes the app $scratch/apps/KIND-N (only files whose text
# changed, so a rerun stays incremental); the edited literal starts at 1.
gen() {
    local kind=$1 n=$2 dir=$scratch/apps/$1-$2 variant=bare
    [ "$kind" = tony ] && variant=host
    mkdir -p "$dir/src" || return 1
    {
        speed_app_manifest "$kind" "speed-$kind-$n" "$repo"
        if [ -n "${PATCH_SPEED_PROFILE:-}" ]; then printf '\n%s\n' "$PATCH_SPEED_PROFILE"; fi
    } >"$dir/Cargo.toml.new"
    speed_app_main "$variant" "$n" "$layout" >"$dir/src/main.rs.new"
    local f
    for f in Cargo.toml src/main.rs; do
        if cmp -s "$dir/$f.new" "$dir/$f"; then rm -f "$dir/$f.new"; else mv "$dir/$f.new" "$dir/$f" || return 1; fi
    done
    cmp -s "$repo/Cargo.lock" "$dir/Cargo.lock.repo" || {
        cp "$repo/Cargo.lock" "$dir/Cargo.lock" && cp "$repo/Cargo.lock" "$dir/Cargo.lock.repo"
    } || return 1
    # Resolve once, offline: prunes the lock to this app, adds nothing new.
    (cd "$dir" && cargo metadata --offline --format-version 1 >/dev/null 2>"$dir/metadata.err") ||
        { echo "      cargo cannot resolve $dir offline:"; sed 's/^/      /' "$dir/metadata.err" | head -20; return 1; }
}

# set_step DIR V: plugin 0's literal := V, atomically (written outside the
# app, which dx watches, then renamed: dx never sees a half-written file).
set_step() {
    local f=$1/src/main.rs t=$scratch/edit.tmp
    V=$2 perl -pe 's{/\* STEP \*/ [0-9]+}{/* STEP */ $ENV{V}}' "$f" >"$t" &&
        grep -q "/\* STEP \*/ $2\$" "$t" && mv "$t" "$f"
}

# ---------------------------------------------------------------- dx serve
dx_pid=
log=
slog=
trap 'stop_dx; rm -f "$scratch/edit.tmp"' EXIT
trap 'echo "patch-speed: interrupted"; exit 130' INT TERM

# phases FROM TO: dx's flamegraph of the first thin build in (FROM, TO]:
# "compiling link" in ms (a label seen twice is summed), "- -" when none.
phases() {
    awk -v a="$1" -v b="$2" '
        NR <= a || NR > b || done { next }
        /Flamegraph for thin/ { in_fg = 1; next }
        in_fg && match($0, /[0-9]+ms +[0-9.]+% /) {
            ms = substr($0, RSTART, RLENGTH); sub(/ms.*/, "", ms)
            label = substr($0, RSTART + RLENGTH); sub(/ *\|.*/, "", label)
            t[label] += ms; next
        }
        in_fg { done = 1 }
        END {
            c = ("Compiling" in t) ? t["Compiling"] : "-"
            l = ("Patch: Link" in t) ? t["Patch: Link"] : "-"
            print c, l
        }' "$slog"
}
# flamegraph FROM: the whole first thin flamegraph after FROM, as dx printed it.
flamegraph() {
    awk -v a="$1" 'NR <= a { next } /Flamegraph for thin/ { p = 1 } p && !/Flamegraph/ && !/[0-9]+ms +[0-9.]+% / { exit } p' "$slog"
}

# measure KIND N: runs the app under dx, makes the edits; sets
# m_compile m_link m_took (space-separated per-patch values). 1 on failure.
m_compile= m_link= m_took=
measure() {
    local kind=$1 n=$2 dir=$scratch/apps/$1-$2 k v rc t0 from feat=() ph
    m_compile= m_link= m_took=
    log=$scratch/dx-$kind-$n.log
    slog=$scratch/dx-$kind-$n.txt
    : >"$log"
    set_step "$dir" 1 || { echo "FAIL: cannot reset the literal in $dir/src/main.rs"; return 1; }
    [ "$kind" = tony ] && feat=(--features hot)
    say "$kind, N=$n: dx serve --hot-patch --verbose ${feat[*]} (in $dir)"
    (
        cd "$dir" || exit 1
        export CARGO_TARGET_DIR=$scratch/target-dx
        exec setsid "$dx" serve --hot-patch --verbose --interactive false --open false \
            "${feat[@]}" </dev/null >>"$log" 2>&1
    ) &
    dx_pid=$!
    sleep 0.5
    [ "$(ps -o pgid= -p "$dx_pid" | tr -d ' ')" = "$dx_pid" ] || {
        echo "FAIL: dx is not the leader of its own process group; refusing to go on"
        kill "$dx_pid" 2>/dev/null
        dx_pid=
        return 1
    }
    t0=$(date +%s)
    wait_for 0 'STEP 1 |Build failed|error\[|error: ' "$build_timeout"
    rc=$?
    if [ $rc != 0 ] || [[ $hit != *"STEP 1 "* ]]; then
        case $rc in
            1) echo "FAIL: $kind-$n did not start within $(cap "$build_timeout") s" ;;
            2) echo "FAIL: dx exited before $kind-$n started" ;;
            *) echo "FAIL: $kind-$n: $hit" ;;
        esac
        echo "---- last lines of $slog"
        tail -n 30 "$slog"
        stop_dx
        return 1
    fi
    echo "      started after $(($(date +%s) - t0)) s"
    sleep 2 # let dx finish its own bookkeeping after the launch
    for ((k = 1; k <= edits; k++)); do
        v=$((k + 1))
        from=$(lines)
        set_step "$dir" "$v" || { echo "FAIL: the edit does not apply to $dir/src/main.rs"; stop_dx; return 1; }
        wait_for "$from" "STEP $v " "$patch_timeout"
        rc=$?
        if [ $rc != 0 ]; then
            echo "FAIL: $kind-$n, edit $k: the new value $v did not show within ${patch_timeout} s ($([ $rc = 2 ] && echo "dx exited" || echo timeout))"
            echo "---- last lines of $slog"
            tail -n 30 "$slog"
            stop_dx
            return 1
        fi
        # dx logs "took" and its flamegraph around the moment the patch lands.
        wait_for "$from" 'Hot-patching: .* took [0-9]+ms' 10
        sleep 0.5
        refresh
        local took end
        took=$(awk -v a="$from" 'NR > a && /Hot-patching: .* took [0-9]+ms/ { match($0, /took [0-9]+ms/); print substr($0, RSTART + 5, RLENGTH - 7); exit }' "$slog")
        end=$(wc -l <"$slog")
        read -r c l <<<"$(phases "$from" "$end")"
        ph=$(flamegraph "$from")
        [ "$k" = 1 ] && [ -n "$ph" ] && { echo "      dx's flamegraph of the first patch:"; sed 's/^/        /' <<<"$ph"; }
        printf '      edit %d (step -> %d): Compiling %s ms, Patch: Link %s ms, Hot-patching took %s ms\n' "$k" "$v" "$c" "$l" "${took:-?}"
        m_compile+="$c "
        m_link+="$l "
        m_took+="${took:--} "
        sleep 1 # let dx settle before the next save
    done
    stop_dx
    set_step "$dir" 1
    return 0
}

# build_times KIND N: 3 × (touch src/main.rs; cargo build), seconds each.
b_times=
build_times() {
    local kind=$1 n=$2 dir=$scratch/apps/$1-$2 k t0 t1 feat=()
    b_times=
    [ "$kind" = tony ] && feat=(--features hot)
    export CARGO_TARGET_DIR=$scratch/target-build
    (cd "$dir" && timeout "$(cap "$build_timeout")" cargo build --offline -q "${feat[@]}") ||
        { echo "FAIL: cargo build of $kind-$n failed"; unset CARGO_TARGET_DIR; return 1; }
    for k in 1 2 3; do
        touch "$dir/src/main.rs"
        t0=$(now)
        (cd "$dir" && timeout "$(cap 300)" cargo build --offline -q "${feat[@]}") ||
            { echo "FAIL: cargo build of $kind-$n failed"; unset CARGO_TARGET_DIR; return 1; }
        t1=$(now)
        b_times+="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') "
    done
    unset CARGO_TARGET_DIR
    echo "      $kind-$n: $b_times(s)"
}

# ---------------------------------------------------------------- run
say "generating the apps in $scratch/apps"
for n in $ns; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "patch-speed: --ns wants positive numbers" >&2; exit 2; }
    gen tony "$n" || die "could not generate tony-$n"
    gen bare "$n" || die "could not generate bare-$n"
done

declare -A C L T
for n in $ns; do
    for kind in bare tony; do
        [ "$(remaining)" -gt 30 ] || die "out of time (PATCH_SPEED_DEADLINE) before $kind-$n"
        measure "$kind" "$n" || exit 1
        C[$kind-$n]=$(median <<<"$m_compile")
        L[$kind-$n]=$(median <<<"$m_link")
        T[$kind-$n]=$(median <<<"$m_took")
    done
done

nmax=$(tr ' ' '\n' <<<"$ns" | grep . | sort -n | tail -1)
say "cargo build after touch src/main.rs, N=$nmax (3 runs each)"
declare -A B
for kind in bare tony; do
    [ "$(remaining)" -gt 30 ] || die "out of time (PATCH_SPEED_DEADLINE) before the build of $kind-$nmax"
    build_times "$kind" "$nmax" || exit 1
    B[$kind]=$(median <<<"$b_times")
done

# ---------------------------------------------------------------- table
say "results (medians of $edits patches; ms unless said; dx $dx_version, $(nproc) cores, noisy: ratios count)"
printf '%-4s | %-22s | %8s | %8s | %8s\n' N measure tony bare tony/bare
goals=()
for n in $ns; do
    for m in "Compiling:C" "Patch: Link:L" "Hot-patching took:T"; do
        name=${m%:*}
        arr=${m##*:}
        declare -n ref=$arr
        printf '%-4s | %-22s | %8s | %8s | %8s\n' "$n" "$name" "${ref[tony-$n]}" "${ref[bare-$n]}" "$(ratio "${ref[tony-$n]}" "${ref[bare-$n]}")"
        unset -n ref
    done
    r=$(ratio "${T[tony-$n]}" "${T[bare-$n]}")
    goals+=("patch N=$n: $r <= 1.10 $(awk -v r="$r" 'BEGIN { print (r != "-" && r <= 1.10) ? "MET" : "NOT MET" }')")
done
printf '%-4s | %-22s | %8s | %8s | %8s\n' "$nmax" "cargo build (s)" "${B[tony]}" "${B[bare]}" "$(ratio "${B[tony]}" "${B[bare]}")"
r=$(ratio "${B[tony]}" "${B[bare]}")
goals+=("build N=$nmax: $r <= 1.20 $(awk -v r="$r" 'BEGIN { print (r != "-" && r <= 1.20) ? "MET" : "NOT MET" }')")
echo
echo "issue 12's goals (one run):"
for g in "${goals[@]}"; do echo "  $g"; done
echo
echo "logs: $scratch/dx-<kind>-<N>.txt, apps: $scratch/apps; total $(($(date +%s) - started)) s"
exit 0
