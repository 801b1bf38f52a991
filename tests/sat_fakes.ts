// Fake NVIDIA tools for the SAT flow tests: nvidia-smi (GPU list, -q before/after, metrics poller),
// bee-gpu-stress in each behaviour the judge must handle, dmesg before/after, nvidia-bug-report.sh.
import { FIX, writeFakeTool } from "../testkit/helpers.ts";

export type StressMode =
  | "clean"
  | "mismatch"
  | "lying"
  | "crash"
  | "hang"
  | "nogpu"
  | "notready"
  | "slow"
  | "p2pslow"
  | "p2pcorrupt"
  | "outlier"
  | "memerr"
  | "x8bw"
  | "ncclbad"
  | "nonccl"
  | "pulselost";

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A fake bee-gpu-stress speaking the JSON-lines contract for each CUDA-visible device. */
export function fakeStress(dir: string, mode: StressMode): void {
  const mismatches = mode === "mismatch" || mode === "lying" ? 5 : 0;
  const exit = mode === "mismatch" ? 1 : 0;
  const script = `#!/bin/sh
echo "$* | CUDA_VISIBLE_DEVICES=\${CUDA_VISIBLE_DEVICES:-} | CUDA_DEVICE_ORDER=\${CUDA_DEVICE_ORDER:-}" >> ${
    shq(`${dir}/bee-gpu-stress.calls`)
  }
echo $$ > ${shq(`${dir}/bee-gpu-stress.pid`)}
if [ ${shq(mode)} = notready ]; then
  echo '{"event":"error","device":null,"message":"no usable NVIDIA GPU: system not yet initialized (cudaErrorSystemNotReady)"}'
  echo '{"event":"end","status":"error","exit_code":2}'
  exit 2
fi
if [ ${shq(mode)} = nogpu ]; then
  echo '{"event":"error","device":null,"message":"no CUDA-capable device is detected"}'
  echo '{"event":"end","status":"error","exit_code":2}'
  exit 2
fi
p2p=0; case "$*" in *--p2p*) p2p=1 ;; esac
mt=0; case "$*" in *--memtest*) mt=1 ;; esac
bw=0; case "$*" in *--bandwidth*) bw=1 ;; esac
nc=0; case "$*" in *--nccl*) nc=1 ;; esac
pl=0; case "$*" in *--pulse*) pl=1 ;; esac
IFS=,; set -- $CUDA_VISIBLE_DEVICES; unset IFS; n=$#
if [ $mt = 1 ]; then
  # memerr: GPU 1 reads back 7 wrong words
  i=0; bad=0
  while [ $i -lt $n ]; do
    e=0; f=-1; l=-1
    if [ ${shq(mode)} = memerr ] && [ $i = 1 ]; then e=7; f=4096; l=1048580; bad=7; fi
    printf '{"event":"memtest","device":%d,"pattern":"walking_ones","bytes":45000000000,"errors":%d,"first_error_offset":%d,"gbps":610.2}\n' $i $e $f
    printf '{"event":"memtest_result","device":%d,"pci_bus_id":"00000000:%02X:00.0","bytes":45000000000,"free_bytes":48900000000,"coverage":0.920,"passes":8,"errors":%d,"first_error_offset":%d,"last_error_offset":%d,"seconds":60.1}\n' $i $((0x4F + i)) $e $f $l
    i=$((i+1))
  done
  if [ $bad != 0 ]; then echo '{"event":"end","status":"mismatches","exit_code":1,"mismatches":7,"errors":0,"hung":0}'; exit 1; fi
  echo '{"event":"end","status":"ok","exit_code":0,"mismatches":0,"errors":0,"hung":0}'
  exit 0
fi
if [ $pl = 1 ]; then
  if [ ${shq(mode)} = pulselost ]; then
    echo '{"event":"start","device":0,"name":"NVIDIA RTX A6000","compute_capability":"8.6","dtypes":["bf16"],"path":"cublaslt"}'
    echo '{"event":"result","device":0,"dtype":"bf16","tflops":75.1,"iterations":90,"mismatches":0}'
    echo '{"event":"error","device":1,"message":"GPU 1 hung: no progress for 61 s (GEMM batch); not waited for"}'
    echo '{"event":"end","status":"error","exit_code":1,"mismatches":0,"errors":0,"hung":1}'
    exit 1
  fi
fi
if [ $nc = 1 ]; then
  if [ ${shq(mode)} = nonccl ]; then
    echo '{"event":"error","device":null,"message":"libnccl.so.2 not found (libnccl.so.2: cannot open shared object file)"}'
    echo '{"event":"end","status":"unsupported","exit_code":2}'
    exit 2
  fi
  echo "{\"event\":\"nccl_start\",\"version\":\"2.22.3\",\"gpus\":$n}"
  b=8388608; e=0
  while [ $b -le 1073741824 ]; do
    if [ ${shq(mode)} = ncclbad ] && [ $b = 1073741824 ]; then e=12; fi
    printf '{"event":"nccl","op":"all_reduce","bytes":%d,"gpus":%d,"iterations":10,"time_us":100.0,"algbw_gbs":14.20,"busbw_gbs":18.93,"errors":%d}\n' $b $n $e
    b=$((b * 2))
  done
  if [ $e != 0 ]; then echo '{"event":"end","status":"mismatches","exit_code":1,"mismatches":12,"errors":0,"hung":0}'; exit 1; fi
  echo '{"event":"end","status":"ok","exit_code":0,"mismatches":0,"errors":0,"hung":0}'
  exit 0
fi
if [ $bw = 1 ]; then
  # x8bw: GPU 2's host copies at 9.5 GB/s (a Gen4 link trained to x8 would give ~12 at most)
  i=0
  while [ $i -lt $n ]; do
    h=24.5; d=25.1
    if [ ${shq(mode)} = x8bw ] && [ $i = 2 ]; then h=9.5; d=9.8; fi
    printf '{"event":"bandwidth","device":%d,"figure":"hbm_copy_tbs","value":0.701,"unit":"TB/s"}\n' $i
    printf '{"event":"bandwidth","device":%d,"figure":"hbm_triad_tbs","value":0.712,"unit":"TB/s"}\n' $i
    printf '{"event":"bandwidth","device":%d,"figure":"h2d_gbs","value":%s,"unit":"GB/s"}\n' $i $h
    printf '{"event":"bandwidth","device":%d,"figure":"d2h_gbs","value":%s,"unit":"GB/s"}\n' $i $d
    i=$((i+1))
  done
  echo '{"event":"end","status":"ok","exit_code":0,"errors":0,"hung":0}'
  exit 0
fi
if [ $p2p = 1 ]; then
  # every ordered pair at 21.5 GB/s with peer access; p2pslow: 0 -> 2 at 3.1 GB/s; p2pcorrupt: 1 -> 0 corrupted
  a=0
  while [ $a -lt $n ]; do
    b=0
    while [ $b -lt $n ]; do
      if [ $a != $b ]; then
        g=21.5; ok=true
        if [ ${shq(mode)} = p2pslow ] && [ $a = 0 ] && [ $b = 2 ]; then g=3.1; fi
        if [ ${shq(mode)} = p2pcorrupt ] && [ $a = 1 ] && [ $b = 0 ]; then ok=false; fi
        printf '{"event":"p2p","src":%d,"dst":%d,"peer_access":true,"gbps":%s,"bytes":268435456,"iterations":40,"checksum_ok":%s}\n' $a $b $g $ok
        if [ $a -lt $b ]; then printf '{"event":"p2p_bidir","a":%d,"b":%d,"gbps":40.0}\n' $a $b; fi
      fi
      b=$((b+1))
    done
    a=$((a+1))
  done
  if [ ${
    shq(mode)
  } = p2pcorrupt ]; then echo '{"event":"end","status":"mismatches","exit_code":1}'; exit 1; fi
  echo '{"event":"end","status":"ok","exit_code":0}'
  exit 0
fi
i=0
while [ $i -lt $n ]; do
  printf '{"event":"start","device":%d,"name":"NVIDIA RTX A6000","compute_capability":"8.6","dtypes":["fp16","bf16","tf32"],"path":"cublaslt"}\\n' $i
  i=$((i+1))
done
case ${shq(mode)} in
  hang) /bin/sleep 987 & /bin/sleep 988; wait; exit 0 ;;
  crash) kill -SEGV $$ ;;
  slow) /bin/sleep 8 ;;
esac
/bin/sleep 1
i=0
while [ $i -lt $n ]; do
  for dt in fp16 bf16 tf32; do
    m=0; if [ $i = 1 ] && [ $dt = bf16 ]; then m=${mismatches}; fi
    printf '{"event":"progress","device":%d,"dtype":"%s","tflops":150.5,"iterations":100,"mismatches":%d}\\n' $i $dt $m
    t=151.25; if [ ${shq(mode)} = outlier ] && [ $i = 2 ] && [ $dt = bf16 ]; then t=120.5; fi
    printf '{"event":"result","device":%d,"dtype":"%s","tflops":%s,"iterations":200,"mismatches":%d}\\n' $i $dt $t $m
  done
  i=$((i+1))
done
printf '{"event":"end","status":"%s","exit_code":%d}\\n' ${exit ? "mismatches" : "ok"} ${exit}
exit ${exit}
`;
  Deno.writeTextFileSync(`${dir}/bee-gpu-stress`, script, { mode: 0o755 });
}

/** A script body answering `before` on its first call and `after` on later ones. */
function beforeAfter(dir: string, tag: string, before: string, after: string): string {
  const flag = shq(`${dir}/${tag}.seen`);
  return `if [ -f ${flag} ]; then /bin/cat ${shq(`${FIX}/${after}`)}; else : > ${flag}; /bin/cat ${
    shq(`${FIX}/${before}`)
  }; fi`;
}

export interface NvidiaFakes {
  qAfter?: string;
  dmesgAfter?: string;
  metrics?: string;
  bugReport?: boolean;
}

/** The jobs of `bee sat nvidia`, in order, as the tests expect them (written out here, not taken from the plan). */
export const NVIDIA_JOBS = [
  "nvidia_smi_q",
  "gpu_stress",
  "gpu_memtest",
  "gpu_bandwidth",
  "gpu_p2p",
  "gpu_nccl",
  "gpu_pulse",
  "gpu_health",
  "gpu_xid",
  "nvidia_bug_report",
];

export const GPU_LIST = "0, NVIDIA RTX A6000, 49140, 00000000:4F:00.0\n" +
  "1, NVIDIA RTX A6000, 49140, 00000000:52:00.0\n" +
  "2, NVIDIA RTX A6000, 49140, 00000000:53:00.0\n";

/** nvidia-smi, dmesg and nvidia-bug-report.sh fakes for a 3× RTX A6000 machine. */
export function nvidiaFakes(dir: string, o: NvidiaFakes = {}): void {
  const q = "nvidia_smi/ampere__rtx-a6000-x9-first3__550.127.05.txt";
  writeFakeTool(dir, "nvidia-smi", [
    { args: "--query-gpu=index,name,memory.total,pci.bus_id --format=csv,noheader,nounits", text: GPU_LIST },
    { args: "--help-query-gpu", text: '"clocks_event_reasons.active"\n"clocks_event_reasons.hw_slowdown"\n' },
    {
      args: "--query-gpu=timestamp,*-l 1 -i *",
      file: o.metrics ?? "nvidia_smi_query/handmade-a6000x3-metrics.csv",
      script: "/bin/sleep 986 & wait",
    },
    { args: "-q", script: beforeAfter(dir, "q", q, o.qAfter ?? q) },
  ]);
  const d = "dmesg/firecracker-devvm.txt";
  writeFakeTool(dir, "dmesg", [{ args: "*", script: beforeAfter(dir, "dmesg", d, o.dmesgAfter ?? d) }]);
  if (o.bugReport !== false) {
    writeFakeTool(dir, "nvidia-bug-report.sh", [
      { args: "--output-file *", script: 'printf "nvidia-bug-report fake\\n" > "$2.gz"' },
    ]);
  }
}
