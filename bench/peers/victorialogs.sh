#!/usr/bin/env bash
# Installs VictoriaLogs v1.52.1 (the logs peer) into a cache directory outside
# the repository and prints the binary's path. Never commit the binary.
set -euo pipefail
VERSION=v1.52.1
CACHE="${VIGIL_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil-bench}"
BIN="$CACHE/victorialogs-$VERSION/victoria-logs"
if [ ! -x "$BIN" ]; then
	mkdir -p "$(dirname "$BIN")"
	echo "installing victoria-logs $VERSION into $(dirname "$BIN")" >&2
	GOBIN="$(dirname "$BIN")" go install "github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@$VERSION"
fi
echo "$BIN"
