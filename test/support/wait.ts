/** Bounded waiting for tests: a sleep, and polling a condition until a deadline (the error names what was awaited). */

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `cond` every `pollMs` until true; rejects after `timeoutMs` with "timed out … waiting for <what>". */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: string, pollMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}
