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
# With two counts (`--n "1 20"`), it also prints each variant's cost per
# plugin: (compile at the larger N - at the smaller) / (difference of N).
#
# Options:
#   --layout flat|modules|files
#                          every plugin in the crate root (default), each in
#                          an inline module of its own, or each in a file of
#                          its own (src/pN.rs)
#   --edit same|shift      the edit keeps every later token in place (default),
#                          or also adds or removes a line after the literal, so
#                          that all the code below moves, as most real edits do
#   --ir                   count the instructions rustc executes (valgrind's
#                          cachegrind, in millions) instead of timing it: the
#                          same on a busy machine, so one edit is enough. The
#                          phase columns are then empty.
#   --variants "bare ..."  which variants (default: all five)
#
# Usage: scripts/compile-cost.sh [--n N|"N1 N2"] [--edits K] [--layout L] [--edit E] [--ir] [--variants V]
# Environment: COMPILE_COST_DIR (scratch, default
#   ${CARGO_TARGET_DIR:-<repo>/target}/compile-cost, kept between runs).
# Exit 0 when it measured everything, 1 when it could not, 2 on bad arguments.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
counts=1
edits=5
variants="bare deps struct impls host"
layout=flat
edit=same
ir=false
while [ $# -gt 0 ]; do
    case "$1" in
        --layout) layout=${2:?--layout needs flat or modules}; shift ;;
        --edit) edit=${2:?--edit needs same or shift}; shift ;;
        --ir) ir=true ;;
        --n) counts=${2:?--n needs a number}; shift ;;
        --edits) edits=${2:?--edits needs a number}; shift ;;
        --variants) variants=${2:?--variants needs a list}; shift ;;
        -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "compile-cost: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
read -r n1 n2 extra <<<"$counts"
[[ $n1 =~ ^[1-9][0-9]*$ && ${n2:-1} =~ ^[1-9][0-9]*$ && -z $extra && ${n2:-0} != "$n1" && $edits =~ ^[1-9][0-9]*$ ]] ||
    { echo "compile-cost: --n wants one or two different positive numbers, --edits a positive number" >&2; exit 2; }
[[ $layout =~ ^(flat|modules|files)$ && $edit =~ ^(same|shift)$ ]] ||
    { echo "compile-cost: --layout is flat, modules or files, --edit same or shift" >&2; exit 2; }
if $ir; then
    command -v valgrind >/dev/null || { echo "FAIL: --ir needs valgrind (apt-get install valgrind)"; exit 1; }
fi
for v in $variants; do
    case $v in bare | deps | struct | impls | host) ;; *) echo "compile-cost: unknown variant $v" >&2; exit 2 ;; esac
done
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

# compile DIR FEATURES LOG [IR_OUT]: one patch-like compile of the app in
# DIR; with IR_OUT, rustc on the app crate runs under cachegrind, which
# writes there (through a RUSTC_WRAPPER, so that cargo's own rustc calls
# and the linker are left out).
compile() {
    (cd "$1" && CARGO_TARGET_DIR="$1/target" RUSTC_WRAPPER="$wrapper" IR_OUT="${4:-}" \
        cargo rustc -q $2 -- "${dx_flags[@]}") >"$3" 2>&1
}

# The wrapper: cachegrind around the app crate's rustc when IR_OUT is set.
wrapper=$scratch/ir-wrapper
cat >"$wrapper" <<'EOW'
#!/usr/bin/env bash
rustc=$1
shift
if [ -n "${IR_OUT:-}" ] && printf '%s\n' "$@" | grep -qx 'cost_tony\|cost_bare'; then
    exec valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$IR_OUT" -q "$rustc" "$@"
fi
exec "$rustc" "$@"
EOW
chmod +x "$wrapper" || exit 1

# instructions FILE: millions of instructions in one cachegrind output.
instructions() { awk '/^summary:/ { printf "%.1f\n", $2 / 1e6 }' "$1"; }

# edit_literal FILE E: edit number E of plugin 0's literal. The literal
# stays one digit (2..9), so that a `same` edit moves no token; a `shift`
# edit also puts one blank line after it on odd edits and none on even ones.
edit_literal() {
    local lines=0
    [ "$edit" = shift ] && lines=$(($2 % 2))
    speed_app_step "$1" $(($2 % 8 + 2)) "$lines" >"$scratch/edit.tmp" && mv "$scratch/edit.tmp" "$1"
}

# measure VARIANT: prints its row.
measure() {
    local v=$1 deps=tony features="--features hot" dir e f rows=()
    [ "$v" = bare ] && { deps=bare; features=""; }
    dir=$scratch/$deps
    local edited=$dir/src/main.rs i
    rm -f "$dir"/src/p[0-9]*.rs
    speed_app_main "$v" "$n" "$layout" >"$dir/src/main.rs" || return 1
    if [ "$layout" = files ]; then
        edited=$dir/src/p0.rs
        for ((i = 0; i < n; i++)); do speed_app_file "$v" "$i" >"$dir/src/p$i.rs" || return 1; done
    fi
    compile "$dir" "$features" "$scratch/warm.log" && compile "$dir" "$features" "$scratch/warm.log" ||
        { echo "FAIL: $v does not compile:"; grep -E '^error' -A6 "$scratch/warm.log" | head -30; return 1; }
    for ((e = 1; e <= edits; e++)); do
        edit_literal "$edited" "$e"
        grep -q "/\* STEP \*/ $((e % 8 + 2))\$" "$edited" || { echo "FAIL: $v, edit $e was not made"; return 1; }
        if $ir; then
            rm -f "$scratch/ir.out"
            compile "$dir" "$features" "$scratch/edit.log" "$scratch/ir.out" && [ -s "$scratch/ir.out" ] ||
                { echo "FAIL: $v, edit $e did not compile under cachegrind"; return 1; }
            rows+=("$(instructions "$scratch/ir.out") - - -")
            continue
        fi
        compile "$dir" "$features" "$scratch/edit.log" || { echo "FAIL: $v, edit $e does not compile"; return 1; }
        rows+=("$(passes "$scratch/edit.log")")
    done
    for f in 1 2 3 4; do
        printf '%8s' "$(printf '%s\n' "${rows[@]}" | awk -v f=$f '{ print $f }' | median)"
    done
}

manifest bare && manifest tony || { echo "FAIL: cannot write the apps under $scratch"; exit 1; }
declare -A first
per_plugin=()
unit=ms
$ir && unit="millions of instructions"
for n in $n1 $n2; do
    echo "rustc on the edited crate, dx's flags, N = $n plugin(s), layout $layout, $edit edits, median of $edits ($unit)"
    printf '%-8s%8s%8s%8s%8s\n' variant compile expand codegen llvm
    for v in $variants; do
        row=$(measure "$v") || { echo "$row"; exit 1; }
        printf '%-8s%s\n' "$v" "$row"
        read -r total _ <<<"$row"
        if [ "$n" = "$n1" ]; then
            first[$v]=$total
        else
            per_plugin+=("$(awk -v v="$v" -v a="${first[$v]}" -v b="$total" -v d=$((n2 - n1)) \
                -v u="$($ir && echo Mi || echo ms)" -v l="$layout" -v e="$edit" \
                'BEGIN { printf "per-plugin variant=%s layout=%s edit=%s: %.2f %s\n", v, l, e, (b - a) / d, u }')")
        fi
    done
done
if $ir; then
    echo "compile = instructions of rustc itself (the linker it starts is not counted; dx links the patch itself)"
else
    echo "compile = rustc's total without its link step (dx links the patch itself)"
fi
[ -n "${n2:-}" ] && printf '%s\n' "${per_plugin[@]}"
exit 0
