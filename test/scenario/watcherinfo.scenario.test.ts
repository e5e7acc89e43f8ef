/** Alice watches who watches her (RFC 3857/3858): full, then partial documents, versions +1 each. */
import { describe, expect, it } from 'vitest';
import type { Notify } from '../../core/contract.js';
import { CoreHarness } from '../support/core-harness.js';
import { publish, pidf, subscribe } from '../support/sip-requests.js';

const ALICE = 'sip:alice@example.com';
const BOB = 'sip:bob@example.com';
const CAROL = 'sip:carol@example.com';

interface Winfo {
  version: number;
  state: string;
  watchers: { id: string; status: string; event: string; uri: string }[];
}

function winfo(n: Notify | undefined): Winfo {
  const text = n?.body?.text ?? '';
  expect(n?.body?.contentType).toBe('application/watcherinfo+xml');
  const head = /<watcherinfo [^>]*version="(\d+)" state="(\w+)"/.exec(text);
  if (!head) throw new Error(`not watcherinfo: ${text}`);
  const watchers = [...text.matchAll(/<watcher id="([^"]+)" status="(\w+)" event="(\w+)"[^>]*>([^<]+)<\/watcher>/g)].map((m) => ({
    id: m[1] as string,
    status: m[2] as string,
    event: m[3] as string,
    uri: m[4] as string,
  }));
  return { version: Number(head[1]), state: head[2] as string, watchers };
}

function winfoNotifies(ns: readonly Notify[]): Notify[] {
  return ns.filter((n) => n.event === 'presence.winfo');
}

describe('presence.winfo', () => {
  it('reports every watcher subscribe, refresh and termination', () => {
    const h = new CoreHarness();
    h.send(subscribe({ watcher: BOB, resource: ALICE, localTag: 'b1', callId: 'bob-call', expires: 600 }));
    const own = h.send(subscribe({ watcher: ALICE, resource: ALICE, event: 'presence.winfo', localTag: 'w1', callId: 'winfo-call' }));
    expect(own.reply?.status).toBe(200);
    const full = winfo(own.notifies[0]);
    expect(full).toMatchObject({ version: 0, state: 'full' });
    expect(full.watchers).toEqual([expect.objectContaining({ status: 'active', event: 'subscribe', uri: BOB })]);

    const carol = h.send(subscribe({ watcher: CAROL, resource: ALICE, localTag: 'c1', callId: 'carol-call' }));
    const p1 = winfo(winfoNotifies(carol.notifies)[0]);
    expect(p1).toMatchObject({ version: 1, state: 'partial' });
    expect(p1.watchers).toEqual([expect.objectContaining({ status: 'active', event: 'subscribe', uri: CAROL })]);

    const refresh = h.send(subscribe({ watcher: BOB, resource: ALICE, localTag: 'b1', callId: 'bob-call', inDialog: true, cseq: 2, expires: 600 }));
    const p2 = winfo(winfoNotifies(refresh.notifies)[0]);
    expect(p2.version).toBe(2);
    expect(p2.watchers.map((w) => w.uri)).toEqual([BOB]);

    const bye = h.send(subscribe({ watcher: CAROL, resource: ALICE, localTag: 'c1', callId: 'carol-call', inDialog: true, cseq: 2, expires: 0 }));
    const p3 = winfo(winfoNotifies(bye.notifies)[0]);
    expect(p3.version).toBe(3);
    expect(p3.watchers).toEqual([expect.objectContaining({ status: 'terminated', event: 'timeout', uri: CAROL })]);

    // The winfo refresh gets full state again, with the next version.
    const wr = h.send(subscribe({ watcher: ALICE, resource: ALICE, event: 'presence.winfo', localTag: 'w1', callId: 'winfo-call', inDialog: true, cseq: 2 }));
    const f2 = winfo(wr.notifies[0]);
    expect(f2).toMatchObject({ version: 4, state: 'full' });
    expect(f2.watchers.map((w) => w.uri)).toEqual([BOB]);

    // Bob's subscription times out.
    const timeouts = winfoNotifies(h.advance(700));
    expect(timeouts.length).toBeGreaterThanOrEqual(1);
    const p5 = winfo(timeouts[0]);
    expect(p5.version).toBe(5);
    expect(p5.watchers).toEqual([expect.objectContaining({ status: 'terminated', event: 'timeout', uri: BOB })]);
  });

  it('is not disturbed by publications', () => {
    const h = new CoreHarness();
    h.send(subscribe({ watcher: ALICE, resource: ALICE, event: 'presence.winfo' }));
    const p = h.send(publish({ aor: ALICE, body: pidf(ALICE, 'open') }));
    expect(winfoNotifies(p.notifies)).toHaveLength(0);
  });

  it('uses the asserted identity, not the From, to decide who the owner is', () => {
    const h = new CoreHarness();
    const spoof = h.send(subscribe({ watcher: ALICE, resource: ALICE, event: 'presence.winfo', identity: `<${BOB}>` }));
    expect(spoof.reply?.status).toBe(403);
  });
});

describe('NOTIFY outcomes (RFC 6665 §4.2.2)', () => {
  function setup(maxRetries = 2): { h: CoreHarness; first: Notify } {
    const h = new CoreHarness({ notifyRetry: { maxRetries, backoffSeconds: [2, 10] } });
    const s = h.send(subscribe({ watcher: BOB, resource: ALICE, localTag: 'o1', callId: 'oc' }));
    return { h, first: s.notifies[0] as Notify };
  }
  const outcome = (n: Notify, status: number) => ({ subscriptionId: n.subscriptionId, resource: n.resource, event: n.event, cseq: n.cseq, status });

  it('481 removes the subscription at once', () => {
    const { h, first } = setup();
    h.send(subscribe({ watcher: ALICE, resource: ALICE, event: 'presence.winfo' }));
    const r = h.outcome(outcome(first, 481));
    expect(h.kv.count('subscriptions')).toBe(1); // only the winfo subscription is left
    expect(winfo(winfoNotifies(r.notifies)[0]).watchers[0]).toMatchObject({ status: 'terminated', uri: BOB });
  });

  it('408 and 5xx are retried with the current state, then given up', () => {
    const { h, first } = setup(2);
    expect(h.outcome(outcome(first, 408)).notifies).toHaveLength(0);
    expect(h.kv.count('subscriptions')).toBe(1);
    const retry1 = h.advance(2);
    expect(retry1).toHaveLength(1);
    expect(retry1[0]?.cseq).toBeGreaterThan(first.cseq);
    h.outcome(outcome(retry1[0] as Notify, 503));
    const retry2 = h.advance(10);
    expect(retry2).toHaveLength(1);
    h.outcome(outcome(retry2[0] as Notify, 500));
    expect(h.kv.count('subscriptions')).toBe(0);
  });

  it('a 2xx after a failure resets the retry state', () => {
    const { h, first } = setup(1);
    h.outcome(outcome(first, 408));
    const retry = h.advance(2);
    h.outcome(outcome(retry[0] as Notify, 200));
    const p = h.send(publish({ aor: ALICE, body: pidf(ALICE, 'open') }));
    h.outcome(outcome(p.notifies[0] as Notify, 408));
    expect(h.kv.count('subscriptions')).toBe(1); // failures were reset, so one more is tolerated
  });
});
