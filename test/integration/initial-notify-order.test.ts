/**
 * The NOTIFY that follows a SUBSCRIBE must reach the watcher after the 2xx
 * (seen on loopback: without care, up to half of new subscriptions got the
 * NOTIFY first). Real Kamailio + presenced, both delivery modes, many fresh
 * subscriptions each: the 200 always arrives before the first NOTIFY, and
 * later NOTIFYs of the dialog keep growing CSeqs. And the other side of the
 * same mechanism: the NOTIFY of an in-dialog SUBSCRIBE (refresh) must not
 * overtake an earlier NOTIFY of the dialog that is still unanswered (the
 * result route would send it at once; it queues behind instead).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack-harness.js';
import { header, type SipMessage, UdpSipUa } from '../support/udp-sip-ua.js';

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

const cseqOf = (m: { headers: ReadonlyMap<string, string[]> }): number => Number((m.headers.get('cseq')?.[0] ?? '').split(' ')[0]);

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

    it("a refresh's NOTIFY waits for the dialog's unanswered earlier NOTIFY: CSeqs reach the watcher in order", async () => {
      const cid = 'order-refresh';
      const isOurs = (m: SipMessage): boolean => m.startLine.startsWith('NOTIFY') && header(m, 'call-id') === cid;
      const from = ua.received.length;
      ua.send(
        `SUBSCRIBE sip:alice@127.0.0.1:${stack.sipPort} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-rr1;rport\r\n` +
          `From: <sip:wr@127.0.0.1>;tag=wr\r\nTo: <sip:alice@127.0.0.1>\r\nCall-ID: ${cid}\r\nCSeq: 1 SUBSCRIBE\r\n` +
          `Contact: <sip:wr@127.0.0.1:${ua.port}>\r\nMax-Forwards: 70\r\nEvent: presence\r\nExpires: 300\r\nContent-Length: 0\r\n\r\n`,
      );
      const ok = await ua.waitFor((m) => m.startLine.startsWith('SIP/2.0 200') && header(m, 'call-id') === cid, 5000, from);
      const first = await ua.waitFor(isOurs, 5000, from);
      // Hold the answer to the next NOTIFY (a PUBLISH's): it stays in flight, Kamailio retransmits it.
      ua.holdNotifyAnswers = true;
      const mark = ua.received.length;
      ua.send(publishMsg(ua, stack.sipPort, 1000 + (delivery === 'sip' ? 2 : 4)));
      const pubNotify = await ua.waitFor((m) => isOurs(m) && cseqOf(m) > cseqOf(first), 5000, mark);
      // In-dialog refresh: Request-URI = presenced's Contact, Route = the Record-Route of the 200.
      const target = (header(ok, 'contact') ?? '').replace(/^.*<([^>]+)>.*$/, '$1');
      const routes = ok.headers.get('record-route') ?? [];
      ua.send(
        `SUBSCRIBE ${target} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-rr2;rport\r\n` +
          routes.map((r) => `Route: ${r}\r\n`).join('') +
          `From: <sip:wr@127.0.0.1>;tag=wr\r\nTo: ${header(ok, 'to')}\r\nCall-ID: ${cid}\r\nCSeq: 2 SUBSCRIBE\r\n` +
          `Contact: <sip:wr@127.0.0.1:${ua.port}>\r\nMax-Forwards: 70\r\nEvent: presence\r\nExpires: 300\r\nContent-Length: 0\r\n\r\n`,
      );
      await ua.waitFor((m) => m.startLine.startsWith('SIP/2.0 200') && header(m, 'call-id') === cid && (header(m, 'cseq') ?? '').startsWith('2 '), 5000, mark);
      // Past Kamailio's first retransmission of the held NOTIFY (T1 = 500 ms): still nothing newer may have come.
      await new Promise((r) => setTimeout(r, 900));
      const newer = ua.received.slice(mark).filter((m) => isOurs(m) && cseqOf(m) > cseqOf(pubNotify));
      expect(newer.map((m) => cseqOf(m)), 'a NOTIFY sent while an earlier one of the dialog was unanswered').toEqual([]);
      ua.releaseHeld();
      const refreshNotify = await ua.waitFor((m) => isOurs(m) && cseqOf(m) > cseqOf(pubNotify), 5000, mark);
      expect(header(refreshNotify, 'subscription-state')).toMatch(/^active;expires=\d+$/);
      // in receive order (retransmissions repeat a CSeq), never lower than one already seen
      const seq = ua.received.slice(from).filter(isOurs).map((m) => cseqOf(m));
      for (let i = 1; i < seq.length; i++) expect(seq[i], `CSeqs in order: ${seq.join(',')}`).toBeGreaterThanOrEqual(seq[i - 1] as number);
      expect(stack.front.stats.queuedBehind).toBeGreaterThanOrEqual(1);
    }, 30_000);
  });
}
