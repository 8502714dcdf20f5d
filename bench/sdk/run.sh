#!/usr/bin/env bash
# Runs the Vigil SDK hot-path benchmarks (metrics, span start+end, sampler
# decisions) side by side with OpenTelemetry Go's sdk/metric + sdk/trace and
# prometheus/client_golang, in one run, and prints a table of medians and
# ratios, then benchstat's table (one column per library). Besides wall-clock
# ns/op, every benchmark reports cpu-ns/op (process CPU time per operation),
# which stays meaningful when the machine is shared.
#
#   bash bench/sdk/run.sh                 # -count 5, 1s per benchmark
#   COUNT=10 BENCHTIME=2s bash bench/sdk/run.sh
#   BENCH='CounterBound' bash bench/sdk/run.sh
#   ROUNDS=10 COUNT=1 BENCH='CounterBound$' bash bench/sdk/run.sh
#
# With ROUNDS > 1 the test binary is built once and run ROUNDS times, so
# that the libraries alternate every few seconds instead of each running
# COUNT times in a row: on a shared machine whose load changes from minute
# to minute, a ratio of two medians taken minutes apart is skewed by it.
# ratios.awk then prints the spread (min, median, max) of the per-round
# ratios (with COUNT=1 the i-th result of each library is from round i).
#
# Raw results are kept in bench/sdk/out/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")"

COUNT=${COUNT:-5}
BENCHTIME=${BENCHTIME:-1s}
BENCH=${BENCH:-.}
BENCHSTAT=${BENCHSTAT:-golang.org/x/perf/cmd/benchstat@latest}
mkdir -p out
raw=out/compare.txt

echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(go version)"
ROUNDS=${ROUNDS:-1}
echo "# go test -run '^\$' -bench '$BENCH' -benchmem -count $COUNT -benchtime $BENCHTIME  (rounds: $ROUNDS)"
echo "# load at start: $(uptime)"
if [ "$ROUNDS" -le 1 ]; then
	go test -run '^$' -bench "$BENCH" -benchmem -count "$COUNT" -benchtime "$BENCHTIME" . | tee "$raw" >/dev/null
else
	go test -c -o out/sdkbench.test .
	: >"$raw"
	for _ in $(seq "$ROUNDS"); do
		./out/sdkbench.test -test.run '^$' -test.bench "$BENCH" -test.benchmem -test.count "$COUNT" -test.benchtime "$BENCHTIME" >>"$raw"
	done
fi
echo "# load at end: $(uptime)"

echo
echo "## medians and ratios (a ratio below 0.05 vs otel means at least 20x faster than OpenTelemetry)"
awk -f summary.awk "$raw"
if [ "$ROUNDS" -gt 1 ] && [ "$COUNT" -eq 1 ]; then
	echo
	echo "## per-round ratios (paired within each round)"
	awk -f ratios.awk "$raw"
fi
echo
echo "## metrics and spans: columns are libraries (vigil, otel = OpenTelemetry Go SDK, prom = client_golang)"
go run "$BENCHSTAT" -col /lib "$raw"
