#!/usr/bin/env bash
# What Tony costs in the edit loop (issues 12 and 24), by app shape and by
# dev setup.
#
# From ONE template (scripts/lib/speed-app.sh, its variants `host` and
# `bare`) it generates, in a scratch directory, two apps identical but for
# Tony, for each SHAPE (N plugins in a LAYOUT; every plugin: a serde struct
# with two fields, methods `step(&self) -> u64` and `tick(&mut self) -> u64`):
#   tony  `#[tony_plugin]` on the structs and impl blocks, `impl Plugin`, a
#         PluginSystem with start_hot_reload(); the loop body (every
#         plugin's `tick` through `system.with_mut`) runs through
#         `tony_core::hot::call`.
#   bare  the same structs and methods, plain, held in a struct in main; the
#         loop body is a fn item called through
#         `subsecond::HotFn::current(tick_all).call((&mut state,))`, with
#         `dioxus_devtools::connect_subsecond()` at start.
# Layouts: flat (all plugins in main.rs), modules (each in a `pub mod` of
# main.rs), files (each in src/pN.rs of the binary), crates (workspace library crates of --per-crate plugins each,
# default 5; the binary depends on them all and ticks every plugin; the
# edit is in the first), crates-local (the same, but each crate ticks its
# own plugins in one fn, which the binary calls: no per-plugin code in the
# binary, which dx recompiles on every patch of a crate it depends on).
# Each app is its own small cargo workspace whose Cargo.lock is a copy of the
# repo's (same versions, built offline), depending on the repo's crates by
# path, with the repo's [profile.dev] (debug = "line-tables-only").
#
# Each SETUP (a dev configuration, written to the apps' .cargo/config.toml,
# each with a target dir of its own) is measured on every shape. Names,
# joined with `+` (e.g. `debug0+o3+mold`):
#   default  nothing added
#   o3       [profile.dev.build-override] opt-level = 3 (optimized proc
#            macros and build scripts)
#   debug0   [profile.dev] debug = 0;  debug2: debug = 2 (cargo's default)
#   mold     rustflags -Clink-arg=-fuse-ld=mold (needs mold installed)
#   lld      rustflags -Clink-arg=-fuse-ld=lld (needs lld installed)
# The first setup is the baseline: every other setup's apps are measured
# right after the first setup's bare app, measured again (the load of the
# machine changes from one setup to the next), and issue 24's goal for a
# setup (Tony N=20 flat within 1.3x of bare N=20 flat in the first setup)
# uses that baseline. A setup that breaks hot patching gets FAIL lines and
# the run goes on (exit 1 at the end).
#
# Each app runs under `dx serve --hot-patch --verbose`; the script makes K
# method-body edits (the literal in plugin 0's `step`: 2..K+1, the same in
# both apps), waits until the app prints the new value, and takes from dx's
# verbose log, per patch: dx's whole thin build ("Build completed in N ms":
# the patch), its phases "Workspace hotpatch replay" (the edited library
# crates, when the edit is not in the binary's crate), "Compiling" (the
# binary's crate) and "Patch: Link", and dx's "Hot-patching: ... took N ms",
# which leaves out the replay (so it understates a patch of a library
# crate; for an edit in the binary's crate it is the whole build). Bare
# and Tony are measured one after the other for each shape, so background
# load hits both. It prints the medians with their range (min-max) and the
# ratios Tony/bare of the patch (the whole thin build), one line per shape:
#   ratio N=<n> layout=<l> edit=<e> setup=<s>: <tony/bare> (tony <ms> [..], bare <ms> [..])
# Then a plain `cargo build` of the largest flat app after a `touch` of its
# source (3 runs, median; both built as under dx: Tony with its `hot`
# feature, bare with subsecond), unless --no-build.
#
# The numbers are noisy on a shared machine: the ratios of one run count.
# It is a measurement: exit 0 when it measured everything, 1 when it could
# not (with a FAIL line), 2 on bad arguments. Without dx: SKIPPED, exit 0.
#
# Usage: scripts/patch-speed.sh [--edits K] [--shapes LIST] [--setups LIST]
#                               [--per-crate P] [--no-build]
#   --edits K       edits per app (default 5)
#   --shapes LIST   N:layout pairs (default "5:flat 100:flat 100:crates
#                   100:crates-local")
#   --setups LIST   setups (default "default")
#   --per-crate P   plugins per library crate in the crates layout (default 5)
#   --ns LIST       the same as --shapes with every N flat (issue 12's "1 20")
#   --modules       with --ns: each plugin in a module of its own
#   --edit same|shift
#                   an edit changes one digit (default), or also adds or
#                   removes a line after it, moving all the code below, as
#                   most real edits do
#   --no-build      skip the `cargo build` row
# Environment: DX (the dx binary), PATCH_SPEED_DIR (scratch, default
#   ${CARGO_TARGET_DIR:-<repo>/target}/patch-speed, kept between runs),
#   PATCH_SPEED_DEADLINE (whole run, s, default 3600),
#   PATCH_SPEED_BUILD_TIMEOUT (first build of one app, s, default 900),
#   PATCH_SPEED_PATCH_TIMEOUT (per patch, s, default 60),
#   PATCH_SPEED_PROFILE (TOML appended to both apps' manifests).
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
name=patch-speed
# shellcheck source=lib/dx-session.sh
. "$repo/scripts/lib/dx-session.sh"
# shellcheck source=lib/speed-app.sh
. "$repo/scripts/lib/speed-app.sh"
edits=5
shapes="5:flat 100:flat 100:crates 100:crates-local"
setups=default
per=5
ns=
layout=flat
build=true
edit=same
while [ $# -gt 0 ]; do
    case "$1" in
        --edit) edit=${2:?--edit needs same or shift}; shift ;;
        --edits) edits=${2:?--edits needs a number}; shift ;;
        --shapes) shapes=${2:?--shapes needs a list}; shift ;;
        --setups) setups=${2:?--setups needs a list}; shift ;;
        --per-crate) per=${2:?--per-crate needs a number}; shift ;;
        --ns) ns=${2:?--ns needs a list}; shift ;;
        --modules) layout=modules ;;
        --no-build) build=false ;;
        -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "patch-speed: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[[ $edits =~ ^[1-9][0-9]*$ && $per =~ ^[1-9][0-9]*$ && $edit =~ ^(same|shift)$ ]] ||
    { echo "patch-speed: --edits and --per-crate want positive numbers, --edit same or shift" >&2; exit 2; }
if [ -n "$ns" ]; then
    shapes=
    for n in $ns; do shapes+="$n:$layout "; done
fi
for shape in $shapes; do
    [[ $shape =~ ^[1-9][0-9]*:(flat|modules|files|crates|crates-local)$ ]] ||
        { echo "patch-speed: a shape is N:flat, N:modules, N:files, N:crates or N:crates-local, not $shape" >&2; exit 2; }
done

# setup_config SETUP: the .cargo/config.toml of SETUP, on stdout (1 when a
# name is unknown).
setup_config() {
    local part flags=()
    local -A seen=()
    for part in ${1//+/ }; do
        [ -n "${seen[$part]:-}" ] && continue
        seen[$part]=1
        case $part in
            default) ;;
            o3) printf '[profile.dev.build-override]\nopt-level = 3\n' ;;
            debug0) printf '[profile.dev]\ndebug = 0\n' ;;
            debug2) printf '[profile.dev]\ndebug = 2\n' ;;
            mold | lld) flags+=("\"-C\", \"link-arg=-fuse-ld=$part\"") ;;
            *) return 1 ;;
        esac
    done
    if [ ${#flags[@]} -gt 0 ]; then
        local IFS=,
        printf '[target.x86_64-unknown-linux-gnu]\nrustflags = [%s]\n' "${flags[*]}"
    fi
}
for setup in $setups; do
    setup_config "$setup" >/dev/null ||
        { echo "patch-speed: unknown setup $setup (default, o3, debug0, debug2, mold, lld, joined with +)" >&2; exit 2; }
done

# ---------------------------------------------------------------- dx itself
find_dx false
command -v perl >/dev/null || { echo "FAIL: perl is needed (edits)"; exit 1; }
for setup in $setups; do
    for tool in mold lld; do
        [[ +$setup+ == *+$tool+* ]] && ! command -v "ld.$tool" >/dev/null &&
            { echo "FAIL: setup $setup needs $tool (apt-get install $tool)"; exit 1; }
    done
done

# ---------------------------------------------------------------- settings
started=$(date +%s)
deadline=$((started + ${PATCH_SPEED_DEADLINE:-3600}))
build_timeout=${PATCH_SPEED_BUILD_TIMEOUT:-900}
patch_timeout=${PATCH_SPEED_PATCH_TIMEOUT:-60}
scratch=${PATCH_SPEED_DIR:-${CARGO_TARGET_DIR:-$repo/target}/patch-speed}
mkdir -p "$scratch" || exit 1
scratch=$(cd "$scratch" && pwd)
exec 9>"$scratch/lock"
flock -n 9 || { echo "FAIL: another patch-speed run holds $scratch/lock"; exit 1; }
export CARGO_NET_OFFLINE=true TELEMETRY=false NO_DOWNLOADS=1 RUST_BACKTRACE=0
unset RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_ENCODED_RUSTFLAGS 2>/dev/null

die() { echo "FAIL: $*"; exit 1; }
median() { tr ' ' '\n' | grep -E '^[0-9.]+$' | sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%g\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
range() { tr ' ' '\n' | grep -E '^[0-9.]+$' | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR == 0) print "-"; else print lo "-" hi }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "-" }'; }
at_most() { awk -v r="$1" -v g="$2" 'BEGIN { print (r != "-" && r <= g) ? "MET" : "NOT MET" }'; }

# ---------------------------------------------------------------- the template
# app_dir SETUP KIND N LAYOUT / edited_file DIR LAYOUT
app_dir() { echo "$scratch/apps/$1/$2-$3-$4"; }
edited_file() {
    case $2 in
        crates*) echo "$1/crates/c0/src/lib.rs" ;;
        files) echo "$1/src/p0.rs" ;;
        *) echo "$1/src/main.rs" ;;
    esac
}

# put FILE: FILE.new becomes FILE only when its text changed, so that a
# rerun stays incremental.
put() {
    if cmp -s "$1.new" "$1"; then rm -f "$1.new"; else mkdir -p "$(dirname "$1")" && mv "$1.new" "$1"; fi
}

# gen SETUP KIND N LAYOUT: writes the app; the edited literal starts at 1.
gen() {
    local setup=$1 kind=$2 n=$3 layout=$4 dir variant=bare crates=0 k from to
    dir=$(app_dir "$@")
    [ "$kind" = tony ] && variant=host
    [ "${layout#crates}" != "$layout" ] && crates=$(((n + per - 1) / per))
    mkdir -p "$dir/src" "$dir/.cargo" || return 1
    {
        speed_app_manifest "$kind" "speed-$kind-$n" "$repo" "$crates" "speed-$layout-$n-$per"
        if [ -n "${PATCH_SPEED_PROFILE:-}" ]; then printf '\n%s\n' "$PATCH_SPEED_PROFILE"; fi
    } >"$dir/Cargo.toml.new" && put "$dir/Cargo.toml" || return 1
    speed_app_main "$variant" "$n" "$layout" "$per" >"$dir/src/main.rs.new" && put "$dir/src/main.rs" || return 1
    if [ "$layout" = files ]; then
        for ((k = 0; k < n; k++)); do
            speed_app_file "$variant" "$k" >"$dir/src/p$k.rs.new" && put "$dir/src/p$k.rs" || return 1
        done
    fi
    setup_config "$setup" >"$dir/.cargo/config.toml.new" && put "$dir/.cargo/config.toml" || return 1
    for ((k = 0; k < crates; k++)); do
        from=$((k * per)) to=$(((k + 1) * per))
        [ "$to" -gt "$n" ] && to=$n
        mkdir -p "$dir/crates/c$k/src" || return 1
        speed_app_lib_manifest "$kind" "speed-$layout-$n-$per-c$k" "$repo" >"$dir/crates/c$k/Cargo.toml.new" &&
            put "$dir/crates/c$k/Cargo.toml" || return 1
        speed_app_lib "$variant" "$from" "$to" "$([ "$layout" = crates-local ] && echo true || echo false)" >"$dir/crates/c$k/src/lib.rs.new" &&
            put "$dir/crates/c$k/src/lib.rs" || return 1
    done
    cmp -s "$repo/Cargo.lock" "$dir/Cargo.lock.repo" || {
        cp "$repo/Cargo.lock" "$dir/Cargo.lock" && cp "$repo/Cargo.lock" "$dir/Cargo.lock.repo"
    } || return 1
    # Resolve once, offline: prunes the lock to this app, adds nothing new.
    (cd "$dir" && cargo metadata --offline --format-version 1 >/dev/null 2>"$dir/metadata.err") ||
        { echo "      cargo cannot resolve $dir offline:"; sed 's/^/      /' "$dir/metadata.err" | head -20; return 1; }
}

# set_step FILE V: plugin 0's literal := V, atomically (written outside the
# app, which dx watches, then renamed: dx never sees a half-written file).
# With --edit shift, one blank line follows the literal when V is odd and
# none when it is even, so that each edit moves the code below it.
set_step() {
    local f=$1 t=$scratch/edit.tmp lines=0
    [ "$edit" = shift ] && lines=$(($2 % 2))
    speed_app_step "$f" "$2" "$lines" >"$t" &&
        grep -q "/\* STEP \*/ $2\$" "$t" && mv "$t" "$f"
}

# ---------------------------------------------------------------- dx serve
dx_pid=
log=
slog=
trap 'stop_dx; rm -f "$scratch/edit.tmp"' EXIT
trap 'echo "patch-speed: interrupted"; exit 130' INT TERM

# phases FROM TO: dx's flamegraph of the first thin build in (FROM, TO]:
# "compiling link replay" in ms (a label seen twice is summed; "-" when
# missing, replay 0).
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
            r = ("Workspace hotpatch replay" in t) ? t["Workspace hotpatch replay"] : 0
            print c, l, r
        }' "$slog"
}
# flamegraph FROM: the whole first thin flamegraph after FROM, as dx printed it.
flamegraph() {
    awk -v a="$1" 'NR <= a { next } /Flamegraph for thin/ { p = 1 } p && !/Flamegraph/ && !/[0-9]+ms +[0-9.]+% / { exit } p' "$slog"
}

# measure SETUP KIND N LAYOUT: runs the app under dx, makes the edits; sets
# m_compile m_link m_replay m_took m_build (space-separated per-patch
# values). 1 on failure.
m_compile= m_link= m_replay= m_took= m_build=
measure() {
    local setup=$1 kind=$2 n=$3 layout=$4 dir file tag k v rc t0 from feat=() ph
    dir=$(app_dir "$@")
    file=$(edited_file "$dir" "$layout")
    tag=$setup-$kind-$n-$layout${measure_tag:-}
    m_compile= m_link= m_replay= m_took= m_build=
    log=$scratch/dx-$tag.log
    slog=$scratch/dx-$tag.txt
    : >"$log"
    set_step "$file" 1 || { echo "FAIL: cannot reset the literal in $file"; return 1; }
    [ "$kind" = tony ] && feat=(--features hot)
    say "$tag: dx serve --hot-patch --verbose ${feat[*]} (in $dir)"
    (
        cd "$dir" || exit 1
        export CARGO_TARGET_DIR=$scratch/target-dx-$setup
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
            1) echo "FAIL: $tag did not start within $(cap "$build_timeout") s" ;;
            2) echo "FAIL: dx exited before $tag started" ;;
            *) echo "FAIL: $tag: $hit" ;;
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
        set_step "$file" "$v" || { echo "FAIL: the edit does not apply to $file"; stop_dx; return 1; }
        wait_for "$from" "STEP $v " "$patch_timeout"
        rc=$?
        if [ $rc != 0 ]; then
            echo "FAIL: $tag, edit $k: the new value $v did not show within ${patch_timeout} s ($([ $rc = 2 ] && echo "dx exited" || echo timeout))"
            echo "---- last lines of $slog"
            tail -n 30 "$slog"
            stop_dx
            return 1
        fi
        # dx logs "took" and its flamegraph around the moment the patch lands.
        wait_for "$from" 'Hot-patching: .* took [0-9]+ms' 10
        sleep 0.5
        refresh
        local took end whole c l r
        took=$(awk -v a="$from" 'NR > a && /Hot-patching: .* took [0-9]+ms/ { match($0, /took [0-9]+ms/); print substr($0, RSTART + 5, RLENGTH - 7); exit }' "$slog")
        whole=$(awk -v a="$from" 'NR > a && /Build completed in [0-9]+ms/ { match($0, /in [0-9]+ms/); print substr($0, RSTART + 3, RLENGTH - 5); exit }' "$slog")
        end=$(wc -l <"$slog")
        read -r c l r <<<"$(phases "$from" "$end")"
        ph=$(flamegraph "$from")
        [ "$k" = 1 ] && [ -n "$ph" ] && { echo "      dx's flamegraph of the first patch:"; sed 's/^/        /' <<<"$ph"; }
        printf '      edit %d (step -> %d): patch %s ms (replay %s, Compiling %s, Patch: Link %s), Hot-patching took %s ms\n' \
            "$k" "$v" "${whole:-?}" "$r" "$c" "$l" "${took:-?}"
        m_compile+="$c "
        m_link+="$l "
        m_replay+="$r "
        m_took+="${took:--} "
        m_build+="${whole:--} "
        sleep 1 # let dx settle before the next save
    done
    stop_dx
    set_step "$file" 1
    return 0
}

# build_times SETUP KIND N: 3 × (touch src/main.rs; cargo build) of the
# flat app, seconds each.
b_times=
build_times() {
    local kind=$2 n=$3 dir k t0 t1 feat=()
    dir=$(app_dir "$1" "$2" "$3" flat)
    b_times=
    [ "$kind" = tony ] && feat=(--features hot)
    export CARGO_TARGET_DIR=$scratch/target-build-$1
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
for setup in $setups; do
    for shape in $shapes; do
        for kind in tony bare; do
            gen "$setup" "$kind" "${shape%:*}" "${shape#*:}" || die "could not generate $setup $kind $shape"
        done
    done
done

# Another setup's patches are compared with the first setup's bare app
# measured again just before them (key SETUP-ref-SHAPE): the load of the
# machine changes from one setup to the next. A setup that fails (a patch
# that never lands) is reported and the run goes on.
declare -A C L P T R W
failures=()
first_setup=${setups%% *}
for setup in $setups; do
    for shape in $shapes; do
        kinds="bare tony"
        [ "$setup" != "$first_setup" ] && kinds="ref bare tony"
        for kind in $kinds; do
            key=$setup-$kind-$shape
            [ "$(remaining)" -gt 30 ] || die "out of time (PATCH_SPEED_DEADLINE) before $key"
            if [ "$kind" = ref ]; then
                measure_tag=-before-$setup measure "$first_setup" bare "${shape%:*}" "${shape#*:}"
            else
                measure "$setup" "$kind" "${shape%:*}" "${shape#*:}"
            fi || { failures+=("$key"); continue; }
            C[$key]=$(median <<<"$m_compile")
            L[$key]=$(median <<<"$m_link")
            P[$key]=$(median <<<"$m_replay")
            T[$key]=$(median <<<"$m_took")
            W[$key]=$(median <<<"$m_build")
            R[$key]=$(range <<<"$m_build")
        done
    done
done

nmax=$(tr ' ' '\n' <<<"$shapes" | grep ':flat$' | sort -n | tail -1)
nmax=${nmax%:*}
declare -A B
if $build && [ -n "$nmax" ]; then
    say "cargo build after touch src/main.rs, N=$nmax flat, setup $first_setup (3 runs each)"
    for kind in bare tony; do
        [ "$(remaining)" -gt 30 ] || die "out of time (PATCH_SPEED_DEADLINE) before the build of $kind-$nmax"
        build_times "$first_setup" "$kind" "$nmax" || exit 1
        B[$kind]=$(median <<<"$b_times")
    done
fi

# ---------------------------------------------------------------- table
say "results (medians of $edits patches; ms unless said; dx $dx_version, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); noisy: ratios count)"
printf '%-16s | %-16s | %-20s | %8s | %8s | %8s\n' setup shape measure tony bare tony/bare
for setup in $setups; do
    for shape in $shapes; do
        for m in "patch (thin build):W" "replay:P" "Compiling:C" "Patch: Link:L" "Hot-patching took:T"; do
            declare -n ref=${m##*:}
            printf '%-16s | %-16s | %-20s | %8s | %8s | %8s\n' "$setup" "$shape" "${m%:*}" \
                "${ref[$setup-tony-$shape]:--}" "${ref[$setup-bare-$shape]:--}" \
                "$(ratio "${ref[$setup-tony-$shape]:--}" "${ref[$setup-bare-$shape]:--}")"
            unset -n ref
        done
    done
done
if [ -n "${B[tony]:-}" ]; then
    printf '%-16s | %-16s | %-20s | %8s | %8s | %8s\n' "$first_setup" "$nmax:flat" "cargo build (s)" \
        "${B[tony]}" "${B[bare]}" "$(ratio "${B[tony]}" "${B[bare]}")"
fi

echo
echo "per shape, the patch: dx's whole thin build (median [min-max] of $edits patches, ms):"
for setup in $setups; do
    for shape in $shapes; do
        t=$setup-tony-$shape b=$setup-bare-$shape
        printf 'ratio N=%s layout=%s edit=%s setup=%s: %s (tony %s [%s], bare %s [%s])' "${shape%:*}" "${shape#*:}" "$edit" "$setup" \
            "$(ratio "${W[$t]:--}" "${W[$b]:--}")" "${W[$t]:--}" "${R[$t]:--}" "${W[$b]:--}" "${R[$b]:--}"
        r=$setup-ref-$shape
        [ -n "${W[$r]:-}" ] && printf '; bare %s just before: %s [%s]' "$first_setup" "${W[$r]}" "${R[$r]}"
        echo
    done
done

# Issue 24's goals, for the shapes and setups this run measured.
goals=()
for setup in $setups; do
    ref=$setup-tony-5:flat
    for l in crates crates-local; do
        spread=$setup-tony-100:$l
        if [ -n "${W[$spread]:-}" ] && [ -n "${W[$ref]:-}" ]; then
            r=$(ratio "${W[$spread]}" "${W[$ref]}")
            goals+=("setup $setup: tony N=100 $l / tony N=5 flat: $r <= 1.20 $(at_most "$r" 1.20)")
            r=$(ratio "${W[$spread]}" "${W[$setup-bare-100:$l]}")
            goals+=("setup $setup: tony/bare at N=100 $l: $r <= 1.50 $(at_most "$r" 1.50)")
        fi
    done
    base=$first_setup-bare-20:flat
    [ "$setup" != "$first_setup" ] && base=$setup-ref-20:flat
    if [ -n "${W[$setup-tony-20:flat]:-}" ] && [ -n "${W[$base]:-}" ]; then
        r=$(ratio "${W[$setup-tony-20:flat]}" "${W[$base]}")
        goals+=("tony N=20 flat with $setup / bare N=20 flat with $first_setup: $r <= 1.30 $(at_most "$r" 1.30) (bare $first_setup ${W[$base]} ms)")
    fi
done
if [ ${#goals[@]} -gt 0 ]; then
    echo
    echo "issue 24's goals (one run):"
    for g in "${goals[@]}"; do echo "  $g"; done
fi
echo
echo "logs: $scratch/dx-<setup>-<kind>-<N>-<layout>.txt, apps: $scratch/apps; total $(($(date +%s) - started)) s"
if [ ${#failures[@]} -gt 0 ]; then
    echo "FAIL: not measured (see the FAIL lines above): ${failures[*]}"
    exit 1
fi
exit 0
