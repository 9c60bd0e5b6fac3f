#!/usr/bin/env bash
# Builds the Studio's browser app (studio/web -> studio/web/dist) with the machine's Node.js and
# npm: `npm ci` from the lockfile when the installed packages are missing or older than it, then
# the type check and Vite's production build (~5 s). Used by scripts/up.sh and scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/../studio/web"
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
	{ echo "build-studio: Node.js 20 or later with npm is needed (Debian: nodejs, npm)" >&2; exit 1; }
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || { echo "build-studio: Node.js $(node --version) is too old: Vite needs 20 or later" >&2; exit 1; }
# The lockfile must be one `npm ci` takes on a clean clone (npm can write one it then refuses,
# e.g. with an optional dependency the registry lacks): checked every time (~1 s).
npm ci --dry-run --no-audit --no-fund --loglevel=error >/dev/null ||
	{ echo "build-studio: package-lock.json is not one \`npm ci\` accepts (see above)" >&2; exit 1; }
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	npm ci --no-audit --no-fund --loglevel=error
fi
out=$(npm run --silent build 2>&1) || { echo "$out" >&2; echo "build-studio: the build failed" >&2; exit 1; }
echo "studio/web/dist"
