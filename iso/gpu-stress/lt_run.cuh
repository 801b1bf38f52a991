// bee-gpu-stress, one format on the cuBLASLt path (included by lt.cuh).
#pragma once

#define LT_OK(call, what)                                             \
  do {                                                                \
    cublasStatus_t s_ = (call);                                       \
    if (s_ != CUBLAS_STATUS_SUCCESS) {                                \
      char m_[200];                                                   \
      snprintf(m_, sizeof m_, "%s: cuBLAS status %d", what, (int)s_); \
      emit_error(j->index, m_);                                       \
      j->errors++;                                                    \
      goto fail;                                                      \
    }                                                                 \
  } while (0)

// The full check of set 0 (D[0] holds the chosen algorithm's output): every element against the FP64
// SIMT product. Mismatches count into f and are reported with one example. 0 / -1 error / -2 hung.
static int check_set0(struct DeviceJob *j, struct Figures *f, const struct Format *fmt, cudaStream_t s,
                      const void *D0, int n, int d_bf16, double ab_scale) {
  struct RefResult rr;
  char err[300];
  const int r = reference_check(&j->beat, s, fmt->kind, n, 1000u, 1001u, ab_scale, D0, d_bf16, &rr, err, sizeof err);
  if (r == -2) return -2;
  if (r < 0) {
    emit_error(j->index, err);
    j->errors++;
    return -1;
  }
  f->ref_elements = (long long)rr.elements;
  f->ref_mismatches = rr.mismatches;
  f->ref_max_ratio = rr.max_ratio;
  if (rr.mismatches) {
    f->mismatches += rr.mismatches;
    const int row = (int)(rr.first % n), col = (int)(rr.first / n);
    double mag, rss, got = NAN;
    const double ref = host_dot(fmt->kind, n, row, col, 1000u, 1001u, &mag, &rss) * ab_scale;
    if (d_bf16) {
      __nv_bfloat16 hv;
      if (cudaMemcpy(&hv, (const __nv_bfloat16 *)D0 + rr.first, sizeof hv, cudaMemcpyDeviceToHost) == cudaSuccess)
        got = __bfloat162float(hv);
    } else {
      float dv;
      if (cudaMemcpy(&dv, (const float *)D0 + rr.first, sizeof dv, cudaMemcpyDeviceToHost) == cudaSuccess) got = dv;
    }
    char m[300];
    snprintf(m, sizeof m,
             "%s full reference check (set 0): %llu of %llu outputs outside tolerance, e.g. D[%d,%d] = %.6g, "
             "FP64 %.6g (tolerance %.3g)",
             f->dtype, rr.mismatches, rr.elements, row, col, got, ref,
             allowed(tolerance_of(fmt->kind, d_bf16), mag * ab_scale, rss * ab_scale, ref));
    emit_error(j->index, m);
  }
  return 0;
}

// TN GEMMs D(MxN) = A^T(MxK) * B(KxN) over `sets` buffer sets that fill the memory budget; D is fp32
// (bf16 where cuBLASLt offers block-scaled fp4 only with a 16-bit output).
// Returns 1 when it ran, 0 when cuBLASLt does not offer this format here (the caller falls back, `why`
// says why), -2 when the GPU hung (nothing cleaned up: it does not answer).
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
  enum { BATCH = 16, CANDIDATES = 4 };
  unsigned long long ref[512][2];
  unsigned long long *dsums = NULL, *hsums = NULL;
  cudaEvent_t ev_gemm[512] = {0}, ev_sum[512] = {0};
  cudaStream_t stream = NULL, cstream = NULL;
  float *scale = NULL, one = 1.0f, zero = 0.0f;
  uint8_t *sa = NULL, *sb = NULL;
  void *ws = NULL;
  size_t ws_size = 32u << 20, d_bytes = d_bytes_max;
  cublasLtHandle_t h = NULL;
  cublasLtMatmulDesc_t desc = NULL;
  cublasLtMatrixLayout_t la = NULL, lb = NULL, ld = NULL;
  cublasLtMatmulPreference_t pref = NULL;
  cublasLtMatmulHeuristicResult_t cand[CANDIDATES], heur;
  int found = 0, supported = 1, chosen = -1;
  cudaDataType_t dtype_d = CUDA_R_32F;
  cublasOperation_t opT = CUBLAS_OP_T, opN = CUBLAS_OP_N;
  double flops = 2.0 * n * n * (double)n;
  double ab_scale = 1.0;  // product of the A and B scales, for the reference checks
  cublasStatus_t cs;

  // a cuBLASLt that cannot make a handle here (driver too old for it, no kernels for this GPU) does not
  // offer its formats: the ptx burn runs, with this reason — no GEMM errors are counted against the GPU
  if ((cs = g_lt.Create(&h)) != CUBLAS_STATUS_SUCCESS) {
    h = NULL;
    snprintf(why, whycap, "cublasLtCreate failed (cuBLAS status %d): cuBLASLt %zu.%zu is not usable on this GPU",
             (int)cs, g_lt_version / 10000, g_lt_version / 100 % 100);
    return 0;
  }
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
    fill(A[s], (size_t)n * n, &fmt, 1000u + 2 * s, stream);
    fill(B[s], (size_t)n * n, &fmt, 1001u + 2 * s, stream);
    beat(&j->beat, "allocating and filling");
  }
  if (sets < 1) {
    emit_error(j->index, "not enough GPU memory for one matrix set");
    j->errors++;
    goto fail;
  }
  WAIT_OK(j, stream, "fill");

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
    snprintf(why, whycap, "cuBLASLt %zu.%zu offers no %s GEMM on this GPU", g_lt_version / 10000,
             g_lt_version / 100 % 100, f->dtype);
    supported = 0;  // this format is not offered here
    goto fail;
  }
  // Determinism first: the heuristic's best algorithm must give set 0 the same checksum twice (cuBLAS
  // promises it for one algorithm, workspace and GPU without atomic reductions); if not, its next
  // candidates are tried, and when none repeats itself the run fails here instead of reporting every
  // later iteration as a mismatch.
  for (int a = 0; a < found && chosen < 0; a++) {
    unsigned long long c[2][2];
    for (int rep = 0; rep < 2; rep++) {
      LT_OK(g_lt.Matmul(h, desc, &one, A[0], la, B[0], lb, &zero, D[0], ld, D[0], ld, &cand[a].algo, ws, ws_size,
                        stream),
            "cublasLtMatmul");
      CUDA_OK(j, cudaMemsetAsync(dsums, 0, 2 * sizeof(unsigned long long), stream), "cudaMemset");
      checksum_kernel<<<512, 256, 0, stream>>>((const uint32_t *)D[0], d_bytes / 4, dsums);
      CUDA_OK(j, cudaMemcpyAsync(hsums, dsums, 2 * sizeof(unsigned long long), cudaMemcpyDeviceToHost, stream),
              "cudaMemcpy");
      WAIT_OK(j, stream, "first GEMMs");
      memcpy(c[rep], hsums, sizeof c[rep]);
    }
    if (c[0][0] == c[1][0] && c[0][1] == c[1][1]) chosen = a;
    else fprintf(stderr, "bee-gpu-stress: GPU %d: %s algorithm %d of %d gave two checksums; next one\n", j->index,
                 f->dtype, a + 1, found);
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
  describe_algo(&heur.algo, chosen, f->algo, sizeof f->algo);
  {
    // every output of set 0 against the independent FP64 product, and a few against the host
    const int r = check_set0(j, f, &fmt, stream, D[0], n, dtype_d != CUDA_R_32F, ab_scale);
    if (r == -2) goto hung;
    if (r < 0) goto fail;
  }
  if (fp64_check(j, f, &fmt, D[0], n, dtype_d, ab_scale, 1000u, 1001u, 0, 8) < 0) goto fail;
  for (int s = 0; s < sets; s++) {
    CUDA_OK(j, cudaEventCreateWithFlags(&ev_gemm[s], cudaEventDisableTiming), "cudaEventCreate");
    CUDA_OK(j, cudaEventCreateWithFlags(&ev_sum[s], cudaEventDisableTiming), "cudaEventCreate");
  }
  {
    // GEMMs on `stream`, their checksums on `cstream`, BATCH iterations queued before the host waits:
    // no host round trip per GEMM, and the memory-bound checksum can run beside the next GEMM. The GEMM
    // into D[s] waits for the checksum of D[s]'s previous contents (ev_sum), each checksum for its GEMM
    // (ev_gemm); checksum slots are read after the batch's wait.
    double t0 = now_s(), last = t0;
    unsigned long long it = 0;
    const size_t words = d_bytes / 4;
    while (!g_stop && now_s() - t0 < seconds) {
      int nb = 0;
      for (; nb < BATCH; nb++) {
        int s = (int)((it + nb) % sets);
        CUDA_OK(j, cudaStreamWaitEvent(stream, ev_sum[s], 0), "cudaStreamWaitEvent");
        LT_OK(g_lt.Matmul(h, desc, &one, A[s], la, B[s], lb, &zero, D[s], ld, D[s], ld, &heur.algo, ws, ws_size,
                          stream),
              "cublasLtMatmul");
        CUDA_OK(j, cudaEventRecord(ev_gemm[s], stream), "cudaEventRecord");
        CUDA_OK(j, cudaStreamWaitEvent(cstream, ev_gemm[s], 0), "cudaStreamWaitEvent");
        CUDA_OK(j, cudaMemsetAsync(dsums + 2 * nb, 0, 2 * sizeof(unsigned long long), cstream), "cudaMemset");
        checksum_kernel<<<512, 256, 0, cstream>>>((const uint32_t *)D[s], words, dsums + 2 * nb);
        CUDA_OK(j, cudaEventRecord(ev_sum[s], cstream), "cudaEventRecord");
      }
      CUDA_OK(j,
              cudaMemcpyAsync(hsums, dsums, (size_t)nb * 2 * sizeof(unsigned long long), cudaMemcpyDeviceToHost,
                              cstream),
              "cudaMemcpy");
      // cstream waited for every GEMM of the batch, so this covers both streams
      WAIT_OK(j, cstream, "GEMM batch");
      for (int b = 0; b < nb; b++, it++) count_iteration(f, ref[it % sets], hsums + 2 * b, it < (unsigned long long)sets);
      maybe_progress(j, f, t0, &last, flops);
      pulse_gate(j);
    }
    if (it > 0) {
      memcpy(f->checksum, ref[0], sizeof f->checksum);
      f->has_checksum = 1;
    }
    // every later set that ran against FP64 on the host too: 2 samples per set, positions rotating
    int ran = it < (unsigned long long)sets ? (int)it : sets;
    for (int s = 1; s < ran && !g_stop; s++) {
      if (fp64_check(j, f, &fmt, D[s], n, dtype_d, ab_scale, 1000u + 2 * s, 1001u + 2 * s, 1000 + 2 * (uint64_t)s, 2) < 0)
        goto fail;
      beat(&j->beat, "FP64 samples");
    }
    progress(j, f, t0, flops);
  }
fail:
  // nothing may still run on what is freed below: the streams are drained first
  if (stream) cudaStreamSynchronize(stream);
  if (cstream) cudaStreamSynchronize(cstream);
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
hung:
  return -2;
}
