# evs-operator Makefile. Every tool it needs is built from the Go module proxy at a pinned
# version into a cache outside the checkout, so other checkouts on the machine reuse it.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

# Pinned tool versions.
CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0
KUBERNETES_VERSION ?= v1.37.2

# Where tools live; override EVS_CACHE_DIR to move the whole cache.
EVS_CACHE_DIR ?= $(HOME)/.cache/evs-operator
TOOLS_DIR ?= $(EVS_CACHE_DIR)/tools
KUBEBUILDER_ASSETS_DIR ?= $(EVS_CACHE_DIR)/k8s-$(KUBERNETES_VERSION)

CONTROLLER_GEN ?= $(TOOLS_DIR)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
GOLANGCI_LINT ?= $(TOOLS_DIR)/golangci-lint-$(GOLANGCI_LINT_VERSION)
KUBECTL ?= $(KUBEBUILDER_ASSETS_DIR)/kubectl

GO_TEST_FLAGS ?= -race -count=1
IMG ?= evs-operator:dev

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} \
		/^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-24s\033[0m %s\n", $$1, $$2 } \
		/^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate CRDs, RBAC and webhook configurations.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd webhook paths="./..." \
		output:crd:artifacts:config=config/crd/bases

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object paths="./api/..."

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint.
	$(GOLANGCI_LINT) run ./...

.PHONY: verify
verify: manifests generate ## Regenerate everything, then fail if the checkout changed.
	go mod tidy
	@if [ -n "$$(git status --porcelain -- go.mod go.sum api config)" ]; then \
		echo "generated files are out of date; run 'make manifests generate' and commit:"; \
		git status --porcelain -- go.mod go.sum api config; git --no-pager diff --stat; exit 1; \
	fi
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then \
		echo "unformatted Go files (run 'make fmt'):"; echo "$$unformatted"; exit 1; fi

.PHONY: test
test: verify vet lint k8s-binaries ## Run every test: verify, vet, lint, unit, envtest (real kube-apiserver and etcd), end-to-end and chaos.
	KUBEBUILDER_ASSETS="$(KUBEBUILDER_ASSETS_DIR)" go test $(GO_TEST_FLAGS) ./...

.PHONY: bench
bench: build k8s-binaries ## Benchmark batched against per-object status sync (BENCH_N, BENCH_SCALE_N); writes bin/bench/results.json.
	KUBEBUILDER_ASSETS="$(KUBEBUILDER_ASSETS_DIR)" go run ./hack/bench $(BENCH_ARGS)

##@ Build

.PHONY: build
build: ## Build bin/evs-operator and bin/evs-simulator.
	go build -o bin/evs-operator .
	go build -o bin/evs-simulator ./hack/evs-simulator

.PHONY: run
run: ## Run the operator against the cluster in your kubeconfig, without webhooks.
	go run . --enable-webhooks=false $(RUN_ARGS)

.PHONY: docker-build
docker-build: ## Build the operator image (needs a container engine).
	docker build -t $(IMG) .

##@ Tools

.PHONY: k8s-binaries
k8s-binaries: ## Build kube-apiserver, etcd and kubectl into the cache (once; ~8 minutes cold).
	hack/build-k8s-binaries.sh "$(KUBEBUILDER_ASSETS_DIR)"

$(CONTROLLER_GEN):
	@mkdir -p $(TOOLS_DIR)
	hack/go-install-tool.sh $@ sigs.k8s.io/controller-tools/cmd/controller-gen $(CONTROLLER_TOOLS_VERSION)

$(GOLANGCI_LINT):
	@mkdir -p $(TOOLS_DIR)
	hack/go-install-tool.sh $@ github.com/golangci/golangci-lint/v2/cmd/golangci-lint $(GOLANGCI_LINT_VERSION)

# The local stack, the demo and cluster deployment.
include hack/local.mk
