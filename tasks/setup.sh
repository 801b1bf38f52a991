#!/bin/sh
# Sets up a fresh machine for bee: the pinned Deno from npm, bee's npm dependencies (through
# deno.lock), and — when run as root on Debian — the hardware tools the audit calls.
set -eu
cd "$(dirname "$0")/.."

# 1. Deno, pinned in package.json / package-lock.json
if [ ! -x node_modules/.bin/deno ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

# 2. Debian tools the audit calls (and, with `sh tasks/setup.sh test`, what the tests drive for real:
#    Chromium for the web page, memtester for the memory SAT, xmllint for the SVG, tmux for the TUI,
#    mkfs.ext4 and losetup for the export to a (loop-device) stick
#    best effort, never fatal
want="dmidecode:dmidecode lspci:pciutils smartctl:smartmontools nvme:nvme-cli ipmitool:ipmitool ip:iproute2 lsblk:util-linux"
[ "${1:-}" = test ] && want="$want chromium:chromium memtester:memtester xmllint:libxml2-utils tmux:tmux pgrep:procps systemd-analyze:systemd xz:xz-utils makeself:makeself mkfs.ext4:e2fsprogs losetup:mount sha256sum:coreutils tar:tar xorriso:xorriso"
# `sh tasks/setup.sh iso`: what `deno task iso` and its QEMU test need (builder container, base image, VMs;
# runc because Debian's podman defaults to crun, which refuses hosts with hybrid cgroups)
[ "${1:-}" = iso ] && want="podman:podman runc:runc debootstrap:debootstrap qemu-system-x86_64:qemu-system-x86 /usr/share/ovmf/OVMF.fd:ovmf ssh:openssh-client ssh-keygen:openssh-client xz:xz-utils file:file mkfs.ext4:e2fsprogs xorriso:xorriso"
missing=""
for pair in $want; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  case "$cmd" in /*) [ -e "$cmd" ] && continue ;; *) command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] && continue ;; esac
  case " $missing " in *" $pkg "*) ;; *) missing="$missing $pkg" ;; esac
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing$missing" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing) >/dev/null 2>&1 \
      || echo "setup: could not install$missing; the audit reports those parts as missing_tool" >&2
  else
    echo "setup: not installed:$missing (run as root on Debian to install); the audit reports those parts as missing_tool" >&2
  fi
fi

# 3. bee's npm dependencies into Deno's cache, checked against the committed deno.lock
./node_modules/.bin/deno install --quiet --frozen --entrypoint bee/main.ts tasks/gen_schema.ts tasks/bench_audit.ts >/dev/null

# 4. for the tests, where nvcc is present: the cuBLASLt headers (Debian non-free nvidia-cuda-dev), so the
#    full bee-gpu-stress program is compiled too, not only the PTX-only one. Best effort, kept in ~/.cache/bee/.
if [ "${1:-}" = test ] && command -v nvcc >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sh tasks/cublaslt_headers.sh >&2 || echo "setup: no cuBLASLt headers; the full bee-gpu-stress build test is skipped" >&2
fi
