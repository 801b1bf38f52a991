// The one place bee listens for SIGINT and SIGTERM (audit, sat, export): a handler for both, removed again
// by the function it returns. Platforms without signal support get a no-op.

export type TermSignal = "SIGINT" | "SIGTERM";

/** The exit status a command ends with after `sig` (128 + its number). */
export const exitCodeFor = (sig: TermSignal) => (sig === "SIGINT" ? 130 : 143);

/** Calls `handler` on SIGINT and SIGTERM until the returned function is called. */
export function onTermSignals(handler: (sig: TermSignal) => void): () => void {
  const sigs: TermSignal[] = ["SIGINT", "SIGTERM"];
  const hs = sigs.map((sig) => {
    const h = () => handler(sig);
    try {
      Deno.addSignalListener(sig, h);
    } catch { /* not supported here */ }
    return [sig, h] as const;
  });
  return () => {
    for (const [sig, h] of hs) {
      try {
        Deno.removeSignalListener(sig, h);
      } catch { /* not supported */ }
    }
  };
}
