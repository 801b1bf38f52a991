// bee-gpu-stress, result checking: the exact values each input format holds, the tolerance each format's
// rounding allows, and the full check of set 0 against an independent SIMT GEMM on the GPU.
//
// Why a full check: the repeat checksums catch a result that changes, the cross-GPU comparison a GPU that
// differs from its peers; a deterministic fault on a single GPU (a stuck lane that corrupts the same way
// every time) passes both and is caught only by comparing every output with a second, independent path.
// The reference regenerates A and B from the same hash (not from the GPU's copies), multiplies the exact
// input values in FP64 on the CUDA cores and compares each of the n*n outputs.
#pragma once

enum Kind { K_FP16, K_BF16, K_TF32, K_FP8, K_FP4 };

static inline int kind_of(const char *dtype, int *kind) {
  static const char *names[] = {"fp16", "bf16", "tf32", "fp8", "fp4"};
  for (int k = 0; k < 5; k++) {
    if (!strcmp(dtype, names[k])) {
      *kind = k;
      return 1;
    }
  }
  return 0;
}

// The value the GPU holds at element i after rounding to the input format (host: E4M3, FP16 and BF16 by
// cuda_fp8.h / cuda_fp16.h / cuda_bf16.h, the same round-to-nearest-even the fill kernels use).
__host__ __device__ static inline float stored_value(int kind, uint64_t i, uint32_t seed) {
  if (kind == K_FP4) return (float)fp4_value(fp4_code_at(i, seed));
  float v = value_at(i, seed);
  if (kind == K_FP16) return __half2float(__float2half_rn(v));
  if (kind == K_BF16) return __bfloat162float(__float2bfloat16_rn(v));
  if (kind == K_FP8) return (float)__nv_fp8_e4m3(v);
  return v;
}

// What each format's arithmetic may differ from the exact FP64 dot product, per output element:
//   mag_rel * sum|a*b|  accumulation: FP32 adders (24-bit significand, truncating in tensor cores) over
//                       K/4..K/16 steps; 2^-16 = 128 units of 2^-23, far above what a correct adder loses
//   rss_rel * sqrt(sum (a*b)^2)  per-product rounding that is not in the stored inputs: TF32 drops 13
//                       mantissa bits of each FP32 input (<= 2^-10 each, 2^-9 per product, random sign
//                       across products); FP8/FP4 tensor cores accumulate in fewer bits between promotions
//                       to FP32. 2^-5 = 16 x 2^-9 (about 12 standard deviations at K = 8192)
//   out_rel * |ref|     rounding of a 16-bit (BF16) output: half an ulp is 2^-9, allowed 2^-8
//   abs                 a floor for outputs that cancel to about zero
struct Tol {
  double mag_rel, rss_rel, out_rel, abs;
};

__host__ __device__ static inline struct Tol tolerance_of(int kind, int bf16_out) {
  struct Tol t;
  t.mag_rel = 0x1p-16;
  t.rss_rel = (kind == K_TF32 || kind == K_FP8 || kind == K_FP4) ? 0x1p-5 : 0.0;
  t.out_rel = bf16_out ? 0x1p-8 : 0.0;
  t.abs = 1e-3;
  return t;
}

__host__ __device__ static inline double allowed(struct Tol t, double mag, double rss, double ref) {
  return t.mag_rel * mag + t.rss_rel * rss + t.out_rel * fabs(ref) + t.abs;
}

// One output against its reference: 1 when it is outside the tolerance (NaN and Inf always are); the
// error as a share of the tolerance goes to *ratio (1e30 for NaN/Inf).
__host__ __device__ static inline int outside(double got, double ref, double tol, float *ratio) {
  const double err = fabs(got - ref);
  if (!(err <= tol)) {
    *ratio = isfinite(err) ? (float)(err / tol) : 1e30f;
    return 1;
  }
  *ratio = (float)(err / tol);
  return 0;
}

// The exact dot product of output (r, c) on the host: A is stored K x M (column-major, lda = K), so
// A^T(r, t) = A[r * n + t]; B(t, c) = B[c * n + t]. Also sum|a*b| and sqrt(sum (a*b)^2) for the tolerance.
static double host_dot(int kind, int n, int r, int c, uint32_t seed_a, uint32_t seed_b, double *mag, double *rss) {
  double ref = 0, m = 0, ss = 0;
  for (int t = 0; t < n; t++) {
    const double p = (double)stored_value(kind, (uint64_t)r * n + t, seed_a) *
                     (double)stored_value(kind, (uint64_t)c * n + t, seed_b);
    ref += p;
    m += fabs(p);
    ss += p * p;
  }
  *mag = m;
  *rss = sqrt(ss);
  return ref;
}

struct RefOut {
  unsigned long long mismatches;
  unsigned long long first;  // 1 + the column-major index of one mismatching output, 0 when none
  unsigned int max_ratio_bits;  // largest error / tolerance seen (a positive float's bits order as integers)
};

#define REF_TILE 16
// Rows row0 .. row0 + gridDim.x*16 of D (n x n, column-major, FP32 or BF16) against the FP64 SIMT product.
__global__ void ref_check_kernel(int kind, int n, uint32_t seed_a, uint32_t seed_b, double scale, const void *D,
                                 int d_bf16, int row0, struct RefOut *out) {
  __shared__ float As[REF_TILE][REF_TILE + 1], Bs[REF_TILE][REF_TILE + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int rbase = row0 + blockIdx.x * REF_TILE, cbase = blockIdx.y * REF_TILE;
  double acc = 0, mag = 0, ss = 0;
  for (int k0 = 0; k0 < n; k0 += REF_TILE) {
    As[ty][tx] = stored_value(kind, (uint64_t)(rbase + ty) * n + k0 + tx, seed_a);
    Bs[ty][tx] = stored_value(kind, (uint64_t)(cbase + ty) * n + k0 + tx, seed_b);
    __syncthreads();
    for (int t = 0; t < REF_TILE; t++) {
      const double p = (double)As[tx][t] * (double)Bs[ty][t];
      acc += p;
      mag += fabs(p);
      ss += p * p;
    }
    __syncthreads();
  }
  const int r = rbase + tx, c = cbase + ty;
  const size_t at = (size_t)c * n + r;
  const double got = d_bf16 ? (double)__bfloat162float(((const __nv_bfloat16 *)D)[at]) : (double)((const float *)D)[at];
  acc *= scale;
  float ratio;
  if (outside(got, acc, allowed(tolerance_of(kind, d_bf16), mag * scale, sqrt(ss) * scale, acc), &ratio)) {
    atomicAdd(&out->mismatches, 1ULL);
    atomicCAS(&out->first, 0ULL, (unsigned long long)at + 1);
  }
  atomicMax(&out->max_ratio_bits, __float_as_uint(ratio));
}

struct RefResult {
  unsigned long long elements, mismatches;
  long long first;  // column-major index of one mismatch, -1 when none
  double max_ratio;
};

// Checks all n x n outputs of D, in bands of rows so the watch sees progress between launches.
// 0: checked (figures in *res); -1: CUDA error (message in err); -2: the GPU is hung (reported).
static inline int reference_check(struct Beat *b, cudaStream_t s, int kind, int n, uint32_t seed_a, uint32_t seed_b,
                           double scale, const void *D, int d_bf16, struct RefResult *res, char *err, size_t cap) {
  struct RefOut *dout = NULL, hout;
  cudaError_t e = cudaMalloc(&dout, sizeof *dout);
  if (e == cudaSuccess) e = cudaMemsetAsync(dout, 0, sizeof *dout, s);
  if (e != cudaSuccess) {
    cudaFree(dout);
    cuda_failure(err, cap, "reference check", e);
    return -1;
  }
  const int band = 512;  // rows per launch: n*512 outputs, each a K-long FP64 dot product
  for (int row0 = 0; row0 < n && !g_stop; row0 += band) {
    const int rows = n - row0 < band ? n - row0 : band;
    ref_check_kernel<<<dim3(rows / REF_TILE, n / REF_TILE), dim3(REF_TILE, REF_TILE), 0, s>>>(
        kind, n, seed_a, seed_b, scale, D, d_bf16, row0, dout);
    const int w = wait_stream(b, s, "reference check", err, cap);
    if (w == -2) return -2;
    if (w < 0 || (e = cudaGetLastError()) != cudaSuccess) {
      if (w == 0) cuda_failure(err, cap, "reference check", e);
      cudaFree(dout);
      return -1;
    }
  }
  e = cudaMemcpy(&hout, dout, sizeof hout, cudaMemcpyDeviceToHost);
  cudaFree(dout);
  if (e != cudaSuccess) {
    cuda_failure(err, cap, "reference check", e);
    return -1;
  }
  float ratio;
  memcpy(&ratio, &hout.max_ratio_bits, sizeof ratio);
  res->elements = g_stop ? 0 : (unsigned long long)n * n;
  res->mismatches = hout.mismatches;
  res->first = hout.first ? (long long)hout.first - 1 : -1;
  res->max_ratio = ratio;
  return 0;
}
