// The SAT view of one NVIDIA archive's gpu-results.json: every GPU's judged figures as a table (value,
// reference, gates, peers' median, verdict, why, source). The file comes out of an archive anyone could
// have written: it is checked against a schema, bounded, and every string escaped.
import { z } from "zod";
import { esc, page, t, table } from "./html.ts";

const Str = z.string().max(2000).nullable();
const Num = z.number().nullable();
const Results = z.object({
  peer_fail_pct: z.number().optional(),
  results: z.array(
    z.object({
      gpu: z.number().int(),
      serial: Str,
      model: Str,
      figure: z.string().max(64),
      unit: z.string().max(16),
      value: z.number(),
      reference: Num,
      warn_below: Num,
      fail_below: Num,
      source: Str,
      peer_median: Num,
      peers: z.number().int(),
      verdict: z.enum(["PASS", "WARN", "FAIL"]),
      why: Str,
    }).passthrough(),
  ).max(4096),
});

const n = (v: number | null) => v === null ? "–" : String(Math.round(v * 1000) / 1000);

/** The page for `gpu-results.json` of archive `name`; a one-line error page when it does not parse. */
export function renderGpuResults(name: string, bytes: Uint8Array): { ok: boolean; html: string } {
  let parsed;
  try {
    parsed = Results.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
  } catch {
    parsed = null;
  }
  const title = "bee — GPU figures";
  const back = `<p class="meta">${
    esc(name)
  } · <a href="/sat/">all archives</a> · <a href="/">the audit</a></p>`;
  if (!parsed?.success) {
    return {
      ok: false,
      html: page(title, `<h2>GPU figures</h2>${back}<p>gpu-results.json does not parse.</p>`),
    };
  }
  const rows = parsed.data.results.map((r) => [
    t(`GPU ${r.gpu}${r.serial ? ` (${r.serial})` : ""}`),
    t(r.model ?? "–"),
    `<code>${t(r.figure)}</code>`,
    `<b>${t(n(r.value))}</b> ${t(r.unit)}`,
    t(n(r.reference)),
    t(`${n(r.warn_below)} / ${n(r.fail_below)}`),
    t(`${n(r.peer_median)} (${r.peers})`),
    `<span class="sev-${r.verdict === "PASS" ? "PASS" : r.verdict}">${r.verdict}</span>`,
    t(r.why ?? ""),
    t(r.source ?? "peers only"),
  ]);
  const peer = parsed.data.peer_fail_pct ?? 10;
  return {
    ok: true,
    html: page(
      title,
      `<h2>GPU figures</h2>${back}<p class="meta">Each figure against its model's reference (WARN / FAIL ` +
        `below) and the median of its same-model peers in the run (WARN more than 5 % under, FAIL more than ` +
        `${esc(String(peer))} %).</p>` +
        table(
          [
            "GPU",
            "Model",
            "Figure",
            "Value",
            "Expected",
            "WARN / FAIL below",
            "Peers' median (n)",
            "Verdict",
            "Why",
            "Source",
          ],
          rows,
        ),
    ),
  };
}
