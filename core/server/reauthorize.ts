/**
 * Re-evaluation of every subscription to a resource after its owner changed
 * the authorization rules (RFC 5025 §3.1, RFC 3857 §5): the change applies
 * at once, not at the next refresh.
 *
 * - pending → allowed: the watcher gets the state now (watcherinfo: approved)
 * - → polite-block: the watcher keeps an active subscription with the neutral document
 * - → blocked: terminated with reason=rejected, no state (watcherinfo: rejected)
 * - active → pending (confirm): Subscription-State pending, no state sent any more
 * - a different view (narrower or wider transformations): that view is sent
 */
import type { EventPackage } from '../packages/event-package.js';
import type { SubscriptionRecord } from '../store/records.js';
import type { EventContext } from './event-context.js';
import { applyDecision, authorize, notifySubscriber } from './subscribe-handler.js';

export function reauthorizeResource(ctx: EventContext): void {
  for (const name of ctx.deps.packages.names()) {
    const pkg = ctx.deps.packages.get(name) as EventPackage;
    const subs = [...ctx.store.subscriptions(ctx.resource, pkg.name)];
    for (const sub of subs) {
      if (sub.expiresAt <= ctx.now) continue;
      reauthorize(ctx, pkg, sub);
    }
  }
}

function reauthorize(ctx: EventContext, pkg: EventPackage, sub: SubscriptionRecord): void {
  const decision = authorize(ctx, pkg, { aor: sub.watcher, authenticated: sub.authenticated ?? false });
  if (decision.handling === 'block') {
    ctx.store.removeSubscription(sub);
    ctx.watcherChanged({ sub, status: 'terminated', event: 'rejected' });
    notifySubscriber(ctx, pkg, { ...sub, status: 'pending' }, { state: 'terminated', reason: 'rejected' });
    return;
  }
  const next = applyDecision(sub, decision);
  const changed =
    next.status !== sub.status ||
    next.handling !== sub.handling ||
    next.view !== sub.view ||
    JSON.stringify(next.permissions ?? null) !== JSON.stringify(sub.permissions ?? null);
  if (!changed) return;
  ctx.store.putSubscription(next, sub);
  const approved = sub.status === 'pending' && next.status === 'active';
  if (next.status !== sub.status || approved) {
    ctx.watcherChanged({ sub: next, status: next.status, event: approved ? 'approved' : 'subscribe' });
  }
  notifySubscriber(ctx, pkg, next, { state: next.status });
}

/**
 * Schedule the next re-evaluation of the resource's subscriptions at the next
 * instant one of its owner's `<validity>` windows opens or closes (RFC 4745
 * §7.3), so time-limited permissions take effect on time.
 */
export function scheduleRulesTimer(ctx: EventContext): void {
  const next = ctx.deps.authorizer.dependencies?.(ctx.kv, ctx.resource, ctx.now)?.nextChangeAt;
  if (next === undefined || !(next > ctx.now)) return;
  ctx.store.scheduleTimer({ dueAt: next, resource: ctx.resource, kind: 'rules', event: 'presence', id: 'rules' });
}
