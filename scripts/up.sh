#!/usr/bin/env bash
# Starts a local Tributary development network on embedded defaults: one validator (Alice) with
# Aura + GRANDPA, RPC on ws://127.0.0.1:9944, three example datanets, and funded dev accounts.
# Extra arguments go to the node, e.g. `./scripts/up.sh --sealing instant` for a block per
# transaction. Ctrl-C stops it; the chain lives in a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
source scripts/env.sh
cargo build --workspace # the same feature set as scripts/test.sh: no second compile
echo "CLI: $CARGO_TARGET_DIR/debug/tributary (try: tributary datanet list)"
exec "$CARGO_TARGET_DIR/debug/tributary-node" --dev --rpc-cors all "$@"
