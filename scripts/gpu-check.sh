#!/usr/bin/env bash
# Runs on a lent GPU machine, from the bundle scripts/gpu-bundle.sh built here: the data plane's transfer
# benchmark (CPU only: libp2p against a plain TCP copy on that machine's cores), the CUDA tests (GPU
# against CPU for the NF4 kernel, every family's logits and LoRA gradients with and without NF4, and
# training steps), then the training benchmark against PyTorch + PEFT on the same GPU.
#
#   scripts/gpu-check.sh [timed steps (default 20)] [rounds (default 3)]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=/tmp/tributary-gpu
mkdir -p "$bin"
for f in model-factory-tests bench_train bench_transfer; do
	if command -v xz >/dev/null; then
		xz -dc ".gpu/$f.xz" >"$bin/$f"
	else # Python comes with PyTorch there; its lzma module reads .xz.
		python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
			".gpu/$f.xz" "$bin/$f"
	fi
	chmod +x "$bin/$f"
done
# The binaries load CUDA 13's libraries by soname: PyTorch's wheels have them, the driver has libcuda.
libdirs=""
for so in libcublas.so.13 libcurand.so.10 libcudart.so.13 libnvrtc.so.13 libcuda.so.1; do
	d="$(dirname "$(find / -xdev -name "$so" -not -path '*/proc/*' 2>/dev/null | head -1)" 2>/dev/null || true)"
	[ -n "$d" ] && [ "$d" != "." ] && case ":$libdirs:" in *":$d:"*) ;; *) libdirs="$libdirs:$d" ;; esac
done
export LD_LIBRARY_PATH="${libdirs#:}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
echo "== transfer benchmark ($(nproc) cores)"
"$bin/bench_transfer" 256 7 || echo "transfer benchmark failed: $?"
CARGO_MANIFEST_DIR="$PWD/model-factory" TRIBUTARY_REQUIRE_GPU=1 "$bin/model-factory-tests" cuda_tests \
	--test-threads=1
BENCH_DEVICE=cuda BENCH_BIN="$bin/bench_train" BENCH_PYTHON=python3 scripts/bench-train "${1:-20}" 3 "${2:-3}"
