// How the board area shows itself (system, baseboard and BIOS): its section of the web page.
import type { Audit } from "../../model/schema.ts";
import { t, table } from "../../lib/html.ts";

/** The board section of the audit page. */
export function webSection(a: Audit, qrSvg: string): string {
  const hw = a.hardware;
  const b = hw.board;
  return (
    `<div class="flex"><div style="flex:1;min-width:280px"><h2>Board</h2>` + table(["", ""], [
      ["System", `${t(b?.system.manufacturer)} ${t(b?.system.product)}`],
      ["Serial", t(b?.system.serial)],
      ["UUID", t(b?.system.uuid)],
      ["SKU", t(b?.system.sku)],
      [
        "Baseboard",
        `${t(b?.baseboard.manufacturer)} ${t(b?.baseboard.product)} (serial ${t(b?.baseboard.serial)})`,
      ],
      ["BIOS", `${t(b?.bios.vendor)} ${t(b?.bios.version)} (${t(b?.bios.release_date)})`],
    ]) + `</div><div class="qr"><h2>QR summary</h2>${qrSvg}</div></div>`
  );
}
