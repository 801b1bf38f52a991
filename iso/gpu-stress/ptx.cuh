// bee-gpu-stress, the PTX burn: FMA chains on the CUDA cores where cuBLASLt or a tensor format is not
// offered. Each chain turns a point by a fixed angle (a rotation keeps its length), so its bits keep
// switching for as long as it runs — a chain of the form x = c*x + d would settle on a fixed point within
// a few thousand steps and then stop drawing power. Kernels are queued in batches with their checksums
// and the host waits once per batch, under the hang watch.
#pragma once

// One step of a chain: (x, y) turned by the angle whose cosine and sine are (c, s).
__host__ __device__ static inline void burn_step(float *x, float *y, float c, float s) {
  const float nx = fmaf(-*y, s, *x * c);
  const float ny = fmaf(*x, s, *y * c);
  *x = nx;
  *y = ny;
}

#define BURN_ITERS 16384
#define BURN_C0 0.99500417f  // cos 0.1
#define BURN_S0 0.09983342f  // sin 0.1
#define BURN_C1 0.98006658f  // cos 0.2
#define BURN_S1 0.19866933f  // sin 0.2

__global__ void fma_burn_kernel(float *out, int iters, uint32_t seed) {
  size_t t = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
  float x0 = value_at(4 * t, seed), y0 = value_at(4 * t + 1, seed);
  float x1 = value_at(4 * t + 2, seed), y1 = value_at(4 * t + 3, seed);
  for (int i = 0; i < iters; i++) {
    burn_step(&x0, &y0, BURN_C0, BURN_S0);
    burn_step(&x1, &y1, BURN_C1, BURN_S1);
  }
  out[t] = x0 + y0 + x1 + y1;
}

// The PTX path: batches of burn kernels, each followed by a checksum of its output into its own slot;
// every checksum must equal the first one. Returns 0, or -2 when the GPU hung (no cleanup then).
static int run_ptx(struct DeviceJob *j, struct Figures *f, double seconds) {
  enum { BATCH = 16 };
  const int threads = 256;
  int sms = 0;
  float *out = NULL;
  unsigned long long *sum = NULL, *hsum = NULL, ref[2] = {0, 0};
  cudaStream_t st = NULL;
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, j->index);
  const int blocks = (sms > 0 ? sms : 1) * 16;
  const size_t n = (size_t)blocks * threads;
  const double flops = (double)n * BURN_ITERS * 2 * 6;  // 2 chains, 2 FMAs + 2 multiplies per step
  CUDA_OK(j, cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking), "cudaStreamCreate");
  CUDA_OK(j, cudaMalloc(&out, n * sizeof(float)), "cudaMalloc");
  CUDA_OK(j, cudaMalloc(&sum, BATCH * 2 * sizeof(unsigned long long)), "cudaMalloc");
  CUDA_OK(j, cudaMallocHost(&hsum, BATCH * 2 * sizeof(unsigned long long)), "cudaMallocHost");
  {
    double t0 = now_s(), last = t0;
    unsigned long long it = 0;
    while (!g_stop && now_s() - t0 < seconds) {
      CUDA_OK(j, cudaMemsetAsync(sum, 0, BATCH * 2 * sizeof(unsigned long long), st), "cudaMemset");
      for (int b = 0; b < BATCH; b++) {
        fma_burn_kernel<<<blocks, threads, 0, st>>>(out, BURN_ITERS, 12345);
        checksum_kernel<<<blocks / 4, 256, 0, st>>>((const uint32_t *)out, n, sum + 2 * b);
      }
      CUDA_OK(j, cudaGetLastError(), "burn kernel");
      CUDA_OK(j, cudaMemcpyAsync(hsum, sum, BATCH * 2 * sizeof(unsigned long long), cudaMemcpyDeviceToHost, st),
              "cudaMemcpy");
      WAIT_OK(j, st, "ptx burn");
      for (int b = 0; b < BATCH; b++, it++) count_iteration(f, ref, hsum + 2 * b, it == 0);
      maybe_progress(j, f, t0, &last, flops);
      pulse_gate(j);
    }
    progress(j, f, t0, flops);
  }
fail:
  if (st) cudaStreamSynchronize(st);  // nothing may still use what is freed below
  cudaFree(out);
  cudaFree(sum);
  cudaFreeHost(hsum);
  if (st) cudaStreamDestroy(st);
  return 0;
hung:
  return -2;
}
