/**
 * The NOTIFY that follows a SUBSCRIBE must reach the watcher after the 2xx
 * (seen on loopback: without care, up to half of new subscriptions got the
 * NOTIFY first). Real Kamailio + presenced, both delivery modes, many fresh
 * subscriptions each: the 200 always arrives before the first NOTIFY, and
 * later NOTIFYs of the dialog keep growing CSeqs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack-harness.js';
import { header, UdpSipUa } from '../support/udp-sip-ua.js';

function subscribeMsg(ua: UdpSipUa, proxyPort: number, i: number): string {
  return (
    `SUBSCRIBE sip:alice@127.0.0.1:${proxyPort} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-ord${i};rport\r\n` +
    `From: <sip:w${i}@127.0.0.1>;tag=w${i}\r\nTo: <sip:alice@127.0.0.1>\r\nCall-ID: order-${i}\r\nCSeq: 1 SUBSCRIBE\r\n` +
    `Contact: <sip:w${i}@127.0.0.1:${ua.port}>\r\nMax-Forwards: 70\r\nEvent: presence\r\nExpires: 300\r\nContent-Length: 0\r\n\r\n`
  );
}

function publishMsg(ua: UdpSipUa, proxyPort: number, k: number): string {
  const body = `<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@127.0.0.1"><tuple id="t1"><status><basic>${k % 2 ? 'open' : 'closed'}</basic></status><note>k${k}</note></tuple></presence>`;
  return (
    `PUBLISH sip:alice@127.0.0.1:${proxyPort} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-pub${k};rport\r\n` +
    `From: <sip:alice@127.0.0.1>;tag=a${k}\r\nTo: <sip:alice@127.0.0.1>\r\nCall-ID: order-pub-${k}\r\nCSeq: 1 PUBLISH\r\nMax-Forwards: 70\r\n` +
    `Event: presence\r\nExpires: 300\r\nContent-Type: application/pidf+xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

for (const delivery of ['sip', 'rpc'] as const) {
  describe(`initial NOTIFY after the 2xx (${delivery} delivery)`, () => {
    let stack: Stack;
    let ua: UdpSipUa;
    beforeAll(async () => {
      stack = await startStack({ delivery });
      ua = new UdpSipUa(stack.sipPort);
      await ua.start();
    }, 60_000);
    afterAll(async () => {
      ua?.close();
      await stack?.stop();
    });

    it('30 new subscriptions: every 200 precedes its first NOTIFY; a PUBLISH then reaches all with a higher CSeq', async () => {
      const N = 30;
      for (let i = 0; i < N; i++) ua.send(subscribeMsg(ua, stack.sipPort, i));
      for (let i = 0; i < N; i++) {
        const cid = `order-${i}`;
        const notify = await ua.waitFor((m) => m.startLine.startsWith('NOTIFY') && header(m, 'call-id') === cid);
        const idxNotify = ua.received.indexOf(notify);
        const idxOk = ua.received.findIndex((m) => m.startLine.startsWith('SIP/2.0 200') && header(m, 'call-id') === cid);
        expect(idxOk, `200 for ${cid} before its NOTIFY`).toBeGreaterThanOrEqual(0);
        expect(idxOk).toBeLessThan(idxNotify);
        expect(header(notify, 'subscription-state')).toMatch(/^active;expires=\d+$/);
        expect(header(notify, 'to')).toContain(`tag=w${i}`);
      }
      const before = ua.received.length;
      ua.send(publishMsg(ua, stack.sipPort, 1));
      for (let i = 0; i < N; i++) {
        const cid = `order-${i}`;
        const n2 = await ua.waitFor((m) => m.startLine.startsWith('NOTIFY') && header(m, 'call-id') === cid && m.body.includes('<basic>open</basic>'), 5000, before);
        const first = ua.received.find((m) => m.startLine.startsWith('NOTIFY') && header(m, 'call-id') === cid) ;
        expect(Number(header(n2, 'cseq')?.split(' ')[0])).toBeGreaterThan(Number(header(first!, 'cseq')?.split(' ')[0]));
      }
      expect(stack.front.stats.externalResults).toBeGreaterThanOrEqual(N);
      expect(stack.front.stats.externalTimeouts).toBe(0);
    }, 60_000);
  });
}
