/**
 * presenced end to end: real Kamailio 5.6 (example config) + presenced
 * (worker pool, LMDB) on free loopback ports, driven by sipp and a tiny UDP
 * UA, for both NOTIFY delivery modes (SIP relay and tm.t_uac_wait over
 * JSON-RPC). Assertions are on what the clients saw on the wire (replies,
 * NOTIFY headers and bodies, order) and on presenced's store afterwards.
 *
 * Every step is bounded: sipp has -timeout (+ a hard kill), waits poll a
 * condition with a deadline, each test has its own timeout, and every stack
 * is stopped in afterAll.
 */
import dgram from 'node:dgram';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack-harness.js';
import { type SippMessage, type SippResult, headerValue, runSipp } from '../support/sipp-process.js';
import { pidf, publish } from '../support/sip-requests.js';
import { type SipMessage, header, parseSip } from '../support/udp-sip-ua.js';
import { sleep, waitFor } from '../support/wait.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const scenario = (name: string): string => path.join(here, 'sipp', name);

function sippText(r: SippResult): string {
  return `sipp exit ${r.exitCode} signal ${r.signal}\n${r.errors}\n${r.stderr}\n${r.stdout.slice(-1500)}\n${r.messages
    .map((m) => `${m.direction}: ${m.raw.toString('utf8')}`)
    .join('\n---\n')}`;
}

const isResponse = (m: SippMessage, code?: number): boolean =>
  m.startLine.startsWith('SIP/2.0 ') && (code === undefined || m.startLine.startsWith(`SIP/2.0 ${code} `));
const isRequest = (m: SippMessage, method: string): boolean => m.startLine.startsWith(`${method} `);
const received = (r: SippResult): SippMessage[] => r.messages.filter((m) => m.direction === 'received');
const cseqOf = (m: SippMessage): number => Number((headerValue(m, 'CSeq') ?? '').split(/\s+/)[0]);


/**
 * A watcher UA on its own UDP socket (loopback): sends SUBSCRIBE/PUBLISH
 * through Kamailio, records everything it receives and answers NOTIFYs as
 * `answer` says (a status code, or null = stay silent).
 */
class Watcher {
  readonly received: SipMessage[] = [];
  answer: (m: SipMessage) => number | null = () => 200;
  port = 0;
  private readonly sock = dgram.createSocket('udp4');
  private branch = 0;

  constructor(private readonly proxyPort: number) {}

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.sock.bind(0, '127.0.0.1', () => resolve()));
    this.port = this.sock.address().port;
    this.sock.on('message', (buf) => this.onMessage(parseSip(buf.toString('utf8'))));
    return this;
  }

  private onMessage(m: SipMessage): void {
    this.received.push(m);
    if (!m.startLine.startsWith('NOTIFY ')) return;
    const status = this.answer(m);
    if (status === null) return;
    const lines = (name: string, label: string): string => (m.headers.get(name) ?? []).map((v) => `${label}: ${v}\r\n`).join('');
    const to = header(m, 'to') ?? '';
    this.sock.send(
      `SIP/2.0 ${status} ${status === 200 ? 'OK' : 'Test Answer'}\r\n${lines('via', 'Via')}${lines('from', 'From')}` +
        `To: ${to}${/;tag=/.test(to) ? '' : ';tag=w' + this.port}\r\n${lines('call-id', 'Call-ID')}${lines('cseq', 'CSeq')}Content-Length: 0\r\n\r\n`,
      this.proxyPort,
      '127.0.0.1',
    );
  }

  send(raw: string): void {
    this.sock.send(raw, this.proxyPort, '127.0.0.1');
  }

  subscribe(o: { user: string; watcher: string; callId: string; expires?: number; cseq?: number; toTag?: string; requestUri?: string }): void {
    const ruri = o.requestUri ?? `sip:${o.user}@example.com`;
    this.send(
      `SUBSCRIBE ${ruri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${this.port};branch=z9hG4bK-w${this.port}-${++this.branch};rport\r\n` +
        `Max-Forwards: 70\r\nFrom: <sip:${o.watcher}@example.com>;tag=${o.callId}-ft\r\nTo: <sip:${o.user}@example.com>${o.toTag ? `;tag=${o.toTag}` : ''}\r\n` +
        `Call-ID: ${o.callId}\r\nCSeq: ${o.cseq ?? 1} SUBSCRIBE\r\nContact: <sip:${o.watcher}@127.0.0.1:${this.port}>\r\n` +
        `Event: presence\r\nExpires: ${o.expires ?? 600}\r\nContent-Length: 0\r\n\r\n`,
    );
  }

  publish(o: { user: string; callId: string; basic: 'open' | 'closed'; note: string }): void {
    const body =
      `<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:${o.user}@example.com">` +
      `<tuple id="t1"><status><basic>${o.basic}</basic></status><note>${o.note}</note></tuple></presence>`;
    this.send(
      `PUBLISH sip:${o.user}@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${this.port};branch=z9hG4bK-w${this.port}-${++this.branch};rport\r\n` +
        `Max-Forwards: 70\r\nFrom: <sip:${o.user}@example.com>;tag=${o.callId}-pt\r\nTo: <sip:${o.user}@example.com>\r\nCall-ID: ${o.callId}\r\n` +
        `CSeq: 1 PUBLISH\r\nEvent: presence\r\nExpires: 600\r\nContent-Type: application/pidf+xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }

  /** The first message (from index `from` on) matching, waiting at most `timeoutMs`. */
  async waitFor(match: (m: SipMessage) => boolean, what: string, timeoutMs = 8000, from = 0): Promise<SipMessage> {
    let found: SipMessage | undefined;
    await waitFor(() => (found = this.received.slice(from).find(match)) !== undefined, timeoutMs, () => `${what} (got: ${this.received.map((m) => `${m.startLine} [${header(m, 'call-id')} ${header(m, 'cseq')}]`).join(' | ')})`);
    return found as SipMessage;
  }

  notifies(callId: string, from = 0): SipMessage[] {
    return this.received.slice(from).filter((m) => m.startLine.startsWith('NOTIFY ') && header(m, 'call-id') === callId);
  }

  reply(callId: string, status: number, from = 0): Promise<SipMessage> {
    return this.waitFor((m) => m.startLine.startsWith(`SIP/2.0 ${status} `) && header(m, 'call-id') === callId, `${status} for ${callId}`, 8000, from);
  }

  notify(callId: string, what: string, from = 0, extra: (m: SipMessage) => boolean = () => true, timeoutMs = 8000): Promise<SipMessage> {
    return this.waitFor((m) => m.startLine.startsWith('NOTIFY ') && header(m, 'call-id') === callId && extra(m), what, timeoutMs, from);
  }

  close(): void {
    this.sock.close();
  }
}

const cseqOfUa = (m: SipMessage): number => Number((header(m, 'cseq') ?? '').split(/\s+/)[0]);

let unique = 0;
/** A user part unique per test run and call (resources never collide across tests or modes). */
const user = (name: string): string => `${name}-${process.pid}-${++unique}`;

describe.each(['sip', 'rpc'] as const)('presence end to end (%s delivery)', (delivery) => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      delivery,
      config: { notifyRetry: { maxRetries: 2, backoffSeconds: [1] } },
    });
    // startStack starts Kamailio after presenced's NOTIFY transport: the link goes 'up' only at the
    // next keepalive answer (≤ 0.5 s later); until then NOTIFYs are held (and coalesced)
    await waitFor(() => stack.transport.linkState === 'up', 10_000, "the NOTIFY transport's link to Kamailio");
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  }, 30_000);

  const sipp = (file: string, keys: Record<string, string | number>, timeoutSec = 10, transport: 'u1' | 't1' = 'u1'): Promise<SippResult> =>
    runSipp({ scenario: scenario(file), targetPort: stack.sipPort, keys, timeoutSec, transport });

  describe('PUBLISH', () => {
    it('lifecycle with ETags: initial 200+ETag+Expires, refresh → new ETag, modify, stale If-Match → 412, remove, removed ETags → 412', async () => {
      const u = user('pl');
      const pubsBefore = stack.service.storeStats().entries.publications;
      // a watcher of the presentity sees the effect of the lifecycle
      const ua = await new Watcher(stack.sipPort).start();
      const cid = `${u}-watch`;
      let r: SippResult;
      try {
        ua.subscribe({ user: u, watcher: user('w'), callId: cid });
        await ua.notify(cid, 'the initial (empty) NOTIFY');
        r = await sipp('e2e-publish-lifecycle.xml', { user: u, note1: 'first', note2: 'second' });
        expect(r.exitCode, sippText(r)).toBe(0);
        // intermediate states may be coalesced; the watcher saw a published tuple and ends with none (removed)
        await waitFor(() => {
          const ns = ua.notifies(cid);
          return ns.some((m) => m.body.includes('<tuple')) && !(ns[ns.length - 1] as SipMessage).body.includes('<tuple');
        }, 8000, () => `the watcher to see the publication come and go; front ${JSON.stringify(stack.front.stats)} delivery ${JSON.stringify(stack.front.delivery.stats)}; got ${ua.received.map((m) => `${m.startLine.slice(0, 14)} ${header(m, 'cseq')} ${header(m, 'call-id')} ${m.body.includes('<tuple') ? 'tuple' : 'empty'}`).join(' | ')}`);
        const cseqs = ua.notifies(cid).map(cseqOfUa);
        expect(cseqs).toEqual([...cseqs].sort((a, b) => a - b));
        expect(new Set(cseqs).size).toBe(cseqs.length);
      } finally {
        ua.close();
      }
      const replies = received(r).filter((m) => isResponse(m));
      expect(replies.map((m) => m.startLine.split(' ')[1])).toEqual(['200', '200', '200', '412', '200', '412', '412']);
      const etags = [0, 1, 2, 4].map((i) => headerValue(replies[i] as SippMessage, 'SIP-ETag') ?? '');
      for (const e of etags) expect(e).toMatch(/^n1\.[A-Za-z0-9_-]{16}$/);
      expect(new Set(etags).size).toBe(4);
      // the If-Match values the scenario sent are the ETags it was given
      const sent = r.messages.filter((m) => m.direction === 'sent' && isRequest(m, 'PUBLISH'));
      expect(sent.map((m) => headerValue(m, 'SIP-If-Match'))).toEqual([undefined, etags[0], etags[1], etags[0], etags[2], etags[2], etags[3]]);
      expect(replies.map((m) => headerValue(m, 'Expires'))).toEqual(['3600', '1800', '3600', undefined, '0', undefined, undefined]);
      // the To-tag of each reply is Kamailio's, one per transaction
      expect(new Set(replies.map((m) => /;tag=([^;>\s]+)/.exec(headerValue(m, 'To') ?? '')?.[1])).size).toBe(replies.length);
      expect(stack.service.storeStats().entries.publications).toBe(pubsBefore);
    }, 30_000);

    it('refusals: 489 + Allow-Events, 415 + Accept, 400 malformed XML, 400 DOCTYPE, 423 + Min-Expires, 400 without body and If-Match; nothing stored', async () => {
      const before = stack.service.storeStats().entries;
      const r = await sipp('e2e-publish-refusals.xml', { user: user('pr') });
      expect(r.exitCode, sippText(r)).toBe(0);
      const replies = received(r).filter((m) => isResponse(m));
      expect(replies.map((m) => m.startLine)).toEqual([
        'SIP/2.0 489 Bad Event',
        'SIP/2.0 415 Unsupported Media Type',
        'SIP/2.0 400 Bad Request',
        'SIP/2.0 400 Bad Request',
        'SIP/2.0 423 Interval Too Brief',
        'SIP/2.0 400 Bad Request',
      ]);
      expect(headerValue(replies[0] as SippMessage, 'Allow-Events')).toMatch(/\bpresence\b/);
      expect(headerValue(replies[1] as SippMessage, 'Accept')).toContain('application/pidf+xml');
      expect(headerValue(replies[4] as SippMessage, 'Min-Expires')).toBe('60');
      for (const m of replies) expect(headerValue(m, 'SIP-ETag')).toBeUndefined();
      const after = stack.service.storeStats().entries;
      expect(after.publications).toBe(before.publications);
      expect(after.states).toBe(before.states);
    }, 30_000);
  });

  describe('SUBSCRIBE', () => {
    it.each(['u1', 't1'] as const)('SUBSCRIBE → 200 → NOTIFY with the published PIDF; refresh in the dialog; unsubscribe → terminated;reason=timeout; gone from the store (sipp -t %s)', async (transport) => {
      const u = user('sl');
      const p = await sipp('e2e-publish.xml', { user: u, basic: 'open', note: 'in the office' });
      expect(p.exitCode, sippText(p)).toBe(0);
      const before = stack.service.storeStats().entries;
      const r = await sipp('e2e-subscribe-lifecycle.xml', { user: u, watcher: user('w') }, 15, transport);
      expect(r.exitCode, sippText(r)).toBe(0);
      const got = received(r);
      // on the wire: 200, NOTIFY, 200, NOTIFY, 200, NOTIFY (sipp already enforced it; keep it visible)
      expect(got.map((m) => (isResponse(m) ? m.startLine.split(' ')[1] : m.startLine.split(' ')[0]))).toEqual(['200', 'NOTIFY', '200', 'NOTIFY', '200', 'NOTIFY']);
      const ok1 = got[0] as SippMessage;
      const notifies = got.filter((m) => isRequest(m, 'NOTIFY'));
      const [n1, n2, n3] = notifies as [SippMessage, SippMessage, SippMessage];
      const ourTag = /;tag=([^;>\s]+)/.exec(headerValue(ok1, 'To') ?? '')?.[1];
      expect(ourTag).toBeTruthy();
      const contact = headerValue(ok1, 'Contact') ?? '';
      expect(contact).toBe(`<sip:presence@127.0.0.1:${stack.sipPort}>`);
      for (const n of notifies) {
        // dialog identity: our From-tag is the 200's To-tag; To is the watcher with its tag; Contact as in the 200
        expect(headerValue(n, 'From')).toContain(`;tag=${ourTag}`);
        expect(headerValue(n, 'To')).toBe(headerValue(ok1, 'From'));
        expect(headerValue(n, 'Call-ID')).toBe(headerValue(ok1, 'Call-ID'));
        expect(headerValue(n, 'Contact')).toBe(contact);
        expect(headerValue(n, 'Event')).toBe('presence');
        // the Request-URI is the watcher's Contact
        const sub = r.messages.find((m) => m.direction === 'sent' && isRequest(m, 'SUBSCRIBE')) as SippMessage;
        expect(n.startLine).toBe(`NOTIFY ${(headerValue(sub, 'Contact') ?? '').replace(/^<|>$/g, '')} SIP/2.0`);
      }
      expect(cseqOf(n1)).toBeLessThan(cseqOf(n2));
      expect(cseqOf(n2)).toBeLessThan(cseqOf(n3));
      expect(headerValue(n1, 'Subscription-State')).toMatch(/^active;expires=(59\d|600)$/);
      expect(headerValue(n2, 'Subscription-State')).toMatch(/^active;expires=(59\d|600)$/);
      expect(headerValue(n3, 'Subscription-State')).toBe('terminated;reason=timeout');
      for (const n of [n1, n2]) {
        expect(headerValue(n, 'Content-Type')).toBe('application/pidf+xml');
        const body = n.body.toString('utf8');
        expect(body).toContain('<basic>open</basic>');
        expect(body).toContain('in the office');
        expect(body).toContain(`entity="sip:${u}@example.com"`);
      }
      // the in-dialog requests went to the 200's Contact with its To-tag
      const subs = r.messages.filter((m) => m.direction === 'sent' && isRequest(m, 'SUBSCRIBE'));
      expect(subs.map((m) => m.startLine)).toEqual([
        `SUBSCRIBE sip:${u}@example.com SIP/2.0`,
        `SUBSCRIBE sip:presence@127.0.0.1:${stack.sipPort} SIP/2.0`,
        `SUBSCRIBE sip:presence@127.0.0.1:${stack.sipPort} SIP/2.0`,
      ]);
      // the subscription is gone from presenced's store
      await stack.service.idle();
      const after = stack.service.storeStats().entries;
      expect(after.subscriptions).toBe(before.subscriptions);
      expect(after.dialogs).toBe(before.dialogs);
    }, 30_000);

    it('fetch (initial SUBSCRIBE with Expires: 0) → 200 → one NOTIFY terminated;reason=timeout with the current state; nothing kept', async () => {
      const u = user('fetch');
      const p = await sipp('e2e-publish.xml', { user: u, basic: 'closed', note: 'fetched' });
      expect(p.exitCode, sippText(p)).toBe(0);
      const before = stack.service.storeStats().entries;
      const ua = await new Watcher(stack.sipPort).start();
      try {
        const cid = `${u}-fetch`;
        ua.subscribe({ user: u, watcher: user('w'), callId: cid, expires: 0 });
        const ok = await ua.reply(cid, 200);
        expect(header(ok, 'expires')).toBe('0');
        const n = await ua.notify(cid, 'the fetch NOTIFY');
        expect(ua.received.indexOf(ok)).toBeLessThan(ua.received.indexOf(n));
        expect(header(n, 'subscription-state')).toBe('terminated;reason=timeout');
        expect(n.body).toContain('<basic>closed</basic>');
        expect(n.body).toContain('fetched');
        await stack.front.delivery.idle();
        expect(ua.notifies(cid)).toHaveLength(1);
        const after = stack.service.storeStats().entries;
        expect([after.subscriptions, after.dialogs]).toEqual([before.subscriptions, before.dialogs]);
      } finally {
        ua.close();
      }
    }, 30_000);
  });

  describe('watcher info', () => {
    it('the owner gets a full watcherinfo document with the existing watcher, then a partial one (version + 1) for a new watcher', async () => {
      const u = user('wi');
      const ua = await new Watcher(stack.sipPort).start();
      try {
        const w1 = user('wi-w1');
        const w2 = user('wi-w2');
        const c1 = `${w1}-call`;
        const c2 = `${w2}-call`;
        ua.subscribe({ user: u, watcher: w1, callId: c1 });
        await ua.reply(c1, 200);
        await ua.notify(c1, 'first NOTIFY to the existing watcher');
        const subs = stack.service.storeStats().entries.subscriptions;
        let exited = false;
        const owner = sipp('e2e-winfo-owner.xml', { user: u }, 20).finally(() => {
          exited = true;
        });
        // once the owner's winfo subscription exists (its full NOTIFY is made in the same event), another
        // watcher subscribes; the partial NOTIFY that causes cannot overtake the full one (per-dialog order)
        await waitFor(() => exited || stack.service.storeStats().entries.subscriptions > subs, 10_000, "the owner's winfo subscription");
        ua.subscribe({ user: u, watcher: w2, callId: c2 });
        await ua.reply(c2, 200);
        const r = await owner;
        expect(r.exitCode, sippText(r)).toBe(0);
        const [full, partial, last] = received(r).filter((m) => isRequest(m, 'NOTIFY')) as [SippMessage, SippMessage, SippMessage];
        const version = (m: SippMessage): number => Number(/<watcherinfo [^>]*version="(\d+)"/.exec(m.body.toString('utf8'))?.[1]);
        for (const m of [full, partial]) {
          expect(headerValue(m, 'Content-Type')).toBe('application/watcherinfo+xml');
          expect(headerValue(m, 'Event')).toBe('presence.winfo');
          expect(m.body.toString('utf8')).toContain(`<watcher-list resource="sip:${u}@example.com" package="presence">`);
        }
        const fullBody = full.body.toString('utf8');
        expect(fullBody).toMatch(/state="full"/);
        expect(fullBody).toMatch(new RegExp(`<watcher [^>]*status="active"[^>]*>sip:${w1}@example\\.com</watcher>`));
        expect(fullBody).not.toContain(w2);
        const partialBody = partial.body.toString('utf8');
        expect(partialBody).toMatch(/state="partial"/);
        expect(partialBody).toMatch(new RegExp(`<watcher [^>]*status="active"[^>]*event="subscribe"[^>]*>sip:${w2}@example\\.com</watcher>`));
        expect(partialBody).not.toContain(w1);
        expect(version(partial)).toBe(version(full) + 1);
        expect(cseqOf(partial)).toBeGreaterThan(cseqOf(full));
        expect(headerValue(last, 'Subscription-State')).toMatch(/^terminated/);
      } finally {
        ua.close();
      }
    }, 40_000);

    it('refusals: a non-owner winfo SUBSCRIBE → 403; no Contact → 400; Event: foo → 489; Expires 10 → 423; Accept text/plain → 406; unknown dialog → 481; bad Expires → 400', async () => {
      const before = stack.service.storeStats().entries;
      const r = await sipp('e2e-subscribe-refusals.xml', { user: user('sr'), watcher: user('intruder') });
      expect(r.exitCode, sippText(r)).toBe(0);
      const codes = received(r).filter((m) => isResponse(m)).map((m) => Number(m.startLine.split(' ')[1]));
      expect(codes).toEqual([403, 400, 489, 423, 406, 481, 400]);
      expect(received(r).filter((m) => isRequest(m, 'NOTIFY'))).toEqual([]);
      const after = stack.service.storeStats().entries;
      expect(after.subscriptions).toBe(before.subscriptions);
      expect(after.dialogs).toBe(before.dialogs);
    }, 30_000);
  });

  describe('failures', () => {
    it('a watcher answering 481 to the first NOTIFY (sent by Kamailio after the 2xx) loses its subscription', async () => {
      const u = user('f481a');
      const ua = await new Watcher(stack.sipPort).start();
      try {
        ua.answer = () => 481;
        const before = stack.service.storeStats().entries.subscriptions;
        const cid = `${u}-call`;
        ua.subscribe({ user: u, watcher: user('w'), callId: cid });
        await ua.reply(cid, 200);
        await ua.notify(cid, 'the initial NOTIFY');
        await waitFor(() => stack.service.storeStats().entries.subscriptions === before, 8000, 'the subscription to be removed after the 481');
        // a later change notifies nobody
        const mark = ua.received.length;
        ua.publish({ user: u, callId: `${u}-pub`, basic: 'closed', note: 'after 481' });
        await ua.reply(`${u}-pub`, 200, mark);
        await stack.front.delivery.idle();
        expect(ua.notifies(cid, mark)).toEqual([]);
      } finally {
        ua.close();
      }
    }, 30_000);

    it('a watcher answering 481 to a later NOTIFY loses its subscription; the next PUBLISH notifies nobody', async () => {
      const u = user('f481b');
      const ua = await new Watcher(stack.sipPort).start();
      try {
        const before = stack.service.storeStats().entries.subscriptions;
        const cid = `${u}-call`;
        ua.subscribe({ user: u, watcher: user('w'), callId: cid });
        await ua.reply(cid, 200);
        await ua.notify(cid, 'the initial NOTIFY');
        expect(stack.service.storeStats().entries.subscriptions).toBe(before + 1);
        ua.answer = () => 481;
        let mark = ua.received.length;
        ua.publish({ user: u, callId: `${u}-pub1`, basic: 'closed', note: 'gone' });
        await ua.reply(`${u}-pub1`, 200, mark);
        await ua.notify(cid, 'the NOTIFY for the change', mark, (m) => m.body.includes('gone'));
        await waitFor(() => stack.service.storeStats().entries.subscriptions === before, 8000, 'the subscription to be removed after the 481');
        mark = ua.received.length;
        ua.publish({ user: u, callId: `${u}-pub2`, basic: 'open', note: 'back' });
        await ua.reply(`${u}-pub2`, 200, mark);
        await stack.front.delivery.idle();
        expect(ua.notifies(cid, mark)).toEqual([]);
      } finally {
        ua.close();
      }
    }, 30_000);

    it('a watcher answering 503: the NOTIFY is retried with the current state and a higher CSeq, then the subscription is given up after maxRetries (2)', async () => {
      const u = user('f503');
      const ua = await new Watcher(stack.sipPort).start();
      try {
        const before = stack.service.storeStats().entries.subscriptions;
        const cid = `${u}-call`;
        ua.subscribe({ user: u, watcher: user('w'), callId: cid });
        await ua.reply(cid, 200);
        const first = await ua.notify(cid, 'the initial NOTIFY');
        ua.answer = () => 503;
        const mark = ua.received.length;
        ua.publish({ user: u, callId: `${u}-pub`, basic: 'closed', note: 'busy now' });
        await ua.reply(`${u}-pub`, 200, mark);
        // 1 NOTIFY + 2 retries (backoff 1 s), each answered 503, then the subscription is gone
        await waitFor(() => stack.service.storeStats().entries.subscriptions === before, 15_000, 'the subscription to be given up');
        await stack.front.delivery.idle();
        const attempts = ua.notifies(cid, mark);
        expect(attempts.map((m) => header(m, 'subscription-state'))).toEqual(attempts.map(() => expect.stringMatching(/^active;expires=\d+$/)));
        expect(attempts).toHaveLength(3);
        const cseqs = attempts.map(cseqOfUa);
        expect(cseqs[0]).toBeGreaterThan(cseqOfUa(first));
        for (let i = 1; i < cseqs.length; i++) expect(cseqs[i]).toBeGreaterThan(cseqs[i - 1] as number);
        for (const m of attempts) expect(m.body).toContain('busy now');
        // spaced by the backoff (1 s), not hammered
        for (let i = 1; i < attempts.length; i++) expect((attempts[i] as SipMessage).at - (attempts[i - 1] as SipMessage).at).toBeGreaterThan(900);
        // nothing more comes after giving up (wait longer than one backoff)
        const count = ua.notifies(cid).length;
        await sleep(1500);
        expect(ua.notifies(cid)).toHaveLength(count);
      } finally {
        ua.close();
      }
    }, 40_000);

    it('a watcher not answering a NOTIFY (Kamailio times it out with 408): the NOTIFY comes again with a higher CSeq; answered, the subscription stays', async () => {
      const u = user('fsilent');
      const ua = await new Watcher(stack.sipPort).start();
      try {
        const before = stack.service.storeStats().entries.subscriptions;
        const cid = `${u}-call`;
        ua.subscribe({ user: u, watcher: user('w'), callId: cid });
        await ua.reply(cid, 200);
        const first = await ua.notify(cid, 'the initial NOTIFY');
        let silentCseq = -1;
        // silent for every transmission of the first NOTIFY after the change, 200 for anything later
        ua.answer = (m) => {
          if (silentCseq < 0 && cseqOfUa(m) > cseqOfUa(first)) silentCseq = cseqOfUa(m);
          return cseqOfUa(m) === silentCseq ? null : 200;
        };
        const mark = ua.received.length;
        ua.publish({ user: u, callId: `${u}-pub`, basic: 'closed', note: 'lunch' });
        await ua.reply(`${u}-pub`, 200, mark);
        // Kamailio's fr_timer (5 s) → 408 → retry after 1 s with a higher CSeq
        const retry = await ua.notify(cid, 'the retried NOTIFY', mark, (m) => cseqOfUa(m) > silentCseq && silentCseq > 0, 15_000);
        expect(retry.body).toContain('lunch');
        expect(header(retry, 'subscription-state')).toMatch(/^active;expires=\d+$/);
        const silent = ua.notifies(cid, mark).filter((m) => cseqOfUa(m) === silentCseq);
        expect(silent.length).toBeGreaterThanOrEqual(1); // UDP: Kamailio retransmitted it (Timer E)
        await stack.front.delivery.idle();
        expect(stack.service.storeStats().entries.subscriptions).toBe(before + 1);
        // the subscription still works normally
        const mark2 = ua.received.length;
        ua.publish({ user: u, callId: `${u}-pub2`, basic: 'open', note: 'back from lunch' });
        await ua.notify(cid, 'the NOTIFY after recovery', mark2, (m) => m.body.includes('back from lunch'));
      } finally {
        ua.close();
      }
    }, 40_000);

    it('a watcher answering 503 to the first NOTIFY (sent by Kamailio after the 2xx): Kamailio reports it and presenced retries with a higher CSeq', async () => {
      const u = user('finit');
      const ua = await new Watcher(stack.sipPort).start();
      try {
        const cid = `${u}-call`;
        let firstCseq = -1;
        ua.answer = (m) => {
          if (firstCseq < 0) firstCseq = cseqOfUa(m);
          return cseqOfUa(m) === firstCseq ? 503 : 200;
        };
        ua.subscribe({ user: u, watcher: user('w'), callId: cid });
        await ua.reply(cid, 200);
        await ua.notify(cid, 'the initial NOTIFY');
        const retry = await ua.notify(cid, 'the retried initial NOTIFY', 0, (m) => cseqOfUa(m) > firstCseq, 8000);
        expect(header(retry, 'subscription-state')).toMatch(/^active;expires=\d+$/);
        expect(header(retry, 'content-type')).toBe('application/pidf+xml');
        await stack.front.delivery.idle();
        expect(ua.notifies(cid).filter((m) => cseqOfUa(m) > firstCseq)).toHaveLength(1);
      } finally {
        ua.close();
      }
    }, 30_000);

    it('odd and malformed SIP from clients crashes nothing: garbage datagrams, missing headers, bad Content-Length; the stack still serves', async () => {
      const ua = await new Watcher(stack.sipPort).start();
      try {
        const before = stack.service.storeStats().entries;
        const u = user('odd');
        const via = (n: number): string => `Via: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-odd-${n};rport\r\n`;
        ua.send('\u0000\u00ff garbage that is not SIP at all\r\n\r\n');
        ua.send(`PUBLISH sip:${u}@example.com SIP/2.0\r\n${via(1)}From: <sip:${u}@example.com>;tag=o1\r\nTo: <sip:${u}@example.com>\r\nCall-ID: odd-1\r\nContent-Length: 0\r\n\r\n`); // no CSeq
        ua.send(`SUBSCRIBE sip:${u}@example.com SIP/2.0\r\n${via(2)}From: <sip:x@example.com>;tag=o2\r\nTo: <sip:${u}@example.com>\r\nCall-ID: odd-2\r\nCSeq: 1 SUBSCRIBE\r\nEvent: presence\r\nContact: <not a uri\r\nContent-Length: 0\r\n\r\n`);
        ua.send(`PUBLISH sip:${u}@example.com SIP/2.0\r\n${via(3)}From: <sip:${u}@example.com>;tag=o3\r\nTo: <sip:${u}@example.com>\r\nCall-ID: odd-3\r\nCSeq: 1 PUBLISH\r\nEvent: presence\r\nContent-Type: application/pidf+xml\r\nContent-Length: 5000\r\n\r\n<presence/>`);
        ua.send(`SUBSCRIBE sip:${u}@example.com SIP/2.0\r\n${via(4)}From: <sip:x@example.com>;tag=o4\r\nTo: <sip:${u}@example.com>\r\nCall-ID: odd-4\r\nCSeq: 1 SUBSCRIBE\r\nEvent: presence;id=\r\nContact: <sip:x@127.0.0.1:${ua.port}>\r\nExpires: 99999999999999999999\r\nContent-Length: 0\r\n\r\n`);
        ua.send(`PUBLISH sip:${u}@example.com SIP/2.0\r\n${via(5)}From: <sip:${u}@example.com>;tag=o5\r\nTo: <sip:${u}@example.com>\r\nCall-ID: odd-5\r\nCSeq: 1 PUBLISH\r\nEvent: presence\r\nSIP-If-Match: ${'x'.repeat(3000)}\r\nContent-Length: 0\r\n\r\n`);
        const deep = `<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:${u}@example.com"><tuple id="t1"><status><basic>open</basic></status>${'<x:e xmlns:x="urn:example:x">'.repeat(60)}${'</x:e>'.repeat(60)}</tuple></presence>`;
        ua.send(`PUBLISH sip:${u}@example.com SIP/2.0\r\n${via(6)}From: <sip:${u}@example.com>;tag=o6\r\nTo: <sip:${u}@example.com>\r\nCall-ID: odd-6\r\nCSeq: 1 PUBLISH\r\nEvent: presence\r\nContent-Type: application/pidf+xml\r\nContent-Length: ${Buffer.byteLength(deep)}\r\n\r\n${deep}`);
        // every parseable one gets a final response, from Kamailio's sanity checks or from presenced
        const final = async (cid: string): Promise<string> =>
          (await ua.waitFor((m) => m.startLine.startsWith('SIP/2.0 ') && header(m, 'call-id') === cid, `a final response to ${cid}`)).startLine;
        expect(await final('odd-2')).toBe('SIP/2.0 400 Bad Request'); // presenced: Contact is not a URI
        expect(await final('odd-3')).toMatch(/^SIP\/2\.0 400 /); // Kamailio sanity: Content-Length mismatch
        expect(await final('odd-4')).toMatch(/^SIP\/2\.0 400 /); // Kamailio sanity: Expires out of range
        expect(await final('odd-5')).toBe('SIP/2.0 412 Conditional Request Failed'); // unknown 3000-char ETag
        expect(await final('odd-6')).toBe('SIP/2.0 413 Request Entity Too Large'); // XML nested deeper than limits.maxXmlDepth
        // nothing was stored, and everything is still alive and serving
        const after = stack.service.storeStats().entries;
        expect([after.publications, after.subscriptions]).toEqual([before.publications, before.subscriptions]);
        expect(stack.kamailio.alive).toBe(true);
        const p = await sipp('e2e-publish.xml', { user: u, basic: 'open', note: 'still fine' });
        expect(p.exitCode, sippText(p)).toBe(0);
      } finally {
        ua.close();
      }
    }, 30_000);

    it('Kamailio down, state changed meanwhile, Kamailio back on the same ports: the watcher gets the newest state; nothing acknowledged is lost', async () => {
      const u = user('kdown');
      const aor = `sip:${u}@example.com`;
      const ua = await new Watcher(stack.sipPort).start();
      try {
        const cid = `${u}-call`;
        ua.subscribe({ user: u, watcher: user('w'), callId: cid });
        await ua.reply(cid, 200);
        const first = await ua.notify(cid, 'the initial NOTIFY');
        await waitFor(() => stack.front.stats.external === 0, 8000, 'the initial NOTIFY to be settled');

        await stack.stopKamailio();
        await waitFor(() => stack.transport.linkState === 'down', 10_000, 'presenced to see the link to Kamailio down');
        const mark = ua.received.length;
        // Kamailio is down: the change comes in directly (as another front would deliver it)
        const r1 = await stack.service.handle(publish({ aor, body: pidf(aor, 'closed', 'while down 1') }));
        expect(r1.reply?.status).toBe(200);
        stack.front.delivery.deliver(r1.notifies);
        const etag = r1.reply?.headers.find((h) => h.name === 'SIP-ETag')?.value as string;
        const r2 = await stack.service.handle(publish({ aor, etag, body: pidf(aor, 'open', 'while down 2') }));
        expect(r2.reply?.status).toBe(200);
        expect(r1.notifies.length + r2.notifies.length).toBe(2);
        stack.front.delivery.deliver(r2.notifies);
        await sleep(300); // nothing can arrive now: assert the queue holds it
        expect(ua.notifies(cid, mark)).toEqual([]);

        await stack.startKamailio();
        const n = await ua.notify(cid, 'the NOTIFY after Kamailio came back', mark, (m) => m.body.includes('while down 2'), 15_000);
        expect(cseqOfUa(n)).toBeGreaterThan(cseqOfUa(first));
        expect(n.body).toContain('<basic>open</basic>');
        await stack.front.delivery.idle();
        // coalesced: the superseded state was not sent after the newest one
        const after = ua.notifies(cid, mark);
        expect(after[after.length - 1]?.body).toContain('while down 2');
        expect(after.filter((m) => m.body.includes('while down 1') && !m.body.includes('while down 2'))).toEqual([]);
        // and the restarted Kamailio carries new traffic both ways
        const mark2 = ua.received.length;
        ua.publish({ user: u, callId: `${u}-pub`, basic: 'closed', note: 'after restart' });
        await ua.reply(`${u}-pub`, 200, mark2);
        const n2 = await ua.notify(cid, 'a NOTIFY through the restarted Kamailio', mark2, (m) => m.body.includes('after restart'));
        expect(cseqOfUa(n2)).toBeGreaterThan(cseqOfUa(n));
      } finally {
        ua.close();
      }
    }, 60_000);
  });

  describe('NAT', () => {
    it.each(['u1', 't1'] as const)('a Contact at a private address the watcher cannot be reached at: every NOTIFY still reaches the socket the SUBSCRIBE came from (sipp -t %s)', async (transport) => {
      const u = user('nat');
      const pub = await sipp('e2e-publish.xml', { user: u, basic: 'open', note: 'nat test' });
      expect(pub.exitCode, sippText(pub)).toBe(0);
      const subs = stack.service.storeStats().entries.subscriptions;
      let exited = false;
      const watcher = sipp('e2e-subscribe-nat.xml', { user: u, watcher: user('natw') }, 20, transport).finally(() => {
        exited = true;
      });
      // the change must come after the subscription exists, else the first NOTIFY already carries it
      await waitFor(() => exited || stack.service.storeStats().entries.subscriptions > subs, 10_000, 'the NAT subscription');
      const change = await sipp('e2e-publish.xml', { user: u, basic: 'closed', note: 'nat change' });
      expect(change.exitCode, sippText(change)).toBe(0);
      const r = await watcher;
      expect(r.exitCode, sippText(r)).toBe(0);
      const notifies = received(r).filter((m) => isRequest(m, 'NOTIFY'));
      expect(notifies).toHaveLength(3);
      for (const n of notifies) {
        expect(n.startLine).toMatch(/^NOTIFY sip:[^@]+@10\.255\.255\.1:5060 SIP\/2\.0$/);
        expect(headerValue(n, 'X-Presenced-Dst')).toBeUndefined();
      }
      expect(notifies[1]?.body.toString('utf8')).toContain('nat change');
      expect(headerValue(notifies[2] as SippMessage, 'Subscription-State')).toBe('terminated;reason=timeout');
    }, 40_000);
  });

  // Regressions of a bug found by these tests: Kamailio reports nothing when its own
  // transaction for the NOTIFY it sent after the 2xx times out (no reply_route run
  // for a locally generated 408), so presenced once never retried that NOTIFY and
  // held the dialog's later NOTIFYs for 40 s. Now the front counts it as a 408
  // after externalTimeoutMs (8 s, above Kamailio's fr_timer of 5 s).
  describe('an unanswered NOTIFY sent by Kamailio after the 2xx', () => {
    it('is retried with a higher CSeq (presenced treats the missing report as a 408)', async () => {
      const u = user('fsilent1');
      const ua = await new Watcher(stack.sipPort).start();
      try {
        const cid = `${u}-call`;
        let firstCseq = -1;
        ua.answer = (m) => {
          if (firstCseq < 0) firstCseq = cseqOfUa(m);
          return cseqOfUa(m) === firstCseq ? null : 200;
        };
        ua.subscribe({ user: u, watcher: user('w'), callId: cid });
        await ua.reply(cid, 200);
        await ua.notify(cid, 'the initial NOTIFY');
        await ua.notify(cid, 'a retry of the initial NOTIFY (higher CSeq)', 0, (m) => cseqOfUa(m) > firstCseq, 14_000);
      } finally {
        ua.close();
      }
    }, 25_000);

    it('does not hold a later state change for long', async () => {
      const u = user('fsilent2');
      const ua = await new Watcher(stack.sipPort).start();
      try {
        const cid = `${u}-call`;
        let firstCseq = -1;
        ua.answer = (m) => {
          if (firstCseq < 0) firstCseq = cseqOfUa(m);
          return cseqOfUa(m) === firstCseq ? null : 200;
        };
        ua.subscribe({ user: u, watcher: user('w'), callId: cid });
        await ua.reply(cid, 200);
        await ua.notify(cid, 'the initial NOTIFY');
        const mark = ua.received.length;
        ua.publish({ user: u, callId: `${u}-pub`, basic: 'closed', note: 'changed meanwhile' });
        await ua.reply(`${u}-pub`, 200, mark);
        // externalTimeoutMs (8 s) + backoff (1 s) + slack, not 40 s
        await ua.notify(cid, 'the NOTIFY with the change', mark, (m) => m.body.includes('changed meanwhile'), 14_000);
      } finally {
        ua.close();
      }
    }, 25_000);
  });
});


