/**
 * Watcher information (RFC 3857 §3.4, RFC 3858): the owner's `*.winfo`
 * subscriptions get a full document when they start or refresh and a
 * partial document listing the changed watchers after every watcher
 * subscribe, refresh, approval or termination. Each subscription has its own
 * document version, incremented by one per NOTIFY.
 */
import type { WatcherEntry, WatcherInfoPackage } from '../packages/event-package.js';
import type { SubscriptionRecord } from '../store/records.js';
import type { EventContext, WatcherChange } from './event-context.js';
import { notifySubscription, type NotifyState } from './notify-builder.js';

interface WinfoState {
  readonly version: number;
}

function versionOf(sub: SubscriptionRecord): number {
  return (sub.pkgState as WinfoState | undefined)?.version ?? -1;
}

export function watcherEntry(ctx: EventContext, sub: SubscriptionRecord, status: WatcherEntry['status'], event: WatcherEntry['event']): WatcherEntry {
  const e: { -readonly [K in keyof WatcherEntry]: WatcherEntry[K] } = {
    id: sub.id,
    uri: sub.watcher,
    status,
    event,
    durationSubscribed: Math.max(0, Math.floor((ctx.now - sub.createdAt) / 1000)),
  };
  if (sub.watcherDisplayName !== undefined) e.displayName = sub.watcherDisplayName;
  if (status !== 'terminated') e.expiration = ctx.secondsUntil(sub.expiresAt);
  return e;
}

/** Full watcher list of the watched package (RFC 3858 §4.2 `state="full"`). */
export function currentWatchers(ctx: EventContext, pkg: WatcherInfoPackage): WatcherEntry[] {
  const out: WatcherEntry[] = [];
  for (const w of ctx.store.subscriptions(ctx.resource, pkg.watches)) {
    if (w.expiresAt <= ctx.now) continue;
    out.push(watcherEntry(ctx, w, w.status, 'subscribe'));
  }
  return out;
}

/**
 * Send one watcherinfo NOTIFY to `sub` and store its new version. `watchers`
 * undefined = full state; `state` is the Subscription-State to send.
 * Returns the updated subscription record (already stored unless terminal).
 */
export function sendWatcherInfo(
  ctx: EventContext,
  pkg: WatcherInfoPackage,
  sub: SubscriptionRecord,
  state: NotifyState,
  partial: readonly WatcherEntry[] | undefined,
): SubscriptionRecord {
  const version = versionOf(sub) + 1;
  const updated: SubscriptionRecord = { ...sub, pkgState: { version } satisfies WinfoState };
  let body;
  if (sub.status === 'active') {
    const watchers = partial ?? currentWatchers(ctx, pkg);
    const text = pkg.render(ctx.resource, watchers, version, partial === undefined);
    ctx.metrics.rendered++;
    body = { contentType: pkg.notifyContentType, text };
  }
  ctx.notifies.push(notifySubscription(ctx, updated, state, body, partial === undefined || sub.status !== 'active'));
  if (state.state !== 'terminated') ctx.store.putSubscription(updated, sub);
  return updated;
}

/** Report the watcher changes collected during the event to the winfo subscribers. */
export function flushWatcherChanges(ctx: EventContext): void {
  if (ctx.watcherChanges.size === 0) return;
  for (const [event, changes] of ctx.watcherChanges) {
    for (const pkg of ctx.deps.packages.watchersOf(event)) {
      const entries = dedupe(changes).map((c) => watcherEntry(ctx, c.sub, c.status, c.event));
      for (const winfoSub of ctx.store.subscriptions(ctx.resource, pkg.name)) {
        if (winfoSub.status !== 'active' || winfoSub.expiresAt <= ctx.now) continue;
        sendWatcherInfo(ctx, pkg, winfoSub, { state: 'active' }, entries);
      }
    }
  }
  ctx.watcherChanges.clear();
}

/** Keep the last change per watcher subscription, in first-seen order. */
function dedupe(changes: readonly WatcherChange[]): WatcherChange[] {
  const last = new Map<string, WatcherChange>();
  for (const c of changes) {
    last.delete(c.sub.id);
    last.set(c.sub.id, c);
  }
  return [...last.values()];
}
