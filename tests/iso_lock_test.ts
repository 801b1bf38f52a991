// The ISO's package lock (issue 25, item 1): the committed lock fits the committed inputs (CI fails on a stale
// one), parses and writes back the same, the mirror check names the first version the mirror lost (a real
// Packages excerpt), and the build's pinned list is what live-build and apt accept.
import assert from "node:assert/strict";
import {
  debHashes,
  indexVersions,
  LOCK_PATH,
  lockInputsHash,
  lockProblem,
  lockText,
  missingFromMirror,
  parseLock,
  pinnedList,
} from "../tasks/iso/lock.ts";
import { fixture, REPO } from "../testkit/helpers.ts";
import { isoTime } from "../tasks/iso/source.ts";
import { markUsed, pruneCache } from "../tasks/iso/cache.ts";

const committed = () => parseLock(Deno.readTextFileSync(`${REPO}/${LOCK_PATH}`));

Deno.test("lock: the committed packages.lock fits the committed package lists, VERSIONS, auto/config and hooks", async () => {
  const lock = committed();
  assert.equal(lockProblem(lock, await lockInputsHash(REPO)), null, "stale: run deno task iso:lock");
  assert.ok(lock.packages.size > 150, `${lock.packages.size} packages`);
  assert.equal(lock.sha256.size, lock.packages.size, "every package with its .deb's SHA-256 from the mirror");
  for (
    const p of [
      "live-boot",
      "openssh-server",
      "memtester",
      "smartmontools",
      "linux-image-6.12.117+deb13-amd64",
    ]
  ) {
    assert.ok([...lock.packages.keys()].some((k) => k === p || k === `${p}:amd64`), `${p} is locked`);
  }
  const versions = Deno.readTextFileSync(`${REPO}/iso/builder/VERSIONS`);
  for (const [k, v] of Object.entries(lock.pins)) {
    assert.ok(versions.includes(`${k}=${v}`), `pin ${k} matches VERSIONS`);
  }
  assert.equal(lockText(lock), Deno.readTextFileSync(`${REPO}/${LOCK_PATH}`), "written back byte for byte");
});

Deno.test("lock: a changed input makes it stale, a missing lock says how to make one", () => {
  const lock = committed();
  assert.match(lockProblem(lock, "0".repeat(64))!, /is stale .* run `deno task iso:lock`/);
  assert.match(lockProblem(null, lock.inputs)!, /is missing: run `deno task iso:lock`/);
  assert.throws(() => parseLock("adduser 3.152\n"), /no "# inputs" line/);
});

Deno.test("lock: the mirror check names the first locked version the mirror no longer has (real Packages stanzas)", () => {
  const mirror = indexVersions(fixture("debian/trixie-main-Packages-excerpt.txt"));
  assert.deepEqual([...mirror.get("apt")!.keys()], ["3.0.4"]);
  assert.match(mirror.get("apt")!.get("3.0.4")!, /^[0-9a-f]{64}$/);
  const packages = new Map([["adduser", "3.152"], ["apt", "3.0.4"], ["base-files", "13.8+deb13u8"]]);
  const lock = { inputs: "x", pins: {}, packages, sha256: debHashes(packages, mirror) };
  assert.equal(lock.sha256.size, 3);
  assert.equal(missingFromMirror(lock, mirror), null);
  // the same version with other bytes on the mirror
  lock.sha256.set("adduser", "0".repeat(64));
  assert.match(
    missingFromMirror(lock, mirror)!,
    /^package adduser 3\.152 on the mirror is not the locked \.deb/,
  );
  lock.sha256 = debHashes(packages, mirror);
  lock.packages.set("apt", "3.0.3");
  assert.equal(
    missingFromMirror(lock, mirror),
    "package apt 3.0.3 is no longer on the mirror (it has 3.0.4): run `deno task iso:lock` to re-resolve the package set and rewrite iso/builder/packages.lock",
  );
  lock.packages.set("apt", "3.0.4");
  lock.packages.set("libgone1:amd64", "1.0");
  assert.match(missingFromMirror(lock, mirror)!, /^package libgone1 1\.0 is no longer on the mirror: /);
});

Deno.test("lock: the pinned package list has one name=version a line, native packages unqualified", () => {
  const list = pinnedList(committed());
  const lines = list.split("\n").filter((l) => l && !l.startsWith("#"));
  assert.equal(lines.length, committed().packages.size);
  for (const l of lines) assert.match(l, /^[a-z0-9][a-z0-9+.-]*=[^\s=]+$/, l);
  assert.doesNotMatch(list, /:amd64/);
});

Deno.test("source: SOURCE_DATE_EPOCH becomes the release's UTC time", () => {
  assert.equal(isoTime(1765000000), "2025-12-06T05:46:40Z");
});

Deno.test("reproducible hook: /etc/shadow of a bootstrap made yesterday and one made today become one file", async () => {
  // the two files are real: /etc/shadow of two ISO builds of one commit, the first from live-build's bootstrap
  // cache of the day before (last change 20794), the second bootstrapped that day (20795); the builds differed
  const hook = Deno.readTextFileSync(
    `${REPO}/iso/builder/config/hooks/normal/9990-bee-reproducible.hook.chroot`,
  );
  const awk = /awk -F: -v OFS=: -v d="\$day" '([^']+)'/.exec(hook);
  assert.ok(awk, "the hook sets every account's last change with awk");
  const norm = async (file: string) => {
    const out = await new Deno.Command("awk", {
      args: [
        "-F:",
        "-v",
        "OFS=:",
        "-v",
        `d=${Math.floor(1765065600 / 86400)}`,
        awk[1]!,
        `${REPO}/tests/fixtures/${file}`,
      ],
      stdout: "piped",
    }).output();
    return new TextDecoder().decode(out.stdout);
  };
  const a = await norm("live-build/repro-a-etc-shadow.txt");
  const b = await norm("live-build/repro-b-etc-shadow.txt");
  assert.notEqual(fixture("live-build/repro-a-etc-shadow.txt"), fixture("live-build/repro-b-etc-shadow.txt"));
  assert.equal(a, b);
  assert.match(a, /^root:\*:20429:0:99999:7:::$/m);
  assert.match(a, /^systemd-network:!\*:20429:::::1:$/m);
  assert.equal(a.split("\n").length, fixture("live-build/repro-a-etc-shadow.txt").split("\n").length);
});

Deno.test("image cache: the image just built survives pruning though every image of a commit has one mtime", async () => {
  // reproducible ISOs all carry SOURCE_DATE_EPOCH as their mtime; pruning by it once removed the new image
  // before it was published ("iso: cannot write dist/bee-….iso")
  const dir = Deno.makeTempDirSync({ prefix: "bee-image-cache-" });
  const epoch = new Date(1765065600 * 1000);
  for (const n of ["a", "b", "c"]) {
    Deno.writeTextFileSync(`${dir}/${n}.iso`, n);
    Deno.utimeSync(`${dir}/${n}.iso`, epoch, epoch);
  }
  await markUsed(`${dir}/c.iso`);
  await pruneCache(dir, 2, `${dir}/c.iso`);
  const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assert.equal(left.length, 2);
  assert.ok(left.includes("c.iso"), left.join(" "));
  // and with keep 0 the current one is the one kept, whatever the times say
  await pruneCache(dir, 0, `${dir}/c.iso`);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["c.iso"]);
});
