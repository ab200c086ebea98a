# Shared by the scripts that run an app of this workspace under a real
# `dx serve --hot-patch` and edit it while it runs (scripts/e2e-hotpatch.sh,
# scripts/e2e-web.sh): finding dx, a copy of the workspace to edit, dx in a
# process group of its own, atomic edits, PASS/FAIL bookkeeping.
#
# Source it after setting `repo` (the workspace root) and `name` (the
# script's name, for messages); then call `dx_session_init STATE_DIR`.
# Functions set the globals they name; none of them exits the script except
# where it says so.

DX_VERSION=0.7.10

pass=0
fail=0
failed=()
ok() { pass=$((pass + 1)); echo "PASS  $1: $2"; }
ko() { fail=$((fail + 1)); failed+=("$1"); echo "FAIL  $1: $2"; }
check() { if [ "$2" = 0 ]; then ok "$1" "$3"; else ko "$1" "$3"; fi; }
say() { printf '\n== %s\n' "$*"; }
now() { date +%s.%N; }
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }

# find_dx INSTALL: sets $dx, $dx_version and $lock_version (the
# workspace's subsecond), or exits: 0 with SKIPPED when dx is missing
# (and INSTALL is not "true"), 1 when it is not the version of the
# workspace's subsecond (their hot-patch protocols must match).
find_dx() {
    dx=${DX:-$(command -v dx || true)}
    [ -z "$dx" ] && [ -x "$HOME/.cargo/bin/dx" ] && dx=$HOME/.cargo/bin/dx
    if [ -z "$dx" ]; then
        if [ "$1" != true ]; then
            echo "SKIPPED: dx is not installed (cargo install --locked dioxus-cli@$DX_VERSION, ~13 min)."
            exit 0
        fi
        echo "installing dx: cargo install --locked dioxus-cli@$DX_VERSION (takes a while)"
        cargo install --locked "dioxus-cli@$DX_VERSION" || { echo "FAIL: could not install dx"; exit 1; }
        dx=$HOME/.cargo/bin/dx
    fi
    dx_version=$("$dx" --version 2>/dev/null | awk '{print $2}')
    lock_version=$(awk '/^name = "subsecond"$/ {getline; gsub(/[^0-9.]/, ""); print; exit}' "$repo/Cargo.lock")
    if [ "$dx_version" != "$lock_version" ]; then
        echo "FAIL: $dx is dx $dx_version but the workspace uses subsecond $lock_version;"
        echo "      their hot-patch protocols must match: cargo install --locked dioxus-cli@$lock_version"
        exit 1
    fi
}

# dx_session_init STATE: $state, $ws (the copy), $log (dx's raw output),
# $slog (the same without colours); takes the state dir's lock (exits when
# another run holds it); cleans up on exit.
dx_session_init() {
    state=$1
    ws=$state/ws
    log=$state/dx.log
    slog=$state/dx.txt
    mkdir -p "$state" || exit 1
    exec 9>"$state/lock"
    flock -n 9 || { echo "FAIL: another $name run holds $state/lock"; exit 1; }
    trap 'stop_dx; rm -f "$state/edit.tmp"' EXIT
    trap 'echo "$name: interrupted"; exit 130' INT TERM
}

# copy_workspace: the workspace's files (tracked and untracked-but-not-
# ignored) to $ws. Changed files get a fresh mtime (cargo must see them);
# unchanged ones keep theirs, so a rerun rebuilds only what changed. Exits
# on failure.
copy_workspace() {
    say "copying the workspace to $ws"
    (
        cd "$repo" || exit 1
        mkdir -p "$ws" || exit 1
        {
            if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
                git ls-files -co --exclude-standard -z
            else # not a git checkout: everything but build output
                find . -path ./target -prune -o -path ./.git -prune -o -type f -printf '%P\0'
            fi
        } | while IFS= read -r -d '' f; do
            [ -f "$f" ] || continue
            if ! cmp -s "$f" "$ws/$f"; then
                mkdir -p "$ws/$(dirname "$f")" && cp "$f" "$ws/$f" || exit 1
            fi
        done || exit 1
        # Files no longer in the workspace.
        (cd "$ws" && find . -type f -printf '%P\0') | while IFS= read -r -d '' f; do
            [ -f "$f" ] || rm -f "$ws/$f" || exit 1
        done
    ) || { echo "FAIL: could not copy the workspace to $ws"; exit 1; }
}

# start_dx ARGS...: `dx serve --hot-patch ARGS` in $ws, in a session and
# process group of its own (so that stop_dx stops the app and every cargo
# and rustc it started), output to $log; sets $dx_pid. One dx target dir
# serves every script ($E2E_TARGET, default target/e2e-dx): the workspace's
# dependencies are built for dx once. Exits when dx did not get its own
# process group (it could not be stopped cleanly).
dx_pid=
start_dx() {
    say "starting: dx serve --hot-patch $* (in $ws)"
    : >"$log"
    (
        cd "$ws" || exit 1
        export TELEMETRY=false NO_DOWNLOADS=1 RUST_BACKTRACE=0
        export CARGO_TARGET_DIR=${E2E_TARGET:-${CARGO_TARGET_DIR:-$repo/target}/e2e-dx}
        exec setsid "$dx" serve --hot-patch --interactive false --open false "$@" </dev/null >>"$log" 2>&1
    ) &
    dx_pid=$!
    sleep 0.5
    [ "$(ps -o pgid= -p "$dx_pid" | tr -d ' ')" = "$dx_pid" ] || {
        echo "FAIL: dx is not the leader of its own process group; refusing to go on (could not stop it cleanly)"
        kill "$dx_pid" 2>/dev/null
        exit 1
    }
}

stop_dx() {
    [ -n "$dx_pid" ] || return 0
    kill -TERM -- "-$dx_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 -- "-$dx_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$dx_pid" 2>/dev/null
    wait "$dx_pid" 2>/dev/null
    dx_pid=
}

# refresh: $slog is $log without colours, complete lines only.
refresh() {
    local n
    n=$(wc -l <"$log")
    head -n "$n" "$log" | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' >"$slog"
}
lines() { refresh; wc -l <"$slog"; }

# edit FILE PERL_SUBSTITUTION...: rewrites FILE of the copy with the perl
# substitutions (each must match), atomically (written elsewhere, renamed:
# dx never sees a half-written file). Sets $save_line (log lines at the
# save) and $save_time (seconds since the epoch, just after the rename).
save_line=
save_time=
edit() {
    local file=$ws/$1 expr
    shift
    cp "$file" "$state/edit.tmp" || return 1
    for expr in "$@"; do
        if ! E="$expr" perl -0pi -e 'BEGIN { $e = $ENV{E} } $n = eval "s$e"; die "$@" if $@; exit 3 unless $n' "$state/edit.tmp"; then
            echo "      the edit s$expr does not apply to $1 (did the app change?)"
            return 1
        fi
    done
    save_line=$(lines)
    mv "$state/edit.tmp" "$file" && save_time=$(now)
}

# remaining, cap N: seconds left before $deadline (the whole run's), and N
# capped by it.
remaining() { echo $((deadline - $(date +%s))); }
cap() { local r; r=$(remaining); [ "$1" -lt "$r" ] && echo "$1" || echo "$r"; }
app_pid=
app_alive() { [ -z "$app_pid" ] || kill -0 "$app_pid" 2>/dev/null; }
dx_alive() { kill -0 "$dx_pid" 2>/dev/null; }

# wait_for FROM_LINE ERE TIMEOUT: the first line of $slog after FROM_LINE
# matching ERE -> $hit_line / $hit. 1 on timeout, 2 when dx (or the app,
# once $app_pid is known) died.
hit_line=
hit=
wait_for() {
    local from=$1 until r
    until=$(($(date +%s) + $(cap "$3")))
    while :; do
        refresh
        r=$(PAT="$2" awk -v from="$from" 'NR > from && $0 ~ ENVIRON["PAT"] { print NR "\t" $0; exit }' "$slog")
        if [ -n "$r" ]; then
            hit_line=${r%%$'\t'*}
            hit=${r#*$'\t'}
            return 0
        fi
        { dx_alive && app_alive; } || return 2
        [ "$(date +%s)" -lt "$until" ] || return 1
        sleep 0.1
    done
}

