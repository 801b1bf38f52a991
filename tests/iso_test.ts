// The ISO pipeline without QEMU: VERSIONS and mirror resolution, kernel ABIs from Packages indexes (and
// `iso:bump-kernel` against a mirror on 127.0.0.1), staging helpers, container argument candidates, the
// overlay's systemd units through systemd-analyze, and the boot scripts on fake roots.

import assert from "node:assert/strict";
import {
  aptSourceMirrors,
  parseVersionsFile,
  resolveVersions,
  splitKernelAbi,
} from "../tasks/iso/versions.ts";
import { compareAbi, kernelAbis, mirrorKernelAbis, newestAbi } from "../tasks/iso/packages.ts";
import {
  buildEnv,
  checkAuthorizedKeys,
  ensureBaseImage,
  hashTree,
  isoDenoJson,
  releaseText,
} from "../tasks/iso/steps.ts";
import { candidateArgs, platformArch } from "../tasks/iso/container.ts";
import { setKernelAbi } from "../tasks/iso_bump_kernel.ts";
import { exec } from "../bee/lib/exec.ts";

const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const VERSIONS = await Deno.readTextFile(`${repo}/iso/builder/VERSIONS`);

Deno.test("VERSIONS pins suite, kernel ABI, Deno (= package.json) and mirrors", async () => {
  const raw = parseVersionsFile(VERSIONS);
  assert.equal(raw.DEBIAN_SUITE, "trixie");
  assert.match(raw.DEBIAN_KERNEL_ABI!, /^\d+\.\d+\.\d+\+deb13-amd64$/);
  const pkg = JSON.parse(await Deno.readTextFile(`${repo}/package.json`));
  assert.equal(raw.DENO_VERSION, pkg.devDependencies.deno);
  assert.deepEqual(splitKernelAbi("6.12.117+deb13-amd64"), {
    pkg: "linux-image-6.12.117+deb13",
    flavour: "amd64",
  });
  assert.throws(() => splitKernelAbi("6.12-amd64"), /not of the form/);
});

Deno.test("mirrors: environment, then VERSIONS, then the host's apt sources (both formats)", () => {
  const oneLine =
    "deb http://mirror.example/debian bookworm main\ndeb http://mirror.example/debian-security bookworm-security main\n";
  const deb822 =
    "Types: deb\nURIs: http://m.example/debian\nSuites: bookworm\n\nTypes: deb\nURIs: http://m.example/debian-security\n";
  assert.deepEqual(aptSourceMirrors([oneLine]), {
    mirror: "http://mirror.example/debian",
    security: "http://mirror.example/debian-security",
  });
  assert.deepEqual(aptSourceMirrors([deb822]), {
    mirror: "http://m.example/debian",
    security: "http://m.example/debian-security",
  });
  const raw = parseVersionsFile(VERSIONS);
  const v = resolveVersions(raw, {}, [deb822]);
  assert.equal(v.mirror, "http://m.example/debian");
  assert.equal(v.securityMirror, "http://m.example/debian-security");
  const e = resolveVersions(raw, { BEE_DEBIAN_MIRROR: "http://127.0.0.1:9/debian/" }, [deb822]);
  assert.equal(e.mirror, "http://127.0.0.1:9/debian");
  assert.throws(() => resolveVersions(raw, {}, [""]), /BEE_DEBIAN_MIRROR=URL/);
  assert.throws(() => resolveVersions({ ...raw, SQUASHFS_COMPRESSION: "lz4" }, {}, [deb822]), /zstd or xz/);
});

const packagesIndex = (abis: string[]) =>
  abis.flatMap((a) => [`Package: linux-image-${a}`, "Version: 1", "", `Package: linux-headers-${a}`, ""])
    .join("\n") +
  "Package: linux-image-amd64\n\nPackage: linux-image-6.12.200+deb13-amd64-dbg\n";

Deno.test("kernel ABIs: one flavour, numeric order (6.12.96 < 6.12.117)", () => {
  const text = packagesIndex(["6.12.96+deb13-amd64", "6.12.117+deb13-amd64", "6.12.117+deb13-cloud-amd64"]);
  assert.deepEqual(kernelAbis(text, "amd64"), ["6.12.96+deb13-amd64", "6.12.117+deb13-amd64"]);
  assert.ok(compareAbi("6.12.96+deb13-amd64", "6.12.117+deb13-amd64") < 0);
  assert.equal(newestAbi(["6.12.117+deb13-amd64", "6.12.96+deb13-amd64"]), "6.12.117+deb13-amd64");
  assert.equal(newestAbi([]), null);
});

/** A Debian-style mirror on 127.0.0.1 with main (gzip), -updates (missing) and -security (xz only). */
async function withMirror<T>(main: string[], security: string[], f: (url: string) => Promise<T>): Promise<T> {
  const gz = async (s: string) =>
    new Uint8Array(
      await new Response(new Blob([s]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer(),
    );
  const xz = async (s: string) => {
    const p = new Deno.Command("xz", { args: ["-c"], stdin: "piped", stdout: "piped" }).spawn();
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode(s));
    await w.close();
    return (await p.output()).stdout;
  };
  const files = new Map<string, Uint8Array>([
    ["/debian/dists/trixie/main/binary-amd64/Packages.gz", await gz(packagesIndex(main))],
    [
      "/debian-security/dists/trixie-security/main/binary-amd64/Packages.xz",
      await xz(packagesIndex(security)),
    ],
  ]);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const body = files.get(new URL(req.url).pathname);
    return body ? new Response(body as Uint8Array<ArrayBuffer>) : new Response("no", { status: 404 });
  });
  try {
    return await f(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

Deno.test("kernel ABIs from a mirror on 127.0.0.1: main (gz) and security (xz), updates absent", async () => {
  await withMirror(["6.12.107+deb13-amd64"], ["6.12.120+deb13-amd64"], async (url) => {
    const abis = await mirrorKernelAbis(`${url}/debian`, `${url}/debian-security`, "trixie", "amd64");
    assert.deepEqual(abis, ["6.12.107+deb13-amd64", "6.12.120+deb13-amd64"]);
  });
  await withMirror([], [], async (url) => {
    await assert.rejects(mirrorKernelAbis(`${url}/nothing`, `${url}/x`, "trixie", "amd64"), /HTTP 404/);
  });
});

Deno.test("iso:bump-kernel rewrites only DEBIAN_KERNEL_ABI, to the newest on the mirror", async () => {
  assert.equal(setKernelAbi("A=1\nDEBIAN_KERNEL_ABI=old\nB=2\n", "new"), "A=1\nDEBIAN_KERNEL_ABI=new\nB=2\n");
  assert.throws(() => setKernelAbi("A=1\n", "x"), /no DEBIAN_KERNEL_ABI/);
  const fake = await Deno.makeTempDir();
  await Deno.mkdir(`${fake}/iso/builder`, { recursive: true });
  await Deno.writeTextFile(`${fake}/iso/builder/VERSIONS`, VERSIONS);
  await withMirror(
    ["6.12.117+deb13-amd64", "6.12.130+deb13-amd64"],
    ["6.12.125+deb13-amd64"],
    async (url) => {
      const r = await exec(`${repo}/node_modules/.bin/deno`, [
        "run",
        "-A",
        `${repo}/tasks/iso_bump_kernel.ts`,
      ], {
        timeoutMs: 60_000,
        env: {
          BEE_REPO: fake,
          BEE_DEBIAN_MIRROR: `${url}/debian`,
          BEE_DEBIAN_SECURITY_MIRROR: `${url}/debian-security`,
        },
      });
      assert.equal(r.kind === "exited" && r.code, 0, r.kind === "exited" ? r.stderr : r.kind);
      assert.match(r.kind === "exited" ? r.stdout : "", /→ 6\.12\.130\+deb13-amd64/);
    },
  );
  const after = parseVersionsFile(await Deno.readTextFile(`${fake}/iso/builder/VERSIONS`));
  assert.equal(after.DEBIAN_KERNEL_ABI, "6.12.130+deb13-amd64");
  assert.equal(after.DENO_VERSION, parseVersionsFile(VERSIONS).DENO_VERSION);
  await Deno.remove(fake, { recursive: true });
});

Deno.test("staging helpers: keys checked, release text, env file, permission-only deno.json, tree hash", async () => {
  const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG0000000000000000000000000000000000000000000 op@host";
  assert.equal(checkAuthorizedKeys(`# ops\n${key}\n\n`, "k"), `${key}\n`);
  assert.throws(
    () => checkAuthorizedKeys("-----BEGIN OPENSSH PRIVATE KEY-----\n", "k"),
    /k:1 is not an SSH public key/,
  );
  assert.throws(() => checkAuthorizedKeys("# nothing\n", "k"), /no SSH public key/);
  const v = resolveVersions(parseVersionsFile(VERSIONS), {
    BEE_DEBIAN_MIRROR: "http://m/debian",
    BEE_DEBIAN_SECURITY_MIRROR: "http://m/debian-security",
  }, [""]);
  const rel = releaseText({
    version: "0.1.0",
    commit: "abc",
    builtAt: "2026-01-01T00:00:00Z",
    inputs: "h",
    v,
    authKeys: true,
  });
  assert.match(rel, /^BEE_VERSION=0\.1\.0$/m);
  assert.match(rel, /^DEBIAN_KERNEL_ABI=6\.12\./m);
  assert.match(rel, /^SSH_LOGIN=keys$/m);
  const envFile = buildEnv(v, "0.1.0");
  assert.match(envFile, /^BEE_LINUX_PACKAGE='linux-image-6\.12\.\d+\+deb13'$/m);
  assert.match(envFile, /^BEE_LINUX_FLAVOUR='amd64'$/m);
  const dj = JSON.parse(isoDenoJson(await Deno.readTextFile(`${repo}/deno.json`)));
  assert.deepEqual(Object.keys(dj), ["permissions"]);
  assert.deepEqual(dj.permissions.web.net, ["0.0.0.0:80"]);
  const d = await Deno.makeTempDir();
  await Deno.writeTextFile(`${d}/a`, "1");
  const h1 = await hashTree(d);
  await Deno.chmod(`${d}/a`, 0o755);
  const h2 = await hashTree(d);
  await Deno.writeTextFile(`${d}/a`, "2");
  const h3 = await hashTree(d);
  assert.equal(new Set([h1, h2, h3]).size, 3, "mode and content both change the hash");
  await Deno.remove(d, { recursive: true });
});

Deno.test("container arguments: ulimits never above the caller's hard limits; runc tried for podman", () => {
  const c = candidateArgs("podman", { nofile: 20000, nproc: 96365 });
  assert.deepEqual(c[0], ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=96365:96365"]);
  assert.ok(c.some((a) => a[0] === "--runtime" && a[1] === "runc"));
  for (const a of c) {
    const np = Number(/nproc=(\d+)/.exec(a.join(" "))![1]);
    assert.ok(np <= 96365);
  }
  assert.ok(candidateArgs("docker", { nofile: 1024, nproc: 4096 }).every((a) => !a.includes("--runtime")));
  assert.equal(platformArch("linux/amd64"), "amd64");
  assert.throws(() => platformArch("amd64"), /os\/arch/);
});

Deno.test("overlay systemd units pass systemd-analyze verify; bee-web exposure is OK (≤ 2.0)", async () => {
  const units = `${repo}/iso/overlay/etc/systemd/system`;
  const tmp = await Deno.makeTempDir();
  const names: string[] = [];
  // the units' programs live under /usr/local on the ISO: point them at stand-ins under tmp
  for await (const e of Deno.readDir(units)) {
    if (!e.name.endsWith(".service")) continue;
    const text = (await Deno.readTextFile(`${units}/${e.name}`)).replaceAll(
      "/usr/local/",
      `${tmp}/usr/local/`,
    );
    await Deno.writeTextFile(`${tmp}/${e.name}`, text);
    names.push(e.name);
  }
  for (
    const p of [
      "usr/local/bin/bee",
      ...["sshsetup", "network", "nvidia", "boot-report"].map((n) => `usr/local/sbin/bee-${n}`),
    ]
  ) {
    await Deno.mkdir(`${tmp}/${p.replace(/\/[^/]+$/, "")}`, { recursive: true });
    await Deno.writeTextFile(`${tmp}/${p}`, "#!/bin/sh\n", { mode: 0o755 });
  }
  assert.ok(names.length >= 6);
  const r = await exec("systemd-analyze", ["verify", "--man=no", ...names.map((n) => `${tmp}/${n}`)], {
    timeoutMs: 60_000,
  });
  assert.notEqual(r.kind, "missing", "systemd-analyze missing (apt-get install systemd)");
  const out = r.kind === "exited" ? r.stdout + r.stderr : r.kind;
  // on a build host without sshd, ssh.service is unknown; anything else is a defect in our units
  const problems = out.split("\n").filter((l) => l.trim() && !/ssh\.service/.test(l));
  assert.deepEqual(problems, []);
  const s = await exec("systemd-analyze", ["security", "--offline=true", `${tmp}/bee-web.service`], {
    timeoutMs: 60_000,
  });
  const m = /Overall exposure level for bee-web\.service: ([\d.]+) (\w+)/.exec(
    s.kind === "exited" ? s.stdout : "",
  );
  assert.ok(m, "systemd-analyze security gave no exposure");
  assert.ok(Number(m[1]) <= 2.0, `exposure ${m[1]} ${m[2]}`);
  console.error(`bee-web.service exposure: ${m[1]} ${m[2]}`);
  await Deno.remove(tmp, { recursive: true });
});

/** Runs an overlay script with env, a PATH that puts `bin` first; returns exit code and output. */
async function runScript(name: string, env: Record<string, string>, bin?: string) {
  const r = await exec("sh", [`${repo}/iso/overlay/usr/local/sbin/${name}`], {
    timeoutMs: 60_000,
    env: { ...env, PATH: `${bin ? `${bin}:` : ""}${Deno.env.get("PATH")}` },
  });
  assert.equal(r.kind, "exited");
  return r.kind === "exited" ? { code: r.code, out: r.stdout + r.stderr } : { code: -1, out: "" };
}

Deno.test("bee-sshsetup: password marker → per-boot random password and sshd drop-in; keys → neither", async () => {
  const root = await Deno.makeTempDir();
  await Deno.mkdir(`${root}/etc/bee`, { recursive: true });
  await Deno.mkdir(`${root}/etc/ssh/sshd_config.d`, { recursive: true });
  await Deno.writeTextFile(`${root}/etc/bee/ssh-password-login`, "x\n");
  const a = await runScript("bee-sshsetup", { BEE_ROOT: root });
  assert.equal(a.code, 0, a.out);
  const pw1 = (await Deno.readTextFile(`${root}/run/bee/root-password`)).trim();
  assert.match(pw1, /^[A-HJ-NP-Za-km-z2-9]{20}$/);
  assert.equal((await Deno.stat(`${root}/run/bee/root-password`)).mode! & 0o777, 0o600);
  assert.match(
    await Deno.readTextFile(`${root}/etc/ssh/sshd_config.d/00-bee-password.conf`),
    /^PasswordAuthentication yes$/m,
  );
  assert.doesNotMatch(a.out, new RegExp(pw1), "the password is never printed");
  await runScript("bee-sshsetup", { BEE_ROOT: root });
  assert.notEqual(
    (await Deno.readTextFile(`${root}/run/bee/root-password`)).trim(),
    pw1,
    "a new password each boot",
  );
  // built with keys: no marker, no password file, no drop-in
  await Deno.remove(`${root}/etc/bee/ssh-password-login`);
  await Deno.mkdir(`${root}/root/.ssh`, { recursive: true });
  await Deno.writeTextFile(`${root}/root/.ssh/authorized_keys`, "ssh-ed25519 AAAA k\n");
  const b = await runScript("bee-sshsetup", { BEE_ROOT: root });
  assert.match(b.out, /key login only \(1 key/);
  assert.equal(await Deno.stat(`${root}/run/bee/root-password`).catch(() => null), null);
  assert.equal(await Deno.stat(`${root}/etc/ssh/sshd_config.d/00-bee-password.conf`).catch(() => null), null);
  assert.equal((await Deno.stat(`${root}/root/.ssh/authorized_keys`)).mode! & 0o777, 0o600);
  await Deno.remove(root, { recursive: true });
});

/** A fake machine for bee-nvidia: PCI functions, /proc, the ISO's module folder, and logging stand-in tools. */
async function nvidiaMachine(devs: [string, string, string][], failInsmod: string | null = null) {
  const d = await Deno.makeTempDir();
  const sys = `${d}/sys`;
  for (const [name, vendor, cls] of devs) {
    await Deno.mkdir(`${sys}/${name}`, { recursive: true });
    await Deno.writeTextFile(`${sys}/${name}/vendor`, `${vendor}\n`);
    await Deno.writeTextFile(`${sys}/${name}/class`, `${cls}\n`);
  }
  await Deno.mkdir(`${d}/proc`);
  await Deno.writeTextFile(`${d}/proc/modules`, "drm 1 0 - Live 0x0\n");
  await Deno.writeTextFile(
    `${d}/proc/devices`,
    "Character devices:\n195 nvidia\n510 nvidia-uvm\n511 nvidia-caps\n",
  );
  await Deno.mkdir(`${d}/root/usr/local/lib/nvidia`, { recursive: true });
  await Deno.mkdir(`${d}/root/dev`);
  await Deno.mkdir(`${d}/bin`);
  const tool = (name: string, body = "") =>
    Deno.writeTextFile(`${d}/bin/${name}`, `#!/bin/sh\necho "${name} $*" >> ${d}/calls\n${body}`, {
      mode: 0o755,
    });
  await tool(
    "insmod",
    failInsmod
      ? `case "$1" in */${failInsmod}) echo "insmod: ERROR: could not insert module $1: Key was rejected by service" >&2; exit 1 ;; esac\n`
      : "",
  );
  await tool(
    "dmesg",
    `echo "[   12.5] Loading of unsigned module is rejected"\necho "[   12.6] nvidia: module verification failed"\n`,
  );
  for (const t of ["modprobe", "mknod", "nvidia-smi", "systemctl"]) await tool(t);
  const env = { BEE_ROOT: `${d}/root`, BEE_SYSPCI: sys, BEE_PROC: `${d}/proc` };
  const calls = async () =>
    (await Deno.readTextFile(`${d}/calls`).catch(() => "")).trim().split("\n").filter(Boolean);
  return { d, env, calls, lib: `${d}/root/usr/local/lib/nvidia` };
}

Deno.test("bee-nvidia: no NVIDIA display controller → one line, success, nothing loaded", async () => {
  const m = await nvidiaMachine([["0000:00:01.0", "0x8086", "0x030000"], [
    "0000:00:02.0",
    "0x10de",
    "0x040300",
  ]]);
  const a = await runScript("bee-nvidia", m.env, `${m.d}/bin`);
  assert.equal(a.code, 0);
  assert.equal(a.out.trim(), "bee-nvidia: no NVIDIA device on the PCI bus; nothing to load");
  assert.deepEqual(await m.calls(), []);
  await Deno.remove(m.d, { recursive: true });
});

Deno.test("bee-nvidia: insmod by absolute path in dependency order, device nodes with /proc/devices majors", async () => {
  const m = await nvidiaMachine([["0000:17:00.0", "0x10de", "0x030200"], [
    "0000:65:00.0",
    "0x10de",
    "0x030200",
  ]]);
  for (const k of ["nvidia", "nvidia-uvm", "nvidia-modeset", "nvidia-drm"]) {
    await Deno.writeTextFile(`${m.lib}/${k}.ko`, "");
  }
  await Deno.writeTextFile(`${m.lib}/VERSION`, "550.163.01\n");
  const r = await runScript("bee-nvidia", m.env, `${m.d}/bin`);
  assert.equal(r.code, 0, r.out);
  const calls = await m.calls();
  assert.deepEqual(calls.filter((c) => c.startsWith("insmod")), [
    `insmod ${m.lib}/nvidia.ko`,
    `insmod ${m.lib}/nvidia-uvm.ko`,
    `insmod ${m.lib}/nvidia-modeset.ko`,
    `insmod ${m.lib}/nvidia-drm.ko`,
  ]);
  assert.deepEqual(calls.filter((c) => c.startsWith("modprobe")), [
    "modprobe drm",
    "modprobe drm_kms_helper",
    "modprobe video",
  ]);
  const mk = calls.filter((c) => c.startsWith("mknod")).map((c) => c.replace(`${m.d}/root`, ""));
  for (
    const want of [
      "/dev/nvidiactl c 195 255",
      "/dev/nvidia0 c 195 0",
      "/dev/nvidia1 c 195 1",
      "/dev/nvidia-uvm c 510 0",
      "/dev/nvidia-uvm-tools c 510 1",
      "/dev/nvidia-caps/nvidia-cap1 c 511 1",
    ]
  ) {
    assert.ok(mk.some((c) => c.endsWith(want)), `${want} in ${mk.join(" | ")}`);
  }
  assert.ok(calls.includes("nvidia-smi -pm 1"));
  assert.match(r.out, /2 NVIDIA GPU\(s\), 0 NVSwitch\(es\); driver 550\.163\.01/);
  await Deno.remove(m.d, { recursive: true });
});

Deno.test("bee-nvidia: a refused module fails the unit with the kernel's reason, kept for the audit", async () => {
  const m = await nvidiaMachine([["0000:17:00.0", "0x10de", "0x030200"], [
    "0000:07:00.0",
    "0x10de",
    "0x068000",
  ]], "nvidia.ko");
  for (const k of ["nvidia", "nvidia-uvm", "nvidia-modeset", "nvidia-drm"]) {
    await Deno.writeTextFile(`${m.lib}/${k}.ko`, "");
  }
  const r = await runScript("bee-nvidia", m.env, `${m.d}/bin`);
  assert.equal(r.code, 1);
  const why = await Deno.readTextFile(`${m.d}/root/run/bee/nvidia-unavailable`);
  assert.match(
    why,
    /^insmod nvidia\.ko failed: insmod: ERROR: could not insert module .*Key was rejected by service/,
  );
  assert.match(why, /kernel: Loading of unsigned module is rejected;nvidia: module verification failed/);
  assert.equal(
    (await m.calls()).filter((c) => c.startsWith("insmod")).length,
    1,
    "nothing loaded after the failure",
  );
  await Deno.remove(m.d, { recursive: true });
});

Deno.test("bee-nvidia: an image without NVIDIA modules on a GPU machine says so and fails visibly", async () => {
  const m = await nvidiaMachine([["0000:17:00.0", "0x10de", "0x030200"]]);
  const r = await runScript("bee-nvidia", m.env, `${m.d}/bin`);
  assert.equal(r.code, 1);
  assert.match(
    await Deno.readTextFile(`${m.d}/root/run/bee/nvidia-unavailable`),
    /carries no NVIDIA modules/,
  );
  await Deno.remove(m.d, { recursive: true });
});

/** `nvidia-smi -q` of two HGX GPUs whose fabric registration reads `state`. */
function fabricQ(state: string): string {
  const gpu = (bus: string) =>
    `GPU 00000000:${bus}:00.0\n    Product Name                          : NVIDIA H100 80GB HBM3\n    Fabric\n` +
    `        State                             : ${state}\n        Status                            : ${
      state === "Completed" ? "Success" : "N/A"
    }\n        CliqueId                          : 0\n`;
  return `==============NVSMI LOG==============\n\nDriver Version                            : 550.163.01\n\n${
    gpu("18")
  }\n${gpu("2A")}`;
}

/** An HGX: two GPUs and an NVSwitch; nv-fabricmanager present when `fm`, its fabric Completed after `after` polls. */
async function hgxMachine(o: { fm: boolean; after: number; systemctlFails?: boolean }) {
  const m = await nvidiaMachine([
    ["0000:18:00.0", "0x10de", "0x030200"],
    ["0000:2a:00.0", "0x10de", "0x030200"],
    ["0000:05:00.0", "0x10de", "0x068000"],
  ]);
  for (const k of ["nvidia", "nvidia-uvm", "nvidia-modeset", "nvidia-drm"]) {
    await Deno.writeTextFile(`${m.lib}/${k}.ko`, "");
  }
  await Deno.writeTextFile(`${m.lib}/FABRICMANAGER_VERSION`, "550.163.01\n");
  await Deno.writeTextFile(`${m.d}/q-wait.txt`, fabricQ("In Progress"));
  await Deno.writeTextFile(`${m.d}/q-done.txt`, fabricQ("Completed"));
  const smi = `#!/bin/sh\necho "nvidia-smi $*" >> ${m.d}/calls\n[ "$1" = -q ] || exit 0\n` +
    `n=$(cat ${m.d}/polls 2>/dev/null || echo 0); n=$((n + 1)); echo $n > ${m.d}/polls\n` +
    `if [ $n -gt ${o.after} ]; then cat ${m.d}/q-done.txt; else cat ${m.d}/q-wait.txt; fi\n`;
  await Deno.writeTextFile(`${m.d}/bin/nvidia-smi`, smi, { mode: 0o755 });
  await Deno.writeTextFile(
    `${m.d}/bin/systemctl`,
    `#!/bin/sh\necho "systemctl $*" >> ${m.d}/calls\n${
      o.systemctlFails ? 'echo "Job for nvidia-fabricmanager.service failed." >&2; exit 1' : ""
    }\n`,
    { mode: 0o755 },
  );
  if (o.fm) await Deno.writeTextFile(`${m.d}/bin/nv-fabricmanager`, "#!/bin/sh\n", { mode: 0o755 });
  const env = { ...m.env, BEE_FM_WAIT_S: "3", BEE_FM_POLL_S: "1" };
  const state = () => Deno.readTextFile(`${m.d}/root/run/bee/fabricmanager`).then((t) => t.trim());
  return { ...m, env, state };
}

Deno.test("bee-nvidia on an HGX: Fabric Manager started after the modules, the fabric waited for, the state kept", async () => {
  const m = await hgxMachine({ fm: true, after: 2 });
  const r = await runScript("bee-nvidia", m.env, `${m.d}/bin`);
  assert.equal(r.code, 0, r.out);
  assert.equal(await m.state(), "ready: fabric Completed on 2 GPU(s) after 2 s");
  const calls = await m.calls();
  const start = calls.indexOf("systemctl start nvidia-fabricmanager.service");
  assert.ok(start > calls.indexOf(`insmod ${m.lib}/nvidia-drm.ko`), "started after the modules are in");
  assert.equal(calls.filter((c) => c === "nvidia-smi -q").length, 3, "polled until Completed");
  assert.match(r.out, /2 NVIDIA GPU\(s\), 1 NVSwitch\(es\)/);
  await Deno.remove(m.d, { recursive: true });
});

Deno.test("bee-nvidia on an HGX: no Fabric Manager in the image, a unit that fails, a fabric that never completes", async () => {
  const absent = await hgxMachine({ fm: false, after: 0 });
  const a = await runScript("bee-nvidia", absent.env, `${absent.d}/bin`);
  assert.equal(a.code, 0, "the modules are loaded: the unit succeeds, the state says why CUDA cannot start");
  assert.match(await absent.state(), /^absent: 1 NVSwitch\(es\), but this image carries no Fabric Manager/);
  assert.ok(!(await absent.calls()).some((c) => c.startsWith("systemctl start")));
  await Deno.remove(absent.d, { recursive: true });

  const broken = await hgxMachine({ fm: true, after: 0, systemctlFails: true });
  assert.equal((await runScript("bee-nvidia", broken.env, `${broken.d}/bin`)).code, 0);
  assert.match(
    await broken.state(),
    /^failed: nvidia-fabricmanager\.service did not start \(Job for nvidia-fabricmanager\.service failed\.\)/,
  );
  await Deno.remove(broken.d, { recursive: true });

  const stuck = await hgxMachine({ fm: true, after: 99 });
  const t0 = Date.now();
  assert.equal((await runScript("bee-nvidia", stuck.env, `${stuck.d}/bin`)).code, 0);
  assert.equal(
    await stuck.state(),
    "timeout: fabric not ready after 3 s (0 of 2 GPU(s) Completed; In Progress x2)",
  );
  assert.ok(Date.now() - t0 < 20_000, "the wait is bounded");
  await Deno.remove(stuck.d, { recursive: true });
});

Deno.test("bee-network: dhclient -nw once on each physical interface, none on virtual ones", async () => {
  const d = await Deno.makeTempDir();
  const net = `${d}/net`;
  for (const [i, phys] of [["eno1", true], ["enp65s0f1", true], ["lo", false], ["docker0", false]] as const) {
    await Deno.mkdir(`${net}/${i}`, { recursive: true });
    if (phys) await Deno.symlink("/dev/null", `${net}/${i}/device`);
  }
  await Deno.mkdir(`${d}/bin`);
  for (const t of ["ip", "dhclient"]) {
    await Deno.writeTextFile(`${d}/bin/${t}`, `#!/bin/sh\necho "${t} $*" >> ${d}/calls\n`, { mode: 0o755 });
  }
  const r = await runScript("bee-network", {
    BEE_SYSNET: net,
    BEE_DHCP_STATE: `${d}/state`,
    BEE_NET_ROUNDS: "3",
    BEE_NET_PAUSE: "0",
  }, `${d}/bin`);
  assert.equal(r.code, 0);
  const calls = (await Deno.readTextFile(`${d}/calls`)).trim().split("\n");
  const dh = calls.filter((c) => c.startsWith("dhclient"));
  assert.equal(dh.length, 2, calls.join("\n"));
  assert.ok(dh.every((c) => / -nw /.test(c)));
  assert.ok(dh.some((c) => c.endsWith(" eno1")) && dh.some((c) => c.endsWith(" enp65s0f1")));
  await Deno.remove(d, { recursive: true });
});

Deno.test("smoketest.sh: POSIX sh, one PASS/FAIL/SKIP line per check, and on a machine that is no bee it fails", async () => {
  const r = await exec("sh", ["-n", `${repo}/iso/builder/smoketest.sh`], { timeoutMs: 10_000 });
  assert.equal(r.kind === "exited" && r.code, 0);
  // this test machine has none of bee's units: the smoke test must say FAIL for them and exit non-zero
  const run = await exec("sh", [`${repo}/iso/builder/smoketest.sh`], {
    timeoutMs: 120_000,
    env: { SMOKE_WAIT: "0" },
  });
  assert.equal(run.kind, "exited");
  if (run.kind !== "exited") return;
  const lines = run.stdout.trim().split("\n");
  assert.match(lines.at(-1)!, /^smoketest: [1-9]\d* failed$/);
  for (const l of lines.slice(0, -1)) assert.match(l, /^(PASS|FAIL|SKIP) \S/, l);
  assert.ok(
    lines.includes("FAIL unit bee-audit — inactive/success") ||
      lines.some((l) => /^FAIL unit bee-audit/.test(l)),
  );
  assert.ok(lines.some((l) => /^FAIL tty1 runs the menu as root via sudo from user bee/.test(l)));
  assert.notEqual(run.code, 0);
});

Deno.test("base image: used when present; pulled; made with debootstrap when no registry answers", async () => {
  const d = await Deno.makeTempDir();
  // a fake podman: `image inspect` finds only what $d/have lists, `pull` fails like an unreachable registry
  await Deno.writeTextFile(
    `${d}/podman`,
    `#!/bin/sh
echo "$*" >> ${d}/calls
case "$1 $2" in
  "image inspect") for a; do last=$a; done; grep -qx "$last" ${d}/have 2>/dev/null && { echo amd64; exit 0; }; echo "Error: $last: image not known" >&2; exit 125 ;;
  pull*) echo "Error: initializing source docker://debian:trixie: dial tcp: connection refused" >&2; exit 125 ;;
esac
exit 0
`,
    { mode: 0o755 },
  );
  const path = Deno.env.get("PATH")!;
  Deno.env.set("PATH", `${d}:${path}`);
  try {
    const said: string[] = [];
    let made = 0;
    const o = {
      engine: "podman" as const,
      wanted: "debian:trixie",
      platform: "linux/amd64",
      suite: "trixie",
      log: (s: string) => said.push(s),
      makeLocal: () => {
        made++;
        return Promise.resolve("localhost/bee-debian-base:trixie");
      },
    };
    assert.equal(await ensureBaseImage(o), "localhost/bee-debian-base:trixie");
    assert.equal(made, 1);
    assert.ok(said.some((s) => /no registry answers \(Error: initializing source/.test(s)), said.join("\n"));
    await Deno.writeTextFile(`${d}/have`, "debian:trixie\n");
    assert.equal(await ensureBaseImage(o), "debian:trixie");
    assert.equal(made, 1, "a present image is neither pulled nor made");
    await Deno.writeTextFile(`${d}/have`, "localhost/bee-debian-base:trixie\n");
    assert.equal(await ensureBaseImage(o), "localhost/bee-debian-base:trixie");
    assert.equal(made, 1, "the debootstrap image is reused");
  } finally {
    Deno.env.set("PATH", path);
    await Deno.remove(d, { recursive: true });
  }
});

Deno.test("deno task iso stops at once, in one line, when the pinned kernel left the mirror", async () => {
  await withMirror(["6.12.140+deb13-amd64"], ["6.12.141+deb13-amd64"], async (url) => {
    const started = performance.now();
    const r = await exec(`${repo}/node_modules/.bin/deno`, [
      "run",
      "-A",
      `${repo}/tasks/iso.ts`,
      "--out",
      "/nonexistent/x.iso",
    ], {
      timeoutMs: 120_000,
      env: {
        BEE_DEBIAN_MIRROR: `${url}/debian`,
        BEE_DEBIAN_SECURITY_MIRROR: `${url}/debian-security`,
        BEE_CACHE_DIR: await Deno.makeTempDir(),
      },
    });
    assert.equal(r.kind, "exited");
    if (r.kind !== "exited") return;
    assert.equal(r.code, 1);
    const errLines = r.stderr.trim().split("\n").filter((l) => !l.startsWith("[iso "));
    assert.deepEqual(errLines, [
      `iso: kernel ${
        parseVersionsFile(VERSIONS).DEBIAN_KERNEL_ABI
      } is no longer on the mirror (newest there: 6.12.141+deb13-amd64); run deno task iso:bump-kernel`,
    ]);
    assert.ok(performance.now() - started < 60_000);
  });
});

Deno.test("kernel ABIs from trixie's real Packages index: signed, cloud, rt and dbg packages are not the amd64 flavour", () => {
  const text = Deno.readTextFileSync(
    `${repo}/tests/fixtures/debian/trixie-main-Packages-linux-image-amd64.txt`,
  );
  const abis = kernelAbis(text, "amd64");
  assert.deepEqual(abis, ["6.12.107+deb13-amd64", "6.12.117+deb13-amd64"]);
  assert.ok(
    abis.includes(parseVersionsFile(VERSIONS).DEBIAN_KERNEL_ABI!),
    "the pinned ABI was on the mirror",
  );
  assert.deepEqual(kernelAbis(text, "cloud-amd64"), [
    "6.12.107+deb13-cloud-amd64",
    "6.12.117+deb13-cloud-amd64",
  ]);
});

Deno.test("deno task iso --expect: a bad order file stops the build at once, in one line, before anything slow", async () => {
  const d = await Deno.makeTempDir();
  await Deno.writeTextFile(`${d}/order.yaml`, "bee_expect: 1\ngpu:\n  - count: 8\n");
  const r = await exec(`${repo}/node_modules/.bin/deno`, [
    "run",
    "-A",
    `${repo}/tasks/iso.ts`,
    "--expect",
    `${d}/order.yaml`,
    "--out",
    "/nonexistent/x.iso",
  ], { timeoutMs: 60_000, env: { BEE_CACHE_DIR: d } });
  assert.equal(r.kind === "exited" && r.code, 1);
  if (r.kind !== "exited") return;
  assert.deepEqual(r.stderr.trim().split("\n"), [
    `iso: --expect: ${d}/order.yaml: (top): Unrecognized key: "gpu"`,
  ]);
  await Deno.remove(d, { recursive: true });
});

Deno.test("22.14: no boot entry of the live-build configuration carries `components` (failsafe included)", () => {
  const cfg = Deno.readTextFileSync(`${repo}/iso/builder/auto/config`);
  const appends = [...cfg.matchAll(/--bootappend-live(-failsafe)? "([^"]*)"/g)].map((
    m,
  ) => [m[1] ?? "", m[2]!]);
  // both set explicitly: live-build's own failsafe default is "boot=live components memtest …"
  assert.deepEqual(appends.map(([k]) => k), ["", "-failsafe"]);
  for (const [, line] of appends) {
    assert.doesNotMatch(line!, /(^|\s)components(\s|=|$)/);
    assert.match(line!, /^boot=live toram /);
  }
});
