#!/bin/sh
# repro-diff.sh A.iso B.iso: what differs between two ISOs, by path (a short, diffoscope-style summary). Run in
# the builder container (xorriso, unsquashfs). The ISO's own files are compared, then the squashfs
# contents (file data and metadata). Exit 0 when the ISOs are identical.
set -eu
a=$1; b=$2; w=$(mktemp -d); trap 'rm -rf "$w"' EXIT
if cmp -s "$a" "$b"; then echo "identical: $(sha256sum "$a" | cut -d' ' -f1)"; exit 0; fi
for x in a b; do
  eval "iso=\$$x"
  mkdir -p "$w/$x"
  xorriso -osirrox on -indev "$iso" -extract / "$w/$x/iso" >/dev/null 2>&1
  (cd "$w/$x/iso" && find . -type f ! -name filesystem.squashfs -exec sha256sum {} + | sort -k2) > "$w/$x/iso.sums"
  # exit 2 is unsquashfs's "non-fatal errors" (device nodes an unprivileged container cannot make)
  unsquashfs -q -n -d "$w/$x/root" "$w/$x/iso/live/filesystem.squashfs" >/dev/null 2>&1 || [ $? -eq 2 ]
  (cd "$w/$x/root" && find . -type f -exec sha256sum {} + | sort -k2) > "$w/$x/root.sums"
  unsquashfs -lls -n "$w/$x/iso/live/filesystem.squashfs" | tail -n +4 | sort -k6 > "$w/$x/root.meta"
done
show() { diff "$w/a/$1" "$w/b/$1" | sed -n 's/^[<>] [0-9a-f]\{64\}  \.\//  /p; s/^[<>] \(.*\)$/  meta: \1/p' | sort -u | head -40; }
echo "ISO files that differ (outside the squashfs):"; show iso.sums
echo "squashfs files whose content differs:"; show root.sums
echo "squashfs entries whose metadata (mode, owner, size, time) differs:"; diff "$w/a/root.meta" "$w/b/root.meta" | sed -n 's/^[<>] //p' | awk '{print $NF}' | sort -u | head -40 | sed 's/^/  /'
exit 1
