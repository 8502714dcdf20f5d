#!/usr/bin/env bash
# Logs benchmark: Vigil and VictoriaLogs side by side, same machine, same run.
#
#   bench/logs/run.sh   # DURATION=30s WARMUP=5s PUSHERS="4 8" TOTAL=10000000 WORKERS=4 BATCH=2000 REPS=7
#   TOTAL=0 skips the data set and queries; VIGIL=path runs that binary instead of building one.
#
#   1. sustained push of pre-encoded snappy-protobuf Loki batches (2000
#      realistic JSON/plain lines of 100-300 bytes, 20 services, 5 levels) for
#      DURATION, for each pusher count in PUSHERS, Vigil then VictoriaLogs
#      (a fresh server and data directory each time); a line counts only
#      when its request was acknowledged (durable for Vigil:
#      group-committed). Lines are counted per 1-s interval: start-up is the
#      mean of the first WARMUP, steady state the median (and range) of the
#      rest. CPU seconds of the server per million lines and peak RSS;
#   then for each server (fresh data directory):
#   2. a data set of TOTAL lines (WORKERS pushers) spread over the last 24h, then bytes on disk
#      per line after a clean stop, and p50/p99 over REPS runs of: a line
#      filter for a rare word, a count by service over 5m steps, the Grafana
#      log-volume query; and the live-tail delay (20 samples).
# Prints one JSON line per figure to stdout and a summary table at the end.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DURATION="${DURATION:-30s}"
WARMUP="${WARMUP:-5s}"
PUSHERS="${PUSHERS:-4 8}"
TOTAL="${TOTAL:-10000000}"
WORKERS="${WORKERS:-4}"
BATCH="${BATCH:-2000}"
REPS="${REPS:-7}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/vigil-logs-bench.XXXXXX")"
# Under `make bench` (bench/run.sh), keep the figures in $BENCH_OUT too.
if [ -n "${BENCH_OUT:-}" ]; then
	mkdir -p "$BENCH_OUT"
	exec > >(tee "$BENCH_OUT/results.jsonl") 2> >(tee "$BENCH_OUT/summary.md" >&2)
fi
PIDS=()
cleanup() {
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT

echo "# nproc=$(nproc) cpu=\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)\" load=\"$(cut -d' ' -f1-3 /proc/loadavg)\" date=$(date -u +%FT%TZ)" >&2
(cd "$ROOT" && go build -o "$WORK/loadgen" ./bench/logs/loadgen)
if [ -n "${VIGIL:-}" ]; then # another build of Vigil (an older commit, to compare)
	cp "$VIGIL" "$WORK/vigil"
else
	(cd "$ROOT" && go build -o "$WORK/vigil" ./cmd/vigil)
fi
VLOGS="$("$ROOT/bench/peers/victorialogs.sh")"
LG="$WORK/loadgen"

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hz() { getconf CLK_TCK; }
wait_http() { for _ in $(seq 1 300); do curl -sf -o /dev/null "$1" && return 0; sleep 0.2; done; echo "server at $1 did not come up" >&2; return 1; }

start() { # name dir -> sets SRV_PID BASE PUSH
	local name=$1 dir=$2 p
	p=$(port)
	BASE="http://127.0.0.1:$p"
	if [ "$name" = vigil ]; then
		"$WORK/vigil" serve --data-dir "$dir" --http-addr "127.0.0.1:$p" --otlp-grpc-addr "127.0.0.1:$(port)" --otlp-http-addr "127.0.0.1:$(port)" >"$dir.log" 2>&1 &
		SRV_PID=$!
		PUSH="$BASE/loki/api/v1/push"
		wait_http "$BASE/readyz"
	else
		"$VLOGS" -storageDataPath "$dir" -httpListenAddr "127.0.0.1:$p" -retentionPeriod 30d >"$dir.log" 2>&1 &
		SRV_PID=$!
		PUSH="$BASE/insert/loki/api/v1/push"
		wait_http "$BASE/health"
	fi
	PIDS+=("$SRV_PID")
}
stop() { kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null || true; }

declare -A R
# Phase 1: sustained throughput, both servers at each pusher count.
for w in $PUSHERS; do
	for name in vigil victorialogs; do
		start $name "$WORK/$name-push-$w"
		c0=$(cpu_ticks "$SRV_PID")
		out=$("$LG" push -url "$PUSH" -workers "$w" -batch "$BATCH" -duration "$DURATION" -warmup "$WARMUP")
		c1=$(cpu_ticks "$SRV_PID")
		rss=$(awk '/VmHWM/{print $2}' "/proc/$SRV_PID/status")
		stop
		rm -rf "$WORK/$name-push-$w"
		get() { echo "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); print(round(d.get('$1', 0)))"; }
		lines=$(get lines)
		cpu=$(python3 -c "print(round(($c1-$c0)/$(hz)/($lines/1e6), 2))")
		R[$name.$w.lps]=$(get lines_per_second); R[$name.$w.start]=$(get startup_lines_per_second)
		R[$name.$w.steady]=$(get steady_median_lines_per_second)
		R[$name.$w.range]="$(get steady_min_lines_per_second)–$(get steady_max_lines_per_second)"
		R[$name.$w.cpu]=$cpu; R[$name.$w.rss]=$((rss/1024))
		echo "{\"server\":\"$name\",\"phase\":\"push\",\"pushers\":$w,\"result\":$out,\"cpu_s_per_million\":$cpu,\"peak_rss_mib\":$((rss/1024))}"
	done
done

# Phase 2 (TOTAL=0 skips it, for push-only runs).
[ "$TOTAL" -gt 0 ] && for name in vigil victorialogs; do
	# Phase 2: the 10M-line data set and queries.
	start $name "$WORK/$name-data"
	out=$("$LG" load -url "$PUSH" -workers "$WORKERS" -batch "$BATCH" -total "$TOTAL" -spread 24h)
	echo "{\"server\":\"$name\",\"phase\":\"load\",\"result\":$out}"
	if [ $name = vigil ]; then
		Q="$BASE/loki/api/v1/query_range"
		filter='{env="prod"} |= "needle"'
		count='sum by (service_name) (count_over_time({env="prod"}[5m]))'
		volume='sum by (level, detected_level) (count_over_time({env="prod"} | drop __error__ [5m]))'
		"$LG" query -url "$Q" -n 1 -q "$filter" >/dev/null # warm the caches once, as for both
		fq=("$LG" query -url "$Q" -n "$REPS" -q "$filter")
		cq=("$LG" query -url "$Q" -n "$REPS" -step 5m -q "$count")
		vq=("$LG" query -url "$Q" -n "$REPS" -step 5m -q "$volume")
		sq=("${fq[@]}") # |= is already a substring search
	else
		curl -sf "$BASE/internal/force_flush" >/dev/null || true
		sleep 2
		filter='{env="prod"} needle'
		count='{env="prod"} | stats by (service_name) count()'
		volume='{env="prod"} | stats by (level) count()'
		"$LG" query -url "$BASE/select/logsql/query" -n 1 -q "$filter" >/dev/null
		fq=("$LG" query -url "$BASE/select/logsql/query" -n "$REPS" -q "$filter")
		cq=("$LG" query -url "$BASE/select/logsql/stats_query_range" -n "$REPS" -step 5m -q "$count")
		vq=("$LG" query -url "$BASE/select/logsql/stats_query_range" -n "$REPS" -step 5m -q "$volume")
		# The word filter above uses VictoriaLogs' token bloom filters; a
		# substring match (LogQL's |= semantics) is a regexp filter.
		sq=("$LG" query -url "$BASE/select/logsql/query" -n "$REPS" -q '{env="prod"} ~"needle"')
	fi
	for q in fq cq vq sq; do
		declare -n cmd=$q
		out=$("${cmd[@]}")
		echo "{\"server\":\"$name\",\"phase\":\"query\",\"result\":$out}"
		R[$name.$q]=$(echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.0f / %.0f" % (d["p50_ms"], d["p99_ms"]))')
	done
	kind=loki; [ $name = victorialogs ] && kind=vlogs
	# loadgen bounds the phase at 5 minutes itself; timeout is the backstop,
	# and a failed tail is reported instead of ending the whole run.
	if out=$(timeout 360 "$LG" tail -url "$BASE" -push "$PUSH" -kind $kind -n 20); then
		echo "{\"server\":\"$name\",\"phase\":\"tail\",\"result\":$out}"
		R[$name.tail]=$(echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.0f / %.0f" % (d["p50_ms"], d["p99_ms"]))')
	else
		echo "{\"server\":\"$name\",\"phase\":\"tail\",\"error\":\"tail phase failed or timed out\"}"
		R[$name.tail]="failed"
	fi
	stop
	bytes=$(du -sb "$WORK/$name-data" | cut -f1)
	R[$name.bpl]=$(python3 -c "print(round($bytes/$TOTAL, 1))")
	echo "{\"server\":\"$name\",\"phase\":\"disk\",\"bytes\":$bytes,\"bytes_per_line\":${R[$name.bpl]}}"
done

{
	echo
	echo "| figure | Vigil | VictoriaLogs |"
	echo "|---|---|---|"
	for w in $PUSHERS; do
		echo "| push, $w pushers: start-up (first $WARMUP) lines/s | ${R[vigil.$w.start]} | ${R[victorialogs.$w.start]} |"
		echo "| push, $w pushers: steady state, median (range) of 1-s intervals, lines/s | ${R[vigil.$w.steady]} (${R[vigil.$w.range]}) | ${R[victorialogs.$w.steady]} (${R[victorialogs.$w.range]}) |"
		echo "| push, $w pushers: whole run ($DURATION) lines/s | ${R[vigil.$w.lps]} | ${R[victorialogs.$w.lps]} |"
		echo "| push, $w pushers: server CPU seconds per million lines | ${R[vigil.$w.cpu]} | ${R[victorialogs.$w.cpu]} |"
		echo "| push, $w pushers: peak RSS, MiB | ${R[vigil.$w.rss]} | ${R[victorialogs.$w.rss]} |"
	done
	if [ "$TOTAL" -gt 0 ]; then
		echo "| bytes on disk per line ($TOTAL lines) | ${R[vigil.bpl]} | ${R[victorialogs.bpl]} |"
		echo "| line filter for a rare word (Vigil: substring \`|= \"needle\"\`; VictoriaLogs: word filter), p50 / p99 ms | ${R[vigil.fq]} | ${R[victorialogs.fq]} |"
		echo "| substring filter (VictoriaLogs: \`~\"needle\"\`), p50 / p99 ms | ${R[vigil.sq]} | ${R[victorialogs.sq]} |"
		echo "| count by service [5m] over 24h, p50 / p99 ms | ${R[vigil.cq]} | ${R[victorialogs.cq]} |"
		echo "| Grafana log-volume query, p50 / p99 ms | ${R[vigil.vq]} | ${R[victorialogs.vq]} |"
		echo "| live-tail delay, p50 / p99 ms | ${R[vigil.tail]} | ${R[victorialogs.tail]} |"
	fi
	for w in $PUSHERS; do
		python3 -c "print('| steady push ratio Vigil / VictoriaLogs, $w pushers | %.2f | |' % (${R[vigil.$w.steady]}/max(1, ${R[victorialogs.$w.steady]})))"
	done
} >&2
