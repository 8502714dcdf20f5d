#!/usr/bin/env bash
# Runs the Vigil SDK hot-path benchmarks side by side with OpenTelemetry Go's
# sdk/metric + sdk/trace and prometheus/client_golang, in one run, and
# prints a benchstat table (one column per library).
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
sampling=out/sampling.txt

echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(go version)"
echo "# go test -run '^\$' -bench '$BENCH' -benchmem -count $COUNT -benchtime $BENCHTIME"
go test -run '^$' -bench "$BENCH" -benchmem -count "$COUNT" -benchtime "$BENCHTIME" . | tee "$raw" >/dev/null
(cd ../../sdk && go test -run '^$' -bench 'Sampler' -benchmem -count "$COUNT" -benchtime "$BENCHTIME" ./sampling) | tee "$sampling" >/dev/null

echo
echo "## medians and ratios (vigil/otel < 0.05 means at least 20x faster than OpenTelemetry)"
awk -f summary.awk "$raw"
echo
echo "## metrics and spans: columns are libraries (vigil, otel = OpenTelemetry Go SDK, prom = client_golang)"
go run "$BENCHSTAT" -col /lib "$raw"
echo
echo "## sampler decision (root span, per call)"
go run "$BENCHSTAT" "$sampling"
