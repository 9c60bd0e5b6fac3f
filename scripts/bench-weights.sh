#!/usr/bin/env bash
# Measures one pallet's calls and rewrites its pallets/<name>/src/weights.rs. Builds the node with
# `runtime-benchmarks` (a second build of node and runtime: expect ~20 min cold here).
# Usage: scripts/bench-weights.sh [pallet] [steps] [repeat]
#   pallet: datanets (default), workers, models, jobs or validators; steps and repeat default to 20 and 10.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
source scripts/env.sh
pallet=${1:-datanets}
steps=${2:-20}
repeat=${3:-10}
[ -d "pallets/$pallet" ] || { echo "no pallet pallets/$pallet" >&2; exit 1; }
# frame-benchmarking-cli carries a test runtime for `benchmark storage` only; skip its wasm build.
SKIP_FRAME_STORAGE_ACCESS_TEST_RUNTIME_WASM_BUILD=1 cargo build -p tributary-node --features runtime-benchmarks
"$CARGO_TARGET_DIR/debug/tributary-node" benchmark pallet \
	--chain dev --pallet "pallet_$pallet" --extrinsic '*' \
	--steps "$steps" --repeat "$repeat" --wasm-execution compiled \
	--template scripts/pallet-weights.hbs --output "pallets/$pallet/src/weights.rs"
echo "wrote pallets/$pallet/src/weights.rs"
