#!/usr/bin/env bash
# Installs the official OpenAI Python client (PyPI `openai`, pinned) into a virtual environment in
# the shared cache, once, for the serving tests. Prints the path of its python. Idempotent.
set -euo pipefail
VERSION=1.109.1
DIR="${TRIBUTARY_PY:-$HOME/.cache/tributary/openai-venv}"
PY="$DIR/bin/python"
if ! "$PY" -c "import openai, sys; sys.exit(openai.__version__ != '$VERSION')" 2>/dev/null; then
	rm -rf "$DIR"
	python3 -m venv "$DIR" >&2
	"$DIR/bin/pip" install -q --disable-pip-version-check "openai==$VERSION" >&2
fi
echo "$PY"
