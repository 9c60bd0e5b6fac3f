#!/usr/bin/env bash
# Starts a local Tributary development network on embedded defaults:
# - one validator (Alice) with Aura + GRANDPA, RPC on ws://127.0.0.1:9944, three example datanets and
#   funded dev accounts;
# - two compute workers, curating as Bob and Charlie (the example datanets' curators), on
#   /ip4/127.0.0.1/tcp/30400 and /tcp/30401: they take uploads, fetch, check and vote;
# - training: Bob's worker also runs jobs as the bonded worker Dave, Charlie's as Eve (and spot-checks
#   other workers' results), and SmolLM2-135M-Instruct (the test model, uploaded to Bob's worker) is
#   registered as base model 0;
# - serving: OpenAI's API on http://127.0.0.1:8000/v1 for base model 0 (fetched from Bob's worker),
#   every model trained on it (model-<id>) and chat over every datanet with a version (datanet-<id>).
# Extra arguments go to the node, e.g. `./scripts/up.sh --sealing instant` for a block per
# transaction. Ctrl-C stops everything; chain and worker state live in a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
source scripts/env.sh
cargo build --workspace # the same feature set as scripts/test.sh: no second compile
bin="$CARGO_TARGET_DIR/debug"
state=$(mktemp -d -t tributary-dev.XXXXXX)
pids=()
cleanup() {
	kill "${pids[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$state"
}
trap cleanup EXIT INT TERM

"$bin/tributary-node" --dev --rpc-cors all --base-path "$state/node" "$@" &
pids+=($!)
# The workers need the RPC: wait for it.
for _ in $(seq 1 120); do
	if "$bin/tributary" status >/dev/null 2>&1; then break; fi
	sleep 0.5
done

worker() { # name curator-key port [bootstrap [extra run args...]]; sets $addr (not a subshell: $pids must see the child)
	local dir="$state/worker-$1" key=$2 port=$3 boot=${4:-}
	shift 4 2>/dev/null || shift $#
	mkdir -p "$dir"
	"$bin/tributary-worker" --data-dir "$dir" --listen "/ip4/127.0.0.1/tcp/$port" \
		${boot:+--bootstrap "$boot"} run --curator-key "$key" "$@" >"$dir/log" 2>&1 &
	pids+=($!)
	for _ in $(seq 1 100); do [ -f "$dir/worker.json" ] && break; sleep 0.1; done
	addr=$(sed -n 's/.*"\(\/ip4\/[^"]*\)".*/\1/p' "$dir/worker.json" | head -n 1)
}
worker bob //Bob 30400 "" --jobs-key //Dave --progress-listen 127.0.0.1:30480
bob=$addr
# Charlie's worker also runs jobs as Eve, and checks other workers' results (spot checks).
worker charlie //Charlie 30401 "$bob" --jobs-key //Eve --verify --progress-listen 127.0.0.1:30481
charlie=$addr
# Training: Dave bonds as a worker (Bob's worker process runs his jobs), and the small test model is
# uploaded to Bob's worker and listed as base model 0.
cli=("$bin/tributary" --no-wait-finality)
"${cli[@]}" worker register --worker-dir "$state/worker-bob" --key //Dave >/dev/null
"${cli[@]}" worker register --worker-dir "$state/worker-charlie" --key //Eve >/dev/null
"${cli[@]}" base register "$(./scripts/fetch-smollm2.sh)" --name SmolLM2-135M-Instruct --family llama \
	--license apache-2.0 --params 134515008 --peer "$bob" --key //Alice >/dev/null
# Serving (docs/serving.md): base 0 once the chain has finalized it, its trained models as they come.
for _ in $(seq 1 120); do
	if "$bin/tributary" base show 0 >/dev/null 2>&1; then break; fi
	sleep 0.5
done
mkdir -p "$state/api"
"$bin/tributary-worker" --data-dir "$state/api" --listen /ip4/127.0.0.1/tcp/30402 --bootstrap "$bob" \
	api --base 0 --bind 127.0.0.1:8000 >"$state/api.log" 2>&1 &
pids+=($!)

cat <<INFO

  node    ws://127.0.0.1:9944
  worker  $bob   (curator Bob; runs training jobs as Dave; log $state/worker-bob/log)
  worker  $charlie   (curator Charlie; runs jobs as Eve and spot-checks others' results)
  CLI     $bin/tributary
          e.g. $bin/tributary contribute FILE --datanet 0 --key //Dave --peer $bob
  base    0 = SmolLM2-135M-Instruct (tributary base list)
  jobs    live progress: tributary job watch ID   (the worker publishes http://127.0.0.1:30480 on chain)
  api     http://127.0.0.1:8000/v1   (OpenAI API: "SmolLM2-135M-Instruct", model-<id> once trained,
          datanet-<id> once published; docs/serving.md; log $state/api.log)

INFO
wait "${pids[0]}"
