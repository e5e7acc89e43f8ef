/**
 * The delivery logic of integrations/kamailio/delivery/notify-delivery.ts
 * against a controllable transport (a unit test of ordering, coalescing,
 * link handling and outcome reporting; the real transports have their own
 * tests against real sockets and a real Kamailio).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Notify, NotifyOutcome } from '../../../../../core/contract.js';
import { NotifyDelivery } from '../../../../../integrations/kamailio/delivery/notify-delivery.js';
import type { DeliveryResult, LinkState, NotifyTransport } from '../../../../../integrations/kamailio/delivery/notify-transport.js';

class FakeTransport implements NotifyTransport {
  readonly name = 'sip' as const;
  linkState: LinkState = 'up';
  onLinkChange: ((s: LinkState) => void) | undefined;
  readonly sent: { n: Notify; resolve: (r: DeliveryResult) => void }[] = [];
  send(n: Notify): Promise<DeliveryResult> {
    return new Promise((resolve) => this.sent.push({ n, resolve }));
  }
  async start(): Promise<void> {}
  async close(): Promise<void> {}
  setLink(s: LinkState): void {
    this.linkState = s;
    this.onLinkChange?.(s);
  }
  /** Answer the oldest open send of a dialog (or the oldest overall). */
  answer(r: DeliveryResult, sub?: string): Notify {
    const i = sub === undefined ? 0 : this.sent.findIndex((x) => x.n.subscriptionId === sub);
    const [x] = this.sent.splice(i, 1);
    if (!x) throw new Error('nothing in flight');
    x.resolve(r);
    return x.n;
  }
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
const OK: DeliveryResult = { kind: 'response', status: 200 };

let cseq = 0;
function notify(sub: string, o: Partial<Notify> = {}): Notify {
  cseq += 1;
  return {
    subscriptionId: sub,
    resource: 'sip:alice@example.com',
    event: 'presence',
    requestUri: `sip:${sub}@192.0.2.20`,
    nextHop: `sip:${sub}@192.0.2.20`,
    cseq,
    subscriptionState: 'active;expires=600',
    dialogHeaders: `From: <sip:alice@example.com>;tag=a\r\nTo: <sip:${sub}@example.com>;tag=b\r\nCall-ID: ${sub}\r\nContact: <sip:presence@192.0.2.1>\r\nEvent: presence\r\n`,
    body: { contentType: 'application/pidf+xml', text: `<presence n="${cseq}"/>` },
    terminal: false,
    fullState: true,
    ...o,
  };
}

function setup(maxInFlight = 100): { t: FakeTransport; d: NotifyDelivery; outcomes: NotifyOutcome[] } {
  const t = new FakeTransport();
  const outcomes: NotifyOutcome[] = [];
  const d = new NotifyDelivery(t, { notifyOutcome: (o) => outcomes.push(o) }, { maxInFlight, maxQueued: 1000, linkRetry: { initialMs: 5, maxMs: 20 } });
  return { t, d, outcomes };
}

describe('NotifyDelivery', () => {
  it('keeps one NOTIFY in flight per dialog and sends the next after the final response', async () => {
    const { t, d } = setup();
    const a1 = notify('a', { fullState: false });
    const a2 = notify('a', { fullState: false });
    const b1 = notify('b');
    d.deliver([a1, a2, b1]);
    expect(t.sent.map((x) => x.n.cseq)).toEqual([a1.cseq, b1.cseq]);
    t.answer(OK, 'a');
    await flush();
    expect(t.sent.map((x) => x.n.cseq)).toEqual([b1.cseq, a2.cseq]);
  });

  it('is idle for a dialog only when nothing of it is queued, in flight or sent another way', async () => {
    const { t, d } = setup(1);
    expect(d.isIdle('a')).toBe(true);
    const b1 = notify('b');
    const a1 = notify('a');
    d.deliver([b1, a1]); // global bound 1: b in flight, a queued
    expect(d.isIdle('b')).toBe(false);
    expect(d.isIdle('a')).toBe(false);
    t.answer(OK, 'b');
    await flush();
    expect(d.isIdle('b')).toBe(true);
    expect(d.isIdle('a')).toBe(false); // now in flight
    t.answer(OK, 'a');
    await flush();
    expect(d.isIdle('a')).toBe(true);
    // a NOTIFY Kamailio sends after the SUBSCRIBE's 2xx: busy until its outcome, and later ones wait
    const a2 = notify('a');
    d.holdExternal(a2);
    expect(d.isIdle('a')).toBe(false);
    const a3 = notify('a');
    d.deliver([a3]);
    expect(t.sent).toHaveLength(0);
    d.externalSettled(a2, 200);
    await flush();
    expect(t.sent.map((x) => x.n.cseq)).toEqual([a3.cseq]);
    expect(d.isIdle('a')).toBe(false);
    t.answer(OK, 'a');
    await flush();
    expect(d.isIdle('a')).toBe(true);
  });

  it('skips queued full-state NOTIFYs a newer one supersedes, never partial ones', async () => {
    const { t, d } = setup();
    const first = notify('a');
    d.deliver([first, notify('a'), notify('a'), notify('a')]);
    const newest = notify('a');
    d.deliver([newest]);
    expect(d.stats.superseded).toBe(3);
    t.answer(OK, 'a');
    await flush();
    expect(t.sent.map((x) => x.n.cseq)).toEqual([newest.cseq]);

    const p1 = notify('w', { fullState: false });
    const p2 = notify('w', { fullState: false });
    const p3 = notify('w', { fullState: false });
    d.deliver([p1, p2, p3]);
    for (const expected of [p1, p2, p3]) {
      expect(t.sent.find((x) => x.n.subscriptionId === 'w')?.n.cseq).toBe(expected.cseq);
      t.answer(OK, 'w');
      await flush();
    }
  });

  it('drops what comes after a terminal NOTIFY of the dialog', async () => {
    const { t, d } = setup();
    d.deliver([notify('a')]);
    const end = notify('a', { terminal: true, subscriptionState: 'terminated;reason=timeout' });
    d.deliver([notify('a'), end, notify('a')]);
    expect(d.stats.afterTerminal).toBe(1);
    t.answer(OK, 'a');
    await flush();
    expect(t.sent.map((x) => x.n.cseq)).toEqual([end.cseq]);
  });

  it('reports failures, and a 2xx only after a failure', async () => {
    const { t, d, outcomes } = setup();
    d.deliver([notify('a')]);
    t.answer(OK);
    await flush();
    expect(outcomes).toEqual([]);
    d.deliver([notify('a')]);
    t.answer({ kind: 'response', status: 503, retryAfter: 7 });
    await flush();
    expect(outcomes).toEqual([expect.objectContaining({ subscriptionId: 'a', status: 503, retryAfter: 7, resource: 'sip:alice@example.com' })]);
    d.deliver([notify('a')]);
    t.answer(OK);
    await flush();
    expect(outcomes.map((o) => o.status)).toEqual([503, 200]);
    d.deliver([notify('a')]);
    t.answer(OK);
    await flush();
    expect(outcomes.map((o) => o.status)).toEqual([503, 200]);
    d.deliver([notify('a')]);
    t.answer({ kind: 'response', status: 481 });
    await flush();
    expect(outcomes.map((o) => o.status)).toEqual([503, 200, 481]);
  });

  it('keeps a NOTIFY Kamailio never got, and sends it when the link is back', async () => {
    const { t, d, outcomes } = setup();
    const n = notify('a');
    d.deliver([n]);
    t.linkState = 'down';
    t.answer({ kind: 'link-failure', detail: 'refused' });
    await flush();
    expect(t.sent).toHaveLength(0);
    expect(d.stats.linkFailures).toBe(1);
    expect(d.stats.queued).toBe(1);
    t.setLink('up');
    await flush();
    expect(t.sent.map((x) => x.n.cseq)).toEqual([n.cseq]);
    t.answer(OK);
    await d.idle();
    expect(outcomes).toEqual([]);
  });

  it('sends the newest state, not the failed one, when a newer NOTIFY arrived meanwhile', async () => {
    const { t, d } = setup();
    const old = notify('a');
    d.deliver([old]);
    const newer = notify('a');
    d.deliver([newer]);
    t.answer({ kind: 'link-failure', detail: 'refused' });
    await new Promise((r) => setTimeout(r, 30));
    expect(t.sent.map((x) => x.n.cseq)).toEqual([newer.cseq]);
  });

  it('respects the global in-flight bound', async () => {
    const { t, d } = setup(3);
    d.deliver(['a', 'b', 'c', 'd', 'e'].map((s) => notify(s)));
    expect(t.sent).toHaveLength(3);
    t.answer(OK);
    await flush();
    expect(t.sent).toHaveLength(3);
    expect(d.stats.queued).toBe(1);
  });

  it('delivers per dialog in CSeq order whatever the response order (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ dialog: fc.constantFrom('a', 'b', 'c'), full: fc.boolean() }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.nat(10), { minLength: 40, maxLength: 40 }),
        async (events, picks) => {
          const { t, d } = setup(2);
          const seen = new Map<string, number[]>();
          for (const e of events) d.deliver([notify(e.dialog, { fullState: e.full })]);
          let i = 0;
          while (t.sent.length > 0) {
            const pick = t.sent[(picks[i++ % picks.length] as number) % t.sent.length] as (typeof t.sent)[number];
            const n = t.answer(OK, pick.n.subscriptionId);
            seen.set(n.subscriptionId, [...(seen.get(n.subscriptionId) ?? []), n.cseq]);
            await flush();
          }
          for (const cs of seen.values()) expect([...cs].sort((x, y) => x - y)).toEqual(cs);
          // The newest NOTIFY of every dialog is always delivered.
          for (const dlg of new Set(events.map((e) => e.dialog))) {
            const sentCs = seen.get(dlg) ?? [];
            expect(sentCs.length).toBeGreaterThan(0);
          }
          expect(d.stats.queued).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });
});
