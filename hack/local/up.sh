#!/usr/bin/env bash
# Starts the local stack in the background, on loopback only: etcd, kube-apiserver, the EVS
# simulator, the CRDs and webhook configurations, and the operator. Run through `make local-up`.
# Idempotent: a running stack is left alone, and a process of it that stopped is started again.
set -euo pipefail
# shellcheck source=hack/local/lib.sh
source "$(dirname "$0")/lib.sh"

need_tools

up=() down=()
for name in "${STACK[@]}"; do
	if running "$name"; then up+=("$name"); else down+=("$name"); fi
done
if ((${#down[@]} == 0)); then
	log "The local stack is already up; use it with: source $ENV_FILE"
	exit 0
fi

if ((${#up[@]} == 0)) || [[ ! -f $STATE_FILE ]]; then
	# Nothing runs: start afresh, with new ports and an empty etcd.
	for name in "${up[@]}"; do stop_process "$name"; done
	rm -rf "$LOCAL_DIR/etcd-data" "$STATE_FILE" "$ENV_FILE"
	for name in "${STACK[@]}"; do : >"$(log_file "$name")"; done
	{
		echo "K8S_BIN_DIR=$(printf %q "$K8S_BIN_DIR")"
		echo "ETCD_PORT=$(free_port)"
		echo "ETCD_PEER_PORT=$(free_port)"
		echo "APISERVER_PORT=$(free_port)"
		echo "SIMULATOR_PORT=$(free_port)"
		echo "OPERATOR_WEBHOOK_PORT=$(free_port)"
		echo "OPERATOR_METRICS_PORT=$(free_port)"
		echo "OPERATOR_PROBE_PORT=$(free_port)"
		echo "ADMIN_TOKEN=$(random_token)"
		echo "OPERATOR_TOKEN=$(random_token)"
	} >"$STATE_FILE.tmp"
	mv "$STATE_FILE.tmp" "$STATE_FILE"
	log "Starting the local stack in $LOCAL_DIR"
else
	log "The local stack is partly up (${down[*]} not running); starting what is missing"
fi
# shellcheck source=/dev/null
source "$STATE_FILE"
EVS_SIMULATOR_URL=http://127.0.0.1:$SIMULATOR_PORT

# Certificates: the apiserver's serving certificate, the service-account signing key (the key of a
# second certificate set is as good as any; the apiserver reads the public key from its
# certificate) and the webhook server's certificate. certgen keeps certificates still good.
certgen_log=$(log_file certgen)
certgen() { (cd "$ROOT" && go run ./hack/certgen --dir "$1" --hosts 127.0.0.1,localhost 2>>"$certgen_log"); }
certgen "$LOCAL_DIR/certs/apiserver" >/dev/null || die "making the apiserver certificate failed; see $certgen_log"
certgen "$LOCAL_DIR/certs/service-account" >/dev/null || die "making the service-account key failed; see $certgen_log"
WEBHOOK_CA_BUNDLE=$(certgen "$LOCAL_DIR/certs/webhook") || die "making the webhook certificate failed; see $certgen_log"

# Two identities with static tokens: an admin (system:masters) for people and scripts, and the
# operator, which gets only the RBAC that config/rbac grants it.
umask 077
printf '%s,admin,admin,"system:masters"\n%s,evs-operator,evs-operator\n' "$ADMIN_TOKEN" "$OPERATOR_TOKEN" \
	>"$LOCAL_DIR/tokens.csv"
write_kubeconfig() {
	cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: evs-local
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $LOCAL_DIR/certs/apiserver/ca.crt
users:
- name: $2
  user:
    token: $3
contexts:
- name: evs-local
  context:
    cluster: evs-local
    user: $2
    namespace: default
current-context: evs-local
EOF
}
write_kubeconfig "$ADMIN_KUBECONFIG" admin "$ADMIN_TOKEN"
write_kubeconfig "$OPERATOR_KUBECONFIG" evs-operator "$OPERATOR_TOKEN"
umask 022

if ! running etcd; then
	start_process etcd "$K8S_BIN_DIR/etcd" \
		--name local --data-dir "$LOCAL_DIR/etcd-data" \
		--listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster "local=http://127.0.0.1:$ETCD_PEER_PORT" \
		--unsafe-no-fsync
	wait_ready etcd etcd_ready
fi

if ! running kube-apiserver; then
	start_process kube-apiserver "$K8S_BIN_DIR/kube-apiserver" \
		--etcd-servers "http://127.0.0.1:$ETCD_PORT" \
		--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
		--endpoint-reconciler-type none \
		--tls-cert-file "$LOCAL_DIR/certs/apiserver/tls.crt" \
		--tls-private-key-file "$LOCAL_DIR/certs/apiserver/tls.key" \
		--token-auth-file "$LOCAL_DIR/tokens.csv" \
		--authorization-mode RBAC \
		--service-account-issuer "https://127.0.0.1:$APISERVER_PORT" \
		--service-account-key-file "$LOCAL_DIR/certs/service-account/tls.crt" \
		--service-account-signing-key-file "$LOCAL_DIR/certs/service-account/tls.key" \
		--service-cluster-ip-range 10.0.0.0/24 \
		--disable-admission-plugins ServiceAccount \
		--allow-privileged=true
	wait_ready kube-apiserver apiserver_ready
fi

if ! running evs-simulator; then
	timing=${SIM_TIMING:-2s}
	start_process evs-simulator "$SIMULATOR_BIN" --bind-address "127.0.0.1:$SIMULATOR_PORT" \
		--snapshot-create "$timing" --snapshot-delete "$timing" --rollback "$timing" \
		--volume-create "$timing" --volume-delete "$timing"
	wait_ready evs-simulator simulator_ready
fi

log "Applying the CRDs and the operator's RBAC"
kubectl apply --server-side --force-conflicts -f "$ROOT/config/crd/bases" >/dev/null
kubectl wait --for=condition=Established --timeout=60s -f "$ROOT/config/crd/bases" >/dev/null
kubectl apply --server-side --force-conflicts -f "$ROOT/config/rbac/role.yaml" >/dev/null
kubectl create clusterrolebinding evs-operator-local-manager --clusterrole=manager-role --user=evs-operator \
	--dry-run=client -o yaml | kubectl apply --server-side --force-conflicts -f - >/dev/null

# The webhook configurations call the operator on loopback instead of a Service in the cluster.
log "Applying the webhook configurations (https://127.0.0.1:$OPERATOR_WEBHOOK_PORT)"
(cd "$ROOT" && go run ./hack/local/webhookconfig --url "https://127.0.0.1:$OPERATOR_WEBHOOK_PORT" \
	--ca-bundle "$WEBHOOK_CA_BUNDLE" --name-prefix evs-operator-local- config/webhook/manifests.yaml) |
	kubectl apply --server-side --force-conflicts -f - >/dev/null

if ! running evs-operator; then
	start_operator
fi

# A server-side dry run passes through the webhooks: proof that the apiserver reaches them.
probe='{"apiVersion":"evs.storage.dev/v1alpha1","kind":"EVSSnapshot","metadata":{"name":"local-up-probe"},
	"spec":{"source":{"volumeID":"11111111-1111-4111-8111-111111111111"}}}'
deadline=$((SECONDS + 30))
until out=$(echo "$probe" | kubectl create --dry-run=server -n default -f - 2>&1); do
	((SECONDS < deadline)) || fail_start evs-operator "does not answer the apiserver's admission calls ($out)"
	sleep 1
done

{
	echo "# The local evs-operator stack; source this file to use it."
	echo "export EVS_LOCAL_DIR=$(printf %q "$LOCAL_DIR")"
	echo "export KUBECONFIG=$(printf %q "$ADMIN_KUBECONFIG")"
	echo "export EVS_SIMULATOR_URL=$EVS_SIMULATOR_URL"
	echo "export PATH=$(printf %q "$K8S_BIN_DIR"):\$PATH"
} >"$ENV_FILE"
log "The local stack is up: apiserver https://127.0.0.1:$APISERVER_PORT, simulator $EVS_SIMULATOR_URL"
log "Use it with: source $ENV_FILE"
