#!/usr/bin/env bash
# Installs what `make test` needs on a fresh Debian machine (run as root):
# Debian packages for the peers the e2e tests drive, and Go tools.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v prometheus >/dev/null || need_apt+=(prometheus)
command -v amtool >/dev/null || need_apt+=(prometheus-alertmanager)
# probes: the blackbox exporter side by side (e2e) and Chromium for the status page's browser test
command -v prometheus-blackbox-exporter >/dev/null || need_apt+=(prometheus-blackbox-exporter)
command -v chromium >/dev/null || need_apt+=(chromium)
if ((${#need_apt[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-test-deps: need root to apt-get install ${need_apt[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
  # The packages start services; the tests start their own instances.
  for s in prometheus prometheus-alertmanager prometheus-node-exporter prometheus-blackbox-exporter; do
    systemctl stop "$s" 2>/dev/null || service "$s" stop 2>/dev/null || true
  done
fi

mkdir -p .cache/tools
if [[ ! -x .cache/tools/telemetrygen ]]; then
  GOBIN="$PWD/.cache/tools" go install github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@v0.161.0
fi

# winston-loki (an npm Loki client library) for test/e2e/logs_test.go.
if [[ ! -f .cache/npm/winston-loki/node_modules/winston-loki/package.json ]]; then
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends nodejs npm
  fi
  mkdir -p .cache/npm/winston-loki
  npm install --prefix .cache/npm/winston-loki --no-audit --no-fund --silent winston@3.19.0 winston-loki@6.1.7
fi

# The web UI's tests (web/: Vitest and the browser tests) and the browser
# tests of test/e2e/browser (status page, sign-in): Debian's Chromium and
# node/npm (playwright-core drives Chromium; npm cannot download a browser).
need_apt=()
[[ -x /usr/bin/chromium ]] || need_apt+=(chromium)
command -v npm >/dev/null || need_apt+=(nodejs npm)
if ((${#need_apt[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-test-deps: need root to apt-get install ${need_apt[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi
if [[ ! -f web/node_modules/.package-lock.json || web/package-lock.json -nt web/node_modules/.package-lock.json ]]; then
  (cd web && npm ci --no-audit --no-fund)
  touch web/node_modules/.package-lock.json
fi
if [[ ! -d test/e2e/browser/node_modules/playwright-core ]]; then
  (cd test/e2e/browser && npm ci --no-audit --no-fund)
fi
