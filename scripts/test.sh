#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, then unit, runtime, client and end-to-end
# tests (real node processes on loopback). `.ci/run` runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
source scripts/env.sh
export TRIBUTARY_SMOLLM2="$(./scripts/fetch-smollm2.sh)"
export TRIBUTARY_OPENAI_PYTHON="$(./scripts/fetch-openai-client.sh)"
start=$(date +%s)
step() { echo "== $* ($(( $(date +%s) - start ))s)"; }

step "format check"
cargo fmt --all --check

# The Studio's browser app (type check and production build), for its browser test.
step "studio: npm ci and build"
./scripts/build-studio.sh

# Build the whole workspace in one invocation, so the node and CLI binaries the end-to-end tests
# run share one feature set with the test builds (a per-package build would compile everything
# again with different features).
step "build: every crate and binary"
cargo build --locked --workspace
# The test-only worker built to lie (tests/checks.rs): its own binary, with the
# `falsify-attribution` feature, never in the workspace build above.
cargo build --locked -p tributary-worker --features falsify-attribution \
	--bin tributary-worker-falsifier

step "runtime, client and end-to-end tests"
pallets=(pallet-datanets pallet-workers pallet-models pallet-jobs pallet-validators pallet-rewards pallet-fees)
cargo test --locked --workspace "${pallets[@]/#/--exclude=}"

step "pallet unit tests and benchmarks in test mode"
cargo test --locked "${pallets[@]/#/--package=}" --features runtime-benchmarks

# Clippy with warnings denied over every crate and target, with the features whose code would
# otherwise go unchecked: the migrations' pre/post-upgrade checks and every try_state hook
# (try-runtime) and the benchmarks (runtime-benchmarks). Native only: the wasm build is the same
# runtime without them.
step "clippy, warnings denied (with try-runtime and benchmarks)"
features=tributary-runtime/try-runtime
for p in "${pallets[@]}"; do features+=",$p/runtime-benchmarks"; done
SKIP_WASM_BUILD=1 cargo clippy --locked --workspace --all-targets --features "$features" \
	-- -D warnings

step "all tests passed"
