// `bee fleet collect|targets`: a rack at once, from the operator's machine on the same LAN. The nodes come
// from a hosts file or a DHCP lease file (dnsmasq or ISC dhcpd); everything is read over plain HTTP from
// what each bee node serves, nothing is written to them.
import { Command, InvalidArgumentError } from "commander";
import { UserError } from "../lib/errors.ts";
import { forTerminal } from "../lib/text.ts";
import { type Node, parseHostsFile, parseLeases } from "../parsers/leases.ts";
import { collectFleet, writeFleetFiles } from "../fleet/collect.ts";
import { fleetCsv, fleetHtml, type FleetRow, sortRows } from "../fleet/report.ts";
import { fileSdTargets } from "../fleet/targets.ts";

const say = (s: string) =>
  Deno.stderr.writeSync(new TextEncoder().encode(forTerminal(s).slice(0, 300) + "\n"));

interface Source {
  hosts?: string;
  leases?: string;
  port: number;
}

async function nodesFrom(o: Source): Promise<Node[]> {
  if (!!o.hosts === !!o.leases) throw new UserError("give exactly one of --hosts FILE and --leases FILE", 2);
  const path = (o.hosts ?? o.leases)!;
  const text = await Deno.readTextFile(path).catch(() => {
    throw new UserError(`cannot read ${path}`, 2);
  });
  if (o.leases) {
    const nodes = parseLeases(text, o.port);
    if (!nodes.length) {
      throw new UserError(`${path}: no active lease found (a dnsmasq or ISC dhcpd lease file?)`, 2);
    }
    return nodes;
  }
  const { nodes, problems } = parseHostsFile(text, o.port);
  if (problems.length) {
    throw new UserError(
      `${path}: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ""}`,
      2,
    );
  }
  if (!nodes.length) throw new UserError(`${path}: no host listed`, 2);
  return nodes;
}

function intArg(min: number, max: number) {
  return (v: string) => {
    if (!/^\d{1,6}$/.test(v) || Number(v) < min || Number(v) > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    }
    return Number(v);
  };
}

function source(c: Command): Command {
  return c
    .option("--hosts <file>", "one node per line: address or host:port (# comments)")
    .option("--leases <file>", "a dnsmasq (dnsmasq.leases) or ISC dhcpd (dhcpd.leases) lease file")
    .option("--port <n>", "the nodes' web port where a line does not say", intArg(1, 65535), 80);
}

async function collect(o: Source & { out: string; concurrency: number; timeout: number }): Promise<void> {
  const nodes = await nodesFrom(o);
  say(`fleet: ${nodes.length} node${nodes.length === 1 ? "" : "s"}, ${o.concurrency} at a time → ${o.out}`);
  const rows: FleetRow[] = await collectFleet(nodes, o.out, {
    concurrency: o.concurrency,
    timeoutMs: o.timeout * 1000,
    progress: (done, r) =>
      say(`[${done}/${nodes.length}] ${r.address} ${r.serial ?? "-"} ${r.verdict ?? r.state}: ${r.note}`),
  });
  const when = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  await writeFleetFiles(o.out, {
    "fleet.csv": fleetCsv(rows),
    "fleet.html": fleetHtml(rows, when),
    "fleet.json": JSON.stringify({ collected_at: when, nodes: sortRows(rows) }, null, 2) + "\n",
  });
  const unreachable = rows.filter((r) => r.state !== "ok").length;
  console.log(`${o.out}/fleet.csv: ${rows.length} nodes, ${unreachable} without a usable answer`);
}

async function targets(o: Source & { concurrency: number; timeout: number }): Promise<void> {
  const nodes = await nodesFrom(o);
  console.log(JSON.stringify(await fileSdTargets(nodes, o.concurrency, o.timeout * 1000), null, 2));
}

/** Builds the `fleet` command. */
export function fleetCommand(): Command {
  const fleet = new Command("fleet").description(
    "a rack at once: pull every node's results, Prometheus targets",
  );
  fleet.addCommand(
    source(new Command("collect"))
      .description(
        "pull each node's audit and verified bundle into DIR/<serial>/, write fleet.csv and fleet.html",
      )
      .requiredOption("--out <dir>", "where the nodes' folders and fleet.csv/html go")
      .option("--concurrency <n>", "nodes pulled at once", intArg(1, 256), 8)
      .option("--timeout <seconds>", "how long a node may take to answer", intArg(1, 600), 15)
      .action(collect),
  );
  fleet.addCommand(
    source(new Command("targets"))
      .description("Prometheus file_sd JSON of the nodes' /metrics (label serial where a node tells it)")
      .option("--concurrency <n>", "nodes asked at once for their serial", intArg(1, 256), 16)
      .option("--timeout <seconds>", "how long a node may take to answer", intArg(1, 600), 5)
      .action(targets),
  );
  fleet.action(() => {
    throw new UserError("name one: bee fleet collect | targets (see bee fleet --help)", 2);
  });
  return fleet;
}
