#!/usr/bin/env bash
# Builds localhost/bft-ledger-base:latest: a Debian bookworm minbase root filesystem plus the
# host's node binary. No image registry is reachable here, so `FROM node:20` cannot be pulled.
#
# Idempotent: skips when the image exists and carries the same node version as the host.
# The debootstrap rootfs (about 50 s to make) is cached as a tarball outside the repo, so a
# rerun after `podman rmi` takes seconds.
#
# Env: BFT_CACHE_DIR (default /var/cache/bft-ledger), BFT_BASE_IMAGE, DEBIAN_MIRROR,
#      FORCE=1 to rebuild the image (the cached rootfs is kept; delete it to redo debootstrap).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/containers.conf}"

image="${BFT_BASE_IMAGE:-localhost/bft-ledger-base:latest}"
cache="${BFT_CACHE_DIR:-/var/cache/bft-ledger}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
suite=bookworm
# libstdc++6 is what the node binary and classic-level's prebuilt addon link against; minbase
# pulls it in through apt today, naming it keeps that true if apt stops needing it.
# libjemalloc2 is the validators' malloc (the Dockerfile preloads it; src/node/allocator.ts says why).
packages=libstdc++6,libjemalloc2
# The package list is part of the cache's name: a changed list debootstraps afresh.
rootfs_tar="$cache/$suite-minbase-${packages//,/-}-rootfs.tar"

node_bin="$(readlink -f "$(command -v node)")"
node_version="$("$node_bin" --version)"

for tool in podman debootstrap tar; do
  command -v "$tool" >/dev/null || { echo "base-image: '$tool' not found; run docker/ci.sh or apt-get install -y podman runc debootstrap" >&2; exit 1; }
done

if [[ "${FORCE:-0}" != 1 ]] && podman image exists "$image"; then
  have="$(podman image inspect --format '{{ index .Labels "org.bft-ledger.node-version" }}' "$image" 2>/dev/null || true)"
  have_pkgs="$(podman image inspect --format '{{ index .Labels "org.bft-ledger.packages" }}' "$image" 2>/dev/null || true)"
  if [[ "$have" == "$node_version" && "$have_pkgs" == "$packages" ]]; then
    echo "base-image: $image exists (node $node_version, $packages), skipping"
    exit 0
  fi
  echo "base-image: $image has node '$have' and packages '$have_pkgs', want $node_version and $packages: rebuilding"
fi

mkdir -p "$cache"
work="$(mktemp -d "$cache/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

if [[ ! -s "$rootfs_tar" ]]; then
  echo "base-image: debootstrap $suite (minbase) from $mirror ..."
  start=$SECONDS
  debootstrap --variant=minbase --include="$packages" "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -30 "$work/debootstrap.log" >&2; echo "base-image: debootstrap failed" >&2; exit 1; }
  # Package caches and lists are dead weight in an image that never runs apt.
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar -C "$work/rootfs" --numeric-owner -cf "$work/rootfs.tar" .
  mv "$work/rootfs.tar" "$rootfs_tar"
  rm -rf "$work/rootfs"
  echo "base-image: rootfs cached at $rootfs_tar ($((SECONDS - start)) s)"
fi

# A copy of the cached rootfs with the node binary appended, so the cache stays pristine.
cp "$rootfs_tar" "$work/image.tar"
mkdir -p "$work/add/usr/local/bin"
cp "$node_bin" "$work/add/usr/local/bin/node"
tar -C "$work/add" --numeric-owner --owner=0 --group=0 -rf "$work/image.tar" ./usr/local/bin/node

echo "base-image: importing $image (node $node_version) ..."
podman import --quiet \
  --change "LABEL org.bft-ledger.node-version=$node_version" \
  --change "LABEL org.bft-ledger.packages=$packages" \
  --change "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "CMD [\"/usr/local/bin/node\"]" \
  "$work/image.tar" "$image" >/dev/null
podman run --rm -e LD_PRELOAD=libjemalloc.so.2 "$image" node -e '
  if (!/libjemalloc/.test(require("node:fs").readFileSync("/proc/self/maps", "utf8"))) { console.error("base-image: libjemalloc.so.2 did not load in the image"); process.exit(1) }
  process.stdout.write(`base-image: ok, node ${process.version} runs in the image, on jemalloc\n`)'
