#!/usr/bin/env bash
# The second half of `make demo` (the first is `make local-up`): applies config/samples to the
# local stack, shows the objects moving through their phases until they are Ready, and prints what
# to try next. The stack keeps running.
set -euo pipefail
# shellcheck source=hack/local/lib.sh
source "$(dirname "$0")/lib.sh"

[[ -f $ENV_FILE ]] && running kube-apiserver && running evs-operator ||
	die "the local stack is not up; start it with: make local-up"
# shellcheck source=/dev/null
source "$ENV_FILE"
DEMO_TIMEOUT=${DEMO_TIMEOUT:-180}
SAMPLES=$ROOT/config/samples

log "Applying config/samples"
# A disk from a snapshot is refused until the snapshot is Available, so the samples that name one
# are applied again, below, until the apiserver admits them all.
applied=false
if out=$(kubectl apply -k "$SAMPLES" 2>&1); then
	applied=true
	printf '%s\n' "$out"
else
	printf '%s\n' "$out" | grep -v '^Error from server' || true
	printf '%s\n' "$out" | grep '^Error from server' | sed 's/^/refused for now: /'
	echo "(applying again once the snapshot is Available)"
fi
mapfile -t objects < <(kubectl kustomize "$SAMPLES" | kubectl create --dry-run=client -o name -f -)
((${#objects[@]} > 0)) || die "config/samples holds no object"

# One table, redrawn in place on a terminal as `kubectl get -w` would show it (elsewhere printed
# again only when a phase changes), until every sample is Ready.
echo
tty=false cols=80
if [[ -t 1 ]]; then
	tty=true
	cols=$(tput cols 2>/dev/null || echo 80)
fi
phases() {
	local ready='.status.conditions[?(@.type=="Ready")].status'
	kubectl get evs --no-headers -o custom-columns="KIND:.kind,NAME:.metadata.name,PHASE:.status.phase,READY:$ready"
}
shown="" lines=0 deadline=$((SECONDS + DEMO_TIMEOUT))
while true; do
	table=$(kubectl get evs 2>&1 || true)
	if [[ $tty == true ]]; then
		((lines == 0)) || printf '\033[%dA\033[J' "$lines"
		printf '%s\n' "$table"
		# Count the screen lines, long lines wrapped, to move back up over all of them.
		lines=$(printf '%s\n' "$table" |
			awk -v c="$cols" '{ n += length($0) ? int((length($0) - 1) / c) + 1 : 1 } END { print n }')
	elif key=$(phases 2>&1) && [[ $key != "$shown" ]]; then
		[[ -z $shown ]] || echo
		printf '%s\n' "$table"
		shown=$key
	fi
	if [[ $applied == false ]] && out=$(kubectl apply -k "$SAMPLES" 2>&1); then
		applied=true
	fi
	if [[ $applied == true ]] && kubectl wait --for=condition=Ready --timeout=0s "${objects[@]}" >/dev/null 2>&1; then
		break
	fi
	if ((SECONDS >= deadline)); then
		echo
		[[ $applied == true ]] || printf 'kubectl apply -k config/samples still fails:\n%s\n' "$out" >&2
		die "the samples were not Ready after ${DEMO_TIMEOUT}s; see 'kubectl describe evs' and $(log_file evs-operator)"
	fi
	sleep 1
done
echo
kubectl wait --for=condition=Ready --timeout=60s "${objects[@]}"

cat <<EOF

The local stack is running, and every sample is Ready. To use it in your shell:

  source $ENV_FILE
  kubectl get evs -o wide                     # the category lists EVSSnapshots and EVSVolumes

Roll the disk back to the snapshot (each new requestID asks for one rollback), and follow it:

  kubectl patch evssnapshot db-nightly --type merge -p '{"spec":{"rollback":{"requestID":"demo-1"}}}'
  kubectl wait --for=jsonpath='{.status.lastRollback.state}'=Succeeded evssnapshot/db-nightly

A rollback onto any disk but the snapshot's own is refused, in every phase:

  kubectl patch evssnapshot db-nightly --type merge \
    -p '{"spec":{"rollback":{"requestID":"demo-2","volumeID":"33333333-3333-4333-8333-333333333333"}}}'

Another disk from the snapshot (the sample db-restored is one already):

kubectl apply -f - <<'YAML'
apiVersion: evs.storage.dev/v1alpha1
kind: EVSVolume
metadata:
  name: db-copy
spec:
  source:
    snapshotRef: {name: db-nightly}
YAML

  kubectl wait --for=condition=Ready evsvolume/db-copy
  curl -fsS "\$EVS_SIMULATOR_URL/sim/v1/volumes" && echo   # the disks the simulated cloud holds

A refused delete: while a snapshot is Rollbacking the cloud allows no delete, so neither does the
apiserver. Slow rollbacks down in the simulator (to 30s) to have time to try:

  curl -fsS -X PUT "\$EVS_SIMULATOR_URL/sim/v1/timing" -d '{"rollback":"30s"}' && echo
  kubectl patch evssnapshot db-nightly --type merge -p '{"spec":{"rollback":{"requestID":"demo-3"}}}'
  kubectl wait --for=jsonpath='{.status.phase}'=Rollbacking evssnapshot/db-nightly
  kubectl delete evssnapshot db-nightly       # refused: ... is Rollbacking: delete is not allowed in this phase
  curl -fsS -X PUT "\$EVS_SIMULATOR_URL/sim/v1/timing" -d '{"rollback":"2s"}' && echo
  kubectl wait --for=condition=Ready --timeout=60s evssnapshot/db-nightly   # once the slow rollback ends

Clean up, and stop the stack:

  kubectl delete evs --all                    # deletes the cloud snapshots and disks too
  make local-down

Logs: $LOCAL_DIR/*.log
EOF
