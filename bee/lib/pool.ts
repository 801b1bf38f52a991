// Runs work over a list a few at a time, keeping the list's order in the results.

/** `f` over the items, at most `concurrency` at once; results in the items' order. */
export async function pool<T, R>(
  items: T[],
  concurrency: number,
  f: (x: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return out;
}
