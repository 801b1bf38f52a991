// The web server's request handler: reads the audit anew on every request and serves the page,
// the raw audit, its schema, SAT archives, Prometheus metrics and a health check. No process, no
// write: the `web` permission set forbids both.
import QRCode from "qrcode";
import type { Audit } from "../model/schema.ts";
import { loadAudit } from "../model/load.ts";
import { qrText } from "../audit/report.ts";
import schema from "../model/audit.schema.json" with { type: "json" };
import expectSchema from "../model/expect.schema.json" with { type: "json" };
import { renderAuditPage, renderBadAudit, renderNoAudit } from "./render.ts";
import { renderMetrics } from "./metrics.ts";
import { bundleFiles, bundleName, bundleTar } from "../export/bundle.ts";
import { ARCHIVE_NAME, archiveMember, listSatArchives } from "../sat/archives.ts";
import { esc, page, t, table } from "./html.ts";
import { renderGpuResults } from "./sat_results.ts";
import { satJson, satNow, unattendedHtml } from "./unattended.ts";

export interface WebOptions {
  auditPath: string;
  satDir: string;
}

const SECURITY = {
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cache-control": "no-store",
};

function respond(
  body: BodyInit | null,
  status: number,
  type: string,
  extra: Record<string, string> = {},
): Response {
  return new Response(body, { status, headers: { ...SECURITY, "content-type": type, ...extra } });
}
const HTML = "text/html; charset=utf-8";
const JSON_TYPE = "application/json; charset=utf-8";

let qrCache: { key: string; svg: string } | null = null;
async function qrSvg(a: Audit): Promise<string> {
  const text = qrText(a);
  if (qrCache?.key !== text) {
    const svg = await QRCode.toString(text, { type: "svg", margin: 1 });
    qrCache = { key: text, svg: svg.replace(/<\?xml[^>]*>/, "") };
  }
  return qrCache.svg;
}

async function satPage(dir: string): Promise<string> {
  const list = await listSatArchives(dir);
  const rows = list.map((a) => {
    const n = encodeURIComponent(a.name);
    const metrics = a.summary?.["kind"] === "nvidia"
      ? ` · <a href="/sat/${n}/gpu-metrics.html">GPU metrics</a> · <a href="/sat/${n}/gpu-results">GPU figures</a>`
      : "";
    return [
      t(a.mtime?.toISOString() ?? ""),
      t(a.summary?.["kind"]),
      `<b>${t(a.overall_status ?? "unknown")}</b>`,
      `<a href="/sat/${n}">${t(a.name)}</a>${metrics}`,
      `${(a.size / 1024).toFixed(0)} KiB`,
    ];
  });
  return page(
    "bee — acceptance tests",
    `<h2>Acceptance test archives</h2><p class="meta">${
      esc(dir)
    }, newest first. <a href="/">back to the audit</a> · <a href="/bundle.tar" id="bundle">download everything</a> (audit + every archive, one tar with a sha256 manifest)</p>` +
      table(["Finished", "Kind", "Overall", "Archive", "Size"], rows),
  );
}

/** Builds the request handler for the given audit file and SAT directory. */
export function makeHandler(opts: WebOptions): (req: Request) => Promise<Response> {
  return async (req: Request): Promise<Response> => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return respond("method not allowed\n", 405, "text/plain; charset=utf-8", { allow: "GET, HEAD" });
    }
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url).pathname);
    } catch {
      return respond("bad request\n", 400, "text/plain; charset=utf-8");
    }
    const out = await route(path, opts, req.method === "HEAD");
    if (req.method !== "HEAD") return out;
    // HEAD: the GET's headers and length, no body (and no file left open behind it)
    const headers = new Headers(out.headers);
    if (!headers.has("content-length")) {
      headers.set("content-length", String(out.body ? (await out.arrayBuffer()).byteLength : 0));
    } else await out.body?.cancel();
    return new Response(null, { status: out.status, headers });
  };
}

async function route(path: string, opts: WebOptions, head: boolean): Promise<Response> {
  if (path === "/healthz") return respond("ok\n", 200, "text/plain; charset=utf-8");
  if (path === "/audit.schema.json") {
    return respond(JSON.stringify(schema, null, 2), 200, "application/schema+json");
  }
  if (path === "/expect.schema.json") {
    return respond(JSON.stringify(expectSchema, null, 2), 200, "application/schema+json");
  }
  if (path === "/" || path === "/index.html") {
    const l = await loadAudit(opts.auditPath);
    if (l.kind === "missing") return respond(renderNoAudit(opts.auditPath), 200, HTML);
    if (l.kind === "bad") return respond(renderBadAudit(l.problem), 500, HTML);
    const html = unattendedHtml(await satNow(opts.satDir));
    return respond(renderAuditPage(l.audit, await qrSvg(l.audit), html), 200, HTML);
  }
  if (path === "/audit.json") {
    const l = await loadAudit(opts.auditPath);
    if (l.kind === "missing") {
      return respond(JSON.stringify({ error: "audit not run yet" }) + "\n", 503, JSON_TYPE, {
        "retry-after": "10",
      });
    }
    if (l.kind === "bad") return respond(JSON.stringify({ error: l.problem }) + "\n", 500, JSON_TYPE);
    return respond(l.raw, 200, JSON_TYPE);
  }
  if (path === "/metrics") {
    const l = await loadAudit(opts.auditPath);
    return respond(
      renderMetrics(
        l.kind === "ok" ? l.audit : null,
        await listSatArchives(opts.satDir),
        await satNow(opts.satDir),
      ),
      200,
      "text/plain; version=0.0.4; charset=utf-8",
    );
  }
  if (path === "/sat" || path === "/sat/") return respond(await satPage(opts.satDir), 200, HTML);
  if (path === "/sat.json") return respond(JSON.stringify(await satJson(opts.satDir)) + "\n", 200, JSON_TYPE);
  if (path === "/bundle.tar") {
    // one click: the audit and every archive, with a sha256 manifest, named after the machine's serial
    const files = await bundleFiles(opts.auditPath, opts.satDir);
    if (files.length) {
      const l = await loadAudit(opts.auditPath);
      const name = bundleName(l.kind === "ok" ? l.audit : null, new Date());
      const { length, stream } = bundleTar(files, name);
      const headers = {
        "content-length": String(length),
        "content-disposition": `attachment; filename="${name}.tar"`,
      };
      if (head) {
        await stream.cancel();
        return respond(null, 200, "application/x-tar", headers);
      }
      return respond(stream, 200, "application/x-tar", headers);
    }
  }
  const m = path.match(/^\/sat\/([^/]+)(\/gpu-metrics\.html|\/gpu-results)?$/);
  if (m && ARCHIVE_NAME.test(m[1]!)) {
    // only names that are in the directory listing are served: no path ever comes from the URL
    const known = (await listSatArchives(opts.satDir)).find((a) => a.name === m[1]);
    if (known) {
      const file = `${opts.satDir}/${known.name}`;
      if (m[2] === "/gpu-results") {
        const json = await archiveMember(file, "/gpu-results.json");
        if (json) {
          const r = renderGpuResults(known.name, json);
          return respond(r.html, r.ok ? 200 : 500, HTML);
        }
      } else if (m[2]) {
        const html = await archiveMember(file, "/gpu-metrics.html");
        if (html) return respond(new TextDecoder().decode(html), 200, HTML);
      } else {
        const disposition = { "content-disposition": `attachment; filename="${known.name}"` };
        try {
          const st = await Deno.lstat(file);
          if (st.isFile) {
            const length = { "content-length": String(st.size), ...disposition };
            if (head) return respond(null, 200, "application/gzip", length);
            const f = await Deno.open(file, { read: true });
            return respond(f.readable, 200, "application/gzip", length);
          }
        } catch {
          // vanished between listing and opening
        }
      }
    }
  }
  return respond(
    page("bee — not found", `<h1>404</h1><p>Nothing here. <a href="/">Back to the audit</a></p>`),
    404,
    HTML,
  );
}
