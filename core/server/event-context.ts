/**
 * The context of one event on one resource (a request, a timer, a NOTIFY
 * outcome): the store view, the clock reading, the NOTIFYs produced, the
 * render cache and the watcher changes to report in watcher information.
 */
import type { Notify, NotifyBody } from '../contract.js';
import { emptyCoreMetrics, type CoreMetrics } from '../core-metrics.js';
import type { DocumentEntry, WatcherEntry } from '../packages/event-package.js';
import type { KvStore } from '../store/kv.js';
import { PresenceStore } from '../store/presence-store.js';
import type { NotifyTarget, SubscriptionRecord } from '../store/records.js';
import type { ServerDeps } from './server-deps.js';

export interface WatcherChange {
  readonly sub: SubscriptionRecord;
  readonly status: WatcherEntry['status'];
  readonly event: WatcherEntry['event'];
}

export class EventContext {
  readonly store: PresenceStore;
  readonly notifies: Notify[] = [];
  /** What this event did (returned with its result for metrics). */
  readonly metrics: CoreMetrics = emptyCoreMetrics();
  /** Watcher changes per watched event package, reported to `*.winfo` subscribers at the end. */
  readonly watcherChanges = new Map<string, WatcherChange[]>();
  /** XCAP document changes of the resource's owner, reported to `xcap-diff` subscribers at the end. */
  readonly documentChanges: DocumentEntry[] = [];
  /** Subscriptions that already got a NOTIFY in this event (a fan-out skips them). */
  readonly notified = new Set<string>();
  private seq: number | undefined;
  private readonly bodies = new Map<string, NotifyBody>();

  constructor(
    readonly deps: ServerDeps,
    /** The store view of this event (reads see the event's own writes). */
    readonly kv: KvStore,
    readonly resource: string,
    /** Milliseconds since the epoch, read once per event. */
    readonly now: number,
  ) {
    this.store = new PresenceStore(kv, () => deps.ids.newId(), this.metrics);
  }

  /**
   * The sequence number of this event, allocated on first use: the CSeq of
   * every NOTIFY this event sends and the order of a publication it makes.
   */
  eventSeq(): number {
    if (this.seq === undefined) this.seq = this.store.nextSeq(this.resource);
    return this.seq;
  }

  /** A body shared by every NOTIFY of this event with the same cache key. */
  body(cacheKey: string, contentType: string, render: () => string): NotifyBody {
    let b = this.bodies.get(cacheKey);
    if (!b) {
      b = { contentType, text: render() };
      this.bodies.set(cacheKey, b);
    }
    return b;
  }

  /**
   * The fan-out targets of (resource, event), from the per-thread cache when
   * the subscription set did not change since it was filled.
   */
  targets(event: string): readonly NotifyTarget[] {
    const cache = this.deps.targetCache;
    const version = this.store.resource(this.resource).subsVersion;
    if (cache && version !== undefined) {
      const hit = cache.get(this.resource, event, version);
      if (hit) return hit;
    }
    const list = [...this.store.targets(this.resource, event)];
    if (cache && version !== undefined) cache.set(this.resource, event, version, list);
    return list;
  }

  watcherChanged(change: WatcherChange): void {
    const list = this.watcherChanges.get(change.sub.event);
    if (list) list.push(change);
    else this.watcherChanges.set(change.sub.event, [change]);
  }

  /** Remaining whole seconds until `at` (never negative). */
  secondsUntil(at: number): number {
    return Math.max(0, Math.ceil((at - this.now) / 1000));
  }
}
