/** Bounded waiting for tests: a sleep, and polling a condition until a deadline (the error names what was awaited). */

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `cond` every `pollMs` until true; rejects after `timeoutMs` with "timed out … waiting for <what>"
 * (`what` may be computed at that moment, to show the state that was reached).
 */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string | (() => string), pollMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(pollMs);
  }
}
