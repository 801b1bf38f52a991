// HTML helpers for the web page: escaping and bounding of every string that came from hardware.

import { esc, t } from "../lib/html.ts";

export { esc, t };

/** A table with a header row; cells are already-escaped HTML. */
export function table(headers: string[], rows: string[][]): string {
  if (rows.length === 0) return `<p class="none">none found</p>`;
  const th = headers.map((h) => `<th>${esc(h)}</th>`).join("");
  const tr = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("\n");
  return `<div class="scroll"><table><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table></div>`;
}

const GiB = 1024 ** 3;
/** Bytes as GiB/TiB text. */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "–";
  if (n >= 1024 * GiB) return `${(n / (1024 * GiB)).toFixed(1)} TiB`;
  return `${(n / GiB).toFixed(n >= 10 * GiB ? 0 : 1)} GiB`;
}

export const CSS = `
*{box-sizing:border-box}body{font:15px/1.4 system-ui,-apple-system,"DejaVu Sans",sans-serif;margin:0;color:#111;background:#fafafa}
main{max-width:1200px;margin:0 auto;padding:12px}
.banner{padding:20px;border-radius:8px;color:#fff;text-align:center;margin-bottom:12px}
.banner h1{font-size:64px;margin:0;letter-spacing:4px}.banner p{font-size:20px;margin:4px 0 0}
.PASS{background:#1b7f3a}.WARN{background:#b36b00}.FAIL{background:#b3261e}.NONE{background:#555}
h2{border-bottom:2px solid #ccc;padding-bottom:2px;margin-top:28px}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top;word-break:break-word}
th{background:#eee}.sev-FAIL{color:#b3261e;font-weight:bold}.sev-WARN{color:#8a5300;font-weight:bold}
.none{color:#666;font-style:italic}.meta{color:#444}.qr svg{width:180px;height:180px}
.flex{display:flex;gap:16px;flex-wrap:wrap;align-items:flex-start}
@media print{.banner{color:#000;border:4px solid #000;background:none}body{background:#fff}}
@media (max-width:600px){.banner h1{font-size:44px}}
`;

/** A whole page: doctype, viewport, inline CSS, no script, no external resource. */
export function page(title: string, body: string, refreshSeconds?: number): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
${refreshSeconds ? `<meta http-equiv="refresh" content="${refreshSeconds}">` : ""}<title>${esc(title)}</title>
<style>${CSS}</style></head>
<body><main>
${body}
</main></body></html>
`;
}
