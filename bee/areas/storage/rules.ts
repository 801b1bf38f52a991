// Verdict rules of one area (disks: SMART, NVMe health, self-tests, wear): each row is code, severity, when, action, the source
// of its threshold, and its check over the typed audit. The engine (bee/audit/verdict.ts) applies the rows.
import { SMARTCTL_EXIT_BITS } from "../../parsers/smartctl.ts";
import { type Hit, hit, type JudgeInput, type Rule } from "../../rules/input.ts";

/** Disks whose smartctl exit status has `bit` set. */
const exitBit = (x: JudgeInput, bit: number): Hit[] =>
  x.smartDisks().flatMap(({ s, comp }) =>
    s.exit_bits.includes(bit)
      ? [hit(comp, `smartctl exit status ${s.exit_status}: ${SMARTCTL_EXIT_BITS[bit]}`)]
      : []
  );

const NVME_WARNING_BITS = [
  "spare below threshold",
  "temperature out of range",
  "reliability degraded",
  "read-only mode",
  "volatile backup failed",
  "persistent memory read-only",
];

/** The whole disk behind an md member ("sdb1" → sdb, "nvme0n1p2" → nvme0n1), named with its serial. */
function memberDisk(x: JudgeInput, device: string): string {
  const name = device.replace(/^\/dev\//, "");
  const base = /^(nvme\d+n\d+)p\d+$/.exec(name)?.[1] ?? /^([a-z]+)\d+$/.exec(name)?.[1] ?? name;
  const d = (x.hw.storage?.disks ?? []).find((k) => k.name === base);
  return d?.serial ? `${name} (${base}, serial ${d.serial})` : name;
}

/** Software RAID arrays that are not whole: from /proc/mdstat, and from mdadm --detail where it answered. */
function mdDegraded(x: JudgeInput): Hit[] {
  return (x.hw.storage?.md_arrays ?? []).flatMap((a) => {
    const detail = a.detail;
    const failed = new Set(a.members.filter((m) => m.failed).map((m) => m.device));
    for (const m of detail?.members ?? []) {
      if (/faulty/i.test(m.state) && m.device) failed.add(m.device.replace(/^\/dev\//, ""));
    }
    const short = a.raid_disks !== null && a.working_disks !== null && a.working_disks < a.raid_disks;
    const words = detail?.state && /\b(degraded|failed|not started)\b/i.test(detail.state);
    if (!short && !failed.size && a.state !== "inactive" && !words && !(detail?.failed_devices ?? 0)) {
      return [];
    }
    const removed = (detail?.members ?? []).filter((m) => m.state === "removed" && m.role !== null).map((m) =>
      m.role
    );
    const parts = [
      `${a.name} (${a.level ?? detail?.level ?? "?"}) ${a.state}${
        a.map ? ` [${a.working_disks}/${a.raid_disks}] [${a.map}]` : ""
      }${failed.size ? `, failed: ${[...failed].map((d) => memberDisk(x, d)).join(", ")}` : ""}`,
      ...(detail?.state
        ? [
          `mdadm: ${detail.state}${
            detail.raid_devices !== null
              ? `, ${detail.working_devices ?? "?"} of ${detail.raid_devices} devices working`
              : ""
          }`,
        ]
        : []),
      ...(removed.length ? [`missing role(s) ${removed.join(", ")}`] : []),
    ];
    const members = a.members.map((m) => memberDisk(x, m.device)).join(", ") || "none";
    return [hit(`storage:${a.name}`, `${parts.join("; ")}; members: ${members}`)];
  });
}

export const STORAGE_RULES: Rule[] = [
  {
    code: "storage.smart_failed",
    severity: "FAIL",
    when: "SMART overall health self-assessment failed",
    action: "Replace the disk before handover; copy off any data first.",
    source: "smartctl(8): SMART overall-health self-assessment",
    check: (x) =>
      x.smartDisks().filter(({ s }) => s.passed === false).map(({ d, comp }) =>
        hit(comp, `SMART overall health FAILED (${d.model ?? "unknown model"}, serial ${d.serial ?? "?"})`)
      ),
  },
  {
    code: "storage.smart_disk_failing",
    severity: "FAIL",
    when: "smartctl exit bit 3: SMART status DISK FAILING",
    action: "Replace the disk before handover.",
    source: "smartctl(8) RETURN VALUES, exit bit 3",
    check: (x) => exitBit(x, 3),
  },
  {
    code: "storage.smart_prefail",
    severity: "FAIL",
    when: "smartctl exit bit 4: a pre-failure attribute is at or below its threshold",
    action: "Replace the disk; the attribute table in the audit says which attribute tripped.",
    source: "smartctl(8) RETURN VALUES, exit bit 4",
    check: (x) => exitBit(x, 4),
  },
  {
    code: "storage.smart_past_threshold",
    severity: "WARN",
    when: "smartctl exit bit 5: a usage attribute was at or below its threshold in the past",
    action: "Check the disk's attribute history; plan a replacement.",
    source: "smartctl(8) RETURN VALUES, exit bit 5",
    check: (x) => exitBit(x, 5),
  },
  {
    code: "storage.smart_error_log",
    severity: "WARN",
    when: "smartctl exit bit 6: the device error log has entries",
    action: "Read the error log (smartctl -x); run a long self-test.",
    source: "smartctl(8) RETURN VALUES, exit bit 6",
    check: (x) => exitBit(x, 6),
  },
  {
    code: "storage.smart_selftest_log",
    severity: "WARN",
    when: "smartctl exit bit 7: the self-test log records failed tests",
    action: "Re-run a self-test; replace the disk if it fails again.",
    source: "smartctl(8) RETURN VALUES, exit bit 7",
    check: (x) => exitBit(x, 7),
  },
  {
    code: "storage.reallocated_sectors",
    severity: "WARN",
    when: "reallocated sectors (ATA id 5) or SAS grown defects > 0",
    action: "Watch the count during burn-in; replace the disk if it grows.",
    source:
      "MAAS smartctl-validate / Backblaze drive stats: any reallocated sector (ATA id 5) or SCSI grown defect",
    check: (x) =>
      x.smartDisks().flatMap(({ s, comp }) =>
        (s.reallocated_sectors ?? 0) + (s.grown_defects ?? 0) > 0
          ? [
            hit(
              comp,
              s.grown_defects
                ? `${s.grown_defects} grown defects`
                : `${s.reallocated_sectors} reallocated sectors`,
            ),
          ]
          : []
      ),
  },
  {
    code: "storage.pending_sectors",
    severity: "WARN",
    when: "pending (id 197) or offline-uncorrectable (id 198) sectors > 0",
    action: "Run a long self-test or full-surface write; replace the disk if sectors stay pending.",
    source: "ATA SMART ids 197/198 (smartmontools attribute notes): any pending sector",
    check: (x) =>
      x.smartDisks().flatMap(({ s, comp }) =>
        (s.pending_sectors ?? 0) + (s.offline_uncorrectable ?? 0) > 0
          ? [
            hit(
              comp,
              `${s.pending_sectors ?? 0} pending, ${
                s.offline_uncorrectable ?? 0
              } offline-uncorrectable sectors`,
            ),
          ]
          : []
      ),
  },
  {
    code: "storage.uncorrected_errors",
    severity: "WARN",
    when: "SAS error counter log shows uncorrected read/write errors",
    action: "Check cabling and the HBA; replace the disk if errors grow.",
    source: "SCSI error counter log (smartctl -x): total uncorrected errors",
    check: (x) =>
      x.smartDisks().flatMap(({ s, comp }) =>
        (s.uncorrected_read_errors ?? 0) + (s.uncorrected_write_errors ?? 0) > 0
          ? [
            hit(
              comp,
              `${s.uncorrected_read_errors ?? 0} uncorrected read, ${
                s.uncorrected_write_errors ?? 0
              } uncorrected write errors`,
            ),
          ]
          : []
      ),
  },
  {
    code: "storage.nvme_critical_warning",
    severity: "FAIL",
    when: "NVMe critical_warning ≠ 0",
    action: "Replace the NVMe drive; the message decodes which warning bits are set.",
    source: "NVMe base spec, SMART/Health log byte 0 (critical warning bits)",
    check: (x) =>
      x.nvmeHealth().flatMap(({ h, comp }) => {
        if (h.critical_warning === null || h.critical_warning === 0) return [];
        const set = NVME_WARNING_BITS.filter((_, i) => h.critical_warning! & (1 << i));
        return [
          hit(
            comp,
            `critical_warning=0x${h.critical_warning.toString(16)} (${set.join(", ") || "reserved bits"})`,
          ),
        ];
      }),
  },
  {
    code: "storage.nvme_spare_low",
    severity: "FAIL",
    when: "NVMe available_spare below available_spare_threshold",
    action: "Replace the NVMe drive.",
    source: "NVMe base spec: Available Spare below Available Spare Threshold",
    check: (x) =>
      x.nvmeHealth().flatMap(({ h, comp }) =>
        h.available_spare !== null && h.available_spare_threshold !== null &&
          h.available_spare < h.available_spare_threshold
          ? [
            hit(
              comp,
              `available spare ${h.available_spare}% below threshold ${h.available_spare_threshold}%`,
            ),
          ]
          : []
      ),
  },
  {
    code: "storage.nvme_wear",
    severity: "WARN",
    when: "NVMe percentage_used ≥ 90",
    action: "The drive is near its rated endurance; plan a replacement.",
    source: "NVMe base spec Percentage Used; 90 % chosen by bee (vendors rate endurance at 100 %)",
    check: (x) =>
      x.nvmeHealth().flatMap(({ h, comp }) =>
        h.percentage_used !== null && h.percentage_used >= 90
          ? [hit(comp, `percentage used ${h.percentage_used}%`)]
          : []
      ),
  },
  {
    code: "storage.nvme_media_errors",
    severity: "WARN",
    when: "NVMe media_errors > 0",
    action: "Run the NVMe self-test; replace the drive if errors grow.",
    source: "NVMe base spec: Media and Data Integrity Errors > 0",
    check: (x) =>
      x.nvmeHealth().flatMap(({ h, comp }) =>
        h.media_errors !== null && h.media_errors > 0 ? [hit(comp, `${h.media_errors} media errors`)] : []
      ),
  },
  {
    code: "storage.smart_unchecked",
    severity: "WARN",
    when: "disks present but smartctl is not installed",
    action: "Install smartmontools (it ships in the bee ISO) and re-run the audit.",
    source: "bee: a disk whose SMART was not read cannot pass",
    check: (x) =>
      x.hw.storage && x.hw.storage.disks.length > 0 && x.hw.storage.smartctl_missing
        ? [hit("storage", `${x.hw.storage.disks.length} disk(s) not checked: smartctl not installed`)]
        : [],
  },
  {
    code: "storage.md_degraded",
    severity: "FAIL",
    when:
      "a software RAID array works with fewer disks than it has, has a failed member, is inactive, or mdadm --detail calls it degraded, FAILED or Not Started",
    action:
      "Replace the disk the line names (its serial is given), add it back (mdadm --add) and let the array rebuild before handover.",
    source:
      "Linux md: /proc/mdstat [n/m] raid disks / working disks and (F) faulty member; mdadm(8) --detail State and device table",
    check: mdDegraded,
  },
  {
    code: "storage.md_members_missing",
    severity: "WARN",
    when:
      "the disks carry an md array (superblocks, mdadm --examine) that is not assembled and has fewer of its members here than it was made with",
    action:
      "Find the missing member disk (a failed or pulled disk, or one left in another server) before handover; assemble the array only if the order asks for it.",
    source: "mdadm(8) --examine: the array's num-devices against the member devices found",
    check: (x) => {
      const running = new Set((x.hw.storage?.md_arrays ?? []).map((a) => a.detail?.uuid).filter(Boolean));
      return (x.hw.storage?.md_superblocks ?? []).filter((a) =>
        !(a.uuid && running.has(a.uuid)) && a.num_devices !== null && a.devices.length < a.num_devices
      ).map((a) =>
        hit(
          `storage:md:${a.uuid ?? a.device}`,
          `md array ${a.name ?? a.device} (${a.level ?? "?"}, UUID ${
            a.uuid ?? "?"
          }) is not assembled and has ${a.devices.length} of its ${a.num_devices} members here: ${
            a.devices.map((d) => memberDisk(x, d)).join(", ") || "none"
          }`,
        )
      );
    },
  },
  {
    code: "storage.md_rebuilding",
    severity: "WARN",
    when: "a software RAID array is resyncing, recovering or reshaping",
    action:
      "Let it finish before handover (or before a burn-in that measures the disks); watch /proc/mdstat.",
    source: "Linux md: resync/recovery/reshape progress in /proc/mdstat",
    check: (x) =>
      (x.hw.storage?.md_arrays ?? []).flatMap((a) =>
        a.sync && a.sync.action !== "check"
          ? [
            hit(
              `storage:${a.name}`,
              `${a.name}: ${a.sync.action} ${a.sync.percent ?? "pending"}${
                a.sync.percent !== null ? " %" : ""
              }`,
            ),
          ]
          : []
      ),
  },
  {
    code: "storage.raid_unchecked",
    severity: "WARN",
    when:
      "a RAID controller or SAS HBA is on the PCI bus but none of its maker's tools (storcli64, sas3ircu, ssacli, arcconf…) read an inventory here: not in the image, or it hung, failed or printed nothing readable",
    action:
      "Add the controller's CLI to iso/vendor/ and rebuild the image (deno task iso), or see why the tool named failed; until then the disks behind it are not checked.",
    source: "bee: disks behind a controller are invisible to smartctl on /dev/sdX; unchecked is never a pass",
    check: (x) =>
      (x.hw.storage?.raid_controllers ?? []).filter((c) => !c.tools.length).map((c) =>
        hit(
          `storage:${c.address}`,
          `${
            c.class_id.startsWith("0x0104") ? "RAID controller" : "SAS HBA"
          } ${c.address} (vendor ${c.vendor_id}) on the PCI bus, ${
            c.tools_failed?.length
              ? `its tool read nothing (${c.tools_failed.join("; ")})`
              : "no vendor tool here"
          }: the disks behind it were not checked`,
        )
      ),
  },
  {
    code: "storage.raid_degraded",
    severity: "FAIL",
    when:
      "a hardware RAID virtual drive is not optimal (degraded, partially degraded, offline) or a physical drive has failed or is offline (vendor tool)",
    action:
      "Replace the drive the line names (slot, model), let the controller rebuild, and audit again before handover.",
    source:
      "storcli states: VD Optl/Dgrd/Pdgd/OfLn; PD Onln/Offln/Failed/UBad. ssacli: logical drive Failed/Interim Recovery Mode; physical drive Failed. arcconf: logical device Degraded/Failed/Offline; physical device Failed. sas3ircu: volume Degraded/Failed/Inactive; disk Failed/Missing",
    check: (x) =>
      (x.hw.storage?.raid ?? []).flatMap((c) => {
        const who = `${c.model ?? "controller"} ${c.serial ?? c.id ?? ""}`.trim();
        return [
          ...c.virtual_drives.filter((v) =>
            v.state &&
            /^(dgrd|pdgd|ofln|offline|degraded|failed|inactive|interim recovery mode)\b/i.test(v.state)
          )
            .map((v) =>
              hit(
                `storage:raid:${c.id ?? "?"}/${v.id}`,
                `${who}: virtual drive ${v.id} (${v.level ?? "?"}${
                  v.name ? `, ${v.name}` : ""
                }) is ${v.state}`,
              )
            ),
          ...c.physical_drives.filter((p) =>
            p.state && /^(failed|offln|offline|ubad|missing)$/i.test(p.state)
          )
            .map((p) =>
              hit(
                `storage:raid:${c.id ?? "?"}/${p.slot}`,
                `${who}: drive in slot ${p.slot} (${p.model ?? "?"}${
                  p.serial ? `, serial ${p.serial}` : ""
                }) is ${p.state}`,
              )
            ),
        ];
      }),
  },
  {
    code: "storage.raid_warning",
    severity: "WARN",
    when:
      "a hardware RAID drive is rebuilding or a virtual drive recovering, or the controller's battery/CacheVault is not optimal",
    action:
      "Let the rebuild finish before handover; replace a failed battery (write caching falls back to write-through without it).",
    source:
      "storcli states: PD Rbld, VD Rec; BBU/CacheVault State. ssacli: physical drive Rebuilding/Predictive Failure; logical drive Recovering/Ready for Rebuild; Battery/Capacitor Status. arcconf: physical device Rebuilding; logical device Impacted (built but not yet verified); battery, ZMM or backup-unit status. sas3ircu: disk Rebuilding/Out of Sync",
    check: (x) =>
      (x.hw.storage?.raid ?? []).flatMap((c) => {
        const who = `${c.model ?? "controller"} ${c.serial ?? c.id ?? ""}`.trim();
        return [
          ...c.physical_drives.filter((p) => p.state && /^(rbld|rebuilding|out of sync)$/i.test(p.state))
            .map((p) =>
              hit(
                `storage:raid:${c.id ?? "?"}/${p.slot}`,
                `${who}: drive in slot ${p.slot} is ${
                  /^rbld$/i.test(p.state!) ? "rebuilding" : p.state!.toLowerCase()
                }`,
              )
            ),
          ...c.physical_drives.filter((p) => p.state && /^predictive failure$/i.test(p.state))
            .map((p) =>
              hit(
                `storage:raid:${c.id ?? "?"}/${p.slot}`,
                `${who}: drive in slot ${p.slot} reports a predictive failure`,
              )
            ),
          ...c.virtual_drives.filter((v) =>
            v.state && /^(rec|recovering\b.*|ready for rebuild|impacted\b.*)$/i.test(v.state)
          )
            .map((v) =>
              hit(
                `storage:raid:${c.id ?? "?"}/${v.id}`,
                `${who}: virtual drive ${v.id} is ${/^rec$/i.test(v.state!) ? "recovering" : v.state}`,
              )
            ),
          ...(c.battery && !/^(optimal|ok|ready|zmm optimal)$/i.test(c.battery)
            ? [hit(`storage:raid:${c.id ?? "?"}`, `${who}: battery/CacheVault state ${c.battery}`)]
            : []),
        ];
      }),
  },
];
