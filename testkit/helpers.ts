// Shared by the tests and the tasks (benchmarks, captures): a fake tool writer, the real bee launcher runner,
// bee web starter and fixture readers. Kept outside tests/ so tasks never import from the test suite.
// Test helpers: fixture reading, fake tools on PATH, machine roots replayed from captures, and a
// runner for the real `bin/bee` launcher.
import type { PciDevice } from "../bee/model/schema.ts";

export const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
export const FIX = `${REPO}/tests/fixtures`;

/** Text of a fixture file (path relative to tests/fixtures). */
export function fixture(rel: string): string {
  return Deno.readTextFileSync(`${FIX}/${rel}`);
}

/** One behaviour of a fake tool, chosen when its `args` pattern (a shell `case` glob) matches "$*". */
export interface FakeCase {
  args: string;
  /** fixture path (relative to tests/fixtures) to print */
  file?: string;
  /** literal text to print */
  text?: string;
  /** text printed on stderr */
  stderr?: string;
  exit?: number;
  /** seconds to sleep before answering */
  sleep?: number;
  /** raw shell run after the output (e.g. `exec /bin/sleep 600` to stay alive) */
  script?: string;
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Writes a fake tool script into `dir`; it logs its arguments and environment to `dir/<tool>.calls`. */
export function writeFakeTool(dir: string, tool: string, cases: FakeCase[]): void {
  const lines = [
    "#!/bin/sh",
    `echo "$* | CUDA_VISIBLE_DEVICES=\${CUDA_VISIBLE_DEVICES:-}" >> ${shq(`${dir}/${tool}.calls`)}`,
    'case "$*" in',
  ];
  for (const c of cases) {
    const body: string[] = [];
    if (c.sleep) body.push(`/bin/sleep ${c.sleep}`);
    if (c.file) body.push(`/bin/cat ${shq(`${FIX}/${c.file}`)}`);
    if (c.text !== undefined) body.push(`printf '%s' ${shq(c.text)}`);
    if (c.stderr) body.push(`printf '%s\\n' ${shq(c.stderr)} >&2`);
    if (c.script) body.push(c.script);
    body.push(`exit ${c.exit ?? 0}`);
    const pattern = c.args.split("*").map((part) => (part ? shq(part) : "")).join("*");
    lines.push(`  ${pattern}) ${body.join("; ")} ;;`);
  }
  lines.push(`  *) echo "fake ${tool}: unexpected arguments: $*" >&2; exit 64 ;;`, "esac", "");
  Deno.writeTextFileSync(`${dir}/${tool}`, lines.join("\n"), { mode: 0o755 });
}

/** A fresh PATH directory holding only fakes (plus the few utilities the launcher itself uses). */
export function fakeBin(): string {
  const dir = Deno.makeTempDirSync({ prefix: "bee-fakebin-" });
  for (const u of ["readlink", "dirname"]) Deno.symlinkSync(`/usr/bin/${u}`, `${dir}/${u}`);
  return dir;
}

/** The qemu-devbox fake tools: every command answers with its real captured output. */
export function qemuDevboxTools(dir: string, overrides: Record<string, FakeCase[]> = {}): void {
  const tools: Record<string, FakeCase[]> = {
    dmidecode: [
      { args: "-t 0,1,2", file: "dmidecode/qemu-devbox-t0-1-2.txt" },
      { args: "-t 4", file: "dmidecode/qemu-devbox-t4.txt" },
      { args: "-t 17", file: "dmidecode/qemu-devbox-t17.txt" },
    ],
    lsblk: [{ args: "-J -b -d -o *", file: "lsblk/qemu-devbox-J-O.txt" }],
    smartctl: [
      { args: "-j -a /dev/sda", file: "smartctl/qemu-devbox-a-sda.json" },
      { args: "-j -a /dev/nvme0", file: "smartctl/qemu-devbox-a-nvme0.json" },
      { args: "-j -a /dev/nvme1", file: "smartctl/qemu-devbox-a-nvme1.json" },
    ],
    nvme: [
      { args: "id-ctrl /dev/nvme0 -o json", file: "nvme/qemu-devbox-id-ctrl-nvme0.json" },
      { args: "id-ctrl /dev/nvme1 -o json", file: "nvme/qemu-devbox-id-ctrl-nvme1.json" },
      { args: "smart-log /dev/nvme0 -o json", file: "nvme/qemu-devbox-smart-log-nvme0.json" },
      { args: "smart-log /dev/nvme1 -o json", file: "nvme/qemu-devbox-smart-log-nvme1.json" },
    ],
    lspci: [{ args: "-vmm -D", file: "lspci/qemu-devbox-vmm-D.txt" }],
    ipmitool: [
      { args: "fru", file: "ipmitool/qemu-devbox-fru.txt" },
      { args: "sdr elist", file: "ipmitool/qemu-devbox-sdr-elist.txt" },
      // the same emulated BMC (QEMU ipmi-bmc-sim), captured from the live ISO; its SEL empty
      { args: "mc info", file: "ipmitool/qemu-bmc-sim-mc-info.txt" },
      { args: "sel elist", stderr: "SEL has no entries" },
    ],
    ip: [{ args: "-j addr", file: "ip/firecracker-devvm-addr.json" }],
    ...overrides,
  };
  for (const [tool, cases] of Object.entries(tools)) writeFakeTool(dir, tool, cases);
}

function put(path: string, text: string): void {
  Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  Deno.writeTextFileSync(path, text);
}

/**
 * A root directory replaying the qemu-devbox: /sys/bus/pci/devices from its sysfs capture,
 * /proc/meminfo, an EDAC tree without controllers, /dev/ipmi0 and a network interface.
 */
export function qemuDevboxRoot(): string {
  const root = Deno.makeTempDirSync({ prefix: "bee-root-" });
  let dev: string | null = null;
  for (const line of fixture("pci_sysfs/qemu-devbox.txt").split("\n")) {
    const d = line.match(/^\/sys\/bus\/pci\/devices\/(\S+)$/);
    if (d) {
      dev = d[1]!;
      Deno.mkdirSync(`${root}/sys/bus/pci/devices/${dev}`, { recursive: true });
      continue;
    }
    const kv = line.match(/^\s+(\w+)=(.*)$/);
    if (dev && kv) put(`${root}/sys/bus/pci/devices/${dev}/${kv[1]}`, kv[2] + "\n");
  }
  put(`${root}/proc/meminfo`, fixture("procfs/qemu-devbox-meminfo.txt"));
  put(`${root}/proc/sys/kernel/hostname`, "qemu-devbox\n");
  put(`${root}/proc/sys/kernel/osrelease`, "6.1.0-56-amd64\n");
  Deno.mkdirSync(`${root}/sys/devices/system/edac/mc`, { recursive: true });
  put(`${root}/dev/ipmi0`, "");
  const net = `${root}/sys/class/net/eth0`;
  put(`${net}/address`, "52:54:00:12:34:56\n");
  put(`${net}/operstate`, "up\n");
  put(`${net}/carrier`, "1\n");
  put(`${net}/speed`, "1000\n");
  put(`${net}/mtu`, "1500\n");
  // the NIC's device link names its PCI function (the virtio network device of the devbox's lspci)
  Deno.symlinkSync(`${root}/sys/bus/pci/devices/0000:00:05.0`, `${net}/device`);
  return root;
}

export interface BeeRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the real launcher `bin/bee` with PATH limited to `path` (and the test's deno as runtime). */
export async function runBee(
  args: string[],
  opts: { path: string; env?: Record<string, string> },
): Promise<BeeRun> {
  const t0 = performance.now();
  const out = await new Deno.Command("/bin/sh", {
    args: [`${REPO}/bin/bee`, ...args],
    env: {
      PATH: opts.path,
      BEE_DENO: Deno.execPath(),
      BEE_GIT_COMMIT: "testcommit",
      HOME: Deno.env.get("HOME") ?? "/root",
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
      NO_COLOR: "1",
      ...opts.env,
    },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    ms: performance.now() - t0,
  };
}

/** A SAT lock of the test's own, so tests never contend with a SAT (or another test run) on this machine. */
export function privateLock(): string {
  return `${Deno.makeTempDirSync({ prefix: "bee-lock-" })}/sat.lock`;
}

/** `bee sat <kind>` arguments with a private lock, an output folder (a fresh one by default) and an audit. */
export function satArgs(
  kind: string,
  audit: string,
  out: string = Deno.makeTempDirSync(),
  ...extra: string[]
): string[] {
  return ["sat", kind, "--lock", privateLock(), "--out", out, "--audit", audit, ...extra];
}

/** Starts the real `bee web` through the launcher; `nofile` caps its descriptors (ulimit -n). */
export async function startWeb(
  auditPath: string,
  satDir: string,
  o: { extra?: string[]; nofile?: number } = {},
) {
  // a port below the kernel's ephemeral range (32768+), so no client socket of this machine holds it; one
  // taken anyway (the server exits at once saying so) is retried with another
  for (let attempt = 1;; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const web = await startWebOn(port, auditPath, satDir, o);
    if (web.ok) return web.web;
    if (!/in use/i.test(web.stderr) || attempt >= 5) {
      throw new Error(
        `bee web did not answer on 127.0.0.1:${port}: ${web.stderr.trim().split("\n").at(-1) ?? ""}`,
      );
    }
  }
}

async function startWebOn(
  port: number,
  auditPath: string,
  satDir: string,
  o: { extra?: string[]; nofile?: number },
) {
  const web = [
    "web",
    "--listen",
    `127.0.0.1:${port}`,
    "--audit",
    auditPath,
    "--sat-dir",
    satDir,
    ...(o.extra ?? []),
  ];
  const child = new Deno.Command("/bin/sh", {
    args: o.nofile
      ? ["-c", `ulimit -n ${o.nofile}; exec /bin/sh "$@"`, "sh", `${REPO}/bin/bee`, ...web]
      : [`${REPO}/bin/bee`, ...web],
    env: { BEE_DENO: Deno.execPath(), BEE_GIT_COMMIT: "test" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const base = `http://127.0.0.1:${port}`;
  let exited = false;
  const done = child.status.then(() => (exited = true));
  // up to 30 s: on a loaded CI machine the runtime's start alone can take seconds
  let up = false;
  for (let i = 0; i < 300 && !up && !exited; i++) {
    try {
      const r = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2000) });
      await r.body?.cancel();
      up = r.ok;
    } catch {
      await new Promise((res) => setTimeout(res, 100));
    }
  }
  if (!up) {
    if (!exited) {
      try {
        child.kill("SIGKILL");
      } catch { /* gone meanwhile */ }
    }
    await done;
    const stderr = await new Response(child.stderr).text().catch(() => "");
    return { ok: false as const, stderr: exited ? stderr : `no answer within 30 s ${stderr}` };
  }
  return {
    ok: true as const,
    web: {
      base,
      port,
      pid: child.pid,
      child,
      async stop() {
        try {
          child.kill("SIGTERM");
        } catch { /* gone */ }
        await child.status;
        await child.stderr.cancel().catch(() => {});
      },
    },
  };
}

/** `lsblk -J` output listing `n` SATA disks (for the many-disks test and benchmark). */
export function manyDisksLsblk(n: number): string {
  return JSON.stringify({
    blockdevices: Array.from({ length: n }, (_, i) => {
      const name = `sd${String.fromCharCode(97 + (i % 26))}${i}`;
      return {
        name,
        path: `/dev/${name}`,
        type: "disk",
        size: 1e12,
        model: "M",
        serial: `S${name}`,
        vendor: "V",
        rev: "1",
        tran: "sata",
        rota: false,
        rm: false,
        wwn: null,
      };
    }),
  });
}

/** A PCI function with every field null but the address and `extra`. */
export function pciDevice(address: string, extra: Partial<PciDevice>): PciDevice {
  return {
    address,
    class: null,
    class_id: null,
    vendor: null,
    vendor_id: null,
    device: null,
    device_id: null,
    subsystem_vendor: null,
    subsystem_device: null,
    revision: null,
    driver: null,
    numa_node: null,
    current_link_speed: null,
    max_link_speed: null,
    current_link_width: null,
    max_link_width: null,
    ...extra,
  };
}
