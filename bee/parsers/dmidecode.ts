// Parses `dmidecode` text output into handles, then into board, CPU socket and memory slot data.
import { clean, int, sizeBytes } from "../lib/text.ts";
import type { Board } from "../model/schema.ts";

/** One DMI structure: its type, title line and `Key: Value` fields (list items are dropped). */
export interface DmiHandle {
  handle: string;
  type: number;
  title: string;
  fields: Record<string, string>;
}

/** Splits dmidecode output into structures. Never throws; unknown text is ignored. */
export function parseDmidecode(text: string): DmiHandle[] {
  const handles: DmiHandle[] = [];
  let cur: DmiHandle | null = null;
  let expectTitle = false;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "");
    const h = line.match(/^Handle (0x[0-9A-Fa-f]+), DMI type (\d+),/);
    if (h) {
      cur = { handle: h[1]!, type: parseInt(h[2]!, 10), title: "", fields: {} };
      handles.push(cur);
      expectTitle = true;
      continue;
    }
    if (!cur) continue;
    if (expectTitle) {
      if (line.trim() !== "") {
        cur.title = line.trim();
        expectTitle = false;
      }
      continue;
    }
    // fields are one tab deep; list items (two tabs) belong to the previous field
    const f = line.match(/^\t([^\t:][^:]*):\s?(.*)$/);
    if (f) cur.fields[f[1]!.trim()] = f[2]!.trim();
  }
  return handles;
}

/** Board, system and BIOS identity from `dmidecode -t 0,1,2`; null when no structure was found. */
export function boardFromDmi(handles: DmiHandle[]): Board | null {
  const bios = handles.find((h) => h.type === 0)?.fields;
  const sys = handles.find((h) => h.type === 1)?.fields;
  const mb = handles.find((h) => h.type === 2)?.fields;
  if (!bios && !sys && !mb) return null;
  return {
    bios: {
      vendor: clean(bios?.["Vendor"]),
      version: clean(bios?.["Version"]),
      release_date: clean(bios?.["Release Date"]),
    },
    system: {
      manufacturer: clean(sys?.["Manufacturer"]),
      product: clean(sys?.["Product Name"]),
      version: clean(sys?.["Version"]),
      serial: clean(sys?.["Serial Number"]),
      uuid: clean(sys?.["UUID"]),
      sku: clean(sys?.["SKU Number"]),
      family: clean(sys?.["Family"]),
    },
    baseboard: {
      manufacturer: clean(mb?.["Manufacturer"]),
      product: clean(mb?.["Product Name"]),
      version: clean(mb?.["Version"]),
      serial: clean(mb?.["Serial Number"]),
    },
  };
}

/** One processor socket from a type 4 structure. */
export interface CpuSocketInfo {
  socket: string | null;
  manufacturer: string | null;
  model: string | null;
  cores: number | null;
  cores_enabled: number | null;
  threads: number | null;
  max_speed_mhz: number | null;
  current_speed_mhz: number | null;
  status: string | null;
  populated: boolean;
}

/** Processor sockets from `dmidecode -t 4`, empty sockets included (populated: false). */
export function cpuSocketsFromDmi(handles: DmiHandle[]): CpuSocketInfo[] {
  return handles.filter((h) => h.type === 4).map((h) => {
    const f = h.fields;
    const status = clean(f["Status"]);
    return {
      socket: clean(f["Socket Designation"]),
      manufacturer: clean(f["Manufacturer"]),
      model: clean(f["Version"]),
      cores: int(f["Core Count"]),
      cores_enabled: int(f["Core Enabled"]),
      threads: int(f["Thread Count"]),
      max_speed_mhz: int(f["Max Speed"]),
      current_speed_mhz: int(f["Current Speed"]),
      status,
      populated: !(status ?? "").toLowerCase().startsWith("unpopulated"),
    };
  });
}

/** One memory slot from a type 17 structure. */
export interface MemorySlotInfo {
  /** DRAM, or persistent memory (Optane PMem: `Logical non-volatile device`) that is never counted as DRAM */
  kind?: "dram" | "pmem";
  /** PMem capacity given to the OS as volatile memory (Memory Mode), from `Volatile Size` */
  volatile_bytes?: number | null;
  locator: string | null;
  bank_locator: string | null;
  installed: boolean;
  size_bytes: number | null;
  type: string | null;
  form_factor: string | null;
  speed_mts: number | null;
  configured_speed_mts: number | null;
  manufacturer: string | null;
  part_number: string | null;
  serial: string | null;
}

/** Every memory slot from `dmidecode -t 17`, empty ones included (installed: false, size null). */
export function memorySlotsFromDmi(handles: DmiHandle[]): MemorySlotInfo[] {
  return handles.filter((h) => h.type === 17).map((h) => {
    const f = h.fields;
    const sizeText = f["Size"] ?? "";
    const size = sizeBytes(sizeText);
    const installed = size !== null && size > 0;
    const pmem = /non-volatile/i.test(f["Type"] ?? "") || /persistent/i.test(f["Memory Technology"] ?? "");
    return {
      ...(installed ? { kind: pmem ? "pmem" as const : "dram" as const } : {}),
      ...(installed && pmem ? { volatile_bytes: sizeBytes(f["Volatile Size"] ?? "") } : {}),
      locator: clean(f["Locator"]),
      bank_locator: clean(f["Bank Locator"]),
      installed,
      size_bytes: installed ? size : null,
      type: installed ? clean(f["Type"]) : null,
      form_factor: clean(f["Form Factor"]),
      speed_mts: installed ? int(f["Speed"]) : null,
      configured_speed_mts: installed
        ? int(f["Configured Memory Speed"] ?? f["Configured Clock Speed"])
        : null,
      manufacturer: installed ? clean(f["Manufacturer"]) : null,
      part_number: installed ? clean(f["Part Number"]) : null,
      serial: installed ? clean(f["Serial Number"]) : null,
    };
  });
}
