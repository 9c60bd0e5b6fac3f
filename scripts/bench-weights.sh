#!/usr/bin/env bash
# Measures the datanets pallet's calls and rewrites pallets/datanets/src/weights.rs. Builds the
# node with `runtime-benchmarks` (a second build of node and runtime: expect ~20 min cold here).
# Usage: scripts/bench-weights.sh [steps] [repeat]   (defaults 20 and 10)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
source scripts/env.sh
steps=${1:-20}
repeat=${2:-10}
# frame-benchmarking-cli carries a test runtime for `benchmark storage` only; skip its wasm build.
SKIP_FRAME_STORAGE_ACCESS_TEST_RUNTIME_WASM_BUILD=1 cargo build -p tributary-node --features runtime-benchmarks
"$CARGO_TARGET_DIR/debug/tributary-node" benchmark pallet \
	--chain dev --pallet pallet_datanets --extrinsic '*' \
	--steps "$steps" --repeat "$repeat" --wasm-execution compiled \
	--template scripts/pallet-weights.hbs --output pallets/datanets/src/weights.rs
echo "wrote pallets/datanets/src/weights.rs"
