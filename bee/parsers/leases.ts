// Where the nodes of a rack are: a hosts file (one address or host[:port] per line, # comments), a dnsmasq
// lease file (`expiry mac ip hostname client-id` per line) or an ISC dhcpd lease file (`lease IP { … }`
// blocks; the last block of an address wins, only `binding state active` counts). Text in, nodes out.

export interface Node {
  /** host or IP address as it is dialled */
  address: string;
  port: number;
  mac: string | null;
  hostname: string | null;
}

const HOST = /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$|^\[[0-9A-Fa-f:.]+\]$/;

/** `host`, `host:port`, `[v6]:port` → node; null when malformed. */
function hostPort(word: string, defaultPort: number): { address: string; port: number } | null {
  const m = word.match(/^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/);
  if (!m || !HOST.test(m[1]!)) return null;
  const port = m[2] ? Number(m[2]) : defaultPort;
  return port >= 1 && port <= 65535 ? { address: m[1]!, port } : null;
}

/** A hosts file; malformed lines are returned as problems. */
export function parseHostsFile(text: string, defaultPort = 80): { nodes: Node[]; problems: string[] } {
  const nodes: Node[] = [];
  const problems: string[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/#.*$/, "").trim();
    if (!line) return;
    const hp = hostPort(line.split(/\s+/)[0]!, defaultPort);
    if (!hp) problems.push(`line ${i + 1}: not a host or host:port: ${JSON.stringify(line.slice(0, 60))}`);
    else nodes.push({ ...hp, mac: null, hostname: null });
  });
  return { nodes: dedupe(nodes), problems };
}

/** A dnsmasq lease file (`/var/lib/misc/dnsmasq.leases`). */
export function parseDnsmasqLeases(text: string, port = 80): Node[] {
  const nodes: Node[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || !/^\d+$/.test(f[0]!) || !/^\d{1,3}(\.\d{1,3}){3}$/.test(f[2]!)) continue;
    nodes.push({ address: f[2]!, port, mac: f[1]!.toLowerCase(), hostname: f[3] === "*" ? null : f[3]! });
  }
  return dedupe(nodes);
}

/** An ISC dhcpd lease file (`/var/lib/dhcp/dhcpd.leases`): active leases, the last block of each address. */
export function parseIscLeases(text: string, port = 80): Node[] {
  const byIp = new Map<string, Node | null>();
  for (const m of text.matchAll(/lease\s+(\d{1,3}(?:\.\d{1,3}){3})\s*\{([^}]*)\}/g)) {
    const body = m[2]!;
    const state = body.match(/^\s*binding state (\w+);/m)?.[1] ?? "active";
    const mac = body.match(/hardware ethernet ([0-9a-fA-F:]+);/)?.[1]?.toLowerCase() ?? null;
    const hostname = body.match(/client-hostname "([^"]{1,253})";/)?.[1] ?? null;
    byIp.delete(m[1]!); // the last block wins and goes to the end
    byIp.set(m[1]!, state === "active" ? { address: m[1]!, port, mac, hostname } : null);
  }
  return [...byIp.values()].filter((n): n is Node => n !== null);
}

/** Either lease format, told apart by its content. */
export function parseLeases(text: string, port = 80): Node[] {
  return /^\s*lease\s+\d/m.test(text) ? parseIscLeases(text, port) : parseDnsmasqLeases(text, port);
}

function dedupe(nodes: Node[]): Node[] {
  const seen = new Set<string>();
  return nodes.filter((n) => {
    const k = `${n.address}:${n.port}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
