// The builder image with a real container engine: built once, reused, and rebuilt when an image of another
// architecture sits under its tag (imported here with `podman import --arch arm64`).

import assert from "node:assert/strict";
import { exec } from "../../bee/lib/exec.ts";
import { detectEngine, probeRunArgs } from "../../tasks/iso/container.ts";
import { ensureBuilderImage } from "../../tasks/iso/steps.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function importImage(engine: string, dir: string, tag: string, arch: string): Promise<void> {
  await Deno.writeTextFile(`${dir}/marker`, `${arch}\n`);
  const tar = `${dir}/${arch}.tar`;
  const t = await exec("tar", ["-C", dir, "-cf", tar, "marker"], { timeoutMs: 30_000 });
  assert.equal(t.kind === "exited" && t.code, 0);
  const r = await exec(engine, ["import", "--arch", arch, tar, tag], { timeoutMs: 120_000 });
  assert.equal(r.kind === "exited" && r.code, 0, r.kind === "exited" ? r.stderr : r.kind);
}

Deno.test({
  name: "builder image: built, reused, and rebuilt over an image of the wrong architecture",
  ...opts,
}, async () => {
  const engine = await detectEngine({ BEE_CONTAINER: "podman" });
  const d = await Deno.makeTempDir();
  const base = "localhost/bee-test-base:arch";
  await importImage(engine, d, base, "amd64");
  // a Dockerfile that runs nothing: the test is about tags and architectures, not about apt
  const repo = `${d}/repo`;
  await Deno.mkdir(`${repo}/iso/builder`, { recursive: true });
  await Deno.writeTextFile(
    `${repo}/iso/builder/Dockerfile`,
    `ARG BASE_IMAGE\nFROM \${BASE_IMAGE}\nLABEL bee.test="${crypto.randomUUID()}"\n`,
  );
  const setup = {
    engine,
    runArgs: [],
    buildArgs: (await probeRunArgs(engine, base).catch(() => null))?.buildArgs ?? [],
  };
  const said: string[] = [];
  const o = {
    setup,
    repo,
    baseImage: base,
    platform: "linux/amd64",
    log: (s: string) => said.push(s),
    logFile: `${d}/build.log`,
  };
  const first = await ensureBuilderImage(o);
  assert.equal(first.cached, false);
  const again = await ensureBuilderImage(o);
  assert.deepEqual(again, { tag: first.tag, cached: true });
  // replace it with an arm64 image under the same tag
  await exec(engine, ["rmi", "-f", first.tag], { timeoutMs: 60_000 });
  await importImage(engine, d, first.tag, "arm64");
  const fixed = await ensureBuilderImage(o);
  assert.equal(fixed.cached, false);
  assert.ok(said.some((s) => /is arm64, not amd64: rebuilding/.test(s)), said.join("\n"));
  const arch = await exec(engine, ["image", "inspect", "--format", "{{.Architecture}}", first.tag], {
    timeoutMs: 30_000,
  });
  assert.equal(arch.kind === "exited" && arch.stdout.trim(), "amd64");
  await exec(engine, ["rmi", "-f", first.tag, base], { timeoutMs: 60_000 });
  await Deno.remove(d, { recursive: true });
});
