#!/usr/bin/env bash
# End-to-end check of the Go SDK against a real Vigil: starts bin/vigil on
# loopback ports, runs the shop for a few seconds over OTLP/HTTP and then
# OTLP/gRPC, and asks Vigil's query APIs for the shop's traces, metrics and
# logs. Needs bin/vigil (make build) and curl.
#
#   bash examples/shop/e2e.sh
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
VIGIL=${VIGIL:-$root/bin/vigil}
HTTP_PORT=${HTTP_PORT:-27797}
GRPC_PORT=${GRPC_PORT:-27317}
OTLP_HTTP_PORT=${OTLP_HTTP_PORT:-27318}
tmp=$(mktemp -d)
"$VIGIL" serve --data-dir "$tmp/data" --http-addr 127.0.0.1:$HTTP_PORT \
	--otlp-grpc-addr 127.0.0.1:$GRPC_PORT --otlp-http-addr 127.0.0.1:$OTLP_HTTP_PORT >"$tmp/vigil.log" 2>&1 &
vigil_pid=$!
trap 'kill $vigil_pid 2>/dev/null; wait $vigil_pid 2>/dev/null; rm -rf "$tmp"' EXIT
api=http://127.0.0.1:$HTTP_PORT
for _ in $(seq 60); do curl -sf "$api/readyz" >/dev/null && break; sleep 0.5; done
curl -sf "$api/readyz" >/dev/null || { echo "vigil did not become ready:"; cat "$tmp/vigil.log"; exit 1; }

OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$OTLP_HTTP_PORT OTEL_METRIC_EXPORT_INTERVAL=2000 \
	go run . -addr 127.0.0.1:0 -db "$tmp/shop.db" -duration 6s >"$tmp/shop-http.log" 2>&1
OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$GRPC_PORT OTEL_EXPORTER_OTLP_PROTOCOL=grpc \
	go run . -addr 127.0.0.1:0 -db "$tmp/shop.db" -duration 3s >"$tmp/shop-grpc.log" 2>&1
sleep 1

fail=0
check() { # name, url, text expected in the answer
	if curl -sfG "$2" "${@:4}" | grep -q "$3"; then echo "ok   $1"; else echo "FAIL $1: $2 lacks $3"; fail=1; fi
}
check "traces (Jaeger API)" "$api/jaeger/api/services" '"shop"'
check "metrics (PromQL)" "$api/api/v1/query" 'shop_orders_total' --data-urlencode 'query=shop_orders_total'
check "SDK drop counters" "$api/api/v1/query" 'vigil_sdk_spans_exported_total' --data-urlencode 'query=vigil_sdk_spans_exported_total'
check "both protocols exported logs" "$api/api/v1/query" '"2"' --data-urlencode 'query=count(vigil_sdk_logs_exported_total)'
check "logs (LogQL)" "$api/loki/api/v1/query_range" 'order placed' --data-urlencode 'query={service_name="shop"}' --data-urlencode 'limit=50'
exit $fail
