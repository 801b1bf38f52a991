// Which kernel ABIs a Debian mirror carries: reads Packages indexes (fetched with a timeout, gzip or xz
// decompressed) and picks linux-image-<abi> packages of one flavour. Parsing is pure.

/** Every `linux-image-<version>+debN-<flavour>` in a Packages index, as ABIs (`6.12.117+deb13-amd64`). */
export function kernelAbis(packagesText: string, flavour: string): string[] {
  const out = new Set<string>();
  const re = new RegExp(`^Package: linux-image-(\\d+\\.\\d+\\.\\d+\\+deb\\d+-${flavour})$`, "gm");
  for (const m of packagesText.matchAll(re)) out.add(m[1]!);
  return [...out].sort(compareAbi);
}

/** Orders ABIs by kernel version numerically (6.12.96 < 6.12.117). */
export function compareAbi(a: string, b: string): number {
  const nums = (s: string) => (/^(\d+)\.(\d+)\.(\d+)\+deb(\d+)/.exec(s) ?? []).slice(1).map(Number);
  const x = nums(a), y = nums(b);
  for (let i = 0; i < 4; i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d) return d;
  }
  return a.localeCompare(b);
}

/** The newest of a list of ABIs, or null. */
export function newestAbi(abis: string[]): string | null {
  return abis.length ? [...abis].sort(compareAbi).at(-1)! : null;
}

/** Fetches `<base>/Packages.gz` (or .xz through `xz -dc`) with a timeout and returns the text. */
export async function fetchPackages(base: string, timeoutMs = 120_000): Promise<string> {
  const errors: string[] = [];
  for (const ext of ["gz", "xz"]) {
    const url = `${base}/Packages.${ext}`;
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      errors.push(`${url}: ${(e as Error).message}`);
      continue;
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      errors.push(`${url}: HTTP ${res.status}`);
      continue;
    }
    if (ext === "gz") {
      return await new Response(res.body.pipeThrough(new DecompressionStream("gzip"))).text();
    }
    const xz = new Deno.Command("xz", { args: ["-dc"], stdin: "piped", stdout: "piped", stderr: "null" })
      .spawn();
    const [, out] = await Promise.all([res.body.pipeTo(xz.stdin), xz.output()]);
    if (!out.success) throw new Error(`${url}: xz could not decompress it`);
    return new TextDecoder().decode(out.stdout);
  }
  throw new Error(errors.join("; "));
}

/** The kernel ABIs of a suite on the main and security mirrors (trixie, trixie-updates, trixie-security). */
export async function mirrorKernelAbis(
  mirror: string,
  securityMirror: string,
  suite: string,
  flavour: string,
): Promise<string[]> {
  const bases = [
    `${mirror}/dists/${suite}/main/binary-amd64`,
    `${mirror}/dists/${suite}-updates/main/binary-amd64`,
    `${securityMirror}/dists/${suite}-security/main/binary-amd64`,
  ];
  const found = new Set<string>();
  let reached = 0;
  for (const base of bases) {
    try {
      for (const abi of kernelAbis(await fetchPackages(base), flavour)) found.add(abi);
      reached++;
    } catch (e) {
      if (base === bases[0]) throw e; // the main suite must answer; updates/security may be absent
    }
  }
  if (!reached) throw new Error(`no Packages index reachable for ${suite}`);
  return [...found].sort(compareAbi);
}
