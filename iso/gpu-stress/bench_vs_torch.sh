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
export LD_LIBRARY_PATH="$lib:${LD_LIBRARY_PATH:-}"
./bee-gpu-stress --self-test
./bee-gpu-stress --seconds "$secs" --dtypes auto --interval 10 | tee /tmp/bee-gpu-stress.jsonl |
  grep '"event":"\(start\|result\|end\|error\)"' || true
# memory checker on a short run (the issue asks for it clean), when the toolkit has it
san=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -n 1 || true)
if [ -n "$san" ]; then
  "$san" --tool memcheck --leak-check full ./bee-gpu-stress --seconds 8 --size-mb 2048 --dtypes auto --interval 4 \
    2>&1 | grep -E '"event":"(result|end)"|ERROR SUMMARY|LEAK SUMMARY' || true
else
  echo "compute-sanitizer: not installed here"
fi
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
if torch.cuda.get_device_capability(0) >= (10, 0):
    # NVFP4: E2M1 pairs with 16-element UE4M3 block scales (uniform here, so their tiled layout is moot)
    try:
        a = torch.randint(0, 256, (n, n // 2), device="cuda", dtype=torch.uint8).view(torch.float4_e2m1fn_x2)
        b = torch.randint(0, 256, (n, n // 2), device="cuda", dtype=torch.uint8).view(torch.float4_e2m1fn_x2).t()
        s = torch.full((n * (n // 16),), 1.0, device="cuda").to(torch.float8_e4m3fn)
        print(f"torch fp4 (_scaled_mm nvfp4): {bench(lambda: torch._scaled_mm(a, b, scale_a=s, scale_b=s, out_dtype=torch.bfloat16)):.1f} TFLOPS")
    except Exception as e:  # the API moved between releases: say so instead of failing the benchmark
        print(f"torch fp4: not measured ({type(e).__name__}: {str(e)[:160]})")
PY
