#!/usr/bin/env bash
# Builds the control-plane binaries the tests run (kube-apiserver, kubectl, etcd)
# from the Go module proxy into a cache folder outside the checkout, once.
# Usage: hack/build-k8s-binaries.sh <dest-dir>
set -euo pipefail

dest=${1:?usage: $0 <dest-dir>}
here=$(cd "$(dirname "$0")" && pwd)

if [[ -x $dest/kube-apiserver && -x $dest/kubectl && -x $dest/etcd ]]; then
	exit 0
fi

mkdir -p "$dest"
tmp=$(mktemp -d "$dest/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cd "$here/k8s-binaries"
echo "building etcd, kubectl and kube-apiserver into $dest (kube-apiserver takes about 8 minutes on 2 cores)" >&2
export CGO_ENABLED=0
go build -trimpath -ldflags=-s -o "$tmp/etcd" go.etcd.io/etcd/server/v3
go build -trimpath -ldflags=-s -o "$tmp/kubectl" k8s.io/kubernetes/cmd/kubectl
go build -trimpath -ldflags=-s -o "$tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
# Move into place only when all three built, so an interrupted build is retried.
mv "$tmp/etcd" "$tmp/kubectl" "$tmp/kube-apiserver" "$dest/"
