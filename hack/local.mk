# The local stack, the demo and deployment to a cluster. Included by the Makefile; the scripts are
# in hack/local/.

# Where the local stack keeps its state, pid files and logs.
LOCAL_DIR ?= $(CURDIR)/bin/local
LOCAL_ENV = LOCAL_DIR="$(LOCAL_DIR)" KUBEBUILDER_ASSETS_DIR="$(KUBEBUILDER_ASSETS_DIR)"

##@ Local stack

.PHONY: demo
demo: local-up ## Run the local stack, apply config/samples and follow them until Ready; leaves it running.
	@$(LOCAL_ENV) hack/local/demo.sh

.PHONY: local-up
local-up: build local-k8s-binaries ## Start etcd, kube-apiserver, the simulator and the operator in the background.
	@$(LOCAL_ENV) hack/local/up.sh

.PHONY: local-down
local-down: ## Stop the local stack (exactly the processes local-up started).
	@$(LOCAL_ENV) hack/local/down.sh

.PHONY: local-restart-operator
local-restart-operator: build ## Rebuild the operator and restart it on the running local stack.
	@$(LOCAL_ENV) hack/local/restart-operator.sh

# Like k8s-binaries, but reports progress while the long build runs.
.PHONY: local-k8s-binaries
local-k8s-binaries:
	@hack/local/k8s-binaries.sh "$(KUBEBUILDER_ASSETS_DIR)"

##@ Deployment

.PHONY: deploy
deploy: local-k8s-binaries ## Install CRDs, RBAC, webhooks and the operator (image IMG) into the cluster in your kubeconfig.
	@hack/local/deploy.sh apply "$(KUBECTL)" "$(IMG)"

.PHONY: undeploy
undeploy: local-k8s-binaries ## Remove what deploy installed but the CRDs, so EVS objects and their cloud resources stay.
	@hack/local/deploy.sh delete "$(KUBECTL)" "$(IMG)"
