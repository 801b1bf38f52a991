// bee-gpu-stress --nccl: NCCL all-reduce across the selected GPUs in one process.
//
// libnccl.so.2 (BEE_NCCL_PATH first where set) is loaded at run time, so the program runs where NCCL is
// absent and says so. One communicator per GPU (ncclCommInitAll), then for message sizes from 8 MiB doubling
// to --size-mb (default 1 GiB, bounded by a third of the smallest GPU's free memory): two warm-up rounds,
// timed rounds (host clock over all GPUs' streams), and a check of the sum: GPU r sends r + 1 in every
// element, so every received element must be n(n+1)/2 exactly. Bus bandwidth = algorithm bandwidth ×
// 2(n−1)/n (nccl-tests' definition). All under the hang watch: NCCL init or a collective that stops is named.
// Lines: {"event":"nccl_start","version","gpus"}, {"event":"nccl","op":"all_reduce","bytes","gpus",
// "iterations","time_us","algbw_gbs","busbw_gbs","errors"} per size, then end.
#pragma once

typedef struct ncclComm *ncclComm_t;
typedef int ncclResult_t;
enum { NCCL_FLOAT32 = 7, NCCL_SUM = 0 };  // ncclFloat32 and ncclSum in nccl.h (a stable ABI since NCCL 2.0)

static struct {
  void *so;
  ncclResult_t (*CommInitAll)(ncclComm_t *, int, const int *);
  ncclResult_t (*CommDestroy)(ncclComm_t);
  ncclResult_t (*AllReduce)(const void *, void *, size_t, int, int, ncclComm_t, cudaStream_t);
  ncclResult_t (*GroupStart)(void);
  ncclResult_t (*GroupEnd)(void);
  const char *(*GetErrorString)(ncclResult_t);
  ncclResult_t (*GetVersion)(int *);
} g_nccl;

// NCCL's version code (major*10000 + minor*100 + patch since 2.9) as text.
static const char *nccl_version_text(int code, char *out, size_t cap) {
  if (code >= 10000) snprintf(out, cap, "%d.%d.%d", code / 10000, code / 100 % 100, code % 100);
  else snprintf(out, cap, "%d.%d.%d", code / 1000, code / 100 % 10, code % 100);
  return out;
}

// Bus bandwidth of an all-reduce over n GPUs from its algorithm bandwidth (nccl-tests' PERFORMANCE.md).
__host__ __device__ static inline double allreduce_busbw(double algbw, int n) {
  return n > 0 ? algbw * 2.0 * (n - 1) / n : 0;
}

static int load_nccl(char *why, size_t cap) {
  const char *env = getenv("BEE_NCCL_PATH");
  if (env && *env) g_nccl.so = dlopen(env, RTLD_NOW | RTLD_LOCAL);
  if (!g_nccl.so) g_nccl.so = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
  if (!g_nccl.so) {
    snprintf(why, cap, "libnccl.so.2 not found (%s)", dlerror());
    return 0;
  }
#define NSYM(field, name)                                                   \
  *(void **)(&g_nccl.field) = dlsym(g_nccl.so, name);                       \
  if (!g_nccl.field) {                                                      \
    snprintf(why, cap, "libnccl.so.2 lacks %s", name);                      \
    return 0;                                                               \
  }
  NSYM(CommInitAll, "ncclCommInitAll");
  NSYM(CommDestroy, "ncclCommDestroy");
  NSYM(AllReduce, "ncclAllReduce");
  NSYM(GroupStart, "ncclGroupStart");
  NSYM(GroupEnd, "ncclGroupEnd");
  NSYM(GetErrorString, "ncclGetErrorString");
  NSYM(GetVersion, "ncclGetVersion");
#undef NSYM
  return 1;
}

__global__ void nccl_fill(float *p, size_t n, float v) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) p[i] = v;
}

__global__ void nccl_count_ne(const float *p, size_t n, float want, unsigned long long *bad) {
  unsigned long long mine = 0;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    mine += p[i] != want;
  }
  if (mine) atomicAdd(bad, mine);
}

struct NcclRun {
  const struct Options *opt;
  int dev[MAX_DEVICES];
  int n;
  struct Beat beat;
  int errors;
  unsigned long long mismatches;
};

// Queues `iters` all-reduces of `count` floats on every GPU and waits for all; 0 ok, -1 error, -2 hung.
static int nccl_rounds(struct NcclRun *r, ncclComm_t *comms, float **send, float **recv, cudaStream_t *st,
                       size_t count, int iters) {
  char err[300];
  for (int k = 0; k < iters && !g_stop; k++) {
    g_nccl.GroupStart();
    ncclResult_t e = 0;
    for (int i = 0; i < r->n && !e; i++) e = g_nccl.AllReduce(send[i], recv[i], count, NCCL_FLOAT32, NCCL_SUM, comms[i], st[i]);
    const ncclResult_t g = g_nccl.GroupEnd();
    if (e || g) {
      snprintf(err, sizeof err, "ncclAllReduce: %s", g_nccl.GetErrorString(e ? e : g));
      emit_error(-1, err);
      return -1;
    }
  }
  for (int i = 0; i < r->n; i++) {
    cudaSetDevice(r->dev[i]);
    r->beat.device = r->dev[i];
    const int w = wait_stream(&r->beat, st[i], "nccl all-reduce", err, sizeof err);
    if (w == -1) emit_error(r->dev[i], err);
    if (w) return w;
  }
  return 0;
}

// Counts received elements that are not the sum n(n+1)/2; -2 when a GPU hung.
static long long nccl_verify(struct NcclRun *r, float **recv, size_t count, unsigned long long *d_bad[]) {
  char err[300];
  unsigned long long total = 0;
  const float want = (float)(r->n * (r->n + 1) / 2);
  for (int i = 0; i < r->n; i++) {
    unsigned long long h = 0;
    cudaSetDevice(r->dev[i]);
    cudaMemset(d_bad[i], 0, sizeof h);
    nccl_count_ne<<<1024, 256>>>(recv[i], count, want, d_bad[i]);
    const int w = wait_stream(&r->beat, 0, "nccl check", err, sizeof err);
    if (w == -2) return -2;
    if (w == 0) cudaMemcpy(&h, d_bad[i], sizeof h, cudaMemcpyDeviceToHost);
    total += h;
  }
  return (long long)total;
}

static void *nccl_worker(void *arg) {
  struct NcclRun *r = (struct NcclRun *)arg;
  static ncclComm_t comms[MAX_DEVICES];
  float *send[MAX_DEVICES] = {0}, *recv[MAX_DEVICES] = {0};
  unsigned long long *d_bad[MAX_DEVICES] = {0};
  cudaStream_t st[MAX_DEVICES];
  size_t max_bytes = (size_t)(r->opt->size_mb > 0 ? r->opt->size_mb : 1024) << 20;
  for (int i = 0; i < r->n; i++) {
    size_t free_b = 0, total_b = 0;
    cudaSetDevice(r->dev[i]);
    cudaMemGetInfo(&free_b, &total_b);
    if (max_bytes > free_b / 3) max_bytes = free_b / 3;
  }
  max_bytes &= ~(size_t)((1 << 20) - 1);
  beat(&r->beat, "nccl init");
  const ncclResult_t ie = g_nccl.CommInitAll(comms, r->n, r->dev);
  if (ie) {
    char m[300];
    snprintf(m, sizeof m, "ncclCommInitAll: %s", g_nccl.GetErrorString(ie));
    emit_error(-1, m);
    r->errors++;
    r->beat.done = 1;
    return NULL;
  }
  for (int i = 0; i < r->n; i++) {
    cudaSetDevice(r->dev[i]);
    if (cudaMalloc(&send[i], max_bytes) || cudaMalloc(&recv[i], max_bytes) || cudaMalloc(&d_bad[i], 8) ||
        cudaStreamCreate(&st[i])) {
      emit_error(r->dev[i], "cannot allocate the NCCL buffers");
      r->errors++;
      r->beat.done = 1;
      return NULL;
    }
    nccl_fill<<<1024, 256>>>(send[i], max_bytes / 4, (float)(i + 1));
  }
  beat(&r->beat, "nccl buffers");
  for (size_t bytes = (size_t)8 << 20; bytes <= max_bytes && !g_stop; bytes *= 2) {
    const size_t count = bytes / 4;
    const int iters = bytes >= ((size_t)256 << 20) ? 10 : 20;
    int w = nccl_rounds(r, comms, send, recv, st, count, 2);
    const double t0 = now_s();
    if (w == 0) w = nccl_rounds(r, comms, send, recv, st, count, iters);
    const double dt = (now_s() - t0) / iters;
    if (w == -2) return NULL;  // hung: named; nothing more on these GPUs
    if (w) {
      r->errors++;
      break;
    }
    const long long bad = nccl_verify(r, recv, count, d_bad);
    if (bad == -2) return NULL;
    r->mismatches += (unsigned long long)bad;
    const double algbw = dt > 0 ? (double)bytes / dt / 1e9 : 0;
    emit("{\"event\":\"nccl\",\"op\":\"all_reduce\",\"bytes\":%zu,\"gpus\":%d,\"iterations\":%d,\"time_us\":%.1f,"
         "\"algbw_gbs\":%.2f,\"busbw_gbs\":%.2f,\"errors\":%lld}",
         bytes, r->n, iters, dt * 1e6, algbw, allreduce_busbw(algbw, r->n), bad);
  }
  for (int i = 0; i < r->n; i++) {
    cudaSetDevice(r->dev[i]);
    cudaFree(send[i]);
    cudaFree(recv[i]);
    cudaFree(d_bad[i]);
    g_nccl.CommDestroy(comms[i]);
  }
  r->beat.done = 1;
  return NULL;
}

static int nccl_main(const struct Options *o) {
  static struct NcclRun r;
  char why[300], ver[32];
  r.opt = o;
  r.n = chosen_devices(o, r.dev);
  if (!r.n) return 2;
  if (r.n < 2) return bad_args("--nccl needs at least two GPUs");
  if (!load_nccl(why, sizeof why)) {
    emit_error(-1, why);
    emit("{\"event\":\"end\",\"status\":\"unsupported\",\"exit_code\":2}");
    return 2;
  }
  int code = 0;
  g_nccl.GetVersion(&code);
  emit("{\"event\":\"nccl_start\",\"version\":\"%s\",\"gpus\":%d}", nccl_version_text(code, ver, sizeof ver), r.n);
  r.beat.device = r.dev[0];
  beat(&r.beat, "starting");
  pthread_t th;
  struct Beat *beats[1] = {&r.beat};
  pthread_create(&th, NULL, nccl_worker, &r);
  const int hung = watch_jobs(beats, 1, g_stall_s + 30, 0.2);
  if (!r.beat.hung) pthread_join(th, NULL);
  const int rc = (r.errors || r.mismatches || hung || r.beat.hung || g_stop) ? 1 : 0;
  emit("{\"event\":\"end\",\"status\":\"%s\",\"exit_code\":%d,\"mismatches\":%llu,\"errors\":%d,\"hung\":%d}",
       r.mismatches ? "mismatches" : (r.errors || hung || r.beat.hung) ? "error" : g_stop ? "interrupted" : "ok", rc,
       r.mismatches, r.errors, hung || r.beat.hung);
  fflush(stdout);
  if (hung || r.beat.hung) _exit(rc);
  return rc;
}
