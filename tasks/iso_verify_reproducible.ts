// `deno task iso:verify-reproducible`: builds the ISO twice from clean live-build work directories — the
// second with an empty live-build package/bootstrap cache of its own — and compares them: the same sha256, or
// a short list by path of what differs (ISO files, squashfs contents and metadata; tasks/iso/repro-diff.sh in
// the builder container) and exit 1. Extra arguments go to both builds (e.g. --authorized-keys FILE).
import { runProc } from "../bee/lib/proc.ts";
import { exec } from "../bee/lib/exec.ts";
import { detectEngine, probeRunArgs } from "./iso/container.ts";

const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const say = (s: string) => console.error(`[repro] ${s}`);

async function build(
  name: string,
  env: Record<string, string>,
): Promise<{ path: string; sha: string; s: number }> {
  const out = `${repo}/dist/repro-${name}.iso`;
  const t = performance.now();
  say(`build ${name} …`);
  const r = await runProc(`${repo}/node_modules/.bin/deno`, [
    "run",
    "--allow-all",
    `${repo}/tasks/iso.ts`,
    "--rebuild",
    "--out",
    out,
    ...Deno.args,
  ], { timeoutMs: 150 * 60_000, env, stdoutPath: `${repo}/dist/repro-${name}.log`, onLine: () => {} });
  if (r.kind !== "exited" || r.code !== 0) {
    throw new Error(`build ${name} failed: see dist/repro-${name}.log`);
  }
  const sha = (await Deno.readTextFile(`${out}.sha256`)).split(/\s+/)[0]!;
  const s = Math.round((performance.now() - t) / 1000);
  say(`build ${name}: ${sha} (${s} s)`);
  return { path: out, sha, s };
}

async function builderTag(): Promise<string> {
  const engine = await detectEngine(Deno.env.toObject());
  const r = await exec(engine, ["images", "--format", "{{.Repository}}:{{.Tag}}"], { timeoutMs: 30_000 });
  const tag = r.kind === "exited" ? r.stdout.split("\n").find((l) => /bee-builder:/.test(l)) : undefined;
  if (!tag) throw new Error("no bee-builder image to compare in");
  return tag;
}

if (import.meta.main) {
  try {
    const a = await build("a", {});
    const fresh = await Deno.makeTempDir({ prefix: "bee-lb-cache-" });
    const b = await build("b", { BEE_LB_CACHE_DIR: fresh });
    await Deno.remove(fresh, { recursive: true }).catch(() => {});
    if (a.sha === b.sha) {
      say(`reproducible: both builds ${a.sha} (${a.s} s and ${b.s} s)`);
      console.log(a.sha);
      Deno.exit(0);
    }
    say("the builds differ; comparing in the builder container …");
    await Deno.remove(`${repo}/dist/repro-diff.txt`).catch(() => {});
    const engine = await detectEngine(Deno.env.toObject());
    const tag = await builderTag();
    const setup = await probeRunArgs(engine, tag);
    const r = await runProc(engine, [
      "run",
      "--rm",
      ...setup.runArgs,
      "-v",
      `${repo}/dist:/dist:ro`,
      "-v",
      `${repo}/tasks/iso/repro-diff.sh:/repro-diff.sh:ro`,
      tag,
      "sh",
      "/repro-diff.sh",
      "/dist/repro-a.iso",
      "/dist/repro-b.iso",
    ], { timeoutMs: 60 * 60_000, stdoutPath: `${repo}/dist/repro-diff.txt` });
    console.log(await Deno.readTextFile(`${repo}/dist/repro-diff.txt`));
    say(`not reproducible: ${a.sha} ≠ ${b.sha} (${r.kind === "exited" ? `diff exit ${r.code}` : r.kind})`);
    Deno.exit(1);
  } catch (e) {
    console.error(`iso:verify-reproducible: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
