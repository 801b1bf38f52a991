// `deno task iso --netboot DIR`: the ISO's own kernel, initrd and squashfs (extracted byte for byte with
// xorriso), an iPXE script that works unedited from any HTTP root, the iPXE loaders for chain-loading, a
// SHA256SUMS and a README.txt with the dnsmasq configurations. The decisions (command line, script, README)
// are pure functions; the extraction and copying are the thin part at the bottom.

import { exec } from "../../bee/lib/exec.ts";

/** What the ISO boots with by default: the first `append` line of isolinux/live.cfg. */
export function isoCmdline(liveCfg: string): string {
  const m = liveCfg.match(/^\s*append\s+(.+)$/m);
  if (!m) throw new Error("the ISO's isolinux/live.cfg has no append line");
  return m[1]!.trim();
}

/**
 * The network boot's kernel parameters: the ISO's, less `toram` (live-boot's `fetch=` already downloads the
 * squashfs into RAM; `toram` on top would copy it a second time and double the memory it takes) and less
 * whatever names a local medium (`findiso=`), plus `fetch=` and the squashfs checksum bee's initramfs hook
 * verifies.
 */
export function netbootCmdline(isoLine: string, squashfsSha256: string): string {
  const kept = isoLine.split(/\s+/).filter((w) => w && w !== "toram" && !/^(findiso|fetch|initrd)=/.test(w));
  const i = kept.indexOf("boot=live");
  const head = i >= 0 ? kept.slice(0, i + 1) : ["boot=live"];
  const tail = i >= 0 ? kept.slice(i + 1) : kept;
  return [
    "initrd=initrd.img",
    ...head,
    "fetch=${bee-base}filesystem.squashfs",
    `bee.squashfs_sha256=${squashfsSha256}`,
    ...tail,
  ].join(" ");
}

/**
 * The iPXE script. Kernel and initrd are fetched by relative URL (iPXE resolves them against the script's
 * own URL). The squashfs URL for live-boot is built from the directory the script came from: `${cwduri}` on
 * iPXE that has it (2024 and later), else the script's own URL (`${cwuri}`, or the DHCP `filename` on older
 * builds such as QEMU's ROMs) followed by `/../` — bee's initramfs hook folds that dot segment away before
 * it downloads. `${bee-args}` is appended to the kernel line: a site script beside it sets it and chains this
 * one (`set bee-args bee.sat=memory` / `chain bee.ipxe`), so this file stays unedited. A failed step says so
 * and starts over after 10 s.
 */
export function ipxeScript(o: { version: string; commit: string; cmdline: string }): string {
  return `#!ipxe
# bee ${o.version} (${o.commit.slice(0, 12)}): network boot. Serve this folder over HTTP and point DHCP at
# this file; nothing in it names a host, so it works unedited from any HTTP root.
:start
isset \${cwduri} && set bee-base \${cwduri} && goto go ||
isset \${cwuri} && set bee-base \${cwuri}/../ && goto go ||
set bee-base \${filename}/../
:go
echo bee: booting from \${bee-base}
kernel vmlinuz ${o.cmdline} \${bee-args} || goto retry
initrd initrd.img || goto retry
boot || goto retry
:retry
echo bee: network boot step failed (see above); trying again in 10 s
sleep 10
goto start
`;
}

/** README.txt of the netboot folder: what is there and how to serve it (dnsmasq, HTTP). */
export function netbootReadme(
  o: { version: string; cmdline: string; squashfsBytes: number; loaders: string[] },
) {
  const mib = Math.ceil(o.squashfsBytes / 2 ** 20);
  const ram = Math.ceil((o.squashfsBytes * 1.1 + 1.5 * 2 ** 30) / 2 ** 30);
  const loaders = o.loaders.length
    ? o.loaders.join(", ")
    : "none copied: take undionly.kpxe and ipxe.efi from Debian's ipxe package (/usr/lib/ipxe)";
  return `bee ${o.version} — network boot
=======================================

Files
  vmlinuz, initrd.img, filesystem.squashfs  the ISO's own (byte-identical; SHA256SUMS lists them)
  bee.ipxe                                  iPXE script: relative URLs, works from any HTTP root
  iPXE loaders                              ${loaders}

The node downloads filesystem.squashfs (${mib} MiB) into RAM and runs from there, as the ISO does with
toram: give it at least ${ram} GiB of RAM. Nothing is written to local disks. If the download fails
(server down, wrong URL, short read, checksum mismatch) the node says why on its screen and serial port
and tries again, waiting 5 s, then 10, 20, 40, 60 s.

Kernel command line (the ISO's, with fetch= instead of toram):
  ${o.cmdline}
Unattended acceptance: keep bee.ipxe as it is and put a site script beside it, e.g. burnin.ipxe:
  #!ipxe
  set bee-args bee.sat=nvidia,memory,storage bee.sat.duration=1h bee.after=poweroff
  chain bee.ipxe
and point DHCP at burnin.ipxe instead (or edit bee.ipxe's kernel line: same effect).

1. Serve this folder over HTTP (read-only, any server):
     cd THIS_FOLDER && python3 -m http.server 80
   or nginx:
     server { listen 80; root /srv/bee; autoindex off; }

2a. dnsmasq beside an existing DHCP server (proxy-DHCP: the existing server keeps handing out addresses;
    dnsmasq only answers the PXE part). Replace 10.10.0.0 with the LAN, 10.10.0.1 with this host,
    /srv/bee with this folder:

     # /etc/dnsmasq.d/bee-proxy.conf
     port=0
     interface=eth1
     dhcp-range=10.10.0.0,proxy
     enable-tftp
     tftp-root=/srv/bee
     dhcp-userclass=set:ipxe,iPXE
     # BIOS PXE: chain-load iPXE over TFTP; iPXE asks again and gets the script over HTTP
     pxe-service=tag:!ipxe,x86PC,"bee (BIOS)",undionly.kpxe
     pxe-service=tag:ipxe,x86PC,"bee",http://10.10.0.1/bee.ipxe
     # UEFI PXE: the same with ipxe.efi
     pxe-service=tag:!ipxe,X86-64_EFI,"bee (UEFI)",ipxe.efi
     pxe-service=tag:ipxe,X86-64_EFI,"bee",http://10.10.0.1/bee.ipxe

2b. dnsmasq as the only DHCP server of an empty LAN (full DHCP, leases in /var/lib/misc/dnsmasq.leases,
    which \`bee fleet collect --leases\` reads):

     # /etc/dnsmasq.d/bee.conf
     port=0
     interface=eth1
     bind-interfaces
     dhcp-range=10.10.0.100,10.10.0.250,255.255.255.0,12h
     dhcp-leasefile=/var/lib/misc/dnsmasq.leases
     dhcp-authoritative
     enable-tftp
     tftp-root=/srv/bee
     dhcp-userclass=set:ipxe,iPXE
     dhcp-match=set:efi64,option:client-arch,7
     dhcp-match=set:efi64,option:client-arch,9
     dhcp-match=set:efihttp,option:client-arch,16
     # already iPXE: the script
     dhcp-boot=tag:ipxe,http://10.10.0.1/bee.ipxe
     # UEFI HTTP boot: the firmware downloads ipxe.efi over HTTP itself
     dhcp-option-force=tag:efihttp,60,HTTPClient
     dhcp-boot=tag:efihttp,tag:!ipxe,http://10.10.0.1/ipxe.efi
     # UEFI PXE and BIOS PXE: iPXE over TFTP first
     dhcp-boot=tag:efi64,tag:!ipxe,ipxe.efi
     dhcp-boot=tag:!efi64,tag:!efihttp,tag:!ipxe,undionly.kpxe

3. Results: every node serves its audit, SAT archives and /metrics on port 80; collect them all with
     bee fleet collect --leases /var/lib/misc/dnsmasq.leases --out results/
`;
}

/** `sha256sum` of one file. */
async function sha256File(path: string): Promise<string> {
  const r = await exec("sha256sum", [path], { timeoutMs: 600_000 });
  if (r.kind !== "exited" || r.code !== 0) throw new Error(`sha256sum ${path} failed`);
  return r.stdout.split(/\s+/)[0]!;
}

/** Extracts files of the ISO with xorriso (this host's kernel cannot mount iso9660). */
async function extract(iso: string, pairs: [string, string][]): Promise<void> {
  const args = ["-osirrox", "on", "-indev", iso];
  for (const [from, to] of pairs) args.push("-extract", from, to);
  const r = await exec("xorriso", args, { timeoutMs: 600_000 });
  if (r.kind === "missing") throw new Error("--netboot needs xorriso on this host (apt-get install xorriso)");
  if (r.kind !== "exited" || r.code !== 0) {
    throw new Error(
      `xorriso could not extract the boot files of ${iso}: ${
        "stderr" in r ? r.stderr.trim().split("\n").at(-1) : r.kind
      }`,
    );
  }
}

/**
 * Writes the netboot folder from a built ISO. `loaders` copies the iPXE binaries into `dir` (from the builder
 * image or this host) and returns the names it copied.
 */
export async function writeNetboot(o: {
  iso: string;
  dir: string;
  version: string;
  commit: string;
  loaders: (dir: string) => Promise<string[]>;
}): Promise<{ cmdline: string; squashfsSha256: string }> {
  const { dir } = o;
  await Deno.mkdir(dir, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir, prefix: ".netboot-" });
  try {
    await extract(o.iso, [
      ["/live/vmlinuz", `${tmp}/vmlinuz`],
      ["/live/initrd.img", `${tmp}/initrd.img`],
      ["/live/filesystem.squashfs", `${tmp}/filesystem.squashfs`],
      ["/isolinux/live.cfg", `${tmp}/live.cfg`],
    ]);
    const liveCfg = await Deno.readTextFile(`${tmp}/live.cfg`);
    const sums: Record<string, string> = {};
    for (const f of ["vmlinuz", "initrd.img", "filesystem.squashfs"]) {
      await Deno.chmod(`${tmp}/${f}`, 0o644);
      sums[f] = await sha256File(`${tmp}/${f}`);
      await Deno.rename(`${tmp}/${f}`, `${dir}/${f}`);
    }
    const cmdline = netbootCmdline(isoCmdline(liveCfg), sums["filesystem.squashfs"]!);
    await Deno.writeTextFile(
      `${tmp}/bee.ipxe`,
      ipxeScript({ version: o.version, commit: o.commit, cmdline }),
    );
    await Deno.rename(`${tmp}/bee.ipxe`, `${dir}/bee.ipxe`);
    const loaders = await o.loaders(dir);
    const size = (await Deno.stat(`${dir}/filesystem.squashfs`)).size;
    await Deno.writeTextFile(
      `${dir}/README.txt`,
      netbootReadme({ version: o.version, cmdline, squashfsBytes: size, loaders }),
    );
    const lines = Object.entries(sums).map(([f, s]) => `${s}  ${f}\n`).join("");
    await Deno.writeTextFile(`${dir}/SHA256SUMS`, lines);
    return { cmdline, squashfsSha256: sums["filesystem.squashfs"]! };
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}
