// The real `bee web` process started by the launcher with the `web` permission set: headless
// Chromium renders its page, a bounded load runs against it, and the set forbids processes and writes.
import assert from "node:assert/strict";
import { atomicWrite } from "../bee/lib/atomic_write.ts";
import { eightGpuFailAudit, passAudit, warnAudit } from "../testkit/web_fixtures.ts";
import { REPO, startWeb } from "../testkit/helpers.ts";
import { CHROME_FLAGS, chromium } from "../testkit/chromium.ts";

Deno.test({
  name:
    "web in Chromium: the rendered DOM has the verdict banner, as ordered, the bundle link and the GPU table; a screenshot",
  async fn() {
    assert.ok(chromium(), "Debian chromium is not installed: run `sh tasks/setup.sh test` as root");
    const dir = Deno.makeTempDirSync({ prefix: "bee-web-chromium-" });
    // the 8-GPU audit made against an order it misses
    const audit = {
      ...eightGpuFailAudit(),
      expect: {
        name: "HGX order 4711",
        source: "/etc/bee/expect.yaml",
        as_ordered: false,
        differences: 1,
        lines: 6,
      },
    };
    Deno.writeTextFileSync(`${dir}/audit.json`, JSON.stringify(audit));
    const web = await startWeb(`${dir}/audit.json`, `${dir}/sat`);
    try {
      const run = (extra: string[]) =>
        new Deno.Command(chromium()!, {
          args: [...CHROME_FLAGS, `--user-data-dir=${dir}/profile`, ...extra, `${web.base}/`],
          stdout: "piped",
          stderr: "null",
        }).output();
      const dom = new TextDecoder().decode((await run(["--dump-dom"])).stdout);
      assert.match(dom, /<div class="banner FAIL" id="verdict"><h1>FAIL<\/h1>/);
      assert.match(dom, /<h2>GPUs<\/h2>/);
      assert.match(
        dom,
        /id="as-ordered">as ordered: NO \(HGX order 4711\), 1 difference\(s\) from 6 line\(s\)/,
      );
      assert.match(dom, /<a href="\/bundle\.tar" id="bundle">Download everything<\/a>/);
      assert.equal((dom.match(/NVIDIA RTX A6000/g) ?? []).length >= 8, true);
      const shot = `${dir}/bee-web.png`;
      await run([`--screenshot=${shot}`, "--window-size=1280,2000"]);
      const png = Deno.readFileSync(shot);
      assert.ok(png.length > 10_000, `screenshot is ${png.length} bytes`);
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      console.log(`screenshot: ${shot} (${png.length} bytes)`);
    } finally {
      await web.stop();
    }
  },
});

Deno.test("web under load: 10 000 requests from 32 clients while the audit is rewritten every 50 ms", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "bee-web-load-" });
  const auditPath = `${dir}/audit.json`;
  const docs = [passAudit(), warnAudit(), eightGpuFailAudit()].map((a) => JSON.stringify(a));
  await atomicWrite(auditPath, docs[0]!);
  const web = await startWeb(auditPath, `${dir}/sat`);
  let writing = true;
  let rewrites = 0;
  const writer = (async () => {
    while (writing) {
      await atomicWrite(auditPath, docs[rewrites++ % docs.length]!);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const total = 10_000, clients = 32;
  let next = 0, fiveXX = 0, badJson = 0, other = 0;
  const paths = ["/", "/audit.json", "/metrics", "/audit.json"];
  try {
    await Promise.all(Array.from({ length: clients }, async () => {
      while (next < total) {
        const path = paths[next++ % paths.length]!;
        const r = await fetch(web.base + path);
        const body = await r.text();
        if (r.status >= 500) fiveXX++;
        else if (r.status !== 200) other++;
        if (path === "/audit.json") {
          try {
            JSON.parse(body);
          } catch {
            badJson++;
          }
        }
      }
    }));
  } finally {
    writing = false;
    await writer;
    await web.stop();
  }
  console.log(`load: ${total} requests, ${rewrites} rewrites, ${fiveXX} 5xx, ${badJson} bad JSON bodies`);
  assert.equal(fiveXX, 0);
  assert.equal(badJson, 0);
  assert.equal(other, 0);
  assert.ok(rewrites > 5);
});

Deno.test("web permission set: reads only what it serves; spawning a process or writing a file is refused", async () => {
  const file = `${Deno.makeTempDirSync()}/probe.ts`;
  Deno.writeTextFileSync(
    file,
    `const r: string[] = [];
for (const [k, f] of Object.entries({
  run: () => new Deno.Command("true").outputSync(),
  write: () => Deno.writeTextFileSync("/var/log/bee-audit.json", "{}"),
  readEtc: () => Deno.readTextFileSync("/etc/hostname"),
  listenOther: () => Deno.listen({ hostname: "127.0.0.1", port: 8081 }).close(),
})) { try { f(); r.push(k + ":allowed"); } catch (e) { r.push(k + ":" + (e as Error).name); } }
console.log(r.join(" "));`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", "--config", `${REPO}/deno.json`, "--permission-set=web", file],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(
    new TextDecoder().decode(out.stdout).trim(),
    "run:NotCapable write:NotCapable readEtc:NotCapable listenOther:NotCapable",
  );
  const config = JSON.parse(Deno.readTextFileSync(`${REPO}/deno.json`));
  assert.equal(config.permissions.web.run, undefined);
  assert.equal(config.permissions.web.write, undefined);
  assert.deepEqual(config.permissions.web.net, ["0.0.0.0:80"]);
});

Deno.test("bee web: a malformed --listen is a one-line error and exit 2", async () => {
  for (const listen of ["foo", "127.0.0.1:99999"]) {
    const out = await new Deno.Command("/bin/sh", {
      args: [`${REPO}/bin/bee`, "web", "--listen", listen],
      env: { BEE_DENO: Deno.execPath(), BEE_GIT_COMMIT: "test" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr).trim();
    assert.equal(out.code, 2, err);
    assert.equal(
      err.split("\n")[0],
      `error: option '--listen <host:port>' argument '${listen}' is invalid. expected HOST:PORT, e.g. 0.0.0.0:80`,
    );
    assert.doesNotMatch(err, /backtrace|\s{4}at /);
  }
});

Deno.test("web in Chromium: an NVIDIA archive's GPU figures page renders its table, hostile strings inert", async () => {
  assert.ok(chromium(), "Debian chromium is not installed: run `sh tasks/setup.sh test` as root");
  const dir = Deno.makeTempDirSync({ prefix: "bee-web-figures-" });
  Deno.mkdirSync(`${dir}/sat`);
  const folder = "bee-sat-nvidia-SN1-20261207T190000Z";
  Deno.mkdirSync(`${dir}/work/${folder}`, { recursive: true });
  Deno.writeTextFileSync(
    `${dir}/work/${folder}/summary.txt`,
    "kind=nvidia\noverall_status=FAILED\ngpu_stress_tflops_bf16_gpu1=700\n",
  );
  const row = (gpu: number, value: number, verdict: string, serial: string) => ({
    gpu,
    serial,
    model: "H100 SXM",
    figure: "tflops_bf16",
    unit: "TFLOPS",
    value,
    reference: 795,
    warn_below: 755.25,
    fail_below: 675.75,
    floor_fails: false,
    source: "NVIDIA datasheet",
    peer_median: 795,
    peers: 2,
    verdict,
    why: verdict === "PASS" ? null : "12 % under the median",
  });
  Deno.writeTextFileSync(
    `${dir}/work/${folder}/gpu-results.json`,
    JSON.stringify({
      peer_fail_pct: 10,
      results: [row(0, 800, "PASS", "S0"), row(1, 700, "FAIL", "<img src=x onerror=alert(1)>")],
    }),
  );
  const tar = await new Deno.Command("tar", {
    args: ["-czf", `${dir}/sat/${folder}.tar.gz`, "-C", `${dir}/work`, folder],
  }).output();
  assert.equal(tar.code, 0);
  Deno.writeTextFileSync(`${dir}/audit.json`, JSON.stringify(passAudit()));
  const web = await startWeb(`${dir}/audit.json`, `${dir}/sat`);
  try {
    const out = await new Deno.Command(chromium()!, {
      args: [
        ...CHROME_FLAGS,
        `--user-data-dir=${dir}/profile`,
        "--dump-dom",
        `${web.base}/sat/${folder}.tar.gz/gpu-results`,
      ],
      stdout: "piped",
      stderr: "null",
    }).output();
    const dom = new TextDecoder().decode(out.stdout);
    assert.match(dom, /<h2>GPU figures<\/h2>/);
    assert.match(dom, /<td><code>tflops_bf16<\/code><\/td><td><b>700<\/b> TFLOPS<\/td>/);
    assert.match(dom, /class="sev-FAIL">FAIL</);
    // the serial from the archive is text in the DOM, never an element
    assert.doesNotMatch(dom, /<img/);
    assert.match(dom, /GPU 1 \(&lt;img src=x onerror=alert\(1\)&gt;\)/);
    const metrics = await (await fetch(`${web.base}/metrics`)).text();
    assert.match(metrics, /^bee_sat_gpu_figure\{gpu="1",figure="tflops_bf16"\} 700$/m);
  } finally {
    await web.stop();
  }
});
