/**
 * What a NOTIFY's final response does to its subscription
 * (core/server/notify-outcome-handler.ts, RFC 6665 §4.2.2).
 */
import { describe, expect, it } from 'vitest';
import type { NotifyOutcome } from '../../../../core/contract.js';
import type { DeepPartial, PresenceConfig } from '../../../../core/config.js';
import { CountingIds } from '../../../../core/ids.js';
import { EventContext } from '../../../../core/server/event-context.js';
import { classifyNotifyStatus, handleNotifyOutcome, type OutcomeClass } from '../../../../core/server/notify-outcome-handler.js';
import { PresenceServer } from '../../../../core/server/presence-server.js';
import { MemoryKv } from '../../../../core/store/memory-kv.js';
import { PresenceReader, PresenceStore } from '../../../../core/store/presence-store.js';
import type { SubscriptionRecord } from '../../../../core/store/records.js';
import { WriteOverlay } from '../../../../core/store/write-overlay.js';
import { testConfig } from '../../../support/core-harness.js';

const ALICE = 'sip:alice@example.com';
const BOB = 'sip:bob@example.com';
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

describe('classifyNotifyStatus', () => {
  it.each<[number, OutcomeClass]>([
    [200, 'success'],
    [202, 'success'],
    [299, 'success'],
    [300, 'terminate'],
    [302, 'terminate'],
    [400, 'terminate'],
    [403, 'terminate'],
    [404, 'terminate'],
    [405, 'terminate'],
    [408, 'retry'],
    [480, 'retry'],
    [481, 'terminate'],
    [489, 'terminate'],
    [491, 'retry'],
    [499, 'terminate'],
    [500, 'retry'],
    [503, 'retry'],
    [504, 'retry'],
    [513, 'terminate'],
    [599, 'retry'],
    [600, 'terminate'],
    [603, 'terminate'],
    [699, 'terminate'],
  ])('%d → %s', (status, kind) => {
    expect(classifyNotifyStatus(status)).toBe(kind);
  });

  it('never counts a provisional status as success', () => {
    expect(classifyNotifyStatus(100)).not.toBe('success');
    expect(classifyNotifyStatus(180)).not.toBe('success');
  });
});

function makeSub(o: Partial<SubscriptionRecord> = {}): SubscriptionRecord {
  return {
    id: 's1',
    resource: ALICE,
    event: 'presence',
    status: 'active',
    handling: 'allow',
    view: 'full',
    expiresAt: NOW + 3_600_000,
    createdAt: NOW - 60_000,
    watcher: BOB,
    dialog: {
      callId: 'call-1@192.0.2.20',
      localTag: 'ps1',
      remoteTag: 'wf1',
      localHeader: `<${ALICE}>;tag=ps1`,
      remoteHeader: `<${BOB}>;tag=wf1`,
      remoteTarget: 'sip:bob@192.0.2.20:5062',
      routeSet: [],
      remoteCseq: 1,
      requestUri: 'sip:bob@192.0.2.20:5062',
      route: [],
      nextHop: 'sip:bob@192.0.2.20:5062',
      headers: `From: <${ALICE}>;tag=ps1\r\nTo: <${BOB}>;tag=wf1\r\nCall-ID: call-1@192.0.2.20\r\nContact: <sip:192.0.2.1:5060>\r\nEvent: presence\r\n`,
    },
    source: { transport: 'udp', address: '192.0.2.20', port: 5062 },
    failures: 0,
    ...o,
  };
}

/** A stored subscription and an event context over a write overlay (to see what an outcome writes). */
function setup(sub: SubscriptionRecord, config: DeepPartial<PresenceConfig> = {}) {
  const kv = new MemoryKv();
  const store = new PresenceStore(kv);
  store.putSubscription(sub);
  store.flush();
  const overlay = new WriteOverlay(kv);
  const server = new PresenceServer({ config: testConfig(config), ids: new CountingIds('v') });
  const ctx = new EventContext(server.deps, overlay, ALICE, NOW);
  const stored = (): SubscriptionRecord | undefined => new PresenceReader(overlay).subscription(ALICE, 'presence', sub.id);
  const timers = () => [...overlay.between('timers', [], [Number.MAX_SAFE_INTEGER])].map((e) => e.key);
  return { ctx, overlay, stored, timers };
}

const outcome = (status: number, o: Partial<NotifyOutcome> = {}): NotifyOutcome => ({ subscriptionId: 's1', resource: ALICE, event: 'presence', cseq: 7, status, ...o });

describe('handleNotifyOutcome', () => {
  it('writes nothing for a 200 on a healthy subscription', () => {
    const { ctx, overlay } = setup(makeSub());
    handleNotifyOutcome(ctx, outcome(200));
    ctx.store.flush();
    expect(overlay.size).toBe(0);
    expect(ctx.watcherChanges.size).toBe(0);
  });

  it('ignores the outcome of a subscription that is gone', () => {
    const { ctx, overlay } = setup(makeSub());
    handleNotifyOutcome(ctx, outcome(481, { subscriptionId: 'ended-long-ago' }));
    handleNotifyOutcome(ctx, outcome(500, { subscriptionId: 'ended-long-ago' }));
    ctx.store.flush();
    expect(overlay.size).toBe(0);
  });

  it('removes the subscription on 481 and reports it to watcher information as timeout', () => {
    const { ctx, stored, timers } = setup(makeSub());
    handleNotifyOutcome(ctx, outcome(481));
    expect(stored()).toBeUndefined();
    expect(timers()).toEqual([]);
    const changes = ctx.watcherChanges.get('presence');
    expect(changes?.map((c) => [c.sub.id, c.status, c.event])).toEqual([['s1', 'terminated', 'timeout']]);
  });

  it('schedules the first retry after the first backoff step', () => {
    const { ctx, stored, timers } = setup(makeSub(), { notifyRetry: { maxRetries: 3, backoffSeconds: [2, 10, 30] } });
    handleNotifyOutcome(ctx, outcome(408));
    expect(stored()).toMatchObject({ failures: 1, retryAt: NOW + 2000 });
    expect(timers()).toContainEqual([NOW + 2000, ALICE, 'retry', 'presence', 's1']);
    expect(ctx.watcherChanges.size).toBe(0);
  });

  it('uses the next backoff step for the next failure and repeats the last one', () => {
    const cfg = { notifyRetry: { maxRetries: 5, backoffSeconds: [2, 10] } };
    const second = setup(makeSub({ failures: 1 }), cfg);
    handleNotifyOutcome(second.ctx, outcome(503));
    expect(second.stored()).toMatchObject({ failures: 2, retryAt: NOW + 10_000 });
    const fourth = setup(makeSub({ failures: 3 }), cfg);
    handleNotifyOutcome(fourth.ctx, outcome(500));
    expect(fourth.stored()).toMatchObject({ failures: 4, retryAt: NOW + 10_000 });
  });

  it('honours a longer Retry-After of a 503', () => {
    const { ctx, stored } = setup(makeSub(), { notifyRetry: { maxRetries: 3, backoffSeconds: [2] } });
    handleNotifyOutcome(ctx, outcome(503, { retryAfter: 20 }));
    expect(stored()?.retryAt).toBe(NOW + 20_000);
  });

  it('keeps the backoff when Retry-After is shorter', () => {
    const { ctx, stored } = setup(makeSub(), { notifyRetry: { maxRetries: 3, backoffSeconds: [30] } });
    handleNotifyOutcome(ctx, outcome(503, { retryAfter: 5 }));
    expect(stored()?.retryAt).toBe(NOW + 30_000);
  });

  it('never schedules a retry after the subscription expires', () => {
    const { ctx, stored } = setup(makeSub({ expiresAt: NOW + 1500 }), { notifyRetry: { maxRetries: 3, backoffSeconds: [30] } });
    handleNotifyOutcome(ctx, outcome(408));
    expect(stored()?.retryAt).toBe(NOW + 1500);
  });

  it('counts several failures while a retry is pending only once', () => {
    const { ctx, stored } = setup(makeSub({ failures: 1, retryAt: NOW + 2000 }));
    handleNotifyOutcome(ctx, outcome(500));
    handleNotifyOutcome(ctx, outcome(408));
    expect(stored()).toMatchObject({ failures: 1, retryAt: NOW + 2000 });
  });

  it('gives up after maxRetries retries', () => {
    const { ctx, stored, timers } = setup(makeSub({ failures: 2 }), { notifyRetry: { maxRetries: 2, backoffSeconds: [2] } });
    handleNotifyOutcome(ctx, outcome(408));
    expect(stored()).toBeUndefined();
    expect(timers()).toEqual([]);
    expect(ctx.watcherChanges.get('presence')?.map((c) => c.event)).toEqual(['giveup']);
  });

  it('gives up at the first failure when retries are disabled', () => {
    const { ctx, stored } = setup(makeSub(), { notifyRetry: { maxRetries: 0, backoffSeconds: [2] } });
    handleNotifyOutcome(ctx, outcome(500));
    expect(stored()).toBeUndefined();
  });

  it('resets the failure count and cancels the retry on success', () => {
    const { ctx, stored, timers } = setup(makeSub({ failures: 2, retryAt: NOW + 10_000 }));
    handleNotifyOutcome(ctx, outcome(200));
    const sub = stored();
    expect(sub?.failures).toBe(0);
    expect(sub && 'retryAt' in sub).toBe(false);
    expect(timers()).toEqual([[NOW + 3_600_000, ALICE, 'subscription', 'presence', 's1']]);
  });
});
