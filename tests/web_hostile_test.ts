// Issue 22, cases 1 and 11: `bee web` against clients that never read, trickle, or send odd requests.
// Case 1 failed on 2215f58: 300 sockets with a tiny receive buffer asking for /bundle.tar held every slot
// until the 30 s write timeout, and /healthz from a fresh client failed every time. Case 11: the server's
// own 400/431/500 answers lacked CSP/nosniff, TRACE/CONNECT/lower-case methods got 400 instead of 405, a HEAD
// to a 400 carried a body, `GET http://h/audit.json` served `/`, and `--listen [::1]:N` printed http://::1:N/.
import assert from "node:assert/strict";
import { startWeb } from "../testkit/helpers.ts";
import { passAudit } from "../testkit/web_fixtures.ts";
import { pickVictim, serveHttp, targetPath } from "../bee/web/server.ts";
import { listenUrl } from "../bee/commands/web.ts";

const dec = new TextDecoder();

/** One raw request on a fresh connection; the whole answer as text. */
async function raw(port: number, request: string): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  await c.write(new TextEncoder().encode(request));
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  while (true) {
    const n = await c.read(buf).catch(() => null);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
  }
  try {
    c.close();
  } catch { /* closed */ }
  return dec.decode(new Uint8Array(chunks.flatMap((c) => [...c])));
}

Deno.test("22.1: 300 clients that never read /bundle.tar do not lock a fresh client out of bee web", async () => {
  const dir = Deno.makeTempDirSync();
  const sat = `${dir}/sat`;
  Deno.mkdirSync(sat);
  // 8 MB of archives (random, so nothing compresses): more than a loopback socket buffers for one client
  for (let i = 0; i < 2; i++) {
    const data = new Uint8Array(4 << 20);
    for (let o = 0; o < data.length; o += 65536) crypto.getRandomValues(data.subarray(o, o + 65536));
    Deno.writeFileSync(`${sat}/bee-sat-memory-h-2026120${i}T100000Z.tar.gz`, data);
  }
  Deno.writeTextFileSync(`${dir}/audit.json`, JSON.stringify(passAudit()));
  const web = await startWeb(`${dir}/audit.json`, sat, { nofile: 1024 });
  // the attacker: 300 sockets with a 1 KiB receive buffer, each asking for the bundle, never reading
  const attacker = new Deno.Command("python3", {
    args: [
      "-c",
      `import socket, sys, time
socks = []
for i in range(300):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    try:
        s.connect(("127.0.0.1", ${web.port}))
        s.sendall(b"GET /bundle.tar HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
        socks.append(s)
    except OSError:
        pass
print("ready", len(socks), flush=True)
time.sleep(40)`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = attacker.stdout.getReader();
    let said = "";
    while (!said.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      said += dec.decode(value);
    }
    reader.releaseLock();
    const m = /^ready (\d+)/.exec(said);
    assert.ok(m, `the attacker connected: ${JSON.stringify(said)}`);
    assert.ok(Number(m[1]) >= 250, `most of the 300 attacker sockets connected (${m[1]})`);
    // let every writer fill its socket buffers and stall
    await new Promise((r) => setTimeout(r, 2500));
    let ok = 0;
    for (let i = 0; i < 5; i++) {
      try {
        const r = await fetch(`${web.base}/healthz`, { signal: AbortSignal.timeout(3000) });
        if (r.status === 200 && (await r.text()) === "ok\n") ok++;
      } catch { /* refused or cut */ }
    }
    assert.equal(ok, 5, "every fresh /healthz is answered while 300 stalled readers are connected");
  } finally {
    attacker.kill("SIGKILL");
    await attacker.status;
    await attacker.stdout.cancel().catch(() => {});
    await web.stop();
  }
});

Deno.test("22.1: a response trickling below the minimum rate is cut; eviction prefers idle readers, then stalled writers", async () => {
  const big = new Uint8Array(8 << 20);
  const server = serveHttp(
    { hostname: "127.0.0.1", port: 0, minBytesPerSecond: 1 << 20, rateGraceMs: 300, onListen() {} },
    () => Promise.resolve(new Response(big, { headers: { "content-length": String(big.length) } })),
  );
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await c.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    const buf = new Uint8Array(1024);
    const t0 = Date.now();
    // read 1 KiB every 20 ms (~50 KiB/s, far under the 1 MiB/s floor) until the server has let go of it
    // (what it already sent still sits in this socket's buffers; the server's side is what counts)
    await c.read(buf);
    while (server.open() > 0 && Date.now() - t0 < 15_000) {
      await c.read(buf).catch(() => null);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(server.open(), 0, "the server closed the trickling connection");
    assert.ok(Date.now() - t0 < 12_000, `within the floor's deadline (${Date.now() - t0} ms)`);
    c.close();
  } finally {
    server.shutdown();
    await server.finished;
  }
  const st = (phase: "reading" | "handling" | "writing", since: number, address = "a") => ({
    phase,
    since,
    address,
  });
  const now = 100_000;
  assert.equal(pickVictim([["w", st("writing", 1000)], ["r", st("reading", 5000)]], now, 1000), "r");
  assert.equal(pickVictim([["w1", st("writing", 90_000)], ["w2", st("writing", 50_000)]], now, 1000), "w2");
  // a writer that made progress within the last second is not stalled; a handler is never evicted
  assert.equal(pickVictim([["w", st("writing", now - 200)], ["h", st("handling", 0)]], now, 1000), null);
});

Deno.test("22.11: the server's own answers carry the security headers, odd methods get 405, HEAD gets no body", async () => {
  const seen: string[] = [];
  const server = serveHttp({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    seen.push(path);
    if (path === "/boom") throw new Error("handler failed");
    return Promise.resolve(new Response(`path ${path}\n`));
  });
  const port = server.addr.port;
  try {
    for (
      const m of ["TRACE / HTTP/1.1", "CONNECT example.org:443 HTTP/1.1", "get / HTTP/1.1", "POST / HTTP/1.1"]
    ) {
      const r = await raw(port, `${m}\r\nHost: x\r\n\r\n`);
      assert.match(r, /^HTTP\/1\.1 405 Method Not Allowed\r\n/, m);
      assert.match(r, /\r\nallow: GET, HEAD\r\n/i, m);
      assert.match(r, /\r\ncontent-security-policy: default-src 'none'/i, m);
      assert.match(r, /\r\nx-content-type-options: nosniff\r\n/i, m);
    }
    const bad = await raw(port, "GET /\x01 junk\r\n\r\n");
    assert.match(bad, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(bad, /x-content-type-options: nosniff/i);
    const headBad = await raw(port, "HEAD / HTTP/9\r\n\r\n");
    assert.match(headBad, /^HTTP\/1\.1 400 /);
    assert.ok(headBad.endsWith("\r\n\r\n"), `no body after a HEAD's 400: ${JSON.stringify(headBad)}`);
    const big = await raw(port, `GET / HTTP/1.1\r\nX: ${"a".repeat(20000)}\r\n\r\n`);
    assert.match(big, /^HTTP\/1\.1 431 /);
    assert.match(big, /content-security-policy/i);
    const err = await raw(port, "GET /boom HTTP/1.1\r\n\r\n");
    assert.match(err, /^HTTP\/1\.1 500 /);
    assert.match(err, /x-content-type-options: nosniff/i);
    // absolute-form targets are served by their path
    assert.match(
      await raw(port, "GET http://bee.local/audit.json HTTP/1.1\r\n\r\n"),
      /\r\n\r\npath \/audit\.json\n$/,
    );
    assert.ok(seen.includes("/audit.json"));
    const ok = await raw(port, "GET /x HTTP/1.1\r\n\r\n");
    assert.match(ok, /content-security-policy/i, "handler answers get the headers too");
  } finally {
    server.shutdown();
    await server.finished;
  }
  assert.equal(targetPath("http://h/a?b=1"), "/a?b=1");
  assert.equal(targetPath("HTTP://h"), "/");
  assert.equal(targetPath("h:443"), null);
  assert.equal(targetPath("*"), null);
  assert.equal(listenUrl("::1", 8080), "http://[::1]:8080/");
  assert.equal(listenUrl("0.0.0.0", 80), "http://0.0.0.0:80/");
});
