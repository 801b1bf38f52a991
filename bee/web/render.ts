// Renders the operator's page from an audit: verdict banner, findings, one table per component.
import type { Audit } from "../model/schema.ts";
import { esc, page, t, table } from "./html.ts";
import { asOrderedText } from "../audit/report.ts";
import { AREAS } from "../areas/index.ts";

function bannerSection(a: Audit, _qrSvg: string): string {
  const hw = a.hardware;
  const s = hw.summary;
  const b = hw.board;
  return (`<div class="banner ${s.verdict}" id="verdict"><h1>${s.verdict}</h1>
<p>${s.failures} failure(s) · ${s.warnings} warning(s) · ${t(a.host.hostname, 64)} · serial ${
    t(b?.system.serial, 64)
  }</p>${
    a.expect
      ? `<p class="ordered" id="as-ordered">${t(asOrderedText(a), 300)}${
        a.expect.source ? ` · order ${t(a.expect.source, 120)}` : ""
      }</p>`
      : ""
  }<p class="meta"><a href="/bundle.tar" id="bundle">Download everything</a> (audit + every SAT archive, one tar with a sha256 manifest) · <a href="/sat/">SAT archives</a></p></div>`);
}

function findingsSection(a: Audit, _qrSvg: string): string {
  const hw = a.hardware;
  const s = hw.summary;
  return (
    `<h2>Findings</h2>` + table(
      ["Severity", "Component", "Problem", "Suggested action", "Code"],
      s.findings.map((
        f,
      ) => [
        `<span class="sev-${f.severity}">${f.severity}</span>`,
        t(f.component),
        t(f.message, 400),
        t(f.action, 400),
        t(f.code),
      ]),
    )
  );
}

function collectorsSection(a: Audit, _qrSvg: string): string {
  return (
    `<h2>Collectors</h2>` +
    table(
      ["Collector", "Status", "ms", "Message"],
      a.collectors.map((c) => [t(c.name), t(c.status), String(c.duration_ms), t(c.message, 300)]),
    )
  );
}

function footerSection(a: Audit, _qrSvg: string): string {
  return (
    `<p class="meta">Audit taken ${t(a.host.collected_at)} on ${t(a.host.hostname)} (kernel ${
      t(a.host.kernel)
    }) by bee ${t(a.bee.version)} (${
      t(a.bee.git_commit)
    }) in ${a.host.duration_ms} ms. <a href="/audit.json">audit.json</a> · <a href="/audit.schema.json">schema</a> · <a href="/sat/">acceptance tests</a> · <a href="/metrics">metrics</a></p>`
  );
}

/** The sections of the audit page, top to bottom: each renders its part from the typed audit. */
const SECTIONS: ((a: Audit, qrSvg: string) => string)[] = [
  bannerSection,
  findingsSection,
  // each hardware area's own section (bee/areas/<area>/view.ts), in page order
  ...AREAS.filter((x) => x.web).sort((x, y) => (x.webRank ?? 0) - (y.webRank ?? 0)).map((x) => x.web!),
  collectorsSection,
  footerSection,
];

/** The main page for a valid audit. `qrSvg` is the inline SVG of the QR summary. */
export function renderAuditPage(a: Audit, qrSvg: string, satNowHtml = ""): string {
  const sections = SECTIONS.map((r) => r(a, qrSvg));
  // the unattended SATs right under the verdict: while they run it is what the operator looks for
  if (satNowHtml) sections.splice(1, 0, satNowHtml);
  return page(
    `bee ${a.hardware.summary.verdict} — ${a.host.hostname ?? ""}`,
    sections.join("\n"),
    satNowHtml.includes('id="sat-running"') ? 30 : undefined,
  );
}

/** The page shown before the first audit exists. */
export function renderNoAudit(path: string): string {
  return page(
    "bee — audit not run yet",
    `<div class="banner NONE" id="verdict"><h1>NO AUDIT YET</h1><p>The audit has not run yet or is still in progress (${
      esc(path)
    }). This page refreshes every 10 s.</p></div>`,
    10,
  );
}

/** The page shown when the audit file is unreadable or invalid. */
export function renderBadAudit(problem: string): string {
  return page(
    "bee — audit unreadable",
    `<div class="banner FAIL" id="verdict"><h1>AUDIT UNREADABLE</h1><p>${
      t(problem, 500)
    }</p></div><p>Re-run the audit (<code>bee audit</code>) from the console or over SSH.</p>`,
  );
}
