#!/usr/bin/env bash
# Builds the control-plane binaries (hack/build-k8s-binaries.sh) when they are missing, and says
# how it is getting on while the long kube-apiserver build runs, instead of going quiet for minutes.
# Usage: hack/local/k8s-binaries.sh <dest-dir>
set -euo pipefail

dest=${1:?usage: $0 <dest-dir>}
build=$(cd "$(dirname "$0")/.." && pwd)/build-k8s-binaries.sh

# In a process group of its own, so that an interrupt stops the go builds under it too.
if command -v setsid >/dev/null; then
	setsid "$build" "$dest" &
	pid=$! group=-$!
else
	"$build" "$dest" &
	pid=$! group=$!
fi
trap 'kill -TERM -- "$group" 2>/dev/null || true; exit 130' INT TERM
start=$SECONDS next=30
while kill -0 "$pid" 2>/dev/null; do
	sleep 0.2
	elapsed=$((SECONDS - start))
	if ((elapsed >= next)); then
		next=$((next + 30))
		printf '[%s] still building the control-plane binaries (%dm%02ds so far; about 8 minutes on 2 cores)\n' \
			"$(date +%T)" $((elapsed / 60)) $((elapsed % 60)) >&2
	fi
done
wait "$pid"
