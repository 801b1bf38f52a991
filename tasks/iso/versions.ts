// Reads iso/builder/VERSIONS (KEY=value lines) and resolves the Debian mirrors: the environment
// (BEE_DEBIAN_MIRROR, BEE_DEBIAN_SECURITY_MIRROR) wins, then a URL in VERSIONS, then — for `host` — the
// build host's own apt sources. Pure functions; the file reads are in loadVersions.

/** The pinned inputs of an ISO build. */
export interface Versions {
  suite: string;
  kernelAbi: string;
  denoVersion: string;
  mirror: string;
  securityMirror: string;
  squashfsCompression: "zstd" | "xz";
  raw: Record<string, string>;
}

/** Parses `KEY=value` lines (comments and blank lines skipped, optional quotes removed). */
export function parseVersionsFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^\s*([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    out[m[1]!] = m[2]!.trim().replace(/^(["'])(.*)\1$/, "$2");
  }
  return out;
}

/** The Debian archive URIs named in apt sources (one-line and deb822 forms): main archive and security. */
export function aptSourceMirrors(texts: string[]): { mirror: string | null; security: string | null } {
  const uris: string[] = [];
  for (const text of texts) {
    for (const raw of text.split("\n")) {
      const line = raw.replace(/#.*$/, "").trim();
      let m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/.exec(line);
      if (m) uris.push(m[1]!);
      m = /^URIs:\s*(.+)$/i.exec(line);
      if (m) uris.push(...m[1]!.split(/\s+/));
    }
  }
  const clean = (u: string) => u.replace(/\/+$/, "");
  const security = uris.find((u) => /debian-security/.test(u)) ?? null;
  const mirror = uris.find((u) => /\/debian$|\/debian\/$/.test(u) && !/security/.test(u)) ?? null;
  return { mirror: mirror && clean(mirror), security: security && clean(security) };
}

/** Splits `6.12.117+deb13-amd64` into the live-build package stem and flavour. */
export function splitKernelAbi(abi: string): { pkg: string; flavour: string } {
  const m = /^(\d+\.\d+\.\d+\+deb\d+)-([a-z0-9-]+)$/.exec(abi);
  if (!m) throw new Error(`DEBIAN_KERNEL_ABI '${abi}' is not of the form 6.12.117+deb13-amd64`);
  return { pkg: `linux-image-${m[1]}`, flavour: m[2]! };
}

/** Builds the resolved Versions from VERSIONS, the environment and the host's apt source texts. */
export function resolveVersions(
  raw: Record<string, string>,
  env: Record<string, string | undefined>,
  aptTexts: string[],
): Versions {
  const need = (k: string) => {
    const v = raw[k];
    if (!v) throw new Error(`iso/builder/VERSIONS: ${k} is missing`);
    return v;
  };
  const host = aptSourceMirrors(aptTexts);
  const pick = (envKey: string, key: string, hostValue: string | null, what: string) => {
    const v = env[envKey] || raw[key] || "host";
    if (v !== "host") return v.replace(/\/+$/, "");
    if (!hostValue) {
      throw new Error(`no ${what} mirror: set ${envKey}=URL (the host's apt sources name none)`);
    }
    return hostValue;
  };
  const mirror = pick("BEE_DEBIAN_MIRROR", "DEBIAN_MIRROR", host.mirror, "Debian");
  // a host without a security line: the security archive is beside the main one on the same server
  const securityGuess = host.security ??
    (host.mirror ? host.mirror.replace(/\/debian$/, "/debian-security") : null);
  const securityMirror = pick(
    "BEE_DEBIAN_SECURITY_MIRROR",
    "DEBIAN_SECURITY_MIRROR",
    securityGuess,
    "security",
  );
  const comp = env.BEE_SQUASHFS_COMPRESSION || raw.SQUASHFS_COMPRESSION || "zstd";
  if (comp !== "zstd" && comp !== "xz") {
    throw new Error(`SQUASHFS_COMPRESSION must be zstd or xz, not '${comp}'`);
  }
  const kernelAbi = need("DEBIAN_KERNEL_ABI");
  splitKernelAbi(kernelAbi);
  return {
    suite: need("DEBIAN_SUITE"),
    kernelAbi,
    denoVersion: need("DENO_VERSION"),
    mirror,
    securityMirror,
    squashfsCompression: comp,
    raw,
  };
}

/** Reads VERSIONS and the host's apt sources, and resolves them. */
export async function loadVersions(repo: string): Promise<Versions> {
  const raw = parseVersionsFile(await Deno.readTextFile(`${repo}/iso/builder/VERSIONS`));
  const texts: string[] = [];
  for (const f of ["/etc/apt/sources.list"]) {
    texts.push(await Deno.readTextFile(f).catch(() => ""));
  }
  try {
    for await (const e of Deno.readDir("/etc/apt/sources.list.d")) {
      if (/\.(list|sources)$/.test(e.name)) {
        texts.push(await Deno.readTextFile(`/etc/apt/sources.list.d/${e.name}`).catch(() => ""));
      }
    }
  } catch { /* no sources.list.d */ }
  return resolveVersions(raw, Deno.env.toObject(), texts);
}
