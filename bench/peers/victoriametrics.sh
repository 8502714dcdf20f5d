#!/usr/bin/env bash
# Installs single-node VictoriaMetrics with `go install` into a cache outside
# the repository (never commit its binary or source) and prints the path of
# the binary. VIGIL_BENCH_CACHE overrides the cache (~/.cache/vigil-bench).
set -euo pipefail

version=v1.151.0
cache=${VIGIL_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil-bench}
dir="$cache/bin/victoria-metrics-$version"
bin="$dir/victoria-metrics"
if [[ ! -x $bin ]]; then
  mkdir -p "$dir"
  echo "peers/victoriametrics: go install victoria-metrics@$version into $dir" >&2
  # Outside the repository so that Vigil's go.mod is neither read nor changed.
  (cd "$dir" && GOBIN="$dir" GOFLAGS=-mod=mod go install \
    "github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics@$version") >&2
fi
echo "$bin"
