import assert from "node:assert/strict";
import { makeHandler } from "../bee/web/handler.ts";
import { Audit } from "../bee/model/schema.ts";
import { eightGpuFailAudit, hostileAudit, passAudit, warnAudit } from "../testkit/web_fixtures.ts";

function setup(audit: Audit | string | null) {
  const dir = Deno.makeTempDirSync({ prefix: "bee-web-" });
  const auditPath = `${dir}/bee-audit.json`;
  if (audit !== null) {
    Deno.writeTextFileSync(auditPath, typeof audit === "string" ? audit : JSON.stringify(audit));
  }
  Deno.mkdirSync(`${dir}/sat`);
  return { dir, auditPath, satDir: `${dir}/sat`, handler: makeHandler({ auditPath, satDir: `${dir}/sat` }) };
}

async function get(h: (r: Request) => Promise<Response>, path: string, method = "GET") {
  const r = await h(new Request(`http://bee.test${path}`, { method }));
  return { status: r.status, headers: r.headers, body: await r.text() };
}

Deno.test("web: PASS, WARN and FAIL pages show the verdict banner, counts and findings", async () => {
  for (
    const [audit, verdict] of [[passAudit(), "PASS"], [warnAudit(), "WARN"], [
      eightGpuFailAudit(),
      "FAIL",
    ]] as const
  ) {
    const { handler } = setup(audit);
    const r = await get(handler, "/");
    assert.equal(r.status, 200);
    assert.match(r.body, new RegExp(`<div class="banner ${verdict}" id="verdict"><h1>${verdict}</h1>`));
    assert.match(
      r.body,
      new RegExp(
        `${audit.hardware.summary.failures} failure\\(s\\) · ${audit.hardware.summary.warnings} warning\\(s\\)`,
      ),
    );
    for (const f of audit.hardware.summary.findings) assert.ok(r.body.includes(f.code), f.code);
    assert.doesNotMatch(r.body, /<script|src="http|href="http/i);
    assert.match(r.body, /<svg/);
  }
});

Deno.test("web: the 8-GPU page has a GPU table with eight rows and the failing GPU's remap", async () => {
  const { handler } = setup(eightGpuFailAudit());
  const r = await get(handler, "/");
  const gpuSection = r.body.slice(r.body.indexOf("<h2>GPUs</h2>"), r.body.indexOf("<h2>PCIe devices</h2>"));
  assert.equal((gpuSection.match(/<tr><td>\d<\/td><td>NVIDIA RTX A6000/g) ?? []).length, 8);
  assert.match(r.body, /nvidia\.remap_pending/);
  assert.match(r.body, /storage\.smart_failed/);
});

Deno.test("web: hostile strings from hardware are escaped and bounded", async () => {
  const { handler } = setup(hostileAudit());
  const r = await get(handler, "/");
  assert.ok(!r.body.includes("<script"));
  assert.ok(!r.body.includes("<iframe"));
  assert.ok(r.body.includes("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62;"));
  assert.ok(!r.body.includes("S".repeat(201)), "serial not truncated on the page");
});

Deno.test("web: security headers on every response", async () => {
  const { handler } = setup(passAudit());
  for (const p of ["/", "/audit.json", "/metrics", "/healthz", "/nope", "/sat/"]) {
    const r = await get(handler, p);
    assert.equal(
      r.headers.get("content-security-policy"),
      "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
      p,
    );
    assert.equal(r.headers.get("x-content-type-options"), "nosniff", p);
  }
});

Deno.test("web: no audit yet → explanatory page and 503 on /audit.json", async () => {
  const { handler } = setup(null);
  const page = await get(handler, "/");
  assert.equal(page.status, 200);
  assert.match(page.body, /NO AUDIT YET/);
  const j = await get(handler, "/audit.json");
  assert.equal(j.status, 503);
  assert.equal((await get(handler, "/healthz")).status, 200);
});

Deno.test("web: corrupt, truncated and schema-invalid audits give an error page naming the problem", async () => {
  const good = JSON.stringify(passAudit());
  const cases: [string, RegExp][] = [
    [good.slice(0, good.length / 2), /not valid JSON \(truncated or corrupt\)/],
    ["\x00\x01garbage", /not valid JSON/],
    [
      JSON.stringify({ ...passAudit(), schema_version: 99 }),
      /does not match the audit schema at schema_version/,
    ],
  ];
  for (const [text, re] of cases) {
    const { handler } = setup(text);
    const r = await get(handler, "/");
    assert.equal(r.status, 500);
    assert.match(r.body, re);
    assert.match(r.body, /AUDIT UNREADABLE/);
    const j = await get(handler, "/audit.json");
    assert.equal(j.status, 500);
    assert.match(JSON.parse(j.body).error, re);
  }
});

Deno.test("web: /audit.json is the file, /audit.schema.json the committed schema", async () => {
  const a = passAudit();
  const { handler } = setup(a);
  const r = await get(handler, "/audit.json");
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type")!, /^application\/json/);
  assert.deepEqual(JSON.parse(r.body), a);
  const s = await get(handler, "/audit.schema.json");
  assert.equal(JSON.parse(s.body).title, "bee hardware audit");
});

Deno.test("web: unknown paths 404, other methods 405, HEAD has no body", async () => {
  const { handler } = setup(passAudit());
  assert.equal((await get(handler, "/etc/passwd")).status, 404);
  const post = await get(handler, "/", "POST");
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
  assert.equal((await get(handler, "/", "DELETE")).status, 405);
  const head = await get(handler, "/", "HEAD");
  assert.equal(head.status, 200);
  assert.equal(head.body, "");
});

async function makeArchive(satDir: string, name: string, summary: string, withMetrics: boolean) {
  const work = Deno.makeTempDirSync();
  const folder = name.replace(/\.tar\.gz$/, "");
  Deno.mkdirSync(`${work}/${folder}`);
  Deno.writeTextFileSync(`${work}/${folder}/summary.txt`, summary);
  Deno.writeTextFileSync(`${work}/${folder}/nvidia-smi-q.log`, "x".repeat(5000));
  if (withMetrics) {
    Deno.writeTextFileSync(
      `${work}/${folder}/gpu-metrics.html`,
      "<!doctype html><title>metrics</title><svg></svg>",
    );
  }
  const o = await new Deno.Command("tar", { args: ["-czf", `${satDir}/${name}`, "-C", work, folder] })
    .output();
  assert.equal(o.code, 0);
}

Deno.test("web: /sat/ lists archives newest first with their overall status; downloads and metrics pages", async () => {
  const { handler, satDir, dir } = setup(passAudit());
  await makeArchive(
    satDir,
    "bee-sat-memory-node-20261120T100000Z.tar.gz",
    "kind=memory\noverall_status=FAILED\n",
    false,
  );
  await new Promise((r) => setTimeout(r, 20));
  await makeArchive(
    satDir,
    "bee-sat-nvidia-node-20261124T100000Z.tar.gz",
    "kind=nvidia\noverall_status=OK\ngpu_stress_status=OK\n",
    true,
  );
  Deno.writeTextFileSync(`${satDir}/notes.txt`, "not an archive");
  Deno.writeTextFileSync(`${dir}/secret.txt`, "secret");
  const list = await get(handler, "/sat/");
  assert.equal(list.status, 200);
  const iNv = list.body.indexOf("bee-sat-nvidia"), iMem = list.body.indexOf("bee-sat-memory");
  assert.ok(iNv > 0 && iMem > iNv, "newest first");
  assert.match(list.body, /<b>OK<\/b>/);
  assert.match(list.body, /<b>FAILED<\/b>/);
  assert.ok(!list.body.includes("notes.txt"));
  const dl = await get(handler, "/sat/bee-sat-nvidia-node-20261124T100000Z.tar.gz");
  assert.equal(dl.status, 200);
  assert.equal(dl.headers.get("content-type"), "application/gzip");
  const m = await get(handler, "/sat/bee-sat-nvidia-node-20261124T100000Z.tar.gz/gpu-metrics.html");
  assert.equal(m.status, 200);
  assert.match(m.body, /<title>metrics<\/title>/);
  for (
    const p of [
      "/sat/../secret.txt",
      "/sat/..%2fsecret.txt",
      "/sat/notes.txt",
      "/sat/bee-sat-x-..%2f..%2fsecret.tar.gz",
      "/sat/bee-sat-missing-20260101T000000Z.tar.gz",
    ]
  ) {
    const r = await get(handler, p);
    assert.equal(r.status, 404, p);
    assert.ok(!r.body.includes("secret"), p);
  }
  const metrics = await get(handler, "/metrics");
  // bounded cardinality: by kind and status, never one series per archive
  assert.match(metrics.body, /^bee_sat_runs\{kind="nvidia",status="OK"\} \d+$/m);
  assert.match(metrics.body, /^bee_sat_last_result\{kind="nvidia",status="OK"\} 1$/m);
  assert.match(metrics.body, /^bee_sat_last_timestamp_seconds\{kind="nvidia"\} \d+/m);
  assert.doesNotMatch(metrics.body, /archive="/);
});

Deno.test("web: /metrics exposes verdict, counts and per-GPU gauges", async () => {
  const { handler } = setup(eightGpuFailAudit());
  const r = await get(handler, "/metrics");
  assert.match(r.body, /^bee_audit_verdict\{verdict="FAIL"\} 1$/m);
  assert.match(r.body, /^bee_audit_failures \d+$/m);
  assert.equal((r.body.match(/^bee_gpu_temperature_celsius\{/gm) ?? []).length, 8);
  assert.match(r.body, /^bee_gpu_remapped_rows_pending\{gpu="5",[^}]*\} 1$/m);
  // every finding as a series with its rule code, component and severity
  const a = eightGpuFailAudit();
  const series = r.body.split("\n").filter((l) => l.startsWith("bee_finding{"));
  assert.equal(series.length, a.hardware.summary.findings.length);
  const f0 = a.hardware.summary.findings[0]!;
  assert.ok(
    series.includes(`bee_finding{code="${f0.code}",component="${f0.component}",severity="${f0.severity}"} 1`),
  );
  assert.match(r.body, /^bee_machine_info\{serial="[^"]*",manufacturer=/m);
});

Deno.test("22.9: /metrics never repeats a series: two findings of one code and component are one series of 2", async () => {
  const a = warnAudit();
  const f = { code: "bom.unchecked", component: "bom", severity: "WARN" as const, message: "x", action: "y" };
  a.hardware.summary.findings = [
    { ...f, message: "GPU line not checked" },
    { ...f, message: "NIC line not checked" },
    ...a.hardware.summary.findings,
  ];
  const body = (await get(setup(a).handler, "/metrics")).body;
  const seen = new Set<string>();
  for (const l of body.split("\n").filter((l) => l && !l.startsWith("#"))) {
    const key = l.slice(0, l.lastIndexOf(" "));
    assert.ok(!seen.has(key), `series repeated: ${key}`);
    seen.add(key);
  }
  assert.match(body, /^bee_finding\{code="bom\.unchecked",component="bom",severity="WARN"\} 2$/m);
});

Deno.test("web: 'as ordered' beside the verdict when the audit was made against an order; escaped", async () => {
  const a = warnAudit();
  assert.doesNotMatch((await get(setup(a).handler, "/")).body, /as-ordered/);
  const ordered = {
    ...a,
    expect: {
      name: "<b>8×H100</b>",
      source: "/etc/bee/expect.yaml",
      as_ordered: false,
      differences: 2,
      lines: 9,
    },
  };
  const page = (await get(setup(ordered).handler, "/")).body;
  assert.match(
    page,
    /<p class="ordered" id="as-ordered">as ordered: NO \(&#60;b&#62;8×H100&#60;\/b&#62;\), 2 difference\(s\) from 9 line\(s\) · order \/etc\/bee\/expect\.yaml<\/p>/,
  );
  const yes = (await get(
    setup({ ...ordered, expect: { ...ordered.expect, as_ordered: true, differences: 0 } }).handler,
    "/",
  ))
    .body;
  assert.match(
    yes,
    /id="as-ordered">as ordered: yes \(&#60;b&#62;8×H100&#60;\/b&#62;\), 9 line\(s\) checked/,
  );
});

Deno.test("web: /metrics says whether the machine is as ordered (only when an order was given)", async () => {
  const a = warnAudit();
  assert.doesNotMatch((await get(setup(a).handler, "/metrics")).body, /bee_as_ordered/);
  const ordered = { ...a, expect: { name: null, source: null, as_ordered: false, differences: 3, lines: 7 } };
  const m = (await get(setup(ordered).handler, "/metrics")).body;
  assert.match(m, /^bee_as_ordered 0$/m);
  assert.match(m, /^bee_order_differences 3$/m);
});

Deno.test("web: /expect.schema.json is the committed order schema, beside the audit's", async () => {
  const r = await get(setup(passAudit()).handler, "/expect.schema.json");
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("content-type"), "application/schema+json");
  assert.deepEqual(
    JSON.parse(r.body),
    JSON.parse(Deno.readTextFileSync(new URL("../bee/model/expect.schema.json", import.meta.url))),
  );
});

Deno.test("22.13: 1200 archives are read once, not at every listing; 40 parallel metrics pages inflate once", async () => {
  const { archiveReads, listSatArchives, archiveMember } = await import("../bee/sat/archives.ts");
  const { writeTarGzEntries } = await import("../bee/lib/tar.ts");
  const dir = Deno.makeTempDirSync({ prefix: "bee-many-sat-" });
  const one = `${dir}/bee-sat-memory-h-20261130T100000Z.tar.gz`;
  await writeTarGzEntries(one, [
    {
      name: "bee-sat-memory-h-20261130T100000Z/summary.txt",
      data: new TextEncoder().encode("kind=memory\noverall_status=OK\n"),
    },
  ]);
  const bytes = Deno.readFileSync(one);
  for (let i = 1; i < 1200; i++) {
    const t = new Date(Date.UTC(2026, 10, 1) + i * 60_000).toISOString().replace(/[-:]/g, "").replace(
      /\.\d+Z$/,
      "Z",
    );
    Deno.writeFileSync(`${dir}/bee-sat-memory-h-${t}.tar.gz`, bytes);
  }
  const r0 = archiveReads.summaries;
  assert.equal((await listSatArchives(dir)).length, 1200);
  assert.equal(archiveReads.summaries - r0, 1200);
  const t0 = performance.now();
  await listSatArchives(dir);
  console.log(`second listing of 1200 archives: ${Math.round(performance.now() - t0)} ms`);
  assert.equal(archiveReads.summaries - r0, 1200, "the second listing read no summary again");

  // a metrics page of 20 MB: 40 requests at once share one inflate, later ones come from the cache
  const html = new TextEncoder().encode("<html>" + "x".repeat(20_000_000) + "</html>");
  const a = `${dir}/bee-sat-nvidia-h-20261201T100000Z.tar.gz`;
  await writeTarGzEntries(a, [{ name: "bee-sat-nvidia-h-20261201T100000Z/gpu-metrics.html", data: html }]);
  const m0 = archiveReads.members;
  const got = await Promise.all(Array.from({ length: 40 }, () => archiveMember(a, "/gpu-metrics.html")));
  assert.ok(got.every((g) => g?.length === html.length));
  assert.equal(archiveReads.members - m0, 1, "one inflate for 40 requests");
  await archiveMember(a, "/gpu-metrics.html");
  assert.equal(archiveReads.members - m0, 1, "then served from the cache");
});
