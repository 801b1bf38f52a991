// Makes the builder's base image without a registry: debootstrap (minbase) of the pinned suite from the
// Debian mirror into a temporary folder, packed and imported as localhost/bee-debian-base:<suite>.

import { exec } from "../../bee/lib/exec.ts";
import { runProc } from "../../bee/lib/proc.ts";
import type { Engine } from "./container.ts";
import { platformArch } from "./container.ts";

/** debootstrap → tar → `<engine> import`; returns the image name. */
export async function makeBaseImage(o: {
  engine: Engine;
  suite: string;
  mirror: string;
  platform: string;
  workDir: string;
  logFile: string;
}): Promise<string> {
  const arch = platformArch(o.platform);
  if ((await exec("debootstrap", ["--version"], { timeoutMs: 10_000 })).kind === "missing") {
    throw new Error("debootstrap is not installed (apt-get install debootstrap), and no registry answers");
  }
  const root = `${o.workDir}/base-rootfs`;
  await Deno.remove(root, { recursive: true }).catch(() => {});
  await Deno.mkdir(o.workDir, { recursive: true });
  const r = await runProc(
    "debootstrap",
    ["--variant=minbase", `--arch=${arch}`, o.suite, root, o.mirror],
    { timeoutMs: 30 * 60_000, stdoutPath: o.logFile },
  );
  if (r.kind !== "exited" || r.code !== 0) throw new Error(`debootstrap failed (see ${o.logFile})`);
  const image = `localhost/bee-debian-base:${o.suite}`;
  const tarPath = `${o.workDir}/base-rootfs.tar`;
  const t = await exec("tar", ["-C", root, "-cf", tarPath, "."], { timeoutMs: 10 * 60_000 });
  if (t.kind !== "exited" || t.code !== 0) throw new Error(`tar of the base rootfs failed`);
  const args = ["import", "--change", 'CMD ["/bin/bash"]'];
  if (o.engine === "podman") args.push("--arch", arch);
  else args.push("--platform", o.platform);
  const imp = await exec(o.engine, [...args, tarPath, image], { timeoutMs: 10 * 60_000 });
  await Deno.remove(root, { recursive: true }).catch(() => {});
  await Deno.remove(tarPath).catch(() => {});
  if (imp.kind !== "exited" || imp.code !== 0) {
    throw new Error(`${o.engine} import failed: ${imp.kind === "exited" ? imp.stderr.trim() : imp.kind}`);
  }
  return image;
}
