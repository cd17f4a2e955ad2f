#!/usr/bin/env bash
# Builds localhost/bft-ledger:latest from this checkout: the base image if missing, then the
# TypeScript on the host (npm cannot reach the registry inside a build), then the image.
#
# Env: BFT_IMAGE (default localhost/bft-ledger:latest), SKIP_BUILD=1 to reuse dist/ as it is,
#      BFT_ALLOW_NO_CLI=1 to build without dist/src/cli/main.js (stub pipeline check only).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/containers.conf}"
image="${BFT_IMAGE:-localhost/bft-ledger:latest}"

bash "$here/base-image.sh"

cd "$repo"
[[ -d node_modules ]] || { echo "build-image: node_modules/ missing; run npm ci on the host first" >&2; exit 1; }
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  # tsc emits JavaScript even when some file has type errors; the image only needs the
  # entry points below to exist, so a type error elsewhere is reported but does not stop us.
  npm run build --silent || echo "build-image: warning: npm run build reported errors (see above); continuing with what tsc emitted" >&2
fi
need=(dist/docker/healthcheck.js dist/docker/stub-node.js)
# BFT_ALLOW_NO_CLI=1: the stub pipeline check (chaos --stub) does not need the node itself.
[[ "${BFT_ALLOW_NO_CLI:-0}" == 1 ]] || need+=(dist/src/cli/main.js)
for f in "${need[@]}"; do
  [[ -f "$f" ]] || { echo "build-image: $f missing after the build" >&2; exit 1; }
done

# The native batch signature verifier npm install built on the host (build/Release), if any: the
# Dockerfile copies build/, so it must exist; without the addon the validators verify one
# signature at a time (same verdicts, docs/crypto.md).
mkdir -p build/Release
[[ -f build/Release/bft_ed25519.node ]] || echo "build-image: note: no build/Release/bft_ed25519.node; the image's validators will verify signatures one at a time" >&2

start=$SECONDS
# --format docker keeps HEALTHCHECK (the OCI format drops it).
podman build --quiet --format docker -t "$image" -f docker/Dockerfile . >/dev/null
echo "build-image: built $image in $((SECONDS - start)) s"
