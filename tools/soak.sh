#!/usr/bin/env bash
# Runs the browser suite N times in a row, exactly as `make browser` does, to find tests that fail now and then.
#
#   tools/soak.sh 30
#
# Set-up is make's: `make .venv/.stamp-test chromium` runs first (a no-op once `make test` has run). Each run gets
# its own pytest temp folder (PYTEST_ADDOPTS=--basetemp=...) and log under SOAK_DIR (default: a new
# /tmp/fbfailover-soak.XXXXXX). A passing run's temp folder is deleted; a failing run's is kept, and the script
# prints which tests failed and where their screenshots are. The last line is `runs=N failed=K`; the exit status is
# non-zero when K > 0.
set -uo pipefail

usage() { echo "usage: tools/soak.sh N   (run the browser suite N times in a row)" >&2; exit 2; }
[ $# -eq 1 ] || usage
case "$1" in '' | *[!0-9]*) usage ;; esac
runs=$((10#$1))
[ "$runs" -ge 1 ] || usage

cd "$(dirname "$0")/.." || exit 2
make --no-print-directory .venv/.stamp-test chromium >/dev/null || { echo "make could not set up the suite" >&2; exit 2; }

dir=${SOAK_DIR:-$(mktemp -d /tmp/fbfailover-soak.XXXXXX)}
mkdir -p "$dir"
echo "soak: $runs runs of \`make browser\`; logs and failed runs' temp folders in $dir"

failed=0
done_runs=0
started=$SECONDS

summary() {
  echo "total $((SECONDS - started)) s, $((done_runs ? (SECONDS - started) / done_runs : 0)) s a run"
  echo "runs=$done_runs failed=$failed"
}
trap 'echo; echo "interrupted"; summary; exit 130' INT TERM

for ((i = 1; i <= runs; i++)); do
  log="$dir/run-$i.log"
  temp="$dir/run-$i"
  run_start=$SECONDS
  PYTEST_ADDOPTS="--basetemp=$temp ${PYTEST_ADDOPTS:-}" make --no-print-directory browser >"$log" 2>&1
  status=$?
  done_runs=$i
  if [ "$status" -eq 0 ]; then
    echo "run $i/$runs: passed in $((SECONDS - run_start)) s ($(grep -Eo '[0-9]+ passed[^=]*' "$log" | tail -n 1))"
    rm -rf "$temp"
    continue
  fi
  failed=$((failed + 1))
  echo "run $i/$runs: FAILED in $((SECONDS - run_start)) s (exit $status; log $log)"
  # pytest's short summary names each failed test; the browser conftest prints where its screenshots are.
  tests=$(grep -E '^(FAILED|ERROR) ' "$log" | sed -E 's/^(FAILED|ERROR) ([^ ]+).*/\2/' | sort -u)
  if [ -z "$tests" ]; then
    echo "  no test named as failed; the log ends with:"
    tail -n 5 "$log" | sed 's/^/    /'
  fi
  for test in $tests; do
    reason=$(grep -E "^(FAILED|ERROR) $(printf '%s' "$test" | sed 's/[][\.*^$/]/\\&/g')" "$log" | head -n 1 | cut -c1-300)
    shots=$(grep -F "screenshots of $test: " "$log" | tail -n 1 | sed 's/.*: //')
    echo "  $reason"
    echo "    screenshots: ${shots:-none}"
  done
done

trap - INT TERM
summary
[ "$failed" -eq 0 ]
