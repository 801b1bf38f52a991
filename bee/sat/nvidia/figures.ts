// Judging measured GPU figures: each against its model's reference row (references.ts) and against the
// same-model GPUs of the same run (more than 5 % under their median WARNs, more than the configurable
// peer margin FAILs). Pure: measurements in, per-GPU results and findings out; `gpu-results.json` is
// these results.
import type { Finding } from "../../model/schema.ts";
import { finding } from "../../audit/verdict.ts";
import {
  type Figure,
  FIGURE_UNITS,
  POWER_FAIL_SHARE,
  POWER_WARN_SHARE,
  type Reference,
  referenceFor,
  referenceModel,
} from "./references.ts";
import { median } from "../../lib/stats.ts";

/** One figure measured on one GPU. */
export interface Measurement {
  gpu: number;
  name: string;
  serial: string | null;
  figure: Figure;
  value: number;
  /** power: the enforced power limit in W, which replaces the datasheet figure as the reference */
  limit?: number | null;
}

export type FigureVerdict = "PASS" | "WARN" | "FAIL";

export interface GpuResult {
  gpu: number;
  serial: string | null;
  model: string | null;
  figure: Figure;
  unit: string;
  value: number;
  reference: number | null;
  warn_below: number | null;
  fail_below: number | null;
  /** false where the floor is not yet calibrated on bee's own measurement (under it WARNs) */
  floor_fails: boolean;
  source: string | null;
  peer_median: number | null;
  peers: number;
  verdict: FigureVerdict;
  why: string | null;
}

/** A GPU this share under its peers' median WARNs (SuperBench: 5 % under the baseline is bad). */
export const PEER_WARN_PCT = 5;
/** Default share under the peers' median that FAILs (BEE_PEER_FAIL_PCT). */
export const PEER_FAIL_PCT = 10;

const fmt = (
  v: number,
) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(3));

/** The reference a measurement is held to: its row, or for power the enforced limit with the row's shares. */
function referenceOf(m: Measurement): Reference | null {
  const row = referenceFor(m.name, m.figure);
  if (m.figure !== "power_w" || m.limit == null) return row;
  return {
    model: row?.model ?? m.name,
    figure: "power_w",
    peak: row?.peak ?? null,
    expected: m.limit,
    warn: Math.round(m.limit * POWER_WARN_SHARE),
    floor: Math.round(m.limit * POWER_FAIL_SHARE),
    source: `the enforced power limit; WARN under ${POWER_WARN_SHARE * 100} %, FAIL under ${
      POWER_FAIL_SHARE * 100
    } % (DCGM targeted_power)`,
    calibrated: true,
  };
}

/** Judges every measurement; `peerFailPct` is the share under the peers' median that FAILs. */
export function judgeFigures(ms: Measurement[], peerFailPct = PEER_FAIL_PCT): GpuResult[] {
  const groups = new Map<string, number[]>();
  const key = (m: Measurement) => `${referenceModel(m.name) ?? m.name}|${m.figure}`;
  for (const m of ms) groups.set(key(m), [...(groups.get(key(m)) ?? []), m.value]);
  return ms.map((m) => {
    const ref = referenceOf(m);
    const peers = groups.get(key(m))!;
    const peerMedian = peers.length >= 2 ? median(peers) : null;
    const unit = FIGURE_UNITS[m.figure];
    const why: string[] = [];
    let verdict: FigureVerdict = "PASS";
    const worse = (v: FigureVerdict) => {
      if (v === "FAIL" || (v === "WARN" && verdict === "PASS")) verdict = v;
    };
    if (ref?.floor != null && m.value < ref.floor) {
      worse(ref.calibrated ? "FAIL" : "WARN");
      why.push(
        `${fmt(m.value)} ${unit} under the floor ${fmt(ref.floor)} ${unit} of ${ref.model}` +
          (ref.calibrated ? "" : " (floor not yet calibrated on bee's own measurement: WARN, not FAIL)"),
      );
    } else if (ref?.warn != null && m.value < ref.warn) {
      worse("WARN");
      why.push(
        `${fmt(m.value)} ${unit} under ${fmt(ref.warn)} ${unit} (expected ${
          fmt(ref.expected!)
        } for ${ref.model})`,
      );
    }
    if (peerMedian !== null && peerMedian > 0) {
      const under = (1 - m.value / peerMedian) * 100;
      if (under > peerFailPct) worse("FAIL");
      else if (under > PEER_WARN_PCT) worse("WARN");
      if (under > PEER_WARN_PCT) {
        why.push(
          `${under.toFixed(1)} % under the median ${fmt(peerMedian)} ${unit} of its ${peers.length} peers`,
        );
      }
    }
    if (!ref) why.push(`no reference for ${m.name.slice(0, 64)}: judged against its peers in this run only`);
    return {
      gpu: m.gpu,
      serial: m.serial,
      model: ref?.model ?? referenceModel(m.name),
      figure: m.figure,
      unit,
      value: m.value,
      reference: ref?.expected ?? null,
      warn_below: ref?.warn ?? null,
      fail_below: ref?.floor ?? null,
      floor_fails: ref?.calibrated ?? false,
      source: ref?.source ?? null,
      peer_median: peerMedian,
      peers: peers.length,
      verdict,
      why: why.length ? why.join("; ") : null,
    };
  });
}

/** Findings for the results that are not PASS (codes in NVIDIA_SAT_RULES). */
export function figureFindings(results: GpuResult[], peerFailPct = PEER_FAIL_PCT): Finding[] {
  const out: Finding[] = [];
  for (const r of results) {
    if (r.verdict === "PASS") continue;
    const who = `nvidia:GPU${r.gpu}${r.serial ? ` (serial ${r.serial})` : ""}`;
    const underFloor = r.fail_below !== null && r.value < r.fail_below && r.floor_fails;
    const underWarn = r.warn_below !== null && r.value < r.warn_below;
    const peerShare = r.peer_median ? (1 - r.value / r.peer_median) * 100 : 0;
    const text = `${r.figure} ${r.why ?? ""}`.slice(0, 300);
    if (underFloor) out.push(finding("nvidia.figure_below_floor", who, text));
    else if (underWarn) out.push(finding("nvidia.figure_below_expected", who, text));
    if (peerShare > PEER_WARN_PCT) {
      out.push(
        finding(peerShare > peerFailPct ? "nvidia.peer_outlier_fail" : "nvidia.peer_outlier", who, text),
      );
    }
  }
  return out;
}

/** Summary facts: `<figure>_gpu<N>=value` and the worst verdict per figure. */
export function figureFacts(results: GpuResult[]): Record<string, number | string> {
  const facts: Record<string, number | string> = {};
  for (const r of results) facts[`${r.figure}_gpu${r.gpu}`] = Math.round(r.value * 1000) / 1000;
  for (const r of results) {
    const k = `${r.figure}_verdict`;
    const rank = { PASS: 0, WARN: 1, FAIL: 2 };
    if (!(k in facts) || rank[r.verdict] > rank[facts[k] as FigureVerdict]) facts[k] = r.verdict;
  }
  return facts;
}
