// HTML helpers for the web page: escaping and bounding of every string that came from hardware.

import { bytes, esc, t, table } from "../lib/html.ts";

export { bytes, esc, t, table };

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
