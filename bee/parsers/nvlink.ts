// Parses `nvidia-smi nvlink -s` (per-link speed, `<inactive>`), `nvidia-smi nvlink -e` (per-link replay,
// recovery and CRC error counters; the older "Link N: X Errors: v" lines and the newer nested layout) and
// the GPU-to-GPU part of `nvidia-smi topo -m`.
import { clean, int, num, stripEscapes } from "../lib/text.ts";

export interface NvlinkLink {
  link: number;
  /** GB/s per direction; null when the link is inactive */
  gbps: number | null;
  replay_errors: number | null;
  recovery_errors: number | null;
  crc_errors: number | null;
}

const GPU_LINE = /^GPU (\d+): (.*?)(?: \(UUID: (GPU-[0-9a-f-]+)\))?\s*$/i;

/** Per GPU index: its links with speed (inactive = null). */
export function parseNvlinkStatus(text: string): Map<number, { uuid: string | null; links: NvlinkLink[] }> {
  const out = new Map<number, { uuid: string | null; links: NvlinkLink[] }>();
  let cur: { uuid: string | null; links: NvlinkLink[] } | null = null;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const g = GPU_LINE.exec(line);
    if (g) {
      cur = { uuid: clean(g[3] ?? null), links: [] };
      out.set(Number(g[1]), cur);
      continue;
    }
    const l = /^Link (\d+): (.*)$/.exec(line);
    if (cur && l) {
      const v = l[2]!.trim();
      const m = /^(\d+(?:\.\d+)?)\s*GB\/s/i.exec(v);
      cur.links.push({
        link: Number(l[1]),
        gbps: m ? num(m[1]) : null,
        replay_errors: null,
        recovery_errors: null,
        crc_errors: null,
      });
    }
  }
  return out;
}

/** Per GPU index, per link: the error counters. */
export function parseNvlinkErrors(
  text: string,
): Map<number, Map<number, { replay: number | null; recovery: number | null; crc: number | null }>> {
  const out = new Map<
    number,
    Map<number, { replay: number | null; recovery: number | null; crc: number | null }>
  >();
  let gpu: Map<number, { replay: number | null; recovery: number | null; crc: number | null }> | null = null;
  let link: number | null = null;
  const set = (l: number, name: string, v: string) => {
    if (!gpu) return;
    const c = gpu.get(l) ?? { replay: null, recovery: null, crc: null };
    const n = int(v.trim());
    if (/replay/i.test(name)) c.replay = (c.replay ?? 0) + (n ?? 0);
    else if (/recovery/i.test(name)) c.recovery = (c.recovery ?? 0) + (n ?? 0);
    else if (/crc/i.test(name)) c.crc = (c.crc ?? 0) + (n ?? 0);
    else return;
    gpu.set(l, c);
  };
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const g = GPU_LINE.exec(line);
    if (g) {
      gpu = new Map();
      out.set(Number(g[1]), gpu);
      link = null;
      continue;
    }
    // "Link 0: CRC Errors: 5" (one line per counter)
    const flat = /^Link (\d+): ([A-Za-z][A-Za-z ]*?):\s*(\d+)\s*$/.exec(line);
    if (flat) {
      set(Number(flat[1]), flat[2]!, flat[3]!);
      continue;
    }
    // "Link 0:" then indented "CRC Flit Error: 0" lines
    const head = /^Link (\d+):\s*$/.exec(line);
    if (head) {
      link = Number(head[1]);
      continue;
    }
    const nested = /^([A-Za-z][A-Za-z ]*?):\s*(\d+)\s*$/.exec(line);
    if (nested && link !== null) set(link, nested[1]!, nested[2]!);
  }
  return out;
}

/** GPU pairs and how `nvidia-smi topo -m` says they connect (NV#, PIX, PXB, PHB, NODE, SYS). */
export function parseTopoMatrix(text: string): { a: number; b: number; connection: string }[] {
  // nvidia-smi 590 prints the header in bold (terminal escapes): read the text, not the decoration
  const lines = stripEscapes(text).split("\n");
  const header = lines.find((l) => /^\s+GPU0\b/.test(l));
  if (!header) return [];
  const cols = header.trim().split(/\s+/).filter((t) => /^(GPU|NIC)\d+$|^mlx|^NIC/i.test(t));
  const gpuCols = cols.map((c, i) => ({ c, i })).filter((x) => /^GPU\d+$/.test(x.c));
  const pairs: { a: number; b: number; connection: string }[] = [];
  for (const l of lines) {
    const m = /^GPU(\d+)\s+(.*)$/.exec(l);
    if (!m) continue;
    const cells = m[2]!.trim().split(/\s+/);
    const a = Number(m[1]);
    for (const { c, i } of gpuCols) {
      const b = Number(c.slice(3));
      const cell = cells[i];
      if (b > a && cell && cell !== "X") pairs.push({ a, b, connection: cell.slice(0, 16) });
    }
  }
  return pairs;
}
