/**
 * Recomposition of a resource's state after its publications changed
 * (RFC 3903 §6 step 8; composition itself is the package's `aggregate`).
 */
import { FULL_VIEW } from '../authz/authorizer.js';
import type { StatePackage } from '../packages/event-package.js';
import type { StateRecord } from '../store/records.js';
import type { EventContext } from './event-context.js';
import { reauthorizeResource } from './reauthorize.js';
import { fanOut } from './state-notifier.js';

/**
 * Compose the live publications; returns the new state when the rendered
 * document changed (so watchers must be notified), else undefined.
 */
export function recompose(ctx: EventContext, pkg: StatePackage): StateRecord | undefined {
  const live = [];
  // A stored static source (RFC 4827) composes as the oldest publication (order 0).
  const stat = pkg.staticState?.(ctx.kv, ctx.resource);
  if (stat !== undefined) live.push({ doc: stat, order: 0 });
  for (const p of ctx.store.publications(ctx.resource, pkg.name)) {
    if (p.expiresAt > ctx.now) live.push({ doc: p.doc, order: p.order });
  }
  const prev = ctx.store.state(ctx.resource, pkg.name);
  const hasWatchers = (ctx.store.resource(ctx.resource).subs[pkg.name] ?? 0) > 0;
  if (live.length === 0 && !hasWatchers) {
    // Nobody publishes and nobody watches: forget the state entirely.
    if (prev) ctx.store.removeState(ctx.resource, pkg.name);
    return undefined;
  }
  const doc = live.length === 0 ? pkg.neutral(ctx.resource) : pkg.aggregate(ctx.resource, live);
  const body = pkg.render(doc, { handling: 'allow', view: FULL_VIEW });
  ctx.metrics.rendered++;
  if (prev && prev.body === body) return undefined;
  const state: StateRecord = { version: (prev?.version ?? 0) + 1, doc, body, updatedAt: ctx.now };
  ctx.store.putState(ctx.resource, pkg.name, state);
  return prev || live.length > 0 ? state : undefined;
}

/**
 * The state changed: if the owner's rules look at the presentity's own
 * state (RFC 4745 `<sphere>`), re-evaluate its subscriptions first (those
 * whose view changes get their NOTIFY there), then notify everybody else.
 */
export function stateChanged(ctx: EventContext, pkg: StatePackage, state: StateRecord): void {
  const deps = ctx.deps.authorizer.dependencies?.(ctx.kv, ctx.resource, ctx.now);
  if (deps?.sphere) reauthorizeResource(ctx);
  fanOut(ctx, pkg, state);
}
