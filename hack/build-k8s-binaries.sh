#!/usr/bin/env bash
# Builds the control-plane binaries the tests run (kube-apiserver, kubectl, etcd)
# from the Go module proxy into a cache folder outside the checkout, once.
# Usage: hack/build-k8s-binaries.sh <dest-dir>
set -euo pipefail

dest=${1:?usage: $0 <dest-dir>}
here=$(cd "$(dirname "$0")" && pwd)

# The stamp records what was built; a cache without it (or with another) is rebuilt.
version=$(cd "$here/k8s-binaries" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
stamp="kubernetes $version, etcd $(cd "$here/k8s-binaries" && go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)"
if [[ -x $dest/kube-apiserver && -x $dest/kubectl && -x $dest/etcd && "$(cat "$dest/.stamp" 2>/dev/null)" == "$stamp" ]]; then
	exit 0
fi

mkdir -p "$dest"
tmp=$(mktemp -d "$dest/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cd "$here/k8s-binaries"
echo "building etcd, kubectl and kube-apiserver into $dest (kube-apiserver takes about 8 minutes on 2 cores)" >&2
export CGO_ENABLED=0 GOFLAGS=-mod=mod
# Stamp the Kubernetes version the way its own build does, so servers and clients report it.
minor=${version#v1.}; minor=${minor%%.*}
ldflags="-s -X k8s.io/component-base/version.gitVersion=$version \
	-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor \
	-X k8s.io/client-go/pkg/version.gitVersion=$version \
	-X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
step() { echo "[$(date +%T)] building $1" >&2; }
step etcd
go build -trimpath -ldflags=-s -o "$tmp/etcd" go.etcd.io/etcd/server/v3
step kubectl
go build -trimpath -ldflags="$ldflags" -o "$tmp/kubectl" k8s.io/kubernetes/cmd/kubectl
step "kube-apiserver (the long one)"
go build -trimpath -ldflags="$ldflags" -o "$tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
# Move into place only when all three built, so an interrupted build is retried.
mv "$tmp/etcd" "$tmp/kubectl" "$tmp/kube-apiserver" "$dest/"
echo "$stamp" > "$dest/.stamp"
echo "[$(date +%T)] control-plane binaries ready in $dest" >&2
