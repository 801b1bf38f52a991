// The NVIDIA build inputs without a GPU or a container: VERSIONS pins, the runfile download (a real makeself
// archive in the installer's layout, served on 127.0.0.1: good, wrong checksum, cut short, server error) and
// the MANIFEST check that guards every cached part before it is used.

import assert from "node:assert/strict";
import { exec } from "../bee/lib/exec.ts";
import { parseVersionsFile } from "../tasks/iso/versions.ts";
import {
  checkRunfile,
  fetchVerified,
  nvidiaPins,
  runfileVersion,
  verifyManifest,
  writeManifest,
} from "../tasks/iso/nvidia.ts";
import { sha256Hex } from "../tasks/iso/steps.ts";

const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const raw = parseVersionsFile(await Deno.readTextFile(`${repo}/iso/builder/VERSIONS`));

Deno.test("NVIDIA pins: Debian 550 open by default, one CUDA series, runfile needs URL and SHA-256", () => {
  const p = nvidiaPins(raw)!;
  assert.equal(p.source, "debian");
  assert.equal(p.flavor, "open");
  assert.match(p.debianVersion, /^550\.163\.01-\d+$/);
  assert.equal(p.cudaSeries, "12.4");
  assert.equal(nvidiaPins({ ...raw, NVIDIA_SOURCE: "none" }), null);
  assert.throws(
    () => nvidiaPins({ ...raw, NVIDIA_SOURCE: "runfile" }),
    /NVIDIA_RUNFILE_URL and NVIDIA_RUNFILE_SHA256/,
  );
  assert.throws(() => nvidiaPins({ ...raw, NVIDIA_FLAVOR: "closed" }), /open or proprietary/);
  assert.throws(
    () => nvidiaPins({ ...raw, CUBLAS_DEBIAN_VERSION: "12.8.4.1~12.8.1-1" }),
    /CUDA_SERIES 12\.4/,
  );
  assert.throws(() => nvidiaPins({ ...raw, NVIDIA_RUNFILE_SHA256: "abc" }), /SHA-256/);
  assert.equal(runfileVersion("https://example/NVIDIA-Linux-x86_64-570.124.06.run"), "570.124.06");
  assert.throws(() => runfileVersion("https://example/driver.run"), /NVIDIA-Linux-x86_64/);
});

/** A real makeself archive laid out like NVIDIA's installer (kernel/, kernel-open/, nvidia-smi, libraries). */
async function makeRunfile(dir: string, version: string): Promise<Uint8Array> {
  const src = `${dir}/NVIDIA-Linux-x86_64-${version}`;
  for (const d of ["kernel/nvidia", "kernel-open/nvidia", "firmware"]) {
    await Deno.mkdir(`${src}/${d}`, { recursive: true });
  }
  await Deno.writeTextFile(`${src}/kernel/Makefile`, `NVIDIA_VERSION = ${version}\n`);
  await Deno.writeTextFile(`${src}/kernel-open/Kbuild`, "obj-m := nvidia.o\n");
  await Deno.writeTextFile(`${src}/nvidia-smi`, "#!/bin/sh\necho fake\n", { mode: 0o755 });
  await Deno.writeTextFile(`${src}/libnvidia-ml.so.${version}`, "elf?");
  await Deno.writeTextFile(`${src}/firmware/gsp_ga10x.bin`, "fw");
  const out = `${dir}/NVIDIA-Linux-x86_64-${version}.run`;
  const r = await exec("makeself", [
    "--quiet",
    "--nox11",
    src,
    out,
    "NVIDIA driver (test)",
    "./nvidia-installer",
  ], {
    timeoutMs: 60_000,
  });
  assert.equal(
    r.kind === "exited" && r.code,
    0,
    r.kind === "exited" ? r.stderr : "makeself missing (setup installs it)",
  );
  return await Deno.readFile(out);
}

Deno.test("runfile: downloaded once and checked; bad checksum, cut-short download and server error leave the cache as it was", async () => {
  const d = await Deno.makeTempDir();
  const version = "570.124.06";
  const good = await makeRunfile(d, version);
  const sum = await sha256Hex(good);
  let hits = 0;
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    onError: () => new Response(null, { status: 500 }),
  }, (req) => {
    hits++;
    const path = new URL(req.url).pathname;
    if (path === `/ok/NVIDIA-Linux-x86_64-${version}.run`) {
      return new Response(good as Uint8Array<ArrayBuffer>);
    }
    if (path.startsWith("/short/")) {
      // promises the whole file, sends half, then hangs up
      const body = new ReadableStream({
        start(c) {
          c.enqueue(good.subarray(0, good.length >> 1));
          c.error(new Error("connection reset"));
        },
      });
      return new Response(body, { headers: { "content-length": String(good.length) } });
    }
    return new Response("gone", { status: 503 });
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  const cacheDir = `${d}/cache`;
  const dest = `${cacheDir}/NVIDIA-Linux-x86_64-${version}.run`;
  try {
    const listing = async () => {
      const names: string[] = [];
      try {
        for await (const e of Deno.readDir(cacheDir)) names.push(e.name);
      } catch { /* not made yet */ }
      return names.sort();
    };
    await assert.rejects(
      fetchVerified(`${base}/ok/NVIDIA-Linux-x86_64-${version}.run`, "0".repeat(64), dest),
      /SHA-256 [0-9a-f]{64} does not match the pinned 0{64}/,
    );
    assert.deepEqual(await listing(), []);
    await assert.rejects(
      fetchVerified(`${base}/short/NVIDIA-Linux-x86_64-${version}.run`, sum, dest),
      /cut short/,
    );
    assert.deepEqual(await listing(), []);
    await assert.rejects(
      fetchVerified(`${base}/err/NVIDIA-Linux-x86_64-${version}.run`, sum, dest),
      /HTTP 503/,
    );
    assert.deepEqual(await listing(), []);
    assert.equal(
      await fetchVerified(`${base}/ok/NVIDIA-Linux-x86_64-${version}.run`, sum, dest),
      "downloaded",
    );
    assert.deepEqual(await listing(), [`NVIDIA-Linux-x86_64-${version}.run`]);
    const before = hits;
    assert.equal(await fetchVerified(`${base}/ok/NVIDIA-Linux-x86_64-${version}.run`, sum, dest), "cached");
    assert.equal(hits, before, "a verified cached file is not fetched again");
    // the makeself archive's own check passes and its layout is an NVIDIA installer's
    await checkRunfile(dest);
    // a flipped byte in the payload: makeself's integrity check refuses it
    const bad = new Uint8Array(good);
    bad[bad.length - 100] = bad[bad.length - 100]! ^ 0xff;
    await Deno.writeFile(`${d}/bad.run`, bad);
    await assert.rejects(checkRunfile(`${d}/bad.run`), /integrity check failed/);
  } finally {
    await server.shutdown();
    await Deno.remove(d, { recursive: true });
  }
});

Deno.test("cached parts: MANIFEST catches a changed, missing or extra file", async () => {
  const d = await Deno.makeTempDir();
  await Deno.mkdir(`${d}/modules`);
  await Deno.writeTextFile(`${d}/modules/nvidia.ko`, "ko");
  await Deno.writeTextFile(`${d}/VERSION`, "550.163.01\n");
  assert.equal(await verifyManifest(d), "no MANIFEST");
  await writeManifest(d);
  assert.equal(await verifyManifest(d), null);
  await Deno.writeTextFile(`${d}/modules/nvidia.ko`, "kO");
  assert.equal(await verifyManifest(d), "modules/nvidia.ko does not match its checksum");
  await Deno.remove(`${d}/modules/nvidia.ko`);
  assert.equal(await verifyManifest(d), "modules/nvidia.ko is missing");
  await writeManifest(d);
  await Deno.writeTextFile(`${d}/extra.so`, "x");
  assert.equal(await verifyManifest(d), "extra.so is not in MANIFEST");
  await Deno.remove(d, { recursive: true });
});
