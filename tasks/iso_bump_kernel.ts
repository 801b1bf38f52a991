// `deno task iso:bump-kernel`: sets DEBIAN_KERNEL_ABI in iso/builder/VERSIONS to the newest kernel of the
// pinned flavour on the mirror (main, -updates and -security). Prints the old and new ABI.

import { mirrorKernelAbis, newestAbi } from "./iso/packages.ts";
import { loadVersions, splitKernelAbi } from "./iso/versions.ts";
import { atomicWrite } from "../bee/lib/atomic_write.ts";

/** VERSIONS text with DEBIAN_KERNEL_ABI replaced (every other line kept as it was). */
export function setKernelAbi(text: string, abi: string): string {
  if (!/^DEBIAN_KERNEL_ABI=/m.test(text)) throw new Error("VERSIONS has no DEBIAN_KERNEL_ABI line");
  return text.replace(/^DEBIAN_KERNEL_ABI=.*$/m, `DEBIAN_KERNEL_ABI=${abi}`);
}

if (import.meta.main) {
  const repo = Deno.env.get("BEE_REPO") || new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  try {
    const v = await loadVersions(repo);
    const { flavour } = splitKernelAbi(v.kernelAbi);
    const newest = newestAbi(await mirrorKernelAbis(v.mirror, v.securityMirror, v.suite, flavour));
    if (!newest) throw new Error(`no linux-image-*-${flavour} on ${v.mirror} for ${v.suite}`);
    const path = `${repo}/iso/builder/VERSIONS`;
    if (newest === v.kernelAbi) {
      console.log(`DEBIAN_KERNEL_ABI=${newest} (already the newest)`);
    } else {
      await atomicWrite(path, setKernelAbi(await Deno.readTextFile(path), newest));
      console.log(`DEBIAN_KERNEL_ABI ${v.kernelAbi} → ${newest}`);
    }
  } catch (e) {
    console.error(`iso:bump-kernel: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
