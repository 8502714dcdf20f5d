#!/usr/bin/env bash
# Installs what `make test` needs on a fresh Debian machine (run as root):
# Debian packages for the peers the e2e tests drive, and Go tools.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v prometheus >/dev/null || need_apt+=(prometheus)
command -v amtool >/dev/null || need_apt+=(prometheus-alertmanager)
if ((${#need_apt[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-test-deps: need root to apt-get install ${need_apt[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
  # The packages start services; the tests start their own instances.
  for s in prometheus prometheus-alertmanager prometheus-node-exporter; do
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
