#!/usr/bin/env bash
# `make bench`: runs each area's benchmark, bench/<area>/run.sh, that exists.
#
#   bash bench/run.sh              every area
#   bash bench/run.sh metrics      only the named areas
#
# Each area writes its results under bench/.out/<area>/ (BENCH_OUT) and its
# output goes to bench/.out/<area>.log as well as the terminal. A failing
# area does not stop the others; the summary at the end names it and the
# exit status is non-zero.
set -uo pipefail
cd "$(dirname "$0")/.."

all=(metrics traces logs memory alerting oncall probes auth sdk ui)
if (($#)); then
  areas=("$@")
else
  areas=("${all[@]}")
fi

mkdir -p bench/.out
declare -A status
for area in "${areas[@]}"; do
  script=bench/$area/run.sh
  if [[ ! -f $script ]]; then
    if (($#)); then
      status[$area]="FAILED (no $script)"
    else
      status[$area]="skipped (no $script yet)"
    fi
    continue
  fi
  echo "=== bench: $area ($(date -u +%H:%M:%S))"
  start=$SECONDS
  BENCH_OUT=$PWD/bench/.out/$area bash "$script" 2>&1 | tee "bench/.out/$area.log"
  rc=${PIPESTATUS[0]}
  if ((rc == 0)); then
    status[$area]="ok ($((SECONDS - start)) s)"
  else
    status[$area]="FAILED with status $rc ($((SECONDS - start)) s, see bench/.out/$area.log)"
  fi
done

echo "=== bench summary"
failed=0
for area in "${areas[@]}"; do
  printf '  %-10s %s\n' "$area" "${status[$area]}"
  [[ ${status[$area]} == FAILED* ]] && failed=1
done
exit $failed
