#!/usr/bin/env bash
# Runs the official W3C Trace Context validation harness against the SDK's
# propagator (sdk/internal/w3c served by its w3cservice command), at
# strictness levels 1 and 2 with the Level 2 tests (SPEC_LEVEL=2).
#
#   bash sdk/scripts/w3c-harness.sh /path/to/trace-context/test
#   IMPL=otel bash sdk/scripts/w3c-harness.sh ...   # OpenTelemetry Go's, to compare
#
# It fetches nothing: pass the test/ folder of a checkout of
# github.com/w3c/trace-context. The harness needs Python 3 with aiohttp
# (Debian: apt-get install python3-aiohttp). PYTHON overrides the
# interpreter (default: /usr/bin/python3, then python3).
set -euo pipefail

harness=${1:?usage: $0 /path/to/trace-context/test}
[[ -f $harness/test.py ]] || { echo "$harness/test.py not found: pass the harness's test/ folder" >&2; exit 2; }
if [[ -z ${PYTHON:-} ]]; then
	PYTHON=python3
	[[ -x /usr/bin/python3 ]] && PYTHON=/usr/bin/python3
fi
"$PYTHON" -c 'import aiohttp' 2>/dev/null || { echo "$PYTHON lacks aiohttp (apt-get install python3-aiohttp)" >&2; exit 2; }

cd "$(dirname "$0")/.."
port=${SERVICE_PORT:-5000}
bin=$(mktemp -d)/w3cservice
out=$(dirname "$bin")/harness.out
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./internal/w3c/w3cservice
"$bin" -addr "127.0.0.1:$port" -impl "${IMPL:-vigil}" &
pid=$!
for _ in $(seq 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.1
done

echo "# implementation: ${IMPL:-vigil}; harness: $(cd "$harness" && git log -1 --format='%h %cs' 2>/dev/null || echo "$harness")"
status=0
for level in 1 2; do
	echo "## STRICT_LEVEL=$level SPEC_LEVEL=2"
	(cd "$harness" && STRICT_LEVEL=$level SPEC_LEVEL=2 "$PYTHON" test.py "http://127.0.0.1:$port/test" 2>&1) >"$out" || status=1
	awk '/^test_/ { split($2, c, "."); name = c[2] "." $1 } / \.\.\. / { sub(/.* \.\.\. /, ""); print name ": " $0 } /^(Ran |OK|FAILED)/' "$out"
	grep -E '^(FAIL|ERROR):' "$out" || true
done
exit $status
