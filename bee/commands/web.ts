// `bee web`: serves the operator's page (see bee/web/handler.ts) with bee's own HTTP server (bee/web/server.ts).
import { Command, InvalidArgumentError } from "commander";
import { makeHandler } from "../web/handler.ts";
import { PATHS } from "../lib/paths.ts";
import { UserError } from "../lib/errors.ts";
import { serveHttp, type Server } from "../web/server.ts";
import { onTermSignals } from "../lib/signals.ts";

/** Splits `host:port` (IPv6 as `[::]:80`). */
export function parseListen(v: string): { hostname: string; port: number } {
  const m = v.match(/^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]+)):(\d{1,5})$/);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) throw new InvalidArgumentError("expected HOST:PORT, e.g. 0.0.0.0:80");
  return { hostname: m[1] ?? m[2]!, port };
}

/** The page's URL for a listening address (IPv6 in brackets: `http://[::1]:8080/`). */
export function listenUrl(hostname: string, port: number): string {
  return `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}/`;
}

/** Builds the `web` command. */
export function webCommand(): Command {
  return new Command("web")
    .description("serve the audit page, audit.json, SAT archives and /metrics over HTTP")
    .option("--listen <host:port>", "address to listen on", parseListen, parseListen("0.0.0.0:80"))
    .option("--audit <path>", "audit JSON to serve", PATHS.audit)
    .option("--sat-dir <dir>", "directory of SAT archives", PATHS.satDir)
    .option(
      "--idle-timeout <seconds>",
      "close a connection that has not sent its request within this time",
      (v: string) => {
        if (!/^[0-9]{1,4}$/.test(v) || Number(v) < 1) {
          throw new InvalidArgumentError("expected 1…9999 seconds");
        }
        return Number(v);
      },
      10,
    )
    .action(async (
      opts: {
        listen: { hostname: string; port: number };
        audit: string;
        satDir: string;
        idleTimeout: number;
      },
    ) => {
      const { hostname, port } = opts.listen;
      const handler = makeHandler({ auditPath: opts.audit, satDir: opts.satDir.replace(/\/+$/, "") || "/" });
      let server: Server;
      try {
        server = serveHttp({
          hostname,
          port,
          headerTimeoutMs: opts.idleTimeout * 1000,
          onListen: ({ hostname, port }) =>
            console.error(`bee web: listening on ${listenUrl(hostname, port)} (audit ${opts.audit})`),
          onError: (m) => console.error(`bee web: ${m}`),
        }, handler);
      } catch (e) {
        throw new UserError(`cannot listen on ${hostname}:${port}: ${(e as Error).message}`);
      }
      onTermSignals(() => server.shutdown());
      await server.finished;
    });
}
