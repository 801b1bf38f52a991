// bee-gpu-stress, the hang watch: a GPU that stops making progress is named and left behind.
//
// Each device thread beats (`beat`) whenever its GPU finished something; it never blocks in
// cudaStreamSynchronize but polls an event under a deadline (`wait_stream`). A thread that finds its
// GPU silent for --stall-seconds reports it and leaves without touching the GPU again. The main thread
// watches the beats too (`watch_jobs`), for a thread stuck inside a CUDA call, and never joins a hung
// thread: the program ends with its end line and _exit() while the stuck thread is still inside CUDA.
#pragma once

struct Beat {
  volatile double at;       // now_s() of the last progress
  volatile int done;        // the thread finished normally
  volatile int hung;        // reported hung (by the thread or the watch), never waited for again
  int device;               // CUDA ordinal, for the error line
  const char *volatile phase;  // what it was doing at the last beat (a string literal)
};

static double g_stall_s = 60;

static void beat(struct Beat *b, const char *phase) {
  b->at = now_s();
  b->phase = phase;
}

// Marks `b` hung and reports it once (whoever sees it first: the device thread or the watch).
static void report_hung(struct Beat *b, double silent_s, const char *where) {
  if (!__sync_bool_compare_and_swap(&b->hung, 0, 1)) return;
  char m[300];
  snprintf(m, sizeof m, "GPU %d hung: no progress for %.0f s (%s%s%s); not waited for", b->device, silent_s,
           b->phase ? b->phase : "?", where ? ", " : "", where ? where : "");
  emit_error(b->device, m);
}

// Waits for everything queued on `s` so far: polls an event (never a blocking synchronise) for at most
// g_stall_s seconds. 0: done (and a beat); -1: CUDA reported an error (message in `err`); -2: the GPU is
// hung — reported, and the caller must leave without another CUDA call on this device.
static int wait_stream(struct Beat *b, cudaStream_t s, const char *phase, char *err, size_t cap) {
  cudaEvent_t ev;
  cudaError_t e = cudaEventCreateWithFlags(&ev, cudaEventDisableTiming);
  if (e == cudaSuccess) e = cudaEventRecord(ev, s);
  if (e != cudaSuccess) {
    cuda_failure(err, cap, phase, e);
    return -1;
  }
  const double start = now_s();
  double pause = 20e-6;
  for (;;) {
    e = cudaEventQuery(ev);
    if (e == cudaSuccess) break;
    if (e != cudaErrorNotReady) {
      cudaEventDestroy(ev);
      cuda_failure(err, cap, phase, e);
      return -1;
    }
    if (b->hung) return -2;  // the watch already named it
    const double silent = now_s() - start;
    if (silent > g_stall_s) {
      report_hung(b, silent, phase);
      return -2;
    }
    sleep_s(pause);
    if (pause < 2e-3) pause *= 2;
  }
  cudaEventDestroy(ev);
  beat(b, phase);
  return 0;
}

// Waits until every job is done or hung; a job silent for `limit_s` is reported hung. Returns how many
// are hung. Backstop for a thread stuck inside a CUDA call, where wait_stream cannot see the clock.
static int watch_jobs(struct Beat **b, int n, double limit_s, double poll_s) {
  for (;;) {
    int pending = 0;
    const double now = now_s();
    for (int i = 0; i < n; i++) {
      if (b[i]->done || b[i]->hung) continue;
      if (now - b[i]->at > limit_s) report_hung(b[i], now - b[i]->at, "stuck in a CUDA call");
      else pending++;
    }
    if (!pending) break;
    sleep_s(poll_s);
  }
  int hung = 0;
  for (int i = 0; i < n; i++) hung += b[i]->hung ? 1 : 0;
  return hung;
}
