// bee-gpu-stress --p2p: copy bandwidth of every ordered GPU pair.
//
// For each pair (a, b): where the driver offers peer access, it is enabled — and whether enabling really
// succeeded is what the line reports (a failed enable is an error naming the pair: the copy would go
// through host memory and a healthy NVLink pair would look slow); then timed cudaMemcpyPeerAsync of one
// buffer from a to b, a checksum of what arrived against what was sent, and peer access is disabled again
// (CUDA allows a device at most 8 peer connections at once). Waits are polled under the hang watch.
// One JSON line per pair: {"event":"p2p","src","dst","peer_capable","peer_access","gbps","bytes",
// "iterations","checksum_ok"}; per unordered pair also both directions at once: {"event":"p2p_bidir","a","b",
// "gbps"} (the sum of both directions).
#pragma once

__global__ void p2p_fill_kernel(uint32_t *p, size_t n, uint32_t seed) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    p[i] = mix(((uint64_t)seed << 40) ^ i);
  }
}

// 0 ok; -1 error; -2 hung
static int buffer_checksum(struct Beat *b, int dev, const uint32_t *p, size_t n, unsigned long long out[2]) {
  unsigned long long *d = NULL;
  char err[300];
  if (cudaSetDevice(dev) != cudaSuccess || cudaMalloc(&d, 2 * sizeof *d) != cudaSuccess) return -1;
  cudaMemset(d, 0, 2 * sizeof *d);
  checksum_kernel<<<256, 256>>>(p, n, d);
  const int w = wait_stream(b, 0, "p2p checksum", err, sizeof err);
  if (w == -2) return -2;
  cudaError_t e = w == 0 ? cudaMemcpy(out, d, 2 * sizeof *d, cudaMemcpyDeviceToHost) : cudaErrorUnknown;
  cudaFree(d);
  return e == cudaSuccess ? 0 : -1;
}

static int p2p_end(int bad, int errors, int hung) {
  const int rc = (errors || bad || hung || g_stop) ? 1 : 0;
  emit("{\"event\":\"end\",\"status\":\"%s\",\"exit_code\":%d,\"mismatches\":%d,\"errors\":%d}",
       bad ? "mismatches" : (errors || hung) ? "error" : g_stop ? "interrupted" : "ok", rc, bad, errors + hung);
  return rc;
}

// A GPU that stopped answering during the pair a -> b: the end line, then out without touching CUDA.
static void p2p_hung(int bad, int errors) {
  fflush(stdout);
  _exit(p2p_end(bad, errors, 1));
}

// Times copies a -> b on a stream of a. 0 ok (gbps, iters set), -1 error (message in err), -2 hung.
static int p2p_time(struct Beat *b, int da, int db, uint32_t *src, uint32_t *dst, size_t bytes, double *gbps,
                    int *iters, char *err, size_t cap) {
  cudaStream_t st;
  cudaEvent_t t0, t1;
  float ms = 0;
  cudaSetDevice(da);
  cudaStreamCreate(&st);
  cudaEventCreate(&t0);
  cudaEventCreate(&t1);
  for (int w = 0; w < 2; w++) cudaMemcpyPeerAsync(dst, db, src, da, bytes, st);
  const double start = now_s();
  cudaEventRecord(t0, st);
  int n = 0, r = 0;
  do {
    cudaMemcpyPeerAsync(dst, db, src, da, bytes, st);
    n++;
    if (n % 4 == 0 && (r = wait_stream(b, st, "p2p copies", err, cap)) != 0) break;
  } while (n < 200 && now_s() - start < 0.5);
  if (r == 0) {
    cudaEventRecord(t1, st);
    r = wait_stream(b, st, "p2p copies", err, cap);
  }
  if (r == -2) return -2;
  cudaError_t e = r == 0 ? cudaEventElapsedTime(&ms, t0, t1) : cudaSuccess;
  if (r == 0 && e != cudaSuccess) {
    cuda_failure(err, cap, "p2p timing", e);
    r = -1;
  }
  cudaEventDestroy(t0);
  cudaEventDestroy(t1);
  cudaStreamDestroy(st);
  *iters = n;
  *gbps = ms > 0 ? (double)bytes * n / (ms / 1000.0) / 1e9 : 0;
  return r;
}

// Both directions at once between a and b (a -> b on a stream of a, b -> a on a stream of b), host-timed over
// both streams: GB/s summed over the two directions. 0 ok, -1 error (message in err), -2 hung.
static int p2p_bidir(struct Beat *b, int da, int db, uint32_t *a_src, uint32_t *b_dst, uint32_t *b_src,
                     uint32_t *a_dst, size_t bytes, double *gbps, char *err, size_t cap) {
  cudaStream_t sa, sb;
  cudaSetDevice(da);
  cudaStreamCreate(&sa);
  cudaSetDevice(db);
  cudaStreamCreate(&sb);
  cudaMemcpyPeerAsync(b_dst, db, a_src, da, bytes, sa);
  cudaMemcpyPeerAsync(a_dst, da, b_src, db, bytes, sb);
  int r = wait_stream(b, sa, "p2p bidirectional warm-up", err, cap);
  if (r == 0) r = wait_stream(b, sb, "p2p bidirectional warm-up", err, cap);
  int n = 0;
  const double start = now_s();
  while (r == 0 && n < 200 && now_s() - start < 0.5) {
    for (int k = 0; k < 4; k++, n++) {
      cudaMemcpyPeerAsync(b_dst, db, a_src, da, bytes, sa);
      cudaMemcpyPeerAsync(a_dst, da, b_src, db, bytes, sb);
    }
    r = wait_stream(b, sa, "p2p bidirectional", err, cap);
    if (r == 0) r = wait_stream(b, sb, "p2p bidirectional", err, cap);
  }
  const double dt = now_s() - start;
  if (r == -2) return -2;
  cudaSetDevice(da);
  cudaStreamDestroy(sa);
  cudaSetDevice(db);
  cudaStreamDestroy(sb);
  *gbps = r == 0 && dt > 0 ? 2.0 * (double)bytes * n / dt / 1e9 : 0;
  return r;
}

// Enables peer access from a to b where it is offered: 1 enabled, 0 not offered, -1 offered but refused
// (message in err).
static int p2p_enable(int da, int db, int *capable, char *err, size_t cap) {
  *capable = 0;
  cudaDeviceCanAccessPeer(capable, da, db);
  if (!*capable) return 0;
  cudaSetDevice(da);
  cudaError_t e = cudaDeviceEnablePeerAccess(db, 0);
  if (e == cudaSuccess || e == cudaErrorPeerAccessAlreadyEnabled) {
    cudaGetLastError();
    return 1;
  }
  cudaGetLastError();
  cuda_failure(err, cap, "enabling peer access", e);
  return -1;
}

static int p2p_main(const struct Options *o) {
  const int count = visible_gpus();
  if (!count) return 2;
  int dev[MAX_DEVICES], n = 0;
  if (o->ndevices) {
    for (int i = 0; i < o->ndevices; i++) {
      if (o->devices[i] >= count) return bad_args("--devices names a GPU that is not visible");
      dev[n++] = o->devices[i];
    }
  } else {
    for (int i = 0; i < count && i < MAX_DEVICES; i++) dev[n++] = i;
  }
  if (n < 2) return bad_args("--p2p needs at least two GPUs");
  const size_t bytes = (size_t)(o->size_mb ? o->size_mb : 256) << 20, words = bytes / 4;
  uint32_t *src[MAX_DEVICES] = {0}, *dst[MAX_DEVICES] = {0};
  int errors = 0, bad = 0;
  struct Beat b = {now_s(), 0, 0, -1, "p2p setup"};
  char err[300];
  for (int i = 0; i < n; i++) {
    cudaSetDevice(dev[i]);
    b.device = dev[i];
    if (cudaMalloc(&src[i], bytes) != cudaSuccess || cudaMalloc(&dst[i], bytes) != cudaSuccess) {
      emit_error(dev[i], "cannot allocate the p2p buffers");
      emit("{\"event\":\"end\",\"status\":\"error\",\"exit_code\":2}");
      return 2;
    }
    p2p_fill_kernel<<<1024, 256>>>(src[i], words, (uint32_t)(i + 1));
    if (wait_stream(&b, 0, "p2p fill", err, sizeof err) == -2) p2p_hung(bad, errors);
  }
  for (int a = 0; a < n && !g_stop; a++) {
    for (int c = 0; c < n && !g_stop; c++) {
      if (a == c) continue;
      int capable = 0, iters = 0;
      double gbps = 0;
      b.device = dev[a];
      const int enabled = p2p_enable(dev[a], dev[c], &capable, err, sizeof err);
      if (enabled < 0) {
        char m[400];
        snprintf(m, sizeof m, "GPU %d -> GPU %d: %s", a, c, err);
        emit_error(dev[a], m);
        errors++;
      }
      const int r = p2p_time(&b, dev[a], dev[c], src[a], dst[c], bytes, &gbps, &iters, err, sizeof err);
      if (r == -2) p2p_hung(bad, errors);
      if (enabled > 0) {
        cudaSetDevice(dev[a]);
        cudaDeviceDisablePeerAccess(dev[c]);
        cudaGetLastError();
      }
      if (r < 0) {
        char m[400];
        snprintf(m, sizeof m, "GPU %d -> GPU %d: %s", a, c, err);
        emit_error(dev[a], m);
        errors++;
        continue;
      }
      unsigned long long cs[2] = {0, 0}, cd[2] = {1, 1};
      const int ra = buffer_checksum(&b, dev[a], src[a], words, cs);
      const int rb = ra == 0 ? buffer_checksum(&b, dev[c], dst[c], words, cd) : ra;
      if (ra == -2 || rb == -2) p2p_hung(bad, errors);
      const int ok = ra == 0 && rb == 0 && cs[0] == cd[0] && cs[1] == cd[1];
      if (!ok) bad++;
      // each unordered pair once more, both directions at once (NVLink carries both at full rate)
      if (a < c) {
        int cap_ab = 0, cap_ba = 0;
        double bidir = 0;
        const int ab = p2p_enable(dev[a], dev[c], &cap_ab, err, sizeof err);
        const int ba = p2p_enable(dev[c], dev[a], &cap_ba, err, sizeof err);
        const int rr = p2p_bidir(&b, dev[a], dev[c], src[a], dst[c], src[c], dst[a], bytes, &bidir, err, sizeof err);
        if (rr == -2) p2p_hung(bad, errors);
        if (ab > 0) {
          cudaSetDevice(dev[a]);
          cudaDeviceDisablePeerAccess(dev[c]);
        }
        if (ba > 0) {
          cudaSetDevice(dev[c]);
          cudaDeviceDisablePeerAccess(dev[a]);
        }
        cudaGetLastError();
        if (rr == 0) emit("{\"event\":\"p2p_bidir\",\"a\":%d,\"b\":%d,\"gbps\":%.2f}", a, c, bidir);
      }
      emit("{\"event\":\"p2p\",\"src\":%d,\"dst\":%d,\"peer_capable\":%s,\"peer_access\":%s,\"gbps\":%.2f,"
           "\"bytes\":%zu,\"iterations\":%d,\"checksum_ok\":%s}",
           a, c, capable ? "true" : "false", enabled > 0 ? "true" : "false", gbps, bytes, iters, ok ? "true" : "false");
    }
  }
  for (int i = 0; i < n; i++) {
    cudaSetDevice(dev[i]);
    cudaFree(src[i]);
    cudaFree(dst[i]);
  }
  return p2p_end(bad, errors, 0);
}
