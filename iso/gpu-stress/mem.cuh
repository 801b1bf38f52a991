// bee-gpu-stress --memtest and --bandwidth: the GPU memory itself.
//
// --memtest: on every GPU at once (a thread each), one buffer over at least 90 % of the free memory (92 %
// asked first, smaller only if the allocator refuses, and the line says what share it got), then patterns
// until --seconds run out (every pattern at least once): walking ones, walking zeros, address-in-address
// and seeded random, each as a moving inversion — write the pattern, check it while writing its inverse,
// check the inverse. Every mismatching word is counted; the first and last offsets are reported.
// Lines: {"event":"memtest","device","pattern","bytes","errors","first_error_offset","gbps"} per pattern,
// {"event":"memtest_result","device","pci_bus_id","bytes","free_bytes","coverage","passes","errors",
// "first_error_offset","last_error_offset","seconds"} per GPU.
//
// --bandwidth: per GPU, STREAM copy (c = a) and triad (a = b + s·c) over three arrays, best of 10, in
// TB/s; then pinned host↔device copies (256 MiB, best of 5) on each GPU alone, and on all GPUs at once.
// Lines: {"event":"bandwidth","device","figure","value","unit"}; figures hbm_copy_tbs, hbm_triad_tbs,
// h2d_gbs, d2h_gbs, h2d_all_gbs, d2h_all_gbs.
#pragma once

enum { MT_WALK1, MT_WALK0, MT_ADDR, MT_RAND, MT_PATTERNS };
static const char *MT_NAMES[MT_PATTERNS] = {"walking_ones", "walking_zeros", "address", "random"};

// The word a pattern puts at word index i (host and device: the self-test checks the host side).
__host__ __device__ static inline uint32_t mt_value(int pattern, uint64_t i, uint32_t seed) {
  switch (pattern) {
    case MT_WALK1: return 1u << ((i + seed) & 31);
    case MT_WALK0: return ~(1u << ((i + seed) & 31));
    case MT_ADDR: return (uint32_t)i ^ (uint32_t)(i >> 32) ^ seed;
    default: return mix(i * 0x9E3779B97F4A7C15ULL + seed);
  }
}

// Bytes a STREAM kernel moves over n elements of `elem` bytes: copy reads one array and writes one,
// triad reads two and writes one.
__host__ __device__ static inline double stream_bytes(int triad, size_t n, size_t elem) {
  return (double)n * (double)elem * (triad ? 3.0 : 2.0);
}

__global__ void mt_write(uint32_t *p, size_t n, int pattern, uint32_t seed) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    p[i] = mt_value(pattern, i, seed);
  }
}

// Checks p[i] against the pattern (inverted when `inv`), counts mismatches with the lowest and highest
// index; with `flip`, writes the inverse of what should be there (the moving inversion's next step).
__global__ void mt_check(uint32_t *p, size_t n, int pattern, uint32_t seed, int inv, int flip,
                         unsigned long long *out /* [errors, first, last] */) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    const uint32_t want = inv ? ~mt_value(pattern, i, seed) : mt_value(pattern, i, seed);
    if (p[i] != want) {
      atomicAdd(&out[0], 1ULL);
      atomicMin(&out[1], (unsigned long long)i);
      atomicMax(&out[2], (unsigned long long)i);
    }
    if (flip) p[i] = ~want;
  }
}

struct MemJob {
  int index;
  const struct Options *opt;
  struct Beat beat;
  int errors_cuda;  // CUDA errors (not memory mismatches)
  unsigned long long mismatches;
};

// Allocates at least `floor` of the free memory if it can: 92 % asked first, then down by 1 % to 50 %.
static uint32_t *mt_alloc(size_t free_b, long size_mb, size_t *bytes) {
  uint32_t *p = NULL;
  if (size_mb > 0) {
    *bytes = (size_t)size_mb << 20;
    return cudaMalloc(&p, *bytes) == cudaSuccess ? p : NULL;
  }
  for (int pct = 92; pct >= 50; pct--) {
    *bytes = (free_b / 100 * pct) & ~(size_t)((1 << 20) - 1);
    if (cudaMalloc(&p, *bytes) == cudaSuccess) return p;
    cudaGetLastError();
  }
  return NULL;
}

// One pattern as a moving inversion; 0 ok, -1 CUDA error (reported), -2 hung.
static int mt_pattern(struct MemJob *j, uint32_t *p, size_t words, int pat, uint32_t seed,
                      unsigned long long *d_out, unsigned long long h[3]) {
  char err[300];
  const unsigned long long init[3] = {0, ~0ULL, 0};
  cudaMemcpy(d_out, init, sizeof init, cudaMemcpyHostToDevice);
  mt_write<<<1024, 256>>>(p, words, pat, seed);
  mt_check<<<1024, 256>>>(p, words, pat, seed, 0, 1, d_out);
  mt_check<<<1024, 256>>>(p, words, pat, seed, 1, 0, d_out);
  const int w = wait_stream(&j->beat, 0, MT_NAMES[pat], err, sizeof err);
  if (w == 0 && cudaMemcpy(h, d_out, 3 * sizeof *h, cudaMemcpyDeviceToHost) == cudaSuccess) return 0;
  if (w == -2) return -2;
  emit_error(j->index, err);
  j->errors_cuda++;
  return -1;
}

static void *memtest_device(void *arg) {
  struct MemJob *j = (struct MemJob *)arg;
  size_t free_b = 0, total_b = 0, bytes = 0;
  char m[300], bus[32];
  struct cudaDeviceProp prop;
  cudaError_t e = cudaSetDevice(j->index);
  if (e == cudaSuccess) e = cudaGetDeviceProperties(&prop, j->index);
  if (e == cudaSuccess) e = cudaMemGetInfo(&free_b, &total_b);
  uint32_t *p = e == cudaSuccess ? mt_alloc(free_b, j->opt->size_mb, &bytes) : NULL;
  unsigned long long *d_out = NULL;
  if (p && cudaMalloc(&d_out, 3 * sizeof *d_out) != cudaSuccess) d_out = NULL;
  if (!p || !d_out) {
    emit_error(j->index, e != cudaSuccess ? cuda_failure(m, sizeof m, "cannot open the device", e)
                                          : "cannot allocate the memory test buffer");
    j->errors_cuda++;
    j->beat.done = 1;
    return NULL;
  }
  const size_t words = bytes / 4;
  const double start = now_s();
  unsigned long long first = ~0ULL, last = 0;
  int passes = 0;
  for (int k = 0; !g_stop && (k < MT_PATTERNS || now_s() - start < j->opt->seconds); k++) {
    const int pat = k % MT_PATTERNS;
    unsigned long long h[3];
    const double t0 = now_s();
    const int r = mt_pattern(j, p, words, pat, (uint32_t)(0xBEE00000u + k), d_out, h);
    if (r == -2) return NULL;  // hung: reported; never touch this GPU again
    if (r < 0) break;
    passes++;
    j->mismatches += h[0];
    if (h[0]) {
      first = h[1] < first ? h[1] : first;
      last = h[2] > last ? h[2] : last;
    }
    const double dt = now_s() - t0;
    emit("{\"event\":\"memtest\",\"device\":%d,\"pattern\":\"%s\",\"bytes\":%zu,\"errors\":%llu,"
         "\"first_error_offset\":%lld,\"gbps\":%.1f}",
         j->index, MT_NAMES[pat], bytes, h[0], h[0] ? (long long)(h[1] * 4) : -1LL,
         dt > 0 ? 5.0 * (double)bytes / dt / 1e9 : 0.0);
  }
  emit("{\"event\":\"memtest_result\",\"device\":%d,\"pci_bus_id\":\"%s\",\"bytes\":%zu,\"free_bytes\":%zu,"
       "\"coverage\":%.3f,\"passes\":%d,\"errors\":%llu,\"first_error_offset\":%lld,\"last_error_offset\":%lld,"
       "\"seconds\":%.1f}",
       j->index, format_bus_id(bus, sizeof bus, prop.pciDomainID, prop.pciBusID, prop.pciDeviceID), bytes, free_b,
       free_b ? (double)bytes / free_b : 0.0, passes, j->mismatches, j->mismatches ? (long long)(first * 4) : -1LL,
       j->mismatches ? (long long)(last * 4) : -1LL, now_s() - start);
  cudaFree(p);
  cudaFree(d_out);
  j->beat.done = 1;
  return NULL;
}

// The devices --devices names (or all visible); 0 when none.
static int chosen_devices(const struct Options *o, int dev[MAX_DEVICES]) {
  const int count = visible_gpus();
  int n = 0;
  if (!count) return 0;
  for (int i = 0; i < (o->ndevices ? o->ndevices : count) && n < MAX_DEVICES; i++) {
    const int d = o->ndevices ? o->devices[i] : i;
    if (d < count) dev[n++] = d;
  }
  return n;
}

static int memtest_main(const struct Options *o) {
  int dev[MAX_DEVICES];
  const int n = chosen_devices(o, dev);
  if (!n) return 2;
  static struct MemJob jobs[MAX_DEVICES];
  pthread_t th[MAX_DEVICES];
  struct Beat *beats[MAX_DEVICES];
  for (int i = 0; i < n; i++) {
    jobs[i].index = dev[i];
    jobs[i].opt = o;
    jobs[i].beat.device = dev[i];
    beat(&jobs[i].beat, "starting");
    beats[i] = &jobs[i].beat;
    pthread_create(&th[i], NULL, memtest_device, &jobs[i]);
  }
  const int hung = watch_jobs(beats, n, g_stall_s + 30, 0.2);
  unsigned long long bad = 0;
  int errors = 0;
  for (int i = 0; i < n; i++) {
    if (jobs[i].beat.hung) continue;
    pthread_join(th[i], NULL);
    bad += jobs[i].mismatches;
    errors += jobs[i].errors_cuda;
  }
  const int rc = (bad || errors || hung || g_stop) ? 1 : 0;
  emit("{\"event\":\"end\",\"status\":\"%s\",\"exit_code\":%d,\"mismatches\":%llu,\"errors\":%d,\"hung\":%d}",
       bad ? "mismatches" : (errors || hung) ? "error" : g_stop ? "interrupted" : "ok", rc, bad, errors, hung);
  if (hung) {
    fflush(stdout);
    _exit(rc);
  }
  return rc;
}

__global__ void stream_copy(const float4 *a, float4 *c, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) c[i] = a[i];
}

__global__ void stream_triad(float4 *a, const float4 *b, const float4 *c, float s, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    const float4 x = b[i], y = c[i];
    a[i] = make_float4(x.x + s * y.x, x.y + s * y.y, x.z + s * y.z, x.w + s * y.w);
  }
}

static void emit_bw(int device, const char *figure, double value, const char *unit) {
  emit("{\"event\":\"bandwidth\",\"device\":%d,\"figure\":\"%s\",\"value\":%.3f,\"unit\":\"%s\"}", device, figure,
       value, unit);
}

// Best of `reps` timings (ms) of what `run` queues on stream `st`; -1 on a CUDA error, -2 hung.
#define BEST_OF(reps, best, st, b, phase, err, run)                  \
  do {                                                               \
    cudaEvent_t e0_, e1_;                                            \
    cudaEventCreate(&e0_);                                           \
    cudaEventCreate(&e1_);                                           \
    best = -1;                                                       \
    for (int r_ = 0; r_ < (reps) && !g_stop; r_++) {                 \
      float ms_ = 0;                                                 \
      cudaEventRecord(e0_, st);                                      \
      run;                                                           \
      cudaEventRecord(e1_, st);                                      \
      const int w_ = wait_stream(b, st, phase, err, sizeof err);     \
      if (w_ != 0) {                                                 \
        best = w_;                                                   \
        break;                                                       \
      }                                                              \
      cudaEventElapsedTime(&ms_, e0_, e1_);                          \
      if (ms_ > 0 && (best < 0 || ms_ < best)) best = ms_;           \
    }                                                                \
    cudaEventDestroy(e0_);                                           \
    cudaEventDestroy(e1_);                                           \
  } while (0)

// STREAM on one GPU; 0 ok, -1 error (reported), -2 hung.
static int bw_hbm(struct Beat *b, int d, size_t free_b) {
  char err[300];
  size_t n4 = (free_b / 8 / sizeof(float4));  // three arrays within ~40 % of the free memory
  if (n4 > ((size_t)1 << 26)) n4 = (size_t)1 << 26;  // 1 GiB each is plenty for a bandwidth figure
  float4 *a = NULL, *bb = NULL, *c = NULL;
  if (cudaMalloc(&a, n4 * 16) || cudaMalloc(&bb, n4 * 16) || cudaMalloc(&c, n4 * 16)) {
    emit_error(d, "cannot allocate the STREAM arrays");
    return -1;
  }
  cudaMemset(a, 0, n4 * 16);
  cudaMemset(bb, 0, n4 * 16);
  cudaMemset(c, 0, n4 * 16);
  float best;
  BEST_OF(10, best, 0, b, "stream copy", err, (stream_copy<<<2048, 256>>>(a, c, n4)));
  if (best > 0) emit_bw(d, "hbm_copy_tbs", stream_bytes(0, n4, 16) / (best / 1e3) / 1e12, "TB/s");
  if (best > 0) BEST_OF(10, best, 0, b, "stream triad", err, (stream_triad<<<2048, 256>>>(a, bb, c, 3.0f, n4)));
  if (best > 0) emit_bw(d, "hbm_triad_tbs", stream_bytes(1, n4, 16) / (best / 1e3) / 1e12, "TB/s");
  if (best == -1) emit_error(d, err);
  cudaFree(a);
  cudaFree(bb);
  cudaFree(c);
  return best > 0 ? 0 : (int)best;
}

struct HostCopy {
  void *host, *dev;
  cudaStream_t st;
};

static const size_t BW_COPY_BYTES = (size_t)256 << 20;

// Pinned host↔device copies on n GPUs at once (n = 1: alone): per GPU GB/s for each direction.
static int bw_host(struct Beat *b, const int *dev, int n, struct HostCopy *hc, const char *h2d, const char *d2h) {
  char err[300];
  for (int dir = 0; dir < 2; dir++) {
    cudaEvent_t e0[MAX_DEVICES], e1[MAX_DEVICES];
    float best[MAX_DEVICES];
    for (int i = 0; i < n; i++) best[i] = -1;
    for (int r = 0; r < 5 && !g_stop; r++) {
      for (int i = 0; i < n; i++) {
        cudaSetDevice(dev[i]);
        cudaEventCreate(&e0[i]);
        cudaEventCreate(&e1[i]);
        cudaEventRecord(e0[i], hc[i].st);
        if (dir == 0) cudaMemcpyAsync(hc[i].dev, hc[i].host, BW_COPY_BYTES, cudaMemcpyHostToDevice, hc[i].st);
        else cudaMemcpyAsync(hc[i].host, hc[i].dev, BW_COPY_BYTES, cudaMemcpyDeviceToHost, hc[i].st);
        cudaEventRecord(e1[i], hc[i].st);
      }
      for (int i = 0; i < n; i++) {
        cudaSetDevice(dev[i]);
        b->device = dev[i];
        const int w = wait_stream(b, hc[i].st, dir ? "device->host copy" : "host->device copy", err, sizeof err);
        if (w != 0) {
          if (w == -1) emit_error(dev[i], err);
          return w;
        }
        float ms = 0;
        cudaEventElapsedTime(&ms, e0[i], e1[i]);
        if (ms > 0 && (best[i] < 0 || ms < best[i])) best[i] = ms;
        cudaEventDestroy(e0[i]);
        cudaEventDestroy(e1[i]);
      }
    }
    for (int i = 0; i < n; i++) {
      if (best[i] > 0) emit_bw(dev[i], dir ? d2h : h2d, (double)BW_COPY_BYTES / (best[i] / 1e3) / 1e9, "GB/s");
    }
  }
  return 0;
}

static int bandwidth_main(const struct Options *o) {
  int dev[MAX_DEVICES];
  const int n = chosen_devices(o, dev);
  if (!n) return 2;
  static struct HostCopy hc[MAX_DEVICES];
  struct Beat b = {now_s(), 0, 0, -1, "bandwidth setup"};
  int errors = 0;
  for (int i = 0; i < n && !g_stop; i++) {
    size_t free_b = 0, total_b = 0;
    cudaSetDevice(dev[i]);
    b.device = dev[i];
    cudaMemGetInfo(&free_b, &total_b);
    const int r = bw_hbm(&b, dev[i], free_b);
    if (r == -2) break;
    errors += r < 0;
    if (cudaHostAlloc(&hc[i].host, BW_COPY_BYTES, cudaHostAllocPortable) != cudaSuccess ||
        cudaMalloc(&hc[i].dev, BW_COPY_BYTES) != cudaSuccess || cudaStreamCreate(&hc[i].st) != cudaSuccess) {
      emit_error(dev[i], "cannot allocate the host copy buffers");
      errors++;
      hc[i].host = NULL;
      continue;
    }
    memset(hc[i].host, 0x5A, BW_COPY_BYTES);
    if (bw_host(&b, &dev[i], 1, &hc[i], "h2d_gbs", "d2h_gbs") == -2) b.hung = 1;
    if (b.hung) break;
  }
  int ready = 1;
  for (int i = 0; i < n; i++) ready &= hc[i].host != NULL;
  if (!b.hung && !g_stop && ready && n > 1) {
    if (bw_host(&b, dev, n, hc, "h2d_all_gbs", "d2h_all_gbs") == -2) b.hung = 1;
  }
  const int rc = (errors || b.hung || g_stop) ? 1 : 0;
  emit("{\"event\":\"end\",\"status\":\"%s\",\"exit_code\":%d,\"errors\":%d,\"hung\":%d}",
       (errors || b.hung) ? "error" : g_stop ? "interrupted" : "ok", rc, errors, b.hung);
  fflush(stdout);
  if (b.hung) _exit(rc);
  return rc;
}
