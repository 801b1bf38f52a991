// Debian's headless Chromium, for the tests that render bee's web page as an operator's browser would.

/** The Chromium binary, or null where it is not installed (`sh tasks/setup.sh test` installs it). */
export function chromium(): string | null {
  for (const p of ["/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    try {
      Deno.statSync(p);
      return p;
    } catch { /* next */ }
  }
  return null;
}

export const CHROME_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** The DOM Chromium renders for `url`, after scripts ran. */
export async function renderedDom(url: string, profile: string): Promise<string> {
  const out = await new Deno.Command(chromium()!, {
    args: [...CHROME_FLAGS, `--user-data-dir=${profile}`, "--dump-dom", url],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout);
}
