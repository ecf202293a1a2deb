#!/usr/bin/env bash
# Stops the processes the local stack started (and only those: each pid is checked against the
# program that was started) and removes its state; the logs stay for reading. Run through
# `make local-down`.
set -euo pipefail
# shellcheck source=hack/local/lib.sh
source "$(dirname "$0")/lib.sh"

stopped=0
for ((i = ${#STACK[@]} - 1; i >= 0; i--)); do
	name=${STACK[i]}
	if running "$name"; then
		stop_process "$name"
		stopped=$((stopped + 1))
	else
		rm -f "$(pid_file "$name")"
	fi
done
rm -rf "$LOCAL_DIR/etcd-data" "$STATE_FILE" "$ENV_FILE" "$ADMIN_KUBECONFIG" "$OPERATOR_KUBECONFIG" \
	"$LOCAL_DIR/tokens.csv"
if ((stopped == 0)); then
	log "The local stack was not running"
else
	log "The local stack is down; its logs are in $LOCAL_DIR"
fi
