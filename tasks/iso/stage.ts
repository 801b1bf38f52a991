// The one map of what goes into the image: the staged tree (dist/iso-stage/, copied into live-build's
// config/includes.chroot/) is made here, one function per source, in this order. The input hash that
// decides whether a cached ISO is reused covers everything staged plus the live-build tree and mirrors.
import { copyTree, hashTree, isoDenoJson, removeTree, sha256Hex } from "./steps.ts";
import { type NvidiaBuilt, stageNvidia } from "./nvidia_stage.ts";
import type { Versions } from "./versions.ts";

/** Vendor RAID/HBA tools an operator may drop into iso/vendor/ (not redistributable, so not in the repo). */
export const VENDOR_TOOLS = ["storcli64", "sas2ircu", "sas3ircu", "ssacli", "arcconf"];

export interface StageInputs {
  repo: string;
  stage: string;
  /** the bee bundle (deno bundle of bee/main.ts) and the pinned Deno runtime */
  bundle: string;
  deno: string;
  /** root's authorized_keys text, or null for the password marker */
  keys: string | null;
  /** the order file's text (`--expect`), or null */
  expectText: string | null;
  nvidia: NvidiaBuilt | null;
  say: (s: string) => void;
}

/** iso/overlay/ as it is: units, scripts, configuration (a new unit or script is one file there). */
async function stageOverlay(i: StageInputs): Promise<void> {
  await removeTree(i.stage);
  await copyTree(`${i.repo}/iso/overlay`, i.stage);
}

/** bee itself: the bundle, the runtime, a permission-only deno.json and the launcher. */
async function stageBee(i: StageInputs): Promise<void> {
  const lib = `${i.stage}/usr/local/lib/bee`;
  await Deno.mkdir(`${lib}/bin`, { recursive: true });
  await Deno.copyFile(i.bundle, `${lib}/bee.js`);
  await Deno.copyFile(i.deno, `${lib}/deno`);
  await Deno.chmod(`${lib}/deno`, 0o755);
  await Deno.writeTextFile(`${lib}/deno.json`, isoDenoJson(await Deno.readTextFile(`${i.repo}/deno.json`)));
  await Deno.copyFile(`${i.repo}/bin/bee`, `${lib}/bin/bee`);
  await Deno.chmod(`${lib}/bin/bee`, 0o755);
  await Deno.mkdir(`${i.stage}/usr/local/bin`, { recursive: true });
  await Deno.symlink("../lib/bee/bin/bee", `${i.stage}/usr/local/bin/bee`);
}

/** SSH access: root's authorized_keys, or the marker that turns password login on. */
async function stageAccess(i: StageInputs): Promise<void> {
  if (i.keys) {
    await Deno.mkdir(`${i.stage}/root/.ssh`, { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(`${i.stage}/root/.ssh/authorized_keys`, i.keys, { mode: 0o600 });
  } else {
    await Deno.mkdir(`${i.stage}/etc/bee`, { recursive: true });
    await Deno.writeTextFile(`${i.stage}/etc/bee/ssh-password-login`, "built without SSH keys\n");
  }
}

/** The order: bee audit compares with it at every boot (PATHS.expect); its content is part of the input hash. */
async function stageOrder(i: StageInputs): Promise<void> {
  if (i.expectText === null) return;
  await Deno.mkdir(`${i.stage}/etc/bee`, { recursive: true });
  await Deno.writeTextFile(`${i.stage}/etc/bee/expect.yaml`, i.expectText, { mode: 0o644 });
  i.say("expected bill of materials → /etc/bee/expect.yaml");
}

/** Vendor tools found in iso/vendor/. */
async function stageVendorTools(i: StageInputs): Promise<void> {
  for (const t of VENDOR_TOOLS) {
    const src = `${i.repo}/iso/vendor/${t}`;
    if (!(await Deno.stat(src).catch(() => null))) continue;
    await Deno.mkdir(`${i.stage}/usr/local/bin`, { recursive: true });
    await Deno.copyFile(src, `${i.stage}/usr/local/bin/${t}`);
    await Deno.chmod(`${i.stage}/usr/local/bin/${t}`, 0o755);
    i.say(`vendor tool ${t} added`);
  }
}

/** The NVIDIA parts (modules, libraries, firmware, nvidia-smi, bee-gpu-stress, Fabric Manager when pinned). */
async function stageNvidiaParts(i: StageInputs): Promise<void> {
  if (i.nvidia) await stageNvidia(i.nvidia, i.stage);
}

/** Every source of the staged tree, in order. */
export const STAGE_SOURCES: ((i: StageInputs) => Promise<void>)[] = [
  stageOverlay,
  stageBee,
  stageAccess,
  stageOrder,
  stageVendorTools,
  stageNvidiaParts,
];

/** Stages the image and returns its input hash (staged tree, live-build tree, mirrors, compression). */
export async function stageImage(i: StageInputs, v: Versions): Promise<string> {
  for (const source of STAGE_SOURCES) await source(i);
  return await sha256Hex(
    [
      await hashTree(i.stage),
      // the smoke test runs against a booted image; it is not part of it
      await hashTree(`${i.repo}/iso/builder`, (rel) => rel === "smoketest.sh"),
      v.mirror,
      v.securityMirror,
      v.squashfsCompression,
    ].join("\n"),
  );
}
