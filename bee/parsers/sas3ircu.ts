// Parses `sas3ircu <N> DISPLAY` (and sas2ircu's, the same layout): Broadcom/LSI SAS HBAs and IR (integrated
// RAID) controllers — the controller's type and firmware, each IR volume's level, size and state, each disk's
// enclosure:slot, model, serial, size, protocol and state. States are kept as the tool's word without its code
// (`Ready (RDY)` → Ready): disks Ready, Optimal, Available, Standby, Failed, Missing, Rebuilding, Out of Sync,
// Degraded; volumes Okay, Degraded, Failed, Inactive. Enclosure services devices are not disks and are left out.
import { clean } from "../lib/text.ts";
import type { RaidController } from "../model/schema.ts";

type Fields = Record<string, string>;
const MB = 1024 * 1024;

/** The output's sections (between rules of dashes), each a list of "key : value" blocks (blank-line separated). */
function sections(text: string): Map<string, Fields[]> {
  const out = new Map<string, Fields[]>();
  const lines = text.split("\n");
  let title: string | null = null;
  let block: Fields | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trimEnd();
    if (/^-{20,}$/.test(line.trim())) {
      const next = lines[i + 1]?.trim() ?? "";
      if (next && !/^-{20,}$/.test(next) && /^-{20,}$/.test(lines[i + 2]?.trim() ?? "")) {
        title = next;
        out.set(title, []);
        block = null;
        i += 2;
      }
      continue;
    }
    if (!title) continue;
    const kv = /^\s+([^:]+?)\s*:\s*(.*)$/.exec(line);
    if (kv) {
      if (!block) {
        block = {};
        out.get(title)!.push(block);
      }
      // a repeated key (the enclosure list) starts the next block
      if (kv[1]! in block) {
        block = {};
        out.get(title)!.push(block);
      }
      block[kv[1]!] = kv[2]!.trim();
    } else if (line.trim() === "" || /^(Device is a|IR volume|Initiator at)/.test(line.trim())) {
      block = null;
      if (/^Device is a /.test(line.trim())) {
        block = { __kind: line.trim().slice("Device is a ".length) };
        out.get(title)!.push(block);
      } else if (/^IR volume/.test(line.trim())) {
        block = { __kind: "volume" };
        out.get(title)!.push(block);
      }
    }
  }
  return out;
}

const word = (state: string | undefined) =>
  clean(state?.replace(/\s*\([A-Z]+\)\s*$/, "") ?? "")?.slice(0, 32) || null;
const mb = (v: string | undefined) => {
  const m = /^(\d+)\//.exec(v ?? "") ?? /^(\d+)$/.exec(v ?? "");
  return m ? Number(m[1]) * MB : null;
};

/** One controller of a DISPLAY output (null when the output holds no controller section). */
export function parseSas3ircuDisplay(text: string, tool = "sas3ircu"): RaidController | null {
  const s = sections(text);
  const ctrl = s.get("Controller information")?.[0];
  if (!ctrl) return null;
  const id = /initiated for controller (\d+)/.exec(text)?.[1] ?? null;
  const volumes = (s.get("IR Volume information") ?? []).filter((b) =>
    b["__kind"] === "volume" || b["Volume ID"]
  );
  const disks = (s.get("Physical device information") ?? []).filter((b) =>
    /hard disk/i.test(b["__kind"] ?? "")
  );
  return {
    tool,
    id,
    model: clean(ctrl["Controller type"] ?? "")?.slice(0, 128) || null,
    serial: null,
    firmware: clean(ctrl["Firmware version"] ?? "")?.slice(0, 64) || null,
    battery: null,
    virtual_drives: volumes.slice(0, 64).map((v) => ({
      id: clean(v["Volume ID"] ?? "")?.slice(0, 16) || null,
      level: clean(v["RAID level"] ?? "")?.slice(0, 16) || null,
      state: word(v["Status of volume"]),
      size_bytes: mb(v["Size (in MB)"]),
      name: clean(v["Volume Name"] ?? "")?.slice(0, 64) || null,
    })),
    physical_drives: disks.slice(0, 256).map((d) => ({
      slot: `${d["Enclosure #"] ?? "?"}:${d["Slot #"] ?? "?"}`.slice(0, 16),
      device_id: null,
      state: word(d["State"]),
      model: clean(d["Model Number"] ?? "")?.slice(0, 128) || null,
      serial: clean(d["Serial No"] ?? "")?.slice(0, 64) || null,
      size_bytes: mb(d["Size (in MB)/(in sectors)"]),
      interface: clean(d["Protocol"] ?? "")?.slice(0, 16) || null,
    })),
  };
}
