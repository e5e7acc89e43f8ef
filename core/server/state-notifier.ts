/**
 * NOTIFY bodies and fan-out for state packages (RFC 6665 §4.2.2, RFC 3856
 * §6.7). A body is rendered once per (state version, view) and shared by all
 * watchers with that view; the unrestricted view is stored with the state.
 */
import type { NotifyBody } from '../contract.js';
import { FULL_VIEW, type AuthorizationDecision } from '../authz/authorizer.js';
import type { StatePackage } from '../packages/event-package.js';
import type { NotifyTarget, StateRecord } from '../store/records.js';
import type { EventContext } from './event-context.js';
import { buildNotify } from './notify-builder.js';

function decisionOf(sub: Pick<NotifyTarget, 'handling' | 'view' | 'permissions'>): AuthorizationDecision {
  const d: { handling: AuthorizationDecision['handling']; view: string; permissions?: unknown } = {
    handling: sub.handling,
    view: sub.view,
  };
  if (sub.permissions !== undefined) d.permissions = sub.permissions;
  return d;
}

/** The body a watcher gets for the current state, or undefined while its subscription is pending. */
export function stateBody(
  ctx: EventContext,
  pkg: StatePackage,
  sub: Pick<NotifyTarget, 'status' | 'handling' | 'view' | 'permissions'>,
  state?: StateRecord | null,
): NotifyBody | undefined {
  if (sub.status === 'pending') return undefined;
  const current = state === undefined ? ctx.store.state(ctx.resource, pkg.name) : state ?? undefined;
  if (sub.handling === 'polite-block' || !current) {
    return ctx.body(`${pkg.name}\u0000neutral`, pkg.notifyContentType, () => {
      ctx.metrics.rendered++;
      return pkg.render(pkg.neutral(ctx.resource), { handling: 'allow', view: FULL_VIEW });
    });
  }
  if (sub.view === FULL_VIEW) {
    return ctx.body(`${pkg.name}\u0000${current.version}\u0000${FULL_VIEW}`, pkg.notifyContentType, () => current.body);
  }
  return ctx.body(`${pkg.name}\u0000${current.version}\u0000${sub.view}`, pkg.notifyContentType, () => {
    ctx.metrics.rendered++;
    return pkg.render(current.doc, decisionOf(sub));
  });
}

/**
 * After the composed state of a resource changed: one NOTIFY per active
 * watcher, in subscription order, all with the event's CSeq. Subscriptions
 * already past their expiry are skipped (their timer ends them).
 */
export function fanOut(ctx: EventContext, pkg: StatePackage, state: StateRecord): void {
  const active = { state: 'active' } as const;
  // One body per view for the whole fan-out (most watchers share the full view).
  let lastView: string | undefined;
  let lastHandling: string | undefined;
  let lastBody: NotifyBody | undefined;
  for (const t of ctx.targets(pkg.name)) {
    if (t.status !== 'active' || t.expiresAt <= ctx.now || ctx.notified.has(t.id)) continue;
    if (t.view !== lastView || t.handling !== lastHandling) {
      lastBody = stateBody(ctx, pkg, t, state);
      lastView = t.view;
      lastHandling = t.handling;
    }
    ctx.notifies.push(buildNotify(ctx, ctx.resource, pkg.name, t, active, lastBody));
  }
}
