#!/usr/bin/env bash
# A release build of the demo without the `hot` feature must contain nothing
# that accepts code from outside: no subsecond, no dioxus-devtools symbol.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
cargo build --release -p tony-examples --bin demo
bin=$target/release/demo
count=$(nm -C "$bin" | grep -ciE 'subsecond|dioxus_devtools|dioxus-devtools|HotFn|jump_table' || true)
if [ "$count" != "0" ]; then
    echo "FAIL: $bin holds $count hot-patch symbol(s):"
    nm -C "$bin" | grep -iE 'subsecond|dioxus_devtools|HotFn|jump_table' | head -20
    exit 1
fi
# The check must be able to fail: the same demo built with `--features hot`
# (a debug build, as under dx) matches the pattern.
cargo build -p tony-examples --bin demo --features hot
control=$target/debug/demo
hits=$(nm -C "$control" | grep -ciE 'subsecond' || true)
[ "$hits" != "0" ] || { echo "FAIL: control $control has no subsecond symbol: the pattern is broken"; exit 1; }
echo "control: $control (with hot) has $hits subsecond symbol(s)"
echo "ok: $bin has no subsecond/devtools symbol ($(nm "$bin" | wc -l) symbols checked)"
