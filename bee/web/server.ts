// A small HTTP/1.1 server on Deno.listen for `bee web`, written because Deno.serve has no idle or
// header timeouts and no say over accept errors: with thousands of idle connections it ran out of file
// descriptors and the process died. Here every connection has a deadline to send its request, a bounded
// request head, a per-write deadline, a cap on open connections, and accept errors (EMFILE) are waited
// out, never fatal. One request per connection (`connection: close`): an operator's page needs no more.
//
// Hostile clients on an open LAN: a response must keep moving (a minimum transfer rate after a grace period,
// and no write may stall longer than the write timeout); when every slot is taken, the connection idling
// longest before its request, else the writer stalled longest, makes room for the newcomer; and one address
// holds at most a share of the slots — a newcomer beyond it takes the place of that address's own most idle
// or most stalled connection, so a host that never reads cannot lock anyone else out.

export interface ServeOptions {
  hostname: string;
  port: number;
  /** a connection that has not sent its whole request head by then is closed */
  headerTimeoutMs?: number;
  /** a response write that makes no progress for this long closes the connection */
  writeTimeoutMs?: number;
  /** connections open at once; more are accepted and closed at once */
  maxConnections?: number;
  /** connections one client address may hold (default a quarter of maxConnections) */
  maxPerAddress?: number;
  /** a response slower than this many bytes/s after `rateGraceMs` is cut (default 4096) */
  minBytesPerSecond?: number;
  rateGraceMs?: number;
  /** a writer that made no progress for this long may be evicted for a newcomer (default 1000 ms) */
  stalledAfterMs?: number;
  onListen?: (addr: { hostname: string; port: number }) => void;
  onError?: (message: string) => void;
}

export interface Server {
  addr: { hostname: string; port: number };
  finished: Promise<void>;
  shutdown(): void;
  /** connections open now (for tests and benchmarks) */
  open(): number;
}

const MAX_HEAD = 16 * 1024;
const enc = new TextEncoder();

/** What every answer carries, the server's own errors included. */
const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** A connection's life, as the accept loop sees it when it must make room. */
interface ConnState {
  phase: "reading" | "handling" | "writing";
  /** when it was accepted (reading) or last made progress writing */
  since: number;
  address: string;
}

/** Limits on one response's writes. */
interface WriteLimits {
  ms: number;
  minRate: number;
  graceMs: number;
}

/**
 * Tracks one response: bytes sent since its start. The floor is `minRate` bytes/s after `graceMs`; since a
 * blocked write only returns when the kernel frees a large part of the socket buffer, the floor is also a
 * deadline for the write in progress (the moment the bytes sent so far stop covering the floor).
 */
class Pace {
  private sent = 0;
  private readonly start = performance.now();
  constructor(readonly limits: WriteLimits, readonly state: ConnState) {}
  progress(n: number) {
    this.sent += n;
    this.state.since = performance.now();
  }
  /** How long the next write may take before the connection is too slow or stalled. */
  allowanceMs(): number {
    const floorAt = this.start + Math.max(this.limits.graceMs, (this.sent / this.limits.minRate) * 1000);
    return Math.max(1, Math.min(this.limits.ms, floorAt - performance.now()));
  }
}

/** Writes all of `data`, failing when a write makes no progress within the limit or the pace drops below the floor. */
async function writeAll(conn: Deno.Conn, data: Uint8Array, pace: Pace): Promise<void> {
  let off = 0;
  while (off < data.length) {
    let t: ReturnType<typeof setTimeout> | undefined;
    const n = await Promise.race([
      conn.write(data.subarray(off)),
      new Promise<never>((_, rej) => t = setTimeout(() => rej(new Error("too slow")), pace.allowanceMs())),
    ]).finally(() => clearTimeout(t));
    off += n;
    pace.progress(n);
  }
}

/** Reads the request head (up to the blank line), or null on timeout, EOF or oversize. */
async function readHead(conn: Deno.Conn, ms: number): Promise<string | "too-large" | null> {
  const buf = new Uint8Array(MAX_HEAD);
  let len = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((r) => timer = setTimeout(() => r(null), ms));
  try {
    while (len < MAX_HEAD) {
      const n = await Promise.race([conn.read(buf.subarray(len)), timeout]);
      if (n === null) return null; // timed out or closed
      len += n;
      const text = new TextDecoder("latin1").decode(buf.subarray(0, len));
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) return text.slice(0, end);
    }
    return "too-large";
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

function statusHead(status: number, headers: Headers): string {
  const lines = [`HTTP/1.1 ${status} ${REASONS[status] ?? "Status"}`];
  headers.forEach((v, k) => lines.push(`${k}: ${v.replace(/[\r\n]/g, " ")}`));
  return lines.join("\r\n") + "\r\n\r\n";
}

/** The server's own short answers (400, 405, 431, 500): security headers too; no body to a HEAD. */
async function plain(conn: Deno.Conn, status: number, text: string, pace: Pace, head = false, extra = {}) {
  const body = enc.encode(text);
  const h = new Headers({
    ...SECURITY_HEADERS,
    ...extra,
    "content-type": "text/plain; charset=utf-8",
    "content-length": String(body.length),
  });
  h.set("connection", "close");
  await writeAll(conn, enc.encode(statusHead(status, h)), pace).catch(() => {});
  if (!head) await writeAll(conn, body, pace).catch(() => {});
}

/** A request line: method token, target, version; null when it is not one. */
export function parseRequestLine(line: string): { method: string; target: string } | null {
  const m = line.match(/^([!#$%&'*+.^_`|~0-9A-Za-z-]{1,16}) (\S{1,8192}) HTTP\/1\.[01]$/);
  return m ? { method: m[1]!, target: m[2]! } : null;
}

/**
 * The path and query a request target names: origin-form as it is, absolute-form (`http://host/x`, which
 * HTTP/1.1 servers must accept) by its path; null for anything else (authority-form, `*`).
 */
export function targetPath(target: string): string | null {
  if (target.startsWith("/")) return target;
  const m = target.match(/^https?:\/\/[^/?#]+([/?][^#]*)?$/i);
  if (!m) return null;
  const rest = m[1] ?? "/";
  return rest.startsWith("/") ? rest : `/${rest}`;
}

async function respond(
  conn: Deno.Conn,
  handler: (req: Request) => Promise<Response>,
  req: Request,
  pace: Pace,
  state: ConnState,
): Promise<void> {
  let res: Response;
  try {
    res = await handler(req);
  } catch {
    return await plain(conn, 500, "internal error\n", pace, req.method === "HEAD");
  }
  state.phase = "writing";
  state.since = performance.now();
  const h = new Headers(res.headers);
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) if (!h.has(k)) h.set(k, v);
  h.set("connection", "close");
  let body: Uint8Array | null = null;
  const streamed = h.has("content-length") && res.body !== null;
  if (!streamed && res.body) {
    body = new Uint8Array(await res.arrayBuffer());
    h.set("content-length", String(body.length));
  } else if (!res.body && !h.has("content-length")) h.set("content-length", "0");
  await writeAll(conn, enc.encode(statusHead(res.status, h)), pace);
  if (body) await writeAll(conn, body, pace);
  else if (streamed) {
    const reader = res.body!.getReader();
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) break;
        await writeAll(conn, value, pace);
      }
    } finally {
      reader.cancel().catch(() => {}); // closes the file behind a body we did not finish
    }
  }
}

async function handleConn(
  conn: Deno.Conn,
  handler: (req: Request) => Promise<Response>,
  o: { headerTimeoutMs: number; limits: WriteLimits },
  host: string,
  state: ConnState,
): Promise<void> {
  const pace = new Pace(o.limits, state);
  try {
    const head = await readHead(conn, o.headerTimeoutMs);
    state.phase = "handling";
    if (head === null) return; // idle or half-sent: closed without a word
    const isHead = head.startsWith("HEAD ");
    if (head === "too-large") return await plain(conn, 431, "request head too large\n", pace, isHead);
    const [requestLine, ...headerLines] = head.split("\r\n");
    const rl = parseRequestLine(requestLine!);
    if (!rl) return await plain(conn, 400, "bad request\n", pace, isHead);
    // only GET and HEAD exist here; anything else (TRACE, CONNECT, lower-case tokens…) is 405, as documented
    if (rl.method !== "GET" && rl.method !== "HEAD") {
      return await plain(conn, 405, "method not allowed\n", pace, false, { allow: "GET, HEAD" });
    }
    const path = targetPath(rl.target);
    if (path === null) return await plain(conn, 400, "bad request\n", pace, isHead);
    const headers = new Headers();
    for (const l of headerLines) {
      const i = l.indexOf(":");
      if (i <= 0) continue;
      try {
        headers.append(l.slice(0, i).trim(), l.slice(i + 1).trim());
      } catch { /* invalid header: ignored */ }
    }
    let req: Request;
    try {
      req = new Request(`http://${host}${path}`, { method: rl.method, headers });
    } catch {
      return await plain(conn, 400, "bad request\n", pace, isHead);
    }
    await respond(conn, handler, req, pace, state);
  } catch {
    // the client went away, stalled or trickled below the floor
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

/**
 * Which open connection makes room for a newcomer among `pool`: the one idling longest before its request,
 * else the writer stalled longest (no progress for `stalledAfterMs`); null when none may go.
 */
export function pickVictim<C>(
  pool: Iterable<[C, ConnState]>,
  now: number,
  stalledAfterMs: number,
): C | null {
  let reader: C | null = null, readerSince = Infinity;
  let writer: C | null = null, writerSince = Infinity;
  for (const [c, st] of pool) {
    if (st.phase === "reading" && st.since < readerSince) [reader, readerSince] = [c, st.since];
    if (st.phase === "writing" && now - st.since >= stalledAfterMs && st.since < writerSince) {
      [writer, writerSince] = [c, st.since];
    }
  }
  return reader ?? writer;
}

/** Serves `handler` until shutdown; never throws after it is listening. */
export function serveHttp(opts: ServeOptions, handler: (req: Request) => Promise<Response>): Server {
  const o = {
    headerTimeoutMs: opts.headerTimeoutMs ?? 10_000,
    limits: {
      ms: opts.writeTimeoutMs ?? 30_000,
      minRate: opts.minBytesPerSecond ?? 4096,
      graceMs: opts.rateGraceMs ?? 10_000,
    },
  };
  const max = opts.maxConnections ?? 256;
  const perAddress = opts.maxPerAddress ?? Math.max(1, Math.floor(max / 4));
  const stalledAfter = opts.stalledAfterMs ?? 1000;
  const listener = Deno.listen({ hostname: opts.hostname, port: opts.port, transport: "tcp" });
  const addr = listener.addr as Deno.NetAddr;
  opts.onListen?.({ hostname: addr.hostname, port: addr.port });
  const conns = new Map<Deno.Conn, ConnState>();
  const perAddr = new Map<string, number>();
  let closed = false;
  let lastErr = 0;
  const host = `${addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname}:${addr.port}`;
  const drop = (c: Deno.Conn) => {
    try {
      c.close();
    } catch { /* closed */ }
  };
  const forget = (c: Deno.Conn) => {
    const st = conns.get(c);
    if (!st) return;
    conns.delete(c);
    const n = (perAddr.get(st.address) ?? 1) - 1;
    if (n > 0) perAddr.set(st.address, n);
    else perAddr.delete(st.address);
  };
  /** Makes room for a newcomer from `address`; false when nobody may go (the newcomer is refused). */
  const makeRoom = (address: string): boolean => {
    const own = (perAddr.get(address) ?? 0) >= perAddress;
    if (!own && conns.size < max) return true;
    const pool = own ? [...conns].filter(([, st]) => st.address === address) : conns;
    const victim = pickVictim(pool, performance.now(), stalledAfter);
    if (!victim) return false;
    drop(victim);
    forget(victim);
    return true;
  };
  const finished = (async () => {
    while (!closed) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (closed || e instanceof Deno.errors.BadResource) break;
        // EMFILE/ENFILE and friends: say so at most once a second, wait, keep serving
        if (Date.now() - lastErr > 1000) {
          lastErr = Date.now();
          opts.onError?.(`accept: ${(e as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const address = (conn.remoteAddr as Deno.NetAddr).hostname ?? "?";
      if (!makeRoom(address)) {
        drop(conn);
        continue;
      }
      const state: ConnState = { phase: "reading", since: performance.now(), address };
      conns.set(conn, state);
      perAddr.set(address, (perAddr.get(address) ?? 0) + 1);
      handleConn(conn, handler, o, host, state).finally(() => forget(conn));
    }
    for (const c of conns.keys()) drop(c);
  })();
  return {
    addr: { hostname: addr.hostname, port: addr.port },
    finished,
    shutdown() {
      closed = true;
      try {
        listener.close();
      } catch { /* closed */ }
    },
    open: () => conns.size,
  };
}
