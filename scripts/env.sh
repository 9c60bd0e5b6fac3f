# Sourced by the scripts: one cargo target directory shared by your shell, the scripts and CI.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tributary/target}"
mkdir -p "$CARGO_TARGET_DIR"
