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
