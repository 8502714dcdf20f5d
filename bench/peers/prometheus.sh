#!/usr/bin/env bash
# Installs Prometheus 2.42 (Debian package "prometheus") when missing and
# prints the path of the binary. The package starts a system service; the
# benchmarks start their own instance, so the service is stopped.
set -euo pipefail

want=2.42
if ! command -v prometheus >/dev/null; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "peers/prometheus: need root to apt-get install prometheus" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends prometheus >&2
  for s in prometheus prometheus-node-exporter; do
    systemctl stop "$s" >/dev/null 2>&1 || service "$s" stop >/dev/null 2>&1 || true
  done
fi
bin=$(command -v prometheus)
ver=$("$bin" --version 2>&1 | head -1)
case "$ver" in
  *"version $want."*) ;;
  *) echo "peers/prometheus: warning: want Prometheus $want, found: $ver" >&2 ;;
esac
echo "$bin"
