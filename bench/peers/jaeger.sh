#!/usr/bin/env bash
# Builds Jaeger v2 (v1.76.0 module = Jaeger v2 binary) into a cache directory
# outside the repository and prints the binary's path. Never commit the
# result. `go install` is refused because of a replace directive in Jaeger's
# go.mod, hence the scratch module. Takes ~6 minutes and ~2.3 GB of RAM.
set -euo pipefail
CACHE="${VIGIL_PEERS_CACHE:-$HOME/.cache/vigil-peers}/jaeger-v1.76.0"
BIN="$CACHE/jaeger"
if [[ -x "$BIN" ]]; then
	echo "$BIN"
	exit 0
fi
mkdir -p "$CACHE/src"
cd "$CACHE/src"
if [[ ! -f go.mod ]]; then
	go mod init vigil-peers/jaeger >&2
fi
go mod edit -replace github.com/Shopify/sarama=github.com/Shopify/sarama@v1.33.0
go get -tool github.com/jaegertracing/jaeger/cmd/jaeger@v1.76.0 >&2
GOFLAGS=-mod=mod go build -o "$BIN" github.com/jaegertracing/jaeger/cmd/jaeger >&2
echo "$BIN"
