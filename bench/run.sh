#!/usr/bin/env bash
# Runs the end-to-end benchmarks (Release build) and prints a results table, or the micro-benchmarks (BenchmarkDotNet).
#   bench/run.sh micro [BenchmarkDotNet arguments, e.g. --filter '*Spool*' --job short] (bench/Micro/)
#   bench/run.sh [suite=all|fim|fim-globs|telemetry|forensics|agent|sensor|enforcement|incidents|analyst|console] [alerts=200000] [agents=10000] [rules=1000] (more in bench/Benchmarks.cs)
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet run -c Release --project bench/Platform.Bench.csproj -- "$@"
