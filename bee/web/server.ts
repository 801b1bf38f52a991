// A small HTTP/1.1 server on Deno.listen for `bee web`, written because Deno.serve has no idle or
// header timeouts and no say over accept errors: with thousands of idle connections it ran out of file
// descriptors and the process died. Here every connection has a deadline to send its request, a bounded
// request head, a per-write deadline, a cap on open connections, and accept errors (EMFILE) are waited
// out, never fatal. One request per connection (`connection: close`): an operator's page needs no more.

export interface ServeOptions {
  hostname: string;
  port: number;
  /** a connection that has not sent its whole request head by then is closed */
  headerTimeoutMs?: number;
  /** a response write that makes no progress for this long closes the connection */
  writeTimeoutMs?: number;
  /** connections open at once; more are accepted and closed at once */
  maxConnections?: number;
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

/** Writes all of `data`, failing when one write makes no progress within `ms`. */
async function writeAll(conn: Deno.Conn, data: Uint8Array, ms: number): Promise<void> {
  let off = 0;
  while (off < data.length) {
    let t: ReturnType<typeof setTimeout> | undefined;
    const n = await Promise.race([
      conn.write(data.subarray(off)),
      new Promise<never>((_, rej) => t = setTimeout(() => rej(new Error("write timeout")), ms)),
    ]).finally(() => clearTimeout(t));
    off += n;
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

async function plain(conn: Deno.Conn, status: number, text: string, ms: number) {
  const body = enc.encode(text);
  const h = new Headers({
    "content-type": "text/plain; charset=utf-8",
    "content-length": String(body.length),
  });
  h.set("connection", "close");
  await writeAll(conn, enc.encode(statusHead(status, h)), ms).catch(() => {});
  await writeAll(conn, body, ms).catch(() => {});
}

async function handleConn(
  conn: Deno.Conn,
  handler: (req: Request) => Promise<Response>,
  o: Required<Pick<ServeOptions, "headerTimeoutMs" | "writeTimeoutMs">>,
  host: string,
  state: { reading: boolean; since: number },
): Promise<void> {
  try {
    const head = await readHead(conn, o.headerTimeoutMs);
    state.reading = false;
    if (head === null) return; // idle or half-sent: closed without a word
    if (head === "too-large") return await plain(conn, 431, "request head too large\n", o.writeTimeoutMs);
    const [requestLine, ...headerLines] = head.split("\r\n");
    const m = requestLine!.match(/^([A-Z]{1,16}) (\S{1,8192}) HTTP\/1\.[01]$/);
    if (!m) return await plain(conn, 400, "bad request\n", o.writeTimeoutMs);
    const headers = new Headers();
    for (const l of headerLines) {
      const i = l.indexOf(":");
      if (i <= 0) continue;
      try {
        headers.append(l.slice(0, i).trim(), l.slice(i + 1).trim());
      } catch { /* invalid header: ignored */ }
    }
    const target = m[2]!.startsWith("/") ? m[2]! : "/";
    let req: Request;
    try {
      req = new Request(`http://${host}${target}`, { method: m[1]!, headers });
    } catch {
      return await plain(conn, 400, "bad request\n", o.writeTimeoutMs);
    }
    let res: Response;
    try {
      res = await handler(req);
    } catch {
      return await plain(conn, 500, "internal error\n", o.writeTimeoutMs);
    }
    const h = new Headers(res.headers);
    h.set("connection", "close");
    let body: Uint8Array | null = null;
    const streamed = h.has("content-length") && res.body !== null;
    if (!streamed && res.body) {
      body = new Uint8Array(await res.arrayBuffer());
      h.set("content-length", String(body.length));
    } else if (!res.body && !h.has("content-length")) h.set("content-length", "0");
    await writeAll(conn, enc.encode(statusHead(res.status, h)), o.writeTimeoutMs);
    if (body) await writeAll(conn, body, o.writeTimeoutMs);
    else if (streamed) {
      const reader = res.body!.getReader();
      try {
        while (true) {
          const { done, value } = await reader.read();
          if (done) break;
          await writeAll(conn, value, o.writeTimeoutMs);
        }
      } finally {
        reader.cancel().catch(() => {}); // closes the file behind a body we did not finish
      }
    }
  } catch {
    // the client went away or stalled
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

/** Serves `handler` until shutdown; never throws after it is listening. */
export function serveHttp(opts: ServeOptions, handler: (req: Request) => Promise<Response>): Server {
  const o = {
    headerTimeoutMs: opts.headerTimeoutMs ?? 10_000,
    writeTimeoutMs: opts.writeTimeoutMs ?? 30_000,
  };
  const max = opts.maxConnections ?? 256;
  const listener = Deno.listen({ hostname: opts.hostname, port: opts.port, transport: "tcp" });
  const addr = listener.addr as Deno.NetAddr;
  opts.onListen?.({ hostname: addr.hostname, port: addr.port });
  const conns = new Map<Deno.Conn, { reading: boolean; since: number }>();
  let closed = false;
  let lastErr = 0;
  const host = `${addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname}:${addr.port}`;
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
      if (conns.size >= max) {
        // full: the connection idling longest without a request makes room; else the newcomer goes
        let oldest: Deno.Conn | null = null;
        let since = Infinity;
        for (const [c, st] of conns) {
          if (st.reading && st.since < since) [oldest, since] = [c, st.since];
        }
        try {
          (oldest ?? conn).close();
        } catch { /* closed */ }
        if (!oldest) continue;
        conns.delete(oldest);
      }
      const state = { reading: true, since: performance.now() };
      conns.set(conn, state);
      handleConn(conn, handler, o, host, state).finally(() => conns.delete(conn));
    }
    for (const c of conns.keys()) {
      try {
        c.close();
      } catch { /* closed */ }
    }
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
