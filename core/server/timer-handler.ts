/**
 * Expiry and retry timers of one resource: publications expire on their own
 * (RFC 3903 §6), subscriptions end with `terminated;reason=timeout`
 * (RFC 6665 §4.2.2), failed NOTIFYs are retried with the current state.
 * Timers are checked against the records, so a stale or duplicate timer is
 * harmless.
 */
import type { StatePackage } from '../packages/event-package.js';
import type { TimerRef } from '../store/records.js';
import { recompose, stateChanged } from './composition.js';
import type { EventContext } from './event-context.js';
import { notifySubscriber } from './subscribe-handler.js';
import { reauthorizeResource, scheduleRulesTimer } from './reauthorize.js';

export function runTimers(ctx: EventContext, timers: readonly TimerRef[]): void {
  const recomposeNeeded = new Set<string>();
  const sorted = [...timers].sort((a, b) => a.dueAt - b.dueAt);
  for (const t of sorted) {
    if (t.resource !== ctx.resource || t.dueAt > ctx.now) continue;
    ctx.store.clearTimer(t);
    if (t.kind === 'publication') {
      const pub = ctx.store.publication(t.resource, t.event, t.id);
      if (pub && pub.expiresAt === t.dueAt) {
        ctx.metrics.expiredPublications++;
        ctx.store.removePublication(pub);
        recomposeNeeded.add(t.event);
      }
      continue;
    }
    if (t.kind === 'rules') {
      reauthorizeResource(ctx);
      scheduleRulesTimer(ctx);
      continue;
    }
    const sub = ctx.store.subscription(t.resource, t.event, t.id);
    if (!sub) continue;
    const pkg = ctx.deps.packages.get(sub.event);
    if (t.kind === 'subscription') {
      if (sub.expiresAt !== t.dueAt) continue;
      ctx.metrics.expiredSubscriptions++;
      ctx.store.removeSubscription(sub);
      ctx.watcherChanged({ sub, status: 'terminated', event: 'timeout' });
      if (pkg) notifySubscriber(ctx, pkg, sub, { state: 'terminated', reason: 'timeout' });
    } else {
      if (sub.retryAt !== t.dueAt || sub.expiresAt <= ctx.now) continue;
      const { retryAt: _r, ...rest } = sub;
      ctx.store.putSubscription(rest, sub);
      if (pkg) notifySubscriber(ctx, pkg, rest, { state: rest.status });
    }
  }
  for (const event of recomposeNeeded) {
    const pkg = ctx.deps.packages.state(event);
    if (!pkg) continue;
    const state = recompose(ctx, pkg as StatePackage);
    if (state) stateChanged(ctx, pkg, state);
  }
}
