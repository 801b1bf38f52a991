// The one way bee talks to the machine: run a command, read a file, list a directory, read a link.
// Every call is recorded (what, outcome, time). Two implementations: the live machine (optionally with
// file reads under another root) and a snapshot — everything a run read, saved as one .tar.gz that
// replays the same run bit for bit (the model is ghw's snapshots).
import { exec, type ExecOptions, type ExecResult } from "./exec.ts";
import { readTarGz, writeTarGzEntries } from "./tar.ts";
import { z } from "zod";
import { atomicRename } from "./atomic_write.ts";

/** One recorded interaction with the machine. */
export interface MachineCall {
  op: "run" | "read" | "list" | "link" | "exists";
  target: string;
  outcome: string;
  duration_ms: number;
}

/** What every part of bee sees of the machine. */
export interface Machine {
  readonly kind: "live" | "snapshot";
  /** Runs a command with a timeout; never throws. */
  run(cmd: string, args: string[], opts: ExecOptions): Promise<ExecResult>;
  /** Text of a regular file (bounded), or null when it is absent, unreadable or not a regular file. */
  readText(path: string): Promise<string | null>;
  /** Sorted names in a directory, or null. */
  readDir(path: string): Promise<string[] | null>;
  /** Target of a symlink, or null. */
  readLink(path: string): Promise<string | null>;
  exists(path: string): Promise<boolean>;
  /** How a path is shown in messages (with the root when files come from elsewhere). */
  describe(path: string): string;
  /** Every call so far, in order. */
  readonly calls: MachineCall[];
}

/** Largest file a collector reads (sysfs and procfs files are small; a huge one is not hardware data). */
export const MAX_READ_BYTES = 4 * 1024 * 1024;

/** Calls kept per machine: a long-running TUI or web process must not grow without bound. */
const MAX_CALLS = 50_000;

function keep(calls: MachineCall[], c: MachineCall): void {
  if (calls.length >= MAX_CALLS) calls.splice(0, calls.length - MAX_CALLS + 1);
  calls.push(c);
}

/** Runs at most `limit` tasks at once per key (one queue per tool: 1000 smartctl never start together). */
export class Limiter {
  private active = new Map<string, number>();
  private waiting = new Map<string, (() => void)[]>();
  constructor(readonly limit: number) {}

  async use<T>(key: string, fn: () => Promise<T>): Promise<T> {
    if ((this.active.get(key) ?? 0) >= this.limit) {
      await new Promise<void>((resolve) => {
        const q = this.waiting.get(key) ?? [];
        q.push(resolve);
        this.waiting.set(key, q);
      });
    } else {
      this.active.set(key, (this.active.get(key) ?? 0) + 1);
    }
    try {
      return await fn();
    } finally {
      const next = this.waiting.get(key)?.shift();
      if (next) next(); // the slot passes straight to the next waiter
      else this.active.set(key, (this.active.get(key) ?? 1) - 1);
    }
  }
}

/** Commands of one tool that may run at once (a machine with 1000 disks runs smartctl 16 at a time). */
export const PER_TOOL_CONCURRENCY = 16;

function outcomeOf(r: ExecResult): string {
  return r.kind === "exited" ? (r.code === 0 ? "ok" : `exit ${r.code}`) : r.kind;
}

/** Reads a regular file without ever opening a FIFO or device (which could block forever). */
export async function readRegularText(path: string, max = MAX_READ_BYTES): Promise<string | null> {
  try {
    const st = await Deno.stat(path);
    if (!st.isFile) return null;
    // O_NONBLOCK is not exposed; stat-then-open is enough for sysfs/procfs, whose files do not change kind
    const f = await Deno.open(path, { read: true });
    try {
      const chunks: Uint8Array[] = [];
      let size = 0;
      const buf = new Uint8Array(64 * 1024);
      while (size < max) {
        const n = await f.read(buf);
        if (n === null) break;
        chunks.push(buf.slice(0, Math.min(n, max - size)));
        size += n;
      }
      const all = new Uint8Array(Math.min(size, max));
      let at = 0;
      for (const c of chunks) {
        all.set(c, at);
        at += c.length;
      }
      return new TextDecoder().decode(all);
    } finally {
      f.close();
    }
  } catch {
    return null;
  }
}

/** A schema's parse (zod's safeParse shape), so this reader needs no schema library. */
interface Validates<T> {
  safeParse(x: unknown): { success: true; data: T } | { success: false };
}

/** A regular file's JSON checked against a schema; null when absent, unreadable, not JSON or not valid. */
export async function readValidatedJson<T>(
  path: string,
  schema: Validates<T>,
  max: number,
): Promise<T | null> {
  const text = await readRegularText(path, max);
  if (text === null) return null;
  try {
    const r = schema.safeParse(JSON.parse(text));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

/**
 * `path` resolved inside `root` as if `root` were `/`: every symlink on the way, absolute or relative, is
 * followed within `root`, and `..` never climbs above it — a captured tree's `proc/cpuinfo -> /etc/shadow`
 * names `<root>/etc/shadow`, never the host's file. The last component is followed only with `followLast`.
 */
export async function resolveInside(root: string, path: string, followLast = true): Promise<string> {
  const base = root.replace(/\/+$/, "");
  let rest = path.split("/").filter((p) => p && p !== ".");
  const done: string[] = [];
  let hops = 0;
  while (rest.length) {
    const part = rest.shift()!;
    if (part === "..") {
      done.pop();
      continue;
    }
    const here = `${base}/${[...done, part].join("/")}`;
    const st = await Deno.lstat(here).catch(() => null);
    if (st?.isSymlink && (rest.length > 0 || followLast)) {
      if (++hops > 40) throw new Error(`${path}: too many levels of symbolic links under ${root}`);
      const target = await Deno.readLink(here);
      if (target.startsWith("/")) done.length = 0;
      rest = [...target.split("/").filter((p) => p && p !== "."), ...rest];
      continue;
    }
    done.push(part);
  }
  return `${base}/${done.join("/")}`;
}

/** The machine bee runs on; file reads may come from another root (a captured tree). */
export class LiveMachine implements Machine {
  readonly kind = "live" as const;
  readonly calls: MachineCall[] = [];
  constructor(readonly root = "/", readonly limiter = new Limiter(PER_TOOL_CONCURRENCY)) {}

  private p(path: string): string {
    return this.root === "/" ? path : `${this.root.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
  }

  /** Where `path` really is: as given on the live machine, else resolved inside the root (never leaving it). */
  private async at(path: string, followLast = true): Promise<string> {
    return this.root === "/" ? path : await resolveInside(this.root, path, followLast);
  }

  describe(path: string): string {
    return this.p(path);
  }

  private async timed<T>(op: MachineCall["op"], target: string, fn: () => Promise<T>, ok: (v: T) => string) {
    const t0 = performance.now();
    const v = await fn();
    keep(this.calls, { op, target, outcome: ok(v), duration_ms: Math.round(performance.now() - t0) });
    return v;
  }

  run(cmd: string, args: string[], opts: ExecOptions): Promise<ExecResult> {
    // the timeout starts when the command starts, not while it waits for a slot
    return this.limiter.use(cmd, () => exec(cmd, args, opts)).then((r) => {
      keep(this.calls, { op: "run", target: r.command, outcome: outcomeOf(r), duration_ms: r.durationMs });
      return r;
    });
  }

  readText(path: string): Promise<string | null> {
    return this.timed(
      "read",
      path,
      async () => readRegularText(await this.at(path).catch(() => "/nonexistent/\0")),
      (v) => v === null ? "absent" : "ok",
    );
  }

  readDir(path: string): Promise<string[] | null> {
    return this.timed("list", path, async () => {
      try {
        const names: string[] = [];
        for await (const e of Deno.readDir(await this.at(path))) names.push(e.name);
        return names.sort();
      } catch {
        return null;
      }
    }, (v) => v === null ? "absent" : "ok");
  }

  readLink(path: string): Promise<string | null> {
    return this.timed("link", path, async () => {
      try {
        return await Deno.readLink(await this.at(path, false));
      } catch {
        return null;
      }
    }, (v) => v === null ? "absent" : "ok");
  }

  exists(path: string): Promise<boolean> {
    return this.timed("exists", path, async () => {
      try {
        await Deno.lstat(await this.at(path, false));
        return true;
      } catch {
        return false;
      }
    }, (v) => v ? "yes" : "no");
  }
}

/** A command's result as a snapshot keeps it. */
type SavedRun = ExecResult;

/** The content of a snapshot: every answer the machine gave, keyed by the question. */
export interface SnapshotData {
  format: "bee-snapshot/1";
  taken_at: string;
  runs: { argv: string[]; result: SavedRun }[];
  files: Record<string, string | null>;
  dirs: Record<string, string[] | null>;
  links: Record<string, string | null>;
  exists: Record<string, boolean>;
}

const SNAPSHOT_JSON = "bee-snapshot/snapshot.json";
/** Bounds on reading a snapshot: its JSON, and everything inflated before it (a small file can inflate to GBs). */
const SNAPSHOT_MAX_JSON = 128 * 1024 * 1024;
const SNAPSHOT_MAX_SCAN = 256 * 1024 * 1024;

const Str = z.string();
const SavedRunSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("missing"), command: Str, durationMs: z.number() }),
  z.object({ kind: z.literal("timeout"), command: Str, durationMs: z.number(), stdout: Str, stderr: Str }),
  z.object({ kind: z.literal("denied"), command: Str, durationMs: z.number(), message: Str }),
  z.object({
    kind: z.literal("exited"),
    command: Str,
    durationMs: z.number(),
    code: z.number().int(),
    signal: Str.nullable(),
    stdout: Str,
    stderr: Str,
    truncated: z.boolean(),
  }),
]);
/** What a snapshot.json must be before a replay trusts it (a hostile file gets one line, not a TypeError). */
const SnapshotSchema = z.object({
  format: z.literal("bee-snapshot/1"),
  taken_at: Str,
  runs: z.array(z.object({ argv: z.array(Str).min(1), result: SavedRunSchema })),
  files: z.record(Str, Str.nullable()),
  dirs: z.record(Str, z.array(Str).nullable()),
  links: z.record(Str, Str.nullable()),
  exists: z.record(Str, z.boolean()),
});

/** Wraps a machine and keeps every answer, to be saved as a snapshot. */
export class RecordingMachine implements Machine {
  readonly data: SnapshotData;
  constructor(readonly inner: Machine, now = new Date()) {
    this.data = {
      format: "bee-snapshot/1",
      taken_at: now.toISOString(),
      runs: [],
      files: {},
      dirs: {},
      links: {},
      exists: {},
    };
  }
  get kind() {
    return this.inner.kind;
  }
  get calls() {
    return this.inner.calls;
  }
  describe(path: string) {
    return this.inner.describe(path);
  }
  async run(cmd: string, args: string[], opts: ExecOptions): Promise<ExecResult> {
    const r = await this.inner.run(cmd, args, opts);
    this.data.runs.push({ argv: [cmd, ...args], result: r });
    return r;
  }
  async readText(path: string) {
    const v = await this.inner.readText(path);
    this.data.files[path] = v;
    return v;
  }
  async readDir(path: string) {
    const v = await this.inner.readDir(path);
    this.data.dirs[path] = v;
    return v;
  }
  async readLink(path: string) {
    const v = await this.inner.readLink(path);
    this.data.links[path] = v;
    return v;
  }
  async exists(path: string) {
    const v = await this.inner.exists(path);
    this.data.exists[path] = v;
    return v;
  }

  /** Writes the snapshot atomically: snapshot.json plus every file read, under `root/` for browsing. */
  async save(path: string): Promise<void> {
    const entries: { name: string; data: Uint8Array }[] = [];
    const enc = new TextEncoder();
    // runs in a stable order so two snapshots of the same machine compare equal
    const runs = [...this.data.runs].sort((a, b) =>
      a.argv.join("\0") < b.argv.join("\0") ? -1 : a.argv.join("\0") > b.argv.join("\0") ? 1 : 0
    );
    entries.push({ name: SNAPSHOT_JSON, data: enc.encode(JSON.stringify({ ...this.data, runs }, null, 1)) });
    for (const [p, text] of Object.entries(this.data.files).sort()) {
      if (text !== null) entries.push({ name: `bee-snapshot/root${p}`, data: enc.encode(text) });
    }
    const tmp = `${path}.${Deno.pid}.tmp`;
    await writeTarGzEntries(tmp, entries);
    await atomicRename(tmp, path);
  }
}

/** A machine replayed from a snapshot: the same questions get the same answers, nothing runs. */
export class SnapshotMachine implements Machine {
  readonly kind = "snapshot" as const;
  readonly calls: MachineCall[] = [];
  private runs = new Map<string, SavedRun[]>();
  constructor(readonly data: SnapshotData, readonly source: string) {
    for (const r of data.runs) {
      const k = r.argv.join("\0");
      this.runs.set(k, [...(this.runs.get(k) ?? []), r.result]);
    }
  }

  /**
   * Loads a snapshot file; throws an Error with a one-line reason when it is not one. Only snapshot.json is
   * kept (the browsable copies under root/ are skipped unread), the whole archive is inflated at most
   * SNAPSHOT_MAX_SCAN bytes, and the JSON is checked against its schema before anything uses it.
   */
  static async load(path: string): Promise<SnapshotMachine> {
    const st = await Deno.lstat(path).catch(() => null);
    if (!st) throw new Error(`cannot read snapshot ${path}: no such file`);
    if (!st.isFile) throw new Error(`${path} is not a regular file (a snapshot is a .tar.gz file)`);
    let raw: Uint8Array | null = null;
    let ok: boolean;
    try {
      ok = await readTarGz(
        path,
        (e) => e.name === SNAPSHOT_JSON,
        (_e, data) => {
          raw = data;
          return "stop";
        },
        SNAPSHOT_MAX_JSON,
        SNAPSHOT_MAX_SCAN,
      );
    } catch (e) {
      throw new Error(`cannot read snapshot ${path}: ${(e as Error).message}`);
    }
    if (!raw) {
      throw new Error(
        ok
          ? `${path} is not a bee snapshot (no ${SNAPSHOT_JSON})`
          : `${path} is not a bee snapshot (corrupt, or over ${
            SNAPSHOT_MAX_SCAN >> 20
          } MiB unpacked before ${SNAPSHOT_JSON})`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(raw));
    } catch {
      throw new Error(`${path}: snapshot.json is not valid JSON`);
    }
    if ((json as { format?: unknown })?.format !== "bee-snapshot/1") {
      throw new Error(
        `${path}: unsupported snapshot format ${String((json as { format?: unknown })?.format).slice(0, 40)}`,
      );
    }
    const parsed = SnapshotSchema.safeParse(json);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      throw new Error(`${path}: snapshot.json ${i.path.join(".") || "(top)"}: ${i.message}`.slice(0, 300));
    }
    return new SnapshotMachine(parsed.data as SnapshotData, path);
  }

  describe(path: string): string {
    return `${path} (snapshot)`;
  }

  private note(op: MachineCall["op"], target: string, outcome: string) {
    keep(this.calls, { op, target, outcome, duration_ms: 0 });
  }

  run(cmd: string, args: string[], _opts: ExecOptions): Promise<ExecResult> {
    const k = [cmd, ...args].join("\0");
    const q = this.runs.get(k);
    // repeated calls replay in order; the last answer repeats
    const r: ExecResult = q && q.length
      ? (q.length > 1 ? q.shift()! : q[0]!)
      : { kind: "missing", command: [cmd, ...args].join(" "), durationMs: 0 };
    this.note("run", r.command, outcomeOf(r));
    return Promise.resolve(r);
  }
  readText(path: string) {
    const v = this.data.files[path] ?? null;
    this.note("read", path, v === null ? "absent" : "ok");
    return Promise.resolve(v);
  }
  readDir(path: string) {
    const v = this.data.dirs[path] ?? null;
    this.note("list", path, v === null ? "absent" : "ok");
    return Promise.resolve(v);
  }
  readLink(path: string) {
    const v = this.data.links[path] ?? null;
    this.note("link", path, v === null ? "absent" : "ok");
    return Promise.resolve(v);
  }
  exists(path: string) {
    const v = this.data.exists[path] ??
      ((path in this.data.files && this.data.files[path] !== null) ||
        (path in this.data.dirs && this.data.dirs[path] !== null));
    this.note("exists", path, v ? "yes" : "no");
    return Promise.resolve(v);
  }
}
