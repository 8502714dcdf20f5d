# Vigil — make help lists the targets.
SHELL := /bin/bash
GO ?= go
# A semantic version: the release tag at HEAD (v0.3.0 -> 0.3.0), else the
# next release (internal/version.Next) as a development build with the
# commit: 0.3.0-dev+3f2c1ab (.dirty with uncommitted changes).
NEXT_VERSION := $(shell sed -n 's/^const Next = "\(.*\)"/\1/p' internal/version/version.go)
VERSION ?= $(shell git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null | sed 's/^v//' | grep . || \
             echo "$(NEXT_VERSION)-dev+$$(git rev-parse --short=7 HEAD 2>/dev/null || echo unknown)$$(git diff --quiet HEAD 2>/dev/null || echo .dirty)" | sed 's/+unknown$$//')
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
# The last commit's time, not the time of the call: link flags that change on
# every call made `make run` relink the binary every time.
BUILD_DATE ?= $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo unknown)
BRANCH ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
BUILD_USER ?= $(shell echo "$$(id -un 2>/dev/null || echo unknown)@$$(hostname 2>/dev/null || echo unknown)")
LDFLAGS := -X github.com/vigilhq/vigil/internal/version.Version=$(VERSION) \
           -X github.com/vigilhq/vigil/internal/version.Commit=$(COMMIT) \
           -X github.com/vigilhq/vigil/internal/version.Branch=$(BRANCH) \
           -X github.com/vigilhq/vigil/internal/version.BuildUser=$(BUILD_USER) \
           -X github.com/vigilhq/vigil/internal/version.BuildDate=$(BUILD_DATE)
# make run CONFIG=vigil.yaml RUN_FLAGS='--data-dir /tmp/v --http-addr 127.0.0.1:9800'
CONFIG ?=
RUN_FLAGS ?= --data-dir ./data $(if $(CONFIG),--config $(CONFIG),)

.PHONY: help run build test unit e2e lint fuzz bench example ui ui-test tools clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 12

build: ui-dist ## build bin/vigil (and the web UI when its sources changed)
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/vigil ./cmd/vigil

run: build ## build (only what changed) and start vigil with data in ./data (CONFIG=file, RUN_FLAGS=flags)
	./bin/vigil serve $(RUN_FLAGS)

test: tools build ## install what tests need, then unit, SDK and end-to-end tests
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /test/e2e)
	cd sdk && $(GO) test -count=1 -race ./...
	cd examples/shop && $(GO) test -count=1 -race ./...
	VIGIL_BIN=$(CURDIR)/bin/vigil $(GO) test -count=1 -timeout 25m ./test/e2e/...
	cd web && $(NPM) test
	cd web && VIGIL_BIN=$(CURDIR)/bin/vigil $(NPM) run browser-test

unit: ## unit tests only (server module and SDK)
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /test/e2e)
	cd sdk && $(GO) test -count=1 ./...

e2e: build ## end-to-end tests against bin/vigil
	VIGIL_BIN=$(CURDIR)/bin/vigil $(GO) test -count=1 -timeout 25m -v ./test/e2e/...

tools: ## install the tools the tests use (Debian packages, Go tools)
	bash scripts/install-test-deps.sh

lint: ## go vet and gofmt on both modules
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	cd sdk && $(GO) vet ./...

fuzz: ## run every fuzz test for 20s each
	bash scripts/fuzz.sh 20s

bench: build ## benchmarks side by side with the peers (see docs/PERFORMANCE.md)
	bash bench/run.sh

example: ## run examples/shop against a running vigil (make run in another shell)
	cd examples/shop && OTEL_EXPORTER_OTLP_ENDPOINT=$${OTEL_EXPORTER_OTLP_ENDPOINT:-http://127.0.0.1:4318} $(GO) run .

# The web UI (web/, TypeScript + Vite) is built into internal/ui/site/app,
# which internal/ui embeds. Built files are not committed: site/ holds only
# README.md (which no build writes), and a binary built without them serves
# a page saying how to build them.
# File dependencies keep `make build` from rebuilding an unchanged UI.
UI_SRC := $(shell find web/src -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json web/package.json
UI_OUT := internal/ui/site/app/index.html
NPM ?= npm

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && $(NPM) ci --no-audit --no-fund
	@touch $@

$(UI_OUT): web/node_modules/.package-lock.json $(UI_SRC)
	cd web && $(NPM) run build

.PHONY: ui-dist
ui-dist: ## the web UI when npm is present (skipped with a note when it is not)
	@if command -v $(NPM) >/dev/null 2>&1; then $(MAKE) --no-print-directory $(UI_OUT); \
	else echo "npm not found: building bin/vigil without its web UI (install Node.js 20 and npm, then make ui)"; fi

ui: web/node_modules/.package-lock.json $(UI_OUT) ## build the web UI into internal/ui/site (npm ci from the lockfile)

ui-test: ui ## Vitest units and the browser tests of the web UI (needs bin/vigil, chromium)
	cd web && $(NPM) test
	cd web && VIGIL_BIN=$(CURDIR)/bin/vigil $(NPM) run browser-test

clean: ## remove build output
	rm -rf bin internal/ui/site/app
