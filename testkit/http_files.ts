// A read-only HTTP file server on 127.0.0.1 for the network boot tests: serves one folder (dot segments in
// the URL are resolved by the URL parser, never past the root), logs every request, and can answer a path
// with an error for its first requests (a node that must retry).
import { freePort } from "./qemu.ts";

export interface FileServer {
  port: number;
  /** "GET /path status" per request */
  log: string[];
  close(): Promise<void>;
}

export function serveFolder(
  dir: string,
  o: { failFirst?: { path: string; times: number; status: number } } = {},
) {
  const port = freePort();
  const log: string[] = [];
  let failed = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    const answer = (status: number, body: BodyInit | null, headers: Record<string, string> = {}) => {
      log.push(`${req.method} ${path} ${status}`);
      return new Response(body, { status, headers });
    };
    if (o.failFirst && path === o.failFirst.path && failed < o.failFirst.times) {
      failed++;
      return answer(o.failFirst.status, "not now\n");
    }
    if (!/^\/[A-Za-z0-9._-]+$/.test(path)) return answer(404, "not found\n");
    try {
      const st = await Deno.stat(`${dir}${path}`);
      if (!st.isFile) return answer(404, "not found\n");
      const f = await Deno.open(`${dir}${path}`, { read: true });
      return answer(200, f.readable, { "content-length": String(st.size) });
    } catch {
      return answer(404, "not found\n");
    }
  });
  return { port, log, close: () => server.shutdown() } as FileServer;
}
