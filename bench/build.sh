#!/bin/bash
# Benchmark: Kiln building bench/configs/bench-efi.json (the peer's package set and layout) cold
# (empty package cache) and warm, against the peer — mkosi 14 building the equivalent image
# (../shared/bench/mkosi/run.sh) — in the same invocation, on the same machine. Prints wall time,
# peak memory, installed size and image size for both, the ratios, and Kiln's time per stage.
#
# Usage (root):  bench/build.sh [OUTDIR]      (default bench/results/<UTC timestamp>)
#   KILN_BENCH_PEER=/path/to/run.sh   another location of the peer script
#   KILN_BENCH_SKIP_PEER=1            Kiln only (ratios are then not printed)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
PEER=${KILN_BENCH_PEER:-$REPO/../shared/bench/mkosi/run.sh}
OUT=${1:-$REPO/bench/results/$(date -u +%Y%m%dT%H%M%SZ)}
CONFIG=$REPO/bench/configs/bench-efi.json
if [ "${KILN_BENCH_SKIP_PEER:-0}" != 1 ] && [ ! -f "$PEER" ]; then
  echo "bench: the peer benchmark is not at $PEER" >&2
  echo "bench: it is ../shared/bench/mkosi/run.sh relative to the repository; set KILN_BENCH_PEER or KILN_BENCH_SKIP_PEER=1" >&2
  exit 2
fi
[ "$(id -u)" = 0 ] || { echo "bench: run as root (loop devices, mounts, chroot)" >&2; exit 2; }
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
RES=$OUT/results.txt; : > "$RES"
r() { echo "$1=$2" | tee -a "$RES"; }

"$REPO/kiln" prereqs >/dev/null 2>&1 || "$REPO/kiln" prereqs --install
"$REPO/kiln" --version >/dev/null   # compile now, not inside the timed runs
KILN=(node "$REPO/dist/cli/kiln.js")
dropcaches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }
wall() { awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$1"; }
maxrss() { awk -F': ' '/Maximum resident set size/{printf "%.1f", $2/1024}' "$1"; }

kiln_build() { # $1 = cold|warm
  local l=$1 o=$OUT/kiln-$1
  rm -rf "$o"; dropcaches
  /usr/bin/time -v -o "$OUT/kiln-$l.time" "${KILN[@]}" build "$CONFIG" --out "$o" --cache-dir "$OUT/kiln-cache" --keep-raw 2> "$OUT/kiln-$l.console"
  r "kiln_${l}_wall_s" "$(wall "$OUT/kiln-$l.time")"
  # largest single process of the tree (GNU time) and Kiln's own node process (from the build)
  r "kiln_${l}_tree_maxrss_mib" "$(maxrss "$OUT/kiln-$l.time")"
  r "kiln_${l}_node_maxrss_mib" "$(node -e 'const t=require(process.argv[1]);console.log(t.maxRssMiB)' "$o/logs/bench-efi.timings.json")"
  local img=$o/images/bench-efi
  r "kiln_${l}_vhdx_apparent_bytes" "$(stat -c %s "$img/bench.vhdx")"
  r "kiln_${l}_vhdx_du_bytes" "$(du -B1 "$img/bench.vhdx" | cut -f1)"
  r "kiln_${l}_raw_du_bytes" "$(du -B1 "$img/bench-efi.raw" | cut -f1)"
  r "kiln_${l}_packages" "$(node -e 'console.log(require(process.argv[1]).packages.length)' "$img/manifest.json")"
  local off m loop
  off=$(sfdisk -J "$img/bench-efi.raw" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).partitiontable.partitions[1].start*512))')
  m=$(mktemp -d); loop=$(losetup --find --show --read-only --offset "$off" "$img/bench-efi.raw")
  mount -o ro,noload "$loop" "$m"
  r "kiln_${l}_rootfs_used_bytes" "$(df -B1 --output=used "$m" | tail -1 | tr -d ' ')"
  umount "$m"; losetup -d "$loop"; rmdir "$m"
  node -e '
    const t = require(process.argv[1]);
    for (const s of t.stages) console.log(`stage ${process.argv[2]} ${s.seconds.toFixed(1).padStart(6)} s  ${s.name}`);
  ' "$o/logs/bench-efi.timings.json" "$l" | tee -a "$OUT/stages.txt"
  grep -E '^\[\+[0-9.]+s\] (I: |update-initramfs)' "$o/logs/bench-efi.log" | sed "s/^/install-$l /" >> "$OUT/stages.txt" || true
  rm -f "$img/bench-efi.raw"
}

rm -rf "$OUT/kiln-cache"
kiln_build cold
kiln_build warm

if [ "${KILN_BENCH_SKIP_PEER:-0}" != 1 ]; then
  bash "$PEER" "$OUT/peer" bench > "$OUT/peer.console" 2>&1 || { echo "bench: the peer failed; see $OUT/peer.console" >&2; tail -20 "$OUT/peer.console" >&2; exit 1; }
  cp "$OUT/peer/logs/bench-results.txt" "$OUT/peer-results.txt"
fi

# summary
get() { sed -n "s/^$2=//p" "$1" | head -1; }
ratio() { if [ -n "$1" ] && [ -n "$2" ]; then echo "scale=2; $1 / $2" | bc; else echo "n/a"; fi; }
P=$OUT/peer-results.txt; [ -f "$P" ] || P=/dev/null
echo
echo "== Kiln vs mkosi 14 (same machine, same run) =="
printf '%-28s %12s %12s %8s\n' metric kiln mkosi ratio
for l in cold warm; do
  kw=$(get "$RES" "kiln_${l}_wall_s"); mw=$(get "$P" "${l}_wall_s")
  printf '%-28s %12s %12s %8s\n' "$l wall s" "$kw" "${mw:-n/a}" "$(ratio "$kw" "$mw")"
  km=$(get "$RES" "kiln_${l}_tree_maxrss_mib"); mm=$(get "$P" "${l}_maxrss_mib")
  printf '%-28s %12s %12s %8s\n' "$l peak RSS MiB (tree)" "$km" "${mm:-n/a}" "$(ratio "$km" "$mm")"
  printf '%-28s %12s %12s %8s\n' "$l kiln node RSS MiB" "$(get "$RES" "kiln_${l}_node_maxrss_mib")" "" ""
done
ku=$(get "$RES" kiln_warm_rootfs_used_bytes); mu=$(get "$P" warm_rootfs_used_bytes)
printf '%-28s %12s %12s %8s\n' "installed (root used) B" "$ku" "${mu:-n/a}" "$(ratio "$ku" "$mu")"
kv=$(get "$RES" kiln_warm_vhdx_du_bytes); mv=$(get "$P" vhdx_du_bytes)
printf '%-28s %12s %12s %8s\n' "vhdx size B (du)" "$kv" "${mv:-n/a}" "$(ratio "$kv" "$mv")"
printf '%-28s %12s %12s %8s\n' "packages" "$(get "$RES" kiln_warm_packages)" "$(get "$P" warm_dpkg_ii_packages)" ""
echo "(Kiln's wall time includes writing the vhdx; mkosi's does not: its vhdx conversion took $(get "$P" vhdx_wall_s) s more)"
echo
echo "== Kiln per stage =="
cat "$OUT/stages.txt"
echo "results: $RES"
