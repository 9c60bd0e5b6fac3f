#!/usr/bin/env bash
# Rewrites client/metadata/tributary.scale from the runtime (metadata v15), which the client's
# subxt code is generated from. Run after changing the runtime; commit the file.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
TRIBUTARY_WRITE_METADATA=1 cargo test -p tributary-runtime --lib client_metadata_is_current
echo "wrote client/metadata/tributary.scale"
