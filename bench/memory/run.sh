#!/usr/bin/env bash
# Memory benchmark (issue 18 item 3): peak resident memory of Vigil under the
# bench loads, per signal beside the peer under the same load, and with all
# three signals at once on one Vigil against its memory_limit.
#
#   bash bench/memory/run.sh                        # both parts
#   PHASES=signals bash bench/memory/run.sh         # only the per-signal part
#   PHASES=all LIMITS="1GiB" bash bench/memory/run.sh
#
# 1. signals: for each signal, Vigil (default configuration: memory_limit
#    automatic) receiving only that signal's bench load plus that signal's
#    queries, then the peer under the same load: Prometheus 2.42 (remote-write
#    receiver) for metrics, Jaeger v2 (Badger) for traces, VictoriaLogs for
#    logs. Loads are the other benchmarks' generators, closed loop (each
#    worker sends its next request when the last is answered): metrics
#    bench/metrics/rwload (100,000 series, 10 shards, 2,000 samples a
#    request), traces bench/traces/loadgen (8 workers, 999 spans a request,
#    OTLP/HTTP), logs bench/logs/loadgen push (4 pushers, 2,000 lines a
#    request). Queries run in a loop beside the load: the metrics bench's ten
#    PromQL range queries; trace by ID and a tag search; a line filter and a
#    count_over_time over the last 10 minutes (LogsQL equivalents for
#    VictoriaLogs).
# 2. all: one Vigil per entry of LIMITS (a size, or "auto" for the default)
#    with all three loads and all the queries at once for ALL_DURATION: peak
#    RSS against memory_limit (+10% allowed), the retryable refusals
#    (503/429) the generators saw, the non-retryable errors (must be 0), and
#    whether the process survived (no OOM kill: the cgroup's oom_kill count
#    and the exit status).
#
# Every process's RSS is sampled every 100 ms by bench/memory/memwatch, which
# also reads VmHWM (the kernel's peak) and, for Vigil, keeps the /metrics
# scrape taken at the highest RSS (Go heap, TSDB head series, queues). The
# figures are acknowledged throughput beside peak RSS: a closed loop gives a
# faster server more load, so compare the two together.
#
# Knobs: PHASES ("signals all"), SIGNALS ("metrics traces logs"), DURATION
# (30s, per-signal phase), ALL_DURATION (60s), LIMITS ("1GiB auto"), SERIES
# (100000), ROUNDS (361) and INTERVAL (5s, in seconds): the corpus's scrape
# rounds, 30 minutes ending at most 10 minutes before the run (each run
# sends as many as it can in its phase; rebuilt when 10 minutes have
# passed, since Vigil's span metrics put the TSDB head at now and samples
# an hour older are refused), TRACE_WORKERS (8), LOG_WORKERS (4),
# VIGIL_BIN (bin/vigil), VIGIL_CONFIG_EXTRA (YAML added to the all-signals
# Vigil's configuration, for experiments), VIGIL_BENCH_CACHE
# (~/.cache/vigil-bench).
# Results: $BENCH_OUT (bench/.out/memory), summary.md there.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
OUT=${BENCH_OUT:-$ROOT/bench/.out/memory}
PHASES=${PHASES:-signals all}
SIGNALS=${SIGNALS:-metrics traces logs}
DURATION=${DURATION:-30s}
ALL_DURATION=${ALL_DURATION:-60s}
LIMITS=${LIMITS:-1GiB auto}
SERIES=${SERIES:-100000}
ROUNDS=${ROUNDS:-361}
INTERVAL=${INTERVAL:-5s}
TRACE_WORKERS=${TRACE_WORKERS:-8}
LOG_WORKERS=${LOG_WORKERS:-4}
VIGIL_BIN=${VIGIL_BIN:-$ROOT/bin/vigil}
CACHE=${VIGIL_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil-bench}
CORPUS=$CACHE/corpus/memory-${SERIES}-series-${ROUNDS}-rounds-${INTERVAL}-10-shards

log() { echo "memory: $(date -u +%H:%M:%S) $*" >&2; }
failures=()
fail() { log "FAILED: $*"; failures+=("$*"); }

mkdir -p "$OUT/bin" "$CACHE"
for p in $PHASES; do rm -rf "${OUT:?}/$p"; done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vigil-memory-bench.XXXXXX")
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]:-}"; do [[ -n $p ]] && kill -9 "$p" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT

[[ -x $VIGIL_BIN ]] || { fail "$VIGIL_BIN missing: run make build"; exit 1; }
log "building the load generators"
for t in bench/metrics/rwload bench/traces/loadgen bench/logs/loadgen bench/memory/memwatch; do
	go build -o "$OUT/bin/$(basename "$(dirname "$t")")-$(basename "$t")" "./$t" || { fail "build $t"; exit 1; }
done
RW=$OUT/bin/metrics-rwload TLG=$OUT/bin/traces-loadgen LLG=$OUT/bin/logs-loadgen MW=$OUT/bin/memory-memwatch

need_prom=0 need_jaeger=0 need_vlogs=0
if [[ " $PHASES " == *" signals "* ]]; then
	[[ " $SIGNALS " == *" metrics "* ]] && need_prom=1
	[[ " $SIGNALS " == *" traces "* ]] && need_jaeger=1
	[[ " $SIGNALS " == *" logs "* ]] && need_vlogs=1
fi
PROM_BIN= JAEGER_BIN= VLOGS_BIN=
((need_prom)) && { PROM_BIN=$(bash bench/peers/prometheus.sh) || fail "install Prometheus"; }
((need_jaeger)) && { JAEGER_BIN=${JAEGER_BIN:-$(bash bench/peers/jaeger.sh)} || fail "install Jaeger"; }
((need_vlogs)) && { VLOGS_BIN=$(bash bench/peers/victorialogs.sh) || fail "install VictoriaLogs"; }

metrics_needed=0
[[ " $PHASES " == *" all "* || " $SIGNALS " == *" metrics "* ]] && metrics_needed=1
if ((metrics_needed)); then
	log "building the remote-write corpus ($SERIES series x $ROUNDS rounds at $INTERVAL, cached in $CACHE/corpus)"
	for c in "$CACHE"/corpus/memory-*; do [[ -d $c && $c != "$CORPUS" ]] && rm -rf "$c"; done
	"$RW" gen -dir "$CORPUS" -series "$SERIES" -shards 10 -interval "$INTERVAL" -span "$((ROUNDS * ${INTERVAL%s}))s" -align 10m -out "$OUT/corpus.json" \
		|| { fail "build the corpus"; exit 1; }
fi

{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "phases: $PHASES; signals: $SIGNALS; duration: $DURATION per signal, $ALL_DURATION all signals; limits: $LIMITS"
	echo "nproc: $(nproc)"
	echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo); cgroup memory.max: $(cat /sys/fs/cgroup/memory.max 2>/dev/null || echo none)"
	echo "vigil: $("$VIGIL_BIN" version 2>&1 | head -1)"
	[[ -n $PROM_BIN ]] && echo "prometheus: $("$PROM_BIN" --version 2>&1 | head -1)"
	[[ -n $JAEGER_BIN ]] && echo "jaeger: v1.76.0 module (Jaeger v2), Badger ($JAEGER_BIN)"
	[[ -n $VLOGS_BIN ]] && echo "victorialogs: v1.52.1, go install ($VLOGS_BIN)"
	echo "loadavg at start: $(cat /proc/loadavg)"
} >"$OUT/machine-${PHASES// /-}.txt"
cat "$OUT/machine-${PHASES// /-}.txt" >&2

ports() { "$RW" ports -n "$1"; }
wait_http() {
	local url=$1 pid=$2
	for _ in $(seq 600); do
		curl -sf -o /dev/null "$url" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
# oom_kills: the cgroup's OOM kills so far, or -1 when it cannot be read
# (no memory.events at the root cgroup).
oom_kills() {
	local f=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup 2>/dev/null)/memory.events
	[[ -r $f ]] || f=/sys/fs/cgroup/memory.events
	[[ -r $f ]] && awk '$1 == "oom_kill" {print $2}' "$f" || echo -1
}

# start SYSTEM DIR [VIGIL_CONFIG]: starts a server on fresh ports; sets SPID,
# HTTP (its base URL), WRITE (remote write URL), OTLP (OTLP/HTTP base), JAPI
# (Jaeger query API), PUSH (Loki push URL), LQ (log query URL), METRICS.
start() {
	local sys=$1 dir=$2 cfg=${3:-} p ready
	read -r -a p <<<"$(ports 4)"
	mkdir -p "$dir"
	HTTP=http://127.0.0.1:${p[0]} METRICS= WRITE= OTLP= JAPI= PUSH= LQ=
	case $sys in
	vigil)
		printf 'scrape_configs: []\n%s' "$cfg" >"$dir.yml"
		"$VIGIL_BIN" serve --config "$dir.yml" --data-dir "$dir" --http-addr "127.0.0.1:${p[0]}" \
			--otlp-grpc-addr "127.0.0.1:${p[1]}" --otlp-http-addr "127.0.0.1:${p[2]}" >"$dir.log" 2>&1 &
		SPID=$!
		ready=$HTTP/readyz METRICS=$HTTP/metrics WRITE=$HTTP/api/v1/write OTLP=http://127.0.0.1:${p[2]}
		JAPI=$HTTP/jaeger PUSH=$HTTP/loki/api/v1/push LQ=$HTTP/loki/api/v1/query_range ;;
	prometheus)
		printf 'global:\n  scrape_interval: 15s\n' >"$dir.yml"
		"$PROM_BIN" --config.file="$dir.yml" --storage.tsdb.path="$dir" --web.listen-address="127.0.0.1:${p[0]}" \
			--web.enable-remote-write-receiver >"$dir.log" 2>&1 &
		SPID=$!
		ready=$HTTP/-/ready WRITE=$HTTP/api/v1/write ;;
	jaeger)
		cat >"$dir.yml" <<EOF
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
extensions:
  jaeger_query:
    storage:
      traces: store
    http:
      endpoint: 127.0.0.1:${p[0]}
    grpc:
      endpoint: 127.0.0.1:${p[3]}
  jaeger_storage:
    backends:
      store:
        badger:
          directories:
            keys: $dir/badger
            values: $dir/badger
          ephemeral: false
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${p[1]}
      http:
        endpoint: 127.0.0.1:${p[2]}
processors:
  batch:
exporters:
  jaeger_storage_exporter:
    trace_storage: store
EOF
		"$JAEGER_BIN" --config "$dir.yml" >"$dir.log" 2>&1 &
		SPID=$!
		ready=$HTTP/api/services OTLP=http://127.0.0.1:${p[2]} JAPI=$HTTP ;;
	victorialogs)
		"$VLOGS_BIN" -storageDataPath "$dir" -httpListenAddr "127.0.0.1:${p[0]}" -retentionPeriod 30d >"$dir.log" 2>&1 &
		SPID=$!
		ready=$HTTP/health PUSH=$HTTP/insert/loki/api/v1/push LQ=$HTTP/select/logsql ;;
	esac
	PIDS+=("$SPID")
	wait_http "$ready" "$SPID" || { fail "$sys did not start (see $dir.log)"; return 1; }
}

# stop: SIGTERM, SIGKILL after 60 s; sets EXIT_STATUS (137: killed, which
# before our SIGTERM means the OOM killer).
stop() {
	kill -TERM "$SPID" 2>/dev/null
	for _ in $(seq 600); do
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
	EXIT_STATUS=$?
}

# loop NAME OUT CMD...: runs CMD again and again until $WORK/stop-NAME
# exists, then writes {"runs":N,"failed":M} to OUT (the last failure's
# output beside it).
loop() {
	local name=$1 out=$2 ok=0 bad=0
	shift 2
	while [[ ! -e $WORK/stop-$name ]]; do
		if "$@" >"$out.last" 2>"$out.err"; then ok=$((ok + 1)); else bad=$((bad + 1)); cp "$out.err" "$out.failure"; fi
	done
	echo "{\"runs\": $((ok + bad)), \"failed\": $bad}" >"$out"
}

# queries SIGNAL SYSTEM DIR: starts SIGNAL's query loop against the server
# started last, in the background (QPID).
queries() {
	local sig=$1 sys=$2 dir=$3
	rm -f "$WORK/stop-$sig"
	case $sig in
	metrics)
		loop metrics "$dir/queries-metrics.json" "$RW" query -dir "$CORPUS" -url "$HTTP" -passes 1 -reps 1 -out /dev/null & ;;
	traces)
		loop traces "$dir/queries-traces.json" "$TLG" query -api "$JAPI" -state "$dir/traces-state.json" -n 10 & ;;
	logs)
		if [[ $sys == victorialogs ]]; then
			loop logs "$dir/queries-logs.json" bash -c "'$LLG' query -url '$LQ/query' -n 1 -spread 10m -q '{env=\"prod\"} needle' &&
				'$LLG' query -url '$LQ/stats_query_range' -n 1 -spread 10m -step 1m -q '{env=\"prod\"} | stats by (service_name) count()'" &
		else
			loop logs "$dir/queries-logs.json" bash -c "'$LLG' query -url '$LQ' -n 1 -spread 10m -q '{env=\"prod\"} |= \"needle\"' &&
				'$LLG' query -url '$LQ' -n 1 -spread 10m -step 1m -q 'sum by (service_name) (count_over_time({env=\"prod\"}[1m]))'" &
		fi ;;
	esac
	QPIDS+=($!)
}

# load SIGNAL DIR DURATION: SIGNAL's load against the server started last,
# in the background (LPIDS). Traces first sends 2 s on its own so that the
# queries have trace IDs to ask for.
load() {
	local sig=$1 dir=$2 dur=$3
	case $sig in
	metrics)
		"$RW" send -dir "$CORPUS" -url "$WRITE" -duration "$dur" -out "$dir/load-metrics.json" 2>"$dir/load-metrics.err" & ;;
	traces)
		"$TLG" ingest -endpoint "$OTLP" -duration "$dur" -workers "$TRACE_WORKERS" -first-request "$TRACE_NEXT" \
			>"$dir/load-traces.json" 2>"$dir/load-traces.err" & ;;
	logs)
		"$LLG" push -url "$PUSH" -workers "$LOG_WORKERS" -batch 2000 -duration "$dur" \
			>"$dir/load-logs.json" 2>"$dir/load-logs.err" & ;;
	esac
	LPIDS+=($!)
}

# trace_warmup DIR: 2 s of trace load whose acknowledged IDs the trace
# queries ask for; sets TRACE_NEXT.
trace_warmup() {
	local dir=$1 r
	r=$("$TLG" ingest -endpoint "$OTLP" -duration 2s -workers 2 -state "$dir/traces-state.json") || { fail "trace warm-up"; TRACE_NEXT=0; return; }
	echo "$r" >"$dir/warmup-traces.json"
	TRACE_NEXT=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["next_request"])' <<<"$r")
}

# measure NAME DIR DURATION SIGNALS...: the loads and queries of SIGNALS
# against the server started last, its memory watched, then stopped.
measure() {
	local name=$1 dir=$2 dur=$3 sys=$4
	shift 4
	local sigs=("$@") s wpid oom0 alive=1
	LPIDS=() QPIDS=() TRACE_NEXT=0
	oom0=$(oom_kills)
	"$MW" -pid "$SPID" -interval 100ms ${METRICS:+-metrics "$METRICS"} -out "$dir/mem.json" -series "$dir/rss.csv" \
		${METRICS:+-scrapes "$dir/scrapes.csv"} &
	wpid=$!
	[[ " ${sigs[*]} " == *" traces "* ]] && trace_warmup "$dir"
	log "$name: load ${sigs[*]} for $dur (load average $(cut -d' ' -f1 /proc/loadavg))"
	for s in "${sigs[@]}"; do load "$s" "$dir" "$dur"; done
	for s in "${sigs[@]}"; do queries "$s" "$sys" "$dir"; done
	for p in "${LPIDS[@]}"; do wait "$p" || fail "$name: a load generator failed (see $dir/load-*.err)"; done
	for s in "${sigs[@]}"; do touch "$WORK/stop-$s"; done
	for p in "${QPIDS[@]}"; do wait "$p"; done
	kill -0 "$SPID" 2>/dev/null || alive=0
	kill -TERM "$wpid" 2>/dev/null; wait "$wpid"
	stop
	local oom1 ooms=-1
	oom1=$(oom_kills)
	((oom0 >= 0 && oom1 >= 0)) && ooms=$((oom1 - oom0))
	echo "{\"alive_at_end\": $alive, \"exit_status\": $EXIT_STATUS, \"oom_kills\": $ooms, \"loadavg_end\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >"$dir/end.json"
	((alive)) || fail "$name: the server died during the load (exit status $EXIT_STATUS; see $dir.log)"
	rm -rf "$dir/data"
}

if [[ " $PHASES " == *" signals "* ]]; then
	for sig in $SIGNALS; do
		case $sig in metrics) peer=prometheus ;; traces) peer=jaeger ;; logs) peer=victorialogs ;; *) fail "unknown signal $sig"; continue ;; esac
		for sys in vigil $peer; do
			dir=$OUT/signals/$sig-$sys
			mkdir -p "$dir"
			start "$sys" "$dir/data" || { stop; continue; }
			measure "$sig $sys" "$dir" "$DURATION" "$sys" "$sig"
		done
	done
fi

if [[ " $PHASES " == *" all "* ]]; then
	for limit in $LIMITS; do
		dir=$OUT/all/$limit
		mkdir -p "$dir"
		cfg=
		[[ $limit != auto ]] && cfg="memory_limit: $limit"$'\n'
		cfg+=${VIGIL_CONFIG_EXTRA:-}
		start vigil "$dir/data" "$cfg" || { stop; continue; }
		measure "all signals, memory_limit $limit" "$dir" "$ALL_DURATION" vigil metrics traces logs
	done
fi

echo "loadavg at end: $(cat /proc/loadavg)" >>"$OUT/machine-${PHASES// /-}.txt"
python3 bench/memory/report.py "$OUT" >"$OUT/summary.md" || fail "report"
cat "$OUT/summary.md"
if ((${#failures[@]})); then
	printf 'memory: failed: %s\n' "${failures[@]}" >&2
	exit 1
fi
