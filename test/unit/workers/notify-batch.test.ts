/**
 * NOTIFY batches crossing from a worker to the main thread as one transferred
 * buffer (workers/notify-batch.ts).
 */
import { describe, expect, it } from 'vitest';
import { serialize } from 'node:v8';
import type { Notify, NotifyBody } from '../../../core/contract.js';
import { packNotifies, unpackNotifies } from '../../../workers/notify-batch.js';

const ALICE = 'sip:alice@example.com';
const BODY: NotifyBody = {
  contentType: 'application/pidf+xml',
  text: '<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple id="t1"><status><basic>open</basic></status></tuple></presence>',
};

function notify(i: number, o: Partial<Notify> = {}): Notify {
  return {
    subscriptionId: `n1.sub${i}`,
    resource: ALICE,
    event: 'presence',
    requestUri: `sip:watcher${i}@192.0.2.${20 + i}:5062;transport=udp`,
    nextHop: `sip:watcher${i}@192.0.2.${20 + i}:5062;transport=udp`,
    cseq: 42,
    subscriptionState: 'active;expires=3599',
    dialogHeaders: `From: <${ALICE}>;tag=ps${i}\r\nTo: <sip:watcher${i}@example.com>;tag=wf${i}\r\nCall-ID: c${i}@192.0.2.20\r\nContact: <sip:192.0.2.1:5060>\r\nEvent: presence\r\n`,
    body: BODY,
    terminal: false,
    fullState: true,
    ...o,
  } as Notify;
}

describe('packNotifies / unpackNotifies', () => {
  it('packs an empty batch as no buffer and unpacks it to []', () => {
    const p = packNotifies([]);
    expect(p).toEqual({ count: 0, buffer: null });
    expect(unpackNotifies(p)).toEqual([]);
  });

  it('round-trips NOTIFYs with and without body, destination and terminal flag', () => {
    const { body: _b, ...noBody } = notify(2, { subscriptionState: 'pending;expires=3600' });
    const batch: Notify[] = [
      notify(1),
      noBody,
      notify(3, { destination: { transport: 'udp', address: '198.51.100.7', port: 40_612 } }),
      notify(4, { subscriptionState: 'terminated;reason=timeout', terminal: true }),
    ];
    const p = packNotifies(batch);
    expect(p.count).toBe(4);
    const back = unpackNotifies(p);
    expect(back).toEqual(batch);
    expect('body' in (back[1] as Notify)).toBe(false);
    expect('destination' in (back[0] as Notify)).toBe(false);
  });

  it('keeps one shared body object shared after unpacking', () => {
    const other: NotifyBody = { contentType: 'application/pidf+xml', text: BODY.text.replace('open', 'closed') };
    const batch = [notify(1), notify(2), notify(3, { body: other }), notify(4)];
    const back = unpackNotifies(packNotifies(batch));
    expect(back[0]?.body).toBe(back[1]?.body);
    expect(back[0]?.body).toBe(back[3]?.body);
    expect(back[2]?.body).not.toBe(back[0]?.body);
    expect(back[2]?.body).toEqual(other);
  });

  it('produces a buffer holding exactly the serialized bytes, usable after a transfer', () => {
    const batch = Array.from({ length: 50 }, (_, i) => notify(i));
    const p = packNotifies(batch);
    expect(p.buffer).toBeInstanceOf(ArrayBuffer);
    expect(p.buffer?.byteLength).toBe(serialize(batch).byteLength);
    // What postMessage does with a transfer list.
    const moved = structuredClone(p, { transfer: p.buffer ? [p.buffer] : [] });
    expect(p.buffer?.byteLength).toBe(0);
    const back = unpackNotifies(moved);
    expect(back).toHaveLength(50);
    expect(back[49]).toEqual(notify(49));
    expect(new Set(back.map((n) => n.body)).size).toBe(1);
  });

  it('keeps non-ASCII text intact', () => {
    const body: NotifyBody = { contentType: 'application/pidf+xml', text: BODY.text.replace('</presence>', '<note xml:lang="de">Zoë im Büro 😀</note></presence>') };
    const back = unpackNotifies(packNotifies([notify(1, { body })]));
    expect(back[0]?.body?.text).toBe(body.text);
  });
});
