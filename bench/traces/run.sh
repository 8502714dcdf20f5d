#!/usr/bin/env bash
# Trace benchmark: the same pre-encoded OTLP/HTTP load against Vigil and,
# in the same run, Jaeger v2 (built by bench/peers/jaeger.sh), then the
# Jaeger query API of both with the store filled to TARGET_SPANS.
#
#   bench/traces/run.sh                      # 60 s ingest, 10M spans for queries
#   DURATION=20s TARGET_SPANS=1000000 bench/traces/run.sh
#   SKIP_JAEGER=1 bench/traces/run.sh
#   SKIP_JAEGER=1 TARGET_SPANS="10000000 50000000" bench/traces/run.sh   # queries at each point
#   SKIP_VIGIL=1 TARGET_SPANS=1000000 bench/traces/run.sh                # Jaeger alone
#   VIGIL_ARGS="-config big.yaml" bench/traces/run.sh                    # more flags for vigil serve
#
# TARGET_SPANS is a list: the store is filled to each in turn and queried
# there (one row per point). Before the timed ingest one trace is sent whose
# root span alone has bench.rare=needle: the rare-tag search looks for it
# over the whole day (it is the oldest span, so a newest-first scan reaches
# it last). RARE_QUERIES sets how many (default QUERIES).
#
# RANDOM_IDS=1 (the default) sends random trace IDs, as real clients do;
# RANDOM_IDS=0 sends IDs that rise with the request number (the benchmark
# before 2026-12-03, which let DuckDB's zone maps narrow a lookup by ID).
# Every trace-by-ID answer is checked (that trace, its 3 spans).
#
# Figures go to stdout and to $OUT/results.md; docs/perf/traces.md quotes them.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${BENCH_OUT:-${OUT:-$ROOT/bench/.out/traces}}"
DURATION="${DURATION:-60s}"
WORKERS="${WORKERS:-8}"
TARGET_SPANS="${TARGET_SPANS:-10000000}"
QUERIES="${QUERIES:-200}"
RARE_QUERIES="${RARE_QUERIES:-$QUERIES}"
VIGIL_BIN="${VIGIL_BIN:-$ROOT/bin/vigil}"
RANDOM_IDS="${RANDOM_IDS:-1}"
if [[ "$RANDOM_IDS" == 0 ]]; then IDS=-random-ids=false; else IDS=-random-ids=true; fi
mkdir -p "$OUT"
cd "$ROOT"
[[ -x "$VIGIL_BIN" ]] || go build -o "$VIGIL_BIN" ./cmd/vigil
go build -o "$OUT/loadgen" ./bench/traces/loadgen
LOADGEN="$OUT/loadgen"

json() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_http() { for _ in $(seq 1 120); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.5; done; echo "timeout waiting for $1" >&2; return 1; }

# run NAME PID OTLP_HTTP_URL QUERY_API DATA_DIR
run() {
	local name=$1 pid=$2 otlp=$3 api=$4 data=$5 state="$OUT/$1-state.json"
	rm -f "$state"
	local c0 c1 r spans secs next
	"$LOADGEN" rare -endpoint "$otlp" -state "$state"
	c0=$(ticks "$pid")
	r=$("$LOADGEN" ingest -endpoint "$otlp" -duration "$DURATION" -workers "$WORKERS" -state "$state" $IDS)
	c1=$(ticks "$pid")
	spans=$(echo "$r" | json spans_acked)
	secs=$(echo "$r" | json seconds)
	next=$(echo "$r" | json next_request)
	local rate cpu_per_m
	rate=$(python3 -c "print(round($spans/$secs))")
	cpu_per_m=$(python3 -c "print(round(($c1-$c0)/$hz/($spans/1e6),1))")
	local cores
	cores=$(python3 -c "print(round(($c1-$c0)/$hz/$secs,2))")
	echo "$name ingest: $r"
	local target fill f0 fsecs r2
	for target in $TARGET_SPANS; do
		# Fill to the target (timed separately from the steady ingest above), then query.
		fill="-"
		if (( spans < target )); then
			f0=$(date +%s.%N)
			r2=$("$LOADGEN" ingest -endpoint "$otlp" -duration 24h -workers "$WORKERS" -state "$state" $IDS \
				-first-request "$next" -max-spans $((target - spans)))
			fsecs=$(python3 -c "print($(date +%s.%N)-$f0)")
			next=$(echo "$r2" | json next_request)
			spans=$((spans + $(echo "$r2" | json spans_acked)))
			fill=$(python3 -c "print(round($(echo "$r2" | json spans_acked)/$fsecs))")
			echo "$name fill to $target: $r2 (load average $(cut -d' ' -f1-3 /proc/loadavg))"
		fi
		local q
		q=$("$LOADGEN" query -api "$api" -state "$state" -n "$QUERIES" -rare-n "$RARE_QUERIES")
		echo "$name query at $spans spans: $q"
		local rss disk stored
		rss=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$pid/status")
		disk=$(du -sb "$data" | cut -f1)
		stored=$(python3 -c "import json; s=json.load(open('$state')); print(len(s['acked'])*s['spans_per_batch'])")
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$rate" "$cores" "$cpu_per_m" "$rss" \
			"$(python3 -c "print(round($disk/$stored,1))")" "$stored" "$fill" \
			"$(echo "$q" | json trace_by_id_p50_ms) / $(echo "$q" | json trace_by_id_p99_ms) ($(echo "$q" | json trace_by_id_incorrect) wrong)" \
			"$(echo "$q" | json search_p50_ms) / $(echo "$q" | json search_p99_ms)" \
			"$(echo "$q" | json rare_search_p50_ms) / $(echo "$q" | json rare_search_p99_ms) ($(echo "$q" | json rare_search_incorrect) wrong)" \
			"$(echo "$r" | json requests_refused)" "$(cut -d' ' -f1 /proc/loadavg)" >> "$OUT/results.md"
	done
}

{
	echo "# traces benchmark $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "nproc=$(nproc) cpu=\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)\" duration=$DURATION workers=$WORKERS target_spans=\"$TARGET_SPANS\" random_ids=$RANDOM_IDS vigil_bin=$VIGIL_BIN loadavg=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
	echo
	echo "| system | spans/s (durable ack) | cores used | CPU s / M spans | peak RSS MiB | disk B/span | spans stored | fill spans/s | trace by ID p50/p99 ms | search p50/p99 ms | rare-tag search p50/p99 ms | 429s | load after |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
} > "$OUT/results.md"

trap '[[ -n "${VPID:-}" ]] && kill $VPID 2>/dev/null || true; [[ -n "${JPID:-}" ]] && kill $JPID 2>/dev/null || true' EXIT
# Vigil
if [[ -z "${SKIP_VIGIL:-}" ]]; then
VDIR=$(mktemp -d)
VHTTP=$(port); VGRPC=$(port); VOTLP=$(port)
"$VIGIL_BIN" serve --data-dir "$VDIR" --http-addr "127.0.0.1:$VHTTP" --otlp-grpc-addr "127.0.0.1:$VGRPC" \
	--otlp-http-addr "127.0.0.1:$VOTLP" ${VIGIL_ARGS:-} >"$OUT/vigil.log" 2>&1 &
VPID=$!
wait_http "http://127.0.0.1:$VHTTP/readyz"
run vigil "$VPID" "http://127.0.0.1:$VOTLP" "http://127.0.0.1:$VHTTP/jaeger" "$VDIR/traces"
kill "$VPID"; wait "$VPID" 2>/dev/null || true
rm -rf "$VDIR"
fi

# Jaeger v2 with Badger (durable on disk, as Vigil) in the same run.
if [[ -z "${SKIP_JAEGER:-}" ]]; then
	JAEGER_BIN="${JAEGER_BIN:-$(bash "$ROOT/bench/peers/jaeger.sh")}"
	JDIR=$(mktemp -d)
	JOTLP=$(port); JGRPC=$(port); JQUERY=$(port)
	cat >"$JDIR/config.yaml" <<EOF
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
      endpoint: 127.0.0.1:$JQUERY
    grpc:
      endpoint: 127.0.0.1:$(port)
  jaeger_storage:
    backends:
      store:
        badger:
          directories:
            keys: $JDIR/badger
            values: $JDIR/badger
          ephemeral: false
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$JGRPC
      http:
        endpoint: 127.0.0.1:$JOTLP
processors:
  batch:
exporters:
  jaeger_storage_exporter:
    trace_storage: store
EOF
	"$JAEGER_BIN" --config "$JDIR/config.yaml" >"$OUT/jaeger.log" 2>&1 &
	JPID=$!
	wait_http "http://127.0.0.1:$JQUERY/api/services"
	run jaeger "$JPID" "http://127.0.0.1:$JOTLP" "http://127.0.0.1:$JQUERY" "$JDIR/badger"
	kill "$JPID"; wait "$JPID" 2>/dev/null || true
	rm -rf "$JDIR"
fi
cat "$OUT/results.md"
