#!/usr/bin/env bash
# End to end under a real `dx serve --hot-patch`: the demo (examples/, feature
# `hot`) runs under dx, and this script edits its plugins WHILE IT RUNS,
# checking from the app's output (one process, same pid, no restart):
#
#   (a) an edited plugin method (`Counter::step` 1 -> 5) runs new code, the
#       counter keeps counting from where it was, and the receipt names only
#       `counter` (+ its dependents: none) as changed and cycled;
#   (c) an edit to non-plugin code (the tick loop in main.rs) gives a
#       "no plugin changed" receipt and cycles nothing;
#   (d) a compile error leaves the app running the last good code (still
#       stepping by 5), and a later fix (step -> 9) applies;
#   (b) a field added to `Counter` (with a `migrate` hook, state_version 1)
#       is handled: the instance is rebuilt from its snapshot through the
#       new code and migrated (count kept, new field = 7), or reset and
#       reported, never garbage; old-layout typed access is refused; the app
#       keeps running;
#   (b') after that, a method edit of the same plugin: its snapshot is
#       decoded and the instance rebuilt by the new code again.
#
# It prints, for each edit, the time from the file save to the receipt
# (`Event::PatchApplied`, printed by the demo with its pid and wall-clock
# time), and dx's own "Hot-patching ... took N ms".
#
# The repository is never edited: the workspace is copied (tracked and
# untracked-but-not-ignored files, as they are on disk) to
# $E2E_DIR/ws (default target/e2e-hotpatch/ws, kept between runs so that
# builds stay incremental) and the edits are made there.
#
# Usage: scripts/e2e-hotpatch.sh [--install]
#   --install   install dx (`cargo install --locked dioxus-cli@0.7.10`, ~13 min)
#               when it is missing. Without it, a missing dx prints SKIPPED
#               and exits 0 (what .ci/run expects; CI never builds dx).
# Environment: DX (the dx binary), E2E_DIR, E2E_DEADLINE (whole run, seconds,
#   default 540), E2E_BUILD_TIMEOUT (first build, default 300),
#   E2E_PATCH_TIMEOUT (per patch, default 60).
# Exit status: 0 only when every check passed (or SKIPPED), 1 otherwise.
set -uo pipefail

DX_VERSION=0.7.10
repo=$(cd "$(dirname "$0")/.." && pwd)
install=false
for arg in "$@"; do
    case "$arg" in
        --install) install=true ;;
        -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "e2e-hotpatch: unknown argument $arg (see --help)" >&2; exit 2 ;;
    esac
done

# ---------------------------------------------------------------- dx itself
dx=${DX:-$(command -v dx || true)}
[ -z "$dx" ] && [ -x "$HOME/.cargo/bin/dx" ] && dx=$HOME/.cargo/bin/dx
if [ -z "$dx" ]; then
    if ! $install; then
        echo "SKIPPED: dx is not installed (run scripts/e2e-hotpatch.sh --install, or"
        echo "         cargo install --locked dioxus-cli@$DX_VERSION, ~13 min)."
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

# ---------------------------------------------------------------- settings
started=$(date +%s)
deadline=$((started + ${E2E_DEADLINE:-540}))
build_timeout=${E2E_BUILD_TIMEOUT:-300}
patch_timeout=${E2E_PATCH_TIMEOUT:-60}
state=${E2E_DIR:-${CARGO_TARGET_DIR:-$repo/target}/e2e-hotpatch}
ws=$state/ws
log=$state/dx.log   # dx's output, raw (kept after the run)
slog=$state/dx.txt  # the same without colours, complete lines only
mkdir -p "$state" || exit 1
exec 9>"$state/lock"
flock -n 9 || { echo "FAIL: another e2e-hotpatch run holds $state/lock"; exit 1; }

pass=0
fail=0
failed=()
timings=()
ok() { pass=$((pass + 1)); echo "PASS  $1: $2"; }
ko() { fail=$((fail + 1)); failed+=("$1"); echo "FAIL  $1: $2"; }
check() { if [ "$2" = 0 ]; then ok "$1" "$3"; else ko "$1" "$3"; fi; }
say() { printf '\n== %s\n' "$*"; }

# ---------------------------------------------------------------- the copy
# Changed files get a fresh mtime (cargo must see them); unchanged ones keep
# theirs, so a rerun rebuilds only what changed.
say "copying the workspace to $ws"
workspace_files() {
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git ls-files -co --exclude-standard -z
    else # not a git checkout: everything but build output
        find . -path ./target -prune -o -path ./.git -prune -o -type f -printf '%P\0'
    fi
}
(
    cd "$repo" || exit 1
    mkdir -p "$ws" || exit 1
    workspace_files | while IFS= read -r -d '' f; do
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

# ---------------------------------------------------------------- dx serve
dx_pid=
app_pid=
stop_dx() {
    [ -n "$dx_pid" ] || return 0
    # dx runs in its own session and process group (setsid), with the app and
    # any cargo/rustc it started: stop exactly that group.
    kill -TERM -- "-$dx_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 -- "-$dx_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$dx_pid" 2>/dev/null
    wait "$dx_pid" 2>/dev/null
    dx_pid=
}
on_exit() {
    stop_dx
    rm -f "$state/edit.tmp"
}
trap on_exit EXIT
trap 'echo "e2e-hotpatch: interrupted"; exit 130' INT TERM

now() { date +%s.%N; }
remaining() { echo $((deadline - $(date +%s))); }
cap() { local r; r=$(remaining); [ "$1" -lt "$r" ] && echo "$1" || echo "$r"; }
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }

refresh() {
    local n
    n=$(wc -l <"$log")
    head -n "$n" "$log" | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' >"$slog"
}
lines() { refresh; wc -l <"$slog"; }
app_alive() { [ -z "$app_pid" ] || kill -0 "$app_pid" 2>/dev/null; }
dx_alive() { kill -0 "$dx_pid" 2>/dev/null; }

# wait_for FROM_LINE ERE TIMEOUT: the first line after FROM_LINE matching ERE
# -> $hit_line / $hit. 1 on timeout, 2 when the app or dx died.
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
# find_after FROM_LINE ERE: like wait_for, without waiting.
find_after() {
    PAT="$2" awk -v from="$1" 'NR > from && $0 ~ ENVIRON["PAT"] { print; exit }' "$slog"
}
# between FROM TO ERE: how many lines in (FROM, TO] match.
count_between() {
    PAT="$3" awk -v a="$1" -v b="$2" 'NR > a && NR <= b && $0 ~ ENVIRON["PAT"] { n++ } END { print n + 0 }' "$slog"
}
# The demo's tick lines "counter = N", as "LINE VALUE", after FROM (and up to TO).
counters() {
    awk -v a="$1" -v b="${2:-999999999}" 'NR > a && NR <= b && match($0, /INFO counter = [0-9]+/) {
        print NR, substr($0, RSTART + 15, RLENGTH - 15) }' "$slog"
}
last_counter_before() { counters 0 "$1" | tail -1 | cut -d' ' -f2; }
max_counter() { counters 0 | awk '$2 > m { m = $2 } END { print m + 0 }'; }
# wait_ticks FROM N: N tick lines after FROM.
wait_ticks() {
    local until=$(($(date +%s) + $(cap "${3:-$patch_timeout}")))
    while :; do
        refresh
        [ "$(counters "$1" | wc -l)" -ge "$2" ] && return 0
        { dx_alive && app_alive; } || return 2
        [ "$(date +%s)" -lt "$until" ] || return 1
        sleep 0.2
    done
}
# deltas FROM N: the steps of the first N tick lines after FROM, each from
# the tick before it (which may be before FROM), e.g. "5 5 5".
deltas() {
    local prev
    prev=$(last_counter_before "$1")
    counters "$1" | head -n "$2" | awk -v p="${prev:-0}" '{ printf "%s%d", (NR > 1 ? " " : ""), $2 - p; p = $2 } END { print "" }'
}
# only STEP LIST: every value of LIST is STEP.
only() { local s=$1 d; shift; for d in $*; do [ "$d" = "$s" ] || return 1; done; return 0; }
# within STEPS LIST: every value of LIST is one of STEPS (space-separated).
within() {
    local allowed=" $1 " d
    shift
    for d in $*; do case "$allowed" in *" $d "*) ;; *) return 1 ;; esac; done
    return 0
}

# edit FILE PERL_SUBSTITUTION...: rewrites FILE of the copy with the perl
# substitutions (each must match), atomically (write elsewhere, rename: a
# watcher never sees a half-written file). Sets $save_line (log lines at the
# save) and $save_time (seconds since the epoch, just after the rename).
save_line=
save_time=
edit() {
    local file=$ws/$1 expr
    shift
    cp "$file" "$state/edit.tmp" || return 1
    for expr in "$@"; do
        if ! E="$expr" perl -0pi -e 'BEGIN { $e = $ENV{E} } $n = eval "s$e"; die "$@" if $@; exit 3 unless $n' "$state/edit.tmp"; then
            echo "      the edit s$expr does not apply to $1 (did the demo change?)"
            return 1
        fi
    done
    save_line=$(lines)
    mv "$state/edit.tmp" "$file" && save_time=$(now)
}

# receipt FROM NAME: waits for the demo's receipt line after FROM and parses it:
# $r_note $r_changed $r_cycled $r_applied $r_pid $r_time $r_line, $r_ms
# (save -> receipt), $r_dx (dx's "took" for this patch, or "?").
receipt() {
    local rc
    wait_for "$1" '[|] hot patch: ' "$patch_timeout"
    rc=$?
    if [ $rc != 0 ]; then
        [ $rc = 1 ] && echo "      no receipt within ${patch_timeout}s of the save"
        [ $rc = 2 ] && echo "      the app or dx is gone"
        timings+=("$(printf '%-30s %12s %12s %12s   %s' "$2" "-" "-" "-" "no receipt")")
        return 1
    fi
    r_line=$hit_line
    r_text=${hit#*hot patch: }
    local re='^(.*) [(]changed: (.*); cycled: (.*); applied: (true|false)[)] \[pid ([0-9]+) at ([0-9.]+)\]$'
    if [[ ! $r_text =~ $re ]]; then
        echo "      cannot parse the receipt: $hit"
        return 1
    fi
    r_note=${BASH_REMATCH[1]}
    r_changed=${BASH_REMATCH[2]}
    r_cycled=${BASH_REMATCH[3]}
    r_applied=${BASH_REMATCH[4]}
    r_pid=${BASH_REMATCH[5]}
    r_time=${BASH_REMATCH[6]}
    r_ms=$(ms_between "$save_time" "$r_time")
    sleep 0.3 # dx logs its "Hot-patching ... took" around the receipt
    refresh
    r_dx=$(awk -v a="$1" -v b="$((r_line + 20))" 'NR > a && NR <= b && /Hot-patching: .* took [0-9]+ms/ {
        match($0, /took [0-9]+ms/); print substr($0, RSTART + 5, RLENGTH - 7); exit }' "$slog")
    r_dx=${r_dx:-?}
    # Tony's reload transaction (prepare, swap, commit), when one ran.
    r_txn=$(awk -v a="$1" -v b="$r_line" 'NR > a && NR <= b && /[|] reload completed: / { sub(/.* in /, ""); print; exit }' "$slog")
    echo "      receipt: $r_text"
    echo "      save -> receipt: ${r_ms} ms (dx: Hot-patching took ${r_dx} ms; Tony's transaction: ${r_txn:-none})"
    timings+=("$(printf '%-30s %9s ms %9s ms %12s   %s' "$2" "$r_ms" "$r_dx" "${r_txn:--}" "$r_note")")
    [ "$r_pid" = "$app_pid" ] || ko "$3.pid" "the receipt comes from pid $r_pid, the app started as $app_pid"
    return 0
}

say "starting: dx serve --hot-patch -p tony-examples --features hot (in $ws)"
: >"$log"
(
    cd "$ws" || exit 1
    export TELEMETRY=false NO_DOWNLOADS=1 CARGO_TARGET_DIR=$state/target RUST_BACKTRACE=0
    exec setsid "$dx" serve --hot-patch --interactive false --open false \
        -p tony-examples --features hot </dev/null >>"$log" 2>&1
) &
dx_pid=$!
sleep 0.5
[ "$(ps -o pgid= -p "$dx_pid" | tr -d ' ')" = "$dx_pid" ] || {
    echo "FAIL: dx is not the leader of its own process group; refusing to go on (could not stop it cleanly)"
    kill "$dx_pid" 2>/dev/null
    exit 1
}

t0=$(date +%s)
wait_for 0 'patches: hot patches|Build failed|error: |does not export' "$build_timeout"
rc=$?
if [ $rc != 0 ] || [[ $hit != *"listening to dx"* ]]; then
    case $rc in
        1) ko start "the app did not start within ${build_timeout}s" ;;
        2) ko start "dx exited before the app started" ;;
        *) ko start "the app cannot take patches: $hit" ;;
    esac
    echo "---- last lines of $log"
    tail -n 40 "$slog"
    echo "RESULT: FAIL (0 passed, 1 failed)"
    exit 1
fi
app_pid=$(sed -nE 's/.*\(pid ([0-9]+)\)$/\1/p' <<<"$hit")
app_exe=$(readlink "/proc/$app_pid/exe" 2>/dev/null)
check start "$([ "$(ps -o pgid= -p "$app_pid" | tr -d ' ')" = "$dx_pid" ] && echo 0 || echo 1)" \
    "app started by dx after $(($(date +%s) - t0)) s, pid $app_pid (${app_exe:-?}): ${hit#*patches: }"

# ---------------------------------------------------------------- (a)
say "(a) a plugin method edited: Counter::step 1 -> 5"
wait_ticks 0 3 30
before=$(last_counter_before "$(lines)")
echo "      counter before the edit: ${before:-none}"
if edit examples/src/plugins/counter.rs '/(pub fn step\(&self\) -> u64 \{\s*)1(\s*\})/${1}5$2/'; then
    if receipt "$save_line" "(a) Counter::step 1 -> 5" a; then
        wait_ticks "$r_line" 3
        d=$(deltas "$r_line" 3)
        d_all=$(deltas 0 "$(counters 0 | wc -l)")
        echo "      steps after the receipt: $d"
        check a.new-code "$(set -- $d; [ "$2" = 5 ] && [ "$3" = 5 ] && echo 0 || echo 1)" \
            "the counter steps by 5 after the patch ($d)"
        check a.state-kept "$(within "1 5" $d_all && echo 0 || echo 1)" \
            "the count went on from ${before:-?} (every step since the start is 1 or 5, never back to 0)"
        cycled_ok=1
        [ "$r_changed" = counter ] && [ "$r_cycled" = counter ] && cycled_ok=0
        check a.receipt "$cycled_ok" \
            "changed: $r_changed; cycled: $r_cycled (expected: counter; counter)$([ "$r_note" = "no plugin changed" ] && echo ' -- the method edit did not change the plugin'"'"'s code fingerprint')"
        others=$(count_between "$save_line" "$r_line" 'reload started: .*(banner|greeter|reporter)')
        check a.only-counter "$([ "$others" = 0 ] && echo 0 || echo 1)" "no other plugin was reloaded ($others reload(s) of others)"
    else
        ko a.receipt "no receipt"
    fi
else
    ko a.edit "could not edit Counter::step"
fi

# ---------------------------------------------------------------- (c)
say "(c) non-plugin code edited: the tick loop in main.rs"
if edit examples/src/main.rs '/(format!\("counter = \{count:<6\} banner: \[\{\}\]", banner)\.trim\(\)\)/$1.trim_end().trim_start())/'; then
    if receipt "$save_line" "(c) main.rs tick loop" c; then
        wait_ticks "$r_line" 2
        d=$(deltas "$save_line" "$(counters "$save_line" | wc -l)")
        check c.receipt "$([ "$r_note" = "no plugin changed" ] && [ "$r_cycled" = - ] && echo 0 || echo 1)" \
            "\"$r_note\", cycled: $r_cycled"
        reloads=$(count_between "$save_line" "$r_line" 'reload started: ')
        check c.nothing-cycled "$([ "$reloads" = 0 ] && echo 0 || echo 1)" "$reloads reload(s) between the save and the receipt"
        check c.undisturbed "$([ -n "$d" ] && only 5 $d && echo 0 || echo 1)" "the counter keeps stepping by 5 ($d)"
    else
        ko c.receipt "no receipt"
    fi
else
    ko c.edit "could not edit main.rs"
fi

# ---------------------------------------------------------------- (d)
say "(d) a compile error in Counter::step, then a fix (step -> 9)"
if edit examples/src/plugins/counter.rs '/(pub fn step\(&self\) -> u64 \{\s*)5(\s*\})/${1}5 + "five"$2/'; then
    err_save=$save_line
    err_time=$save_time
    wait_for "$err_save" 'Build failed|error(\[E[0-9]+\])?: ' "$patch_timeout"
    rc=$?
    if [ $rc = 0 ]; then
        err_ms=$(ms_between "$err_time" "$(now)")
        echo "      dx: $hit"
        timings+=("$(printf '%-30s %9s ms %12s %12s   %s' "(d) compile error" "~$err_ms" "-" "-" "dx: build failed; no patch, app untouched")")
        err_line=$hit_line
        wait_ticks "$err_line" 3
        d=$(deltas "$err_save" "$(counters "$err_save" | wc -l)")
        echo "      steps since the broken save: $d"
        check d.last-good "$([ -n "$d" ] && only 5 $d && echo 0 || echo 1)" \
            "the app still runs the last good code, stepping by 5 ($d)"
        patches=$(count_between "$err_save" "$(lines)" '[|] hot patch: ')
        check d.no-patch "$([ "$patches" = 0 ] && echo 0 || echo 1)" "no patch reached the app for the broken edit ($patches)"
    else
        ko d.error-seen "dx reported no compile error within ${patch_timeout}s"
    fi
    if edit examples/src/plugins/counter.rs '/(pub fn step\(&self\) -> u64 \{\s*)5 \+ "five"(\s*\})/${1}9$2/'; then
        if receipt "$save_line" "(d) fix: Counter::step -> 9" d; then
            wait_ticks "$r_line" 3
            d=$(deltas "$r_line" 3)
            d_fix=$(deltas "$err_save" "$(counters "$err_save" | wc -l)")
            check d.fix-applies "$(set -- $d; [ "$2" = 9 ] && [ "$3" = 9 ] && echo 0 || echo 1)" \
                "after the fix the counter steps by 9 ($d)"
            check d.state-kept "$(within "5 9" $d_fix && echo 0 || echo 1)" "the count went on (steps since the error: $d_fix)"
        else
            ko d.fix-applies "no receipt for the fix"
        fi
    else
        ko d.edit "could not fix Counter::step"
    fi
else
    ko d.edit "could not break Counter::step"
fi

# ---------------------------------------------------------------- (b)
say "(b) a field added to Counter (state_version 1, with a migrate hook)"
if edit examples/src/plugins/counter.rs \
    '/(#\[tony_plugin\(name = "counter"[^\]]*?)\)\]/$1, state_version = 1)]/' \
    '/(\n    pub count: u64,\n)/$1    \/\/\/ Added while the demo runs (scripts\/e2e-hotpatch.sh).\n    pub bonus: u64,\n/' \
    '/(fn activate\(&mut self, [^)]*\) -> Result<\(\), BoxError> \{\n)/$1        println!("E2E counter activated: count={} bonus={}", self.count, self.bonus);\n/' \
    '/(impl Plugin for Counter \{\n)/$1    fn migrate(old: &tony_core::OldState<'"'"'_>) -> Result<Self, BoxError> {\n        #[derive(Deserialize)]\n        struct V0 {\n            count: u64,\n        }\n        let v0: V0 = old.decode()?;\n        Ok(Counter { count: v0.count, bonus: 7 })\n    }\n\n/'; then
    if receipt "$save_line" "(b) field added to Counter" b; then
        refresh
        kept=$(max_counter)
        activated=$(find_after "$save_line" 'E2E counter activated: ')
        restored=$(find_after "$save_line" '[|] state (restored|migrated|reset): counter')
        restored=${restored#*| }
        echo "      $restored"
        echo "      new code: ${activated#*INFO }"
        count=$(sed -nE 's/.*count=([0-9]+) bonus=([0-9]+).*/\1/p' <<<"$activated")
        bonus=$(sed -nE 's/.*count=([0-9]+) bonus=([0-9]+).*/\2/p' <<<"$activated")
        check b.receipt "$([ "$r_changed" = counter ] && [ "$r_cycled" = counter ] && [ "$r_applied" = true ] && echo 0 || echo 1)" \
            "changed: $r_changed; cycled: $r_cycled; applied: $r_applied"
        check b.reported "$([ -n "$restored" ] && echo 0 || echo 1)" "the restore is reported: ${restored:-nothing}"
        if [ -z "$activated" ]; then
            ko b.new-code "the new code's activate did not run"
        elif [ "$count" = "$kept" ] && [ "$bonus" = 7 ]; then
            ok b.no-corruption "rebuilt by the new code as migrated: count=$count (the last count was $kept), bonus=$bonus"
        elif [ "$count" = 0 ] && [ "$bonus" = 0 ]; then
            ok b.no-corruption "rebuilt by the new code from its default (count=0, bonus=0): reset, not garbage"
        else
            ko b.no-corruption "count=$count bonus=$bonus: neither the migrated state (count=$kept, bonus=7) nor the default"
        fi
        if [[ $restored == "state migrated: counter"* ]] && [ "$count" = "$kept" ] && [ "$bonus" = 7 ]; then
            ok b.migrated "the new code's migrate hook rebuilt the state: $restored, count=$count, bonus=$bonus"
        else
            ko b.migrated "expected the new code's migrate hook (\"state migrated: counter (from state version 0)\", count=$kept, bonus=7), got: ${restored:-nothing}"
            [[ $restored == *"no migration from state version 0"* ]] &&
                echo "      note: that is the ORIGINAL binary's default migrate answering: the vtable's save/load/migrate are generic instances over the plugin type (__private::migrate::<Counter>, ...), whose symbols change when its fields change, so dx's jump table cannot map them"
        fi
        wait_for "$r_line" 'counter: Err\(StaleLayout' 5
        check b.old-layout-refused "$([ $? = 0 ] && echo 0 || echo 1)" \
            "the host loop (compiled against the old layout) gets an error, not the new struct: ${hit#*INFO }"
        check b.alive "$(app_alive && echo 0 || echo 1)" "pid $app_pid is still running"

        # The next patch of the same plugin: the new layout is now the live
        # one, so the snapshot is decoded (not migrated) and the instance must
        # again be rebuilt by the new code (its activate prints).
        say "(b') after the layout change, a method edit (Counter::step 9 -> 11)"
        if edit examples/src/plugins/counter.rs '/(pub fn step\(&self\) -> u64 \{\s*)9(\s*\})/${1}11$2/'; then
            if receipt "$save_line" "(b') Counter::step 9 -> 11" b2; then
                again=$(find_after "$save_line" 'E2E counter activated: ')
                restored=$(find_after "$save_line" '[|] state (restored|migrated|reset): counter')
                restored=${restored#*| }
                echo "      $restored"
                check b2.receipt "$([ "$r_changed" = counter ] && [ "$r_cycled" = counter ] && [ "$r_applied" = true ] && echo 0 || echo 1)" \
                    "$r_note (changed: $r_changed; cycled: $r_cycled)"
                check b2.decoded "$([ "$restored" = "state restored: counter" ] && echo 0 || echo 1)" \
                    "same layout as the live instance: decoded (${restored:-nothing reported})"
                if [ -n "$again" ]; then
                    ok b2.new-code "the rebuilt instance runs the new code: ${again#*INFO }"
                    check b2.state-kept "$([ "${again#*E2E counter activated: }" = "count=$count bonus=$bonus" ] && echo 0 || echo 1)" \
                        "state as after (b): count=$count bonus=$bonus"
                elif [ "$r_applied" = false ]; then
                    ko b2.new-code "the patch was rolled back, the plugin cannot be reloaded any more: $r_note"
                else
                    ko b2.new-code "the new code's activate did not run: the instance was rebuilt by the original binary's code"
                fi
            else
                ko b2.receipt "no receipt"
            fi
        else
            ko b2.edit "could not edit Counter::step"
        fi
        sleep 1
        check b.alive-at-end "$(app_alive && echo 0 || echo 1)" "pid $app_pid is still running"
    else
        ko b.receipt "no receipt"
    fi
else
    ko b.edit "could not add a field to Counter"
fi

# ---------------------------------------------------------------- the whole run
say "the whole run"
refresh
launches=$(count_between 0 "$(wc -l <"$slog")" 'launching app')
check same-process "$({ app_alive && [ "$launches" = 1 ]; } && echo 0 || echo 1)" \
    "one launch, pid $app_pid alive at the end, every receipt from it (launches: $launches)"
errors=$(grep -cE '[|] error \(Patch|hot patch refused|panicked' "$slog")
check no-patch-errors "$([ "$errors" = 0 ] && echo 0 || echo 1)" "$errors patch error(s)/panic(s) in the log"

echo
echo "save -> plugin active again (the receipt), per edit:"
printf '  %-30s %12s %12s %12s   %s\n' "edit" "save->active" "dx took" "Tony txn" "receipt"
for t in "${timings[@]}"; do echo "  $t"; done
echo
echo "log: $log (app + dx), workspace copy: $ws; total $(($(date +%s) - started)) s"
if [ "$fail" = 0 ]; then
    echo "RESULT: PASS ($pass checks)"
    exit 0
fi
echo "RESULT: FAIL ($pass passed, $fail failed: ${failed[*]})"
exit 1
