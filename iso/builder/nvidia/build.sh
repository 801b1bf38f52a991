#!/bin/sh
# Runs inside the builder container (tasks/iso/nvidia.ts starts it): builds the NVIDIA parts of the ISO into
# /out, from packages apt verifies against the mirror's signed Release files:
#   PART=modules   the kernel modules of NVIDIA_FLAVOR (open | proprietary) for DEBIAN_KERNEL_ABI, from Debian's
#                  nvidia-(open-)kernel-source or an extracted runfile (/runfile), plus nvidia-smi,
#                  libnvidia-ml, libcuda (+ the libraries libcuda needs) and the GSP firmware of the same version
#   PART=cublas    libcublas, libcublasLt, libcudart, libnccl (bee-gpu-stress --nccl) and the headers
#                  bee-gpu-stress compiles against
#   PART=stress    bee-gpu-stress, compiled with the CUDA toolkit of CUDA_DEBIAN_VERSION against /cublas
# Environment: BEE_MIRROR BEE_SECURITY_MIRROR DEBIAN_SUITE DEBIAN_KERNEL_ABI NVIDIA_FLAVOR NVIDIA_SOURCE
# NVIDIA_DEBIAN_VERSION CUBLAS_DEBIAN_VERSION CUDA_DEBIAN_VERSION NCCL_DEBIAN_VERSION.
set -eu
say() { echo "nvidia-build: $*"; }
die() { echo "nvidia-build: $*" >&2; exit 1; }

# --- apt with the pinned mirror (main contrib non-free non-free-firmware), signatures checked ------------
cat >/etc/apt/sources.list <<SRC
deb $BEE_MIRROR $DEBIAN_SUITE main contrib non-free non-free-firmware
deb $BEE_MIRROR $DEBIAN_SUITE-updates main contrib non-free non-free-firmware
deb $BEE_SECURITY_MIRROR $DEBIAN_SUITE-security main contrib non-free non-free-firmware
SRC
rm -f /etc/apt/sources.list.d/*
export DEBIAN_FRONTEND=noninteractive
APT="-o Acquire::http::Timeout=60 -o Acquire::Retries=3 -o APT::Keep-Downloaded-Packages=true -o Dpkg::Use-Pty=0"
# shellcheck disable=SC2086
apt-get $APT -qq update
inst() {
  # shellcheck disable=SC2086
  apt-get $APT -y -qq --no-install-recommends install "$@" >/tmp/apt-install.log 2>&1 ||
    { tail -n 20 /tmp/apt-install.log >&2; die "apt-get install $* failed"; }
}
# download one exact version into the current folder and unpack it into $2
fetch_x() {
  pkg=$1; dest=$2
  # shellcheck disable=SC2086
  (cd /tmp/debs && apt-get $APT -qq download "$pkg") >/tmp/apt-download.log 2>&1 ||
    { cat /tmp/apt-download.log >&2; die "apt-get download $pkg failed (not on the mirror?)"; }
  deb=$(ls -t /tmp/debs/"${pkg%%=*}"_*.deb | head -n 1)
  dpkg-deb -x "$deb" "$dest"
  say "unpacked $(basename "$deb")"
}
mkdir -p /tmp/debs /out

copy_lib() { # copy a versioned .so and make its soname link beside it
  src=$1; destdir=$2
  cp -a "$src" "$destdir/"
  so=$(objdump -p "$src" 2>/dev/null | awk '$1 == "SONAME" {print $2}')
  [ -n "$so" ] && [ "$so" != "$(basename "$src")" ] && ln -sf "$(basename "$src")" "$destdir/$so"
  return 0
}

case "$PART" in
modules)
  inst "linux-headers-$DEBIAN_KERNEL_ABI" build-essential kmod binutils xz-utils
  mkdir -p /out/modules /out/bin /out/lib /out/firmware
  u=/tmp/userspace; mkdir -p $u src
  if [ "$NVIDIA_SOURCE" = runfile ]; then
    run=$(ls /runfile/*.run | head -n 1)
    sh "$run" --extract-only --target /tmp/runfile >/tmp/runfile.log 2>&1 || { tail -5 /tmp/runfile.log >&2; die "the runfile does not extract"; }
    if [ "$NVIDIA_FLAVOR" = open ]; then ksrc=/tmp/runfile/kernel-open; else ksrc=/tmp/runfile/kernel; fi
    ver=$(sed -n 's/^NVIDIA_VERSION *= *//p' /tmp/runfile/kernel/Makefile 2>/dev/null | head -n 1)
    [ -n "$ver" ] || ver=$(ls /tmp/runfile | sed -n 's/^libnvidia-ml\.so\.\([0-9.]*\)$/\1/p' | head -n 1)
    cp /tmp/runfile/nvidia-smi /out/bin/
    for l in libnvidia-ml libcuda libnvidia-ptxjitcompiler libnvidia-nvvm; do
      [ -f "/tmp/runfile/$l.so.$ver" ] && copy_lib "/tmp/runfile/$l.so.$ver" /out/lib
    done
    [ -d /tmp/runfile/firmware ] && { mkdir -p "/out/firmware/nvidia/$ver"; cp /tmp/runfile/firmware/*.bin "/out/firmware/nvidia/$ver/"; }
  else
    v=$NVIDIA_DEBIAN_VERSION; ver=${v%-*}
    if [ "$NVIDIA_FLAVOR" = open ]; then fetch_x "nvidia-open-kernel-source=$v" /tmp/src; else fetch_x "nvidia-kernel-source=$v" /tmp/src; fi
    tar -C /tmp/src -xJf /tmp/src/usr/src/nvidia-*kernel.tar.xz
    ksrc=$(dirname "$(find /tmp/src/modules -maxdepth 2 -name Kbuild | head -n 1)")
    for p in nvidia-smi libnvidia-ml1 libcuda1 libnvidia-ptxjitcompiler1 libnvidia-pkcs11-openssl3 firmware-nvidia-gsp; do
      fetch_x "$p=$v" $u
    done
    cp "$u/usr/lib/nvidia/current/nvidia-smi" /out/bin/ 2>/dev/null || cp "$(find $u -type f -name nvidia-smi | head -n 1)" /out/bin/
    for f in $(find $u -type f -name 'lib*.so.*'); do copy_lib "$f" /out/lib; done
    fw=$(find $u -type d -path "*/firmware/nvidia/$ver" | head -n 1)
    [ -n "$fw" ] && { mkdir -p "/out/firmware/nvidia/$ver"; cp "$fw"/* "/out/firmware/nvidia/$ver/"; }
  fi
  [ -d "$ksrc" ] || die "no kernel module source found"
  say "building $NVIDIA_FLAVOR modules $ver for $DEBIAN_KERNEL_ABI in $ksrc ($(nproc) cores)"
  start=$(date +%s)
  # Debian splits the headers: the source tree is ...-common, the configured output tree the flavour's
  out=/usr/src/linux-headers-$DEBIAN_KERNEL_ABI
  srcdir=/usr/src/linux-headers-${DEBIAN_KERNEL_ABI%-*}-common
  [ -d "$srcdir" ] || srcdir=$out
  # Linux 6.12.11x (like 6.1.0-57 before it) took the upstream change that gave pci_resize_resource() a
  # fourth argument, exclude_bars; drivers older than that change call it with three. Passing 0 (exclude no
  # BAR) keeps the old behaviour. Applied only when these headers have the new form and the source the old.
  if grep -q 'int exclude_bars' "$srcdir/include/linux/pci.h" 2>/dev/null &&
    grep -q 'pci_resize_resource(pci_dev, NV_GPU_BAR1, requested_size);' "$ksrc/nvidia/nv-pci.c" 2>/dev/null; then
    sed -i 's/pci_resize_resource(pci_dev, NV_GPU_BAR1, requested_size);/pci_resize_resource(pci_dev, NV_GPU_BAR1, requested_size, 0);/' "$ksrc/nvidia/nv-pci.c"
    say "adapted nv-pci.c to this kernel's pci_resize_resource(..., exclude_bars)"
  fi
  if ! make -C "$ksrc" -j"$(nproc)" KERNEL_UNAME="$DEBIAN_KERNEL_ABI" SYSSRC="$srcdir" SYSOUT="$out" modules >/tmp/make.log 2>&1; then
    # conftest probes fail on purpose; the compiler's real complaint is the first error outside conftest
    echo "--- last lines of the module build ---"; tail -n 40 /tmp/make.log
    grep -v conftest /tmp/make.log | grep -m 1 -E 'error:|Error [0-9]' >&2 || tail -n 5 /tmp/make.log >&2
    die "the $NVIDIA_FLAVOR $ver modules do not build against $DEBIAN_KERNEL_ABI (log above)"
  fi
  say "modules built in $(( $(date +%s) - start )) s"
  for m in nvidia nvidia-uvm nvidia-modeset nvidia-drm nvidia-peermem; do
    ko=$(find "$ksrc" -name "$m.ko" | head -n 1)
    [ -n "$ko" ] || { [ "$m" = nvidia-peermem ] && continue; die "$m.ko was not built"; }
    strip --strip-debug "$ko" -o "/out/modules/$m.ko"
    vm=$(modinfo -F vermagic "/out/modules/$m.ko")
    case "$vm" in "$DEBIAN_KERNEL_ABI "*) ;; *) die "$m.ko vermagic '$vm' is not $DEBIAN_KERNEL_ABI" ;; esac
  done
  [ -x /out/bin/nvidia-smi ] || die "no nvidia-smi"
  ls /out/lib/libnvidia-ml.so.* /out/lib/libcuda.so.* >/dev/null || die "libnvidia-ml or libcuda missing"
  echo "$ver" >/out/VERSION
  ;;
cublas)
  inst binutils
  mkdir -p /out/lib /out/include /tmp/c
  for p in "libcublas12=$CUBLAS_DEBIAN_VERSION" "libcublaslt12=$CUBLAS_DEBIAN_VERSION" "libcudart12=$CUDA_DEBIAN_VERSION" "nvidia-cuda-dev=$CUDA_DEBIAN_VERSION" "libnccl2=$NCCL_DEBIAN_VERSION"; do
    fetch_x "$p" /tmp/c
  done
  for n in libcublas.so libcublasLt.so libcudart.so libnccl.so; do
    f=$(find /tmp/c -type f -name "$n.*" | sort | tail -n 1)
    [ -n "$f" ] || die "$n missing from the packages"
    copy_lib "$f" /out/lib
  done
  for h in cublasLt.h cublas_api.h cublas.h cublas_v2.h; do
    f=$(find /tmp/c -name "$h" | head -n 1)
    [ -n "$f" ] || die "$h missing from nvidia-cuda-dev"
    cp "$f" /out/include/
  done
  grep -q cublasLtMatmul /out/include/cublasLt.h || die "cublasLt.h has no cublasLtMatmul"
  objdump -T /out/lib/libnccl.so.2 | grep -q ncclAllReduce || die "libnccl.so.2 has no ncclAllReduce"
  echo "$CUBLAS_DEBIAN_VERSION" >/out/VERSION
  ;;
stress)
  inst "nvidia-cuda-toolkit" "nvidia-cuda-dev=$CUDA_DEBIAN_VERSION" make
  nvcc --version | tail -n 2
  mkdir -p /tmp/gs && cp /gpu-stress/Makefile /gpu-stress/*.cu /gpu-stress/*.cuh /tmp/gs/
  make -C /tmp/gs CUBLASLT_INCLUDE=/cublas/include OUT=/out/bee-gpu-stress >/tmp/make.log 2>&1 ||
    { tail -n 20 /tmp/make.log >&2; die "bee-gpu-stress does not build"; }
  /out/bee-gpu-stress --self-test >/tmp/self-test.log 2>&1 || { cat /tmp/self-test.log >&2; die "bee-gpu-stress --self-test failed"; }
  nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p' >/out/NVCC_VERSION
  ;;
*) die "PART must be modules, cublas or stress" ;;
esac
say "done: $PART"
