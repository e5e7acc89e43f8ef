/**
 * NOTIFY construction from stored dialog state (core/server/notify-builder.ts,
 * RFC 6665 §4.2.2, RFC 3261 §12.2.1.1).
 */
import { describe, expect, it } from 'vitest';
import type { NotifyBody } from '../../../../core/contract.js';
import { CountingIds } from '../../../../core/ids.js';
import { EventContext } from '../../../../core/server/event-context.js';
import { buildNotify, dialogHeaders, eventHeaderValue, notifySubscription } from '../../../../core/server/notify-builder.js';
import { PresenceServer } from '../../../../core/server/presence-server.js';
import { parseDialogHeaders } from '../../../../core/sip/notify-headers.js';
import { MemoryKv } from '../../../../core/store/memory-kv.js';
import { targetOf, type DialogState, type NotifyTarget, type SubscriptionRecord } from '../../../../core/store/records.js';
import { testConfig } from '../../../support/core-harness.js';

const ALICE = 'sip:alice@example.com';
const BOB = 'sip:bob@example.com';
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const CONTACT = '<sip:192.0.2.1:5060>';

const dialogBase: Omit<DialogState, 'headers'> = {
  callId: 'a84b4c76e66710@pc33.example.com',
  localTag: 'ps-8f2a',
  remoteTag: 'wf1',
  localHeader: `<${ALICE}>;tag=ps-8f2a`,
  remoteHeader: `"Bob" <${BOB}>;tag=wf1`,
  remoteTarget: 'sip:bob@192.0.2.20:5062;transport=udp',
  routeSet: ['<sip:p1.example.net;lr>', '<sip:p2.example.net;lr>'],
  remoteCseq: 3,
  requestUri: 'sip:bob@192.0.2.20:5062;transport=udp',
  route: ['<sip:p1.example.net;lr>', '<sip:p2.example.net;lr>'],
  nextHop: 'sip:p1.example.net;lr',
};

function sub(o: Partial<SubscriptionRecord> = {}): SubscriptionRecord {
  return {
    id: 'n1.sub1',
    resource: ALICE,
    event: 'presence',
    status: 'active',
    handling: 'allow',
    view: 'full',
    expiresAt: NOW + 3_599_000,
    createdAt: NOW - 1000,
    watcher: BOB,
    dialog: { ...dialogBase, headers: dialogHeaders(dialogBase, CONTACT, 'presence') },
    source: { transport: 'udp', address: '192.0.2.20', port: 5062 },
    failures: 0,
    ...o,
  };
}

function context(seq = 0): { ctx: EventContext; kv: MemoryKv } {
  const kv = new MemoryKv();
  if (seq > 0) kv.put('resources', [ALICE], { seq, pubs: {}, subs: { presence: 1 } });
  const server = new PresenceServer({ config: testConfig(), ids: new CountingIds() });
  return { ctx: new EventContext(server.deps, kv, ALICE, NOW), kv };
}

const BODY: NotifyBody = { contentType: 'application/pidf+xml', text: '<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"/>' };

describe('eventHeaderValue', () => {
  it('echoes the id parameter when the subscription had one (RFC 6665 §8.2.1)', () => {
    expect(eventHeaderValue('presence', undefined)).toBe('presence');
    expect(eventHeaderValue('presence', '42')).toBe('presence;id=42');
    expect(eventHeaderValue('presence.winfo', 'a1')).toBe('presence.winfo;id=a1');
  });
});

describe('dialogHeaders', () => {
  it('renders our side as From, the subscriber as To, and the computed route (not the raw route set)', () => {
    const strict = { ...dialogBase, route: ['<sip:p2.example.net;lr>'], requestUri: '<sip:p1.example.net>' };
    const f = parseDialogHeaders(dialogHeaders(strict, CONTACT, 'presence;id=7'));
    expect(f).toEqual({
      from: `<${ALICE}>;tag=ps-8f2a`,
      to: `"Bob" <${BOB}>;tag=wf1`,
      callId: 'a84b4c76e66710@pc33.example.com',
      route: ['<sip:p2.example.net;lr>'],
      contact: CONTACT,
      event: 'presence;id=7',
    });
  });
});

describe('buildNotify', () => {
  it('fills every field from the target and the event', () => {
    const { ctx } = context(41);
    const t = targetOf(sub());
    const n = buildNotify(ctx, ALICE, 'presence', t, { state: 'active' }, BODY);
    expect(n).toEqual({
      subscriptionId: 'n1.sub1',
      resource: ALICE,
      event: 'presence',
      requestUri: 'sip:bob@192.0.2.20:5062;transport=udp',
      nextHop: 'sip:p1.example.net;lr',
      cseq: 42,
      subscriptionState: 'active;expires=3599',
      dialogHeaders: t.headers,
      body: BODY,
      terminal: false,
      fullState: true,
    });
    expect(n.body).toBe(BODY);
  });

  it('rounds the remaining time up and never goes below 0', () => {
    const { ctx } = context();
    const at = (expiresAt: number): string => buildNotify(ctx, ALICE, 'presence', { ...targetOf(sub()), expiresAt }, { state: 'active' }, BODY).subscriptionState;
    expect(at(NOW + 3_599_001)).toBe('active;expires=3600');
    expect(at(NOW + 1)).toBe('active;expires=1');
    expect(at(NOW)).toBe('active;expires=0');
    expect(at(NOW - 60_000)).toBe('active;expires=0');
  });

  it('formats pending and terminated states; only terminated is terminal', () => {
    const { ctx } = context();
    const t = targetOf(sub({ status: 'pending' }));
    const pending = buildNotify(ctx, ALICE, 'presence', t, { state: 'pending' }, undefined);
    expect(pending.subscriptionState).toBe('pending;expires=3599');
    expect(pending.terminal).toBe(false);
    for (const reason of ['deactivated', 'probation', 'rejected', 'timeout', 'giveup', 'noresource'] as const) {
      const n = buildNotify(ctx, ALICE, 'presence', t, { state: 'terminated', reason }, BODY);
      expect(n.subscriptionState).toBe(`terminated;reason=${reason}`);
      expect(n.terminal).toBe(true);
    }
  });

  it('omits the body and the destination when there are none', () => {
    const { ctx } = context();
    const n = buildNotify(ctx, ALICE, 'presence', targetOf(sub()), { state: 'pending' }, undefined);
    expect('body' in n).toBe(false);
    expect('destination' in n).toBe(false);
  });

  it('sends to the NAT destination of the target when there is one', () => {
    const { ctx } = context();
    const destination = { transport: 'udp', address: '198.51.100.7', port: 40_612 } as const;
    const t: NotifyTarget = { ...targetOf(sub()), destination };
    expect(buildNotify(ctx, ALICE, 'presence', t, { state: 'active' }, BODY).destination).toEqual(destination);
  });

  it('gives every NOTIFY of one event the same CSeq, the next of the resource', () => {
    const { ctx, kv } = context(7);
    const a = buildNotify(ctx, ALICE, 'presence', targetOf(sub()), { state: 'active' }, BODY);
    const b = buildNotify(ctx, ALICE, 'presence', targetOf(sub({ id: 'n1.sub2' })), { state: 'active' }, BODY);
    expect(a.cseq).toBe(8);
    expect(b.cseq).toBe(8);
    ctx.store.flush();
    expect(kv.get('resources', [ALICE])).toMatchObject({ seq: 8 });
    // The next event continues from there.
    const next = new EventContext(ctx.deps, kv, ALICE, NOW + 1000);
    expect(buildNotify(next, ALICE, 'presence', targetOf(sub()), { state: 'active' }, BODY).cseq).toBe(9);
  });
});

describe('notifySubscription', () => {
  it('builds the NOTIFY from the full record via its target', () => {
    const { ctx } = context(1);
    const s = sub({ eventId: '7', dialog: { ...dialogBase, destination: { transport: 'tcp', address: '198.51.100.7', port: 5060 }, headers: dialogHeaders(dialogBase, CONTACT, 'presence;id=7') } });
    const n = notifySubscription(ctx, s, { state: 'terminated', reason: 'timeout' }, BODY);
    expect(n).toMatchObject({ subscriptionId: s.id, resource: ALICE, event: 'presence', cseq: 2, terminal: true, subscriptionState: 'terminated;reason=timeout' });
    expect(n.destination).toEqual({ transport: 'tcp', address: '198.51.100.7', port: 5060 });
    expect(parseDialogHeaders(n.dialogHeaders).event).toBe('presence;id=7');
  });
});

describe('fullState', () => {
  it('is false only for partial watcher-information documents', async () => {
    const { CoreHarness } = await import('../../../support/core-harness.js');
    const { subscribe } = await import('../../../support/sip-requests.js');
    const h = new CoreHarness();
    const owner = h.send(subscribe({ watcher: 'sip:alice@example.com', resource: 'sip:alice@example.com', event: 'presence.winfo' }));
    expect(owner.notifies[0]?.fullState).toBe(true);
    const bob = h.send(subscribe({ watcher: 'sip:bob@example.com', resource: 'sip:alice@example.com' }));
    const presence = bob.notifies.find((n) => n.event === 'presence');
    const partial = bob.notifies.find((n) => n.event === 'presence.winfo');
    expect(presence?.fullState).toBe(true);
    expect(partial?.fullState).toBe(false);
  });
});
