#!/bin/bash
# The tamper programs' cost on unrelated file I/O (docs/sensor-tamper.md, "Cost"): 100,000 open(O_WRONLY|O_CREAT|O_TRUNC)
# /write/close of files outside any rule on tmpfs (/dev/shm: the cheapest such I/O there is, so the programs' largest
# share; on ext4 a truncating rewrite is flushed at close, milliseconds per call), with no sensor, the sensor without
# tamper.bpf.h, and the whole sensor. Rounds run the three in a rotating order (a machine that speeds up or slows down during the run weighs on
# each alike); the summary gives each one's median and the median of the rounds' ratios (no BPF statistics kept during the
# rounds, as in production). Then the CPU time per run of the open exit's program (BPF_STATS_RUN_TIME while the loader
# runs): files.bpf.h's alone, and tamper.bpf.h's that does both parts; then the io_uring programs' per request, on
# 100,000 io_uring WRITEs and READs (uring.c).
# Usage: run.sh [ITERATIONS] [ROUNDS]. Run as root after `dotnet build` (agent/obj/bpf/ holds vmlinux.h and
# sensor.bpf.o). Needs clang-14 and libbpf-dev.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
agent=$here/../../agent
work=$(mktemp -d /tmp/tamper-bench.XXXXXX)
shm=/dev/shm/tamper-bench.$$
trap 'rm -rf "$work" "$shm"' EXIT
mkdir -p "$shm"
mkdir -p "$work/src" && cp "$agent"/Sensor/Bpf/* "$work/src/"
sed -i 's/^#include "tamper.bpf.h"$//' "$work/src/sensor.bpf.c"
arch=$([ "$(uname -m)" = aarch64 ] && echo arm64 || echo x86)
clang-14 -g -O2 -target bpf -D__TARGET_ARCH_$arch -I"$agent/obj/bpf" -I"$work/src" -c "$work/src/sensor.bpf.c" -o "$work/without.o"
clang-14 -O2 -o "$work/io" "$here/io.c"
clang-14 -O2 -o "$work/loader" "$here/loader.c" -lbpf
clang-14 -O2 -o "$work/uring" "$here/uring.c"
n=${1:-100000}
rounds=${2:-9}
declare -A object=([none]=- [without]="$work/without.o" [with]="$agent/obj/bpf/sensor.bpf.o")
order=(none without with)
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for place in "$shm"; do
  fs=$(stat -f -c %T "$place")
  : > "$work/times"
  for ((round = 0; round < rounds; round++)); do
    line="$fs round $((round + 1)):"
    for ((k = 0; k < 3; k++)); do
      config=${order[(round + k) % 3]}
      t=$("$work/loader" "${object[$config]}" - "$work/io" "$n" "$place" 2>/dev/null)
      echo "$round $config $t" >> "$work/times"
      line="$line $config $t"
    done
    echo "$line ns per open/write/close"
  done
  awk -v fs="$fs" '
    { t[$1, $2] = $3; r[$1] = 1 }
    function median(a, m,   i, j, x) { for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { x = a[i]; a[i] = a[j]; a[j] = x } return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2 }
    END {
      m = 0; for (k in r) { m++; none[m] = t[k, "none"]; without[m] = t[k, "without"]; with[m] = t[k, "with"]; tw[m] = t[k, "with"] / t[k, "without"]; tn[m] = t[k, "with"] / t[k, "none"] }
      printf "%s, median of %d rounds: none %.0f ns, sensor without tamper %.0f ns, whole sensor %.0f ns; with tamper / without: %.3fx, whole sensor / none: %.3fx\n", fs, m, median(none, m), median(without, m), median(with, m), median(tw, m), median(tn, m)
    }' "$work/times"
done
echo "the open exit's program, its own CPU time per run: the sensor's alone (without tamper), then the one that does both parts:"
"$work/loader" "${object[without]}" sensor_openat_exit "$work/io" "$n" "$shm" >/dev/null
"$work/loader" "${object[with]}" tamper_openat_exit "$work/io" "$n" "$shm" >/dev/null
for op in write read; do
  echo "io_uring ${op}s, ns per request: $("$work/loader" "${object[with]}" tamper_uring_ "$work/uring" "$n" "$shm/uring" $op)"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
