#!/usr/bin/env bash
# Installs a Go tool at a pinned version from the module proxy into a versioned file name.
# Usage: hack/go-install-tool.sh <target-file> <package> <version>
set -euo pipefail
target=${1:?target}; pkg=${2:?package}; version=${3:?version}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "installing $pkg@$version" >&2
GOBIN=$tmp GOFLAGS= go install "$pkg@$version"
mv "$tmp/$(basename "$pkg")" "$target"
