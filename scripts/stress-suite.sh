#!/usr/bin/env bash
# Runs the README's test command (dotnet test Platform.sln) N times in a row while `stress-ng --cpu 2` keeps the
# CPUs busy, and stops at the first run with a failure, printing the failed tests with their messages.
# The suite must pass under load: a test that waits with a sleep, or asserts on timing, fails here.
#
#   bash scripts/stress-suite.sh [runs=3] [dotnet test arguments...]
#   bash scripts/stress-suite.sh 5 --filter "FullyQualifiedName~Platform.Tests.Agent.FimWatcherTests"
#   bash scripts/stress-suite.sh 3 --no-build ...   (already built: skips the one build before the runs)
#
# The whole suite takes about 20 minutes a run on 2 cores (an hour for the default 3; more under load): run the
# same way as the README's command (as root, with the kernel tools installed; .ci/run installs them). Needs
# stress-ng (`apt-get install -y stress-ng`). Each run writes TestResults/platform-tests.trx; the failing run's
# is kept as TestResults/stress-run-<n>.trx. Exit code 0 when every run passed, else the failing run's.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3
if [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then
  runs=$1
  shift
fi
if [[ "$runs" -lt 1 ]]; then
  echo "runs must be at least 1" >&2
  exit 2
fi
if ! command -v stress-ng >/dev/null; then
  echo "stress-ng is missing: apt-get install -y stress-ng" >&2
  exit 2
fi

# The load: two CPU hogs for as long as the runs take; stopped (by its pid) however this script ends.
stress-ng --cpu 2 --quiet &
stress=$!
trap 'kill "$stress" 2>/dev/null || true; wait "$stress" 2>/dev/null || true' EXIT

trx=TestResults/platform-tests.trx
# The build is not part of the load test: build once (unless --no-build is given), then test without building again.
if [[ " $* " != *" --no-build "* ]]; then
  dotnet build Platform.sln -v q
  set -- --no-build "$@"
fi
for run in $(seq 1 "$runs"); do
  echo "== run $run of $runs (stress-ng --cpu 2, pid $stress) =="
  rm -f "$trx"
  status=0
  dotnet test Platform.sln "$@" || status=$?
  if [[ ! -f "$trx" ]]; then
    echo "run $run: no test results ($trx missing), exit code $status"
    exit $(( status == 0 ? 1 : status ))
  fi
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  passed=$(sed -E 's/.* passed="([0-9]+)".*/\1/' <<<"$counters")
  failed=$(sed -E 's/.* failed="([0-9]+)".*/\1/' <<<"$counters")
  errors=$(sed -E 's/.* error="([0-9]+)".*/\1/' <<<"$counters")
  echo "run $run: ${passed} passed, $((failed + errors)) failed"
  if [[ "$status" -ne 0 || $((failed + errors)) -ne 0 ]]; then
    kept=TestResults/stress-run-$run.trx
    cp "$trx" "$kept"
    echo "== failures of run $run (all results in $kept) =="
    # Each failed test: its name, then its message and the first lines of its stack trace.
    python3 - "$kept" <<'PY'
import sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
for result in ET.parse(sys.argv[1]).getroot().iterfind(".//t:UnitTestResult", ns):
    if result.get("outcome") not in ("Failed", "Error"):
        continue
    print(f"FAILED {result.get('testName')} ({result.get('duration')})")
    info = result.find("t:Output/t:ErrorInfo", ns)
    for part in ("Message", "StackTrace"):
        text = info.findtext(f"t:{part}", default="", namespaces=ns) if info is not None else ""
        for line in text.strip().splitlines()[:12]:
            print("    " + line)
PY
    exit $(( status == 0 ? 1 : status ))
  fi
done
echo "all $runs runs passed under stress-ng --cpu 2"
