/**
 * SipNotifyTransport over real loopback sockets against a tiny scripted UAS
 * standing in for Kamailio (node:dgram / node:net): final responses, 1xx,
 * silence, lost datagrams, TCP chunking, hostile input, link up/down, FIFO
 * bound. Timers are short; the only timing assertions are generous upper
 * bounds. Every socket is closed in afterEach.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Notify } from '../../../../../core/contract.js';
import { renderDialogHeaders } from '../../../../../core/sip/notify-headers.js';
import type { DeliveryResult, LinkState } from '../../../../../integrations/kamailio/delivery/notify-transport.js';
import { SipStreamFramer } from '../../../../../integrations/kamailio/delivery/sip-message.js';
import { SipNotifyTransport, type SipNotifyTransportOptions } from '../../../../../integrations/kamailio/delivery/sip-notify-transport.js';
import { sleep, waitFor } from '../../../../support/wait.js';

// ---------------------------------------------------------------------------
// a scripted UAS

interface Req {
  readonly raw: string;
  readonly method: string;
  readonly uri: string;
  /** Header lines as written, in order. */
  readonly lines: readonly string[];
  readonly body: string;
  header(name: string): string | undefined;
  readonly branch: string;
  readonly cseq: number;
}

function parseReq(buf: Buffer): Req {
  const raw = buf.toString('utf8');
  const end = raw.indexOf('\r\n\r\n');
  const [start = '', ...lines] = raw.slice(0, end).split('\r\n');
  const [method = '', uri = ''] = start.split(' ');
  const header = (name: string): string | undefined => {
    const l = lines.find((x) => x.toLowerCase().startsWith(`${name.toLowerCase()}:`));
    return l?.slice(l.indexOf(':') + 1).trim();
  };
  return {
    raw,
    method,
    uri,
    lines,
    body: raw.slice(end + 4),
    header,
    branch: /;branch=([^;\s,]+)/.exec(header('Via') ?? '')?.[1] ?? '',
    cseq: Number((header('CSeq') ?? '').split(' ')[0]),
  };
}

/** A response to `req`, as Kamailio would relay it (Via/From/To/Call-ID/CSeq copied). */
function responseTo(req: Req, status: number, reason = 'Whatever', extra: readonly string[] = []): Buffer {
  const copy = req.lines.filter((l) => /^(Via|From|Call-ID|CSeq):/i.test(l));
  const to = req.header('To') ?? '';
  return Buffer.from(
    [`SIP/2.0 ${status} ${reason}`, ...copy, `To: ${/;tag=/.test(to) ? to : `${to};tag=uas`}`, ...extra, 'Server: fake-proxy', 'Content-Length: 0', '', ''].join(
      '\r\n',
    ),
  );
}

type Reply = (status: number, reason?: string, extra?: readonly string[]) => void;
type Script = (req: Req, reply: Reply) => void;

class FakeProxy {
  readonly requests: Req[] = [];
  notifyScript: Script = (_req, reply) => reply(200, 'OK');
  optionsScript: Script = (_req, reply) => reply(200, 'OK');
  /** TCP: accepted connections (latest last). */
  readonly conns: net.Socket[] = [];
  private udp: dgram.Socket | undefined;
  private server: net.Server | undefined;

  private constructor(
    readonly transport: 'udp' | 'tcp',
    public port: number,
  ) {}

  get notifies(): Req[] {
    return this.requests.filter((r) => r.method === 'NOTIFY');
  }

  static async start(transport: 'udp' | 'tcp', port = 0): Promise<FakeProxy> {
    const p = new FakeProxy(transport, port);
    await p.listen();
    proxies.push(p);
    return p;
  }

  async listen(): Promise<void> {
    if (this.transport === 'udp') {
      const sock = dgram.createSocket('udp4');
      sock.on('message', (msg, rinfo) => {
        this.handle(msg, (b) => sock.send(b, rinfo.port, rinfo.address));
      });
      await new Promise<void>((resolve) => sock.bind(this.port, '127.0.0.1', () => resolve()));
      this.udp = sock;
      this.port = sock.address().port;
    } else {
      const server = net.createServer((c) => {
        this.conns.push(c);
        c.on('error', () => undefined);
        const framer = new SipStreamFramer();
        c.on('data', (chunk: Buffer) => {
          for (const ev of framer.push(chunk)) if (ev.type === 'message') this.handle(ev.data, (b) => c.write(b));
        });
      });
      await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', () => resolve()));
      this.server = server;
      this.port = (server.address() as net.AddressInfo).port;
    }
  }

  /** Sends raw bytes to the transport: UDP to `to`, TCP on the latest connection. */
  sendRaw(data: Buffer, to?: { port: number }): void {
    if (this.transport === 'udp') this.udp?.send(data, to?.port ?? 0, '127.0.0.1');
    else this.conns.at(-1)?.write(data);
  }

  private handle(msg: Buffer, send: (b: Buffer) => void): void {
    const req = parseReq(msg);
    this.requests.push(req);
    const reply: Reply = (status, reason, extra) => send(responseTo(req, status, reason, extra));
    if (req.method === 'OPTIONS') this.optionsScript(req, reply);
    else this.notifyScript(req, reply);
  }

  /** Stops listening and drops every connection. */
  async stop(): Promise<void> {
    const udp = this.udp;
    this.udp = undefined;
    if (udp !== undefined) await new Promise<void>((resolve) => udp.close(() => resolve()));
    const server = this.server;
    this.server = undefined;
    for (const c of this.conns) c.destroy();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const proxies: FakeProxy[] = [];
const transports: SipNotifyTransport[] = [];
const extraSockets: dgram.Socket[] = [];

afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
  await Promise.all(extraSockets.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

// ---------------------------------------------------------------------------
// helpers

let seq = 0;
function notify(o: Partial<Notify> = {}): Notify {
  seq++;
  return {
    subscriptionId: `sub-${seq}`,
    resource: 'sip:alice@example.com',
    event: 'presence',
    requestUri: 'sip:bob@127.0.0.1:5999',
    nextHop: 'sip:bob@127.0.0.1:5999',
    cseq: seq,
    subscriptionState: 'active;expires=600',
    dialogHeaders: renderDialogHeaders({
      from: '<sip:alice@example.com>;tag=ours',
      to: '<sip:bob@example.com>;tag=theirs',
      callId: `call-${seq}@test`,
      route: [],
      contact: '<sip:presence@127.0.0.1>',
      event: 'presence',
    }),
    body: { contentType: 'application/pidf+xml', text: `<presence n="${seq}">ü</presence>` },
    terminal: false,
    fullState: true,
    ...o,
  };
}

/** Fast timers: Timer F = 64 · 20 ms = 1.28 s. */
const FAST = { t1Ms: 20, t2Ms: 160, t4Ms: 100 };

async function transport(proxy: FakeProxy, o: Partial<SipNotifyTransportOptions> = {}): Promise<{ t: SipNotifyTransport; links: LinkState[] }> {
  const t = new SipNotifyTransport({
    proxy: { host: '127.0.0.1', port: proxy.port, transport: proxy.transport },
    local: { host: '127.0.0.1', port: 0 },
    timers: FAST,
    keepalive: { intervalMs: 100, failuresBeforeDown: 2 },
    reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
    connectTimeoutMs: 1000,
    ...o,
  });
  transports.push(t);
  const links: LinkState[] = [];
  t.onLinkChange = (s) => links.push(s);
  await t.start();
  return { t, links };
}

const OK: DeliveryResult = { kind: 'response', status: 200 };

// ---------------------------------------------------------------------------

describe.each(['udp', 'tcp'] as const)('SipNotifyTransport over %s', (proto) => {
  it('start(): the keepalive OPTIONS is answered and the link is up', async () => {
    const p = await FakeProxy.start(proto);
    const { t, links } = await transport(p);
    expect(t.linkState).toBe('up');
    expect(links).toEqual(['up']);
    const opt = p.requests.find((r) => r.method === 'OPTIONS');
    expect(opt?.uri).toBe(`sip:127.0.0.1:${p.port}`);
    expect(opt?.header('CSeq')).toMatch(/^\d+ OPTIONS$/);
  });

  it('200: the NOTIFY arrives complete, with our Via, and send() resolves with 200', async () => {
    const p = await FakeProxy.start(proto);
    const { t } = await transport(p);
    const n = notify({ destination: { transport: 'udp', address: '127.0.0.1', port: 40000 } });
    expect(await t.send(n)).toEqual(OK);
    const got = p.notifies[0] as Req;
    expect(got.method).toBe('NOTIFY');
    expect(got.uri).toBe(n.requestUri);
    expect(got.header('Via')).toBe(`SIP/2.0/${proto.toUpperCase()} 127.0.0.1:${t.localPort};branch=${got.branch};rport`);
    expect(got.branch).toMatch(/^z9hG4bK[A-Za-z0-9_-]{16}$/);
    expect(got.header('CSeq')).toBe(`${n.cseq} NOTIFY`);
    expect(got.header('Subscription-State')).toBe('active;expires=600');
    expect(got.header('X-Presenced-Dst')).toBe('sip:127.0.0.1:40000;transport=udp');
    expect(got.header('From')).toBe('<sip:alice@example.com>;tag=ours');
    expect(got.body).toBe(n.body?.text);
    expect(Number(got.header('Content-Length'))).toBe(Buffer.byteLength(got.body, 'utf8'));
    expect(t.counters).toMatchObject({ sent: 1, retransmissions: 0, inFlight: 0, timeouts: 0 });
    expect(t.counters.responsesByClass['2xx']).toBe(1);
  });

  it('481 comes back as 481; 503 with Retry-After carries it', async () => {
    const p = await FakeProxy.start(proto);
    const { t } = await transport(p);
    p.notifyScript = (req, reply) =>
      req.cseq % 2 === 0 ? reply(481, 'Call/Transaction Does Not Exist') : reply(503, 'Service Unavailable', ['Retry-After: 17 (busy)']);
    const a = notify({ cseq: 2 });
    const b = notify({ cseq: 3 });
    expect(await Promise.all([t.send(a), t.send(b)])).toEqual([
      { kind: 'response', status: 481 },
      { kind: 'response', status: 503, retryAfter: 17 },
    ]);
    expect(t.counters.responsesByClass).toMatchObject({ '4xx': 1, '5xx': 1 });
  });

  it('100 then 200: the 1xx does not resolve, the 200 does', async () => {
    const p = await FakeProxy.start(proto);
    const { t } = await transport(p);
    let release: () => void = () => undefined;
    p.notifyScript = (req, reply) => {
      if (p.notifies.filter((x) => x.branch === req.branch).length > 1) return; // UDP retransmission
      reply(100, 'Trying');
      release = () => reply(200, 'OK');
    };
    let settled = false;
    const r = t.send(notify()).then((x) => {
      settled = true;
      return x;
    });
    await waitFor(() => p.notifies.length >= 1, 2000, 'the NOTIFY', 5);
    await sleep(100);
    expect(settled).toBe(false);
    expect(t.counters.responsesByClass['1xx']).toBe(1);
    release();
    expect(await r).toEqual(OK);
  });

  it('silence: Timer F resolves 408 while the link stays up', async () => {
    const p = await FakeProxy.start(proto);
    // A slow keepalive: under CPU load a 100 ms probe could be missed and flip the link down mid-test.
    const { t } = await transport(p, { keepalive: { intervalMs: 1000, failuresBeforeDown: 5 } });
    p.notifyScript = () => undefined;
    const started = Date.now();
    expect(await t.send(notify())).toEqual({ kind: 'response', status: 408 });
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(64 * FAST.t1Ms - 5);
    expect(took).toBeLessThan(10_000);
    expect(t.linkState).toBe('up');
    expect(t.counters.timeouts).toBe(1);
    if (proto === 'udp') {
      expect(p.notifies.length).toBeGreaterThan(3); // retransmitted
      expect(t.counters.retransmissions).toBe(p.notifies.length - 1);
    } else {
      expect(p.notifies).toHaveLength(1); // never over TCP
      expect(t.counters.retransmissions).toBe(0);
    }
  });

  it('a repeated final response never resolves twice (UDP: absorbed in Completed; TCP: Timer K = 0, later copies are strays)', async () => {
    const p = await FakeProxy.start(proto);
    const { t } = await transport(p);
    p.notifyScript = (_req, reply) => {
      reply(200, 'OK');
      reply(200, 'OK');
      reply(486, 'Late and different');
    };
    expect(await t.send(notify())).toEqual(OK);
    await sleep(50);
    expect(t.counters.responsesByClass['2xx']).toBe(1);
    expect(t.counters.responsesByClass['4xx']).toBe(0);
    if (proto === 'udp') expect(t.counters.strayResponses).toBe(0);
    else expect(t.counters.strayResponses).toBeLessThanOrEqual(2);
  });

  it('maxInFlight: later sends wait in FIFO order until answers free a slot', async () => {
    const p = await FakeProxy.start(proto);
    const { t } = await transport(p, { maxInFlight: 2, timers: { t1Ms: 500, t2Ms: 4000, t4Ms: 100 } });
    const held: Reply[] = [];
    p.notifyScript = (req, reply) => {
      if (p.notifies.filter((x) => x.branch === req.branch).length === 1) held.push(reply);
    };
    const ns = [1, 2, 3, 4, 5].map((i) => notify({ cseq: 100 + i }));
    const rs = ns.map((n) => t.send(n));
    await waitFor(() => held.length === 2, 2000, 'two NOTIFYs', 5);
    await sleep(50);
    expect(held).toHaveLength(2);
    expect(t.counters.inFlight).toBe(2);
    expect(t.counters.queued).toBe(3);
    while (held.length < 5) {
      const n = held.length;
      held[n - 2]?.(200);
      await waitFor(() => held.length > n, 2000, 'the next NOTIFY', 5);
    }
    held[3]?.(200);
    held[4]?.(200);
    expect(await Promise.all(rs)).toEqual(ns.map(() => OK));
    const order = [...new Map(p.notifies.map((r) => [r.branch, r.cseq])).values()];
    expect(order).toEqual([101, 102, 103, 104, 105]);
    expect(t.counters.queued).toBe(0);
  });

  it('link down when the peer is gone (send fails at once), up again when it returns', async () => {
    const p = await FakeProxy.start(proto);
    const { t, links } = await transport(p);
    expect(await t.send(notify())).toEqual(OK);
    await p.stop();
    await waitFor(() => t.linkState === 'down', 5000, 'link down', 5);
    expect(links).toEqual(['up', 'down']);
    expect(t.counters.linkDowns).toBe(1);
    const started = Date.now();
    expect(await t.send(notify())).toEqual({ kind: 'link-failure', detail: 'link down' });
    expect(Date.now() - started).toBeLessThan(50);

    await p.listen(); // same port
    await waitFor(() => t.linkState === 'up', 5000, 'link up again', 5);
    expect(links).toEqual(['up', 'down', 'up']);
    expect(await t.send(notify())).toEqual(OK);
  });

  it('Timer F after the link went down resolves as link-failure "timeout", not 408', async () => {
    const p = await FakeProxy.start(proto);
    const { t } = await transport(p);
    p.notifyScript = () => undefined;
    p.optionsScript = () => undefined; // the whole proxy hangs (TCP stays connected)
    const r = await t.send(notify());
    expect(t.linkState).toBe('down');
    expect(r).toEqual({ kind: 'link-failure', detail: 'timeout' });
    expect(t.counters.timeouts).toBe(1);
  });

  it('close() resolves pending and queued sends as link failures and stops everything', async () => {
    const p = await FakeProxy.start(proto);
    const { t } = await transport(p, { maxInFlight: 1 });
    p.notifyScript = () => undefined;
    const a = t.send(notify());
    const b = t.send(notify());
    await waitFor(() => p.notifies.length >= 1, 2000, 'the NOTIFY', 5);
    await t.close();
    expect(await a).toEqual({ kind: 'link-failure', detail: 'closed' });
    expect(await b).toEqual({ kind: 'link-failure', detail: 'closed' });
    expect(await t.send(notify())).toEqual({ kind: 'link-failure', detail: 'closed' });
    expect(t.transactions).toBe(0);
    await t.close(); // idempotent
  });

  it('hostile bytes from the proxy are dropped without harm', async () => {
    const p = await FakeProxy.start(proto);
    const { t } = await transport(p);
    let fired = false;
    p.notifyScript = (req, reply) => {
      if (fired) return;
      fired = true;
      const junk = [
        Buffer.from('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP x;branch=z9hG4bKnobody\r\nCSeq: 1 NOTIFY\r\nContent-Length: 0\r\n\r\n'), // stray
        Buffer.from(`SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP x;branch=${req.branch}\r\nCSeq: ${req.cseq} OPTIONS\r\nContent-Length: 0\r\n\r\n`), // wrong method
        Buffer.from(`SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP x;branch=${req.branch}\r\nContent-Length: 0\r\n\r\n`), // no CSeq: malformed
        Buffer.from(`OPTIONS sip:presenced@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP x;branch=z9hG4bKreq\r\nContent-Length: 0\r\n\r\n`), // a request
      ];
      if (proto === 'udp') junk.push(Buffer.from([0xff, 0x00, 0x13]), Buffer.alloc(3000, 0x41));
      for (const j of junk) p.sendRaw(j, { port: t.localPort });
      setTimeout(() => reply(202, 'Accepted'), 30);
    };
    expect(await t.send(notify())).toEqual({ kind: 'response', status: 202 });
    expect(t.counters.strayResponses).toBe(2);
    expect(t.counters.malformed).toBe(proto === 'udp' ? 3 : 1);
    expect(t.counters.ignoredRequests).toBe(1);
    expect(t.linkState).toBe('up');
  });

  it('refuses an unsendable NOTIFY locally with 400 (never reaches the wire)', async () => {
    const p = await FakeProxy.start(proto);
    const { t } = await transport(p);
    expect(await t.send(notify({ requestUri: 'sip:x\r\nVia: evil' }))).toEqual({ kind: 'response', status: 400 });
    expect(p.notifies).toHaveLength(0);
    expect(t.counters.localErrors).toBe(1);
  });
});

describe('SipNotifyTransport over UDP only', () => {
  it('the first two datagrams are lost: the retransmission gets through', async () => {
    const p = await FakeProxy.start('udp');
    const { t } = await transport(p);
    p.notifyScript = (_req, reply) => {
      if (p.notifies.length <= 2) return; // "lost"
      reply(200, 'OK');
    };
    expect(await t.send(notify())).toEqual(OK);
    expect(p.notifies).toHaveLength(3);
    expect(new Set(p.notifies.map((r) => r.raw)).size).toBe(1); // byte-identical retransmissions
    expect(t.counters.retransmissions).toBe(2);
  });

  it('binds the configured local port (Via sent-by = Kamailio PRESENCED_SIP_PORT)', async () => {
    const p = await FakeProxy.start('udp');
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', () => resolve()));
    const port = probe.address().port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const { t } = await transport(p, { local: { host: '127.0.0.1', port } });
    expect(t.localPort).toBe(port);
    await t.send(notify());
    expect(p.notifies[0]?.header('Via')).toContain(`127.0.0.1:${port};branch=`);
  });

  it('a forged response from another address is ignored', async () => {
    const p = await FakeProxy.start('udp');
    const { t } = await transport(p);
    const forger = dgram.createSocket('udp4');
    extraSockets.push(forger);
    await new Promise<void>((resolve) => forger.bind(0, '127.0.0.1', () => resolve()));
    p.notifyScript = (req, reply) => {
      if (p.notifies.length > 1) return;
      forger.send(responseTo(req, 603, 'Forged'), t.localPort, '127.0.0.1');
      setTimeout(() => reply(200, 'OK'), 50);
    };
    expect(await t.send(notify())).toEqual(OK);
    expect(t.counters.foreignPackets).toBe(1);
  });

  it('a NOTIFY above the UDP size limit gets a local 513', async () => {
    const p = await FakeProxy.start('udp');
    const { t } = await transport(p, { maxUdpMessageBytes: 1300 });
    expect(await t.send(notify({ body: { contentType: 'text/plain', text: 'x'.repeat(2000) } }))).toEqual({ kind: 'response', status: 513 });
    expect(p.notifies).toHaveLength(0);
  });

  it('start() rejects when the local port is taken', async () => {
    const p = await FakeProxy.start('udp');
    const busy = dgram.createSocket('udp4');
    extraSockets.push(busy);
    await new Promise<void>((resolve) => busy.bind(0, '127.0.0.1', () => resolve()));
    const t = new SipNotifyTransport({
      proxy: { host: '127.0.0.1', port: p.port, transport: 'udp' },
      local: { host: '127.0.0.1', port: busy.address().port },
    });
    transports.push(t);
    await expect(t.start()).rejects.toThrow(/cannot bind/);
  });

  it('refuses a non-concrete local address and bad options', () => {
    const base = { proxy: { host: '127.0.0.1', port: 5060, transport: 'udp' as const }, local: { host: '127.0.0.1', port: 0 } };
    expect(() => new SipNotifyTransport({ ...base, local: { host: '0.0.0.0', port: 5070 } })).toThrow(RangeError);
    expect(() => new SipNotifyTransport({ ...base, maxInFlight: 0 })).toThrow(RangeError);
    expect(() => new SipNotifyTransport({ ...base, timers: { t1Ms: -1 } })).toThrow(RangeError);
    expect(() => new SipNotifyTransport({ ...base, keepalive: { intervalMs: 0 } })).toThrow(RangeError);
  });
});

describe('SipNotifyTransport over TCP only', () => {
  /** Collects `count` NOTIFYs without answering, then returns their replies. */
  async function hold(p: FakeProxy, count: number): Promise<Req[]> {
    const got: Req[] = [];
    p.notifyScript = (req) => got.push(req);
    await waitFor(() => got.length === count, 3000, `${count} NOTIFYs`, 5);
    return got;
  }

  it('several responses in one TCP chunk are all matched', async () => {
    const p = await FakeProxy.start('tcp');
    const { t } = await transport(p);
    const held = hold(p, 3);
    const rs = [t.send(notify()), t.send(notify()), t.send(notify())];
    const reqs = await held;
    p.sendRaw(Buffer.concat([responseTo(reqs[2] as Req, 200, 'OK'), Buffer.from('\r\n\r\n'), responseTo(reqs[0] as Req, 481, 'Gone'), responseTo(reqs[1] as Req, 200, 'OK')]));
    expect(await Promise.all(rs)).toEqual([{ kind: 'response', status: 481 }, OK, OK]);
  });

  it('a response split over many chunks is reassembled', async () => {
    const p = await FakeProxy.start('tcp');
    const { t } = await transport(p);
    const held = hold(p, 1);
    const r = t.send(notify());
    const [req] = await held;
    const bytes = Buffer.concat([responseTo(req as Req, 200, 'OK', ['X-Pad: ü'])]);
    const conn = p.conns.at(-1) as net.Socket;
    conn.setNoDelay(true);
    for (let i = 0; i < bytes.length; i += 7) {
      conn.write(bytes.subarray(i, i + 7));
      await sleep(1);
    }
    expect(await r).toEqual(OK);
  });

  it('bad framing from the proxy: connection closed, pending sends fail as link failures, reconnected', async () => {
    const p = await FakeProxy.start('tcp');
    const { t } = await transport(p);
    const held = hold(p, 1);
    const r = t.send(notify());
    await held;
    p.sendRaw(Buffer.from('SIP/2.0 200 OK\r\nContent-Length: nonsense\r\n\r\n'));
    expect(await r).toEqual({ kind: 'link-failure', detail: 'connection lost' });
    expect(t.counters.framingErrors).toBe(1);
    await waitFor(() => p.conns.length === 2 && t.counters.connects === 2, 3000, 'the reconnect', 5);
    p.notifyScript = (_req, reply) => reply(200, 'OK');
    expect(await t.send(notify())).toEqual(OK);
    expect(t.linkState).toBe('up');
  });

  it('the proxy drops the connection: in-flight sends fail, new sends wait for the reconnect', async () => {
    const p = await FakeProxy.start('tcp');
    const { t, links } = await transport(p);
    const held = hold(p, 1);
    const r = t.send(notify());
    await held;
    p.notifyScript = (_req, reply) => reply(200, 'OK');
    p.conns.at(-1)?.destroy();
    expect(await r).toEqual({ kind: 'link-failure', detail: 'connection lost' });
    expect(await t.send(notify())).toEqual(OK); // waited for the new connection
    expect(links).toEqual(['up']); // a quick reconnect is not a link failure
  });

  it('start() against a closed port: link down at once, up when the proxy appears', async () => {
    const p = await FakeProxy.start('tcp');
    await p.stop();
    const { t, links } = await transport(p);
    expect(t.linkState).toBe('down');
    expect(t.counters.connectFailures).toBeGreaterThanOrEqual(1);
    expect(await t.send(notify())).toEqual({ kind: 'link-failure', detail: 'link down' });
    await p.listen();
    await waitFor(() => t.linkState === 'up', 5000, 'link up', 5);
    expect(links).toEqual(['up']);
    expect(await t.send(notify())).toEqual(OK);
  });
});
