// Interprets the attribute files of one /sys/bus/pci/devices/<addr> directory.
import { clean, int } from "../lib/text.ts";

/** What sysfs says of one PCI function; values are the raw attribute texts. */
export interface PciSysfsAttrs {
  class?: string;
  vendor?: string;
  device?: string;
  numa_node?: string;
  current_link_speed?: string;
  max_link_speed?: string;
  current_link_width?: string;
  max_link_width?: string;
  /** basename of the `driver` symlink */
  driver?: string;
}

/** Link and identity fields from sysfs attribute texts; unknown or invalid widths become null. */
export function parsePciSysfs(a: PciSysfsAttrs) {
  const width = (s?: string) => {
    const w = int(s);
    // 0 = link down/unknown, 255 = invalid (seen on emulated devices); real widths are 1..32
    return w !== null && w >= 1 && w <= 32 ? w : null;
  };
  const speed = (s?: string) => {
    const c = clean(s);
    return c && !/unknown/i.test(c) ? c : null;
  };
  const hex = (s?: string) => (s ? s.trim().replace(/^0x/i, "").toLowerCase() : null);
  const numa = int(a.numa_node);
  return {
    class_id: hex(a.class),
    vendor_id: hex(a.vendor),
    device_id: hex(a.device),
    numa_node: numa !== null && numa >= 0 ? numa : null,
    current_link_speed: speed(a.current_link_speed),
    max_link_speed: speed(a.max_link_speed),
    current_link_width: width(a.current_link_width),
    max_link_width: width(a.max_link_width),
    driver: clean(a.driver),
  };
}
