#!/usr/bin/env bash
# The public API of tony-core (with and without `hot`), tony-macros and
# tony-hot (with and without its default features) must match the listings in
# public-api/, so that every change to the surface shows in review. After an intended change:
#
#     UPDATE_PUBLIC_API=1 scripts/check-public-api.sh
#
# and commit public-api/. The listings are rustc 1.95's view (rustdoc JSON
# format 57, see tests/tests/public_api.rs); the rustdoc JSON is built in
# target/public-api so that the usual target directory is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
# `--workspace` resolves features as `cargo test --workspace` does, so the
# test binary reuses its build instead of compiling dependencies again.
cargo test --workspace --test public_api -- --ignored --exact \
    the_public_api_matches_the_checked_in_listings
