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
echo "# go test -run '^\$' -bench '$BENCH' -benchmem -count $COUNT -benchtime $BENCHTIME"
go test -run '^$' -bench "$BENCH" -benchmem -count "$COUNT" -benchtime "$BENCHTIME" . | tee "$raw" >/dev/null

echo
echo "## medians and ratios (a ratio below 0.05 vs otel means at least 20x faster than OpenTelemetry)"
awk -f summary.awk "$raw"
echo
echo "## metrics and spans: columns are libraries (vigil, otel = OpenTelemetry Go SDK, prom = client_golang)"
go run "$BENCHSTAT" -col /lib "$raw"
