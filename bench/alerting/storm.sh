#!/usr/bin/env bash
# Alert storm benchmark (issue 11 item 1): BENCH_STORM_ALERTS distinct
# alerts, each its own notification (group_by: ['...'], group_wait 1s) to a
# "storm" webhook, posted through the Alertmanager API v2 in batches of
# BENCH_STORM_BATCH by BENCH_STORM_CLIENTS clients for at most
# BENCH_STORM_DURATION; BENCH_STORM_PAGE_AFTER into the storm one ordinary
# alert routed to a "pager" webhook. Same config and load on bin/vigil and
# on Debian's Alertmanager (prometheus-alertmanager), BENCH_STORM_RUNS times
# each, alternating. Output: $BENCH_OUT (bench/.out/alerting-storm)/results.md.
# Run under the shared lock: flock /work/wt/bench.lock bash bench/alerting/storm.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
out=${BENCH_OUT:-$root/bench/.out/alerting-storm}
mkdir -p "$out"
log() { echo "storm: $(date -u +%H:%M:%S) $*" >&2; }
alerts=${BENCH_STORM_ALERTS:-100000} batch=${BENCH_STORM_BATCH:-1000} clients=${BENCH_STORM_CLIENTS:-4}
dur=${BENCH_STORM_DURATION:-60s} window=${BENCH_STORM_WINDOW:-90s} pageafter=${BENCH_STORM_PAGE_AFTER:-5s} runs=${BENCH_STORM_RUNS:-3}

[[ -x bin/vigil ]] || go build -o bin/vigil ./cmd/vigil
am=$(command -v prometheus-alertmanager || true)
[[ -n $am ]] || { log "prometheus-alertmanager missing: make tools installs it"; exit 1; }
go build -o "$out/storm" ./bench/alerting/storm
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

route() { # $1 = webhook address
  cat <<YAML
route:
  receiver: storm
  group_by: ['...']
  group_wait: 1s
  group_interval: 5m
  repeat_interval: 1h
  routes:
    - {matchers: [severity="page"], receiver: pager, group_by: [alertname]}
receivers:
  - name: storm
    webhook_configs: [{url: "http://$1/storm", send_resolved: false}]
  - name: pager
    webhook_configs: [{url: "http://$1/pager", send_resolved: false}]
YAML
}

wait_ready() { for _ in $(seq 1 300); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done; log "not ready: $1"; return 1; }

run_one() { # $1 = vigil|alertmanager, $2 = run number
  local dir=$out/$1-$2 hook http pid api
  rm -rf "$dir"; mkdir -p "$dir"
  hook=127.0.0.1:$(port) http=127.0.0.1:$(port)
  if [[ $1 == vigil ]]; then
    { echo "alerting:"; route "$hook" | sed 's/^/  /'; } >"$dir/vigil.yaml"
    bin/vigil serve --config "$dir/vigil.yaml" --data-dir "$dir/data" --http-addr "$http" \
      --otlp-grpc-addr 127.0.0.1:$(port) --otlp-http-addr 127.0.0.1:$(port) >"$dir/log" 2>&1 &
    pid=$!; api=http://$http/alertmanager/api/v2/alerts; wait_ready "http://$http/readyz"
  else
    route "$hook" >"$dir/am.yml"
    "$am" --config.file="$dir/am.yml" --storage.path="$dir/data" --web.listen-address="$http" \
      --cluster.listen-address= >"$dir/log" 2>&1 &
    pid=$!; api=http://$http/api/v2/alerts; wait_ready "http://$http/-/ready"
  fi
  "$out/storm" -name "$1" -api "$api" -listen "$hook" -pid "$pid" -alerts "$alerts" -batch "$batch" \
    -clients "$clients" -duration "$dur" -window "$window" -page-after "$pageafter" | tee -a "$out/rows.md"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "loadavg at start: $(cat /proc/loadavg)"
  echo "vigil: $(bin/vigil version 2>&1 | head -1)"
  echo "alertmanager: $("$am" --version 2>&1 | head -1)"
  echo "command: storm -alerts $alerts -batch $batch -clients $clients -duration $dur -window $window -page-after $pageafter (x$runs each)"
} >"$out/machine.txt"
cat "$out/machine.txt" >&2
: >"$out/rows.md"
for i in $(seq 1 "$runs"); do
  run_one vigil "$i"
  run_one alertmanager "$i"
  echo "loadavg after run $i: $(cat /proc/loadavg)" >>"$out/machine.txt"
done
{
  echo '```'; cat "$out/machine.txt"; echo '```'
  echo
  echo "| target | alerts posted | refused | failed | posting took | alerts/s | mean request | page POST took | page delivered after POST began | storm notifications delivered in window | peak RSS |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  cat "$out/rows.md"
} >"$out/results.md"
log "results: $out/results.md"
