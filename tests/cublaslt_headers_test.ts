// tasks/cublaslt_headers.sh against a Debian-style mirror on 127.0.0.1 that the test builds: a real
// .deb made with dpkg-deb, Packages and Release files with real SHA256 sums, served by Deno.serve. The
// script's own apt download runs; a .deb whose bytes differ from the Packages SHA256 must be refused
// and leave the headers already there untouched.
import assert from "node:assert/strict";
import { REPO } from "../testkit/helpers.ts";

const dec = new TextDecoder();
const has = (cmd: string) =>
  new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null" }).outputSync().code === 0;
const tools = has("apt-get") && has("dpkg-deb");

async function sha256(data: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", data);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Builds nvidia-cuda-dev_<version>_amd64.deb holding the four headers; returns its bytes. */
function buildDeb(dir: string, version: string, lt: string): Uint8Array<ArrayBuffer> {
  const root = `${dir}/pkg-${version}`;
  Deno.mkdirSync(`${root}/DEBIAN`, { recursive: true });
  Deno.mkdirSync(`${root}/usr/include`, { recursive: true });
  Deno.writeTextFileSync(
    `${root}/DEBIAN/control`,
    `Package: nvidia-cuda-dev\nVersion: ${version}\nArchitecture: amd64\nMaintainer: bee tests <t@example.invalid>\n` +
      "Description: test package\n",
  );
  Deno.writeTextFileSync(`${root}/usr/include/cublasLt.h`, lt);
  Deno.writeTextFileSync(
    `${root}/usr/include/cublas_api.h`,
    "#define CUBLAS_VER_MAJOR 12\n#define CUBLAS_VER_MINOR 9\n/* cublas */\n",
  );
  Deno.writeTextFileSync(`${root}/usr/include/cublas.h`, "/* cublas */\n");
  Deno.writeTextFileSync(`${root}/usr/include/cublas_v2.h`, "/* cublas */\n");
  const out = `${dir}/nvidia-cuda-dev_${version}_amd64.deb`;
  const r = new Deno.Command("dpkg-deb", {
    args: ["--root-owner-group", "-b", root, out],
    stdout: "null",
    stderr: "piped",
  })
    .outputSync();
  assert.equal(r.code, 0, dec.decode(r.stderr));
  return Deno.readFileSync(out);
}

interface Mirror {
  url: string;
  /** replaces what the mirror serves: the .deb bytes, and the bytes its Packages entry describes */
  publish(
    version: string,
    served: Uint8Array<ArrayBuffer>,
    described?: Uint8Array<ArrayBuffer>,
  ): Promise<void>;
  requests: string[];
  close(): Promise<void>;
}

function mirror(): Mirror {
  const files = new Map<string, Uint8Array<ArrayBuffer>>();
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    requests.push(path);
    const body = files.get(path);
    return body ? new Response(body) : new Response("not found", { status: 404 });
  });
  const enc = new TextEncoder();
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    async publish(version, served, described = served) {
      const pool = `pool/non-free/n/nvidia-cuda-toolkit/nvidia-cuda-dev_${version}_amd64.deb`;
      files.set(`/${pool}`, served);
      const packages = enc.encode(
        `Package: nvidia-cuda-dev\nVersion: ${version}\nArchitecture: amd64\nFilename: ${pool}\n` +
          `Size: ${described.length}\nSHA256: ${await sha256(described)}\nDescription: test package\n\n`,
      );
      files.set("/dists/bookworm/non-free/binary-amd64/Packages", packages);
      const release = "Origin: bee-test\nSuite: bookworm\nCodename: bookworm\nArchitectures: amd64\n" +
        `Components: non-free\nDate: ${new Date().toUTCString()}\nSHA256:\n` +
        ` ${await sha256(packages)} ${packages.length} non-free/binary-amd64/Packages\n`;
      files.set("/dists/bookworm/Release", enc.encode(release));
    },
    close: () => server.shutdown(),
  };
}

function fetchHeaders(m: Mirror, dest: string, work: string) {
  return new Deno.Command("sh", {
    args: [`${REPO}/tasks/cublaslt_headers.sh`, dest],
    env: { DEBIAN_MIRROR: m.url, CUBLASLT_APT_UNSIGNED: "1", CUBLASLT_WORK: work, SUITE: "bookworm" },
    stdout: "piped",
    stderr: "piped",
  }).output().then((r) => ({ code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) }));
}

Deno.test({
  name: "cublaslt headers: fetched through apt from a local mirror, kept, and a bad checksum refused",
  ignore: !tools,
  async fn() {
    const dir = await Deno.makeTempDir();
    const dest = `${dir}/include`, work = `${dir}/apt`;
    const m = mirror();
    try {
      const lt1 = "/* test */\ncublasStatus_t cublasLtMatmul(void);\n";
      await m.publish("12.9.1-1", buildDeb(dir, "12.9.1-1", lt1));
      const first = await fetchHeaders(m, dest, work);
      assert.equal(first.code, 0, first.out);
      assert.match(first.out, /cublaslt-headers: .*include \(12\.9 from nvidia-cuda-dev 12\.9\.1-1\)/);
      assert.equal(await Deno.readTextFile(`${dest}/cublasLt.h`), lt1);
      assert.equal((await Deno.readTextFile(`${dest}/.version`)).trim(), "12.9.1-1");
      assert.ok(
        m.requests.some((p) => p.endsWith("nvidia-cuda-dev_12.9.1-1_amd64.deb")),
        m.requests.join(" "),
      );

      // same version again: nothing downloaded
      const before = m.requests.filter((p) => p.endsWith(".deb")).length;
      const again = await fetchHeaders(m, dest, work);
      assert.equal(again.code, 0, again.out);
      assert.match(again.out, /already holds nvidia-cuda-dev 12\.9\.1-1/);
      assert.equal(m.requests.filter((p) => p.endsWith(".deb")).length, before);

      // a newer version whose bytes were altered after Packages was written: apt refuses it
      const good = buildDeb(dir, "12.9.2-1", "/* v2 */\ncublasLtMatmul\n");
      const bad = good.slice();
      bad[bad.length - 100] = bad[bad.length - 100]! ^ 0xff;
      await m.publish("12.9.2-1", bad, good);
      const tampered = await fetchHeaders(m, dest, work);
      assert.notEqual(tampered.code, 0);
      assert.match(tampered.out, /cublaslt-headers: download failed/);
      assert.match(
        await Deno.readTextFile(`${work}/download.log`),
        /Hash Sum mismatch|hash sum mismatch|Hashes/i,
      );
      assert.equal(await Deno.readTextFile(`${dest}/cublasLt.h`), lt1, "the headers already there stay");

      // a package without cublasLtMatmul in its cublasLt.h is not accepted as the headers
      await m.publish("12.9.3-1", buildDeb(dir, "12.9.3-1", "/* a cublas header without the Lt API */\n"));
      const hollow = await fetchHeaders(m, dest, work);
      assert.notEqual(hollow.code, 0);
      assert.match(hollow.out, /has no cublasLtMatmul/);
      assert.equal(await Deno.readTextFile(`${dest}/cublasLt.h`), lt1, "a rejected package changes nothing");
      assert.equal((await Deno.readTextFile(`${dest}/.version`)).trim(), "12.9.1-1");
    } finally {
      await m.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
