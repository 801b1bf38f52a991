// bee-gpu-stress, the cuBLASLt path: the library loaded at run time (the major version the program was
// built against first), the formats, the choice of one deterministic algorithm, the full reference check
// of set 0 and the timed loop over buffer sets.
#pragma once

static size_t g_lt_version = 0;  // cublasLtGetVersion() of the loaded library (major*10000+minor*100+patch), 0: none

// The sonames to try, in order: BEE_CUBLASLT_PATH, the major version the program was built against, then
// the other majors newest first, then the unversioned name. Returns how many it wrote.
static int lt_candidates(const char *env, int built_major, char names[][40], int cap) {
  int n = 0;
  if (env && *env && n < cap) snprintf(names[n++], 40, "%.39s", env);
  if (built_major > 0 && n < cap) snprintf(names[n++], 40, "libcublasLt.so.%d", built_major);
  for (int m = 13; m >= 11 && n < cap; m--) {
    if (m != built_major) snprintf(names[n++], 40, "libcublasLt.so.%d", m);
  }
  if (n < cap) snprintf(names[n++], 40, "libcublasLt.so");
  return n;
}

#if defined(BEE_HAVE_CUBLASLT)
#define BEE_LT_BUILT_MAJOR CUBLAS_VER_MAJOR

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
  // optional: names the chosen algorithm's configuration (else a hash of the opaque algorithm stands in)
  cublasStatus_t (*AlgoConfigGet)(const cublasLtMatmulAlgo_t *, cublasLtMatmulAlgoConfigAttributes_t, void *, size_t,
                                  size_t *);
};
static struct Lt g_lt;

// dlopen of the shipped libcublasLt; 0 when it (or a symbol) is missing.
static int load_cublaslt(char *why, size_t cap) {
  char names[6][40];
  const int n = lt_candidates(getenv("BEE_CUBLASLT_PATH"), BEE_LT_BUILT_MAJOR, names, 6);
  for (int i = 0; i < n && !g_lt.so; i++) g_lt.so = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
  if (!g_lt.so) {
    snprintf(why, cap, "libcublasLt not found (%s)", dlerror());
    return 0;
  }
#define SYM(field, name)                                  \
  *(void **)(&g_lt.field) = dlsym(g_lt.so, name);         \
  if (!g_lt.field) {                                      \
    snprintf(why, cap, "libcublasLt lacks %s", name);     \
    return 0;                                             \
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
  *(void **)(&g_lt.AlgoConfigGet) = dlsym(g_lt.so, "cublasLtMatmulAlgoConfigGetAttribute");
  g_lt_version = g_lt.GetVersion();
  if (g_lt_version / 10000 != BEE_LT_BUILT_MAJOR) {
    fprintf(stderr, "bee-gpu-stress: loaded cuBLASLt %zu.%zu, built against %d.x headers\n", g_lt_version / 10000,
            g_lt_version / 100 % 100, BEE_LT_BUILT_MAJOR);
  }
  return 1;
}

// Block-scaling constants of cuBLASLt 12.8+ (library_types.h / cublasLt.h). Defined here so the program
// builds against older headers; where the headers know them, the values are checked to be theirs.
enum {
  BEE_R_4F_E2M1 = 33,          // CUDA_R_4F_E2M1
  BEE_DESC_A_SCALE_MODE = 31,  // CUBLASLT_MATMUL_DESC_A_SCALE_MODE
  BEE_DESC_B_SCALE_MODE = 32,  // CUBLASLT_MATMUL_DESC_B_SCALE_MODE
  BEE_SCALE_VEC16_UE4M3 = 1,   // CUBLASLT_MATMUL_MATRIX_SCALE_VEC16_UE4M3
};
#define BEE_LT_FP4_VERSION 120800  // first cuBLASLt with block-scaled FP4
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
  int kind;
  cudaDataType_t ab;
  int ab_bits;  // bits per element of A and B (fp4 packs two per byte)
  cublasComputeType_t compute;
  enum Scaling scaling;
};

static int format_of(const char *dtype, struct Format *f) {
  int k;
  if (!kind_of(dtype, &k)) return 0;
  switch (k) {
    case K_FP16: *f = (struct Format){k, CUDA_R_16F, 16, CUBLAS_COMPUTE_32F, SCALE_NONE}; break;
    case K_BF16: *f = (struct Format){k, CUDA_R_16BF, 16, CUBLAS_COMPUTE_32F, SCALE_NONE}; break;
    case K_TF32: *f = (struct Format){k, CUDA_R_32F, 32, CUBLAS_COMPUTE_32F_FAST_TF32, SCALE_NONE}; break;
    case K_FP8: *f = (struct Format){k, CUDA_R_8F_E4M3, 8, CUBLAS_COMPUTE_32F, SCALE_TENSOR}; break;
    default: *f = (struct Format){k, (cudaDataType_t)BEE_R_4F_E2M1, 4, CUBLAS_COMPUTE_32F, SCALE_VEC16}; break;
  }
  return 1;
}

static void fill(void *p, size_t n, const struct Format *f, uint32_t seed, cudaStream_t s) {
  int g = 1024, b = 256;
  if (f->ab == CUDA_R_16F) fill_kernel<<<g, b, 0, s>>>((__half *)p, n, seed);
  else if (f->ab == CUDA_R_16BF) fill_kernel<<<g, b, 0, s>>>((__nv_bfloat16 *)p, n, seed);
  else if (f->ab == CUDA_R_8F_E4M3) fill_kernel<<<g, b, 0, s>>>((__nv_fp8_e4m3 *)p, n, seed);
  else if (f->scaling == SCALE_VEC16) fill_fp4_kernel<<<g, b, 0, s>>>((uint8_t *)p, n / 2, seed);
  else fill_kernel<<<g, b, 0, s>>>((float *)p, n, seed);
}

// "c<candidate>/id<algo>/tile<t>/st<stages>/sk<split-K>/red<scheme>/sw<swizzle>/opt<custom>": two GPUs
// that ran different algorithms legitimately differ in their last bits, so bee compares only like with
// like. Without cublasLtMatmulAlgoConfigGetAttribute, a hash of the opaque algorithm stands in.
static void describe_algo(const cublasLtMatmulAlgo_t *a, int candidate, char *out, size_t cap) {
  if (!g_lt.AlgoConfigGet) {
    snprintf(out, cap, "c%d/h%016llx", candidate, (unsigned long long)fnv1a(a, sizeof *a));
    return;
  }
  const cublasLtMatmulAlgoConfigAttributes_t keys[7] = {
      CUBLASLT_ALGO_CONFIG_ID,           CUBLASLT_ALGO_CONFIG_TILE_ID,       CUBLASLT_ALGO_CONFIG_STAGES_ID,
      CUBLASLT_ALGO_CONFIG_SPLITK_NUM,   CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, CUBLASLT_ALGO_CONFIG_CTA_SWIZZLING,
      CUBLASLT_ALGO_CONFIG_CUSTOM_OPTION};
  long long v[7];
  for (int i = 0; i < 7; i++) {
    uint64_t raw = 0;
    size_t wrote = 0;
    v[i] = g_lt.AlgoConfigGet(a, keys[i], &raw, sizeof raw, &wrote) == CUBLAS_STATUS_SUCCESS
               ? (wrote == 4 ? (long long)(int32_t)(uint32_t)raw : (long long)raw)
               : -1;
  }
  snprintf(out, cap, "c%d/id%lld/tile%lld/st%lld/sk%lld/red%lld/sw%lld/opt%lld", candidate, v[0], v[1], v[2], v[3],
           v[4], v[5], v[6]);
}

// Checks `count` elements of one set's output D against the exact FP64 dot product on the host (positions
// rotate with `salt`). Counts mismatches into f; -1 when CUDA itself failed.
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
      char m[300];
      emit_error(j->index, cuda_failure(m, sizeof m, "cudaMemcpy (FP64 check)", e));
      j->errors++;
      return -1;
    }
    double mag, rss;
    double ref = host_dot(fmt->kind, n, r, c, seed_a, seed_b, &mag, &rss) * ab_scale;
    const double tol = allowed(tolerance_of(fmt->kind, dtype_d != CUDA_R_32F), mag * ab_scale, rss * ab_scale, ref);
    float ratio;
    if (outside(dv, ref, tol, &ratio)) {
      char m[260];
      snprintf(m, sizeof m, "%s reference check (set %u): D[%d,%d] = %.6g, FP64 dot product %.6g (tolerance %.3g)",
               f->dtype, (unsigned)((seed_a - 1000u) / 2), r, c, dv, ref, tol);
      emit_error(j->index, m);
      f->mismatches++;
    }
  }
  return 0;
}

#include "lt_run.cuh"
#endif
