#!/usr/bin/env bash
# Builds the CUDA variants of the model-factory tests and the training benchmark here (the GPU machines
# have no Rust), strips and compresses them into .gpu/ (git-ignored, ~18 MB) for the device tool to
# carry; scripts/gpu-check.sh runs them there. Uses its own target dir so the CPU build stays warm.
# Built without the default `openblas` feature: the GPU machines have no libopenblas.
# The bundle also carries the data plane's transfer benchmark (CPU only, from the shared target dir), so
# that the lent machine's 16 cores judge it beside this VM's 2.
#
#   scripts/gpu-bundle.sh        then: device run, carry [".gpu"], command "scripts/gpu-check.sh"
set -euo pipefail
cd "$(dirname "$0")/.."
# Before the CUDA environment, so the shared target dir sees the same environment as every other build.
(source scripts/env.sh && cargo build --locked -q -p data-plane --example bench_transfer)
bench_transfer="$(source scripts/env.sh && echo "$CARGO_TARGET_DIR/debug/examples/bench_transfer")"
source <(scripts/cuda-toolkit.sh --env)
export CARGO_TARGET_DIR="${TRIBUTARY_CUDA_TARGET:-$HOME/.cache/tributary/target-cuda}"
exclude="$(git rev-parse --git-path info/exclude)"
mkdir -p "$(dirname "$exclude")"
grep -qx '/.gpu/' "$exclude" 2>/dev/null || echo '/.gpu/' >>"$exclude"
mkdir -p .gpu
tests="$(cargo test --locked -p model-factory --no-default-features --features cuda --lib --no-run --message-format=json 2>/dev/null \
	| python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "model_factory":
        print(m["executable"])' | tail -1)"
cargo build --locked -q -p model-factory --no-default-features --features cuda --example bench_train
for pair in "model-factory-tests:$tests" "bench_train:$CARGO_TARGET_DIR/debug/examples/bench_train" \
	"bench_transfer:$bench_transfer"; do
	name="${pair%%:*}"
	strip -o ".gpu/$name" "${pair#*:}"
	xz -T2 -6 -f ".gpu/$name"
done
ls -la .gpu
