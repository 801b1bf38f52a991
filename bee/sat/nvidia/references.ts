// GPU reference figures: one row per GPU model and figure — the datasheet peak, the value a healthy GPU
// measures, the floor under which it FAILs and the level under which it WARNs — each with where the
// number comes from. Data only, plus the lookup; the judging lives in figures.ts and the README table is
// rendered from these rows (`deno task references`, checked by tests/references_test.ts).
//
// Margins where no published floor exists (bee's policy, tighter than DCGM's 0.75 × measured floors):
// WARN more than 5 % below the expected figure (Microsoft SuperBench marks a node bad 5 % below its
// baseline), FAIL more than 15 % below it.

/** The figures a GPU is judged on; units in FIGURE_UNITS. */
export const FIGURES = [
  "tflops_tf32",
  "tflops_fp16",
  "tflops_bf16",
  "tflops_fp8",
  "tflops_fp4",
  "hbm_tbs",
  "h2d_gbs",
  "d2h_gbs",
  "p2p_gbs",
  "p2p_bidir_gbs",
  "nccl_busbw_gbs",
  "power_w",
] as const;
export type Figure = typeof FIGURES[number];

export const FIGURE_UNITS: Record<Figure, string> = {
  tflops_tf32: "TFLOPS",
  tflops_fp16: "TFLOPS",
  tflops_bf16: "TFLOPS",
  tflops_fp8: "TFLOPS",
  tflops_fp4: "TFLOPS",
  hbm_tbs: "TB/s",
  h2d_gbs: "GB/s",
  d2h_gbs: "GB/s",
  p2p_gbs: "GB/s",
  p2p_bidir_gbs: "GB/s",
  nccl_busbw_gbs: "GB/s",
  power_w: "W",
};

/** What a figure means, for the plan and the README. */
export const FIGURE_MEANING: Record<Figure, string> = {
  tflops_tf32: "dense TF32 GEMM throughput (cuBLASLt)",
  tflops_fp16: "dense FP16 GEMM throughput (cuBLASLt)",
  tflops_bf16: "dense BF16 GEMM throughput (cuBLASLt)",
  tflops_fp8: "dense FP8 E4M3 GEMM throughput (cuBLASLt)",
  tflops_fp4: "dense FP4 E2M1 GEMM throughput (cuBLASLt)",
  hbm_tbs: "GPU memory bandwidth, STREAM triad",
  h2d_gbs: "host → device copy bandwidth, pinned memory",
  d2h_gbs: "device → host copy bandwidth, pinned memory",
  p2p_gbs: "GPU → GPU copy bandwidth, one direction, the slowest pair of the GPU",
  p2p_bidir_gbs: "GPU ↔ GPU copy bandwidth, both directions at once (sum), the slowest pair of the GPU",
  nccl_busbw_gbs: "NCCL all-reduce bus bandwidth at the largest message, 8 GPUs",
  power_w: "board power under the stress, against the enforced power limit",
};

export const WARN_BELOW = 0.95;
export const FAIL_BELOW = 0.85;
/** Sustained power must reach this share of the enforced limit (issue 21), and DCGM's targeted_power floor. */
export const POWER_WARN_SHARE = 0.9;
export const POWER_FAIL_SHARE = 0.75;

/**
 * PCIe bandwidth per lane and direction after line coding, GB/s (PCI-SIG: Gen1–2 8b/10b, Gen3–5 128b/130b,
 * Gen6 FLIT/PAM4), by generation.
 */
export const PCIE_LANE_GBS: Record<number, number> = {
  1: 0.25,
  2: 0.5,
  3: 0.985,
  4: 1.969,
  5: 3.938,
  6: 7.563,
};
/**
 * A GPU whose pinned host↔device copies reach under this share of what its PCIe link (generation × width
 * at their maximum) carries is on a degraded link: healthy HGX H100 reach 51–52 of 63 GB/s (0.81,
 * nvbandwidth, GPU-NOTES.md); a link trained to x8 or one generation lower halves it (≤ 0.41).
 */
export const PCIE_MIN_SHARE = 0.6;
/** The memory test must cover at least this share of each GPU's free memory (issue 21; DCGM memtest: most of it). */
export const MEMTEST_MIN_COVERAGE = 0.9;

/** What a PCIe link of this generation and width carries per direction, GB/s; null when unknown. */
export function pcieLinkGbs(gen: number | null, width: number | null): number | null {
  const lane = gen === null ? undefined : PCIE_LANE_GBS[gen];
  return lane === undefined || width === null || width <= 0 ? null : Math.round(lane * width * 10) / 10;
}

export interface Reference {
  model: string;
  figure: Figure;
  /** datasheet peak, null where the datasheet gives none */
  peak: number | null;
  /** what a healthy GPU measures */
  expected: number | null;
  /** below this: FAIL */
  floor: number | null;
  /** below this: WARN */
  warn: number | null;
  source: string;
  /**
   * false until bee's own measurement of this figure has been checked on the model (deno task bench:gpu): the
   * published figures come from other tools (torch, nvbandwidth, nccl-tests), so under an uncalibrated floor a
   * GPU WARNs instead of FAILing — peers in the run still FAIL an outlier.
   */
  calibrated: boolean;
}

/**
 * Figures whose floor FAILs: board power is read by nvidia-smi, the same instrument as DCGM's targeted_power.
 * Add a figure (or a model) here only with a bench:gpu run of bee's own measurement on that model.
 */
const CALIBRATED: ReadonlySet<Figure> = new Set(["power_w"]);

/** nvidia-smi names → reference model; the first match wins, so the specific names come first. */
const MODELS: { model: string; match: RegExp }[] = [
  { model: "B200", match: /\bB200\b/i },
  { model: "H200", match: /\bH200\b/i },
  { model: "H100 NVL", match: /\bH100\b.*\bNVL\b/i },
  { model: "H100 PCIe", match: /\bH100\b.*\bPCIe\b/i },
  { model: "H100 SXM", match: /\bH100\b/i },
  { model: "L40S", match: /\bL40S\b/i },
  // A100 comes with 40 GB (1.555 TB/s) and 80 GB (2.0 TB/s) of HBM: "NVIDIA A100-SXM4-40GB", "NVIDIA A100-PCIE-40GB"
  { model: "A100 PCIe 40GB", match: /^(?=.*\bA100\b)(?=.*\bPCIe\b)(?=.*\b40GB\b)/i },
  { model: "A100 PCIe", match: /\bA100\b.*\bPCIe\b/i },
  { model: "A100 SXM 40GB", match: /^(?=.*\bA100\b)(?=.*\b40GB\b)/i },
  { model: "A100 SXM", match: /\bA100\b/i },
];

const DS = "NVIDIA datasheet (GPU-NOTES.md)";
const GEMM_SHARE = "expected 80 % of peak: well-shaped GEMMs reach 75–85 % on SXM parts (GPU-NOTES.md)";
const PCIE_SHARE = "expected 70 % of peak: power-capped PCIe cards reach less than SXM parts (GPU-NOTES.md)";

type Row = [Figure, number | null, number | null, string, number?];

/** One row with bee's margins around `expected`, or a sourced absolute floor. */
function row(model: string, [figure, peak, expected, source, floor]: Row): Reference {
  const round = (n: number) => Math.round(n * 1000) / 1000;
  const [warnShare, failShare] = figure === "power_w"
    ? [POWER_WARN_SHARE, POWER_FAIL_SHARE]
    : [WARN_BELOW, FAIL_BELOW];
  return {
    model,
    figure,
    peak,
    expected,
    floor: floor ?? (expected === null ? null : round(expected * failShare)),
    // a sourced floor above bee's WARN margin (Azure's NCCL 460 of 480) raises the WARN level with it
    warn: expected === null ? null : Math.max(round(expected * warnShare), floor ?? 0),
    source,
    calibrated: CALIBRATED.has(figure),
  };
}

/** GEMM rows: the datasheet peak and the expected share of it. */
function gemm(peaks: [Figure, number | null][], share: number, source: string): Row[] {
  return peaks.map((
    [f, p],
  ) => [f, p, p === null ? null : Math.round(p * share * 10) / 10, `${DS}; ${source}`]);
}

const H100_SXM_GEMM: Row[] = [
  ["tflops_tf32", 494.7, 395.8, `${DS}; ${GEMM_SHARE}`],
  ["tflops_fp16", 989.4, 795, `${DS}; measured ~795 BF16 on healthy H100 SXM (GPU-NOTES.md)`],
  ["tflops_bf16", 989.4, 795, `${DS}; measured ~795 BF16 on healthy H100 SXM (GPU-NOTES.md)`],
  ["tflops_fp8", 1978.9, 1290, `${DS}; measured 1290–1400 on healthy H100 SXM, low end (GPU-NOTES.md)`],
];

const HOPPER_HOST: Row[] = [
  [
    "h2d_gbs",
    64,
    51,
    "PCIe Gen5 x16; nvbandwidth 51 GB/s on HGX H100; floor: Azure H100 health check 48",
    48,
  ],
  [
    "d2h_gbs",
    64,
    52,
    "PCIe Gen5 x16; nvbandwidth 52 GB/s on HGX H100; floor: Azure H100 health check 48",
    48,
  ],
];

/**
 * Measured on a DGX A100 (8 × A100-SXM4-40GB) and published in the GPUInspector.jl documentation (Paderborn
 * Center for Parallel Computing, docs/src/devices/a100_sxm2.md): memcpy 1220.7 GiB/s and saxpy 1192.1 GiB/s of
 * HBM bandwidth, pinned host↔device 24.33 GiB/s, GPU→GPU copies 236.6–248.3 GiB/s over all 56 pairs.
 */
const DGX_A100 = "GPUInspector.jl on a DGX A100 (PC2)";
/** saxpy (2 reads + 1 write, a triad) reached 82 % of the 40 GB part's 1.555 TB/s there. */
const A100_TRIAD_SHARE = 0.82;
const A100_HOST: Row[] = [
  ["h2d_gbs", 32, 26, `PCIe Gen4 x16 (32 GB/s); ${DGX_A100}: pinned host↔device 24.33 GiB/s = 26.1 GB/s`],
  ["d2h_gbs", 32, 26, `PCIe Gen4 x16 (32 GB/s); ${DGX_A100}: pinned host↔device 24.33 GiB/s = 26.1 GB/s`],
];
const A100_NVLINK: Row[] = [
  ["p2p_bidir_gbs", 600, null, "NVLink 3 600 GB/s both directions (datasheet); no published measured figure"],
  [
    "p2p_gbs",
    300,
    254,
    `NVLink 3 300 GB/s per direction; ${DGX_A100}: slowest of 56 pairs 236.6 GiB/s = 254 GB/s (fastest 266)`,
  ],
];
const a100Hbm = (peak: number, size: string): Row => [
  "hbm_tbs",
  peak,
  Math.round(peak * A100_TRIAD_SHARE * 100) / 100,
  size === "40GB"
    ? `${DS} ${peak} TB/s (40 GB); ${DGX_A100}: saxpy 1192 GiB/s = 1.28 TB/s`
    : `${DS} ${peak} TB/s (80 GB); expected at the 82 % triad share ${DGX_A100} measured on the 40 GB part`,
];

const GEN4_HOST: Row[] = [
  ["h2d_gbs", 32, 25, "PCIe Gen4 x16 (32 GB/s); ~25 GB/s is what Gen4 x16 pinned copies reach"],
  ["d2h_gbs", 32, 25, "PCIe Gen4 x16 (32 GB/s); ~25 GB/s is what Gen4 x16 pinned copies reach"],
];

const ROWS: Record<string, Row[]> = {
  "H100 SXM": [
    ...H100_SXM_GEMM,
    ["hbm_tbs", 3.35, 2.97, `${DS}; triad ~2.97 TB/s on healthy H100 SXM (GPU-NOTES.md)`],
    ...HOPPER_HOST,
    [
      "p2p_gbs",
      450,
      380,
      "NVLink 4 450 GB/s per direction; ~380 measured; floor: Azure ND H100 v5 P2P 335",
      335,
    ],
    [
      "p2p_bidir_gbs",
      900,
      750,
      "NVLink 4 900 GB/s both directions; ~750 measured on healthy HGX H100 (GPU-NOTES.md)",
    ],
    [
      "nccl_busbw_gbs",
      null,
      480,
      "nccl-tests #212 ~480 with NVLS, Azure 478.9; floor: Azure ND H100 v5 460",
      460,
    ],
    ["power_w", 700, 700, `${DS}; DCGM diag-skus H100 80GB HBM3 700 W`],
  ],
  "H200": [
    ["tflops_tf32", 494.7, 395.8, `${DS}; ${GEMM_SHARE}`],
    ["tflops_fp16", 989, 795, `${DS}; H100 SXM compute (same GH100 die and clocks), measured ~795`],
    ["tflops_bf16", 989, 795, `${DS}; H100 SXM compute (same GH100 die and clocks), measured ~795`],
    ["tflops_fp8", 1979, 1290, `${DS}; H100 SXM compute (same GH100 die and clocks), measured 1290–1400`],
    ["hbm_tbs", 4.8, 4.15, `${DS}; ~4.15 TB/s measured on healthy H200 (GPU-NOTES.md)`],
    ...HOPPER_HOST,
    [
      "p2p_gbs",
      450,
      380,
      "NVLink 4 450 GB/s per direction; H100 SXM figures (same NVLink); floor Azure 335",
      335,
    ],
    [
      "p2p_bidir_gbs",
      900,
      750,
      "NVLink 4 900 GB/s both directions; H100 SXM's ~750 (same NVLink, GPU-NOTES.md)",
    ],
    ["nccl_busbw_gbs", null, 475, "~475–480 measured on healthy H200 HGX; floor: Azure ND H200 v5 431", 431],
    ["power_w", 700, 700, DS],
  ],
  "H100 PCIe": [
    ...gemm(
      [["tflops_tf32", 378], ["tflops_fp16", 756], ["tflops_bf16", 756], ["tflops_fp8", 1513]],
      0.7,
      PCIE_SHARE,
    ),
    ["hbm_tbs", 2.0, 1.78, `${DS} 2.0 TB/s HBM2e; expected at the 89 % triad share measured on H100 SXM`],
    ...HOPPER_HOST,
    ["power_w", 350, 350, DS],
  ],
  "H100 NVL": [
    ...gemm(
      [["tflops_tf32", 417.5], ["tflops_fp16", 835.5], ["tflops_bf16", 835.5], ["tflops_fp8", 1670.5]],
      0.7,
      `dense = half the datasheet's sparse figures; ${PCIE_SHARE}`,
    ),
    ["hbm_tbs", 3.9, 3.46, `${DS} 3.9 TB/s HBM3; expected at the 89 % triad share measured on H100 SXM`],
    ...HOPPER_HOST,
    [
      "p2p_gbs",
      300,
      null,
      "NVLink bridge between a pair: 600 GB/s both ways (datasheet); no published measured figure",
    ],
    [
      "p2p_bidir_gbs",
      600,
      null,
      "NVLink bridge between a pair: 600 GB/s (datasheet); no published measured figure",
    ],
    ["power_w", 400, 400, `${DS} (350–400 W configurable; the enforced limit is what is judged)`],
  ],
  "B200": [
    ...gemm([["tflops_tf32", 1100], ["tflops_fp8", 4500], ["tflops_fp4", 9000]], 0.78, GEMM_SHARE),
    ["tflops_fp16", 2250, 1745, `${DS}; BF16 ~1745 measured on healthy B200 (GPU-NOTES.md)`],
    ["tflops_bf16", 2250, 1745, `${DS}; BF16 ~1745 measured on healthy B200 (GPU-NOTES.md)`],
    ["hbm_tbs", 8.0, 5.4, `${DS}; 5.4–5.9 TB/s measured, low end; DCGM diag-skus floor 4.07`],
    ...HOPPER_HOST.map(([f, peak, expected, source, floor]): Row => [
      f,
      peak,
      expected,
      `the same PCIe Gen5 x16 host link as HGX H100: ${source}`,
      floor,
    ]),
    [
      "p2p_gbs",
      900,
      null,
      "NVLink 5 900 GB/s per direction (datasheet 1.8 TB/s); no published measured figure",
    ],
    [
      "p2p_bidir_gbs",
      1800,
      null,
      "NVLink 5 1.8 TB/s both directions (datasheet); no published measured figure",
    ],
    ["power_w", 1000, 1000, `${DS}; DCGM diag-skus B200 1000 W`],
  ],
  "L40S": [
    ...gemm(
      [["tflops_tf32", 183], ["tflops_fp16", 362], ["tflops_bf16", 362], ["tflops_fp8", 733]],
      0.7,
      PCIE_SHARE,
    ),
    ["hbm_tbs", 0.864, 0.77, `${DS} 864 GB/s GDDR6; expected at the 89 % triad share measured on H100 SXM`],
    ...GEN4_HOST,
    ["power_w", 350, 350, DS],
  ],
  "A100 SXM": [
    ...gemm([["tflops_tf32", 156], ["tflops_fp16", 312], ["tflops_bf16", 312]], 0.8, GEMM_SHARE),
    a100Hbm(2.039, "80GB"),
    ...A100_HOST,
    ...A100_NVLINK,
    ["power_w", 400, 400, DS],
  ],
  "A100 SXM 40GB": [
    ...gemm([["tflops_tf32", 156], ["tflops_fp16", 312], ["tflops_bf16", 312]], 0.8, GEMM_SHARE),
    a100Hbm(1.555, "40GB"),
    ...A100_HOST,
    ...A100_NVLINK,
    ["power_w", 400, 400, DS],
  ],
  "A100 PCIe": [
    ...gemm([["tflops_tf32", 156], ["tflops_fp16", 312], ["tflops_bf16", 312]], 0.7, PCIE_SHARE),
    a100Hbm(1.935, "80GB"),
    ...A100_HOST,
    ["power_w", 300, 300, DS],
  ],
  "A100 PCIe 40GB": [
    ...gemm([["tflops_tf32", 156], ["tflops_fp16", 312], ["tflops_bf16", 312]], 0.7, PCIE_SHARE),
    a100Hbm(1.555, "40GB"),
    ...A100_HOST,
    ["power_w", 250, 250, DS],
  ],
};

/** Every reference row, model by model. */
export const REFERENCES: Reference[] = MODELS.flatMap(({ model }) =>
  (ROWS[model] ?? []).map((r) => row(model, r))
);

/** The reference model of the GPU nvidia-smi names `name`, or null for a model not in the table. */
export function referenceModel(name: string): string | null {
  return MODELS.find((m) => m.match.test(name))?.model ?? null;
}

/** The row for this GPU name and figure, or null (unknown model, or no row for that figure). */
export function referenceFor(name: string, figure: Figure): Reference | null {
  const model = referenceModel(name);
  return model === null ? null : REFERENCES.find((r) => r.model === model && r.figure === figure) ?? null;
}

/** The README table: one line per row. */
export function referencesMarkdown(): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const n = (v: number | null) => v === null ? "–" : String(v);
  const lines = [
    "| model | figure | unit | peak | expected | WARN below | FAIL below | source |",
    "|---|---|---|---|---|---|---|---|",
  ];
  const floor = (r: Reference) => r.floor === null ? "–" : r.calibrated ? String(r.floor) : `(${r.floor})`;
  for (const r of REFERENCES) {
    lines.push(
      `| ${r.model} | \`${r.figure}\` | ${FIGURE_UNITS[r.figure]} | ${n(r.peak)} | ${n(r.expected)} | ${
        n(r.warn)
      } | ${floor(r)} | ${esc(r.source)} |`,
    );
  }
  return lines.join("\n");
}
