#!/bin/sh
# Fetches the cuBLASLt headers (cublasLt.h and the cublas headers it includes) from Debian non-free's
# nvidia-cuda-dev, so bee-gpu-stress can be built as the full cuBLASLt program without a CUDA install:
#   sh tasks/cublaslt_headers.sh [DEST]   (default DEST: ${XDG_CACHE_HOME:-~/.cache}/bee/cublaslt/include,
#                                          outside the clone so that clean clones share it)
# apt does the download with a private state directory, so the host's sources and lists are untouched;
# apt checks the package against the signed Release file's SHA256 (debian-archive-keyring), and this
# script checks the headers it extracted. The result is kept: a second run with the same package
# version does nothing. SUITE (default trixie: CUDA 12.4, the series the ISO ships) picks the Debian release.
# DEBIAN_MIRROR replaces deb.debian.org; CUBLASLT_APT_UNSIGNED=1 accepts an unsigned mirror (the tests'
# local one): the Packages SHA256 of the .deb is still checked, only the Release signature is not.
set -eu
cd "$(dirname "$0")/.."
cache=${XDG_CACHE_HOME:-$HOME/.cache}/bee/cublaslt
dest=${1:-$cache/include}
suite=${SUITE:-trixie}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
work=${CUBLASLT_WORK:-$cache/apt}
mkdir -p "$work/lists/partial" "$work/archives/partial" "$work/parts" "$dest"
work=$(cd "$work" && pwd)  # apt reads relative paths from /etc/apt
: >"$work/sources.list"
cat >"$work/parts/nonfree.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite
Components: non-free
EOF
[ "${CUBLASLT_APT_UNSIGNED:-}" = 1 ] && echo "Trusted: yes" >>"$work/parts/nonfree.sources"
apt_opts="-o Dir::Etc::SourceList=$work/sources.list -o Dir::Etc::SourceParts=$work/parts -o Dir::State::Lists=$work/lists
  -o Dir::Cache=$work -o Dir::Cache::archives=$work/archives -o Acquire::Languages=none -o APT::Sandbox::User=root
  -o Debug::NoLocking=1 -o Acquire::http::Timeout=60 -o Acquire::Retries=2"
# shellcheck disable=SC2086
apt-get $apt_opts -qq update >"$work/update.log" 2>&1 || { echo "cublaslt-headers: apt-get update failed (see $work/update.log)" >&2; exit 1; }
# shellcheck disable=SC2086
version=$(apt-cache $apt_opts show nvidia-cuda-dev 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
[ -n "$version" ] || { echo "cublaslt-headers: nvidia-cuda-dev not found in $suite non-free" >&2; exit 1; }
if [ "$(cat "$dest/.version" 2>/dev/null)" = "$version" ] && [ -s "$dest/cublasLt.h" ]; then
  echo "cublaslt-headers: $dest already holds nvidia-cuda-dev $version"
  exit 0
fi
echo "cublaslt-headers: downloading nvidia-cuda-dev $version ($suite non-free)" >&2
rm -f "$work"/archives/*.deb "$work"/archives/*.FAILED
# shellcheck disable=SC2086
(cd "$work/archives" && apt-get $apt_opts -qq download "nvidia-cuda-dev=$version") >"$work/download.log" 2>&1 ||
  { echo "cublaslt-headers: download failed (see $work/download.log)" >&2; exit 1; }
deb=$(ls "$work"/archives/nvidia-cuda-dev_*.deb | head -n 1)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards '*/include/cublasLt.h' '*/include/cublas_api.h' \
  '*/include/cublas.h' '*/include/cublas_v2.h'
# checked before anything in DEST changes; then each file is replaced by rename
for h in cublasLt.h cublas_api.h cublas.h cublas_v2.h; do
  f=$(find "$tmp" -name "$h" | head -n 1)
  [ -n "$f" ] && grep -q 'CUBLAS\|cublas' "$f" || { echo "cublaslt-headers: $h missing from $deb" >&2; exit 1; }
  mv "$f" "$tmp/$h"
done
grep -q 'cublasLtMatmul' "$tmp/cublasLt.h" || { echo "cublaslt-headers: cublasLt.h of $deb has no cublasLtMatmul" >&2; exit 1; }
for h in cublasLt.h cublas_api.h cublas.h cublas_v2.h; do
  cp "$tmp/$h" "$dest/.$h.new" && mv "$dest/.$h.new" "$dest/$h"
done
printf '%s\n' "$version" >"$dest/.version.new" && mv "$dest/.version.new" "$dest/.version"
rm -f "$deb"
echo "cublaslt-headers: $dest ($(sed -n 's/^#define CUBLAS_VER_\(MAJOR\|MINOR\) *//p' "$dest/cublas_api.h" | paste -sd. -) from nvidia-cuda-dev $version)"
