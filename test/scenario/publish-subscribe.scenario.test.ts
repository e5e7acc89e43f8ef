/**
 * Alice publishes, Bob watches: the RFC 3903 / RFC 6665 / RFC 3856 exchanges
 * played through the public contract against the in-memory store.
 */
import { describe, expect, it } from 'vitest';
import { notifyHeaders } from '../../core/sip/notify-headers.js';
import type { Notify } from '../../core/contract.js';
import { parsePidf } from '../../core/packages/presence/pidf-document.js';
import { CoreHarness } from '../support/core-harness.js';
import { pidf, publish, subscribe } from '../support/sip-requests.js';

const ALICE = 'sip:alice@example.com';
const BOB = 'sip:bob@example.com';

function tupleCount(n: Notify): number {
  const doc = parsePidf(n.body?.text ?? '');
  if (!doc.ok) throw new Error('not PIDF');
  return doc.value.tuples.length;
}

describe('Bob watches Alice', () => {
  it('gets the neutral document first, then every change, with a growing CSeq', () => {
    const h = new CoreHarness();
    const sub = h.send(subscribe({ watcher: BOB, resource: ALICE, localTag: 'ps1', expires: 600 }));
    expect(sub.reply?.status).toBe(200);
    expect(h.header(sub, 'Expires')).toBe('600');
    expect(h.header(sub, 'Contact')).toBe('<sip:192.0.2.1:5060>');
    expect(sub.notifies).toHaveLength(1);
    const first = sub.notifies[0] as Notify;
    expect(first.subscriptionState).toBe('active;expires=600');
    expect(notifyHeaders(first).from).toContain(';tag=ps1');
    expect(notifyHeaders(first).to).toContain('tag=wf1');
    expect(notifyHeaders(first).event).toBe('presence');
    expect(first.body?.contentType).toBe('application/pidf+xml');
    expect(tupleCount(first)).toBe(0);
    expect(first.requestUri).toBe('sip:bob@192.0.2.20:5062;transport=udp');

    const pub = h.send(publish({ aor: ALICE, body: pidf(ALICE, 'open', 'In a meeting') }));
    expect(pub.reply?.status).toBe(200);
    const etag1 = h.header(pub, 'SIP-ETag') as string;
    expect(etag1).toBeTruthy();
    expect(h.header(pub, 'Expires')).toBe('3600');
    expect(pub.notifies).toHaveLength(1);
    const second = pub.notifies[0] as Notify;
    expect(second.cseq).toBeGreaterThan(first.cseq);
    expect(second.body?.text).toContain('<basic>open</basic>');
    expect(second.body?.text).toContain('In a meeting');

    // Refresh: new tag, nothing to notify; the old tag is gone.
    const refresh = h.send(publish({ aor: ALICE, etag: etag1, expires: 1800 }));
    expect(refresh.reply?.status).toBe(200);
    const etag2 = h.header(refresh, 'SIP-ETag') as string;
    expect(etag2).not.toBe(etag1);
    expect(h.header(refresh, 'Expires')).toBe('1800');
    expect(refresh.notifies).toHaveLength(0);
    expect(h.send(publish({ aor: ALICE, etag: etag1 })).reply?.status).toBe(412);

    // Modify: replaces the state, never duplicates the tuple.
    const modify = h.send(publish({ aor: ALICE, etag: etag2, body: pidf(ALICE, 'closed') }));
    expect(modify.reply?.status).toBe(200);
    const third = modify.notifies[0] as Notify;
    expect(tupleCount(third)).toBe(1);
    expect(third.body?.text).toContain('<basic>closed</basic>');
    expect(third.cseq).toBeGreaterThan(second.cseq);
    expect(h.kv.count('publications')).toBe(1);

    // Remove: back to the neutral document.
    const etag3 = h.header(modify, 'SIP-ETag') as string;
    const remove = h.send(publish({ aor: ALICE, etag: etag3, expires: 0 }));
    expect(remove.reply?.status).toBe(200);
    expect(h.header(remove, 'Expires')).toBe('0');
    expect(h.header(remove, 'SIP-ETag')).toBeTruthy();
    expect(tupleCount(remove.notifies[0] as Notify)).toBe(0);
    expect(h.kv.count('publications')).toBe(0);
  });

  it('refreshes and unsubscribes in the dialog; the final NOTIFY is terminated', () => {
    const h = new CoreHarness();
    h.send(publish({ aor: ALICE, body: pidf(ALICE, 'open') }));
    const s = h.send(subscribe({ watcher: BOB, resource: ALICE, localTag: 'd1', callId: 'c1', expires: 300 }));
    expect(s.notifies[0]?.body?.text).toContain('open');
    const r = h.send(subscribe({ watcher: BOB, resource: ALICE, localTag: 'd1', callId: 'c1', inDialog: true, cseq: 2, expires: 300 }));
    expect(r.reply?.status).toBe(200);
    expect(r.notifies).toHaveLength(1);
    expect(r.notifies[0]?.subscriptionState).toBe('active;expires=300');
    expect((r.notifies[0] as Notify).cseq).toBeGreaterThan((s.notifies[0] as Notify).cseq);

    const u = h.send(subscribe({ watcher: BOB, resource: ALICE, localTag: 'd1', callId: 'c1', inDialog: true, cseq: 3, expires: 0 }));
    expect(u.reply?.status).toBe(200);
    expect(h.header(u, 'Expires')).toBe('0');
    expect(u.notifies[0]?.subscriptionState).toBe('terminated;reason=timeout');
    expect(u.notifies[0]?.terminal).toBe(true);
    expect(u.notifies[0]?.body?.text).toContain('open');
    expect(h.kv.count('subscriptions')).toBe(0);
    expect(h.kv.count('dialogs')).toBe(0);

    // The dialog is gone now.
    const again = h.send(subscribe({ watcher: BOB, resource: ALICE, localTag: 'd1', callId: 'c1', inDialog: true, cseq: 4, expires: 300 }));
    expect(again.reply?.status).toBe(481);
  });

  it('fetches: one terminated NOTIFY with the state, nothing kept', () => {
    const h = new CoreHarness();
    h.send(publish({ aor: ALICE, body: pidf(ALICE, 'open') }));
    const f = h.send(subscribe({ watcher: BOB, resource: ALICE, expires: 0 }));
    expect(f.reply?.status).toBe(200);
    expect(f.notifies).toHaveLength(1);
    expect(f.notifies[0]?.subscriptionState).toBe('terminated;reason=timeout');
    expect(f.notifies[0]?.body?.text).toContain('open');
    expect(h.kv.count('subscriptions')).toBe(0);
    expect(h.kv.count('dialogs')).toBe(0);
  });

  it('expires publications and subscriptions on their own', () => {
    const h = new CoreHarness();
    h.send(subscribe({ watcher: BOB, resource: ALICE, expires: 7200 }));
    h.send(publish({ aor: ALICE, body: pidf(ALICE, 'open'), expires: 120 }));
    expect(h.advance(60)).toHaveLength(0);
    const expired = h.advance(61);
    expect(expired).toHaveLength(1);
    expect(tupleCount(expired[0] as Notify)).toBe(0);
    expect(h.kv.count('publications')).toBe(0);
    const ended = h.advance(7200);
    expect(ended).toHaveLength(1);
    expect(ended[0]?.subscriptionState).toBe('terminated;reason=timeout');
    expect(h.kv.count('subscriptions')).toBe(0);
    expect(h.kv.count('timers')).toBe(0);
    expect(h.kv.count('resources')).toBe(0);
  });

  it('composes the publications of several devices; the newer wins for the same tuple id', () => {
    const h = new CoreHarness();
    h.send(subscribe({ watcher: BOB, resource: ALICE }));
    h.send(publish({ aor: ALICE, body: pidf(ALICE, 'open', undefined, 'desk') }));
    const two = h.send(publish({ aor: ALICE, body: pidf(ALICE, 'closed', undefined, 'mobile') }));
    expect(tupleCount(two.notifies[0] as Notify)).toBe(2);
    const three = h.send(publish({ aor: ALICE, body: pidf(ALICE, 'closed', undefined, 'desk') }));
    const text = (three.notifies[0] as Notify).body?.text ?? '';
    expect(tupleCount(three.notifies[0] as Notify)).toBe(2);
    expect(text).not.toContain('open');
  });

  it('shares one body object between all watchers of the same view', () => {
    const h = new CoreHarness();
    for (let i = 0; i < 5; i++) h.send(subscribe({ watcher: `sip:w${i}@example.com`, resource: ALICE }));
    const p = h.send(publish({ aor: ALICE, body: pidf(ALICE, 'open') }));
    expect(p.notifies).toHaveLength(5);
    const bodies = new Set(p.notifies.map((n) => n.body));
    expect(bodies.size).toBe(1);
    expect(new Set(p.notifies.map((n) => notifyHeaders(n).callId)).size).toBe(5);
  });

  it('does not notify when a modify leaves the composed document unchanged', () => {
    const h = new CoreHarness();
    h.send(subscribe({ watcher: BOB, resource: ALICE }));
    const p = h.send(publish({ aor: ALICE, body: pidf(ALICE, 'open') }));
    const same = h.send(publish({ aor: ALICE, etag: h.header(p, 'SIP-ETag') as string, body: pidf(ALICE, 'open') }));
    expect(same.reply?.status).toBe(200);
    expect(same.notifies).toHaveLength(0);
  });
});

describe('dialog routing', () => {
  it('uses the Record-Route set and the Contact as remote target', () => {
    const h = new CoreHarness();
    const s = h.send(
      subscribe({
        watcher: BOB,
        resource: ALICE,
        recordRoute: ['<sip:10.0.0.1;lr;ftag=x>', '<sip:proxy2.example.com;lr>'],
        contact: '<sip:bob@198.51.100.7:5070;transport=tcp>',
      }),
    );
    const n = s.notifies[0] as Notify;
    expect(notifyHeaders(n).route).toEqual(['<sip:10.0.0.1;lr;ftag=x>', '<sip:proxy2.example.com;lr>']);
    expect(n.requestUri).toBe('sip:bob@198.51.100.7:5070;transport=tcp');
    expect(n.nextHop).toBe('sip:10.0.0.1;lr;ftag=x');
    expect(n.destination).toBeUndefined();
  });

  it('falls back to the packet source for a NATed Contact without route set', () => {
    const h = new CoreHarness();
    const s = h.send(
      subscribe({
        watcher: BOB,
        resource: ALICE,
        contact: '<sip:bob@192.168.1.33:5060>',
        source: { transport: 'udp', address: '203.0.113.9', port: 40312 },
      }),
    );
    const n = s.notifies[0] as Notify;
    expect(n.requestUri).toBe('sip:bob@192.168.1.33:5060');
    expect(n.destination).toEqual({ transport: 'udp', address: '203.0.113.9', port: 40312 });
  });

  it('updates the remote target on a refresh with a new Contact', () => {
    const h = new CoreHarness();
    h.send(subscribe({ watcher: BOB, resource: ALICE, localTag: 'rt', callId: 'crt' }));
    const r = h.send(
      subscribe({ watcher: BOB, resource: ALICE, localTag: 'rt', callId: 'crt', inDialog: true, cseq: 2, contact: '<sip:bob@192.0.2.99:5099>' }),
    );
    expect(r.notifies[0]?.requestUri).toBe('sip:bob@192.0.2.99:5099');
  });

  it('replaces a dialog the watcher re-creates with the same Call-ID and From tag', () => {
    const h = new CoreHarness();
    h.send(subscribe({ watcher: BOB, resource: ALICE, localTag: 'x1', callId: 'same' }));
    h.send(subscribe({ watcher: BOB, resource: ALICE, localTag: 'x2', callId: 'same', cseq: 2 }));
    expect(h.kv.count('subscriptions')).toBe(1);
    const p = h.send(publish({ aor: ALICE, body: pidf(ALICE, 'open') }));
    expect(p.notifies).toHaveLength(1);
    expect(notifyHeaders(p.notifies[0] as Notify).from).toContain('tag=x2');
  });
});
