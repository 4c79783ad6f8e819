#!/bin/bash
# Benchmark: upstream's core-efi.json on the RPM backend (Azure Linux 3.0 from the offline test
# repository, scripts/make-azl-test-repo.sh) against the shipped Debian core-efi.json, cold (empty
# package cache) and warm, in the same invocation. Prints wall time, Kiln's peak memory, the
# package count and time per stage for both, and the RPM/Debian ratios.
#
# Usage (root):  bench/rpm.sh [OUTDIR]      (default bench/results/rpm-<UTC timestamp>)
#   KILN_AZL_REPO=DIR   where the test repository is (built if missing; default: where the e2e tests keep it)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$REPO/bench/results/rpm-$(date -u +%Y%m%dT%H%M%SZ)}
[ "$(id -u)" = 0 ] || { echo "bench: run as root (loop devices, mounts, chroot)" >&2; exit 2; }
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
RES=$OUT/results.txt; : > "$RES"
r() { echo "$1=$2" | tee -a "$RES"; }

"$REPO/kiln" prereqs >/dev/null 2>&1 || "$REPO/kiln" prereqs --install
"$REPO/kiln" --version >/dev/null   # compile now, not inside the timed runs
KILN=(node "$REPO/dist/cli/kiln.js")
AZL_REPO=${KILN_AZL_REPO:-/var/cache/kiln/test-repo/azl3-$("$REPO/scripts/make-azl-test-repo.sh" --hash | cut -c1-16)}
MIRROR=$("$REPO/scripts/make-azl-test-repo.sh" "$AZL_REPO" 2>"$OUT/azl-repo.console" | tail -1)
# the test repository's key is trusted the way an administrator trusts a re-signed mirror
export KILN_TRUSTED_KEYS=$OUT/trusted-keys
mkdir -p "$KILN_TRUSTED_KEYS/azurelinux"; cp "$AZL_REPO/RPM-GPG-KEY-kiln-test" "$KILN_TRUSTED_KEYS/azurelinux/"

dropcaches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }
wall() { awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$1"; }

one() { # $1 = rpm|debian  $2 = cold|warm  $3 = config  $4... = extra args
  local fam=$1 l=$2 cfg=$3; shift 3
  local o=$OUT/$fam-$l name; name=$(basename "$cfg" .json)
  rm -rf "$o"; dropcaches
  /usr/bin/time -v -o "$o.time" "${KILN[@]}" build "$cfg" --out "$o" --cache-dir "$OUT/cache-$fam" "$@" 2> "$o.console"
  r "${fam}_${l}_wall_s" "$(wall "$o.time")"
  r "${fam}_${l}_node_maxrss_mib" "$(node -e 'console.log(require(process.argv[1]).maxRssMiB)' "$o/logs/$name.timings.json")"
  r "${fam}_${l}_packages" "$(node -e 'console.log(require(process.argv[1]).packages.length)' "$o/images/$name/manifest.json")"
  node -e '
    const t = require(process.argv[1]);
    for (const s of t.stages) console.log(`stage ${process.argv[2]} ${s.seconds.toFixed(1).padStart(6)} s  ${s.name}`);
  ' "$o/logs/$name.timings.json" "$fam-$l" | tee -a "$OUT/stages.txt"
  rm -rf "$o/images"
}

rm -rf "$OUT/cache-rpm" "$OUT/cache-debian"
one rpm cold "$REPO/test/fixtures/upstream/imageconfigs/core-efi.json" --mirror "$MIRROR"
one rpm warm "$REPO/test/fixtures/upstream/imageconfigs/core-efi.json" --mirror "$MIRROR"
one debian cold "$REPO/imageconfigs/core-efi.json"
one debian warm "$REPO/imageconfigs/core-efi.json"

get() { sed -n "s/^$1=//p" "$RES" | head -1; }
ratio() { echo "scale=2; $1 / $2" | bc; }
echo
echo "== upstream core-efi on the RPM backend vs shipped Debian core-efi (same machine, same run) =="
printf '%-24s %10s %10s %8s\n' metric rpm debian ratio
for l in cold warm; do
  printf '%-24s %10s %10s %8s\n' "$l wall s" "$(get rpm_${l}_wall_s)" "$(get debian_${l}_wall_s)" "$(ratio "$(get rpm_${l}_wall_s)" "$(get debian_${l}_wall_s)")"
  printf '%-24s %10s %10s\n' "$l kiln node RSS MiB" "$(get rpm_${l}_node_maxrss_mib)" "$(get debian_${l}_node_maxrss_mib)"
  printf '%-24s %10s %10s\n' "$l packages" "$(get rpm_${l}_packages)" "$(get debian_${l}_packages)"
done
echo "per stage: $OUT/stages.txt"
