#!/usr/bin/env bash
# On-call benchmark (issue 17): the Go benchmarks in bench/oncall, run
# BENCH_ONCALL_RUNS times (default 5):
#   BenchmarkEscalationBurst  10,000 open incidents, 1,000 escalation steps
#                             due at the same instant: time until each
#                             notification is in the outbox (target p99 < 1 s)
#   BenchmarkWhoIsOnCall      100 schedules with a year of overrides: time
#                             per "who is on call" (target < 1 ms)
# There is no peer: PagerDuty is a hosted service and Grafana OnCall (archived)
# is not packaged; the targets are absolute. Results: $BENCH_OUT (default
# bench/.out/oncall)/summary.md; docs/perf/oncall.md explains them.
# Run it under the shared lock: flock /work/wt/bench.lock bash bench/oncall/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${BENCH_OUT:-$PWD/bench/.out/oncall}
mkdir -p "$out"
runs=${BENCH_ONCALL_RUNS:-5}
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "loadavg at start: $(cat /proc/loadavg)"
  echo "command: go test -run XXX -bench . -benchtime 1x -count $runs ./bench/oncall/ (who-is-on-call: -benchtime 2000x)"
} >"$out/machine.txt"
cat "$out/machine.txt" >&2
go test -run XXX -bench EscalationBurst -benchtime 1x -count "$runs" -v ./bench/oncall/ | grep -E '^(Benchmark|    oncall)' | tee "$out/burst.txt"
go test -run XXX -bench WhoIsOnCall -benchtime 2000x -count "$runs" ./bench/oncall/ | grep -E '^Benchmark' | tee "$out/whoisoncall.txt"
echo "loadavg at end: $(cat /proc/loadavg)" >>"$out/machine.txt"
{ echo '```'; cat "$out/machine.txt" "$out/burst.txt" "$out/whoisoncall.txt"; echo '```'; } >"$out/summary.md"
echo "oncall: summary: $out/summary.md" >&2
