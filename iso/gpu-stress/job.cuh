// bee-gpu-stress, one GPU's job: its options, its figures per format and the result lines it prints.
#pragma once

struct Options {
  double seconds;
  long size_mb;  // 0 = most of the free memory
  int devices[MAX_DEVICES];
  int ndevices;  // 0 = all visible
  char dtypes[MAX_DTYPES][8];
  int ndtypes;  // 0 = auto
  double interval;
  double stall_s;
  int self_test;
  int p2p;
  int memtest;
  int bandwidth;
  int nccl;
  double pulse_on, pulse_off;  // --pulse ON,OFF: load on and off at this period (0: steady load)
};

struct Figures {
  char dtype[8];
  char requested[8];  // the format asked for when the ptx burn ran instead
  char path[12];
  char fallback[300];  // why the ptx burn ran instead of the requested format ("" when it did not)
  char algo[120];      // the cuBLASLt algorithm that ran (candidate and configuration), "" on the ptx path
  double tflops;
  unsigned long long iterations;
  unsigned long long mismatches;
  double seconds;
  // set 0's reference checksum (cuBLASLt path): identical inputs on every GPU, so GPUs of one model, SM
  // count and algorithm must agree on it — the caller compares them across GPUs
  unsigned long long checksum[2];
  int has_checksum;
  // the full check of set 0 against the independent FP64 SIMT product (-1: not run)
  long long ref_elements;
  unsigned long long ref_mismatches;
  double ref_max_ratio;
};

struct DeviceJob {
  int index;  // CUDA ordinal
  const struct Options *opt;
  struct Beat beat;
  char path[12];
  char dtypes[MAX_DTYPES][8];
  int ndtypes;
  struct Figures fig[MAX_DTYPES];
  int errors;
  int could_not_run;
};

#define CUDA_OK(job, call, what)                             \
  do {                                                       \
    cudaError_t e_ = (call);                                 \
    if (e_ != cudaSuccess) {                                 \
      char m_[300];                                          \
      emit_error((job)->index, cuda_failure(m_, sizeof m_, what, e_)); \
      (job)->errors++;                                       \
      goto fail;                                             \
    }                                                        \
  } while (0)

// Waits for stream `s` under the hang watch; on a CUDA error it is counted and reported, on a hang the
// caller jumps to `hung` (no cleanup: the GPU does not answer).
#define WAIT_OK(job, s, what)                                          \
  do {                                                                 \
    char w_[300];                                                      \
    int r_ = wait_stream(&(job)->beat, (s), (what), w_, sizeof w_);    \
    if (r_ == -2) goto hung;                                           \
    if (r_ < 0) {                                                      \
      emit_error((job)->index, w_);                                    \
      (job)->errors++;                                                 \
      goto fail;                                                       \
    }                                                                  \
  } while (0)

// --pulse: whether the load is on at `t` seconds into the run (on for `on`, then off for `off`, repeating).
static inline int pulse_is_on(double t, double on, double off) {
  if (on <= 0) return 1;
  return fmod(t < 0 ? 0 : t, on + off) < on;
}

static double g_pulse_t0 = 0;

// Between batches: in an off window the GPU idles (the thread sleeps, beating) until the next on window. All
// GPUs share the clock, so the whole board's power steps together, which is what the pulse is for.
static void pulse_gate(struct DeviceJob *j) {
  const struct Options *o = j->opt;
  while (!g_stop && !pulse_is_on(now_s() - g_pulse_t0, o->pulse_on, o->pulse_off)) {
    beat(&j->beat, "pulse: load off");
    sleep_s(0.02);
  }
}

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

// A JSON string value or null, always a whole JSON token within `cap` bytes.
static const char *jopt(const char *s, char *out, size_t cap) {
  if (!s || !*s || cap < 8) {
    snprintf(out, cap, "null");
    return out;
  }
  out[0] = '"';
  jstr(s, out + 1, cap - 2);  // at most cap - 3 characters: room for the closing quote and the NUL
  const size_t l = strlen(out);
  out[l] = '"';
  out[l + 1] = 0;
  return out;
}

static void result(struct DeviceJob *j, struct Figures *f) {
  char why[700], algo[200], sum[48] = "null", ref[160] = "";
  if (f->has_checksum) snprintf(sum, sizeof sum, "\"%016llx%016llx\"", f->checksum[0], f->checksum[1]);
  if (f->ref_elements >= 0) {
    snprintf(ref, sizeof ref, ",\"ref_elements\":%lld,\"ref_mismatches\":%llu,\"ref_max_ratio\":%.4g", f->ref_elements,
             f->ref_mismatches, f->ref_max_ratio);
  }
  emit("{\"event\":\"result\",\"device\":%d,\"dtype\":\"%s\",\"requested\":\"%s\",\"path\":\"%s\",\"seconds\":%.1f,"
       "\"tflops\":%.2f,\"iterations\":%llu,\"mismatches\":%llu,\"checksum\":%s,\"algo\":%s%s,\"fallback\":%s}",
       j->index, f->dtype, f->requested, f->path, f->seconds, f->tflops, f->iterations, f->mismatches, sum,
       jopt(f->algo, algo, sizeof algo), ref, jopt(f->fallback, why, sizeof why));
}
