// Issue 13, cases 4–6: the real `bee web` (launcher, `web` permission set, 128 file descriptors) against
// idle connection floods, HEAD requests, a FIFO or symlink as the audit path and a gzip bomb in the SAT
// folder. Each failed on commit 83d381f (Deno.serve: the process died at EMFILE, idle connections stayed
// open forever, HEAD leaked the archive's file, a FIFO wedged the server, /sat/ inflated whole archives).
import assert from "node:assert/strict";
import { startWeb as startRealWeb } from "../testkit/helpers.ts";
import { passAudit } from "../testkit/web_fixtures.ts";
import { writeTarGz } from "../bee/lib/tar.ts";

function startWeb(auditPath: string, satDir: string, extra: string[] = []) {
  return startRealWeb(auditPath, satDir, { extra, nofile: 128 });
}

function fds(pid: number): number {
  return [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
}

async function get(url: string, method = "GET", ms = 5000): Promise<Response> {
  return await fetch(url, { method, signal: AbortSignal.timeout(ms) });
}

function auditFile(): string {
  const p = `${Deno.makeTempDirSync()}/bee-audit.json`;
  Deno.writeTextFileSync(p, JSON.stringify(passAudit()));
  return p;
}

async function oneArchive(dir: string): Promise<string> {
  const work = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${work}/summary.txt`, "kind=memory\noverall_status=OK\n");
  Deno.writeTextFileSync(`${work}/sat.log`, "x".repeat(100_000));
  const name = "bee-sat-memory-h-20261130T100000Z";
  await writeTarGz(`${dir}/${name}.tar.gz`, work, name, ["summary.txt"]);
  return `${name}.tar.gz`;
}

Deno.test("4: 400 idle connections against 128 descriptors: bee web survives and answers", async () => {
  const web = await startWeb(auditFile(), Deno.makeTempDirSync(), ["--idle-timeout", "2"]);
  const conns: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 400; i++) {
      try {
        conns.push(await Deno.connect({ hostname: "127.0.0.1", port: web.port }));
      } catch { /* refused is fine */ }
    }
    // the server is alive and answers while the flood is still open
    let ok = false;
    for (let i = 0; i < 50 && !ok; i++) {
      try {
        const r = await get(`${web.base}/healthz`, "GET", 2000);
        ok = r.status === 200 && (await r.text()) === "ok\n";
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.ok(ok, "healthz answers during the flood");
    const st = await Promise.race([web.child.status, new Promise((r) => setTimeout(() => r("alive"), 100))]);
    assert.equal(st, "alive", "process still running");
  } finally {
    conns.forEach((c) => {
      try {
        c.close();
      } catch { /* closed */ }
    });
    await web.stop();
  }
});

Deno.test("4: idle and half-sent connections are closed after the idle timeout", async () => {
  const web = await startWeb(auditFile(), Deno.makeTempDirSync(), ["--idle-timeout", "1"]);
  try {
    const idle = await Deno.connect({ hostname: "127.0.0.1", port: web.port });
    const half = await Deno.connect({ hostname: "127.0.0.1", port: web.port });
    await half.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n"));
    for (const c of [idle, half]) {
      const t0 = performance.now();
      const n = await Promise.race([
        c.read(new Uint8Array(16)).catch(() => null),
        new Promise((r) => setTimeout(() => r("still open"), 8000)),
      ]);
      assert.equal(n, null, "closed by the server");
      assert.ok(performance.now() - t0 < 8000);
      c.close();
    }
  } finally {
    await web.stop();
  }
});

Deno.test("4: HEAD /sat/<archive> carries the GET's length and leaks no descriptor", async () => {
  const dir = Deno.makeTempDirSync();
  const name = await oneArchive(dir);
  const size = Deno.statSync(`${dir}/${name}`).size;
  const web = await startWeb(auditFile(), dir);
  try {
    const g = await get(`${web.base}/sat/${name}`);
    const body = new Uint8Array(await g.arrayBuffer());
    assert.equal(body.length, size);
    const before = fds(web.pid);
    for (let i = 0; i < 60; i++) {
      const h = await get(`${web.base}/sat/${name}`, "HEAD");
      assert.equal(h.status, 200);
      assert.equal(h.headers.get("content-length"), String(size));
      await h.body?.cancel();
    }
    const page = await get(`${web.base}/`, "HEAD");
    const full = await (await get(`${web.base}/`)).text();
    assert.equal(page.headers.get("content-length"), String(new TextEncoder().encode(full).length));
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(fds(web.pid) <= before + 2, `descriptors ${before} → ${fds(web.pid)}`);
  } finally {
    await web.stop();
  }
});

Deno.test("5: a FIFO as the audit path never wedges the server; SIGTERM still stops it", async () => {
  const dir = Deno.makeTempDirSync();
  const path = `${dir}/bee-audit.json`;
  const mk = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.equal(mk.code, 0);
  const web = await startWeb(path, Deno.makeTempDirSync());
  try {
    for (const p of ["/", "/audit.json", "/metrics", "/sat/"]) {
      const r = await get(`${web.base}${p}`, "GET", 3000);
      await r.body?.cancel();
      assert.ok(r.status < 600, p);
    }
    const page = await (await get(`${web.base}/`)).text();
    assert.match(page, /not a regular file/);
    Deno.removeSync(path);
    Deno.writeTextFileSync(path, JSON.stringify(passAudit()));
    const ok = await get(`${web.base}/`);
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    web.child.kill("SIGTERM");
    const st = await Promise.race([web.child.status, new Promise((r) => setTimeout(() => r("hung"), 5000))]);
    assert.notEqual(st, "hung", "SIGTERM stops it");
  } finally {
    await web.stop();
  }
});

Deno.test("5: an audit path that links to another file never quotes that file", async () => {
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/shadow`, "root:$6$secrethash:19000:0:99999:7:::\n");
  Deno.symlinkSync(`${dir}/shadow`, `${dir}/bee-audit.json`);
  Deno.writeTextFileSync(`${dir}/plain.json`, "root:$6$secrethash:19000:0:99999:7:::\n");
  for (const path of [`${dir}/bee-audit.json`, `${dir}/plain.json`]) {
    const web = await startWeb(path, Deno.makeTempDirSync());
    try {
      for (const p of ["/", "/audit.json"]) {
        const text = await (await get(`${web.base}${p}`)).text();
        assert.doesNotMatch(text, /secrethash|root:/, `${path} ${p}`);
      }
    } finally {
      await web.stop();
    }
  }
});

Deno.test("6: a gzip bomb in the SAT folder is not inflated; summary.txt is found first", async () => {
  const dir = Deno.makeTempDirSync();
  const good = await oneArchive(dir);
  const bomb = `${dir}/bee-sat-nvidia-h-20261130T090000Z.tar.gz`;
  const mk = await new Deno.Command("sh", {
    args: ["-c", `head -c 300000000 /dev/zero | gzip -1 > ${bomb}`],
  }).output();
  assert.equal(mk.code, 0);
  const web = await startWeb(auditFile(), dir);
  try {
    const sat = get(`${web.base}/sat/`, "GET", 20_000).then((r) => r.text());
    const t0 = performance.now();
    const h = await get(`${web.base}/healthz`);
    assert.equal(await h.text(), "ok\n");
    const healthMs = performance.now() - t0;
    const page = await sat;
    assert.match(page, new RegExp(good.replace(/\./g, "\\.")));
    assert.match(page, /<b>OK<\/b>/);
    assert.match(page, /<b>unknown<\/b>/, "the bomb is listed as unknown");
    console.log(`healthz during /sat/ with a 300 MB gzip bomb: ${healthMs.toFixed(0)} ms`);
  } finally {
    await web.stop();
  }
});
