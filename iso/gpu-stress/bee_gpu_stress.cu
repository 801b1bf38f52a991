// bee-gpu-stress: loads every visible NVIDIA GPU with tensor-core GEMMs (cuBLASLt, loaded at run
// time) or, without cuBLASLt, an FMA burn kernel, and counts wrong results. Output: JSON lines on
// stdout (start, progress, result, error, end). Exit 0 clean, 1 errors or mismatches, 2 could not run.
//
// Correctness, three ways: inputs are deterministic; each buffer set's first output gives a reference
// checksum and every later iteration's checksum must equal it bit for bit (same algorithm, no atomics in
// the reduction). Every output of set 0 is checked against an independent FP64 product on the CUDA cores
// (check.cuh), with a tolerance derived from each format's rounding, and two elements of every later set
// against FP64 on the host. The result line carries set 0's checksum and the algorithm that made it: GPUs
// of one model, SM count and algorithm get identical inputs, so bee compares them and fails the odd one.
//
// A GPU that stops answering is named (watch.cuh): the host never blocks in a synchronise, and the
// program ends without waiting for a hung GPU's thread.
//
// Formats: fp16 (sm_75+), bf16, tf32 (sm_80+), fp8 E4M3 with per-tensor scale pointers (sm_89+), and fp4
// E2M1 with 16-element UE4M3 block scales (NVFP4, sm_100+, cuBLASLt 12.8+). The block-scaling constants
// are defined here (checked against the headers when they know them), so the program builds against older
// cuBLASLt headers and decides at run time from cublasLtGetVersion() whether fp4 is offered.
//
// Files: common.cuh (output, data, checksums), watch.cuh (hang watch), job.cuh (per-GPU figures and
// result lines), check.cuh (formats, tolerances, reference check), ptx.cuh (the FMA burn), lt.cuh and
// lt_run.cuh (cuBLASLt), p2p.cuh (--p2p), mem.cuh (--memtest, --bandwidth), nccl.cuh (--nccl),
// selftest.cuh (--self-test);
// one translation unit.
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
#include <unistd.h>
#include <cuda_fp8.h>
#if defined(BEE_HAVE_CUBLASLT)
#include <cublasLt.h>
#endif

#if __has_include(<cuda_fp4.h>)
#include <cuda_fp4.h>
#define BEE_HAVE_FP4_HEADER 1
#endif

#include "common.cuh"
#include "watch.cuh"
#include "job.cuh"
#include "check.cuh"

// ---------------------------------------------------------------- options
static void usage(FILE *f) {
  fprintf(f,
          "usage: bee-gpu-stress --seconds N [--size-mb M] [--devices 0,1] [--dtypes auto|fp16,bf16,tf32,fp8,fp4,ptx]\n"
          "                      [--interval S] [--stall-seconds S] [--pulse ON,OFF]\n"
          "       bee-gpu-stress --p2p [--devices 0,1,…] [--size-mb M]   (copy bandwidth of every GPU pair)\n"
          "       bee-gpu-stress --memtest [--seconds N] [--devices …] [--size-mb M]   (patterns over ≥ 90 %% of free memory)\n"
          "       bee-gpu-stress --bandwidth [--devices …]   (HBM STREAM copy/triad, pinned host<->device copies)\n"
          "       bee-gpu-stress --nccl [--devices …] [--size-mb M]   (NCCL all-reduce, libnccl.so.2 loaded at run time)\n"
          "       bee-gpu-stress --self-test   (host-side checks of the number formats; no GPU needed)\n"
          "Defaults: BEE_GPU_STRESS_SECONDS, BEE_GPU_STRESS_SIZE_MB (else most of each GPU's free memory).\n"
          "stdout: JSON lines (start, progress, result, error, end). Exit 0 clean, 1 errors or mismatches,\n"
          "2 could not run. A GPU silent for --stall-seconds (default 60) is reported hung and not waited for.\n");
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
  o->stall_s = 60;
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
    if (!strcmp(a, "--memtest")) {
      o->memtest = 1;
      continue;
    }
    if (!strcmp(a, "--bandwidth")) {
      o->bandwidth = 1;
      continue;
    }
    if (!strcmp(a, "--nccl")) {
      o->nccl = 1;
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
    } else if (!strcmp(a, "--pulse")) {
      char buf[64];
      snprintf(buf, sizeof buf, "%s", val);
      char *comma = strchr(buf, ',');
      double on, off;
      if (!comma) return bad_args("--pulse needs ON,OFF seconds, e.g. 2,2");
      *comma = 0;
      if (!parse_number(buf, &on) || !parse_number(comma + 1, &off) || on < 0.1 || off < 0.1 || on > 600 || off > 600) {
        return bad_args("--pulse needs ON,OFF seconds between 0.1 and 600, e.g. 2,2");
      }
      o->pulse_on = on;
      o->pulse_off = off;
    } else if (!strcmp(a, "--stall-seconds")) {
      if (!parse_number(val, &v) || v < 1 || v > 3600) return bad_args("--stall-seconds needs seconds between 1 and 3600");
      o->stall_s = v;
    } else if (!strcmp(a, "--devices")) {
      char buf[256];
      snprintf(buf, sizeof buf, "%s", val);
      for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        if (!parse_number(t, &v) || v < 0 || v != (int)v || o->ndevices >= MAX_DEVICES) return bad_args("--devices needs indices like 0,1");
        for (int k = 0; k < o->ndevices; k++) {
          if (o->devices[k] == (int)v) {
            char m[80];
            snprintf(m, sizeof m, "--devices lists GPU %d twice (one thread per GPU)", (int)v);
            return bad_args(m);
          }
        }
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
  if (o->p2p + o->memtest + o->bandwidth + o->nccl > 1) {
    return bad_args("--p2p, --memtest, --bandwidth and --nccl are separate runs");
  }
  if (o->seconds <= 0 && !o->self_test && !o->p2p && !o->memtest && !o->bandwidth && !o->nccl) {
    return bad_args("--seconds is required (or BEE_GPU_STRESS_SECONDS)");
  }
  return 0;
}


#include "ptx.cuh"
#include "lt.cuh"
#include "p2p.cuh"
#include "mem.cuh"
#include "nccl.cuh"

static int g_have_lt = 0;
static char g_lt_why[300] = "built without cuBLASLt headers (the ptx-only program)";

// Formats the tensor cores of compute capability `cc` (major*10+minor) really use: fp16 from Turing
// (sm_75: T4), bf16 and tf32 from Ampere, fp8 from Ada/Hopper, fp4 from Blackwell.
static int auto_dtypes(int cc, int have_lt, char out[MAX_DTYPES][8]) {
  int n = 0;
  if (!have_lt || cc < 75) {
    snprintf(out[n++], 8, "ptx");
    return n;
  }
  snprintf(out[n++], 8, "fp16");
  if (cc >= 80) {
    snprintf(out[n++], 8, "bf16");
    snprintf(out[n++], 8, "tf32");
  }
  if (cc >= 89) snprintf(out[n++], 8, "fp8");
  if (cc >= 100) snprintf(out[n++], 8, "fp4");
  return n;
}

#include "selftest.cuh"

// One format on one GPU: cuBLASLt where it is offered, else the ptx burn with the reason. -2: hung.
static int run_format(struct DeviceJob *j, struct Figures *f, double per, size_t budget) {
  int done = 0;
#if defined(BEE_HAVE_CUBLASLT)
  if (strcmp(f->dtype, "ptx") != 0) {
    if (g_have_lt) done = run_lt(j, f, per, budget, f->fallback, sizeof f->fallback);
    else snprintf(f->fallback, sizeof f->fallback, "%s", g_lt_why);
    if (done == -2) return -2;
    // not offered here: the result line says ptx ran for the requested format, and why
    if (!done) fprintf(stderr, "bee-gpu-stress: GPU %d: %s; ptx burn instead\n", j->index, f->fallback);
  }
#else
  (void)budget;
  if (strcmp(f->dtype, "ptx") != 0) snprintf(f->fallback, sizeof f->fallback, "%s", g_lt_why);
#endif
  if (!done) {
    snprintf(f->dtype, sizeof f->dtype, "ptx");
    snprintf(f->path, sizeof f->path, "ptx");
    f->algo[0] = 0;
    if (run_ptx(j, f, per) == -2) return -2;
  }
  return 0;
}

static void *device_main(void *arg) {
  struct DeviceJob *j = (struct DeviceJob *)arg;
  struct cudaDeviceProp p;
  char name[300], dl[128] = "", bus[32], m[300];
  size_t free_b = 0, total_b = 0, budget;
  cudaError_t e = cudaSetDevice(j->index);
  if (e == cudaSuccess) e = cudaGetDeviceProperties(&p, j->index);
  if (e == cudaSuccess) e = cudaMemGetInfo(&free_b, &total_b);
  if (e != cudaSuccess) {
    emit_error(j->index, cuda_failure(m, sizeof m, "cannot open the device", e));
    j->could_not_run = 1;
    j->beat.done = 1;
    return NULL;
  }
  beat(&j->beat, "opened");
  int cc = p.major * 10 + p.minor;
  char ltv[32] = "null";
  if (g_have_lt) {
    snprintf(ltv, sizeof ltv, "\"%zu.%zu.%zu\"", g_lt_version / 10000, g_lt_version / 100 % 100, g_lt_version % 100);
  }
  if (j->opt->ndtypes) {
    j->ndtypes = j->opt->ndtypes;
    memcpy(j->dtypes, j->opt->dtypes, sizeof j->dtypes);
  } else {
    j->ndtypes = auto_dtypes(cc, g_have_lt, j->dtypes);
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
  emit("{\"event\":\"start\",\"device\":%d,\"name\":\"%s\",\"pci_bus_id\":\"%s\",\"compute_capability\":\"%d.%d\","
       "\"sms\":%d,\"memory_mb\":%zu,\"size_mb\":%zu,\"dtypes\":[%s],\"path\":\"%s\",\"cublaslt_version\":%s}",
       j->index, jstr(p.name, name, sizeof name), format_bus_id(bus, sizeof bus, p.pciDomainID, p.pciBusID, p.pciDeviceID),
       p.major, p.minor, p.multiProcessorCount, total_b >> 20, budget >> 20, dl, j->path, ltv);
  double per = j->opt->seconds / j->ndtypes;
  for (int k = 0; k < j->ndtypes && !g_stop; k++) {
    struct Figures *f = &j->fig[k];
    snprintf(f->dtype, sizeof f->dtype, "%s", j->dtypes[k]);
    snprintf(f->requested, sizeof f->requested, "%s", j->dtypes[k]);
    snprintf(f->path, sizeof f->path, "cublaslt");
    f->ref_elements = -1;
    if (run_format(j, f, per, budget) == -2) return NULL;  // hung: reported; no result, no cleanup
    result(j, f);
  }
  j->beat.done = 1;
  return NULL;
}

// Runs one thread per GPU and waits for each to finish or be named hung. Fills the totals.
static int run_devices(struct DeviceJob *jobs, int n, unsigned long long *mismatches, int *errors, int *unable) {
  pthread_t th[MAX_DEVICES];
  struct Beat *beats[MAX_DEVICES];
  for (int i = 0; i < n; i++) {
    jobs[i].beat.device = jobs[i].index;
    beat(&jobs[i].beat, "starting");
    beats[i] = &jobs[i].beat;
    pthread_create(&th[i], NULL, device_main, &jobs[i]);
  }
  // the device threads name their own hangs after --stall-seconds; this catches a thread stuck inside a
  // CUDA call a little later
  const int hung = watch_jobs(beats, n, g_stall_s + 30, 0.2);
  for (int i = 0; i < n; i++) {
    if (jobs[i].beat.hung) continue;  // never joined: it may never return
    pthread_join(th[i], NULL);
    for (int k = 0; k < jobs[i].ndtypes; k++) *mismatches += jobs[i].fig[k].mismatches;
    *errors += jobs[i].errors > 0 ? jobs[i].errors : 0;
    *unable += jobs[i].could_not_run;
  }
  return hung;
}

int main(int argc, char **argv) {
  struct Options opt;
  setvbuf(stdout, NULL, _IOLBF, 0);
  int rc = parse_args(argc, argv, &opt);
  if (rc) return rc;
  g_stall_s = opt.stall_s;
  g_pulse_t0 = now_s();
  if (opt.self_test) return self_test();
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  if (opt.p2p) return p2p_main(&opt);
  if (opt.memtest) return memtest_main(&opt);
  if (opt.bandwidth) return bandwidth_main(&opt);
  if (opt.nccl) return nccl_main(&opt);
#if defined(BEE_HAVE_CUBLASLT)
  g_have_lt = load_cublaslt(g_lt_why, sizeof g_lt_why);
  if (!g_have_lt) fprintf(stderr, "bee-gpu-stress: %s; the ptx burn runs instead (start lines say path ptx)\n", g_lt_why);
#endif
  const int count = visible_gpus();
  if (!count) return 2;
  static struct DeviceJob jobs[MAX_DEVICES];
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
  for (int i = 0; i < n; i++) jobs[i].opt = &opt;
  unsigned long long mismatches = 0;
  int errors = 0, unable = 0;
  const int hung = run_devices(jobs, n, &mismatches, &errors, &unable);
  // stopped early by SIGTERM/SIGINT: a clean end line, but not a pass (exit 1, status interrupted)
  const char *status = unable == n ? "error"
                       : mismatches ? "mismatches"
                       : (errors || unable || hung) ? "error"
                       : g_stop ? "interrupted"
                       : "ok";
  rc = unable == n ? 2 : (mismatches || errors || unable || hung || g_stop) ? 1 : 0;
  emit("{\"event\":\"end\",\"status\":\"%s\",\"exit_code\":%d,\"mismatches\":%llu,\"errors\":%d,\"hung\":%d}", status,
       rc, mismatches, errors, hung);
  if (hung) {
    // a hung GPU's thread is still inside CUDA: leave without the runtime's teardown, which would wait for it
    fflush(stdout);
    _exit(rc);
  }
  return rc;
}
