#!/usr/bin/env bash
# A release build of the demo without the `hot` feature must contain nothing
# that accepts code from outside: no subsecond, no dioxus-devtools symbol.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p tony-examples --bin demo
bin=target/release/demo
count=$(nm -C "$bin" | grep -ciE 'subsecond|dioxus_devtools|dioxus-devtools|HotFn|jump_table' || true)
if [ "$count" != "0" ]; then
    echo "FAIL: $bin holds $count hot-patch symbol(s):"
    nm -C "$bin" | grep -iE 'subsecond|dioxus_devtools|HotFn|jump_table' | head -20
    exit 1
fi
# The check must be able to fail: a binary built with tony-hot matches the
# same pattern (any test binary of tony-hot left by `cargo test`).
control=$(ls -t target/debug/deps/tony_hot-* 2>/dev/null | grep -v '\.d$' | head -1 || true)
if [ -n "$control" ]; then
    hits=$(nm -C "$control" | grep -ciE 'subsecond' || true)
    [ "$hits" != "0" ] || { echo "FAIL: control $control has no subsecond symbol: the pattern is broken"; exit 1; }
    echo "control: $control has $hits subsecond symbol(s)"
fi
echo "ok: $bin has no subsecond/devtools symbol ($(nm "$bin" | wc -l) symbols checked)"
