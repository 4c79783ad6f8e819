#!/bin/sh
# Fault benchmark (not part of CI; root; about an hour on the 2-core machines): interrupts at least
# 20 real builds with SIGINT, SIGTERM and SIGKILL (+ `kiln clean`) at random moments of every
# stage (install, configuration, scripts, bootloader, detach, roast, ISO), then injects faults
# (full filesystem, unreachable mirror, truncated cached package, repository changing mid-build)
# and prints what each left behind and whether the next build succeeded. Exit 0 when nothing leaked
# and every next build succeeded. See bench/faults.ts for the details and docs/security.md for a run.
#
#   bench/faults.sh [--trials N] [--seed S] [--no-inject] [--only-inject] [--reuse] [--next-each]
#                   [--configs rootfs,disk,iso] [--faults hangup,enospc,noroute,truncated,repo]
#   KILN_BENCH_DIR=/var/tmp/kiln-bench-faults (default): work directory, private package cache
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/faults.sh: run as root" >&2; exit 2; }
./kiln prereqs --all --install >/dev/null
for tool in ip dpkg-deb dpkg-scanpackages xorriso fallocate findmnt; do
  command -v "$tool" >/dev/null || { echo "bench/faults.sh: $tool is missing (kiln prereqs --all --install)" >&2; exit 4; }
done
exec npx vite-node bench/faults.ts "$@"
