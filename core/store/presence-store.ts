/**
 * Typed access to the presence tables over any `KvStore` (LMDB overlay in the
 * workers, `MemoryKv` in tests). Keeps the secondary indexes (dialogs,
 * timers) and the per-resource counters consistent with the primary records.
 */
import { addTo, emptyCoreMetrics, type CoreMetrics } from '../core-metrics.js';
import type { Key, KvReader, KvStore } from './kv.js';
import {
  targetOf,
  type DialogRef,
  type NotifyTarget,
  type PublicationRecord,
  type ResourceRecord,
  type StateRecord,
  type SubscriptionRecord,
  type TimerKind,
  type TimerRef,
} from './records.js';

const EMPTY_RESOURCE: ResourceRecord = { seq: 0, pubs: {}, subs: {} };

function timerKey(t: TimerRef): Key {
  return [t.dueAt, t.resource, t.kind, t.event, t.id];
}

/** Read-only queries (also usable from the dispatcher thread). */
export class PresenceReader {
  constructor(protected readonly kv: KvReader) {}

  resource(resource: string): ResourceRecord {
    return (this.kv.get('resources', [resource]) as ResourceRecord | undefined) ?? EMPTY_RESOURCE;
  }

  state(resource: string, event: string): StateRecord | undefined {
    return this.kv.get('states', [resource, event]) as StateRecord | undefined;
  }

  publication(resource: string, event: string, etag: string): PublicationRecord | undefined {
    return this.kv.get('publications', [resource, event, etag]) as PublicationRecord | undefined;
  }

  *publications(resource: string, event: string): Iterable<PublicationRecord> {
    for (const e of this.kv.prefix('publications', [resource, event])) yield e.value as PublicationRecord;
  }

  subscription(resource: string, event: string, id: string): SubscriptionRecord | undefined {
    return this.kv.get('subscriptions', [resource, event, id]) as SubscriptionRecord | undefined;
  }

  /** Every subscription to (resource, event): the presentity→watchers index. */
  *subscriptions(resource: string, event: string): Iterable<SubscriptionRecord> {
    for (const e of this.kv.prefix('subscriptions', [resource, event])) yield e.value as SubscriptionRecord;
  }

  /** The compact fan-out view of every subscription to (resource, event). */
  *targets(resource: string, event: string): Iterable<NotifyTarget> {
    for (const e of this.kv.prefix('targets', [resource, event])) yield e.value as NotifyTarget;
  }

  dialog(callId: string, localTag: string, remoteTag: string): DialogRef | undefined {
    return this.kv.get('dialogs', [callId, localTag, remoteTag]) as DialogRef | undefined;
  }

  /** Timers due at or before `now`, oldest first. */
  *dueTimers(now: number, limit: number): Iterable<TimerRef> {
    for (const e of this.kv.between('timers', [], [now + 1], limit)) {
      const [dueAt, resource, kind, event, id] = e.key as [number, string, TimerKind, string, string];
      yield { dueAt, resource, kind, event, id };
    }
  }
}

/**
 * Read-write access for one event. Resource records (sequence and counters)
 * are kept in memory and written once by `flush()`, so counters and the
 * sequence can be updated many times per event at the cost of one put.
 */
export class PresenceStore extends PresenceReader {
  private readonly resources = new Map<string, ResourceRecord>();
  /** Watcher count of each touched resource when this event first read it. */
  private readonly watchersBefore = new Map<string, number>();

  constructor(
    protected override readonly kv: KvStore,
    /** Source of the unique subscription-set version tokens. */
    private readonly newVersion: () => string = () => '',
    /** Where the event's domain counters go. */
    readonly metrics: CoreMetrics = emptyCoreMetrics(),
  ) {
    super(kv);
  }

  override resource(resource: string): ResourceRecord {
    const cached = this.resources.get(resource);
    if (cached) return cached;
    const rec = super.resource(resource);
    if (!this.watchersBefore.has(resource)) this.watchersBefore.set(resource, watcherTotal(rec));
    return rec;
  }

  putResource(resource: string, rec: ResourceRecord): void {
    this.resources.set(resource, rec);
  }

  /** Allocate the next event sequence number of a resource. */
  nextSeq(resource: string): number {
    const rec = this.resource(resource);
    const seq = rec.seq + 1;
    this.putResource(resource, { ...rec, seq });
    return seq;
  }

  /** Write the resource records touched by this event. */
  flush(): void {
    for (const [resource, rec] of this.resources) {
      const before = this.watchersBefore.get(resource) ?? 0;
      const after = watcherTotal(rec);
      if (before !== after) this.metrics.watcherCounts.push([before, after]);
      // A resource with no publications and no subscriptions is forgotten: no dialog
      // exists whose CSeq could go back, so its event sequence may restart.
      const empty = Object.keys(rec.pubs).length === 0 && Object.keys(rec.subs).length === 0;
      if (empty) this.kv.remove('resources', [resource]);
      else this.kv.put('resources', [resource], rec);
    }
    this.resources.clear();
    this.watchersBefore.clear();
  }

  putState(resource: string, event: string, rec: StateRecord): void {
    this.kv.put('states', [resource, event], rec);
  }

  removeState(resource: string, event: string): void {
    this.kv.remove('states', [resource, event]);
  }

  addPublication(pub: PublicationRecord): void {
    addTo(this.metrics.publications, pub.event, +1);
    this.kv.put('publications', [pub.resource, pub.event, pub.etag], pub);
    this.setTimer({ dueAt: pub.expiresAt, resource: pub.resource, kind: 'publication', event: pub.event, id: pub.etag });
    this.bumpCount(pub.resource, 'pubs', pub.event, +1);
  }

  removePublication(pub: PublicationRecord): void {
    addTo(this.metrics.publications, pub.event, -1);
    this.kv.remove('publications', [pub.resource, pub.event, pub.etag]);
    this.clearTimer({ dueAt: pub.expiresAt, resource: pub.resource, kind: 'publication', event: pub.event, id: pub.etag });
    this.bumpCount(pub.resource, 'pubs', pub.event, -1);
  }

  /** Insert or update a subscription; `previous` is the stored version when updating. */
  putSubscription(sub: SubscriptionRecord, previous?: SubscriptionRecord): void {
    if (previous?.status !== sub.status) {
      if (previous) addTo(this.metrics.subscriptions, `${previous.event} ${previous.status}`, -1);
      addTo(this.metrics.subscriptions, `${sub.event} ${sub.status}`, +1);
      if (previous?.status === 'pending') this.bumpCount(sub.resource, 'pending', sub.event, -1);
      if (sub.status === 'pending') this.bumpCount(sub.resource, 'pending', sub.event, +1);
    }
    const key = [sub.resource, sub.event, sub.id];
    this.kv.put('subscriptions', key, sub);
    this.kv.put('targets', key, targetOf(sub));
    this.touchSubs(sub.resource);
    if (!previous) {
      this.kv.put('dialogs', [sub.dialog.callId, sub.dialog.localTag, sub.dialog.remoteTag], {
        resource: sub.resource,
        event: sub.event,
        id: sub.id,
      } satisfies DialogRef);
      this.bumpCount(sub.resource, 'subs', sub.event, +1);
    }
    if (previous?.expiresAt !== sub.expiresAt) {
      if (previous) this.clearTimer(subTimer(previous, 'subscription', previous.expiresAt));
      this.setTimer(subTimer(sub, 'subscription', sub.expiresAt));
    }
    if (previous?.retryAt !== sub.retryAt) {
      if (previous?.retryAt !== undefined) this.clearTimer(subTimer(previous, 'retry', previous.retryAt));
      if (sub.retryAt !== undefined) this.setTimer(subTimer(sub, 'retry', sub.retryAt));
    }
  }

  removeSubscription(sub: SubscriptionRecord): void {
    addTo(this.metrics.subscriptions, `${sub.event} ${sub.status}`, -1);
    if (sub.status === 'pending') this.bumpCount(sub.resource, 'pending', sub.event, -1);
    this.kv.remove('subscriptions', [sub.resource, sub.event, sub.id]);
    this.kv.remove('targets', [sub.resource, sub.event, sub.id]);
    this.touchSubs(sub.resource);
    this.kv.remove('dialogs', [sub.dialog.callId, sub.dialog.localTag, sub.dialog.remoteTag]);
    this.clearTimer(subTimer(sub, 'subscription', sub.expiresAt));
    if (sub.retryAt !== undefined) this.clearTimer(subTimer(sub, 'retry', sub.retryAt));
    this.bumpCount(sub.resource, 'subs', sub.event, -1);
  }

  private touchSubs(resource: string): void {
    this.putResource(resource, { ...this.resource(resource), subsVersion: this.newVersion() });
  }

  /** Schedule a timer of any kind (used for `rules` re-evaluation timers). */
  scheduleTimer(t: TimerRef): void {
    this.setTimer(t);
  }

  clearTimer(t: TimerRef): void {
    this.kv.remove('timers', timerKey(t));
  }

  private setTimer(t: TimerRef): void {
    this.kv.put('timers', timerKey(t), 0);
  }

  private bumpCount(resource: string, field: 'pubs' | 'subs' | 'pending', event: string, delta: number): void {
    const rec = this.resource(resource);
    const counts = { ...rec[field] };
    const next = (counts[event] ?? 0) + delta;
    if (next > 0) counts[event] = next;
    else delete counts[event];
    if (field === 'pending' && Object.keys(counts).length === 0) {
      const { pending: _p, ...rest } = rec;
      this.putResource(resource, rest);
    } else this.putResource(resource, { ...rec, [field]: counts });
  }
}

function watcherTotal(rec: ResourceRecord): number {
  let n = 0;
  for (const v of Object.values(rec.subs)) n += v;
  return n;
}

function subTimer(sub: SubscriptionRecord, kind: TimerKind, dueAt: number): TimerRef {
  return { dueAt, resource: sub.resource, kind, event: sub.event, id: sub.id };
}
