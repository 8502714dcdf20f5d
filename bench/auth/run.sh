#!/usr/bin/env bash
# Auth benchmark: what authentication and TLS cost ingestion. Builds
# bin/vigil, then
#  1. the middleware's own cost per request (Go benchmarks in internal/auth:
#     BenchmarkGuard, BenchmarkGRPCCheck) and argon2id's cost per login
#     (BenchmarkHashPassword);
#  2. whole-process ingestion (bench/auth/authload): bin/vigil open, with a
#     bearer token, and with a bearer token over TLS, in turn every round,
#     over remote write, OTLP/HTTP and OTLP/gRPC.
# Results: $BENCH_OUT (default bench/.out/auth); docs/perf/auth.md explains
# them. Knobs: BENCH_ROUNDS (5), BENCH_REQUESTS (1000), BENCH_SERIES (500),
# BENCH_CLIENTS (4).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${BENCH_OUT:-bench/.out/auth}
mkdir -p "$out"
make build >/dev/null
{ nproc; grep -m1 'model name' /proc/cpuinfo; uptime; } | tee "$out/machine.txt"
go test -run XXX -bench 'Guard|GRPCCheck|HashPassword' -benchmem -count 5 ./internal/auth | tee "$out/micro.txt"
go run ./bench/auth/authload -vigil bin/vigil -out "$out" -rounds "${BENCH_ROUNDS:-5}" -requests "${BENCH_REQUESTS:-1000}" \
  -series "${BENCH_SERIES:-500}" -clients "${BENCH_CLIENTS:-4}" | tee "$out/authload.txt"
uptime | tee -a "$out/machine.txt"
