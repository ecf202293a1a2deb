#!/usr/bin/env bash
# Stops the operator of the running local stack and starts it again (after `make build`, say) on the
# same ports. Run through `make local-restart-operator`.
set -euo pipefail
# shellcheck source=hack/local/lib.sh
source "$(dirname "$0")/lib.sh"

need_tools
[[ -f $STATE_FILE ]] && running kube-apiserver && running evs-simulator ||
	die "the local stack is not up; start it with: make local-up"
# shellcheck source=/dev/null
source "$STATE_FILE"
EVS_SIMULATOR_URL=http://127.0.0.1:$SIMULATOR_PORT

stop_process evs-operator
start_operator
