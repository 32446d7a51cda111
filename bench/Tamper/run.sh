#!/bin/bash
# The tamper programs' cost on unrelated file I/O (docs/sensor-tamper.md, "Cost"): 100,000 open(O_WRONLY|O_CREAT|O_TRUNC)
# /write/close of files outside any rule on tmpfs, with no sensor, the sensor without tamper.bpf.h, and the whole
# sensor, in rounds; and the CPU time of each tamper program per run (BPF_STATS_RUN_TIME while the loader runs); then
# the io_uring programs' per request, on 100,000 io_uring WRITEs and READs (uring.c).
# Run as root after `dotnet build` (agent/obj/bpf/ holds vmlinux.h and sensor.bpf.o). Needs clang-14 and libbpf-dev.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
agent=$here/../../agent
work=$(mktemp -d /tmp/tamper-bench.XXXXXX)
trap 'rm -rf "$work" /dev/shm/tamper-bench.$$' EXIT
mkdir -p /dev/shm/tamper-bench.$$
mkdir -p "$work/src" && cp "$agent"/Sensor/Bpf/* "$work/src/"
sed -i 's/^#include "tamper.bpf.h"$//' "$work/src/sensor.bpf.c"
arch=$([ "$(uname -m)" = aarch64 ] && echo arm64 || echo x86)
clang-14 -g -O2 -target bpf -D__TARGET_ARCH_$arch -I"$agent/obj/bpf" -I"$work/src" -c "$work/src/sensor.bpf.c" -o "$work/without.o"
clang-14 -O2 -o "$work/io" "$here/io.c"
clang-14 -O2 -o "$work/loader" "$here/loader.c" -lbpf
clang-14 -O2 -o "$work/uring" "$here/uring.c"
with=$agent/obj/bpf/sensor.bpf.o
n=${1:-100000}
for round in 1 2 3; do
  a=$("$work/loader" - x "$work/io" "$n" /dev/shm/tamper-bench.$$ 2>/dev/null)
  b=$("$work/loader" "$work/without.o" x "$work/io" "$n" /dev/shm/tamper-bench.$$ 2>/dev/null)
  c=$("$work/loader" "$with" x "$work/io" "$n" /dev/shm/tamper-bench.$$ 2>/dev/null)
  echo "round $round: ns per open/write/close: none $a, sensor without tamper $b, with tamper $c"
done
"$work/loader" "$with" tamper_ "$work/io" "$n" /dev/shm/tamper-bench.$$ >/dev/null
for op in write read; do
  echo "io_uring ${op}s, ns per request: $("$work/loader" "$with" tamper_uring_ "$work/uring" "$n" /dev/shm/tamper-bench.$$/uring $op)"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
