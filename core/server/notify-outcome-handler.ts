/**
 * What a NOTIFY's final response does to its subscription (RFC 6665
 * §4.2.2): 2xx keeps it; 481 (and other "the dialog is gone" answers)
 * removes it silently; 408, 480 and 5xx are retried with the current state
 * per the configured policy before the subscription is given up, so one lost
 * NOTIFY never kills a BLF lamp for good.
 */
import type { NotifyOutcome } from '../contract.js';
import type { EventContext } from './event-context.js';

export type OutcomeClass = 'success' | 'retry' | 'terminate';

/** Classify a NOTIFY final response. */
export function classifyNotifyStatus(status: number): OutcomeClass {
  if (status >= 200 && status < 300) return 'success';
  // 513 Message Too Large will not get smaller by retrying.
  if (status === 513) return 'terminate';
  if (status === 408 || status === 480 || status === 491 || (status >= 500 && status < 600)) return 'retry';
  return 'terminate';
}

export function handleNotifyOutcome(ctx: EventContext, outcome: NotifyOutcome): void {
  const sub = ctx.store.subscription(outcome.resource, outcome.event, outcome.subscriptionId);
  if (!sub) return; // already ended (e.g. the outcome of a terminal NOTIFY)
  const kind = classifyNotifyStatus(outcome.status);
  if (kind === 'success') {
    if (sub.failures === 0 && sub.retryAt === undefined) return; // the common case writes nothing
    const { retryAt: _r, ...rest } = sub;
    ctx.store.putSubscription({ ...rest, failures: 0 }, sub);
    return;
  }
  if (kind === 'terminate') {
    ctx.metrics.rejectedByWatcher++;
    ctx.store.removeSubscription(sub);
    ctx.watcherChanged({ sub, status: 'terminated', event: 'timeout' });
    return;
  }
  const policy = ctx.deps.config.notifyRetry;
  const failures = sub.failures + 1;
  if (failures > policy.maxRetries) {
    ctx.metrics.giveups++;
    ctx.store.removeSubscription(sub);
    ctx.watcherChanged({ sub, status: 'terminated', event: 'giveup' });
    return;
  }
  if (sub.retryAt !== undefined) {
    // A retry is already scheduled (several NOTIFYs failed at once): count once.
    return;
  }
  const backoff = policy.backoffSeconds[Math.min(failures - 1, policy.backoffSeconds.length - 1)] ?? 1;
  const delay = Math.max(backoff, outcome.retryAfter ?? 0);
  const retryAt = Math.min(ctx.now + delay * 1000, sub.expiresAt);
  ctx.metrics.retries++;
  ctx.store.putSubscription({ ...sub, failures, retryAt }, sub);
}
