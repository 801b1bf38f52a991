// The one place that knows where bee's files live on the live system.

export const PATHS = {
  /** The audit JSON written by `bee audit` and read by `bee web` and the TUI. */
  audit: "/var/log/bee-audit.json",
  /** Where acceptance-test archives go. */
  satDir: "/var/log/bee-sat",
  /** The expected bill of materials the ISO carries (`deno task iso --expect`); used by `bee audit` when present. */
  expect: "/etc/bee/expect.yaml",
  /** Held by the one SAT that runs at a time (its JSON names it); gone at reboot with /run. */
  satLock: "/run/bee/sat.lock",
} as const;
