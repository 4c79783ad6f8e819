#!/bin/sh
# Runs in the installer root: keep only the kernel modules /etc/kiln/modules names (and what they
# depend on) and drop documentation, so the initrd stays small.
set -eu
kver=$(ls /usr/lib/modules | head -n1)
keep=/tmp/kiln-keep-modules
: > "$keep"
grep -v '^#' /etc/kiln/modules | grep -v '^$' | while read -r m; do
  # "insmod /path/x.ko" lines; builtin modules print "builtin x" and need nothing
  modprobe --set-version "$kver" --show-depends "$m" 2>/dev/null | sed -n 's/^insmod \([^ ]*\).*/\1/p' >> "$keep" || true
done
# modprobe may print /lib/... or /usr/lib/... (merged /usr): compare in one spelling
sed -i 's#^/usr/lib/#/lib/#' "$keep"
sort -u -o "$keep" "$keep"
find "/usr/lib/modules/$kver/kernel" -name '*.ko*' | sed 's#^/usr/lib/#/lib/#' | sort | comm -23 - "$keep" | xargs -r rm -f
find "/usr/lib/modules/$kver/kernel" -type d -empty -delete
depmod "$kver"
echo "kept $(wc -l < "$keep") kernel modules"
rm -f "$keep"
# nothing in the initrd runs perl, iconv modules or needs udev's hardware database
rm -rf /usr/lib/x86_64-linux-gnu/perl /usr/share/perl /usr/lib/x86_64-linux-gnu/gconv /usr/lib/udev/hwdb.bin /usr/lib/udev/hwdb.d
# the package cache and lists are the sandbox's read-only mounts (nothing of them is in the tree):
# only apt's own binary caches are ours to drop
rm -rf /usr/share/doc/* /usr/share/man/* /usr/share/info/* /usr/share/locale/* /var/cache/apt/*.bin /usr/share/lintian
