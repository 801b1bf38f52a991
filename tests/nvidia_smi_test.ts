import assert from "node:assert/strict";
import { driverUnavailable, noDevices, parseNvidiaSmiQ } from "../bee/parsers/nvidia_smi.ts";
import { fixture } from "../testkit/helpers.ts";

const A6000 = "nvidia_smi/ampere__rtx-a6000-x9-first3__550.127.05.txt";

Deno.test("nvidia-smi -q: multi-GPU A6000 capture (driver 550)", () => {
  const n = parseNvidiaSmiQ(fixture(A6000));
  assert.equal(n.driver_version, "550.127.05");
  assert.equal(n.cuda_version, "12.4");
  assert.equal(n.gpus.length, 3);
  const g = n.gpus[0]!;
  assert.equal(g.index, 0);
  assert.equal(g.name, "NVIDIA RTX A6000");
  assert.equal(g.uuid, "GPU-880b8a57-8586-fe40-bec5-fb703f80ffe6");
  assert.equal(g.serial, "1562521008218");
  assert.equal(g.vbios, "94.02.5C.00.02");
  assert.equal(g.architecture, "Ampere");
  assert.equal(g.pci_bus_id, "0000:4f:00.0");
  assert.equal(g.memory_total_mib, 46068);
  assert.deepEqual([g.pcie_gen_current, g.pcie_gen_max, g.pcie_width_current, g.pcie_width_max], [
    1,
    4,
    16,
    16,
  ]);
  assert.equal(g.ecc_mode, "Enabled");
  assert.deepEqual(g.ecc_volatile, { correctable: 0, uncorrectable: 0 });
  assert.deepEqual(g.retired_pages, { single_bit: null, double_bit: null, pending: null });
  assert.deepEqual(g.remapped_rows, { correctable: 0, uncorrectable: 0, pending: false, failure: false });
  assert.equal(g.temperature_c, 28);
  assert.equal(g.max_operating_temp_c, 93);
  assert.equal(g.power_draw_w, 24.69);
  assert.equal(g.power_limit_w, 300);
  assert.deepEqual(g.clock_event_reasons_active, ["Idle"]);
  assert.deepEqual(n.gpus.map((x) => x.pci_bus_id), ["0000:4f:00.0", "0000:52:00.0", "0000:53:00.0"]);
  assert.deepEqual(n.gpus[2]!.clock_event_reasons_active, ["SW Power Cap"]);
});

Deno.test("nvidia-smi -q: DRAM/SRAM ECC counters are summed; nested HW reasons found", () => {
  const text = fixture(A6000)
    .replace(
      "            DRAM Uncorrectable            : 0\n        Aggregate",
      "            DRAM Uncorrectable            : 2\n        Aggregate",
    )
    .replace("            SRAM Correctable              : 0", "            SRAM Correctable              : 5")
    .replace(
      "            HW Thermal Slowdown           : Not Active",
      "            HW Thermal Slowdown           : Active",
    );
  const g = parseNvidiaSmiQ(text).gpus[0]!;
  assert.deepEqual(g.ecc_volatile, { correctable: 5, uncorrectable: 2 });
  assert.deepEqual(g.clock_event_reasons_active, ["Idle", "HW Thermal Slowdown"]);
});

// Edge case: the pre-Ampere layout (driver 470 era) with Single/Double Bit ECC and throttle reasons.
const OLD = `
==============NVSMI LOG==============

Driver Version                            : 470.182.03
CUDA Version                              : 11.4

Attached GPUs                             : 1
GPU 00000000:3B:00.0
    Product Name                          : Tesla V100-PCIE-32GB
    Serial Number                         : 0323218012345
    GPU UUID                              : GPU-11111111-2222-3333-4444-555555555555
    VBIOS Version                         : 88.00.80.00.01
    PCI
        Bus Id                            : 00000000:3B:00.0
        GPU Link Info
            PCIe Generation
                Max                       : 3
                Current                   : 3
            Link Width
                Max                       : 16x
                Current                   : 8x
    Clocks Throttle Reasons
        Idle                              : Not Active
        HW Slowdown                       : Active
    FB Memory Usage
        Total                             : 32510 MiB
    ECC Errors
        Volatile
            Single Bit
                Device Memory             : 3
                Total                     : 3
            Double Bit
                Device Memory             : 1
                Total                     : 1
    Retired Pages
        Single Bit ECC                    : 40
        Double Bit ECC                    : 24
        Pending Page Blacklist            : Yes
    Remapped Rows                         : N/A
    Temperature
        GPU Current Temp                  : 41 C
    Power Readings
        Power Draw                        : 37.85 W
        Power Limit                       : 250.00 W
`;

Deno.test("nvidia-smi -q: old layout (Single/Double Bit totals, throttle reasons, retired pages)", () => {
  const g = parseNvidiaSmiQ(OLD).gpus[0]!;
  assert.deepEqual(g.ecc_volatile, { correctable: 3, uncorrectable: 1 });
  assert.deepEqual(g.retired_pages, { single_bit: 40, double_bit: 24, pending: true });
  assert.deepEqual(g.remapped_rows, { correctable: null, uncorrectable: null, pending: null, failure: null });
  assert.deepEqual(g.clock_event_reasons_active, ["HW Slowdown"]);
  assert.equal(g.pcie_width_current, 8);
  assert.equal(g.power_limit_w, 250);
});

Deno.test("nvidia-smi: driver-not-loaded and no-device messages; garbage is an error", () => {
  assert.ok(
    driverUnavailable(
      "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.",
    ),
  );
  assert.ok(noDevices("No devices were found"));
  assert.throws(() => parseNvidiaSmiQ("segfault\n\x00\x01 random"), /not nvidia-smi/);
});
