#!/usr/bin/env bash
# The hot-patch catalogue, end to end under a real `dx serve --hot-patch`:
# the app in tests/e2e/app (plugins in its binary crate and in the library
# crate tests/e2e/plugins, a host loop run through `tony_core::hot::call`)
# runs under dx, and this script makes the edits developers make, one after
# the other, WHILE IT RUNS (one process, one pid), checking each receipt and
# what the app does next from its output:
#
#   method body edited; method added and called; method renamed; method
#   removed; a second impl block; a trait method (`activate`) edited; a field
#   added with `migrate`; the host loop reaching that plugin with its new
#   layout; the host loop edited; a free fn outside plugins edited; a field
#   added without `migrate`; a field removed; a plugin of the library crate
#   edited (its dependent cycled after it); a new plugin type added; the new
#   plugin edited; the plugin removed; a new `activate` that panics (rolled
#   back, state intact); a compile error, then its fix; a method's signature
#   changed with its callers; the library plugin's version bumped past its
#   dependent's range (refused, everything runs on), then set back (nothing
#   left behind); a plugin renamed in its attribute (the old name removed,
#   the new one added); and, through all of them, the plugin of the
#   package's library target (src/lib.rs beside src/main.rs) kept with its
#   state. Saves that do not reach the app are reported, never silent: the
#   compile error (no patch), an edit of the library target (which dx does
#   not recompile) unless dx applies it; a comment-only save raises nothing.
#
# Throughout, a thread the app started once, outside the jump table, reads
# `step` (through `peek`): a method-body edit reaches it too, a layout
# change is refused to it (StaleLayout), and it never reads memory of
# another shape.
#
# It prints a table: edit, expected receipt, actual, save -> active (ms),
# dx's own "Hot-patching took" (ms), PASS/FAIL; RESULT: PASS only when every
# row matches.
#
# The repository is never edited: the workspace is copied (tracked and
# untracked-but-not-ignored files) to $E2E_DIR/ws (default
# target/e2e-hotpatch/ws, kept between runs so builds stay incremental) and
# the edits are made there.
#
# Usage: scripts/e2e-hotpatch.sh [--install]
#   --install   install dx (`cargo install --locked dioxus-cli@0.7.10`, ~13 min)
#               when it is missing. Without it, a missing dx prints SKIPPED
#               and exits 0 (what .ci/run expects; CI never builds dx).
# Environment: DX (the dx binary), E2E_DIR, E2E_TARGET (dx's target dir, shared by
#   e2e-hotpatch.sh and e2e-web.sh, default target/e2e-dx), E2E_DEADLINE (whole run, seconds,
#   default 900), E2E_BUILD_TIMEOUT (first build, default 300),
#   E2E_PATCH_TIMEOUT (per patch, default 90).
# Exit status: 0 only when every row passed (or SKIPPED), 1 otherwise.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
name=e2e-hotpatch
# shellcheck source=lib/dx-session.sh
. "$repo/scripts/lib/dx-session.sh"
install=false
for arg in "$@"; do
    case "$arg" in
        --install) install=true ;;
        -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "e2e-hotpatch: unknown argument $arg (see --help)" >&2; exit 2 ;;
    esac
done

find_dx "$install"
started=$(date +%s)
deadline=$((started + ${E2E_DEADLINE:-900}))
build_timeout=${E2E_BUILD_TIMEOUT:-300}
patch_timeout=${E2E_PATCH_TIMEOUT:-90}
dx_session_init "${E2E_DIR:-${CARGO_TARGET_DIR:-$repo/target}/e2e-hotpatch}"
copy_workspace
# find_after FROM_LINE ERE: like wait_for, without waiting.
find_after() {
    PAT="$2" awk -v from="$1" 'NR > from && $0 ~ ENVIRON["PAT"] { print; exit }' "$slog"
}
# between FROM TO ERE: how many lines in (FROM, TO] match.
count_between() {
    PAT="$3" awk -v a="$1" -v b="$2" 'NR > a && NR <= b && $0 ~ ENVIRON["PAT"] { n++ } END { print n + 0 }' "$slog"
}

# ---------------------------------------------------------------- the app's lines
# RECEIPT applied=B changed=[..] added=[..] removed=[..] cycled=[..] restart=[..] note=[..] pid=N at=T
# TICK [host=v2 ]round=N counter[..] user[..] base[..][ fresh[..]]
# ACTIVATE <plugin> ...      RESTORED <plugin> <how>

# receipt FROM: waits for the first receipt after line FROM and parses it into
# r_applied r_changed r_added r_removed r_cycled r_restart r_note r_pid
# r_line r_ms (save -> receipt) r_dx (dx's "took", or ?). 1 when none came.
receipt() {
    local rc re
    r_applied= r_changed= r_added= r_removed= r_cycled= r_restart= r_note= r_ms=- r_dx=- r_tony=- r_load=-
    wait_for "$1" 'RECEIPT applied=' "${2:-$patch_timeout}"
    rc=$?
    [ $rc = 0 ] || return 1
    r_line=$hit_line
    re='RECEIPT applied=(true|false) changed=\[([^]]*)\] added=\[([^]]*)\] removed=\[([^]]*)\] cycled=\[([^]]*)\] restart=\[(.*)\] note=\[(.*)\] tony_ms=([0-9.]+) load_ms=([0-9.]+) pid=([0-9]+) at=([0-9.]+)$'
    if [[ ! $hit =~ $re ]]; then
        r_note="unparsed: $hit"
        return 0
    fi
    r_applied=${BASH_REMATCH[1]}
    r_changed=${BASH_REMATCH[2]}
    r_added=${BASH_REMATCH[3]}
    r_removed=${BASH_REMATCH[4]}
    r_cycled=${BASH_REMATCH[5]}
    r_restart=${BASH_REMATCH[6]}
    r_note=${BASH_REMATCH[7]}
    r_tony=${BASH_REMATCH[8]}
    r_load=${BASH_REMATCH[9]}
    r_pid=${BASH_REMATCH[10]}
    r_ms=$(ms_between "$save_time" "${BASH_REMATCH[11]}")
    sleep 0.3 # dx logs its "Hot-patching ... took" around the receipt
    refresh
    r_dx=$(awk -v a="$1" -v b="$((r_line + 20))" 'NR > a && NR <= b && /Hot-patching: .* took [0-9]+ms/ {
        match($0, /took [0-9]+ms/); print substr($0, RSTART + 5, RLENGTH - 7); exit }' "$slog")
    r_dx=${r_dx:-?}
    return 0
}

# tick_after FROM [N]: the N-th TICK line after FROM (default 2: the first may
# have started before the patch), in $tick. 1 when none came.
tick=
tick_after() {
    local n=${2:-2} until
    until=$(($(date +%s) + $(cap 20)))
    while :; do
        refresh
        tick=$(awk -v a="$1" -v n="$n" 'NR > a && /TICK / { if (++k == n) { print; exit } }' "$slog")
        [ -n "$tick" ] && return 0
        { dx_alive && app_alive; } || return 1
        [ "$(date +%s)" -lt "$until" ] || return 1
        sleep 0.1
    done
}
# field NAME LINE: what LINE says of NAME (`count=12` -> 12, `base[hello#3]` -> hello#3).
field() {
    sed -nE "s/.*[[ ]$1=([^] ]*).*/\1/p; t; s/.*[ ]$1\[([^]]*)\].*/\1/p" <<<"$2" | head -1
}
# last_bg: the background thread's latest line (it reads `step` every 100 ms,
# outside the jump table).
last_bg() { awk '/BG (step=|ERR)/ { t = $0 } END { print t }' "$slog"; }
last_tick_before() { awk -v b="$1" 'NR <= b && /TICK / { t = $0 } END { print t }' "$slog"; }

# ---------------------------------------------------------------- rows
rows=()
row_name= row_expect= row_problems=()
begin() { row_name=$1; row_expect=$2; row_problems=(); say "$1 (expect: $2)"; }
want() { # want CONDITION_STATUS WHAT
    if [ "$1" = 0 ]; then echo "      ok: $2"; else echo "      NOT: $2"; row_problems+=("$2"); fi
}
is() { [ "$1" = "$2" ] && echo 0 || echo 1; }
has() { [[ $1 == *"$2"* ]] && echo 0 || echo 1; }
end_row() {
    local actual verdict
    if [ -n "$r_applied" ]; then
        actual="applied=$r_applied changed=[$r_changed] added=[$r_added] removed=[$r_removed] cycled=[$r_cycled]; $r_note"
    else
        actual=${1:-no receipt}
    fi
    if [ ${#row_problems[@]} = 0 ]; then
        verdict=PASS
        ok "$row_name" "$actual"
    else
        verdict=FAIL
        ko "$row_name" "$(IFS='; '; echo "${row_problems[*]}") -- got: $actual"
    fi
    rows+=("$(printf '%-4s| %-34s| %-44s| %-60.60s| %6s | %6s | %6s | %6s' "$verdict" "$row_name" "$row_expect" "$actual" "$r_ms" "$r_dx" "$r_tony" "$r_load")")
    r_applied= r_ms=- r_dx=- r_tony=- r_load=-
    sleep 0.5 # let dx settle before the next save
}
# patch_row FILE SUBST...: edit, then wait for the receipt; 1 when either failed.
patch_row() {
    local file=$1
    shift
    if ! edit "$file" "$@"; then
        want 1 "the edit applies to $file"
        return 1
    fi
    if ! receipt "$save_line"; then
        want 1 "a receipt within ${patch_timeout}s"
        return 1
    fi
    [ "$r_pid" = "$app_pid" ] || want 1 "the receipt comes from pid $app_pid (got $r_pid)"
    return 0
}

start_dx -p tony-e2e-app --features hot

t0=$(date +%s)
wait_for 0 'READY hot patches|Build failed|error: |does not export' "$build_timeout"
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
check start "$([ "$(ps -o pgid= -p "$app_pid" | tr -d ' ')" = "$dx_pid" ] && echo 0 || echo 1)" \
    "app started by dx after $(($(date +%s) - t0)) s, pid $app_pid"
tick_after "$hit_line" 3 || { echo "FAIL: the app does not tick"; exit 1; }

C=tests/e2e/app/src/counter.rs
H=tests/e2e/app/src/host.rs
U=tests/e2e/app/src/user.rs
L=tests/e2e/plugins/src/lib.rs

# ---------------------------------------------------------------- 1
begin "method body edited" "counter: methods changed: step"
if patch_row $C '/(pub fn step\(&self\) -> u64 \{\n\s*)crate::util::scale\(\)/${1}2 * crate::util::scale()/'; then
    before=$(field count "$(last_tick_before "$save_line")")
    tick_after "$r_line"
    want "$(is "$r_applied/$r_changed/$r_cycled" true/counter/counter)" "applied, changed and cycled: counter"
    want "$(has "$r_note" "counter: methods changed: step")" "the note names the method"
    want "$(is "$(field step "$tick")" 2)" "the new step runs (step=$(field step "$tick"))"
    want "$([ "$(field count "$tick")" -gt "${before:-0}" ] && echo 0 || echo 1)" "the count went on from $before ($(field count "$tick"))"
    want "$(is "$(field step "$(last_bg)")" 2)" "a thread outside the jump table runs it too: $(last_bg | sed 's/.*BG/BG/')"
fi
end_row

# ---------------------------------------------------------------- 2
begin "method added and called" "methods added: bonus; changed: step"
if patch_row $C '/2 \* crate::util::scale\(\)/2 * crate::util::scale() + self.bonus()/' \
    '/(    \/\/\/ How far one tick goes\.)/    fn bonus(&self) -> u64 {\n        1\n    }\n\n$1/'; then
    tick_after "$r_line"
    want "$(is "$r_applied/$r_changed" true/counter)" "applied, changed: counter"
    want "$(has "$r_note" "methods added: bonus; methods changed: step")" "the note names both methods"
    want "$(is "$(field step "$tick")" 3)" "the new method runs (step=$(field step "$tick"))"
fi
end_row

# ---------------------------------------------------------------- 3
begin "method renamed" "methods added: extra; removed: bonus"
if patch_row $C '/fn bonus\(&self\) -> u64 \{\n(\s*)1/fn extra(&self) -> u64 {\n${1}2/' '/self\.bonus\(\)/self.extra()/'; then
    tick_after "$r_line"
    want "$(is "$r_applied/$r_changed" true/counter)" "applied, changed: counter"
    want "$(has "$r_note" "methods added: extra; methods removed: bonus")" "the note tells the rename"
    want "$(is "$(field step "$tick")" 4)" "the renamed method runs (step=$(field step "$tick"))"
fi
end_row

# ---------------------------------------------------------------- 4
begin "method removed" "methods removed: extra"
if patch_row $C '/ \+ self\.extra\(\)//' '/    fn extra\(&self\) -> u64 \{\n\s*2\n    \}\n\n//'; then
    tick_after "$r_line"
    want "$(is "$r_applied/$r_changed" true/counter)" "applied, changed: counter"
    want "$(has "$r_note" "methods removed: extra")" "the note tells the removal"
    want "$(is "$(field step "$tick")" 2)" "the step without it runs (step=$(field step "$tick"))"
fi
end_row

# ---------------------------------------------------------------- 5
begin "a second impl block" "blocks added: impl of counter"
if patch_row $C '/\z/\n#[tony_plugin]\nimpl Counter {\n    \/\/\/ In a second block.\n    pub fn label(&self) -> &'"'"'static str {\n        "second"\n    }\n}\n/'; then
    want "$(is "$r_applied/$r_changed/$r_cycled" true/counter/counter)" "applied, changed and cycled: counter"
    want "$(has "$r_note" "methods added: label; blocks added: impl of \`counter\`")" "the note tells the new block"
fi
end_row

# ---------------------------------------------------------------- 6
begin "trait method (activate) edited" "methods changed: Plugin::activate"
if patch_row $C '/ACTIVATE counter v1/ACTIVATE counter v2/'; then
    activated=$(awk -v a="$save_line" 'NR > a && /ACTIVATE counter v2/ { print; exit }' "$slog")
    want "$(is "$r_applied/$r_changed" true/counter)" "applied, changed: counter"
    want "$(has "$r_note" "methods changed: Plugin::activate")" "the note names the trait method"
    want "$([ -n "$activated" ] && echo 0 || echo 1)" "the new activate ran: ${activated#*INFO }"
fi
end_row

# ---------------------------------------------------------------- 7, 8
begin "field added with migrate" "state layout changed; state preserved"
if patch_row $C \
    '/(#\[tony_plugin\(name = "counter", version = "1\.0\.0")\)\]/$1, state_version = 1)]/' \
    '/(    pub count: u64,\n)/$1    \/\/\/ Added while the app runs.\n    pub bonus: u64,\n/' \
    '/format!\("count=\{\} step=\{\}", self\.count, self\.step\(\)\)/format!("count={} step={} bonus={}", self.count, self.step(), self.bonus)/' \
    '/(impl Plugin for Counter \{\n)/$1    fn migrate(old: &tony_core::OldState<'"'"'_>) -> Result<Self, BoxError> {\n        #[derive(Deserialize)]\n        struct V0 {\n            count: u64,\n        }\n        let v0: V0 = old.decode()?;\n        Ok(Counter {\n            count: v0.count,\n            bonus: 7,\n        })\n    }\n\n/'; then
    before=$(field count "$(last_tick_before "$save_line")")
    tick_after "$r_line"
    restored=$(awk -v a="$save_line" 'NR > a && /RESTORED counter/ { print; exit }' "$slog")
    want "$(is "$r_applied/$r_changed/$r_cycled" true/counter/counter)" "applied, changed and cycled: counter"
    want "$(has "$r_note" "state layout changed; state preserved")" "the note tells the layout change, state kept"
    want "$(has "$restored" "Migrated")" "migrated by the new code's hook: ${restored#*INFO }"
    want "$(is "$(field bonus "$tick")" 7)" "bonus=7 from the migration ($(field bonus "$tick"))"
    want "$([ "$(field count "$tick")" -gt "${before:-0}" ] && echo 0 || echo 1)" "count kept: $before -> $(field count "$tick")"
    end_row
    begin "host loop reaches the new layout" "TICK with bonus=, no StaleLayout"
    stale=$(awk -v a="$save_line" 'NR > a && /TICK .*(StaleLayout|ERR)/ { n++ } END { print n + 0 }' "$slog")
    want "$(is "$stale" 0)" "no access error after the layout change ($stale)"
    want "$(has "$(last_bg)" "BG ERR StaleLayout")" "the thread outside the table, compiled for the old layout, is refused: $(last_bg | sed 's/.*BG/BG/' | cut -c1-60)"
    want "$(has "$tick" "bonus=7")" "the host loop reads the new field: ${tick#*INFO }"
fi
end_row

# ---------------------------------------------------------------- 9
begin "host loop edited" "no plugin changed: code outside plugins"
if patch_row $H '/"TICK round=/"TICK host=v2 round=/'; then
    tick_after "$r_line"
    want "$(is "$r_applied/$r_changed/$r_cycled" true//)" "applied, nothing changed or cycled"
    want "$(has "$r_note" "no plugin changed: code outside plugins")" "the note says so"
    want "$(has "$tick" "host=v2")" "the new loop body runs"
fi
end_row

# ---------------------------------------------------------------- 10
begin "free fn outside plugins edited" "no plugin changed: code outside plugins"
if patch_row tests/e2e/app/src/util.rs '/(pub fn scale\(\) -> u64 \{\n\s*)1/${1}3/'; then
    tick_after "$r_line"
    want "$(is "$r_applied/$r_changed/$r_cycled" true//)" "applied, nothing changed or cycled"
    want "$(has "$r_note" "no plugin changed: code outside plugins")" "the note says so"
    want "$(is "$(field step "$tick")" 6)" "the plugin calls the new fn (step=$(field step "$tick"))"
fi
end_row

# ---------------------------------------------------------------- 11
begin "field added without migrate" "user: state layout changed; state reset"
if patch_row $U '/(    pub activations: u64,\n)/$1    \/\/\/ Added while the app runs.\n    pub seen: u64,\n/' \
    '/format!\("activations=\{\}", self\.activations\)/format!("activations={} seen={}", self.activations, self.seen)/'; then
    tick_after "$r_line"
    restored=$(awk -v a="$save_line" 'NR > a && /RESTORED user/ { print; exit }' "$slog")
    want "$(is "$r_applied/$r_changed" true/user)" "applied, changed: user"
    want "$(has "$r_note" "state layout changed")" "the note tells the layout change"
    want "$(has "$r_note" "state reset")" "the note says the state was reset"
    want "$(has "$restored" "Reset")" "reset, not garbage: ${restored#*INFO }"
    want "$(is "$(field seen "$tick")" 0)" "the new field is there (seen=$(field seen "$tick"))"
fi
end_row

# ---------------------------------------------------------------- 12
begin "field removed" "user: state layout changed; state reset"
if patch_row $U '/    \/\/\/ Added while the app runs\.\n    pub seen: u64,\n//' '/ seen=\{\}", self\.activations, self\.seen\)/", self.activations)/'; then
    tick_after "$r_line"
    want "$(is "$r_applied/$r_changed" true/user)" "applied, changed: user"
    want "$(has "$r_note" "state layout changed")" "the note tells the layout change"
    want "$(has "$tick" "user[activations=")" "the host loop reads the plugin: ${tick#*INFO }"
fi
end_row

# ---------------------------------------------------------------- 13
begin "library-crate plugin edited" "changed base; cycled base, then user"
if patch_row $L '/format!\("hello#/format!("howdy#/'; then
    before=$(field base "$(last_tick_before "$save_line")")
    tick_after "$r_line"
    order=$(awk -v a="$save_line" -v b="$r_line" 'NR > a && NR <= b && /ACTIVATE (base|user)/ { sub(/.*ACTIVATE /, ""); printf "%s ", $1 }' "$slog")
    want "$(is "$r_applied/$r_changed/$r_cycled" true/base/base,user)" "applied, changed: base, cycled: base,user"
    want "$(is "$order" "base user ")" "the dependent activated after its base ($order)"
    want "$(has "$(field base "$tick")" howdy#)" "the library's new code runs: $(field base "$tick")"
    want "$([ "${before#*#}" -lt "$(field base "$tick" | sed 's/.*#//')" ] && echo 0 || echo 1)" "base's count kept: $before -> $(field base "$tick")"
fi
end_row

# ---------------------------------------------------------------- 14
begin "new plugin type added" "added: fresh (active)"
if patch_row $H '/(    let base = system\.with_mut::<Base, _>\(Base::greeting\);\n)/$1    let fresh = system.with_mut::<Fresh, _>(Fresh::bump);\n/' \
    '/"TICK host=v2 round=\{round\} counter\[\{\}\] user\[\{\}\] base\[\{\}\]",\n(\s*)show\(counter\),\n\s*show\(user\),\n\s*show\(base\)\n/"TICK host=v2 round={round} counter[{}] user[{}] base[{}] fresh[{}]",\n${1}show(counter),\n${1}show(user),\n${1}show(base),\n${1}show(fresh)\n/' \
    '/\z/\n\/\/\/ Added while the app runs.\n#[tony_core::tony_plugin(name = "fresh", version = "1.0.0", dependencies("base" = "^1"))]\n#[derive(Default, serde::Serialize, serde::Deserialize)]\npub struct Fresh {\n    \/\/\/ Bumps so far.\n    pub n: u64,\n}\n\n#[tony_core::tony_plugin]\nimpl Fresh {\n    \/\/\/ One bump.\n    pub fn bump(&mut self) -> String {\n        self.n += 1;\n        format!("n={}", self.n)\n    }\n}\n\n#[tony_core::tony_plugin]\nimpl tony_core::Plugin for Fresh {\n    fn activate(&mut self, _ctx: &mut tony_core::Context<'"'"'_>) -> Result<(), tony_core::BoxError> {\n        println!("ACTIVATE fresh n={}", self.n);\n        Ok(())\n    }\n}\n/'; then
    tick_after "$r_line" 3
    want "$(is "$r_applied/$r_added" true/fresh)" "applied, added: fresh"
    want "$(is "$r_restart" "")" "no restart needed ($r_restart)"
    want "$(has "$(field fresh "$tick")" "n=")" "the host loop reaches it: fresh[$(field fresh "$tick")]"
fi
end_row

# ---------------------------------------------------------------- 15
begin "new plugin edited" "changed fresh; state preserved"
if patch_row $H '/self\.n \+= 1;/self.n += 10;/'; then
    before=$(field fresh "$(last_tick_before "$save_line")")
    tick_after "$r_line" 3
    a=$(field fresh "$tick" | sed 's/n=//')
    tick_after "$r_line" 4
    b=$(field fresh "$tick" | sed 's/n=//')
    want "$(is "$r_applied/$r_changed/$r_cycled" true/fresh/fresh)" "applied, changed and cycled: fresh"
    want "$(is "$((b - a))" 10)" "its new code runs (n: $a -> $b)"
    want "$([ "$a" -gt "${before#n=}" ] && echo 0 || echo 1)" "its state was kept ($before -> n=$a)"
fi
end_row

# ---------------------------------------------------------------- 16
begin "plugin removed" "removed: fresh"
if patch_row $H '/    let fresh = system\.with_mut::<Fresh, _>\(Fresh::bump\);\n//' '/ fresh\[\{\}\]",/",/' '/,\n\s*show\(fresh\)\n/\n/' \
    '/\n\/\/\/ Added while the app runs\.\n#\[tony_core::tony_plugin\(name = "fresh".*\z//s'; then
    tick_after "$r_line"
    want "$(is "$r_applied/$r_removed" true/fresh)" "applied, removed: fresh"
    want "$(has "$tick" "counter[count=")" "the rest runs on: ${tick#*INFO }"
fi
end_row

# ---------------------------------------------------------------- 17
begin "new activate panics" "rolled back, state intact"
if patch_row $C '/println!\("ACTIVATE counter v2 count=\{\}", self\.count\);/assert!(self.count == u64::MAX, "e2e: the new activate panics");/'; then
    before=$(field count "$(last_tick_before "$r_line")")
    tick_after "$r_line"
    want "$(is "$r_applied" false)" "not applied"
    want "$(has "$r_note" "rolled back")" "the note says rolled back"
    want "$(is "$(field bonus "$tick")" 7)" "state intact (bonus=$(field bonus "$tick"))"
    want "$([ "$(field count "$tick")" -gt "${before:-0}" ] && echo 0 || echo 1)" "count went on: $before -> $(field count "$tick")"
    want "$(is "$(field step "$tick")" 6)" "the previous code runs (step=$(field step "$tick"))"
fi
end_row

# ---------------------------------------------------------------- 18, 19
begin "compile error" "no receipt; the app runs on"
if edit $C '/(pub fn step\(&self\) -> u64 \{\n)/$1        let broken: u64 = "not a number";\n/'; then
    error_line=$save_line
    if receipt "$save_line" 8; then
        want 1 "no receipt for code that does not compile"
    else
        tick_after "$save_line" 20
        want "$([ -n "$tick" ] && echo 0 || echo 1)" "the app keeps ticking: ${tick#*INFO }"
    fi
    # Not silent: no patch came, so Tony says the edit is not applied.
    wait_for "$error_line" 'MISSED cause=' 15
    want "$(has "$hit" "MISSED cause=no-patch edit not applied: ")" "reported as not applied, likely a compile error: ${hit#*MISSED }"
    want "$(has "$hit" "(counter)")" "naming its plugin"
    end_row "no receipt (as expected)"
    begin "the fix" "changed counter; activate v3; state kept"
    if patch_row $C '/        let broken: u64 = "not a number";\n//' \
        '/assert!\(self\.count == u64::MAX, "e2e: the new activate panics"\);/println!("ACTIVATE counter v3 count={}", self.count);/'; then
        activated=$(awk -v a="$save_line" 'NR > a && /ACTIVATE counter v3/ { print; exit }' "$slog")
        tick_after "$r_line"
        want "$(is "$r_applied/$r_changed" true/counter)" "applied, changed: counter"
        want "$([ -n "$activated" ] && echo 0 || echo 1)" "the fixed activate ran: ${activated#*INFO }"
        want "$(is "$(field bonus "$tick")" 7)" "state kept (bonus=$(field bonus "$tick"))"
        wait_for "$r_line" 'MISSES n=0' 5
        want $? "the fix clears the report"
    fi
else
    want 1 "the edit applies"
fi
end_row

# ---------------------------------------------------------------- 20
# A method's signature changed with its callers: the receipt names them,
# the new code runs, the state is kept. (A hot method is looked up by its
# `call_it` instance, whose symbol carries the argument types: code still
# holding the old `step` never reaches the new one with the old arguments.)
begin "method signature changed" "methods changed: peek, step, tick"
if patch_row $C '/pub fn step\(&self\) -> u64 \{\n(\s*)2 \* crate::util::scale\(\)/pub fn step(\&self, by: u64) -> u64 {\n${1}by * crate::util::scale()/' \
    '/self\.step\(\)/self.step(3)/g'; then
    before=$(field count "$(last_tick_before "$save_line")")
    tick_after "$r_line"
    want "$(is "$r_applied/$r_changed/$r_cycled" true/counter/counter)" "applied, changed and cycled: counter"
    want "$(has "$r_note" "methods changed: peek, step, tick")" "the note names the method and its callers"
    want "$(is "$(field step "$tick")" 9)" "the new step runs with its argument (step=$(field step "$tick"))"
    want "$(is "$(field bonus "$tick")" 7)" "state kept (bonus=$(field bonus "$tick"))"
    want "$([ "$(field count "$tick")" -gt "${before:-0}" ] && echo 0 || echo 1)" "count went on: $before -> $(field count "$tick")"
fi
end_row

# ---------------------------------------------------------------- 21
begin "version bump breaking a dependent" "refused: breaks dependent user"
if patch_row $L '/name = "base", version = "1\.0\.0"/name = "base", version = "2.0.0"/'; then
    before=$(field base "$(last_tick_before "$save_line")")
    tick_after "$r_line"
    hooks=$(awk -v a="$save_line" -v b="$r_line" 'NR > a && NR <= b && /ACTIVATE (base|user)/' "$slog" | wc -l)
    want "$(is "$r_applied/$r_cycled" false/)" "not applied, nothing cycled"
    want "$(has "$r_note" "refused, nothing changed: plugin \`base\` failed at validate: version 2.0.0 breaks dependent \`user\`")" "the note names the dependent"
    want "$(is "$hooks" 0)" "no hook ran ($hooks activations)"
    want "$(has "$tick" "user[activations=")" "user still runs: $(field user "$tick")"
    want "$([ "${before#*#}" -lt "$(field base "$tick" | sed 's/.*#//')" ] && echo 0 || echo 1)" "base runs on, state intact: $before -> $(field base "$tick")"
    end_row
    begin "the bump undone" "applied; nothing changed since the refused patch"
    if patch_row $L '/name = "base", version = "2\.0\.0"/name = "base", version = "1.0.0"/'; then
        tick_after "$r_line"
        want "$(is "$r_applied/$r_changed/$r_cycled" true//)" "applied, nothing changed or cycled"
        want "$(has "$r_note" "no plugin changed")" "the refused patch left nothing behind: $r_note"
    fi
fi
end_row

# ---------------------------------------------------------------- 22
begin "plugin renamed in its attribute" "removed: user; added: member (active)"
if patch_row $U '/name = "user"/name = "member"/'; then
    tick_after "$r_line"
    want "$(is "$r_applied/$r_added/$r_removed" true/member/user)" "applied, added: member, removed: user"
    want "$(has "$tick" "user[activations=1]")" "the host loop reaches it under its new name, a new plugin: $(field user "$tick")"
fi
end_row

# ---------------------------------------------------------------- 23
# A save that changes no code must raise nothing.
begin "comment-only save" "no report of a missed edit"
if edit $C '/(pub fn step\(&self)/\/\/ A note, nothing else.\n    $1/'; then
    sleep 6
    refresh
    want "$(is "$(count_between "$save_line" "$(lines)" 'MISSED ')" 0)" "no 'edit not applied' in 6 s"
else
    want 1 "the edit applies"
fi
end_row "nothing reported"

# ---------------------------------------------------------------- 24
# The library target of the binary's package (src/lib.rs): dx 0.7.10 does
# not recompile it. The edit is applied, or reported with that cause.
begin "library-target plugin edited" "applied, or reported: library of the binary"
LIB=tests/e2e/app/src/lib.rs
if edit $LIB '/self\.rounds \+= 1;/self.rounds += 1000;/'; then
    # dx rebuilds the library, then patches the binary: slower than a
    # patch, sometimes slower than Tony's wait, whose first report is then
    # "no patch" (all it can know), corrected when dx's patch comes.
    wait_for "$save_line" 'RECEIPT applied=true changed=\[[a-z,-]*libside|MISSED cause=library-of-binary' 300 || hit=
    lib_ms=$(ms_between "$save_time" "$(now)")
    case $hit in
        *RECEIPT*)
            tick_after "$hit_line" 3
            want 0 "applied: ${hit%% tony_ms*}" ;;
        *MISSED*)
            want "$(has "$hit" "MISSED cause=library-of-binary edit not applied: ")" "reported with its cause: ${hit#*MISSED }"
            want "$(has "$hit" "(libside)")" "naming its plugin"
            want "$(has "$hit" "move them into the binary target")" "saying what to do ($lib_ms ms after the save)" ;;
        *) want 1 "a receipt or a report within 300 s" ;;
    esac
    end_row "${hit#*INFO }"
    begin "the library edit undone" "the report is cleared"
    if edit $LIB '/self\.rounds \+= 1000;/self.rounds += 1;/'; then
        wait_for "$save_line" 'MISSES n=0' 10
        want $? "nothing reported any more"
    else
        want 1 "the edit applies"
    fi
else
    want 1 "the edit applies"
fi
end_row

# ---------------------------------------------------------------- the whole run
say "the whole run"
refresh
# The package's library target (src/lib.rs, plugin `libside`) shares its
# crate name with the binary that every patch above recompiled: its plugin
# must have stayed, with its state, through all of them.
first_rounds=$(awk '/LIB libside\[rounds=/ { print; exit }' "$slog" | sed -nE 's/.*libside\[rounds=([0-9]+)\].*/\1/p')
last_libside=$(awk '/LIB libside\[/ { t = $0 } END { print t }' "$slog" | sed -nE 's/.*libside\[([^]]*)\].*/\1/p')
last_rounds=$(sed -nE 's/^rounds=([0-9]+)$/\1/p' <<<"$last_libside")
removed_lib=$(grep -c 'RECEIPT .*removed=\[[^]]*libside' "$slog")
check library-target "$({ [ "$removed_lib" = 0 ] && [ -n "$last_rounds" ] && [ "$last_rounds" -gt "${first_rounds:-0}" ]; } && echo 0 || echo 1)" \
    "the library target's plugin kept its state through every patch of the binary (rounds $first_rounds -> ${last_libside:-none}; receipts removing it: $removed_lib)"
launches=$(grep -c 'READY hot patches' "$slog")
check same-process "$({ app_alive && [ "$launches" = 1 ]; } && echo 0 || echo 1)" \
    "one launch, pid $app_pid alive at the end (launches: $launches)"

echo
printf '%-4s| %-34s| %-44s| %-60s| %6s | %6s | %6s | %6s\n' "" "edit" "expected receipt" "actual" "save->" "dx ms" "Tony" "load"
echo "(save-> : file saved to receipt, ms; dx ms: dx's own \"Hot-patching took\"; Tony: Tony's whole"
echo " patch, ms, of which load: loading the patch library; the rest of save-> is dx noticing the save)"
for r in "${rows[@]}"; do echo "$r"; done
echo
echo "log: $log (app + dx), workspace copy: $ws; total $(($(date +%s) - started)) s"
if [ "$fail" = 0 ]; then
    echo "RESULT: PASS ($pass checks)"
    exit 0
fi
echo "RESULT: FAIL ($pass passed, $fail failed: ${failed[*]})"
exit 1
