#!/bin/sh
# ONE command on a GPU machine with PyTorch's CUDA wheels: build bee-gpu-stress against the cuBLASLt
# headers those wheels ship, run it 60 s with --dtypes auto, then time the same GEMM shape with
# PyTorch (bf16/fp16 torch.matmul, fp8 torch._scaled_mm when present) and print both.
#   sh iso/gpu-stress/bench_vs_torch.sh [seconds]
set -eu
cd "$(dirname "$0")"
secs=${1:-60}
py=${PYTHON:-python3}
inc=$($py -c 'import nvidia.cublas, os; print(os.path.join(list(nvidia.cublas.__path__)[0], "include"))')
lib=$($py -c 'import nvidia.cublas, os; print(os.path.join(list(nvidia.cublas.__path__)[0], "lib"))')
make -s CUBLASLT_INCLUDE="$inc" OUT=bee-gpu-stress
LD_LIBRARY_PATH="$lib:${LD_LIBRARY_PATH:-}" ./bee-gpu-stress --seconds "$secs" --dtypes auto --interval 10 | tee /tmp/bee-gpu-stress.jsonl |
  grep '"event":"\(start\|result\|end\|error\)"'
$py - <<'PY'
import time, torch
n = 8192
def bench(f, iters=50):
    f(); torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(iters): f()
    torch.cuda.synchronize()
    return 2 * n**3 * iters / (time.perf_counter() - t) / 1e12
print("torch", torch.__version__, torch.cuda.get_device_name(0))
for name, dt in (("fp16", torch.float16), ("bf16", torch.bfloat16)):
    a = torch.randn(n, n, device="cuda", dtype=dt); b = torch.randn(n, n, device="cuda", dtype=dt)
    print(f"torch {name}: {bench(lambda: a @ b):.1f} TFLOPS")
torch.backends.cuda.matmul.allow_tf32 = True
a = torch.randn(n, n, device="cuda"); b = torch.randn(n, n, device="cuda")
print(f"torch tf32: {bench(lambda: a @ b):.1f} TFLOPS")
if hasattr(torch, "_scaled_mm") and torch.cuda.get_device_capability(0) >= (8, 9):
    a = torch.randn(n, n, device="cuda").to(torch.float8_e4m3fn)
    b = torch.randn(n, n, device="cuda").to(torch.float8_e4m3fn).t()
    one = torch.tensor(1.0, device="cuda")
    print(f"torch fp8 (_scaled_mm): {bench(lambda: torch._scaled_mm(a, b, scale_a=one, scale_b=one, out_dtype=torch.bfloat16)):.1f} TFLOPS")
PY
