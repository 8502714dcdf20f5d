#!/usr/bin/env bash
# Alerting benchmark: 10,000 alerting rules in 1,000 groups evaluated every
# 15 s over 100,000 series (remote-written every cycle), on bin/vigil and on
# Prometheus 2.42 + Alertmanager 0.25 (Debian), one after the other, with
# the same rules, data and route. Reports missed iterations, rule-group
# evaluation time, process CPU per cycle and evaluation→webhook latency
# p50/p99 after group_wait. Results: $BENCH_OUT (default
# bench/.out/alerting)/summary.md; docs/perf/alerting.md explains them.
#
# Knobs (environment): BENCH_ALERT_GROUPS (1000), BENCH_ALERT_RULES_PER_GROUP
# (10), BENCH_ALERT_SERIES_PER_GROUP (100), BENCH_ALERT_INTERVAL (15s),
# BENCH_ALERT_CYCLES (8), BENCH_ALERT_FIRE_GROUPS (10),
# BENCH_ALERT_TARGETS (vigil,prometheus).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
out=${BENCH_OUT:-$root/bench/.out/alerting}
mkdir -p "$out"
log() { echo "alerting: $(date -u +%H:%M:%S) $*" >&2; }

[[ -x bin/vigil ]] || { log "bin/vigil missing: building"; go build -o bin/vigil ./cmd/vigil; }
prom=$(bash bench/peers/prometheus.sh)
am=$(command -v prometheus-alertmanager || true)
if [[ -z $am ]]; then
  if [[ $(id -u) -ne 0 ]]; then echo "alerting: need root to apt-get install prometheus-alertmanager" >&2; exit 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-alertmanager >&2
  systemctl stop prometheus-alertmanager >/dev/null 2>&1 || service prometheus-alertmanager stop >/dev/null 2>&1 || true
  am=$(command -v prometheus-alertmanager)
fi

log "building the load generator"
go build -o "$out/albench" ./bench/alerting/albench

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "loadavg at start: $(cat /proc/loadavg)"
  echo "vigil: $(bin/vigil version 2>&1 | head -1)"
  echo "prometheus: $("$prom" --version 2>&1 | head -1)"
  echo "alertmanager: $("$am" --version 2>&1 | head -1)"
  echo "command: $out/albench -groups ${BENCH_ALERT_GROUPS:-1000} -rules-per-group ${BENCH_ALERT_RULES_PER_GROUP:-10} -series-per-group ${BENCH_ALERT_SERIES_PER_GROUP:-100} -interval ${BENCH_ALERT_INTERVAL:-15s} -cycles ${BENCH_ALERT_CYCLES:-8} -fire-groups ${BENCH_ALERT_FIRE_GROUPS:-10}"
} >"$out/machine.txt"
cat "$out/machine.txt" >&2

"$out/albench" -vigil bin/vigil -prometheus "$prom" -alertmanager "$am" -out "$out" \
  -groups "${BENCH_ALERT_GROUPS:-1000}" -rules-per-group "${BENCH_ALERT_RULES_PER_GROUP:-10}" \
  -series-per-group "${BENCH_ALERT_SERIES_PER_GROUP:-100}" -interval "${BENCH_ALERT_INTERVAL:-15s}" \
  -cycles "${BENCH_ALERT_CYCLES:-8}" -fire-groups "${BENCH_ALERT_FIRE_GROUPS:-10}" \
  -targets "${BENCH_ALERT_TARGETS:-vigil,prometheus}" | tee "$out/results.md"
{ echo '```'; cat "$out/machine.txt"; echo '```'; cat "$out/results.md"; } >"$out/summary.md"
log "summary: $out/summary.md"
