#!/usr/bin/env bash
# Installs what building with `--features cuda` needs on a machine without a GPU or a CUDA install:
# nvcc, headers and link libraries of CUDA 13.0 exactly (the lent GPU machines run driver 580, CUDA
# 13.0; a newer nvcc writes PTX their driver refuses), all from NVIDIA's wheels on PyPI, plus a stub
# libcuda.so to link against (the real one is the driver's, on the GPU machine). Idempotent. Prints the
# environment to build with; `source <(scripts/cuda-toolkit.sh --env)` sets it in the calling shell.
#
#   scripts/cuda-toolkit.sh          install if missing, print the environment
#   scripts/cuda-toolkit.sh --env    the same, printing only the export lines
set -euo pipefail
ROOT="${TRIBUTARY_CUDA_ROOT:-$HOME/.cache/tributary/cuda-13.0}"
CUDA_HOME="$ROOT/nvidia/cu13"
quiet() { if [ "${1:-}" = "--env" ]; then cat >/dev/null; else cat >&2; fi; }

if [ ! -f "$ROOT/.complete" ]; then
	echo "installing CUDA 13.0 build tools into $ROOT (about 1 GB, once)" | quiet "${1:-}"
	rm -rf "$ROOT"
	mkdir -p "$ROOT"
	python3 -m pip install --quiet --no-deps --no-compile --only-binary=:all: --target "$ROOT" \
		nvidia-cuda-nvcc==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-nvvm==13.0.88 \
		nvidia-cuda-runtime==13.0.96 nvidia-cuda-cccl==13.0.85 nvidia-cuda-nvrtc==13.0.88 \
		nvidia-cublas==13.0.2.14 nvidia-curand==10.4.0.35 2>&1 | quiet "${1:-}"
	# The wheels ship versioned sonames only; the linker looks for the unversioned names.
	for lib in "$CUDA_HOME"/lib/lib*.so.*; do
		base="${lib%%.so.*}.so"
		[ -e "$base" ] || ln -s "$(basename "$lib")" "$base"
	done
	# libcuda comes with the driver, not the toolkit. Link against a stub defining every driver entry
	# point that cuda.h declares; at run time the loader finds the driver's libcuda.so.1 instead.
	mkdir -p "$CUDA_HOME/lib/stubs"
	grep -ohE '\bCUresult CUDAAPI (cu[A-Za-z0-9_]+)' "$CUDA_HOME/include/cuda.h" \
		| awk '{print $3}' | sort -u \
		| awk '{print "int " $1 "(void) { return 999; }"}' >"$ROOT/libcuda_stub.c"
	# cuda.h renames many entry points to versioned ones (cuMemAlloc -> cuMemAlloc_v2) with macros;
	# define both spellings.
	grep -ohE '#define (cu[A-Za-z0-9_]+) +(cu[A-Za-z0-9_]+)' "$CUDA_HOME/include/cuda.h" \
		| awk '{print "int " $3 "(void) { return 999; }"}' >>"$ROOT/libcuda_stub.c"
	sort -u -o "$ROOT/libcuda_stub.c" "$ROOT/libcuda_stub.c"
	cc -shared -fPIC -o "$CUDA_HOME/lib/stubs/libcuda.so" -Wl,-soname,libcuda.so.1 "$ROOT/libcuda_stub.c"
	# Lets a CUDA build start here (every driver call fails, so CUDA devices are absent and the CPU
	# paths run): LD_LIBRARY_PATH="$CUDA_HOME/lib:$CUDA_HOME/lib/stubs".
	ln -sf libcuda.so "$CUDA_HOME/lib/stubs/libcuda.so.1"
	touch "$ROOT/.complete"
fi

cat <<ENV
export CUDA_HOME="$CUDA_HOME"
export CUDA_ROOT="$CUDA_HOME"
export NVCC="$CUDA_HOME/bin/nvcc"
export PATH="$CUDA_HOME/bin:\$PATH"
export CUDA_COMPUTE_CAP=90
export LIBRARY_PATH="$CUDA_HOME/lib:$CUDA_HOME/lib/stubs\${LIBRARY_PATH:+:\$LIBRARY_PATH}"
ENV
