#!/bin/bash
# Benchmark: what an encrypted root (LUKS2) and a verity root cost at build time on core-efi,
# against the plain build of imageconfigs/core-efi.json in the same run, on the same machine.
#
#   plain   imageconfigs/core-efi.json as shipped (ESP 64 MiB, ext4 root, grub)
#   luks    the same + a 256 MiB /boot partition (grub reads no LUKS) + Encryption on the root
#   verity  the same + a 128 MiB ESP (it holds the UKI) + a hash partition + Verity on the root,
#           BootLoader "uki" (a verity root hash belongs in the UKI's command line)
#
# All three build with --no-cache: the base-tree cache would restore the plain build's tree but
# stays out of builds with device layers, so the comparison would measure the cache, not the layers.
#
# Every round builds the three in turn (plain, luks, verity) with the shared package cache; the
# first round also fills the cache with the packages only the variants need (cryptsetup,
# systemd-boot-efi ...), so by default two rounds run and the last is reported (ROUNDS=N: the
# median of rounds 2..N). Target: each variant adds at most 15 s of wall time to the plain build.
#
# Usage (root):  bench/trusted-boot.sh [OUTDIR]     (default bench/results/trusted-boot-<UTC timestamp>)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$REPO/bench/results/trusted-boot-$(date -u +%Y%m%dT%H%M%SZ)}
ROUNDS=${ROUNDS:-2}
[ "$(id -u)" = 0 ] || { echo "bench: run as root (loop devices, mounts, chroot)" >&2; exit 2; }
[ "$ROUNDS" -ge 2 ] || { echo "bench: ROUNDS must be 2 or more (the first round fills the package cache)" >&2; exit 2; }
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
"$REPO/kiln" prereqs >/dev/null 2>&1 || "$REPO/kiln" prereqs --install
"$REPO/kiln" --version >/dev/null   # compile now, not inside the timed runs
KILN=(node "$REPO/dist/cli/kiln.js")

# the three configs side by side, with the package lists they name
CFG=$OUT/configs
rm -rf "$CFG"; mkdir -p "$CFG"
cp -r "$REPO/imageconfigs/packagelists" "$CFG/"
cp "$REPO/imageconfigs/core-efi.json" "$CFG/plain.json"
node - "$CFG" <<'JS'
const fs = require('fs');
const dir = process.argv[2];
const base = JSON.parse(fs.readFileSync(`${dir}/plain.json`, 'utf8'));
const variant = (name, edit) => {
  const c = structuredClone(base);
  edit(c.Disks[0], c.SystemConfigs[0]);
  fs.writeFileSync(`${dir}/${name}.json`, JSON.stringify(c, null, 2) + '\n');
};
variant('luks', (d, sc) => {
  const [esp, root] = d.Partitions;
  // after the shipped ESP, wherever it ends
  d.Partitions = [esp, { ID: 'bootpart', Start: esp.End, End: esp.End + 256, FsType: 'ext4' }, { ...root, Start: esp.End + 256, Flags: ['dmroot'] }];
  sc.PartitionSettings.splice(1, 0, { ID: 'bootpart', MountPoint: '/boot' });
  sc.Encryption = { Enable: true, Password: 'bench-passphrase' };
});
variant('verity', (d, sc) => {
  const [esp, root] = d.Partitions;
  const end = Math.max(esp.End, 129); // the ESP holds the UKI: at least 128 MiB
  d.Partitions = [{ ...esp, End: end }, { ID: 'roothash', Start: end, End: end + 40, FsType: 'ext4' }, { ...root, Start: end + 40, Flags: ['dmroot'] }];
  sc.BootLoader = 'uki';
  sc.Verity = { Enable: true, HashPartition: 'roothash' };
});
JS

VARIANTS=(plain luks verity)
wall() { awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$1"; }
for r in $(seq 1 "$ROUNDS"); do
  for v in "${VARIANTS[@]}"; do
    o=$OUT/round$r-$v
    rm -rf "$o"
    echo "bench: round $r/$ROUNDS: $v" >&2
    /usr/bin/time -v -o "$o.time" "${KILN[@]}" build "$CFG/$v.json" --out "$o" --no-cache 2> "$o.console" || { echo "bench: $v failed; see $o.console" >&2; tail -20 "$o.console" >&2; exit 1; }
    echo "$(wall "$o.time")" > "$o.wall"
    cp "$o/logs/$v.timings.json" "$o.timings.json"
    rm -rf "$o/images"   # keep logs and timings only
  done
done

# report: wall time and the stages that differ, median over rounds 2..N
node - "$OUT" "$ROUNDS" <<'JS' | tee "$OUT/summary.txt"
const fs = require('fs');
const [out, rounds] = [process.argv[2], Number(process.argv[3])];
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const stage = (t, re) => t.stages.filter((s) => re.test(s.name)).reduce((a, s) => a + s.seconds, 0);
const cols = {
  'disk': /^partition and format/,
  'install': /^install packages/,
  'initramfs': /^initramfs/,
  'boot loader': /^bootloader/,
  'seal layers': /^seal device layers/,
  'release+UKI': /^unmount, fill FAT/,
};
const rows = {};
for (const v of ['plain', 'luks', 'verity']) {
  const walls = [], parts = Object.fromEntries(Object.keys(cols).map((k) => [k, []]));
  for (let r = 2; r <= rounds; r++) {
    walls.push(Number(fs.readFileSync(`${out}/round${r}-${v}.wall`, 'utf8')));
    const t = JSON.parse(fs.readFileSync(`${out}/round${r}-${v}.timings.json`, 'utf8'));
    for (const [k, re] of Object.entries(cols)) parts[k].push(stage(t, re));
  }
  rows[v] = { wall: median(walls), ...Object.fromEntries(Object.entries(parts).map(([k, xs]) => [k, median(xs)])) };
}
const fmt = (n) => n.toFixed(1).padStart(8);
console.log(`trusted-boot build cost on core-efi (median of round${rounds > 2 ? 's 2..' + rounds : ' 2'}; seconds)`);
console.log(['variant'.padEnd(8), ...['wall', 'vs plain', ...Object.keys(cols)].map((c) => c.padStart(12))].join(''));
for (const [v, r] of Object.entries(rows)) {
  const delta = r.wall - rows.plain.wall;
  console.log([v.padEnd(8), fmt(r.wall).padStart(12), (v === 'plain' ? '' : (delta >= 0 ? '+' : '') + delta.toFixed(1)).padStart(12), ...Object.keys(cols).map((k) => fmt(r[k]).padStart(12))].join(''));
}
for (const v of ['luks', 'verity']) {
  const d = rows[v].wall - rows.plain.wall;
  console.log(`${v}: ${d >= 0 ? '+' : ''}${d.toFixed(1)} s over plain: ${d <= 15 ? 'within' : 'OVER'} the 15 s target`);
}
console.log(`load average at the end: ${fs.readFileSync('/proc/loadavg', 'utf8').trim()}`);
JS
