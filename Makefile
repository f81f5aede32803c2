# extbuilder: external chaincode builders for Hyperledger Fabric peers.
# `make demo` runs the builder on a bundled sample package; `make test` runs every test.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO      ?= go
BIN     ?= bin
PKG     := github.com/extbuilder/extbuilder
LDFLAGS := -s -w -X $(PKG)/pkg/cli.Version=$(VERSION)
# Static, reproducible binaries: no cgo, no build paths.
GOBUILD := CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)'

PROGRAMS := detect build release

.PHONY: all build test demo bench clean

all: build

build:
	@mkdir -p $(BIN)
	$(GOBUILD) -o $(BIN)/ $(addprefix ./cmd/,$(PROGRAMS))

test:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test ./...

demo: build
	$(GO) run ./test/demo -bin $(BIN)

clean:
	rm -rf $(BIN) dist
