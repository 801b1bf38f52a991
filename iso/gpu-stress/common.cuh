// bee-gpu-stress, shared pieces: JSON-line output, deterministic test data, the checksum kernel and the
// small formatters every mode uses. Included once by bee_gpu_stress.cu (one translation unit).
#pragma once

#define MAX_DEVICES 64
#define MAX_DTYPES 8

static volatile sig_atomic_t g_stop = 0;
static pthread_mutex_t g_out = PTHREAD_MUTEX_INITIALIZER;
// the self-test provokes errors on purpose (a fake hung job): it silences them while it does
static int g_quiet = 0;

static void on_signal(int sig) {
  (void)sig;
  g_stop = 1;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_s(double s) {
  struct timespec ts;
  ts.tv_sec = (time_t)s;
  ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
  nanosleep(&ts, NULL);
}

// One JSON line, written whole under a lock (several device threads print).
static void emit(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pthread_mutex_lock(&g_out);
  vfprintf(stdout, fmt, ap);
  fputc('\n', stdout);
  fflush(stdout);
  pthread_mutex_unlock(&g_out);
  va_end(ap);
}

// Copies `s` into `out` as JSON string content (quotes, backslashes and control characters escaped).
static const char *jstr(const char *s, char *out, size_t cap) {
  size_t o = 0;
  for (; *s && o + 7 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      out[o++] = '\\';
      out[o++] = (char)c;
    } else if (c < 0x20) {
      o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
    } else {
      out[o++] = (char)c;
    }
  }
  out[o] = 0;
  return out;
}

static void emit_error(int device, const char *msg) {
  if (g_quiet) return;
  char m[600];
  jstr(msg, m, sizeof m);
  if (device < 0) emit("{\"event\":\"error\",\"device\":null,\"message\":\"%s\"}", m);
  else emit("{\"event\":\"error\",\"device\":%d,\"message\":\"%s\"}", device, m);
}

// "what: CUDA's own words (cudaErrorName)": a failure message that never drops CUDA's reason.
static const char *cuda_failure(char *out, size_t cap, const char *what, cudaError_t e) {
  snprintf(out, cap, "%s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
  return out;
}

// How many GPUs CUDA sees; 0 after saying why there is none (an error line, the end line and stderr) — the
// caller then exits 2 (could not run).
static int visible_gpus(void) {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e == cudaSuccess && count > 0) return count;
  char m[300];
  if (e != cudaSuccess) cuda_failure(m, sizeof m, "no usable NVIDIA GPU", e);
  else snprintf(m, sizeof m, "no usable NVIDIA GPU: no CUDA device");
  emit_error(-1, m);
  emit("{\"event\":\"end\",\"status\":\"error\",\"exit_code\":2}");
  fprintf(stderr, "bee-gpu-stress: %s\n", m);
  return 0;
}

// The PCI address as nvidia-smi prints it (`00000000:1B:00.0`), so bee can match the two.
static const char *format_bus_id(char *out, size_t cap, int domain, int bus, int device) {
  snprintf(out, cap, "%08X:%02X:%02X.0", (unsigned)domain, (unsigned)bus, (unsigned)device);
  return out;
}

// ---------------------------------------------------------------- deterministic data and checksums
__host__ __device__ static inline uint32_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return (uint32_t)x;
}

// A value in [-1, 1) with a full mantissa (switching bits is what draws power).
__host__ __device__ static inline float value_at(uint64_t i, uint32_t seed) {
  return (float)(mix(i * 0x9E3779B97F4A7C15ULL + seed) & 0xFFFFFF) / 8388608.0f - 1.0f;
}

// FP4 E2M1 (1 sign, 2 exponent, 1 mantissa bit): all 16 codes are numbers (±0, ±0.5 … ±6), so a hash
// nibble is a valid element. Two elements per byte, the lower index in the low nibble (as cuda_fp4.h
// packs __nv_fp4x2); the FP64 reference does not depend on that order, because A and B are both packed
// along K and a dot product over K is the same with each pair swapped in both.
__host__ __device__ static inline uint8_t fp4_code_at(uint64_t i, uint32_t seed) {
  return (uint8_t)(mix(i * 0x9E3779B97F4A7C15ULL + seed) >> 7) & 0xF;
}

__host__ __device__ static inline double fp4_value(uint8_t code) {
  int e = (code >> 1) & 3, m = code & 1;
  double mag = e == 0 ? 0.5 * m : (1.0 + 0.5 * m) * (double)(1 << (e - 1));
  return code & 8 ? -mag : mag;
}

__host__ __device__ static inline uint8_t fp4_pair_at(size_t byte, uint32_t seed) {
  return (uint8_t)(fp4_code_at(2 * byte, seed) | fp4_code_at(2 * byte + 1, seed) << 4);
}

__global__ void fill_fp4_kernel(uint8_t *p, size_t bytes, uint32_t seed) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < bytes; i += (size_t)gridDim.x * blockDim.x) {
    p[i] = fp4_pair_at(i, seed);
  }
}

// UE4M3 block-scale bytes (E4M3, bias 7, sign ignored): 2.0 for A, 1.0 for B, so a scale the hardware
// skipped halves the result and the reference check catches it.
#define UE4M3_TWO 0x40
#define UE4M3_ONE 0x38

// Bytes of a VEC16 block-scale tensor for an operand with `outer` rows/columns and `k` along K: cuBLASLt
// tiles it in 128 x 4 blocks, so both extents are padded.
static size_t vec16_scale_bytes(size_t outer, size_t k) {
  return ((outer + 127) / 128 * 128) * ((k / 16 + 3) / 4 * 4);
}

template <typename T>
__global__ void fill_kernel(T *p, size_t n, uint32_t seed) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    p[i] = T(value_at(i, seed));
  }
}

// Order-independent checksum of a buffer's 32-bit words: a plain and an index-weighted sum (mod 2^64),
// so a flipped bit or two swapped words both change it.
__global__ void checksum_kernel(const uint32_t *p, size_t n, unsigned long long *out) {
  unsigned long long s = 0, w = 0;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    s += p[i];
    w += (unsigned long long)p[i] * (i | 1);
  }
  // integer sums mod 2^64 do not depend on the order, so the reduction may be a tree: warp shuffles,
  // then one shared slot per warp, then one atomic per block (not one per thread on a single address)
  for (int o = 16; o > 0; o >>= 1) {
    s += __shfl_down_sync(0xffffffffu, s, o);
    w += __shfl_down_sync(0xffffffffu, w, o);
  }
  __shared__ unsigned long long ws_[32], ww_[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  if (lane == 0) {
    ws_[warp] = s;
    ww_[warp] = w;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int k = 1; k < warps; k++) {
      s += ws_[k];
      w += ww_[k];
    }
    atomicAdd(&out[0], s);
    atomicAdd(&out[1], w);
  }
}

// FNV-1a over bytes: a short, stable name for an opaque structure (a cuBLASLt algorithm).
static inline uint64_t fnv1a(const void *p, size_t n) {
  const unsigned char *b = (const unsigned char *)p;
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
  return h;
}
