#!/usr/bin/env bash
# Metrics benchmark: remote-write ingestion, disk use and PromQL latency of
# bin/vigil, Prometheus 2.42 and VictoriaMetrics v1.151.0, one at a time, on
# the same pre-encoded data. Results: $BENCH_OUT (default bench/.out/metrics),
# summary.md there; docs/perf/metrics.md explains every figure.
#
# Two data sets (corpora, built once per 2-hour window and cached):
#  - ingest: 100,000 series, 2,000 samples per request, 10 shards; each run
#    sends round 0 (creates the series, timed on its own) and then
#    BENCH_STEADY_ROUNDS rounds with every series active (the figure);
#  - disk: BENCH_DISK_SERIES series over 3h10m at 15 s, starting on a 2h
#    boundary, so that a Prometheus TSDB cuts one whole 2h block. Each
#    target in turn is loaded and compacted (VictoriaMetrics: forced merge)
#    and left idle; ten range queries are then timed on all of them,
#    interleaved; then each is stopped and its blocks (Prometheus, Vigil) or
#    merged data dir (VictoriaMetrics) are measured.
#
# Knobs (environment): BENCH_RUNS (3), BENCH_STEADY_ROUNDS (40),
# BENCH_SERIES (100000), BENCH_SHARDS (10), BENCH_DISK_SERIES (10000),
# BENCH_QUERY_PASSES (3), BENCH_QUERY_REPS (7), BENCH_TARGETS
# ("vigil prometheus victoriametrics"), BENCH_PHASES ("ingest disk"; one of
# them re-measures only that part and keeps the other's results),
# BENCH_KEEP_DATA (0),
# VIGIL_BENCH_CACHE (~/.cache/vigil-bench),
# BENCH_VIGIL_BASE (unset: a second Vigil binary, e.g. built from the commit
# before a change, run as target "vigil-base" interleaved with the others, so
# that before and after are measured in the same run; summary.md then has a
# before/after table).
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

out=${BENCH_OUT:-$root/bench/.out/metrics}
cache=${VIGIL_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil-bench}
runs=${BENCH_RUNS:-3}
steady=${BENCH_STEADY_ROUNDS:-40}
series=${BENCH_SERIES:-100000}
shards=${BENCH_SHARDS:-10}
disk_series=${BENCH_DISK_SERIES:-10000}
passes=${BENCH_QUERY_PASSES:-3}
reps=${BENCH_QUERY_REPS:-7}
targets=${BENCH_TARGETS:-vigil prometheus victoriametrics}
base_bin=${BENCH_VIGIL_BASE:-}
if [[ -n $base_bin && " $targets " != *" vigil-base "* ]]; then
  targets="vigil-base $targets"
fi
phases=${BENCH_PHASES:-ingest disk}
keep=${BENCH_KEEP_DATA:-0}
ingest_corpus=$cache/corpus/ingest-${series}-series-$((steady + 1))-rounds-${shards}-shards
disk_corpus=$cache/corpus/disk-${disk_series}-series-3h10m-${shards}-shards

log() { echo "metrics: $(date -u +%H:%M:%S) $*" >&2; }
failures=()
fail() { log "FAILED: $*"; failures+=("$*"); }

mkdir -p "$out" "$cache"
for t in vigil vigil-base prometheus victoriametrics; do
  [[ " $phases " == *" ingest "* ]] && rm -rf "$out/$t"/tput-*
  [[ " $phases " == *" disk "* ]] && rm -rf "$out/$t/disk"
done
rm -rf "$out/data"
mkdir -p "$out/data"
rwload=$out/rwload
log "building the load generator"
go build -o "$rwload" ./bench/metrics/rwload || { fail "build rwload"; exit 1; }

# --- peers -----------------------------------------------------------------
vigil_bin=$root/bin/vigil
[[ -x $vigil_bin ]] || { fail "bin/vigil missing: run make build"; exit 1; }
if [[ " $targets " == *" vigil-base "* ]]; then
  [[ -x $base_bin ]] || { fail "BENCH_VIGIL_BASE ($base_bin) is not an executable"; exit 1; }
fi
prom_bin=; vm_bin=
if [[ " $targets " == *" prometheus "* ]]; then
  prom_bin=$(bash bench/peers/prometheus.sh) || { fail "install Prometheus"; targets=${targets/prometheus/}; }
fi
if [[ " $targets " == *" victoriametrics "* ]]; then
  vm_bin=$(bash bench/peers/victoriametrics.sh) || { fail "install VictoriaMetrics"; targets=${targets/victoriametrics/}; }
fi

# No scrape_configs in either: Vigil would otherwise scrape itself, putting
# the head's max time at "now" and making the backfilled data out of bounds.
printf 'scrape_configs: []\n' >"$out/vigil.yml"
printf 'global:\n  scrape_interval: 15s\n' >"$out/prometheus.yml"

[[ $phases == "ingest disk" ]] && rm -f "$out/machine.txt"
{
  echo "phases: $phases"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel: $(uname -r)"
  echo "go: $(go version)"
  echo "vigil: $("$vigil_bin" version 2>&1 | head -1)"
  [[ -n $base_bin ]] && echo "vigil-base: $("$base_bin" version 2>&1 | head -1) ($base_bin)"
  [[ -n $prom_bin ]] && echo "prometheus: $("$prom_bin" --version 2>&1 | head -1)"
  [[ -n $vm_bin ]] && echo "victoriametrics: v1.151.0, go install ($vm_bin)"
  echo "loadavg at start: $(cat /proc/loadavg)"
} >>"$out/machine.txt"
cat "$out/machine.txt" >&2

# --- corpora -----------------------------------------------------------------
log "building the corpora (cached in $cache/corpus)"
# Drop corpora of other parameters: they are large and rebuilt on demand.
for c in "$cache"/corpus/*; do
  [[ -d $c && $c != "$ingest_corpus" && $c != "$disk_corpus" ]] && rm -rf "$c"
done
"$rwload" gen -dir "$ingest_corpus" -series "$series" -shards "$shards" \
  -span "$(( (steady + 1) * 15 ))s" -out "$out/corpus-ingest.json" || { fail "build ingest corpus"; exit 1; }
"$rwload" gen -dir "$disk_corpus" -series "$disk_series" -shards "$shards" \
  -span 3h10m -out "$out/corpus-disk.json" || { fail "build disk corpus"; exit 1; }

# --- targets -----------------------------------------------------------------
pid=; base=; tsdb=
declare -A tpid=() tbase=() ttsdb=()
cleanup() {
  local p
  for p in $pid "${tpid[@]}"; do kill -9 "$p" 2>/dev/null; done
}
trap cleanup EXIT

# start NAME DATADIR LOG: starts a target and waits until it is ready.
start() {
  local name=$1 data=$2 logf=$3 p ready
  read -r -a p <<<"$("$rwload" ports -n 3)"
  base=http://127.0.0.1:${p[0]}
  case $name in
    vigil|vigil-base)
      local bin=$vigil_bin
      [[ $name == vigil-base ]] && bin=$base_bin
      "$bin" serve --config "$out/vigil.yml" --data-dir "$data" --http-addr "127.0.0.1:${p[0]}" \
        --otlp-grpc-addr "127.0.0.1:${p[1]}" --otlp-http-addr "127.0.0.1:${p[2]}" >"$logf" 2>&1 &
      ready=/readyz; tsdb=$data/metrics ;;
    prometheus)
      "$prom_bin" --config.file="$out/prometheus.yml" --storage.tsdb.path="$data" \
        --web.listen-address="127.0.0.1:${p[0]}" --web.enable-remote-write-receiver >"$logf" 2>&1 &
      ready=/-/ready; tsdb=$data ;;
    victoriametrics)
      "$vm_bin" -storageDataPath="$data" -httpListenAddr="127.0.0.1:${p[0]}" -search.disableCache >"$logf" 2>&1 &
      ready=/health; tsdb=$data ;;
  esac
  pid=$!
  for _ in $(seq 300); do
    curl -sf "$base$ready" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { pid=; return 1; }
    sleep 0.2
  done
  return 1
}

# stop: SIGTERM, then SIGKILL after 60 s.
stop() {
  [[ -z $pid ]] && return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 600); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; pid=; return 0; }
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=
}

write_url() { echo "$base/api/v1/write"; }

# ingest RUN NAME: one 100k-series ingestion run on an empty data dir.
ingest() {
  local n=$1 name=$2 dir=$out/$2/tput-$1 data=$out/data/$2-tput-$1
  mkdir -p "$dir"
  start "$name" "$data" "$dir/target.log" || { fail "$name run $n: did not start (see $dir/target.log)"; stop; return; }
  log "$name run $n: sending $series series x $((steady + 1)) rounds"
  "$rwload" send -dir "$ingest_corpus" -url "$(write_url)" -pid "$pid" -window "$steady" -out "$dir/send.json" \
    || fail "$name run $n: send (see $dir/send.json)"
  stop
  [[ $keep == 1 ]] || rm -rf "$data"
}

# diskload NAME: the 3h10m backfill and the compaction; the target stays up
# (idle) for the queries.
diskload() {
  local name=$1 dir=$out/$1/disk data=$out/data/$1-disk
  mkdir -p "$dir"
  start "$name" "$data" "$dir/target.log" || { fail "$name disk run: did not start (see $dir/target.log)"; stop; return; }
  log "$name disk run: backfilling 3h10m of $disk_series series"
  if ! "$rwload" send -dir "$disk_corpus" -url "$(write_url)" -pid "$pid" -out "$dir/send.json"; then
    fail "$name disk run: send (see $dir/send.json)"; stop; return
  fi
  if [[ $name == victoriametrics ]]; then
    log "$name: forcing a merge"
    "$rwload" vm-compact -url "$base" -out "$dir/vm.json" || fail "$name: forced merge"
  else
    log "$name: waiting for the head compaction to cut a block"
    "$rwload" wait-block -dir "$tsdb" -timeout 10m || fail "$name: no block was cut"
  fi
  tpid[$name]=$pid tbase[$name]=$base ttsdb[$name]=$tsdb
  pid=
}

# queryall: the range queries on every loaded target, interleaved query by
# query so that noise from the rest of the machine falls on all alike.
queryall() {
  local urls=() pids=() outs=() t
  for t in $targets; do
    [[ -n ${tpid[$t]:-} ]] || continue
    urls+=("${tbase[$t]}"); pids+=("${tpid[$t]}"); outs+=("$out/$t/disk/queries.json")
  done
  ((${#urls[@]})) || return
  log "timing queries on ${#urls[@]} targets, interleaved ($passes passes x $reps reps)"
  local IFS=,
  "$rwload" query -dir "$disk_corpus" -url "${urls[*]}" -pid "${pids[*]}" -passes "$passes" -reps "$reps" -out "${outs[*]}" \
    || fail "queries (see $out/*/disk/queries.json)"
}

# diskdone NAME: peak RSS, stop, bytes on disk.
diskdone() {
  local name=$1 dir=$out/$1/disk data=$out/data/$1-disk
  [[ -n ${tpid[$name]:-} ]] || return
  pid=${tpid[$name]} tsdb=${ttsdb[$name]}
  "$rwload" proc -pid "$pid" -out "$dir/proc.json"
  stop
  unset "tpid[$name]"
  if [[ $name == victoriametrics ]]; then
    "$rwload" disk -kind vm -dir "$tsdb" -vm-stats "$dir/vm.json" -out "$dir/disk.json" || fail "$name: disk size"
  else
    "$rwload" disk -kind tsdb -dir "$tsdb" -out "$dir/disk.json" || fail "$name: disk size"
  fi
  du -sb "$data"/* >"$dir/du.txt" 2>/dev/null
  [[ $keep == 1 ]] || rm -rf "$data"
}

# Interleave the targets so that noise from the rest of the machine falls on
# all of them alike.
if [[ " $phases " == *" ingest "* ]]; then
  for n in $(seq "$runs"); do
    for t in $targets; do ingest "$n" "$t"; done
  done
fi
if [[ " $phases " == *" disk "* ]]; then
  for t in $targets; do diskload "$t"; done
  queryall
  for t in $targets; do diskdone "$t"; done
fi

echo "loadavg at end: $(cat /proc/loadavg)" >>"$out/machine.txt"
"$rwload" report -dir "$out" >"$out/summary.md" || fail "report"
cat "$out/machine.txt"
cat "$out/summary.md"
if ((${#failures[@]})); then
  printf 'metrics: failed: %s\n' "${failures[@]}" >&2
  exit 1
fi
