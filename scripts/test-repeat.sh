#!/usr/bin/env bash
# npm run test:repeat -- N [--beside-bench]
# Runs the test suite N times in a row and prints one line a run (result, wall time, test count) and a
# summary; exits 1 when any run failed. The proof that the suite does not flake (issue 20).
# --beside-bench: the quick benchmark runs in a loop beside every run, to load both cores the way a
# busy CI machine would. The build then runs once up front and each run is `vitest run` alone, so the
# benchmark's daemons never see dist/ rewritten under them.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: npm run test:repeat -- N [--beside-bench]" >&2; exit 2; }
runs=""
bench=false
for arg in "$@"; do
  case "$arg" in
    --beside-bench) bench=true ;;
    *[!0-9]* | "") usage ;;
    *) runs=$arg ;;
  esac
done
[ -n "$runs" ] && [ "$runs" -ge 1 ] || usage

logs=$(mktemp -d -t clawkerd-repeat-XXXXXX)
echo "logs in $logs"
bench_pid=""
stop_bench() {
  if [ -n "$bench_pid" ]; then
    kill -- "-$bench_pid" 2>/dev/null || true
    wait "$bench_pid" 2>/dev/null || true
    bench_pid=""
  fi
}
trap stop_bench EXIT

if $bench; then
  # The benchmark includes the single binary, so that is built too.
  npm run build:binary >"$logs/build.log" 2>&1 || { echo "build failed: $logs/build.log" >&2; exit 1; }
  suite=(npx vitest run)
else
  suite=(npm test)
fi

failed=0
for i in $(seq 1 "$runs"); do
  if $bench; then
    # Its own process group, so stopping it also stops the daemons it started.
    setsid bash -c 'while :; do npx tsx bench/run.ts --quick || true; done' >>"$logs/bench.log" 2>&1 &
    bench_pid=$!
  fi
  started=$SECONDS
  if "${suite[@]}" >"$logs/run-$i.log" 2>&1; then result=passed; else result=FAILED; failed=$((failed + 1)); fi
  stop_bench
  tests=$(sed 's/\x1b\[[0-9;]*m//g' "$logs/run-$i.log" | sed -n 's/^ *Tests *\(.*\)$/\1/p' | tail -n 1)
  echo "run $i/$runs: $result in $((SECONDS - started))s (tests ${tests:-count not found}$($bench && echo ', quick bench beside'))"
  [ "$result" = passed ] || sed 's/\x1b\[[0-9;]*m//g' "$logs/run-$i.log" | grep -E '^ *(FAIL|×)|AssertionError|Error:' | head -n 20
done
echo "test:repeat: $((runs - failed)) of $runs runs passed"
[ "$failed" -eq 0 ]
