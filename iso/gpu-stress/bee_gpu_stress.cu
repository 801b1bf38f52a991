// bee-gpu-stress: loads every visible NVIDIA GPU with tensor-core GEMMs (cuBLASLt, loaded at run
// time) or, without cuBLASLt, an FMA burn kernel, and counts wrong results. Output: JSON lines on
// stdout (start, progress, result, error, end). Exit 0 clean, 1 errors or mismatches, 2 could not run.
//
// Correctness: inputs are deterministic; each buffer set's first output gives a reference checksum and
// every later iteration's checksum must equal it bit for bit (same algorithm, no atomics in the
// reduction). Elements of set 0 are checked against FP64 dot products on the host before the run, and
// after it two elements of every set (positions rotating per set), so a fault that corrupts one set the
// same way every time is caught too. The result line carries set 0's reference checksum: every GPU gets
// the same inputs, so bee compares it across GPUs of one model and fails the one that disagrees.
//
// Formats: fp16, bf16, tf32 (sm_80+), fp8 E4M3 with per-tensor scale pointers (sm_89+), and fp4 E2M1 with
// 16-element UE4M3 block scales (NVFP4, sm_100+, cuBLASLt 12.8+). The block-scaling constants are
// defined here (checked against the headers when they know them), so the program builds against older
// cuBLASLt headers and decides at run time from cublasLtGetVersion() whether fp4 is offered.
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cuda_fp8.h>
#if defined(BEE_HAVE_CUBLASLT)
#include <cublasLt.h>
#endif

#if __has_include(<cuda_fp4.h>)
#include <cuda_fp4.h>
#define BEE_HAVE_FP4_HEADER 1
#endif

#define MAX_DEVICES 64
#define MAX_DTYPES 8

static volatile sig_atomic_t g_stop = 0;
static size_t g_lt_version = 0;  // cublasLtGetVersion() of the loaded library (major*10000+minor*100+patch), 0: none
static pthread_mutex_t g_out = PTHREAD_MUTEX_INITIALIZER;

static void on_signal(int sig) {
  (void)sig;
  g_stop = 1;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
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
    if (c == '"' || c == '\\') { out[o++] = '\\'; out[o++] = (char)c; }
    else if (c < 0x20) o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
    else out[o++] = (char)c;
  }
  out[o] = 0;
  return out;
}

static void emit_error(int device, const char *msg) {
  char m[512];
  jstr(msg, m, sizeof m);
  if (device < 0) emit("{\"event\":\"error\",\"device\":null,\"message\":\"%s\"}", m);
  else emit("{\"event\":\"error\",\"device\":%d,\"message\":\"%s\"}", device, m);
}

// ---------------------------------------------------------------- options
struct Options {
  double seconds;
  long size_mb;  // 0 = most of the free memory
  int devices[MAX_DEVICES];
  int ndevices;  // 0 = all visible
  char dtypes[MAX_DTYPES][8];
  int ndtypes;   // 0 = auto
  double interval;
  int self_test;
  int p2p;
};

static void usage(FILE *f) {
  fprintf(f,
          "usage: bee-gpu-stress --seconds N [--size-mb M] [--devices 0,1] [--dtypes auto|fp16,bf16,tf32,fp8,fp4,ptx]\n"
          "                      [--interval S]\n"
          "       bee-gpu-stress --p2p [--devices 0,1,…] [--size-mb M]   (copy bandwidth of every GPU pair)\n"
          "       bee-gpu-stress --self-test   (host-side checks of the number formats; no GPU needed)\n"
          "Defaults: BEE_GPU_STRESS_SECONDS, BEE_GPU_STRESS_SIZE_MB (else most of each GPU's free memory).\n"
          "stdout: JSON lines (start, progress, result, error, end). Exit 0 clean, 1 errors or mismatches,\n"
          "2 could not run.\n");
}

static int bad_args(const char *msg) {
  emit_error(-1, msg);
  emit("{\"event\":\"end\",\"status\":\"error\",\"exit_code\":2}");
  fprintf(stderr, "bee-gpu-stress: %s\n", msg);
  return 2;
}

static int parse_number(const char *s, double *out) {
  char *end;
  double v = strtod(s, &end);
  if (!*s || *end || !isfinite(v)) return 0;
  *out = v;
  return 1;
}

static const char *KNOWN_DTYPES[] = {"fp16", "bf16", "tf32", "fp8", "fp4", "ptx"};

static int parse_args(int argc, char **argv, struct Options *o) {
  memset(o, 0, sizeof *o);
  o->seconds = -1;
  o->interval = 10;
  double v;
  const char *es = getenv("BEE_GPU_STRESS_SECONDS");
  if (es && *es) {
    if (!parse_number(es, &v) || v <= 0) return bad_args("BEE_GPU_STRESS_SECONDS is not a number of seconds");
    o->seconds = v;
  }
  const char *em = getenv("BEE_GPU_STRESS_SIZE_MB");
  if (em && *em) {
    if (!parse_number(em, &v) || v < 1) return bad_args("BEE_GPU_STRESS_SIZE_MB is not a size in MB");
    o->size_mb = (long)v;
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      exit(0);
    }
    if (!strcmp(a, "--self-test")) {
      o->self_test = 1;
      continue;
    }
    if (!strcmp(a, "--p2p")) {
      o->p2p = 1;
      continue;
    }
    if (i + 1 >= argc) return bad_args("an option is missing its value (see --help)");
    const char *val = argv[++i];
    if (!strcmp(a, "--seconds")) {
      if (!parse_number(val, &v) || v <= 0 || v > 7 * 86400) return bad_args("--seconds needs a number between 0 and 604800");
      o->seconds = v;
    } else if (!strcmp(a, "--size-mb")) {
      if (!parse_number(val, &v) || v < 1) return bad_args("--size-mb needs a size in MB (1 or more)");
      o->size_mb = (long)v;
    } else if (!strcmp(a, "--interval")) {
      if (!parse_number(val, &v) || v < 0.1 || v > 3600) return bad_args("--interval needs seconds between 0.1 and 3600");
      o->interval = v;
    } else if (!strcmp(a, "--devices")) {
      char buf[256];
      snprintf(buf, sizeof buf, "%s", val);
      for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        if (!parse_number(t, &v) || v < 0 || v != (int)v || o->ndevices >= MAX_DEVICES) return bad_args("--devices needs indices like 0,1");
        o->devices[o->ndevices++] = (int)v;
      }
      if (!o->ndevices) return bad_args("--devices needs indices like 0,1");
    } else if (!strcmp(a, "--dtypes")) {
      if (!strcmp(val, "auto")) continue;
      char buf[256];
      snprintf(buf, sizeof buf, "%s", val);
      for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        int ok = 0;
        for (size_t k = 0; k < sizeof KNOWN_DTYPES / sizeof *KNOWN_DTYPES; k++) ok |= !strcmp(t, KNOWN_DTYPES[k]);
        if (!ok || o->ndtypes >= MAX_DTYPES) return bad_args("--dtypes takes auto or a list of fp16,bf16,tf32,fp8,fp4,ptx");
        snprintf(o->dtypes[o->ndtypes++], 8, "%s", t);
      }
    } else {
      char m[160];
      snprintf(m, sizeof m, "unknown option %.100s (see --help)", a);
      return bad_args(m);
    }
  }
  if (o->seconds <= 0 && !o->self_test && !o->p2p) return bad_args("--seconds is required (or BEE_GPU_STRESS_SECONDS)");
  return 0;
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
// packs __nv_fp4x2); the FP64 reference below does not depend on that order, because A and B are both
// packed along K and a dot product over K is the same with each pair swapped in both.
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
// skipped halves the result and the FP64 check catches it.
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

// The fallback burn: dependent FMA chains in registers; the result per thread is deterministic.
__global__ void fma_burn_kernel(float *out, int iters, uint32_t seed) {
  size_t t = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
  float a = value_at(t, seed), b = value_at(t + 1, seed) * 0.5f, c = 0.999f, d = 0.5f;
  float x0 = a, x1 = b, x2 = a * b, x3 = a - b;
  for (int i = 0; i < iters; i++) {
    x0 = fmaf(x0, c, d * 0.001f);
    x1 = fmaf(x1, c, -d * 0.001f);
    x2 = fmaf(x2, c, x0 * 0.0001f);
    x3 = fmaf(x3, c, x1 * 0.0001f);
  }
  out[t] = x0 + x1 + x2 + x3;
}

// ---------------------------------------------------------------- per-device work
struct Figures {
  char dtype[8];
  char requested[8];  // the format asked for when the ptx burn ran instead
  char path[12];
  char fallback[300];  // why the ptx burn ran instead of the requested format ("" when it did not)
  double tflops;
  unsigned long long iterations;
  unsigned long long mismatches;
  double seconds;
  // set 0's reference checksum (cuBLASLt path): identical inputs on every GPU, so GPUs of one model and
  // algorithm must agree on it — the caller compares them across GPUs
  unsigned long long checksum[2];
  int has_checksum;
};

struct DeviceJob {
  int index;  // CUDA ordinal
  const struct Options *opt;
  char path[12];
  char dtypes[MAX_DTYPES][8];
  int ndtypes;
  struct Figures fig[MAX_DTYPES];
  int errors;
  int could_not_run;
};

#define CUDA_OK(job, call, what)                                            \
  do {                                                                      \
    cudaError_t e_ = (call);                                                \
    if (e_ != cudaSuccess) {                                                \
      char m_[256];                                                         \
      snprintf(m_, sizeof m_, "%s: %s", what, cudaGetErrorString(e_));      \
      emit_error((job)->index, m_);                                         \
      (job)->errors++;                                                      \
      goto fail;                                                            \
    }                                                                       \
  } while (0)

static void progress(struct DeviceJob *j, struct Figures *f, double t0, double flops_per_iter) {
  double el = now_s() - t0;
  f->seconds = el;
  f->tflops = el > 0 ? flops_per_iter * f->iterations / el / 1e12 : 0;
  emit("{\"event\":\"progress\",\"device\":%d,\"dtype\":\"%s\",\"requested\":\"%s\",\"elapsed_s\":%.1f,\"tflops\":%.2f,"
       "\"iterations\":%llu,\"mismatches\":%llu}",
       j->index, f->dtype, f->requested, el, f->tflops, f->iterations, f->mismatches);
}

// One finished iteration: its checksum becomes the reference when `first`, else it must equal it.
static void count_iteration(struct Figures *f, unsigned long long ref[2], const unsigned long long got[2], int first) {
  if (first) memcpy(ref, got, 2 * sizeof *ref);
  else if (got[0] != ref[0] || got[1] != ref[1]) f->mismatches++;
  f->iterations++;
}

// A progress line at most every --interval seconds.
static void maybe_progress(struct DeviceJob *j, struct Figures *f, double t0, double *last, double flops_per_iter) {
  if (now_s() - *last < j->opt->interval) return;
  progress(j, f, t0, flops_per_iter);
  *last = now_s();
}

static void result(struct DeviceJob *j, struct Figures *f) {
  char why[620], sum[48] = "null";
  if (f->has_checksum) snprintf(sum, sizeof sum, "\"%016llx%016llx\"", f->checksum[0], f->checksum[1]);
  emit("{\"event\":\"result\",\"device\":%d,\"dtype\":\"%s\",\"requested\":\"%s\",\"path\":\"%s\",\"seconds\":%.1f,"
       "\"tflops\":%.2f,\"iterations\":%llu,\"mismatches\":%llu,\"checksum\":%s,\"fallback\":%s%s%s}",
       j->index, f->dtype, f->requested, f->path, f->seconds, f->tflops, f->iterations, f->mismatches, sum,
       f->fallback[0] ? "\"" : "", f->fallback[0] ? jstr(f->fallback, why, sizeof why) : "null", f->fallback[0] ? "\"" : "");
}

// The PTX/FMA path: one kernel wave per iteration, checksum of its output against the first one.
static void run_ptx(struct DeviceJob *j, struct Figures *f, double seconds) {
  const int threads = 256, iters = 4096;
  int sms = 0;
  float *out = NULL;
  unsigned long long *sum = NULL, ref[2] = {0, 0}, got[2];
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, j->index);
  int blocks = sms * 16;
  size_t n = (size_t)blocks * threads;
  double flops = (double)n * iters * 4 * 2;
  CUDA_OK(j, cudaMalloc(&out, n * sizeof(float)), "cudaMalloc");
  CUDA_OK(j, cudaMalloc(&sum, 2 * sizeof(unsigned long long)), "cudaMalloc");
  {
    double t0 = now_s(), last = t0;
    for (unsigned long long it = 0; !g_stop && now_s() - t0 < seconds; it++) {
      fma_burn_kernel<<<blocks, threads>>>(out, iters, 12345);
      CUDA_OK(j, cudaMemset(sum, 0, 2 * sizeof(unsigned long long)), "cudaMemset");
      checksum_kernel<<<sms * 4, 256>>>((const uint32_t *)out, n, sum);
      CUDA_OK(j, cudaMemcpy(got, sum, sizeof got, cudaMemcpyDeviceToHost), "kernel");
      count_iteration(f, ref, got, it == 0);
      maybe_progress(j, f, t0, &last, flops);
    }
    progress(j, f, t0, flops);
  }
fail:
  cudaFree(out);
  cudaFree(sum);
}

#if defined(BEE_HAVE_CUBLASLT)
// ---------------------------------------------------------------- cuBLASLt, loaded at run time
struct Lt {
  void *so;
  size_t (*GetVersion)(void);
  cublasStatus_t (*Create)(cublasLtHandle_t *);
  cublasStatus_t (*Destroy)(cublasLtHandle_t);
  cublasStatus_t (*DescCreate)(cublasLtMatmulDesc_t *, cublasComputeType_t, cudaDataType_t);
  cublasStatus_t (*DescDestroy)(cublasLtMatmulDesc_t);
  cublasStatus_t (*DescSet)(cublasLtMatmulDesc_t, cublasLtMatmulDescAttributes_t, const void *, size_t);
  cublasStatus_t (*LayoutCreate)(cublasLtMatrixLayout_t *, cudaDataType, uint64_t, uint64_t, int64_t);
  cublasStatus_t (*LayoutDestroy)(cublasLtMatrixLayout_t);
  cublasStatus_t (*PrefCreate)(cublasLtMatmulPreference_t *);
  cublasStatus_t (*PrefDestroy)(cublasLtMatmulPreference_t);
  cublasStatus_t (*PrefSet)(cublasLtMatmulPreference_t, cublasLtMatmulPreferenceAttributes_t, const void *, size_t);
  cublasStatus_t (*Heuristic)(cublasLtHandle_t, cublasLtMatmulDesc_t, cublasLtMatrixLayout_t, cublasLtMatrixLayout_t,
                              cublasLtMatrixLayout_t, cublasLtMatrixLayout_t, cublasLtMatmulPreference_t, int,
                              cublasLtMatmulHeuristicResult_t *, int *);
  cublasStatus_t (*Matmul)(cublasLtHandle_t, cublasLtMatmulDesc_t, const void *, const void *, cublasLtMatrixLayout_t,
                           const void *, cublasLtMatrixLayout_t, const void *, const void *, cublasLtMatrixLayout_t,
                           void *, cublasLtMatrixLayout_t, const cublasLtMatmulAlgo_t *, void *, size_t, cudaStream_t);
};
static struct Lt g_lt;

// dlopen of the shipped libcublasLt; 0 when it (or a symbol) is missing.
static int load_cublaslt(char *why, size_t cap) {
  const char *names[] = {getenv("BEE_CUBLASLT_PATH"), "libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so.11",
                         "libcublasLt.so"};
  for (size_t i = 0; i < sizeof names / sizeof *names && !g_lt.so; i++) {
    if (names[i] && *names[i]) g_lt.so = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
  }
  if (!g_lt.so) {
    snprintf(why, cap, "libcublasLt not found (%s)", dlerror());
    return 0;
  }
#define SYM(field, name)                                              \
  *(void **)(&g_lt.field) = dlsym(g_lt.so, name);                     \
  if (!g_lt.field) {                                                  \
    snprintf(why, cap, "libcublasLt lacks %s", name);                 \
    return 0;                                                         \
  }
  SYM(GetVersion, "cublasLtGetVersion");
  SYM(Create, "cublasLtCreate");
  SYM(Destroy, "cublasLtDestroy");
  SYM(DescCreate, "cublasLtMatmulDescCreate");
  SYM(DescDestroy, "cublasLtMatmulDescDestroy");
  SYM(DescSet, "cublasLtMatmulDescSetAttribute");
  SYM(LayoutCreate, "cublasLtMatrixLayoutCreate");
  SYM(LayoutDestroy, "cublasLtMatrixLayoutDestroy");
  SYM(PrefCreate, "cublasLtMatmulPreferenceCreate");
  SYM(PrefDestroy, "cublasLtMatmulPreferenceDestroy");
  SYM(PrefSet, "cublasLtMatmulPreferenceSetAttribute");
  SYM(Heuristic, "cublasLtMatmulAlgoGetHeuristic");
  SYM(Matmul, "cublasLtMatmul");
#undef SYM
  g_lt_version = g_lt.GetVersion();
  return 1;
}

// Block-scaling constants of cuBLASLt 12.8+ (library_types.h / cublasLt.h). Defined here so the program
// builds against older headers; where the headers know them, the values are checked to be theirs.
enum {
  BEE_R_4F_E2M1 = 33,                  // CUDA_R_4F_E2M1
  BEE_DESC_A_SCALE_MODE = 31,          // CUBLASLT_MATMUL_DESC_A_SCALE_MODE
  BEE_DESC_B_SCALE_MODE = 32,          // CUBLASLT_MATMUL_DESC_B_SCALE_MODE
  BEE_SCALE_VEC16_UE4M3 = 1,           // CUBLASLT_MATMUL_MATRIX_SCALE_VEC16_UE4M3
};
#define BEE_LT_FP4_VERSION 120800      // first cuBLASLt with block-scaled FP4
#if defined(CUDART_VERSION) && CUDART_VERSION >= 12080
static_assert(BEE_R_4F_E2M1 == (int)CUDA_R_4F_E2M1, "CUDA_R_4F_E2M1 differs from the header");
#endif
#if CUBLAS_VERSION >= BEE_LT_FP4_VERSION
static_assert(BEE_DESC_A_SCALE_MODE == (int)CUBLASLT_MATMUL_DESC_A_SCALE_MODE, "A_SCALE_MODE differs");
static_assert(BEE_DESC_B_SCALE_MODE == (int)CUBLASLT_MATMUL_DESC_B_SCALE_MODE, "B_SCALE_MODE differs");
static_assert(BEE_SCALE_VEC16_UE4M3 == (int)CUBLASLT_MATMUL_MATRIX_SCALE_VEC16_UE4M3, "VEC16_UE4M3 differs");
#endif

enum Scaling { SCALE_NONE, SCALE_TENSOR, SCALE_VEC16 };

struct Format {
  cudaDataType_t ab;
  int ab_bits;  // bits per element of A and B (fp4 packs two per byte)
  cublasComputeType_t compute;
  enum Scaling scaling;
};

static int format_of(const char *dtype, struct Format *f) {
  if (!strcmp(dtype, "fp16")) *f = (struct Format){CUDA_R_16F, 16, CUBLAS_COMPUTE_32F, SCALE_NONE};
  else if (!strcmp(dtype, "bf16")) *f = (struct Format){CUDA_R_16BF, 16, CUBLAS_COMPUTE_32F, SCALE_NONE};
  else if (!strcmp(dtype, "tf32")) *f = (struct Format){CUDA_R_32F, 32, CUBLAS_COMPUTE_32F_FAST_TF32, SCALE_NONE};
  else if (!strcmp(dtype, "fp8")) *f = (struct Format){CUDA_R_8F_E4M3, 8, CUBLAS_COMPUTE_32F, SCALE_TENSOR};
  else if (!strcmp(dtype, "fp4")) *f = (struct Format){(cudaDataType_t)BEE_R_4F_E2M1, 4, CUBLAS_COMPUTE_32F, SCALE_VEC16};
  else return 0;
  return 1;
}

static void fill(void *p, size_t n, const struct Format *f, uint32_t seed) {
  int g = 1024, b = 256;
  if (f->ab == CUDA_R_16F) fill_kernel<<<g, b>>>((__half *)p, n, seed);
  else if (f->ab == CUDA_R_16BF) fill_kernel<<<g, b>>>((__nv_bfloat16 *)p, n, seed);
  else if (f->ab == CUDA_R_8F_E4M3) fill_kernel<<<g, b>>>((__nv_fp8_e4m3 *)p, n, seed);
  else if (f->scaling == SCALE_VEC16) fill_fp4_kernel<<<g, b>>>((uint8_t *)p, n / 2, seed);
  else fill_kernel<<<g, b>>>((float *)p, n, seed);
}

// The value the GPU holds at element i after rounding to the input format (for the FP64 host check).
static double stored(const struct Format *f, uint64_t i, uint32_t seed) {
  if (f->scaling == SCALE_VEC16) return fp4_value(fp4_code_at(i, seed));
  float v = value_at(i, seed);
  if (f->ab == CUDA_R_16F) return (double)__half2float(__float2half(v));
  if (f->ab == CUDA_R_16BF) return (double)__bfloat162float(__float2bfloat16(v));
  if (f->ab == CUDA_R_8F_E4M3) return (double)(float)__nv_fp8_e4m3(v);
  return (double)v;
}

// Checks `count` elements of one set's output D (inputs seeded seed_a/seed_b) against an FP64 dot product
// on the host; the sample positions rotate with `salt`. Counts mismatches; -1 when CUDA itself failed.
static int fp64_check(struct DeviceJob *j, struct Figures *f, const struct Format *fmt, const void *D, int n,
                      cudaDataType_t dtype_d, double ab_scale, uint32_t seed_a, uint32_t seed_b, uint64_t salt,
                      int count) {
  for (int k = 0; k < count; k++) {
    int r = (int)(mix(77 + salt + k) % n), c = (int)(mix(99 + salt + k) % n);
    size_t at = (size_t)c * n + r;
    float dv;
    cudaError_t e;
    if (dtype_d == CUDA_R_32F) {
      e = cudaMemcpy(&dv, (const float *)D + at, sizeof dv, cudaMemcpyDeviceToHost);
    } else {
      __nv_bfloat16 hv;
      e = cudaMemcpy(&hv, (const __nv_bfloat16 *)D + at, sizeof hv, cudaMemcpyDeviceToHost);
      dv = __bfloat162float(hv);
    }
    if (e != cudaSuccess) {
      char m[200];
      snprintf(m, sizeof m, "cudaMemcpy (FP64 check): %s", cudaGetErrorString(e));
      emit_error(j->index, m);
      j->errors++;
      return -1;
    }
    double ref64 = 0, mag = 0;
    for (int t = 0; t < n; t++) {
      // A is stored K x M (column-major, lda = K): A^T(r, t) = A[r * n + t]; B(t, c) = B[c * n + t]
      double a = stored(fmt, (uint64_t)r * n + t, seed_a), b = stored(fmt, (uint64_t)c * n + t, seed_b);
      ref64 += a * b;
      mag += fabs(a * b);
    }
    ref64 *= ab_scale;
    mag *= ab_scale;
    // fp32 accumulation of exact products needs little slack; TF32 rounds its inputs, FP8/FP4 tensor
    // cores may accumulate in fewer bits, a bf16 output rounds to 8 bits
    double rel = dtype_d != CUDA_R_32F                                            ? 1e-2
                 : (fmt->compute == CUBLAS_COMPUTE_32F_FAST_TF32 || fmt->scaling) ? 2e-3
                                                                                  : 1e-4;
    double tol = rel * mag + 1e-3;
    if (fabs(dv - ref64) > tol) {
      char m[220];
      snprintf(m, sizeof m, "%s reference check (set %u): D[%d,%d] = %.6g, FP64 dot product %.6g", f->dtype,
               (unsigned)((seed_a - 1000u) / 2), r, c, dv, ref64);
      emit_error(j->index, m);
      f->mismatches++;
    }
  }
  return 0;
}

#define LT_OK(call, what)                                                   \
  do {                                                                      \
    cublasStatus_t s_ = (call);                                             \
    if (s_ != CUBLAS_STATUS_SUCCESS) {                                      \
      char m_[200];                                                         \
      snprintf(m_, sizeof m_, "%s: cuBLAS status %d", what, (int)s_);       \
      emit_error(j->index, m_);                                             \
      j->errors++;                                                          \
      goto fail;                                                            \
    }                                                                       \
  } while (0)

// TN GEMMs D(MxN) = A^T(MxK) * B(KxN) over `sets` buffer sets that fill the memory budget; D is fp32
// (bf16 where cuBLASLt offers block-scaled fp4 only with a 16-bit output).
// Returns 0 when cuBLASLt has no algorithm for this format here (the caller falls back, `why` says
// why), else 1.
static int run_lt(struct DeviceJob *j, struct Figures *f, double seconds, size_t budget, char *why, size_t whycap) {
  struct Format fmt;
  if (!format_of(f->dtype, &fmt)) {
    snprintf(why, whycap, "%s is not a cuBLASLt format", f->dtype);
    return 0;
  }
  if (fmt.scaling == SCALE_VEC16 && g_lt_version < BEE_LT_FP4_VERSION) {
    snprintf(why, whycap, "cuBLASLt %zu.%zu has no block-scaled fp4 (12.8 or newer needed)", g_lt_version / 10000,
             g_lt_version / 100 % 100);
    return 0;
  }
  const int n = 8192;  // large enough for peak tensor throughput, small enough to rotate many sets
  const size_t ab_bytes = (size_t)n * n * fmt.ab_bits / 8;
  const size_t d_bytes_max = (size_t)n * n * 4;
  const size_t sc_bytes = fmt.scaling == SCALE_VEC16 ? vec16_scale_bytes(n, n) : 0;
  const size_t set_bytes = 2 * ab_bytes + d_bytes_max;
  int sets = (int)(budget / set_bytes);
  if (sets < 1) sets = 1;
  if (sets > 512) sets = 512;
  void *A[512] = {0}, *B[512] = {0}, *D[512] = {0};
  enum { BATCH = 16 };
  unsigned long long ref[512][2];
  unsigned long long *dsums = NULL, *hsums = NULL;
  cudaEvent_t ev_gemm[512] = {0}, ev_sum[512] = {0};
  cudaStream_t cstream = NULL;
  float *scale = NULL, one = 1.0f, zero = 0.0f;
  uint8_t *sa = NULL, *sb = NULL;
  void *ws = NULL;
  size_t ws_size = 32u << 20, d_bytes = d_bytes_max;
  cublasLtHandle_t h = NULL;
  cublasLtMatmulDesc_t desc = NULL;
  cublasLtMatrixLayout_t la = NULL, lb = NULL, ld = NULL;
  cublasLtMatmulPreference_t pref = NULL;
  enum { CANDIDATES = 4 };
  cublasLtMatmulHeuristicResult_t cand[CANDIDATES], heur;
  int found = 0, supported = 1;
  cudaDataType_t dtype_d = CUDA_R_32F;
  cublasOperation_t opT = CUBLAS_OP_T, opN = CUBLAS_OP_N;
  double flops = 2.0 * n * n * (double)n;
  double ab_scale = 1.0;  // product of the A and B scales, for the FP64 check
  cudaStream_t stream = NULL;

  CUDA_OK(j, cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
  CUDA_OK(j, cudaStreamCreateWithFlags(&cstream, cudaStreamNonBlocking), "cudaStreamCreate");
  CUDA_OK(j, cudaMalloc(&ws, ws_size), "cudaMalloc workspace");
  CUDA_OK(j, cudaMalloc(&dsums, BATCH * 2 * sizeof(unsigned long long)), "cudaMalloc");
  CUDA_OK(j, cudaMallocHost(&hsums, BATCH * 2 * sizeof(unsigned long long)), "cudaMallocHost");
  CUDA_OK(j, cudaMalloc(&scale, sizeof(float)), "cudaMalloc");
  CUDA_OK(j, cudaMemcpy(scale, &one, sizeof one, cudaMemcpyHostToDevice), "cudaMemcpy");
  if (sc_bytes) {
    CUDA_OK(j, cudaMalloc(&sa, sc_bytes), "cudaMalloc scales");
    CUDA_OK(j, cudaMalloc(&sb, sc_bytes), "cudaMalloc scales");
    CUDA_OK(j, cudaMemset(sa, UE4M3_TWO, sc_bytes), "cudaMemset scales");
    CUDA_OK(j, cudaMemset(sb, UE4M3_ONE, sc_bytes), "cudaMemset scales");
    ab_scale = 2.0;
  }
  for (int s = 0; s < sets; s++) {
    if (cudaMalloc(&A[s], ab_bytes) != cudaSuccess || cudaMalloc(&B[s], ab_bytes) != cudaSuccess ||
        cudaMalloc(&D[s], d_bytes_max) != cudaSuccess) {
      cudaGetLastError();
      cudaFree(A[s]);
      cudaFree(B[s]);
      A[s] = B[s] = D[s] = NULL;
      sets = s;  // what fitted
      break;
    }
    fill(A[s], (size_t)n * n, &fmt, 1000u + 2 * s);
    fill(B[s], (size_t)n * n, &fmt, 1001u + 2 * s);
  }
  if (sets < 1) {
    emit_error(j->index, "not enough GPU memory for one matrix set");
    j->errors++;
    goto fail;
  }
  CUDA_OK(j, cudaDeviceSynchronize(), "fill");

  LT_OK(g_lt.Create(&h), "cublasLtCreate");
  LT_OK(g_lt.DescCreate(&desc, fmt.compute, CUDA_R_32F), "cublasLtMatmulDescCreate");
  LT_OK(g_lt.DescSet(desc, CUBLASLT_MATMUL_DESC_TRANSA, &opT, sizeof opT), "TRANSA");
  LT_OK(g_lt.DescSet(desc, CUBLASLT_MATMUL_DESC_TRANSB, &opN, sizeof opN), "TRANSB");
  if (fmt.scaling == SCALE_TENSOR) {
    // a cuBLASLt older than FP8 does not know the scale pointers: a format it does not offer, not an error
    if (g_lt.DescSet(desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &scale, sizeof scale) != CUBLAS_STATUS_SUCCESS ||
        g_lt.DescSet(desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &scale, sizeof scale) != CUBLAS_STATUS_SUCCESS) {
      snprintf(why, whycap, "this cuBLASLt refuses FP8 scale pointers");
      supported = 0;
      goto fail;
    }
  } else if (fmt.scaling == SCALE_VEC16) {
    int32_t mode = BEE_SCALE_VEC16_UE4M3;
    if (g_lt.DescSet(desc, (cublasLtMatmulDescAttributes_t)BEE_DESC_A_SCALE_MODE, &mode, sizeof mode) !=
            CUBLAS_STATUS_SUCCESS ||
        g_lt.DescSet(desc, (cublasLtMatmulDescAttributes_t)BEE_DESC_B_SCALE_MODE, &mode, sizeof mode) !=
            CUBLAS_STATUS_SUCCESS) {
      snprintf(why, whycap, "this cuBLASLt refuses VEC16_UE4M3 block scaling");
      supported = 0;
      goto fail;
    }
    LT_OK(g_lt.DescSet(desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &sa, sizeof sa), "A_SCALE_POINTER");
    LT_OK(g_lt.DescSet(desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &sb, sizeof sb), "B_SCALE_POINTER");
  }
  LT_OK(g_lt.LayoutCreate(&la, fmt.ab, n, n, n), "layout A");
  LT_OK(g_lt.LayoutCreate(&lb, fmt.ab, n, n, n), "layout B");
  LT_OK(g_lt.PrefCreate(&pref), "preference");
  LT_OK(g_lt.PrefSet(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws_size, sizeof ws_size), "workspace");
  {
    // reproducibility: no split-K reduction that would need atomics
    uint32_t scheme = CUBLASLT_REDUCTION_SCHEME_NONE;
    LT_OK(g_lt.PrefSet(pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &scheme, sizeof scheme), "reduction scheme");
  }
  {
    // fp32 output; block-scaled fp4 may be offered only with a 16-bit output, so bf16 is tried next
    const cudaDataType_t outs[2] = {CUDA_R_32F, CUDA_R_16BF};
    const int nouts = fmt.scaling == SCALE_VEC16 ? 2 : 1;
    for (int o = 0; o < nouts && !found; o++) {
      if (ld) g_lt.LayoutDestroy(ld);
      ld = NULL;
      LT_OK(g_lt.LayoutCreate(&ld, outs[o], n, n, n), "layout D");
      if (g_lt.Heuristic(h, desc, la, lb, ld, ld, pref, CANDIDATES, cand, &found) != CUBLAS_STATUS_SUCCESS) found = 0;
      if (found) {
        dtype_d = outs[o];
        d_bytes = (size_t)n * n * (outs[o] == CUDA_R_32F ? 4 : 2);
      }
    }
  }
  if (!found) {
    snprintf(why, whycap, "cuBLASLt %zu.%zu offers no %s GEMM on this GPU", g_lt_version / 10000, g_lt_version / 100 % 100,
             f->dtype);
    supported = 0;  // this format is not offered here
    goto fail;
  }
  {
    // Determinism first: the heuristic's best algorithm must give set 0 the same checksum twice (cuBLAS
    // promises it for one algorithm, workspace and GPU without atomic reductions); if not, its next
    // candidates are tried, and when none repeats itself the run fails here instead of reporting every
    // later iteration as a mismatch.
    int chosen = -1;
    for (int a = 0; a < found && chosen < 0; a++) {
      unsigned long long c[2][2];
      for (int rep = 0; rep < 2; rep++) {
        LT_OK(g_lt.Matmul(h, desc, &one, A[0], la, B[0], lb, &zero, D[0], ld, D[0], ld, &cand[a].algo, ws, ws_size,
                          stream),
              "cublasLtMatmul");
        CUDA_OK(j, cudaMemsetAsync(dsums, 0, 2 * sizeof(unsigned long long), stream), "cudaMemset");
        checksum_kernel<<<512, 256, 0, stream>>>((const uint32_t *)D[0], d_bytes / 4, dsums);
        CUDA_OK(j, cudaMemcpyAsync(c[rep], dsums, sizeof c[rep], cudaMemcpyDeviceToHost, stream), "cudaMemcpy");
        CUDA_OK(j, cudaStreamSynchronize(stream), "first GEMMs");
      }
      if (c[0][0] == c[1][0] && c[0][1] == c[1][1]) chosen = a;
      else fprintf(stderr, "bee-gpu-stress: GPU %d: %s algorithm %d of %d gave two checksums; next one\n", j->index, f->dtype, a + 1, found);
    }
    if (chosen < 0) {
      char m[200];
      snprintf(m, sizeof m, "%s: none of %d cuBLASLt algorithms gave the same result twice (GPU fault or library)",
               f->dtype, found);
      emit_error(j->index, m);
      j->errors++;
      goto fail;
    }
    heur = cand[chosen];
  }
  // FP64 host check of a few elements of set 0's output (D[0] holds the chosen algorithm's)
  if (fp64_check(j, f, &fmt, D[0], n, dtype_d, ab_scale, 1000u, 1001u, 0, 8) < 0) goto fail;
  for (int s = 0; s < sets; s++) {
    CUDA_OK(j, cudaEventCreateWithFlags(&ev_gemm[s], cudaEventDisableTiming), "cudaEventCreate");
    CUDA_OK(j, cudaEventCreateWithFlags(&ev_sum[s], cudaEventDisableTiming), "cudaEventCreate");
  }
  {
    // GEMMs on `stream`, their checksums on `cstream`, BATCH iterations queued before the host waits:
    // no host round trip per GEMM, and the memory-bound checksum can run beside the next GEMM. The GEMM
    // into D[s] waits for the checksum of D[s]'s previous contents (ev_sum), each checksum for its GEMM
    // (ev_gemm); checksum slots are read after the batch's synchronisation.
    double t0 = now_s(), last = t0;
    unsigned long long it = 0;
    const size_t words = d_bytes / 4;
    while (!g_stop && now_s() - t0 < seconds) {
      int nb = 0;
      for (; nb < BATCH; nb++) {
        int s = (int)((it + nb) % sets);
        CUDA_OK(j, cudaStreamWaitEvent(stream, ev_sum[s], 0), "cudaStreamWaitEvent");
        LT_OK(g_lt.Matmul(h, desc, &one, A[s], la, B[s], lb, &zero, D[s], ld, D[s], ld, &heur.algo, ws, ws_size, stream),
              "cublasLtMatmul");
        CUDA_OK(j, cudaEventRecord(ev_gemm[s], stream), "cudaEventRecord");
        CUDA_OK(j, cudaStreamWaitEvent(cstream, ev_gemm[s], 0), "cudaStreamWaitEvent");
        CUDA_OK(j, cudaMemsetAsync(dsums + 2 * nb, 0, 2 * sizeof(unsigned long long), cstream), "cudaMemset");
        checksum_kernel<<<512, 256, 0, cstream>>>((const uint32_t *)D[s], words, dsums + 2 * nb);
        CUDA_OK(j, cudaEventRecord(ev_sum[s], cstream), "cudaEventRecord");
      }
      CUDA_OK(j, cudaMemcpyAsync(hsums, dsums, (size_t)nb * 2 * sizeof(unsigned long long), cudaMemcpyDeviceToHost, cstream),
              "cudaMemcpy");
      // cstream waited for every GEMM of the batch, so this covers both streams
      CUDA_OK(j, cudaStreamSynchronize(cstream), "GEMM");
      for (int b = 0; b < nb; b++, it++) count_iteration(f, ref[it % sets], hsums + 2 * b, it < (unsigned long long)sets);
      maybe_progress(j, f, t0, &last, flops);
    }
    if (it > 0) {
      memcpy(f->checksum, ref[0], sizeof f->checksum);
      f->has_checksum = 1;
    }
    // every set that ran against FP64, not only set 0: a fault that corrupts one set the same way every
    // time repeats its checksum and is seen only here (2 samples per set, positions rotating per set)
    int ran = it < (unsigned long long)sets ? (int)it : sets;
    for (int s = 0; s < ran && !g_stop; s++) {
      if (fp64_check(j, f, &fmt, D[s], n, dtype_d, ab_scale, 1000u + 2 * s, 1001u + 2 * s, 1000 + 2 * (uint64_t)s, 2) < 0)
        goto fail;
    }
    progress(j, f, t0, flops);
  }
fail:
  if (pref) g_lt.PrefDestroy(pref);
  if (la) g_lt.LayoutDestroy(la);
  if (lb) g_lt.LayoutDestroy(lb);
  if (ld) g_lt.LayoutDestroy(ld);
  if (desc) g_lt.DescDestroy(desc);
  if (h) g_lt.Destroy(h);
  for (int s = 0; s < 512; s++) {
    cudaFree(A[s]);
    cudaFree(B[s]);
    cudaFree(D[s]);
  }
  if (stream) cudaStreamSynchronize(stream);  // nothing may still use what is freed below
  if (cstream) cudaStreamSynchronize(cstream);
  for (int s = 0; s < 512; s++) {
    if (ev_gemm[s]) cudaEventDestroy(ev_gemm[s]);
    if (ev_sum[s]) cudaEventDestroy(ev_sum[s]);
  }
  cudaFree(ws);
  cudaFree(dsums);
  cudaFreeHost(hsums);
  cudaFree(scale);
  cudaFree(sa);
  cudaFree(sb);
  if (stream) cudaStreamDestroy(stream);
  if (cstream) cudaStreamDestroy(cstream);
  return supported;
}
#endif

static int g_have_lt = 0;
static char g_lt_why[300] = "built without cuBLASLt headers (the ptx-only program)";

// Formats the tensor cores of compute capability `cc` (major*10+minor) really use.
static int auto_dtypes(int cc, char out[MAX_DTYPES][8]) {
  int n = 0;
  if (!g_have_lt || cc < 80) {
    snprintf(out[n++], 8, "ptx");
    return n;
  }
  snprintf(out[n++], 8, "fp16");
  snprintf(out[n++], 8, "bf16");
  snprintf(out[n++], 8, "tf32");
  if (cc >= 89) snprintf(out[n++], 8, "fp8");
  if (cc >= 100) snprintf(out[n++], 8, "fp4");
  return n;
}

static void *device_main(void *arg) {
  struct DeviceJob *j = (struct DeviceJob *)arg;
  struct cudaDeviceProp p;
  char name[300], dl[128] = "";
  size_t free_b = 0, total_b = 0, budget;
  if (cudaSetDevice(j->index) != cudaSuccess || cudaGetDeviceProperties(&p, j->index) != cudaSuccess ||
      cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
    emit_error(j->index, "cannot open the device");
    j->could_not_run = 1;
    return NULL;
  }
  int cc = p.major * 10 + p.minor;
  char ltv[32] = "null";
  if (g_have_lt) {
    snprintf(ltv, sizeof ltv, "\"%zu.%zu.%zu\"", g_lt_version / 10000, g_lt_version / 100 % 100, g_lt_version % 100);
  }
  if (j->opt->ndtypes) {
    j->ndtypes = j->opt->ndtypes;
    memcpy(j->dtypes, j->opt->dtypes, sizeof j->dtypes);
  } else {
    j->ndtypes = auto_dtypes(cc, j->dtypes);
  }
  snprintf(j->path, sizeof j->path, "%s", g_have_lt ? "cublaslt" : "ptx");
  // budget: what was asked, within the free memory minus headroom for the workspace and the driver
  size_t headroom = (size_t)1 << 30;
  size_t usable = free_b > headroom ? free_b - headroom : free_b / 2;
  budget = j->opt->size_mb > 0 ? (size_t)j->opt->size_mb << 20 : usable;
  if (budget > usable) budget = usable;
  for (int k = 0; k < j->ndtypes; k++) {
    size_t o = strlen(dl);
    snprintf(dl + o, sizeof dl - o, "%s\"%s\"", k ? "," : "", j->dtypes[k]);
  }
  emit("{\"event\":\"start\",\"device\":%d,\"name\":\"%s\",\"pci_bus_id\":\"%04x:%02x:%02x.0\",\"compute_capability\":\"%d.%d\","
       "\"memory_mb\":%zu,\"size_mb\":%zu,\"dtypes\":[%s],\"path\":\"%s\",\"cublaslt_version\":%s}",
       j->index, jstr(p.name, name, sizeof name), p.pciDomainID, p.pciBusID, p.pciDeviceID, p.major, p.minor,
       total_b >> 20, budget >> 20, dl, j->path, ltv);
  double per = j->opt->seconds / j->ndtypes;
  for (int k = 0; k < j->ndtypes && !g_stop; k++) {
    struct Figures *f = &j->fig[k];
    snprintf(f->dtype, sizeof f->dtype, "%s", j->dtypes[k]);
    snprintf(f->requested, sizeof f->requested, "%s", j->dtypes[k]);
    snprintf(f->path, sizeof f->path, "cublaslt");
    int done = 0;
#if defined(BEE_HAVE_CUBLASLT)
    if (strcmp(f->dtype, "ptx") != 0) {
      if (g_have_lt) done = run_lt(j, f, per, budget, f->fallback, sizeof f->fallback);
      else snprintf(f->fallback, sizeof f->fallback, "%s", g_lt_why);
      // not offered here: the result line says ptx ran for the requested format, and why
      if (!done) fprintf(stderr, "bee-gpu-stress: GPU %d: %s; ptx burn instead\n", j->index, f->fallback);
    }
#else
    if (strcmp(f->dtype, "ptx") != 0) snprintf(f->fallback, sizeof f->fallback, "%s", g_lt_why);
#endif
    if (!done) {
      snprintf(f->dtype, sizeof f->dtype, "ptx");
      snprintf(f->path, sizeof f->path, "ptx");
      run_ptx(j, f, per);
    }
    result(j, f);
  }
  return NULL;
}

// ---------------------------------------------------------------- --self-test (host only, no GPU)
// Checks the host-side arithmetic the GPU paths rely on against NVIDIA's own conversion headers: the
// FP4 E2M1 decoding and packing used by the FP64 reference, the UE4M3 scale bytes, the block-scale
// tensor size, and the JSON escaping of device names.
static int g_checks = 0, g_failed = 0;
static void check(int ok, const char *what) {
  g_checks++;
  if (!ok) {
    g_failed++;
    emit_error(-1, what);
  }
}

static int self_test(void) {
  static const double e2m1[8] = {0, 0.5, 1, 1.5, 2, 3, 4, 6};
  for (int c = 0; c < 16; c++) {
    char m[80];
    snprintf(m, sizeof m, "fp4 code %d decodes to %g", c, fp4_value((uint8_t)c));
    check(fp4_value((uint8_t)c) == (c & 8 ? -e2m1[c & 7] : e2m1[c & 7]), m);
#if defined(BEE_HAVE_FP4_HEADER)
    __half_raw hr = __nv_cvt_fp4_to_halfraw((__nv_fp4_storage_t)c, __NV_E2M1);
    check(fp4_value((uint8_t)c) == (double)__half2float(__half(hr)), m);
#endif
  }
#if defined(BEE_HAVE_FP4_HEADER)
  // packing: the low nibble is the lower index, as cuda_fp4.h unpacks an fp4x2
  for (size_t i = 0; i < 64; i++) {
    __half2_raw h2 = __nv_cvt_fp4x2_to_halfraw2((__nv_fp4x2_storage_t)fp4_pair_at(i, 7), __NV_E2M1);
    __half2 v(h2);
    check((double)__low2float(v) == fp4_value(fp4_code_at(2 * i, 7)) &&
              (double)__high2float(v) == fp4_value(fp4_code_at(2 * i + 1, 7)),
          "fp4 pair packing differs from cuda_fp4.h");
  }
#endif
  {
    // the hash spreads over all 16 codes (a stuck nibble would load only part of the format)
    int seen[16] = {0};
    for (uint64_t i = 0; i < 4096; i++) seen[fp4_code_at(i, 1000)]++;
    int all = 1;
    for (int c = 0; c < 16; c++) all &= seen[c] > 128;
    check(all, "fp4 test data does not cover every E2M1 code");
  }
  check(__nv_fp8_e4m3(2.0f).__x == UE4M3_TWO, "UE4M3 byte of 2.0");
  check(__nv_fp8_e4m3(1.0f).__x == UE4M3_ONE, "UE4M3 byte of 1.0");
  check(vec16_scale_bytes(8192, 8192) == (size_t)8192 * 512, "VEC16 scale bytes for 8192 x 8192");
  check(vec16_scale_bytes(100, 48) == (size_t)128 * 4, "VEC16 scale bytes pad to 128 x 4 tiles");
  {
    double lo = 1, hi = -1;
    for (uint64_t i = 0; i < 100000; i++) {
      double v = value_at(i, 5);
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
    check(lo >= -1 && lo < -0.99 && hi < 1 && hi > 0.99, "test values span [-1, 1)");
  }
  {
    char out[64];
    check(!strcmp(jstr("a\"b\\c\n\x01", out, sizeof out), "a\\\"b\\\\c\\u000a\\u0001"), "JSON escaping");
    char tiny[12];
    jstr("0123456789abcdef", tiny, sizeof tiny);
    check(strlen(tiny) < sizeof tiny, "JSON escaping stays within its buffer");
  }
  emit("{\"event\":\"self_test\",\"status\":\"%s\",\"checks\":%d,\"failed\":%d,\"fp4_header\":%s}",
       g_failed ? "failed" : "ok", g_checks, g_failed,
#if defined(BEE_HAVE_FP4_HEADER)
       "true"
#else
       "false"
#endif
  );
  return g_failed ? 1 : 0;
}

// ---------------------------------------------------------------- --p2p: copy bandwidth of every GPU pair
// For each ordered pair (a, b): peer access where the driver offers it, then timed cudaMemcpyPeerAsync of
// one buffer from a to b (a stream and events on a), and a checksum of what arrived against what was sent.
// One JSON line per pair: {"event":"p2p","src","dst","peer_access","gbps","bytes","iterations","checksum_ok"}.
__global__ void p2p_fill_kernel(uint32_t *p, size_t n, uint32_t seed) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    p[i] = mix(((uint64_t)seed << 40) ^ i);
  }
}

static int buffer_checksum(int dev, const uint32_t *p, size_t n, unsigned long long out[2]) {
  unsigned long long *d = NULL;
  if (cudaSetDevice(dev) != cudaSuccess || cudaMalloc(&d, 2 * sizeof *d) != cudaSuccess) return 0;
  cudaMemset(d, 0, 2 * sizeof *d);
  checksum_kernel<<<256, 256>>>(p, n, d);
  cudaError_t e = cudaMemcpy(out, d, 2 * sizeof *d, cudaMemcpyDeviceToHost);
  cudaFree(d);
  return e == cudaSuccess;
}

static int p2p_main(const struct Options *o) {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    emit_error(-1, e != cudaSuccess ? cudaGetErrorString(e) : "no CUDA device");
    emit("{\"event\":\"end\",\"status\":\"error\",\"exit_code\":2}");
    return 2;
  }
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
  for (int i = 0; i < n; i++) {
    cudaSetDevice(dev[i]);
    if (cudaMalloc(&src[i], bytes) != cudaSuccess || cudaMalloc(&dst[i], bytes) != cudaSuccess) {
      emit_error(dev[i], "cannot allocate the p2p buffers");
      emit("{\"event\":\"end\",\"status\":\"error\",\"exit_code\":2}");
      return 2;
    }
    p2p_fill_kernel<<<1024, 256>>>(src[i], words, (uint32_t)(i + 1));
    cudaDeviceSynchronize();
  }
  for (int a = 0; a < n && !g_stop; a++) {
    for (int b = 0; b < n && !g_stop; b++) {
      if (a == b) continue;
      int can = 0;
      cudaDeviceCanAccessPeer(&can, dev[a], dev[b]);
      cudaSetDevice(dev[a]);
      if (can) {
        e = cudaDeviceEnablePeerAccess(dev[b], 0);
        if (e == cudaErrorPeerAccessAlreadyEnabled) cudaGetLastError();
      }
      cudaStream_t st;
      cudaEvent_t t0, t1;
      cudaStreamCreate(&st);
      cudaEventCreate(&t0);
      cudaEventCreate(&t1);
      for (int w = 0; w < 2; w++) cudaMemcpyPeerAsync(dst[b], dev[b], src[a], dev[a], bytes, st);
      int iters = 0;
      float ms = 0;
      const double start = now_s();
      cudaEventRecord(t0, st);
      do {
        cudaMemcpyPeerAsync(dst[b], dev[b], src[a], dev[a], bytes, st);
        iters++;
        if (iters % 4 == 0) cudaStreamSynchronize(st);
      } while (iters < 200 && now_s() - start < 0.5);
      cudaEventRecord(t1, st);
      e = cudaEventSynchronize(t1);
      if (e == cudaSuccess) e = cudaEventElapsedTime(&ms, t0, t1);
      cudaEventDestroy(t0);
      cudaEventDestroy(t1);
      cudaStreamDestroy(st);
      if (e != cudaSuccess) {
        char m[300];
        snprintf(m, sizeof m, "GPU %d -> GPU %d: %s", a, b, cudaGetErrorString(e));
        emit_error(dev[a], m);
        errors++;
        continue;
      }
      unsigned long long cs[2] = {0, 0}, cd[2] = {1, 1};
      const int ok = buffer_checksum(dev[a], src[a], words, cs) && buffer_checksum(dev[b], dst[b], words, cd) &&
                     cs[0] == cd[0] && cs[1] == cd[1];
      if (!ok) bad++;
      const double gbps = ms > 0 ? (double)bytes * iters / (ms / 1000.0) / 1e9 : 0;
      emit("{\"event\":\"p2p\",\"src\":%d,\"dst\":%d,\"peer_access\":%s,\"gbps\":%.2f,\"bytes\":%zu,"
           "\"iterations\":%d,\"checksum_ok\":%s}",
           a, b, can ? "true" : "false", gbps, bytes, iters, ok ? "true" : "false");
    }
  }
  for (int i = 0; i < n; i++) {
    cudaSetDevice(dev[i]);
    cudaFree(src[i]);
    cudaFree(dst[i]);
  }
  const int rc = (errors || bad || g_stop) ? 1 : 0;
  emit("{\"event\":\"end\",\"status\":\"%s\",\"exit_code\":%d,\"mismatches\":%d,\"errors\":%d}",
       bad ? "mismatches" : errors ? "error" : g_stop ? "interrupted" : "ok", rc, bad, errors);
  return rc;
}

int main(int argc, char **argv) {
  struct Options opt;
  setvbuf(stdout, NULL, _IOLBF, 0);
  int rc = parse_args(argc, argv, &opt);
  if (rc) return rc;
  if (opt.self_test) return self_test();
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  if (opt.p2p) return p2p_main(&opt);
#if defined(BEE_HAVE_CUBLASLT)
  g_have_lt = load_cublaslt(g_lt_why, sizeof g_lt_why);
  if (!g_have_lt) fprintf(stderr, "bee-gpu-stress: %s; the ptx burn runs instead (start lines say path ptx)\n", g_lt_why);
#endif
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    char m[300];
    snprintf(m, sizeof m, "no usable NVIDIA GPU: %s", e != cudaSuccess ? cudaGetErrorString(e) : "no CUDA device");
    emit_error(-1, m);
    emit("{\"event\":\"end\",\"status\":\"error\",\"exit_code\":2}");
    fprintf(stderr, "bee-gpu-stress: %s\n", m);
    return 2;
  }
  static struct DeviceJob jobs[MAX_DEVICES];
  pthread_t th[MAX_DEVICES];
  int n = 0;
  if (opt.ndevices) {
    for (int i = 0; i < opt.ndevices; i++) {
      if (opt.devices[i] >= count) {
        char m[120];
        snprintf(m, sizeof m, "--devices names GPU %d but only %d are visible", opt.devices[i], count);
        return bad_args(m);
      }
      jobs[n++].index = opt.devices[i];
    }
  } else {
    for (int i = 0; i < count && i < MAX_DEVICES; i++) jobs[n++].index = i;
  }
  for (int i = 0; i < n; i++) {
    jobs[i].opt = &opt;
    pthread_create(&th[i], NULL, device_main, &jobs[i]);
  }
  unsigned long long mismatches = 0;
  int errors = 0, unable = 0;
  for (int i = 0; i < n; i++) {
    pthread_join(th[i], NULL);
    for (int k = 0; k < jobs[i].ndtypes; k++) mismatches += jobs[i].fig[k].mismatches;
    errors += jobs[i].errors > 0 ? jobs[i].errors : 0;
    unable += jobs[i].could_not_run;
  }
  // stopped early by SIGTERM/SIGINT: a clean end line, but not a pass (exit 1, status interrupted)
  const char *status = unable == n ? "error" : mismatches ? "mismatches" : errors || unable ? "error" : g_stop ? "interrupted" : "ok";
  rc = unable == n ? 2 : (mismatches || errors || unable || g_stop) ? 1 : 0;
  emit("{\"event\":\"end\",\"status\":\"%s\",\"exit_code\":%d,\"mismatches\":%llu,\"errors\":%d}", status, rc, mismatches,
       errors);
  return rc;
}
