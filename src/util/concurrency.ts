/**
 * Maps over items with at most `limit` calls in flight, keeping input order in the result. API calls
 * run concurrently within a bound so a hundred NodePools do not mean a hundred round trips in a row,
 * nor a hundred at once against a throttling API server.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Retries a call that failed transiently (throttling, a dropped connection, a 5xx), with jittered backoff. */
export async function withRetry<T>(
  fn: () => Promise<T>,
  isTransient: (e: unknown) => boolean,
  opts: { attempts?: number; baseMs?: number } = {},
): Promise<T> {
  const attempts = opts.attempts ?? 4;
  const base = opts.baseMs ?? 200;
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= attempts || !isTransient(e)) throw e;
      await new Promise((r) => setTimeout(r, base * 2 ** (i - 1) * (0.5 + Math.random())));
    }
  }
}
