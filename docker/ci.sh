#!/usr/bin/env bash
# Container tests for CI, run by .ci/run after `npm test`: installs the container tools when
# missing, builds the images, runs the chaos test. Bounded: the chaos run has its own watchdog
# (--timeout-s) and this script wraps everything in `timeout`.
#
# Env: CHAOS_ARGS (extra arguments for dist/docker/chaos.js), CI_CONTAINERS_TIMEOUT_S (default 1200).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
export CONTAINERS_CONF="$here/containers.conf"
cd "$repo"

missing=()
for tool in podman:podman runc:runc podman-compose:podman-compose debootstrap:debootstrap; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
# `init: true` in the compose file needs podman's init binary.
[[ -x /usr/libexec/podman/catatonit ]] || missing+=(catatonit)
if (( ${#missing[@]} > 0 )); then
  echo "ci-containers: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get update -q >/dev/null
  timeout 900 apt-get install -y -q podman runc podman-compose debootstrap catatonit >/dev/null
fi

start=$SECONDS
timeout 900 bash docker/build-image.sh
# First the container machinery alone (stub node, ~1 min), so a podman/network problem on the
# CI machine is told apart from a node bug.
timeout 300 node dist/docker/chaos.js --stub --skip-image-build --base-port 27200
# build-image.sh has just built dist/ and the image; chaos.js has its own watchdog (--timeout-s).
# shellcheck disable=SC2086
timeout "${CI_CONTAINERS_TIMEOUT_S:-1200}" npm run test:containers --silent -- --skip-image-build ${CHAOS_ARGS:-}
echo "ci-containers: done in $((SECONDS - start)) s"
