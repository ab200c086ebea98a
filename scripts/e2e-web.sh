#!/usr/bin/env bash
# End to end under a real `dx serve --hot-patch`: the web example
# (examples/web, feature `hot`) serves HTTP under dx, and this script edits
# its handlers WHILE IT SERVES, checking over HTTP (one process, same pid):
#
#   (1) an edited handler method (`Greet::hello`'s format) answers the next
#       GET /hello/{name} with the new body; only `greet` is cycled; the
#       counter, served by another plugin, keeps its count;
#   (2) an edited counter method (`Counter::step` 1 -> 10): the next
#       POST /count runs the new code from the kept count (n -> n + 10);
#   (3) /_tony/status reports each patch (last_patch.changed) and the same pid;
#   (9) a save that does not compile is listed in /_tony/status missed_edits
#       (naming greet, "does not compile"), and undoing it clears the list;
#   (4) requests sent all along (GET /hello, GET /count, every 50 ms) never
#       fail while the patches are applied (up to (5));
#   (5) a field added to `Counter` (state_version 1, with a migrate hook):
#       the service stays up, `greet` is untouched, and GET /count answers
#       with the migrated count: handler bodies run through
#       `tony_core::hot::call`, so the new body reads the new layout;
#   (6) a route added to greet's routes (GET /bye/{name}): answered without
#       a restart (the binary serves the newest router for unmatched paths);
#   (7) a plugin added in a new file (ping.rs, GET /ping), with its `mod`
#       line and its router line: served, its state kept between requests,
#       listed Active by /_tony/status;
#   (8) a handler body edited (greet's `hello_body`, in the binary's code
#       that `Web::call` runs through the jump table): the next request
#       answers with the new body.
#
# It prints, for each edit, the time from the file save to the first HTTP
# answer with the new behaviour.
#
# The repository is never edited: the workspace is copied (tracked and
# untracked-but-not-ignored files) to $E2E_DIR/ws (default
# target/e2e-web/ws, kept between runs so builds stay incremental).
#
# Usage: scripts/e2e-web.sh
#   A missing dx prints SKIPPED and exits 0 (what .ci/run expects; CI never
#   builds dx). Install it with `cargo install --locked dioxus-cli@0.7.10`.
# Environment: DX (the dx binary), E2E_DIR, E2E_TARGET (dx's target dir, shared by
#   e2e-hotpatch.sh and e2e-web.sh, default target/e2e-dx), E2E_BUILD_TIMEOUT (first build,
#   default 600 s), E2E_PATCH_TIMEOUT (per edit, default 90 s).
# Needs: curl, perl, flock.
# Exit status: 0 only when every check passed (or SKIPPED), 1 otherwise.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
name=e2e-web
# shellcheck source=lib/dx-session.sh
. "$repo/scripts/lib/dx-session.sh"
case "${1:-}" in
    -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) echo "e2e-web: unknown argument $1 (see --help)" >&2; exit 2 ;;
esac

find_dx false
build_timeout=${E2E_BUILD_TIMEOUT:-600}
patch_timeout=${E2E_PATCH_TIMEOUT:-90}
dx_session_init "${E2E_DIR:-${CARGO_TARGET_DIR:-$repo/target}/e2e-web}"
timings=()
copy_workspace
export TONY_WEB_ADDR=127.0.0.1:0 # any free port: the app logs the one it got
start_dx -p tony-web-example --features hot

# The app logs "listening on http://ADDR (pid N, ...)".
base=
app_pid=
until=$(($(date +%s) + build_timeout))
while [ "$(date +%s)" -lt "$until" ]; do
    line=$(sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' "$log" | grep -m1 -E 'listening on http://')
    if [ -n "$line" ]; then
        base=$(sed -nE 's|.*listening on (http://[0-9.:]+) \(pid ([0-9]+).*|\1|p' <<<"$line")
        app_pid=$(sed -nE 's|.*listening on (http://[0-9.:]+) \(pid ([0-9]+).*|\2|p' <<<"$line")
        break
    fi
    kill -0 "$dx_pid" 2>/dev/null || break
    sleep 0.5
done
if [ -z "$base" ]; then
    ko start "the service did not start within ${build_timeout}s"
    tail -n 40 "$log"
    echo "RESULT: FAIL (0 passed, 1 failed)"
    exit 1
fi
ok start "serving on $base, pid $app_pid"

key=dev-key # examples/web/web.toml
get() { curl -s --max-time 10 "$base$1"; }
post_count() { curl -s --max-time 10 -X POST -H "x-api-key: $key" "$base/count"; }
count_of() { sed -nE 's/.*"count":([0-9]+).*/\1/p' <<<"$1"; }
patch_changed() { get /_tony/status | sed -nE 's/.*"last_patch":\{[^}]*"changed":\[([^]]*)\].*/\1/p' | tr -d '"'; }
status_pid() { get /_tony/status | sed -nE 's/.*"pid":([0-9]+).*/\1/p'; }
patch_at() { get /_tony/status | sed -nE 's/.*"last_patch":\{[^}]*"at_unix_ms":([0-9]+).*/\1/p'; }
# until_new_patch BEFORE: waits until /_tony/status reports a patch after BEFORE.
until_new_patch() {
    local until=$(($(date +%s) + patch_timeout)) at
    while [ "$(date +%s)" -lt "$until" ]; do
        at=$(patch_at)
        [ -n "$at" ] && [ "$at" != "$1" ] && return 0
        kill -0 "$app_pid" 2>/dev/null || return 2
        sleep 0.1
    done
    return 1
}

# until_answer CMD EXPECTED: polls CMD (a shell function call) until it prints EXPECTED.
answer=
until_answer() {
    local until=$(($(date +%s) + patch_timeout))
    while [ "$(date +%s)" -lt "$until" ]; do
        answer=$(eval "$1")
        [ "$answer" = "$2" ] && return 0
        kill -0 "$app_pid" 2>/dev/null || return 2
        sleep 0.1
    done
    return 1
}

say "before any edit"
hello=$(get /hello/e2e)
[ "$hello" = "Hello, e2e!" ] && ok before.hello "GET /hello/e2e -> $hello" || ko before.hello "GET /hello/e2e -> ${hello:-nothing}"
for _ in 1 2 3; do c=$(post_count); done
n=$(count_of "$c")
[ "$n" = 3 ] && ok before.count "POST /count x3 -> $c" || ko before.count "POST /count x3 -> ${c:-nothing}"

# Background load for the whole run: one line per answer, "STATUS PATH".
load_log=$state/load.txt
: >"$load_log"
(
    while kill -0 "$app_pid" 2>/dev/null; do
        for path in /hello/load /count; do
            code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "x-api-key: $key" "$base$path")
            echo "$code $path" >>"$load_log"
        done
        sleep 0.05
    done
) &
load_pid=$!
trap 'kill "$load_pid" 2>/dev/null; stop_dx; rm -f "$state/edit.tmp"' EXIT

# ---------------------------------------------------------------- (1)
say "(1) a handler edited: Greet::hello's format gains ' (patched)'"
if edit examples/web/src/service/plugins/greet.rs '/format!\("\{\}, \{name\}!", self\.config\.greeting\)/format!("{}, {name}! (patched)", self.config.greeting)/'; then
    if until_answer "get /hello/e2e" "Hello, e2e! (patched)"; then
        ms=$(ms_between "$save_time" "$(now)")
        ok 1.new-body "the next GET /hello/e2e answers \"$answer\" (${ms} ms after the save)"
        timings+=("$(printf '%-40s %8s ms' "(1) Greet::hello format" "$ms")")
        changed=$(patch_changed)
        [ "$changed" = greet ] && ok 1.receipt "last patch changed: $changed" || ko 1.receipt "last patch changed: ${changed:-nothing} (expected greet)"
        c=$(post_count)
        n=$(count_of "$c")
        [ "$n" = 4 ] && ok 1.count-kept "POST /count -> $c (went on from 3)" || ko 1.count-kept "POST /count -> ${c:-nothing} (expected count 4)"
    else
        ko 1.new-body "GET /hello/e2e still answers \"$answer\" ${patch_timeout}s after the save"
    fi
else
    ko 1.edit "could not edit Greet::hello"
fi

# ---------------------------------------------------------------- (2)
say "(2) a counter method edited: Counter::step 1 -> 10"
before=$(count_of "$(curl -s --max-time 10 -H "x-api-key: $key" "$base/count")")
last=$(patch_at)
if edit examples/web/src/service/plugins/counter.rs '/(pub fn step\(&self\) -> u64 \{\s*)1(\s*\})/${1}10$2/'; then
    # Wait for the patch before counting: a POST before it still steps by 1.
    if until_new_patch "$last" && [ "$(patch_changed)" = counter ]; then
        c=$(post_count)
        ms=$(ms_between "$save_time" "$(now)")
        n=$(count_of "$c")
        timings+=("$(printf '%-40s %8s ms' "(2) Counter::step 1 -> 10" "$ms")")
        [ -n "$before" ] && [ "$n" = $((before + 10)) ] &&
            ok 2.new-code-state-kept "POST /count -> $c (from $before by the new step 10)" ||
            ko 2.new-code-state-kept "POST /count -> ${c:-nothing} (expected ${before:-?} + 10)"
    else
        ko 2.receipt "no patch of counter reported by /_tony/status within ${patch_timeout}s (last changed: $(patch_changed))"
    fi
else
    ko 2.edit "could not edit Counter::step"
fi

# ---------------------------------------------------------------- (4)
kill "$load_pid" 2>/dev/null
wait "$load_pid" 2>/dev/null
sent=$(wc -l <"$load_log")
bad=$(grep -vc '^200 ' "$load_log")
[ "$sent" -gt 0 ] && [ "$bad" = 0 ] &&
    ok 4.no-failed-requests "$sent requests during the method patches, all 200" ||
    ko 4.no-failed-requests "$bad of $sent requests failed: $(grep -v '^200 ' "$load_log" | sort | uniq -c | head -3 | tr '\n' ';')"

# ---------------------------------------------------------------- (5)
say "(5) a field added to Counter (state_version 1, with a migrate hook)"
before=$(count_of "$(curl -s --max-time 10 -H "x-api-key: $key" "$base/count")")
last=$(patch_at)
if edit examples/web/src/service/plugins/counter.rs \
    '/(name = "counter",)/$1\n    state_version = 1,/' \
    '/(\n    pub by_user: BTreeMap<String, u64>,\n)/$1    \/\/\/ Added while the service runs (scripts\/e2e-web.sh).\n    pub bonus: u64,\n/' \
    '/(impl Plugin for Counter \{\n)/$1    fn migrate(old: &tony_core::OldState<'"'"'_>) -> Result<Self, BoxError> {\n        #[derive(Deserialize)]\n        struct V0 {\n            count: u64,\n            by_user: BTreeMap<String, u64>,\n        }\n        let v0: V0 = old.decode()?;\n        Ok(Counter { count: v0.count, by_user: v0.by_user, bonus: 7 })\n    }\n\n/'; then
    if until_new_patch "$last"; then
        receipt=$(get /_tony/status | sed -nE 's/.*"last_patch":\{([^}]*)\}.*/\1/p')
        echo "      receipt: $receipt"
        c=$(curl -s --max-time 10 -w ' %{http_code}' -H "x-api-key: $key" "$base/count")
        hello=$(get /hello/e2e)
        [ "$hello" = "Hello, e2e! (patched)" ] && kill -0 "$app_pid" 2>/dev/null &&
            ok 5.others-unaffected "service up, GET /hello/e2e -> $hello" ||
            ko 5.others-unaffected "GET /hello/e2e -> ${hello:-nothing}"
        case "$c" in
            *'"count":'*' 200')
                n=$(count_of "$c")
                [ "$n" = "$before" ] && ok 5.migrated "GET /count -> $c: the new layout, count kept ($before)" ||
                    ko 5.migrated "GET /count -> $c (the count before was $before: reset, not migrated)" ;;
            *) ko 5.migrated "GET /count -> ${c:-nothing}: handler bodies run through tony_core::hot::call, so the new body should read the new layout" ;;
        esac
    else
        ko 5.receipt "no patch reported within ${patch_timeout}s"
    fi
else
    ko 5.edit "could not add a field to Counter"
fi

# ---------------------------------------------------------------- (6)
say "(6) a route added: GET /bye/{name} in greet's routes"
before=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$base/bye/e2e")
if edit examples/web/src/service/plugins/greet.rs \
    '/(Router::new\(\)\.route\("\/hello\/\{name\}", get\(hello\)\))/$1\n        .route("\/bye\/{name}", get(bye))/' \
    '/(\/\/\/ `GET \/hello\/\{name\}`\.)/\/\/\/ `GET \/bye\/{name}`: added while the service runs.\npub async fn bye(Path(name): Path<String>) -> String {\n    format!("Bye, {name}!")\n}\n\n$1/'; then
    if until_answer "get /bye/e2e" "Bye, e2e!"; then
        ms=$(ms_between "$save_time" "$(now)")
        ok 6.new-route "GET /bye/e2e answered $before before the edit, now \"$answer\" (${ms} ms after the save)"
        timings+=("$(printf '%-40s %8s ms' "(6) a route added" "$ms")")
    else
        ko 6.new-route "GET /bye/e2e still answers \"$answer\" ${patch_timeout}s after the save (it answered $before before)"
    fi
else
    ko 6.edit "could not add a route to greet"
fi

# ---------------------------------------------------------------- (7)
say "(7) a plugin added: ping.rs (GET /ping), its mod line, its router line"
before=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$base/ping")
cat >"$ws/examples/web/src/service/plugins/ping.rs" <<'RS'
//! `ping`: added while the service runs (scripts/e2e-web.sh).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use tony_core::{BoxError, Context, LentPlugin, Plugin, tony_plugin};

use tony_web_example::{ApiError, Web};

/// Answers pings.
#[tony_plugin(name = "ping", version = "1.0.0")]
#[derive(Default, Serialize, Deserialize)]
pub struct Ping {
    /// Pongs so far.
    pub pongs: u64,
}

#[tony_plugin]
impl Ping {
    /// One pong.
    pub fn pong(&mut self) -> String {
        self.pongs += 1;
        format!("pong {}", self.pongs)
    }
}

#[tony_plugin]
impl Plugin for Ping {
    fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> {
        Ok(())
    }
}

/// `ping`'s routes.
pub fn routes() -> Router<Web> {
    Router::new().route("/ping", get(ping))
}

/// `GET /ping`.
pub async fn ping(State(web): State<Web>) -> Result<String, ApiError> {
    web.call::<Ping, _, _, _, _>(ping_body, ()).await
}

/// Body of [`ping`].
pub fn ping_body(_: &Web, mut ping: LentPlugin<'_>, (): ()) -> Result<String, ApiError> {
    Ok(ping.get_mut::<Ping>()?.pong())
}
RS
if edit examples/web/src/service/plugins/mod.rs '/(pub mod metrics;\n)/$1pub mod ping;\n/' &&
    edit examples/web/src/service/mod.rs \
        '/(    if has\("metrics"\) \{)/    if has("ping") {\n        router = router.merge(plugins::ping::routes());\n    }\n$1/'; then
    if until_answer "get /ping" "pong 1"; then
        ms=$(ms_between "$save_time" "$(now)")
        ok 7.new-plugin "GET /ping answered $before before, now \"$answer\" (${ms} ms after the last save)"
        timings+=("$(printf '%-40s %8s ms' "(7) a plugin added" "$ms")")
        second=$(get /ping)
        listed=$(get /_tony/status | grep -o '"name":"ping"[^}]*')
        [ "$second" = "pong 2" ] && ok 7.state "the next GET /ping -> $second" || ko 7.state "the next GET /ping -> ${second:-nothing}"
        case "$listed" in
            *'"state":"active"'*) ok 7.status "/_tony/status lists it: $listed" ;;
            *) ko 7.status "/_tony/status: ${listed:-no ping}" ;;
        esac
    else
        ko 7.new-plugin "GET /ping still answers \"$answer\" ${patch_timeout}s after the save (it answered $before before)"
    fi
else
    ko 7.edit "could not add the ping plugin"
fi

# ---------------------------------------------------------------- (8)
say "(8) a handler body edited: greet's hello_body shouts"
if edit examples/web/src/service/plugins/greet.rs \
    '/Ok\(greet\.get_mut::<Greet>\(\)\?\.hello\(&name\)\)/Ok(greet.get_mut::<Greet>()?.hello(\&name).to_uppercase())/'; then
    if until_answer "get /hello/e2e" "HELLO, E2E! (PATCHED)"; then
        ms=$(ms_between "$save_time" "$(now)")
        ok 8.new-body "GET /hello/e2e -> $answer (${ms} ms after the save)"
        timings+=("$(printf '%-40s %8s ms' "(8) a handler body edited" "$ms")")
    else
        ko 8.new-body "GET /hello/e2e still answers \"$answer\" ${patch_timeout}s after the save"
    fi
else
    ko 8.edit "could not edit hello_body"
fi

# ---------------------------------------------------------------- (9)
say "(9) a save that does not compile is reported by /_tony/status; undoing it clears the report"
# missed: the status's missed_edits, one JSON object a line (nothing when empty).
missed() { get /_tony/status | python3 -c 'import json, sys
for m in json.load(sys.stdin).get("missed_edits", []): print(json.dumps(m))' 2>/dev/null; }
if edit examples/web/src/service/plugins/greet.rs \
    '/(Ok\(greet\.get_mut::<Greet>\(\)\?\.hello\(&name\)\.to_uppercase\(\)\))/let _broken: u64 = "e2e";\n    $1/'; then
    until=$(($(date +%s) + 60))
    while [ -z "$(missed)" ] && [ "$(date +%s)" -lt "$until" ]; do sleep 0.5; done
    report=$(missed)
    ms=$(ms_between "$save_time" "$(now)")
    case $report in
        *'does not compile'*'"plugins": ["greet"]'*) ok 9.reported "listed ${ms} ms after the save: $(sed -nE 's/.*"line": "([^"]*)".*/\1/p' <<<"$report")" ;;
        *) ko 9.reported "/_tony/status missed_edits: [${report}] 60 s after the save" ;;
    esac
    [ "$(get /hello/e2e)" = "HELLO, E2E! (PATCHED)" ] && ok 9.runs-on "the service answers with the code that runs" || ko 9.runs-on "GET /hello/e2e -> $(get /hello/e2e)"
    if edit examples/web/src/service/plugins/greet.rs '/let _broken: u64 = "e2e";\n    //'; then
        until=$(($(date +%s) + 30))
        while [ -n "$(missed)" ] && [ "$(date +%s)" -lt "$until" ]; do sleep 0.5; done
        [ -z "$(missed)" ] && ok 9.cleared "the report is gone once the file is back to the code that runs" || ko 9.cleared "still listed: $(missed)"
    else
        ko 9.edit "could not undo the broken line"
    fi
else
    ko 9.edit "could not break hello_body"
fi

# ---------------------------------------------------------------- (3)
say "the whole run"
pid=$(status_pid)
[ "$pid" = "$app_pid" ] && kill -0 "$app_pid" 2>/dev/null &&
    ok 3.same-process "pid $app_pid served every request" ||
    ko 3.same-process "status says pid ${pid:-?}, the service started as $app_pid"
hello=$(get /hello/e2e)
[ "$hello" = "HELLO, E2E! (PATCHED)" ] && ok 3.still-patched "GET /hello/e2e -> $hello" || ko 3.still-patched "GET /hello/e2e -> ${hello:-nothing}"

echo
echo "save -> first answer with the new behaviour:"
for t in "${timings[@]}"; do echo "  $t"; done
echo "log: $log, workspace copy: $ws"
if [ "$fail" = 0 ]; then
    echo "RESULT: PASS ($pass checks)"
    exit 0
fi
echo "RESULT: FAIL ($pass passed, $fail failed: ${failed[*]})"
exit 1
