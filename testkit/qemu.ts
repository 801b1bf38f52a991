// A QEMU guest for the ISO tests: boots an ISO under TCG (BIOS or OVMF), forwards SSH and HTTP to
// loopback ports, logs the serial console to a file, and speaks to the QEMU monitor over a unix socket.

import { runProc } from "../bee/lib/proc.ts";
import { exec } from "../bee/lib/exec.ts";

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** The OVMF firmware image of this host, or null. */
export async function ovmfPath(): Promise<string | null> {
  for (const p of ["/usr/share/ovmf/OVMF.fd", "/usr/share/qemu/OVMF.fd", "/usr/share/OVMF/OVMF.fd"]) {
    if (await Deno.stat(p).catch(() => null)) return p;
  }
  return null;
}

export interface VmOptions {
  iso: string;
  dir: string;
  name: string;
  firmware: "bios" | "uefi";
  memMiB: number;
  cpus: number;
  serial: string;
  /** false: the NIC is connected to nothing, so DHCP never answers */
  dhcp: boolean;
  /** cdrom (CD / BMC virtual media), disk (the ISO written to a USB stick with dd), net (iPXE from the NIC ROM) */
  medium?: "cdrom" | "disk" | "net";
  /** medium net: the URL the user network's DHCP hands out as the boot file (an iPXE script over HTTP) */
  bootfile?: string;
  /** more qemu-system-x86_64 arguments (devices such as an emulated BMC) */
  extraArgs?: string[];
}

export class Vm {
  readonly sshPort = freePort();
  readonly httpPort = freePort();
  readonly serialLog: string;
  readonly monitorSock: string;
  readonly started = performance.now();
  #done: Promise<unknown> | null = null;
  #exited = false;
  #abort = new AbortController();

  constructor(readonly o: VmOptions) {
    this.serialLog = `${o.dir}/${o.name}-serial.log`;
    this.monitorSock = `${o.dir}/${o.name}-monitor.sock`;
  }

  /** The qemu-system-x86_64 arguments. */
  args(): string[] {
    const net = this.o.dhcp
      ? [
        "-netdev",
        `user,id=n0,hostfwd=tcp:127.0.0.1:${this.sshPort}-:22,hostfwd=tcp:127.0.0.1:${this.httpPort}-:80${
          this.o.bootfile ? `,bootfile=${this.o.bootfile}` : ""
        }`,
      ]
      // a socket backend nobody connects to: a NIC with a link and no DHCP server behind it
      : ["-netdev", `socket,id=n0,listen=127.0.0.1:${freePort()}`];
    return [
      "-machine",
      "pc",
      "-accel",
      "tcg,thread=multi",
      "-m",
      String(this.o.memMiB),
      "-smp",
      String(this.o.cpus),
      "-display",
      "none",
      "-vga",
      "std",
      "-serial",
      `file:${this.serialLog}`,
      "-monitor",
      `unix:${this.monitorSock},server,nowait`,
      "-smbios",
      `type=1,manufacturer=bee-test,product=bee-e2e,serial=${this.o.serial}`,
      ...(this.o.medium === "disk"
        ? ["-drive", `file=${this.o.iso},format=raw,if=ide,index=0,media=disk,snapshot=on`, "-boot", "c"]
        : this.o.medium === "net"
        ? ["-boot", "n"]
        : ["-cdrom", this.o.iso, "-boot", "d"]),
      ...net,
      "-device",
      "virtio-net-pci,netdev=n0",
      ...(this.o.firmware === "uefi" ? ["-bios", "__OVMF__"] : []),
      ...(this.o.extraArgs ?? []),
    ];
  }

  async start(): Promise<void> {
    const args = this.args();
    if (this.o.firmware === "uefi") {
      const fw = await ovmfPath();
      if (!fw) throw new Error("no OVMF firmware (apt-get install ovmf)");
      args[args.indexOf("__OVMF__")] = fw;
    }
    this.#done = runProc("qemu-system-x86_64", args, {
      timeoutMs: 90 * 60_000,
      signal: this.#abort.signal,
      stdoutPath: `${this.o.dir}/${this.o.name}-qemu.log`,
    }).finally(() => (this.#exited = true));
  }

  /** Throws when QEMU is no longer running (a wait for the guest would be in vain). */
  async checkAlive(): Promise<void> {
    if (!this.#exited) return;
    const log = await Deno.readTextFile(`${this.o.dir}/${this.o.name}-qemu.log`).catch(() => "");
    throw new Error(`qemu (${this.o.name}) exited: ${log.trim().split("\n").at(-1) ?? ""}`);
  }

  /** Seconds since start. */
  elapsed(): number {
    return Math.round((performance.now() - this.started) / 1000);
  }

  sshArgs(extra: string[] = []): string[] {
    return [
      "-o",
      "BatchMode=yes",
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "LogLevel=ERROR",
      "-o",
      "ConnectTimeout=10",
      "-p",
      String(this.sshPort),
      ...extra,
      "root@127.0.0.1",
    ];
  }

  /** Runs a command over SSH with the key; stdin optional. */
  async ssh(key: string, command: string, stdin?: string, timeoutMs = 120_000) {
    const p = new Deno.Command("ssh", {
      args: [...this.sshArgs(["-i", key]), command],
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(timeoutMs),
    }).spawn();
    if (stdin !== undefined) {
      const w = p.stdin.getWriter();
      await w.write(new TextEncoder().encode(stdin));
      await w.close();
    }
    const out = await p.output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  }

  /** Waits until SSH with the key answers; returns the seconds since start. */
  async waitForSsh(key: string, timeoutS: number): Promise<number> {
    const deadline = performance.now() + timeoutS * 1000;
    while (performance.now() < deadline) {
      await this.checkAlive();
      const r = await this.ssh(key, "true", undefined, 30_000).catch(() => ({ code: 255 }));
      if (r.code === 0) return this.elapsed();
      await new Promise((r) => setTimeout(r, 5000));
    }
    throw new Error(`no SSH after ${timeoutS} s (serial log: ${this.serialLog})`);
  }

  /** Waits until the serial log has a line matching re; returns it. */
  async waitForSerial(re: RegExp, timeoutS: number): Promise<string> {
    const deadline = performance.now() + timeoutS * 1000;
    while (performance.now() < deadline) {
      await this.checkAlive();
      const text = await Deno.readTextFile(this.serialLog).catch(() => "");
      const m = text.split(/\r?\n/).find((l) => re.test(l));
      if (m) return m;
      await new Promise((r) => setTimeout(r, 3000));
    }
    throw new Error(`serial log has no ${re} after ${timeoutS} s (${this.serialLog})`);
  }

  /** One QEMU monitor command; returns what the monitor answered. */
  async monitor(cmd: string): Promise<string> {
    const conn = await Deno.connect({ transport: "unix", path: this.monitorSock });
    const buf = new Uint8Array(65536);
    let text = "";
    const readSome = async (ms: number) => {
      const t = setTimeout(() => conn.close(), ms);
      try {
        const n = await conn.read(buf);
        if (n) text += new TextDecoder().decode(buf.subarray(0, n));
      } catch { /* closed by the timer */ }
      clearTimeout(t);
    };
    await readSome(2000); // banner and prompt
    await conn.write(new TextEncoder().encode(cmd + "\n"));
    await new Promise((r) => setTimeout(r, 1000));
    await readSome(2000);
    try {
      conn.close();
    } catch { /* closed */ }
    return text;
  }

  /** Stops the guest (monitor `quit`, then the process group). */
  async stop(): Promise<void> {
    await this.monitor("quit").catch(() => "");
    await Promise.race([this.#done, new Promise((r) => setTimeout(r, 10_000))]);
    this.#abort.abort();
    await this.#done;
  }
}

/** GET http://127.0.0.1:port/path with a timeout: status and body, or null when nothing answers. */
export async function httpGet(port: number, path: string): Promise<{ status: number; body: string } | null> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(15_000) });
    return { status: r.status, body: await r.text() };
  } catch {
    return null;
  }
}

/** Whether this machine can run the ISO tests at all (qemu, ssh). */
export async function haveQemu(): Promise<boolean> {
  return (await exec("qemu-system-x86_64", ["--version"], { timeoutMs: 10_000 })).kind === "exited";
}

/**
 * A 64 MiB USB stick image: an MBR with one Linux partition (type 83h from sector 2048) formatted ext4,
 * label BEESTICK — what an operator plugs in for `bee export` (no partitioning tool needed).
 */
export function makeStickImage(img: string): void {
  const sh = (c: string) => {
    const o = new Deno.Command("sh", { args: ["-c", c] }).outputSync();
    if (o.code !== 0) throw new Error(`${c}: ${new TextDecoder().decode(o.stderr)}`);
  };
  sh(`rm -f ${img} ${img}.part; truncate -s 63M ${img}.part && mkfs.ext4 -q -L BEESTICK ${img}.part`);
  sh(
    `truncate -s 64M ${img} && dd if=${img}.part of=${img} bs=1M seek=1 conv=notrunc status=none && rm ${img}.part`,
  );
  const mbr = new Uint8Array(512);
  const v = new DataView(mbr.buffer);
  mbr[446 + 4] = 0x83; // partition type: Linux
  v.setUint32(446 + 8, 2048, true); // first sector (LBA)
  v.setUint32(446 + 12, 63 * 2048, true); // sectors
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  const f = Deno.openSync(img, { write: true });
  f.writeSync(mbr);
  f.close();
}

/** qemu arguments that plug the stick image in on a USB 3 controller. */
export function usbStickArgs(img: string): string[] {
  return [
    "-drive",
    `if=none,id=stick,format=raw,file=${img}`,
    "-device",
    "qemu-xhci,id=xhci",
    "-device",
    "usb-storage,bus=xhci.0,drive=stick,serial=BEESTICK01",
  ];
}

/** qemu arguments for QEMU's emulated BMC (ipmi-bmc-sim on a KCS interface: /dev/ipmi0 in the guest). */
export function bmcArgs(): string[] {
  return ["-device", "ipmi-bmc-sim,id=bmc0", "-device", "isa-ipmi-kcs,bmc=bmc0"];
}

/**
 * `deno task iso` as the ISO tests build it (their SSH key, their order file, dist/bee-e2e.iso; cached by its
 * inputs), with `extra` arguments; stdout and stderr go to `<logs>/iso.out` and `iso.err`.
 */
export async function buildE2eIso(repo: string, key: string, logs: string, extra: string[] = []) {
  const out = `${repo}/dist/bee-e2e.iso`;
  const r = await runProc(`${repo}/node_modules/.bin/deno`, [
    "run",
    "--allow-all",
    `${repo}/tasks/iso.ts`,
    "--authorized-keys",
    `${key}.pub`,
    "--expect",
    `${repo}/tests/iso_e2e/order.yaml`,
    "--out",
    out,
    ...extra,
  ], { timeoutMs: 120 * 60_000, stdoutPath: `${logs}/iso.out`, stderrPath: `${logs}/iso.err` });
  return { out, r, err: await Deno.readTextFile(`${logs}/iso.err`).catch(() => "") };
}
