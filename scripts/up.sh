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
#   every model trained on it (model-<id>) and chat over every datanet with a version (datanet-<id>);
# - the Studio, the browser app, on http://127.0.0.1:8080 (docs/studio.md).
# Each process logs to a file in the state directory; the addresses are printed last, once every
# part is up, and up.sh stops everything with an error when a part does not come up or exits.
# Extra arguments go to the node, e.g. `./scripts/up.sh --sealing instant` for a block per
# transaction. Ctrl-C stops everything; chain and worker state live in a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
source scripts/env.sh
cargo build --workspace # the same feature set as scripts/test.sh: no second compile
./scripts/build-studio.sh >/dev/null
bin="$CARGO_TARGET_DIR/debug"
state=$(mktemp -d -t tributary-dev.XXXXXX)
pids=()
names=()
logs=()
cleanup() {
	kill "${pids[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$state"
}
trap cleanup EXIT INT TERM

# fail WHAT LOG: says which part did not come up, shows the end of its log, stops everything.
fail() {
	echo "up.sh: $1 did not come up; the end of $2:" >&2
	tail -n 30 "$2" >&2 2>/dev/null || true
	exit 1
}
# started NAME LOG: remembers the last background process, to stop it and to watch it.
started() { pids+=($!); names+=("$1"); logs+=("$2"); }
# wait_until WHAT LOG SECONDS COMMAND...: polls COMMAND every 0.5 s.
wait_until() {
	local what=$1 log=$2 secs=$3
	shift 3
	for _ in $(seq 1 $((secs * 2))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	fail "$what" "$log"
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# A port already taken (another up.sh?) would have a part talk to someone else's process.
for port in 9944 30400 30401 30402 30480 30481 8000 8080; do
	if port_open "$port"; then
		echo "up.sh: 127.0.0.1:$port is already in use (another up.sh running?): stop it first" >&2
		exit 1
	fi
done

"$bin/tributary-node" --dev --rpc-cors all --base-path "$state/node" "$@" >"$state/node.log" 2>&1 &
started node "$state/node.log"
# The workers need the RPC: wait for it.
wait_until "the node's RPC (ws://127.0.0.1:9944)" "$state/node.log" 60 "$bin/tributary" status

worker() { # name curator-key port [bootstrap [extra run args...]]; sets $addr (not a subshell: $pids must see the child)
	local dir="$state/worker-$1" key=$2 port=$3 boot=${4:-}
	shift 4 2>/dev/null || shift $#
	mkdir -p "$dir"
	"$bin/tributary-worker" --data-dir "$dir" --listen "/ip4/127.0.0.1/tcp/$port" \
		${boot:+--bootstrap "$boot"} run --curator-key "$key" "$@" >"$dir/log" 2>&1 &
	started "worker $1" "$dir/log"
	wait_until "worker $1" "$dir/log" 30 test -f "$dir/worker.json"
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
wait_until "base model 0 on chain" "$state/node.log" 60 "$bin/tributary" base show 0
mkdir -p "$state/api"
"$bin/tributary-worker" --data-dir "$state/api" --listen /ip4/127.0.0.1/tcp/30402 --bootstrap "$bob" \
	api --base 0 --bind 127.0.0.1:8000 >"$state/api.log" 2>&1 &
started "serving API" "$state/api.log"
# The Studio (static app, /v1 forwarded to the API, uploads handed to Bob's worker); the browser
# talks to the node directly.
"$bin/tributary-studio" --bind 127.0.0.1:8080 --web studio/web/dist --node ws://127.0.0.1:9944 \
	--api http://127.0.0.1:8000 --peer "$bob" \
	--progress http://127.0.0.1:30480 --progress http://127.0.0.1:30481 >"$state/studio.log" 2>&1 &
started studio "$state/studio.log"
wait_until "the Studio (http://127.0.0.1:8080)" "$state/studio.log" 30 port_open 8080
# The API fetches the base model over the data plane first (~90 MB): allow it a few minutes.
wait_until "the serving API (http://127.0.0.1:8000)" "$state/api.log" 300 port_open 8000

cat <<INFO

  worker  $bob   (curator Bob; runs training jobs as Dave; log $state/worker-bob/log)
  worker  $charlie   (curator Charlie; runs jobs as Eve and spot-checks others' results)
  CLI     $bin/tributary
          e.g. $bin/tributary contribute FILE --datanet 0 --key //Dave --peer $bob
  base    0 = SmolLM2-135M-Instruct (tributary base list)
  jobs    live progress: tributary job watch ID   (the worker publishes http://127.0.0.1:30480 on chain)
  api     http://127.0.0.1:8000/v1   (OpenAI API: "SmolLM2-135M-Instruct", model-<id> once trained,
          datanet-<id> once published; docs/serving.md; log $state/api.log)
  logs    $state/node.log, $state/worker-*/log, $state/api.log, $state/studio.log

  Studio  http://127.0.0.1:8080   (open it in a browser: datanets, contribute, curate, leaderboard,
          models, chat; dev accounts or a browser wallet)
  node    ws://127.0.0.1:9944

INFO
# Watch every part: if one exits, say which and stop the rest.
while :; do
	for i in "${!pids[@]}"; do
		if ! kill -0 "${pids[$i]}" 2>/dev/null; then
			echo "up.sh: ${names[$i]} exited; the end of ${logs[$i]}:" >&2
			tail -n 30 "${logs[$i]}" >&2 || true
			exit 1
		fi
	done
	sleep 2
done
