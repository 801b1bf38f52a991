// Parses /proc/cpuinfo and /proc/meminfo text.

/** What the kernel sees of the CPUs: model, logical CPUs, packages and physical cores. */
export interface CpuinfoSummary {
  model: string | null;
  logical_cpus: number;
  packages: number;
  cores: number;
}

/** Summarises /proc/cpuinfo (x86 and arm64 layouts); null when no processor entry is found. */
export function parseCpuinfo(text: string): CpuinfoSummary | null {
  const blocks = text.split(/\n\s*\n/).filter((b) => /^processor\s*:/m.test(b));
  if (blocks.length === 0) return null;
  const packages = new Set<string>();
  const cores = new Set<string>();
  let model: string | null = null;
  for (const b of blocks) {
    const kv: Record<string, string> = {};
    for (const line of b.split("\n")) {
      const m = line.match(/^([^:]+?)\s*:\s*(.*)$/);
      if (m) kv[m[1]!.trim()] = m[2]!.trim();
    }
    model ??= kv["model name"] ?? kv["Model"] ?? kv["cpu model"] ?? null;
    const pkg = kv["physical id"] ?? "0";
    packages.add(pkg);
    cores.add(`${pkg}:${kv["core id"] ?? kv["processor"]}`);
  }
  return {
    model: model ? model.replace(/\s+/g, " ").slice(0, 256) : null,
    logical_cpus: blocks.length,
    packages: packages.size,
    cores: cores.size,
  };
}

/**
 * Packages and physical cores from sysfs topology (`cpuN/topology/physical_package_id` and `core_id`), which
 * every architecture has — arm64's /proc/cpuinfo (Grace, Ampere Altra) has no `physical id` at all.
 * Entries whose ids could not be read are skipped; null when none could.
 */
export function topologyCounts(
  cpus: { pkg: string | null; core: string | null }[],
): { packages: number; cores: number } | null {
  const packages = new Set<string>();
  const cores = new Set<string>();
  for (const c of cpus) {
    const pkg = c.pkg?.trim();
    const core = c.core?.trim();
    if (!pkg || !core || !/^-?\d+$/.test(pkg) || !/^-?\d+$/.test(core)) continue;
    packages.add(pkg);
    cores.add(`${pkg}:${core}`);
  }
  return packages.size ? { packages: packages.size, cores: cores.size } : null;
}

/** /proc/meminfo as bytes per key (values given in kB are multiplied by 1024). */
export function parseMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = line.match(/^(\S+):\s+(\d+)(?:\s+kB)?\s*$/);
    if (m) out[m[1]!] = parseInt(m[2]!, 10) * (line.trim().endsWith("kB") ? 1024 : 1);
  }
  return out;
}
