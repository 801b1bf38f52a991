// Parses `storcli64 /call show J` (Broadcom/LSI MegaRAID): per controller its model, serial, firmware and
// battery/capacitor state, each virtual drive's level, state and size, each physical drive's slot, state,
// model, size and interface. The states are storcli's abbreviations (Optl, Dgrd, Pdgd, OfLn, Rec; Onln,
// Offln, Failed, Rbld, UGood, UBad, DHS, GHS).
import { clean, sizeBytes } from "../lib/text.ts";
import type { RaidController } from "../model/schema.ts";

type Json = Record<string, unknown>;
const s = (
  v: unknown,
  max = 128,
) => (v === null || v === undefined ? null : clean(String(v))?.slice(0, max) ?? null);

/** Every controller storcli answered for (a controller whose command failed is left out). */
export function parseStorcliShow(text: string): RaidController[] {
  let doc: { Controllers?: Json[] };
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error("storcli gave no JSON");
  }
  const out: RaidController[] = [];
  for (const c of (doc.Controllers ?? []).slice(0, 16)) {
    const status = c["Command Status"] as Json | undefined;
    const r = c["Response Data"] as Json | undefined;
    if (!r || s(status?.["Status"]) !== "Success") continue;
    const bbu = ((r["BBU_Info"] ?? r["Cachevault_Info"]) as Json[] | undefined)?.[0];
    out.push({
      tool: "storcli",
      id: s(status?.["Controller"], 8),
      model: s(r["Product Name"]),
      serial: s(r["Serial Number"]),
      firmware: s(r["FW Version"] ?? r["FW Package Build"]),
      battery: bbu ? s(bbu["State"], 32) : null,
      virtual_drives: ((r["VD LIST"] as Json[] | undefined) ?? []).slice(0, 64).map((v) => ({
        id: s(v["DG/VD"], 16),
        level: s(v["TYPE"], 16),
        state: s(v["State"], 16),
        size_bytes: sizeBytes(s(v["Size"], 32)),
        name: s(v["Name"], 64),
      })),
      physical_drives: ((r["PD LIST"] as Json[] | undefined) ?? []).slice(0, 256).map((p) => ({
        slot: s(p["EID:Slt"], 16),
        device_id: s(p["DID"], 8),
        state: s(p["State"], 16),
        model: s(p["Model"]),
        serial: null,
        size_bytes: sizeBytes(s(p["Size"], 32)),
        interface: s(p["Intf"], 16),
      })),
    });
  }
  return out;
}
