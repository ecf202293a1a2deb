#!/usr/bin/env bash
# Applies config/default to the cluster in your kubeconfig, running the image IMG, or removes what
# it installed. Run through `make deploy` / `make undeploy`.
# Usage: hack/local/deploy.sh apply|delete <kubectl> <image>
set -euo pipefail

action=${1:?usage: $0 apply|delete <kubectl> <image>}
kubectl=${2:?usage: $0 apply|delete <kubectl> <image>}
img=${3:?usage: $0 apply|delete <kubectl> <image>}
root=$(cd "$(dirname "$0")/../.." && pwd)
namespace=evs-operator-system

die() {
	printf 'deploy: %s\n' "$*" >&2
	exit 1
}

# An overlay under bin/ (kustomize wants bases by relative path) sets the image without touching
# the checkout.
overlay=$root/bin/deploy
mkdir -p "$overlay"
trap 'rm -rf "$overlay"' EXIT
name=$img tag="" digest=""
if [[ $img == *@* ]]; then
	name=${img%%@*} digest=${img#*@}
elif [[ ${img##*/} == *:* ]]; then
	name=${img%:*} tag=${img##*:}
fi
{
	echo "resources:"
	echo "- ../../config/default"
	echo "images:"
	echo "- name: evs-operator"
	echo "  newName: $name"
	[[ -z $tag ]] || echo "  newTag: \"$tag\""
	[[ -z $digest ]] || echo "  digest: \"$digest\""
	if [[ $action == delete ]]; then
		# The CRDs stay, and with them every EVS object and its cloud snapshot: deleting a CRD
		# deletes its objects, which with deletionPolicy Delete deletes their snapshots in the cloud.
		echo "patches:"
		echo "- target: {kind: CustomResourceDefinition}"
		echo "  patch: |-"
		echo "    \$patch: delete"
		echo "    apiVersion: apiextensions.k8s.io/v1"
		echo "    kind: CustomResourceDefinition"
		echo "    metadata: {name: any}"
	fi
} >"$overlay/kustomization.yaml"

case $action in
apply)
	"$kubectl" get crd certificates.cert-manager.io >/dev/null 2>&1 ||
		die "cert-manager is not installed in the cluster; it issues the webhook server's certificate"
	"$kubectl" apply -k "$overlay"
	if ! "$kubectl" -n "$namespace" get secret evs-credentials >/dev/null 2>&1; then
		cat >&2 <<-MSG
			deploy: the operator starts once it has credentials; create them with
			  kubectl -n $namespace create secret generic evs-credentials --from-literal=ak=<access key> --from-literal=sk=<secret key>
			and set --region and --project-id in config/manager/manager.yaml (or an overlay).
		MSG
	fi
	;;
delete)
	"$kubectl" delete --ignore-not-found -k "$overlay"
	echo "deploy: the CRDs are left in place; 'kubectl delete -k config/crd' removes them and every EVS object" >&2
	;;
*)
	die "unknown action $action (apply or delete)"
	;;
esac
