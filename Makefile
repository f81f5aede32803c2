# extbuilder: external chaincode builders for Hyperledger Fabric peers.
# `make demo` packages and installs the bundled samples and launches the binary one; `make test` runs every test
# (go test through test/skips, which ends with the list of skipped tests and their reasons).

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO      ?= go
# bin/ holds exactly the programs the peer runs (copy it to the peer);
# tools/ holds the operator's tool, extbuilder, as in the release archives.
BIN     ?= bin
TOOLS   ?= tools
PKG     := github.com/extbuilder/extbuilder
LDFLAGS := -s -w -X $(PKG)/internal/cli.Version=$(VERSION)
# Static, reproducible binaries: no cgo, no build paths.
GOBUILD := CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)'

# The programs the peer runs: four static binaries, bin/<name> from
# ./cmd/<name>. internal/bindir lays out the tests' bin/ the same way.
PROGRAMS := detect build release run

# $(call install-programs,DIR[,GOOS=... GOARCH=...]): the programs into DIR.
# One subshell that stops at the first failure, so it serves as a recipe
# line and inside dist's shell loop alike.
install-programs = (set -e; mkdir -p $(1); $(2) $(GOBUILD) -o $(1)/ $(addprefix ./cmd/,$(PROGRAMS)))

.PHONY: all build test demo bench clean build-k8s k8s-test-env

all: build

build:
	$(call install-programs,$(BIN))
	mkdir -p $(TOOLS)
	$(GOBUILD) -o $(TOOLS)/ ./cmd/extbuilder

test:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run ./test/skips -count=1 ./...

demo: build
	$(GO) run ./test/demo -bin $(BIN) -tools $(TOOLS)

clean:
	rm -rf $(BIN) $(TOOLS) $(DIST) $(IMAGE_STAGE) $(K8S_BIN)

# --- Kubernetes launching (docs/kubernetes.md) ---
# The second builder, for packages of type k8s: K8S_BIN/{detect,build,release,run}
# from ./cmd/k8s/<name>. Only its run links client-go, which is why it is a
# builder folder of its own and not part of bin/.
K8S_BIN ?= k8s/bin
build-k8s:
	mkdir -p $(K8S_BIN)
	$(GOBUILD) -o $(K8S_BIN)/ $(addprefix ./cmd/k8s/,$(PROGRAMS))

# The real etcd and kube-apiserver that test/k8s runs against, built from
# the Go module proxy and cached outside the repository (about 13 minutes
# cold on 2 cores, then reused). K8S_TEST_ENV_DIR overrides where.
k8s-test-env:
	GO=$(GO) ./test/k8s/env/build.sh

# --- Speed and hostile input (docs/performance.md) ---
# bench builds the programs with LDFLAGS into a temporary folder and prints
# every figure next to its budget (MET/MISSED, never a failure).
bench:
	$(GO) run ./test/bench -ldflags '$(LDFLAGS)'

# fuzz runs every fuzz target in the repository, one at a time (go test
# -fuzz takes one target per package run), FUZZTIME each. New crashers land
# in the package's testdata/fuzz and are replayed by `make test` from then on.
# A bare "context deadline exceeded" with no failing input written is a race
# in Go's fuzzing coordinator at the end of -fuzztime, reported but not failed.
# FUZZMINIMIZETIME bounds the minimizing of each new interesting input (Go's
# default is 60s): with inputs carrying PEM text, most of the time went there
# and pkg/connection's FuzzParse ran about 8 execs/s instead of about 600.
FUZZTIME         ?= 30s
FUZZPARALLEL     ?= 1
FUZZMINIMIZETIME ?= 2000x
.PHONY: fuzz
fuzz:
	@targets=$$($(GO) test -list '^Fuzz' ./... | awk '/^Fuzz/ { t[n++] = $$1; next } \
	    /^ok/ { for (i = 0; i < n; i++) print $$2 "," t[i]; n = 0 }') || exit 1; \
	  [ -n "$$targets" ] || { echo "no fuzz targets found"; exit 1; }; \
	  log=$$(mktemp); trap 'rm -f "$$log" "$$log.rc"' EXIT; \
	  failed=; for t in $$targets; do pkg=$${t%,*}; name=$${t#*,}; \
	    echo "== $$pkg $$name for $(FUZZTIME)"; \
	    { $(GO) test $$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) -parallel $(FUZZPARALLEL) -timeout 0; \
	      echo $$? > "$$log.rc"; } 2>&1 | tee "$$log"; \
	    if [ "$$(cat "$$log.rc")" = 0 ]; then continue; fi; \
	    if grep -qx '    context deadline exceeded' "$$log" && ! grep -q 'Failing input written to' "$$log"; then \
	      echo "fuzz: $$pkg $$name: Go's end-of-fuzztime race (golang/go#75804), no failing input written: not a finding"; \
	    else failed="$$failed $$pkg.$$name"; fi; \
	  done; \
	  if [ -n "$$failed" ]; then echo "fuzz: failures in:$$failed"; exit 1; fi

# --- Peer image and release archives (docs/peer-image.md) ---
# Both build static Linux binaries whatever the host, with the same flags as
# `build`: PROGRAMS go to bin/, the operator tool extbuilder to tools/.

# Base image, fully qualified: podman and buildah refuse a short name unless
# registries.conf lists search registries (Debian's does not).
# Pin a digest with FABRIC_PEER_IMAGE=docker.io/hyperledger/fabric-peer:3.1.5@sha256:...
FABRIC_PEER_IMAGE ?= docker.io/hyperledger/fabric-peer:3.1.5
# Where the base keeps core.yaml (its FABRIC_CFG_PATH); v2.5.0 to v2.5.5: /var/hyperledger/fabric/config
CORE_YAML_DIR     ?= /etc/hyperledger/fabric
IMAGE             ?= extbuilder-peer:$(VERSION)
# docker, podman or buildah. CONTAINER_FLAGS go before "build" (e.g. buildah's
# --storage-driver vfs), CONTAINER_BUILD_FLAGS after it (e.g. --isolation chroot).
CONTAINER_TOOL        ?= docker
CONTAINER_FLAGS       ?=
CONTAINER_BUILD_FLAGS ?=
IMAGE_SOURCE      ?= https://github.com/extbuilder/extbuilder
# Must match the base image's architecture.
IMAGE_ARCH        ?= $(shell $(GO) env GOARCH)
# The image's build context (bin/ and tools/ for Linux), removed when
# peer-image ends, whether it succeeded or not, and by `make clean`.
IMAGE_STAGE       ?= image-stage

DIST        ?= dist
DIST_ARCHES ?= amd64 arm64
# Archive timestamps: the last commit's, so the same commit gives the same bytes.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
TAR_REPRODUCIBLE   = --sort=name --format=gnu --owner=0 --group=0 --numeric-owner \
                     --mtime=@$(SOURCE_DATE_EPOCH) --mode=u=rwX,go=rX

.PHONY: peer-image dist

# First the container tool: is it installed, and can it work here (docker
# needs its daemon)? One line saying what is missing, before anything is built.
peer-image:
	@command -v $(firstword $(CONTAINER_TOOL)) >/dev/null 2>&1 || { \
	  echo "peer-image: $(CONTAINER_TOOL) is not installed; install it or set CONTAINER_TOOL=docker, podman or buildah" >&2; exit 1; }
	@err=$$($(CONTAINER_TOOL) $(CONTAINER_FLAGS) info 2>&1 >/dev/null) || { \
	  reason=$$(printf '%s\n' "$$err" | grep -v '^[[:space:]]*$$' | tail -n 1); \
	  echo "peer-image: '$(CONTAINER_TOOL) info' failed, so $(CONTAINER_TOOL) cannot build the image here: $${reason:-no reason given}" >&2; exit 1; }
	rm -rf $(IMAGE_STAGE)
	@set -ex; trap 'rm -rf $(IMAGE_STAGE)' EXIT; trap 'exit 130' INT TERM; \
	  mkdir -p $(IMAGE_STAGE)/tools; \
	  $(call install-programs,$(IMAGE_STAGE)/bin,GOOS=linux GOARCH=$(IMAGE_ARCH)); \
	  GOOS=linux GOARCH=$(IMAGE_ARCH) $(GOBUILD) -o $(IMAGE_STAGE)/tools/ ./cmd/extbuilder; \
	  mkdir -p $(IMAGE_STAGE)/k8s/bin; \
	  GOOS=linux GOARCH=$(IMAGE_ARCH) $(GOBUILD) -o $(IMAGE_STAGE)/k8s/bin/ $(addprefix ./cmd/k8s/,$(PROGRAMS)); \
	  $(CONTAINER_TOOL) $(CONTAINER_FLAGS) build $(CONTAINER_BUILD_FLAGS) -f Dockerfile.peer -t $(IMAGE) \
	    --build-arg FABRIC_PEER_IMAGE=$(FABRIC_PEER_IMAGE) --build-arg CORE_YAML_DIR=$(CORE_YAML_DIR) \
	    --build-arg VERSION=$(VERSION) --build-arg SOURCE=$(IMAGE_SOURCE) \
	    $(IMAGE_STAGE)

# dist/extbuilder-$(VERSION)-linux-ARCH.tar.gz hold extbuilder/bin/* and
# extbuilder/tools/extbuilder: `tar -C /opt/hyperledger -xzf ...` gives a
# builder at /opt/hyperledger/extbuilder. SHA256SUMS covers this version's archives.
dist:
	@mkdir -p $(DIST)
	rm -rf $(foreach a,$(DIST_ARCHES),$(DIST)/extbuilder-$(VERSION)-linux-$(a).tar.gz $(DIST)/extbuilder-$(VERSION)-linux-$(a)) $(DIST)/SHA256SUMS
	set -e; for arch in $(DIST_ARCHES); do \
	  stage=$(DIST)/extbuilder-$(VERSION)-linux-$$arch; \
	  mkdir -p $$stage/extbuilder/tools; \
	  $(call install-programs,$$stage/extbuilder/bin,GOOS=linux GOARCH=$$arch); \
	  GOOS=linux GOARCH=$$arch $(GOBUILD) -o $$stage/extbuilder/tools/ ./cmd/extbuilder; \
	  tar $(TAR_REPRODUCIBLE) -C $$stage -cf $$stage.tar extbuilder; \
	  gzip -9n $$stage.tar; \
	  rm -rf $$stage; \
	done
	cd $(DIST) && sha256sum $(foreach a,$(DIST_ARCHES),extbuilder-$(VERSION)-linux-$(a).tar.gz) > SHA256SUMS
	@cat $(DIST)/SHA256SUMS
