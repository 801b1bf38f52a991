// Fabric Manager into the image, the whole build-time path on 127.0.0.1: NVIDIA's redistributable manifest
// (redistrib_<version>.json, in its published layout) read by `iso:pin-fabricmanager`, the archive
// (fabricmanager-linux-x86_64-<version>-archive.tar.xz, made here in the real layout) downloaded, checked
// against the pinned SHA-256, unpacked, layout-checked and staged. A wrong checksum, a cut-short download,
// an archive that lacks a file and a tampered cache each leave no unpacked tree and nothing staged.

import assert from "node:assert/strict";
import { exec } from "../bee/lib/exec.ts";
import {
  fabricManagerArchiveName,
  fabricManagerPins,
  fetchFabricManager,
  parseRedistManifest,
  stageFabricManager,
} from "../tasks/iso/fabricmanager.ts";
import { pinFabricManager, pinnedDriverVersion } from "../tasks/iso_pin_fabricmanager.ts";
import { nvidiaPins } from "../tasks/iso/nvidia.ts";
import { parseVersionsFile } from "../tasks/iso/versions.ts";
import { listTree, sha256Hex } from "../tasks/iso/steps.ts";

const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const versionsText = await Deno.readTextFile(`${repo}/iso/builder/VERSIONS`);
const VERSION = "550.163.01";

/** An archive in NVIDIA's redistributable layout; `omit` leaves one file out. */
async function makeArchive(dir: string, version: string, omit?: string): Promise<Uint8Array> {
  const top = fabricManagerArchiveName(version).replace(/\.tar\.xz$/, "");
  const root = `${dir}/src-${omit ? "bad" : "good"}/${top}`;
  const files: Record<string, string> = {
    "bin/nv-fabricmanager": "#!/bin/sh\necho 'Fabric Manager version is : " + version + "'\n",
    "bin/nvswitch-audit": "#!/bin/sh\n",
    "bin/nvidia-fabricmanager-start.sh": "#!/bin/sh\n",
    "lib/libnvfm.so.1": "\x7fELF fake",
    "include/nv_fm_agent.h": "/* */\n",
    "etc/fabricmanager.cfg": "LOG_LEVEL=4\nFABRIC_MODE=0\nTOPOLOGY_FILE_PATH=/usr/share/nvidia/nvswitch\n",
    "etc/fabricmanager_multinode.cfg": "LOG_LEVEL=4\n",
    "share/nvidia/nvswitch/dgxa100_hgxa100_topology": "topo-a100",
    "share/nvidia/nvswitch/dgxh100_hgxh100_topology": "topo-h100",
    "systemd/nvidia-fabricmanager.service": "[Service]\n",
    "LICENSE": "NVIDIA\n",
  };
  for (const [rel, text] of Object.entries(files)) {
    if (rel === omit) continue;
    const slash = rel.lastIndexOf("/");
    await Deno.mkdir(slash < 0 ? root : `${root}/${rel.slice(0, slash)}`, { recursive: true });
    await Deno.writeTextFile(`${root}/${rel}`, text, { mode: rel.startsWith("bin/") ? 0o755 : 0o644 });
  }
  const out = `${dir}/${omit ? "bad" : "good"}-${fabricManagerArchiveName(version)}`;
  const r = await exec("tar", ["-cJf", out, "-C", `${root}/..`, top], { timeoutMs: 60_000 });
  assert.equal(r.kind === "exited" && r.code, 0, r.kind === "exited" ? r.stderr : r.kind);
  return await Deno.readFile(out);
}

function manifest(version: string, sha256: string): string {
  // the published layout: one object per component, per platform a relative_path, sha256, md5 and size
  return JSON.stringify(
    {
      release_date: "2025-01-01",
      release_label: version,
      release_product: "nvidia-driver",
      nvidia_driver: { name: "NVIDIA Linux Driver", version },
      fabricmanager: {
        name: "NVIDIA Fabric Manager",
        license: "NVIDIA Driver",
        license_path: "fabricmanager/LICENSE.txt",
        version,
        "linux-x86_64": {
          relative_path: `fabricmanager/linux-x86_64/${fabricManagerArchiveName(version)}`,
          sha256,
          md5: "0".repeat(32),
          size: "1234",
        },
        "linux-sbsa": {
          relative_path: `fabricmanager/linux-sbsa/fabricmanager-linux-sbsa-${version}-archive.tar.xz`,
          sha256: "1".repeat(64),
        },
      },
    },
    null,
    4,
  );
}

/** Names under a folder (recursively), empty when it is missing. */
async function names(dir: string): Promise<string[]> {
  return (await listTree(dir).catch(() => [])).map((e) => e.rel).sort();
}

Deno.test("Fabric Manager pins: both or neither, and only for the driver's own version", () => {
  const pins = nvidiaPins(parseVersionsFile(versionsText))!;
  // committed: empty on these machines (no internet to read NVIDIA's manifest); the image then says absent
  assert.equal(fabricManagerPins(pins.fabricManagerUrl, pins.fabricManagerSha256, VERSION), null);
  assert.equal(pinnedDriverVersion(parseVersionsFile(versionsText)), VERSION);
  const url = `https://example.invalid/fabricmanager/linux-x86_64/${fabricManagerArchiveName(VERSION)}`;
  assert.deepEqual(fabricManagerPins(url, "a".repeat(64), VERSION), { url, sha256: "a".repeat(64) });
  assert.throws(() => fabricManagerPins(url, null, VERSION), /set both or neither/);
  assert.throws(() => fabricManagerPins(null, "a".repeat(64), VERSION), /set both or neither/);
  assert.throws(
    () => fabricManagerPins(url.replaceAll(VERSION, "570.124.06"), "a".repeat(64), VERSION),
    /names fabricmanager-linux-x86_64-570\.124\.06-archive\.tar\.xz, but the driver is 550\.163\.01/,
  );
  assert.throws(() => parseRedistManifest("{", VERSION), /not JSON/);
  assert.throws(() => parseRedistManifest("{}", VERSION), /lists no fabricmanager linux-x86_64 archive/);
  assert.throws(
    () =>
      parseRedistManifest(
        manifest(VERSION, "a".repeat(64)).replace("fabricmanager/linux-x86_64/", "../"),
        VERSION,
      ),
    /unexpected path/,
  );
  assert.throws(
    () => parseRedistManifest(manifest("570.124.06", "a".repeat(64)), VERSION),
    /unexpected path|lists Fabric Manager 570/,
  );
});

Deno.test("Fabric Manager: manifest → pins → download → verify → stage on 127.0.0.1; every failure stages nothing", async () => {
  const d = await Deno.makeTempDir();
  const good = await makeArchive(d, VERSION);
  const lacking = await makeArchive(d, VERSION, "lib/libnvfm.so.1");
  const goodSum = await sha256Hex(good);
  const rel = `fabricmanager/linux-x86_64/${fabricManagerArchiveName(VERSION)}`;
  let archiveHits = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === `/redist/redistrib_${VERSION}.json`) return new Response(manifest(VERSION, goodSum));
    if (path === `/redist/${rel}`) {
      archiveHits++;
      return new Response(good as Uint8Array<ArrayBuffer>);
    }
    if (path === `/lacking/${rel}`) return new Response(lacking as Uint8Array<ArrayBuffer>);
    if (path === `/short/${rel}`) {
      const body = new ReadableStream({
        start(c) {
          c.enqueue(good.subarray(0, good.length >> 1));
          c.error(new Error("connection reset"));
        },
      });
      return new Response(body, { headers: { "content-length": String(good.length) } });
    }
    return new Response("not here", { status: 404 });
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  const cache = `${d}/cache`, stage = `${d}/stage`;
  await Deno.mkdir(stage);
  const unpacked = async () => (await names(cache)).filter((n) => /^fabricmanager-\d/.test(n));
  try {
    // the pin task reads the manifest for exactly the pinned driver and writes both pins
    const pinned = await pinFabricManager(versionsText, `${base}/redist/`);
    assert.equal(pinned.version, VERSION);
    assert.equal(pinned.url, `${base}/redist/${rel}`);
    assert.equal(pinned.sha256, goodSum);
    const raw = parseVersionsFile(pinned.text);
    assert.equal(raw.NVIDIA_FABRICMANAGER_URL, pinned.url);
    assert.equal(raw.NVIDIA_FABRICMANAGER_SHA256, goodSum);
    assert.equal(raw.DEBIAN_KERNEL_ABI, parseVersionsFile(versionsText).DEBIAN_KERNEL_ABI, "other pins kept");
    assert.equal(pinned.text.split("\n").length, versionsText.split("\n").length, "lines replaced in place");
    await assert.rejects(pinFabricManager(versionsText, `${base}/nothing`), /HTTP 404 \(no redistributables/);
    const pins = fabricManagerPins(raw.NVIDIA_FABRICMANAGER_URL!, raw.NVIDIA_FABRICMANAGER_SHA256!, VERSION)!;

    // wrong checksum, cut short, an archive without libnvfm: each throws, nothing unpacked, nothing staged
    await assert.rejects(
      fetchFabricManager({ ...pins, sha256: "0".repeat(64) }, VERSION, cache),
      /SHA-256 [0-9a-f]{64} does not match the pinned 0{64}/,
    );
    await assert.rejects(
      fetchFabricManager({ url: `${base}/short/${rel}`, sha256: goodSum }, VERSION, cache),
      /cut short/,
    );
    await assert.rejects(
      fetchFabricManager({ url: `${base}/lacking/${rel}`, sha256: await sha256Hex(lacking) }, VERSION, cache),
      /Fabric Manager 550\.163\.01: the archive lacks lib\/libnvfm\.so\.1/,
    );
    assert.deepEqual(await unpacked(), []);
    assert.deepEqual(await names(stage), []);

    // the good archive: unpacked with a MANIFEST, then reused without a download
    const first = await fetchFabricManager(pins, VERSION, cache);
    assert.equal(first.cached, false);
    const hits = archiveHits;
    const again = await fetchFabricManager(pins, VERSION, cache);
    assert.equal(again.cached, true);
    assert.equal(archiveHits, hits, "a verified tree is not downloaded again");

    // a cached tree that changed after its check stages nothing
    const bin = `${first.dir}/bin/nv-fabricmanager`;
    const orig = await Deno.readFile(bin);
    await Deno.writeTextFile(bin, "#!/bin/sh\nrm -rf /\n");
    await assert.rejects(
      stageFabricManager(first.dir, stage),
      /bin\/nv-fabricmanager does not match its checksum/,
    );
    assert.deepEqual(await names(stage), []);
    await Deno.writeFile(bin, orig);

    assert.equal(await stageFabricManager(first.dir, stage), VERSION);
    const staged = await names(stage);
    for (
      const want of [
        "usr/bin/nv-fabricmanager",
        "usr/bin/nvswitch-audit",
        "usr/local/lib/nvidia/lib/libnvfm.so.1",
        "usr/share/nvidia/nvswitch/fabricmanager.cfg",
        "usr/share/nvidia/nvswitch/dgxh100_hgxh100_topology",
        "etc/systemd/system/nvidia-fabricmanager.service",
        "usr/local/lib/nvidia/FABRICMANAGER_VERSION",
      ]
    ) assert.ok(staged.includes(want), `${want} staged (got ${staged.join(", ")})`);
    assert.equal((await Deno.stat(`${stage}/usr/bin/nv-fabricmanager`)).mode! & 0o777, 0o755);
    const unit = await Deno.readTextFile(`${stage}/etc/systemd/system/nvidia-fabricmanager.service`);
    assert.match(
      unit,
      /ExecStart=\/usr\/bin\/nv-fabricmanager -c \/usr\/share\/nvidia\/nvswitch\/fabricmanager\.cfg/,
    );
    assert.doesNotMatch(unit, /\[Install\]/, "not enabled: bee-nvidia starts it on NVSwitch systems only");
  } finally {
    await server.shutdown();
    await Deno.remove(d, { recursive: true });
  }
});
