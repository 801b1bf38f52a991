// `deno task iso:base-image`: makes the builder's base image (localhost/bee-debian-base:<suite>) with
// debootstrap from the Debian mirror and `podman|docker import`, for machines where no registry answers.
// `deno task iso` does the same by itself when it cannot pull debian:trixie.

import { detectEngine } from "./iso/container.ts";
import { makeBaseImage } from "./iso/base_image.ts";
import { loadVersions } from "./iso/versions.ts";

const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

if (import.meta.main) {
  try {
    const v = await loadVersions(repo);
    const env = Deno.env.toObject();
    const engine = await detectEngine(env);
    const platform = env.BEE_BUILDER_PLATFORM || "linux/amd64";
    const started = performance.now();
    console.error(`iso:base-image: debootstrap ${v.suite} from ${v.mirror} → ${engine} import`);
    const image = await makeBaseImage({
      engine,
      suite: v.suite,
      mirror: v.mirror,
      platform,
      workDir: `${repo}/dist/base`,
      logFile: `${repo}/dist/base-image.log`,
    });
    console.error(`iso:base-image: done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    console.log(image);
  } catch (e) {
    console.error(`iso:base-image: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
