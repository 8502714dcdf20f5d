#!/usr/bin/env bash
# Probes benchmark: 10,000 HTTP probes every 30 s against a local HTTP
# server, on bin/vigil (its probes) and on the blackbox exporter 0.23 scraped
# by Prometheus 2.42 (Debian packages) for the same 10,000 targets, one
# after the other. Reports probe runs against expected, late and skipped
# runs, and process CPU per probe run (Vigil: one process; peer: exporter +
# Prometheus). Results: $BENCH_OUT (default bench/.out/probes)/summary.md;
# docs/perf/probes.md explains them.
#
# Knobs (environment): BENCH_PROBE_TARGETS (10000), BENCH_PROBE_INTERVAL
# (30s), BENCH_PROBE_WARMUP (45s), BENCH_PROBE_MEASURE (120s),
# BENCH_PROBE_REPEATS (2), BENCH_PROBE_SIDES (vigil,peer).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
out=${BENCH_OUT:-$root/bench/.out/probes}
mkdir -p "$out"
log() { echo "probes: $(date -u +%H:%M:%S) $*" >&2; }

[[ -x bin/vigil ]] || { log "bin/vigil missing: building"; go build -o bin/vigil ./cmd/vigil; }
prom=$(bash bench/peers/prometheus.sh)
bb=$(command -v prometheus-blackbox-exporter || true)
if [[ -z $bb ]]; then
  if [[ $(id -u) -ne 0 ]]; then echo "probes: need root to apt-get install prometheus-blackbox-exporter" >&2; exit 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-blackbox-exporter >&2
  systemctl stop prometheus-blackbox-exporter >/dev/null 2>&1 || service prometheus-blackbox-exporter stop >/dev/null 2>&1 || true
  bb=$(command -v prometheus-blackbox-exporter)
fi
# Each probe is a new connection (the exporter disables keep-alive): make
# sure the ephemeral ports and the accept queue do not limit the peer.
ulimit -n 65536 2>/dev/null || true

log "building the load driver"
go build -o "$out/probebench" ./bench/probes/probebench

args=(-targets "${BENCH_PROBE_TARGETS:-10000}" -interval "${BENCH_PROBE_INTERVAL:-30s}" -warmup "${BENCH_PROBE_WARMUP:-45s}"
  -measure "${BENCH_PROBE_MEASURE:-120s}" -repeats "${BENCH_PROBE_REPEATS:-2}" -sides "${BENCH_PROBE_SIDES:-vigil,peer}")
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "loadavg at start: $(cat /proc/loadavg)"
  echo "vigil: $(bin/vigil version 2>&1 | head -1)"
  echo "prometheus: $("$prom" --version 2>&1 | head -1)"
  echo "blackbox exporter: $("$bb" --version 2>&1 | head -1)"
  echo "command: $out/probebench ${args[*]}"
} >"$out/machine.txt"
cat "$out/machine.txt" >&2

"$out/probebench" -vigil bin/vigil -prometheus "$prom" -blackbox "$bb" -out "$out" "${args[@]}" | tee "$out/results.md"
{ echo '```'; cat "$out/machine.txt"; echo '```'; cat "$out/results.md"; } >"$out/summary.md"
log "summary: $out/summary.md"
