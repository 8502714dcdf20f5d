#!/usr/bin/env bash
# The web UI's browser benchmark (bench/ui/bench.mjs): needs bin/vigil
# (make build), Debian's chromium and web/node_modules (make ui).
# RUNS=5 by default. Figures go to docs/perf/ui.md by hand, with uptime.
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ -n ${VIGIL_BIN:-} || -x bin/vigil ]] || make build
[[ -d web/node_modules ]] || make ui
echo "machine: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load: $(uptime | sed 's/.*load average: //')"
VIGIL_BIN=${VIGIL_BIN:-$PWD/bin/vigil} node bench/ui/bench.mjs
