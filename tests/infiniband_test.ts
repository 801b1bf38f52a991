// InfiniBand / RDMA adapters from /sys/class/infiniband: the real mlx5_0 tree (procfs test data) through the
// whole audit, and the port rules on labelled edits of it.
import assert from "node:assert/strict";
import { Audit, type Hardware, type IbDevice } from "../bee/model/schema.ts";
import { judge, NO_HARDWARE } from "../bee/audit/verdict.ts";
import { compareExpect } from "../bee/expect/compare.ts";
import { parseIbDevice, parseIbPort, parseMstflintQuery } from "../bee/parsers/infiniband.ts";
import { fakeBin, fixture, pciDevice, qemuDevboxRoot, qemuDevboxTools, runBee } from "../testkit/helpers.ts";

type Hw = Omit<Hardware, "summary">;

/** The fixture's `file=value` lines as an attribute map. */
function attrs(edits: Record<string, string> = {}): Record<string, string> {
  const a: Record<string, string> = {};
  for (const l of fixture("infiniband/procfs-testdata-mlx5_0.txt").split("\n")) {
    const i = l.indexOf("=");
    if (i > 0) a[l.slice(0, i)] = l.slice(i + 1);
  }
  return { ...a, ...edits };
}

function device(edits: Record<string, string> = {}): IbDevice {
  const a = attrs(edits);
  const port = Object.fromEntries(
    Object.entries(a).filter(([k]) => k.startsWith("ports/1/")).map(([k, v]) => [k.slice(8), v]),
  );
  return parseIbDevice("mlx5_0", a, "0000:17:00.0", [parseIbPort("1", port)]);
}

const codes = (hw: Partial<Hw>) =>
  judge({ ...NO_HARDWARE, ...hw }, []).map((f) => `${f.severity} ${f.code} ${f.component}: ${f.message}`);

Deno.test("infiniband: the real mlx5_0 sysfs tree through bee audit — firmware, PSID, port state, rate, counters", async () => {
  const bin = fakeBin();
  qemuDevboxTools(bin, {
    // the real ConnectX-3 query right after a firmware burn (another card's answer, for the plumbing)
    mstflint: [{ args: "-d 0000:17:00.0 q", file: "mstflint/connectx3-q-pending.txt" }],
  });
  const root = qemuDevboxRoot();
  const dev = `${root}/sys/class/infiniband/mlx5_0`;
  for (const [k, v] of Object.entries(attrs())) {
    Deno.mkdirSync(`${dev}/${k.slice(0, k.lastIndexOf("/") + 1)}`, { recursive: true });
    Deno.writeTextFileSync(`${dev}/${k}`, v + "\n");
  }
  Deno.mkdirSync(`${root}/sys/devices/pci0000:17/0000:17:00.0`, { recursive: true });
  Deno.symlinkSync(`${root}/sys/devices/pci0000:17/0000:17:00.0`, `${dev}/device`);
  const out = `${Deno.makeTempDirSync()}/a.json`;
  const r = await runBee(["audit", "--root", root, "--output", out, "--no-qr"], { path: bin });
  assert.equal(r.code, 0, r.stderr);
  const a = Audit.parse(JSON.parse(Deno.readTextFileSync(out)));
  assert.deepEqual(a.hardware.infiniband, {
    devices: [{
      name: "mlx5_0",
      pci_address: "0000:17:00.0",
      hca_type: "MT4118",
      board_id: "SM_2001000001034",
      fw_ver: "14.28.2006",
      node_guid: "0a7f:bc12:45ef:d23b",
      fw_flash: "2.42.5000",
      fw_running: "2.40.5032",
      ports: [{
        port: "1",
        state: "ACTIVE",
        phys_state: "ACTIVE",
        rate: "25 Gb/sec (1X EDR)",
        rate_gbps: 25,
        link_layer: "InfiniBand",
        counters: {
          symbol_error: 0,
          link_error_recovery: 0,
          link_downed: 0,
          port_rcv_errors: 0,
          local_link_integrity_errors: 0,
          excessive_buffer_overrun_errors: 0,
          port_xmit_discards: 0,
        },
      }],
    }],
  });
  // no /sys/class/infiniband: an empty list, collector ok
  const plain = `${Deno.makeTempDirSync()}/b.json`;
  await runBee(["audit", "--root", qemuDevboxRoot(), "--output", plain, "--no-qr"], { path: bin });
  assert.deepEqual(Audit.parse(JSON.parse(Deno.readTextFileSync(plain))).hardware.infiniband, {
    devices: [],
  });
});

Deno.test("infiniband: a healthy linked port is clean; down, INIT and error counters WARN (labelled edits)", () => {
  // EDITED: phys_state as a real kernel writes it for a linked port ("5: LinkUp"); the capture says "4: ACTIVE"
  const up = { "ports/1/phys_state": "5: LinkUp" };
  assert.deepEqual(codes({ infiniband: { devices: [device(up)] } }), []);
  assert.deepEqual(codes({ infiniband: { devices: [device()] } }), [
    "WARN ib.port_down infiniband:mlx5_0/1: mlx5_0 port 1 (MT4118, fw 14.28.2006): physical state ACTIVE, state ACTIVE",
  ]);
  // EDITED: no cable
  assert.deepEqual(
    codes({
      infiniband: { devices: [device({ "ports/1/phys_state": "2: Polling", "ports/1/state": "1: DOWN" })] },
    }),
    [
      "WARN ib.port_down infiniband:mlx5_0/1: mlx5_0 port 1 (MT4118, fw 14.28.2006): physical state Polling, state DOWN",
    ],
  );
  // EDITED: linked, no subnet manager
  assert.deepEqual(codes({ infiniband: { devices: [device({ ...up, "ports/1/state": "2: INIT" })] } }), [
    "WARN ib.no_subnet_manager infiniband:mlx5_0/1: mlx5_0 port 1 (MT4118, fw 14.28.2006): link up, state INIT",
  ]);
  // EDITED: a flapping link with a dirty connector; 9 receive errors stay under the limit
  const errs = {
    ...up,
    "ports/1/counters/link_downed": "2",
    "ports/1/counters/symbol_error": "4117",
    "ports/1/counters/port_rcv_errors": "9",
  };
  assert.deepEqual(codes({ infiniband: { devices: [device(errs)] } }), [
    "WARN ib.link_errors infiniband:mlx5_0/1: mlx5_0 port 1 (MT4118, fw 14.28.2006): link_downed 2, symbol_error 4117",
  ]);
});

Deno.test("infiniband: an order's NIC line takes the IB port's rate and firmware (no netdev needed)", () => {
  const pcie = {
    devices: [pciDevice("0000:17:00.0", {
      class: "Infiniband controller",
      class_id: "020700",
      vendor: "Mellanox Technologies",
      vendor_id: "15b3",
      device: "MT27700 Family [ConnectX-4]",
      driver: "mlx5_core",
    })],
  };
  const hw = {
    ...NO_HARDWARE,
    pcie,
    infiniband: { devices: [device({ "ports/1/phys_state": "5: LinkUp" })] },
  };
  const run = (nics: NonNullable<Parameters<typeof compareExpect>[1]["nics"]>) =>
    compareExpect(hw, { bee_expect: 1, nics }).map((h) => `${h.severity} ${h.code}: ${h.message}`);
  assert.deepEqual(run([{ count: 1, model: "ConnectX-4", speed_gbps: 25, firmware: "14.28.2006" }]), []);
  assert.deepEqual(run([{ count: 1, model: "ConnectX-4", speed_gbps: 100, firmware: "14.32.1010" }]), [
    "WARN bom.firmware: firmware 14.32.1010 ordered; 1 differ: 0000:17:00 14.28.2006",
    "WARN bom.link: mlx5_0/1 (Mellanox Technologies MT27700 Family [ConnectX-4]): link at 25 Gb/s, the order says 100 Gb/s",
  ]);
});

/** A /sys/class/infiniband tree with the values of an `ibstat` capture (state numbers as the kernel writes them). */
function sysfsFromIbstat(text: string, dir: string): void {
  const STATE: Record<string, string> = {
    Active: "4: ACTIVE",
    Down: "1: DOWN",
    Initializing: "2: INIT",
    Armed: "3: ARMED",
  };
  const PHYS: Record<string, string> = {
    LinkUp: "5: LinkUp",
    Disabled: "3: Disabled",
    Polling: "2: Polling",
  };
  for (const block of text.split(/^CA '/m).filter(Boolean)) {
    const name = block.slice(0, block.indexOf("'"));
    const v = (k: string) => new RegExp(`^\\s*${k}: (.*)$`, "m").exec(block)?.[1]?.trim() ?? "";
    const put = (f: string, x: string) => {
      Deno.mkdirSync(`${dir}/${name}/${f.slice(0, f.lastIndexOf("/") + 1)}`, { recursive: true });
      Deno.writeTextFileSync(`${dir}/${name}/${f}`, x + "\n");
    };
    put("hca_type", v("CA type"));
    put("fw_ver", v("Firmware version"));
    put("node_guid", v("Node GUID"));
    put("ports/1/state", STATE[v("State")] ?? v("State"));
    put("ports/1/phys_state", PHYS[v("Physical state")] ?? v("Physical state"));
    put("ports/1/rate", `${v("Rate")} Gb/sec`);
    put("ports/1/link_layer", v("Link layer"));
    put("ports/1/counters/symbol_error", "0");
  }
}

Deno.test("infiniband: a real H100 node (gpud's ibstat capture) — 8 CX-7 at 400 Gb/s clean; its disabled RoCE ports are no IB fault", async () => {
  const bin = fakeBin();
  qemuDevboxTools(bin);
  const root = qemuDevboxRoot();
  sysfsFromIbstat(fixture("ibstat/gpud-h100-some-down-0.txt"), `${root}/sys/class/infiniband`);
  const out = `${Deno.makeTempDirSync()}/a.json`;
  const r = await runBee(["audit", "--root", root, "--output", out, "--no-qr"], { path: bin });
  assert.equal(r.code, 0, r.stderr);
  const a = Audit.parse(JSON.parse(Deno.readTextFileSync(out)));
  const devs = a.hardware.infiniband!.devices;
  assert.equal(devs.length, 12);
  const ib = devs.filter((d) => d.ports[0]!.link_layer === "InfiniBand");
  assert.equal(ib.length, 8);
  assert.ok(
    ib.every((d) => d.hca_type === "MT4129" && d.fw_ver === "28.39.1002" && d.ports[0]!.rate_gbps === 400),
  );
  assert.deepEqual(
    devs.filter((d) => d.ports[0]!.phys_state === "Disabled").map((d) =>
      `${d.name} ${d.ports[0]!.link_layer}`
    ),
    ["mlx5_2 Ethernet", "mlx5_7 Ethernet", "mlx5_8 Ethernet"],
  );
  assert.deepEqual(a.hardware.summary.findings.filter((f) => f.code.startsWith("ib.")), []);
  // EDITED: the same node with one CX-7 port lost its cable
  const d0 = devs.find((d) => d.name === "mlx5_0")!;
  const cut = { ...d0, ports: [{ ...d0.ports[0]!, phys_state: "Polling", state: "DOWN" }] };
  assert.deepEqual(codes({ infiniband: { devices: [cut, ...devs.filter((d) => d !== d0)] } }), [
    "WARN ib.port_down infiniband:mlx5_0/1: mlx5_0 port 1 (MT4129, fw 28.39.1002): physical state Polling, state DOWN",
  ]);
});

Deno.test("infiniband: mstflint q (real ConnectX-3) — burned but not running is a WARN; after the reboot clean", () => {
  assert.deepEqual(parseMstflintQuery(fixture("mstflint/connectx3-q-pending.txt")), {
    flash: "2.42.5000",
    running: "2.40.5032",
    psid: "MT_1090111019",
  });
  const after = parseMstflintQuery(fixture("mstflint/connectx3-q-active.txt"));
  assert.deepEqual(after, { flash: "2.42.5000", running: null, psid: "MT_1090111019" });
  assert.throws(
    () => parseMstflintQuery("-E- Cannot open Device: 0000:17:00.0. No such file or directory"),
    /no FW Version/,
  );
  const up = { "ports/1/phys_state": "5: LinkUp" };
  const pending = { ...device(up), fw_flash: "2.42.5000", fw_running: "2.40.5032" };
  assert.deepEqual(codes({ infiniband: { devices: [pending] } }), [
    "WARN ib.fw_not_active infiniband:mlx5_0: mlx5_0 (0000:17:00.0): 2.42.5000 on flash, 2.40.5032 running",
  ]);
  assert.deepEqual(
    codes({ infiniband: { devices: [{ ...device(up), fw_flash: "2.42.5000", fw_running: "2.42.5000" }] } }),
    [],
  );
});
