#!/bin/bash
# Benchmark of the base-tree cache, full builds, parallel builds and boot, against mkosi 14 in the
# same invocation on the same machine. Prints every figure, the ratios and the targets.
#
#   Kiln, imageconfigs/core-efi.json:
#     cold full        empty package cache, empty tree cache (installs, stores the tree)
#     warm full        warm package cache, --no-cache (nothing reused but downloaded .debs)
#     warm miss        warm package cache, empty tree cache (installs and stores: the cost of a miss)
#     rebuild:host     Hostname changed            (tree cache hit, initramfs reused)
#     rebuild:user     a user added                (idem)
#     rebuild:file     a file added (AdditionalFiles)
#     rebuild:pkg      a package added (tree cache miss, initramfs reused)
#     -j               four configs (core-efi, core-legacy, bench-efi, features), --no-cache:
#                      `kiln build … -j 1` then `-j 2`
#     boot             core-efi's raw disk booted to login: by the peer's boot_test.sh (TCG, OVMF)
#   mkosi 14 (../shared/bench/mkosi): run.sh (cold, warm, boot), then --incremental: a first build
#   that makes the cache images, then the same changes (Hostname=, a file in mkosi.extra/) rebuilt.
#
# Usage (root):  bench/cache.sh [OUTDIR]          (default bench/results/cache-<UTC timestamp>)
#   KILN_BENCH_PEER_DIR=DIR   another location of the peer (default ../shared/bench/mkosi)
#   KILN_BENCH_SKIP_PEER=1    Kiln only (no ratios)
#   KILN_BENCH_SKIP_JOBS=1    skip the -j measurement (eight full builds)
# Every timed build starts with the page cache dropped, as the peer's do.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
PEER_DIR=${KILN_BENCH_PEER_DIR:-$REPO/../shared/bench/mkosi}
OUT=${1:-$REPO/bench/results/cache-$(date -u +%Y%m%dT%H%M%SZ)}
[ "$(id -u)" = 0 ] || { echo "bench: run as root (loop devices, mounts, chroot)" >&2; exit 2; }
if [ "${KILN_BENCH_SKIP_PEER:-0}" != 1 ] && [ ! -f "$PEER_DIR/run.sh" ]; then
  echo "bench: the peer is not at $PEER_DIR (set KILN_BENCH_PEER_DIR or KILN_BENCH_SKIP_PEER=1)" >&2
  exit 2
fi
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
RES=$OUT/results.txt; : > "$RES"
r() { echo "$1=$2" | tee -a "$RES"; }

"$REPO/kiln" prereqs >/dev/null 2>&1 || "$REPO/kiln" prereqs --install
"$REPO/kiln" --version >/dev/null   # compile now, not inside the timed runs
KILN=(node "$REPO/dist/cli/kiln.js")
dropcaches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }
wall() { awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$1"; }
get() { sed -n "s/^$2=//p" "$1" | head -1; }
ratio() { if [ -n "${1:-}" ] && [ -n "${2:-}" ]; then echo "scale=2; $1 / $2" | bc; else echo "n/a"; fi; }

r date_utc "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
r host "$(nproc) cpus, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# config variants of core-efi.json, beside a copy of its package lists and the added file
CFG=$OUT/configs; mkdir -p "$CFG"
cp -r "$REPO/imageconfigs/packagelists" "$CFG/"
echo 'built by bench/cache.sh' > "$CFG/motd"
variant() { # $1 name, $2 python statement on sc
  python3 - "$REPO/imageconfigs/core-efi.json" "$CFG/$1.json" "$CFG" <<EOF
import json, sys
c = json.load(open(sys.argv[1])); sc = c['SystemConfigs'][0]; cfg = sys.argv[3]
$2
json.dump(c, open(sys.argv[2], 'w'), indent=1)
EOF
}
variant core-efi "pass"
variant core-efi-host "sc['Hostname'] = 'bench-changed'"
variant core-efi-user "sc['Users'] = [{'Name': 'bench', 'Password': 'bench-pw'}]"
variant core-efi-file "sc['AdditionalFiles'] = {cfg + '/motd': '/etc/motd'}"
variant core-efi-pkg "sc['Packages'] = ['jq']"

kiln_build() { # $1 label, $2 config name, $3 tree cache dir, rest: extra args
  local l=$1 name=$2 trees=$3; shift 3
  local o=$OUT/kiln-$l
  rm -rf "$o"; dropcaches
  /usr/bin/time -v -o "$OUT/kiln-$l.time" "${KILN[@]}" build "$CFG/$name.json" --out "$o" \
    --cache-dir "$OUT/kiln-pkgcache" --tree-cache "$trees" "$@" 2> "$OUT/kiln-$l.console"
  r "kiln_${l}_wall_s" "$(wall "$OUT/kiln-$l.time")"
  local t=$o/logs/$name.timings.json
  r "kiln_${l}_node_maxrss_mib" "$(node -e 'console.log(require(process.argv[1]).maxRssMiB)' "$t")"
  r "kiln_${l}_tree_cache" "$(node -e 'const n=require(process.argv[1]).notes;console.log((n.treeCache||{}).state+"/initramfs-"+(n.initramfs||"-"))' "$t")"
  node -e '
    const t = require(process.argv[1]);
    for (const s of t.stages) console.log(`stage ${process.argv[2]} ${s.seconds.toFixed(1).padStart(6)} s  ${s.name}`);
  ' "$t" "$l" | tee -a "$OUT/stages.txt"
}

# 1-3: full builds
rm -rf "$OUT/kiln-pkgcache" "$OUT/trees" "$OUT/trees-miss"
kiln_build cold core-efi "$OUT/trees"
kiln_build warm core-efi "$OUT/trees" --no-cache --keep-raw
kiln_build miss core-efi "$OUT/trees-miss"
rm -rf "$OUT/trees-miss"
# 4-6: config-only changes against the tree stored by the cold build
kiln_build rebuild_host core-efi-host "$OUT/trees"
kiln_build rebuild_user core-efi-user "$OUT/trees"
kiln_build rebuild_file core-efi-file "$OUT/trees"
# a package change: the tree misses (installed and stored), the initramfs is reused (same inputs)
kiln_build rebuild_pkg core-efi-pkg "$OUT/trees"
"${KILN[@]}" cache list --tree-cache "$OUT/trees" | tee "$OUT/cache-list.txt"

# 7: four configs, sequential then two at a time (each run: warm package cache, --no-cache)
if [ "${KILN_BENCH_SKIP_JOBS:-0}" != 1 ]; then
  FOUR=("$REPO/imageconfigs/core-efi.json" "$REPO/imageconfigs/core-legacy.json" "$REPO/bench/configs/bench-efi.json" "$REPO/test/fixtures/e2e/features/features.json")
  for j in 1 2; do
    rm -rf "$OUT/kiln-j$j"; dropcaches
    /usr/bin/time -v -o "$OUT/kiln-j$j.time" "${KILN[@]}" build "${FOUR[@]}" -j $j --out "$OUT/kiln-j$j" --cache-dir "$OUT/kiln-pkgcache" --no-cache 2> "$OUT/kiln-j$j.console" || true
    tail -8 "$OUT/kiln-j$j.console"
    r "kiln_j${j}_wall_s" "$(wall "$OUT/kiln-j$j.time")"
    r "kiln_j${j}_ok" "$(grep -c ' ok ' "$OUT/kiln-j$j.console" || true)"
    rm -rf "$OUT/kiln-j$j/images"
  done
fi

# 8: boot the warm build's raw disk with the peer's boot test
if [ -f "$PEER_DIR/boot_test.sh" ]; then
  out=$("$PEER_DIR/boot_test.sh" "$OUT/kiln-warm/images/core-efi/core-efi.raw" "$OUT/kiln-serial.log" 600)
  echo "$out"
  r kiln_boot_login_prompt "$(echo "$out" | sed -n 's/.*login_prompt=\([a-z]*\).*/\1/p')"
  r kiln_boot_seconds_to_login "$(echo "$out" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p')"
fi
rm -rf "$OUT"/kiln-*/images

# the peer
P=$OUT/peer-results.txt
if [ "${KILN_BENCH_SKIP_PEER:-0}" != 1 ]; then
  KEEP_CACHE=1 bash "$PEER_DIR/run.sh" "$OUT/peer" bench > "$OUT/peer.console" 2>&1 || { echo "bench: the peer failed; see $OUT/peer.console" >&2; tail -20 "$OUT/peer.console" >&2; exit 1; }
  cp "$OUT/peer/logs/bench-results.txt" "$P"
  # mkosi --incremental: same flags as run.sh, in its work directory (mkosi.cache kept: warm packages)
  W=$OUT/peer/work
  MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$MIRROR" ] || MIRROR=$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  MKOSI=(mkosi -f ${MIRROR:+--mirror="$MIRROR"} --extra-search-paths="$PEER_DIR/shim" --nspawn-keep-unit --incremental build)
  mkosi_inc() { # $1 label
    rm -f /run/mkosi-vfat-shim.map; dropcaches
    (cd "$W" && /usr/bin/time -v -o "$OUT/mkosi-inc-$1.time" "${MKOSI[@]}" > "$OUT/mkosi-inc-$1.log" 2>&1) || { tail -20 "$OUT/mkosi-inc-$1.log"; exit 1; }
    r "mkosi_incremental_$1_wall_s" "$(wall "$OUT/mkosi-inc-$1.time")"
  }
  cp "$PEER_DIR/mkosi.conf" "$W/mkosi.conf"
  rm -rf "$W/mkosi.extra"
  mkosi_inc first
  sed -i 's/^Hostname=.*/Hostname=bench-changed/' "$W/mkosi.conf"
  mkosi_inc host
  mkdir -p "$W/mkosi.extra/etc" && cp "$CFG/motd" "$W/mkosi.extra/etc/motd"
  mkosi_inc file
  rm -rf "$W/mkosi.extra" "$W/mkosi.output"/* "$W/mkosi.cache"/*
  cp "$PEER_DIR/mkosi.conf" "$W/mkosi.conf"
fi
[ -f "$P" ] || P=/dev/null

echo
echo "== Kiln vs mkosi 14 (same machine, same run; load average now $(cut -d' ' -f1-3 /proc/loadavg)) =="
printf '%-34s %10s %10s %7s %8s\n' metric kiln mkosi ratio target
row() { printf '%-34s %10s %10s %7s %8s\n' "$1" "${2:-n/a}" "${3:-n/a}" "$(ratio "${2:-}" "${3:-}")" "$4"; }
RESULTS=$RES
row "cold full build s" "$(get "$RESULTS" kiln_cold_wall_s)" "$(get "$P" cold_wall_s)" "≤ 0.40"
row "warm full build s (--no-cache)" "$(get "$RESULTS" kiln_warm_wall_s)" "$(get "$P" warm_wall_s)" "≤ 0.35"
row "warm miss (install + store) s" "$(get "$RESULTS" kiln_miss_wall_s)" "$(get "$P" warm_wall_s)" ""
mh=$(get "$RESULTS" mkosi_incremental_host_wall_s); mf=$(get "$RESULTS" mkosi_incremental_file_wall_s)
row "rebuild, hostname changed s" "$(get "$RESULTS" kiln_rebuild_host_wall_s)" "$mh" "≤ 0.25"
row "rebuild, user added s" "$(get "$RESULTS" kiln_rebuild_user_wall_s)" "$mh" "≤ 0.25"
row "rebuild, file added s" "$(get "$RESULTS" kiln_rebuild_file_wall_s)" "$mf" "≤ 0.25"
row "rebuild, package added s" "$(get "$RESULTS" kiln_rebuild_pkg_wall_s)" "$(get "$P" warm_wall_s)" ""
row "four configs -j 2 / -j 1 s" "$(get "$RESULTS" kiln_j2_wall_s)" "$(get "$RESULTS" kiln_j1_wall_s)" "≤ 0.70"
row "boot to login (TCG) s" "$(get "$RESULTS" kiln_boot_seconds_to_login)" "$(get "$P" boot_seconds_to_login)" "≤ 0.70"
printf '%-34s %10s %10s\n' "Kiln node peak RSS MiB (max)" "$(sed -n 's/^kiln_.*_node_maxrss_mib=//p' "$RESULTS" | sort -n | tail -1)" "≤ 200"
printf '%-34s %10s\n' "rebuild absolute target" "≤ 10 s"
echo "(the mkosi column of the -j row is Kiln's own -j 1; mkosi's rebuilds are --incremental with Hostname= and mkosi.extra/etc/motd; its user change has no config key in mkosi 14)"
echo
echo "== Kiln per stage =="
cat "$OUT/stages.txt"
echo "results: $RES"
