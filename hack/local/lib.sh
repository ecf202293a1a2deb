# Shared by the hack/local scripts: where the local stack lives, and how its processes are started,
# checked and stopped. Source it; it does nothing by itself.
#
# Settings (environment):
#   LOCAL_DIR                 state, logs and pid files (default bin/local in the checkout)
#   KUBEBUILDER_ASSETS_DIR    directory with etcd, kube-apiserver and kubectl (or KUBEBUILDER_ASSETS)
#   OPERATOR_BIN, SIMULATOR_BIN   the binaries to run (default bin/evs-operator, bin/evs-simulator)
#   LOCAL_TIMEOUT             seconds each process may take to become ready (default 90)
#   SIM_TIMING                how long the simulator's transitions take (default 2s)
#   POLL_INTERVAL, RESYNC_PERIOD  the operator's --poll-interval and --resync-period (1s, 30s)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOCAL_DIR=${LOCAL_DIR:-$ROOT/bin/local}
mkdir -p "$LOCAL_DIR"
LOCAL_DIR=$(cd "$LOCAL_DIR" && pwd)
K8S_BIN_DIR=${KUBEBUILDER_ASSETS_DIR:-${KUBEBUILDER_ASSETS:-}}
OPERATOR_BIN=${OPERATOR_BIN:-$ROOT/bin/evs-operator}
SIMULATOR_BIN=${SIMULATOR_BIN:-$ROOT/bin/evs-simulator}
LOCAL_TIMEOUT=${LOCAL_TIMEOUT:-90}

# The simulator's defaults (CONTRACT.md section 7); the operator signs its requests with them.
SIM_PROJECT_ID=0123456789abcdef0123456789abcdef
SIM_AK=SIMULATOR-AK
SIM_SK=SIMULATOR-SK

# The processes of the stack, in start order; local-down stops them in reverse.
STACK=(etcd kube-apiserver evs-simulator evs-operator)

STATE_FILE=$LOCAL_DIR/stack.env
ADMIN_KUBECONFIG=$LOCAL_DIR/kubeconfig
OPERATOR_KUBECONFIG=$LOCAL_DIR/operator.kubeconfig
ENV_FILE=$LOCAL_DIR/env.sh

# A running stack remembers the binaries it was started with.
if [[ -z $K8S_BIN_DIR && -f $STATE_FILE ]]; then
	# shellcheck source=/dev/null
	K8S_BIN_DIR=$(source "$STATE_FILE" && echo "$K8S_BIN_DIR")
fi

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
	printf 'local stack: %s\n' "$*" >&2
	exit 1
}

# need_tools fails early, naming what is missing, instead of half-starting the stack.
need_tools() {
	[[ -n $K8S_BIN_DIR ]] || die "KUBEBUILDER_ASSETS_DIR is not set; run this through make (make local-up)"
	local f
	for f in "$K8S_BIN_DIR/etcd" "$K8S_BIN_DIR/kube-apiserver" "$K8S_BIN_DIR/kubectl"; do
		[[ -x $f ]] || die "$f is missing; run 'make k8s-binaries' first"
	done
	for f in "$OPERATOR_BIN" "$SIMULATOR_BIN"; do
		[[ -x $f ]] || die "$f is missing; run 'make build' first"
	done
	command -v curl >/dev/null || die "curl is needed to check that the processes are ready"
	command -v go >/dev/null || die "go is needed to make the local certificates"
}

kubectl() { "$K8S_BIN_DIR/kubectl" --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }

pid_file() { echo "$LOCAL_DIR/$1.pid"; }
log_file() { echo "$LOCAL_DIR/$1.log"; }

# pid_of prints the pid of the named process when it is running and is the program its pid file
# names (a pid the system has since given to another program does not count).
pid_of() {
	local file pid exe args stat
	file=$(pid_file "$1")
	[[ -f $file ]] || return 1
	{ read -r pid && read -r exe; } <"$file" || return 1
	[[ $pid =~ ^[0-9]+$ && -n $exe ]] || return 1
	stat=$(ps -o stat= -p "$pid" 2>/dev/null) || return 1
	# A zombie has exited; only its parent has not collected it yet.
	[[ $stat != Z* ]] || return 1
	args=$(ps -ww -o args= -p "$pid" 2>/dev/null) || return 1
	[[ $args == "$exe" || $args == "$exe "* ]] || return 1
	echo "$pid"
}

running() { pid_of "$1" >/dev/null; }

# start_process runs a program in the background, detached from the terminal (so Ctrl-C in the
# shell that started it leaves it alone), logging to <name>.log and recording its pid.
start_process() {
	local name=$1 exe=$2 logf
	shift 2
	logf=$(log_file "$name")
	printf '\n=== %s starting %s at %s\n' "$name" "$exe" "$(date '+%F %T')" >>"$logf"
	if command -v setsid >/dev/null; then
		setsid "$exe" "$@" </dev/null >>"$logf" 2>&1 &
	else
		nohup "$exe" "$@" </dev/null >>"$logf" 2>&1 &
	fi
	printf '%s\n%s\n' "$!" "$exe" >"$(pid_file "$name")"
	log "Started $name (pid $!, log $logf)"
}

# stop_process stops the named process if it runs: TERM, then KILL after 15 seconds.
stop_process() {
	local name=$1 pid i
	if ! pid=$(pid_of "$name"); then
		rm -f "$(pid_file "$name")"
		return 0
	fi
	log "Stopping $name (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 150; i++)); do
		running "$name" || break
		sleep 0.1
	done
	if running "$name"; then
		log "$name did not stop within 15s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			running "$name" || break
			sleep 0.1
		done
	fi
	running "$name" && die "could not stop $name (pid $pid)"
	rm -f "$(pid_file "$name")"
}

# fail_start reports a process that did not come up, with the end of its log, and exits.
fail_start() {
	local name=$1 why=$2 logf
	logf=$(log_file "$name")
	{
		printf 'local stack: %s %s; its log is %s. The last lines:\n' "$name" "$why" "$logf"
		tail -n 25 "$logf" | sed 's/^/    /'
		printf 'Stop what did start with: make local-down\n'
	} >&2
	exit 1
}

# wait_ready polls the check command until it succeeds, failing fast when the process exits.
wait_ready() {
	local name=$1 deadline=$((SECONDS + LOCAL_TIMEOUT))
	shift
	until "$@" >/dev/null 2>&1; do
		running "$name" || fail_start "$name" "exited while starting"
		((SECONDS < deadline)) || fail_start "$name" "was not ready after ${LOCAL_TIMEOUT}s"
		sleep 0.5
	done
	log "$name is ready"
}

# free_port prints a loopback TCP port nothing listens on, not among those already taken.
TAKEN_PORTS=" "
free_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + RANDOM % 12000))
		[[ $TAKEN_PORTS == *" $p "* ]] && continue
		# A refused connection means the port is free (for now).
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			TAKEN_PORTS+="$p "
			echo "$p"
			return 0
		fi
	done
	die "found no free loopback port"
}

random_token() { od -An -tx1 -N16 /dev/urandom | tr -d ' \n'; }

# The readiness checks.
etcd_ready() { curl -fsS "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }
apiserver_ready() { kubectl get --raw=/readyz; }
simulator_ready() { curl -fsS "$EVS_SIMULATOR_URL/sim/v1/stats"; }
operator_ready() { curl -fsS "http://127.0.0.1:$OPERATOR_PROBE_PORT/readyz"; }

# start_operator runs the operator against the stack's simulator, with the webhook server on
# loopback; the ports come from the state file.
start_operator() {
	KUBECONFIG=$OPERATOR_KUBECONFIG HUAWEICLOUD_SDK_AK=$SIM_AK HUAWEICLOUD_SDK_SK=$SIM_SK \
		start_process evs-operator "$OPERATOR_BIN" \
		--evs-endpoint "$EVS_SIMULATOR_URL" --project-id "$SIM_PROJECT_ID" \
		--poll-interval "${POLL_INTERVAL:-1s}" --resync-period "${RESYNC_PERIOD:-30s}" \
		--metrics-bind-address "127.0.0.1:$OPERATOR_METRICS_PORT" \
		--health-probe-bind-address "127.0.0.1:$OPERATOR_PROBE_PORT" \
		--webhook-host 127.0.0.1 --webhook-port "$OPERATOR_WEBHOOK_PORT" \
		--webhook-cert-dir "$LOCAL_DIR/certs/webhook"
	wait_ready evs-operator operator_ready
}
