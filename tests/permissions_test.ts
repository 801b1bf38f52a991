// The launcher gives each flow its own permission set; the sets in deno.json are what the README says.
import assert from "node:assert/strict";
import { fakeBin, REPO, runBee } from "../testkit/helpers.ts";

const config = JSON.parse(Deno.readTextFileSync(`${REPO}/deno.json`));

Deno.test("permissions: bin/bee runs audit with -P audit and other commands with the base set", async () => {
  const bin = fakeBin();
  const log = `${bin}/deno.argv`;
  Deno.writeTextFileSync(`${bin}/fake-deno`, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\n`, { mode: 0o755 });
  for (const args of [["audit", "--no-qr"], ["version"], ["--help"]]) {
    const r = await runBee(args, { path: bin, env: { BEE_DENO: `${bin}/fake-deno` } });
    assert.equal(r.code, 0, r.stderr);
  }
  const lines = Deno.readTextFileSync(log).trim().split("\n");
  assert.match(lines[0]!, /--permission-set=audit .*bee\/main.ts audit --no-qr$/);
  assert.match(lines[1]!, /--permission-set=base .*bee\/main.ts version$/);
  assert.match(lines[2]!, /--permission-set=base /);
  for (const l of lines) assert.match(l, /--no-prompt/);
});

async function probe(set: string, code: string): Promise<string> {
  const file = `${Deno.makeTempDirSync()}/probe.ts`;
  Deno.writeTextFileSync(file, code);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", "--config", `${REPO}/deno.json`, `--permission-set=${set}`, file],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

const ATTEMPTS = `
const tries: Record<string, () => unknown> = {
  run: () => new Deno.Command("true").outputSync(),
  write: () => Deno.writeTextFileSync("/tmp/bee-perm-probe", "x"),
  net: () => Deno.listen({ hostname: "127.0.0.1", port: 0 }).close(),
  proc: () => Deno.readTextFileSync("/proc/meminfo"),
};
const res: string[] = [];
for (const [k, f] of Object.entries(tries)) { try { f(); res.push(k + ":allowed"); } catch (e) { res.push(k + ":" + (e as Error).name); } }
console.log(res.join(" "));
`;

Deno.test("permissions: the base set (version, help) can neither spawn, write, listen nor read /proc", async () => {
  assert.equal(
    await probe("base", ATTEMPTS),
    "run:NotCapable write:NotCapable net:NotCapable proc:NotCapable",
  );
});

Deno.test("permissions: the audit set can read /proc and spawn tools (Deno guards /proc and /sys behind all)", async () => {
  assert.deepEqual(config.permissions.audit, { all: true });
  const r = await probe("audit", ATTEMPTS);
  assert.match(r, /run:allowed .*proc:allowed/);
});
