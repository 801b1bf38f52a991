// Fleet results (issue 23, item 3): nodes from real dnsmasq and ISC dhcpd lease files and hosts files,
// `bee fleet collect` against real `bee web` processes (verified bundles, only what changed pulled again,
// unreachable nodes and tampered bundles said), fleet.csv/html worst first, and `bee fleet targets`.
import assert from "node:assert/strict";
import { parseDnsmasqLeases, parseHostsFile, parseIscLeases, parseLeases } from "../bee/parsers/leases.ts";
import { fakeBin, fixture, runBee, startWeb } from "../testkit/helpers.ts";
import { eightGpuFailAudit, hostileAudit, passAudit } from "../testkit/web_fixtures.ts";
import { unpackVerified } from "../bee/fleet/collect.ts";
import { freePort } from "../testkit/qemu.ts";
import { fleetCsv, fleetHtml, type FleetRow, sortRows } from "../bee/fleet/report.ts";
import { bundleTar } from "../bee/export/bundle.ts";

Deno.test("leases: a real dnsmasq lease file gives each node's address, MAC and hostname", () => {
  const nodes = parseDnsmasqLeases(fixture("dnsmasq/two-nodes.leases"));
  assert.deepEqual(nodes, [
    { address: "10.77.0.100", port: 80, mac: "52:54:00:be:e0:02", hostname: null },
    { address: "10.77.0.150", port: 80, mac: "52:54:00:be:e0:01", hostname: "bee-node1" },
  ]);
  assert.deepEqual(parseLeases(fixture("dnsmasq/two-nodes.leases")), nodes, "told apart by content");
});

Deno.test("leases: a real ISC dhcpd lease file — the last block of an address wins; free leases are left out", () => {
  const text = fixture("dhcpd/two-nodes.leases");
  const nodes = parseIscLeases(text);
  assert.deepEqual(nodes, [
    { address: "10.77.0.200", port: 80, mac: "52:54:00:be:e0:01", hostname: "bee-node1" },
    { address: "10.77.0.201", port: 80, mac: "52:54:00:be:e0:02", hostname: "bee-node2" },
  ]);
  assert.deepEqual(parseLeases(text), nodes);
  // edge case (hand-written): the node released its lease afterwards
  const freed = text +
    "lease 10.77.0.200 {\n  binding state free;\n  hardware ethernet 52:54:00:be:e0:01;\n}\n";
  assert.deepEqual(parseIscLeases(freed).map((n) => n.address), ["10.77.0.201"]);
});

Deno.test("hosts file: host, host:port, comments; a malformed line is named", () => {
  const ok = parseHostsFile("# rack 4\n10.0.0.5\nnode7.lab:8080  # spare\n\n[fe80::1]:81\n10.0.0.5\n");
  assert.deepEqual(ok.problems, []);
  assert.deepEqual(ok.nodes.map((n) => `${n.address}:${n.port}`), [
    "10.0.0.5:80",
    "node7.lab:8080",
    "[fe80::1]:81",
  ]);
  const bad = parseHostsFile("10.0.0.5\nhttp://x/\n10.0.0.6:99999\n");
  assert.equal(bad.problems.length, 2);
  assert.match(bad.problems[0]!, /^line 2: /);
});

function row(p: Partial<FleetRow>): FleetRow {
  return {
    address: "10.0.0.1",
    state: "ok",
    serial: "S",
    product: "P",
    verdict: "PASS",
    failures: 0,
    warnings: 0,
    as_ordered: null,
    sats: { nvidia: null, memory: null, storage: null },
    unattended: null,
    worst: null,
    note: "",
    ...p,
  };
}

Deno.test("fleet report: worst first — no answer, FAIL or a failed SAT, not as ordered, WARN, running, PASS", () => {
  const rows = [
    row({ serial: "PASS1" }),
    row({ serial: "RUN", unattended: "running", sats: { nvidia: null, memory: "running", storage: null } }),
    row({ serial: "WARN", verdict: "WARN" }),
    row({ serial: "ORDER", as_ordered: false }),
    row({ serial: "SATFAIL", sats: { nvidia: "FAILED", memory: null, storage: null } }),
    row({ serial: null, address: "10.0.0.9", state: "unreachable", verdict: null }),
  ];
  assert.deepEqual(sortRows(rows).map((r) => r.serial ?? r.address), [
    "10.0.0.9",
    "SATFAIL",
    "ORDER",
    "WARN",
    "RUN",
    "PASS1",
  ]);
  const csv = fleetCsv(rows).split("\n");
  assert.equal(
    csv[0],
    "address,serial,product,state,verdict,failures,warnings,as_ordered,sat_nvidia,sat_memory,sat_storage,unattended,worst_finding,note",
  );
  assert.match(csv[1]!, /^10\.0\.0\.9,,P,unreachable,/);
  const html = fleetHtml([row({ serial: '<img src=x onerror=alert(1)>"', product: "<b>x</b>" })], "now");
  assert.doesNotMatch(html, /<img|<b>x/);
});

Deno.test("unpackVerified: a bundle whose member does not match its manifest is refused, a truncated one too", async () => {
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/a.json`, JSON.stringify(passAudit()));
  const files = [{
    path: `${dir}/a.json`,
    name: "bee-audit.json",
    size: Deno.statSync(`${dir}/a.json`).size,
    mtime: 0,
  }];
  const good = new Uint8Array(await new Response(bundleTar(files, "bee-X").stream).arrayBuffer());
  const stream = (b: Uint8Array) => new Blob([b as Uint8Array<ArrayBuffer>]).stream();
  assert.equal(await unpackVerified(stream(good), `${dir}/ok`), null);
  assert.deepEqual(JSON.parse(Deno.readTextFileSync(`${dir}/ok/bee-audit.json`)), passAudit());
  // one byte of the audit changed: its checksum no longer matches
  const bad = good.slice();
  const at = new TextDecoder().decode(bad).indexOf('"schema_version"');
  bad[at + 1] = "S".charCodeAt(0);
  assert.match((await unpackVerified(stream(bad), `${dir}/bad`))!, /bee-audit\.json: checksum mismatch/);
  assert.throws(() => Deno.statSync(`${dir}/bad/bee-audit.json`), "nothing kept");
  assert.match((await unpackVerified(stream(good.slice(0, 1500)), `${dir}/cut`))!, /truncated/);
});

Deno.test("bee fleet collect: real bee web nodes pulled and verified; unchanged ones not pulled again; a dead one said", async () => {
  const nodes = [];
  const webs = [];
  const first = passAudit();
  first.hardware.board!.system.serial = "NODE-A-001";
  // the other two tell the same serial (cloned boards): each gets its own folder, named by address too
  for (const [i, audit] of [first, eightGpuFailAudit(), hostileAudit()].entries()) {
    const d = Deno.makeTempDirSync({ prefix: `bee-node${i}-` });
    Deno.writeTextFileSync(`${d}/audit.json`, JSON.stringify(audit));
    Deno.mkdirSync(`${d}/sat`);
    nodes.push(d);
    webs.push(await startWeb(`${d}/audit.json`, `${d}/sat`));
  }
  const out = Deno.makeTempDirSync({ prefix: "bee-fleet-" });
  const hosts = `${out}.hosts`;
  const dead = freePort(); // nobody listens there
  Deno.writeTextFileSync(
    hosts,
    [...webs.map((w) => `127.0.0.1:${w.port}`), `127.0.0.1:${dead}`].join("\n") + "\n",
  );
  const bin = fakeBin();
  try {
    const r = await runBee(["fleet", "collect", "--hosts", hosts, "--out", out], { path: bin });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /4 nodes, 1 without a usable answer/);
    const csv = Deno.readTextFileSync(`${out}/fleet.csv`).trim().split("\n");
    assert.equal(csv.length, 5);
    assert.match(csv[1]!, new RegExp(`^127\\.0\\.0\\.1:${dead},,,unreachable,.*Connection refused`));
    assert.match(csv[2]!, /,FAIL,/, "the failing 8-GPU node right after the dead one");
    const serial = "NODE-A-001";
    assert.ok(Deno.statSync(`${out}/${serial}/bee-audit.json`).isFile);
    for (const w of webs.slice(1)) {
      assert.ok(Deno.statSync(`${out}/addr-127.0.0.1_${w.port}_SYSSN-0001/bee-audit.json`).isFile);
    }
    assert.match(
      Deno.readTextFileSync(`${out}/${serial}/MANIFEST.sha256`),
      /^[0-9a-f]{64} {2}bee-audit\.json$/m,
    );
    const html = Deno.readTextFileSync(`${out}/fleet.html`);
    assert.match(html, /4 nodes: 1 without an answer/);
    // again: nothing changed on the nodes
    const again = await runBee(["fleet", "collect", "--hosts", hosts, "--out", out], { path: bin });
    assert.equal((again.stderr.match(/unchanged since the last pull/g) ?? []).length, 3, again.stderr);
    // a node's audit changes: only that node is pulled
    first.host.collected_at = "2030-01-01T00:00:00Z";
    Deno.writeTextFileSync(`${nodes[0]}/audit.json`, JSON.stringify(first));
    const third = await runBee(["fleet", "collect", "--hosts", hosts, "--out", out], { path: bin });
    assert.equal(
      (third.stderr.match(/pulled: audit and 0 archives, verified/g) ?? []).length,
      1,
      third.stderr,
    );
    // targets: file_sd JSON with the serials the nodes tell
    const t = await runBee(["fleet", "targets", "--hosts", hosts, "--timeout", "3"], { path: bin });
    assert.equal(t.code, 0, t.stderr);
    const groups = JSON.parse(t.stdout);
    assert.equal(groups.length, 4);
    assert.deepEqual(groups[0], { targets: [`127.0.0.1:${webs[0]!.port}`], labels: { serial } });
    assert.deepEqual(groups[3], { targets: [`127.0.0.1:${dead}`], labels: {} });
  } finally {
    for (const w of webs) await w.stop();
  }
});

Deno.test("bee fleet: bad input is one line and exit 2", async () => {
  const bin = fakeBin();
  const empty = Deno.makeTempFileSync();
  for (
    const [args, re] of [
      [["fleet", "collect", "--out", "/tmp/x"], /exactly one of --hosts FILE and --leases FILE/],
      [["fleet", "targets", "--leases", empty], /no active lease found/],
      [["fleet", "targets", "--hosts", "/nonexistent"], /cannot read \/nonexistent/],
      [["fleet", "collect", "--hosts", empty, "--out", "/tmp/x", "--concurrency", "0"], /concurrency/],
    ] as [string[], RegExp][]
  ) {
    const r = await runBee(args, { path: bin });
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.ok(r.stderr.trim().split("\n").length <= 2, r.stderr);
  }
});
