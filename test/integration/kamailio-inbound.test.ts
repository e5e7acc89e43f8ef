/**
 * The inbound path end to end, with the real Kamailio 5.6 and sipp:
 *
 *   sipp ──SIP──► kamailio (cfg/kamailio-presence-proxy.cfg + presenced.cfg)
 *        ──janssonrpcc──► KamailioJsonRpcServer ──► PresenceEngine (scripted double)
 *
 * The engine is the one test double here (the real engine is built in
 * parallel): it records the SipRequest it got and returns a canned reply.
 * Everything else is real and runs on 127.0.0.1 with free ports; every
 * process is stopped by PID in afterAll, and every step is time-bounded.
 *
 * Needs kamailio + sipp: integrations/kamailio/setup/install-debian-packages.sh
 */
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HandleResult, SipReply, SipRequest } from '../../core/contract.js';
import {
  JsonRpcErrorCode,
  KamailioJsonRpcServer,
  type PresenceEngine,
  type ServerLogger,
} from '../../integrations/kamailio/jsonrpc-server.js';
import { NetstringDecoder, encodeNetstring } from '../../integrations/kamailio/netstring.js';
import { freePort } from '../support/free-port.js';
import { KamailioProcess, checkKamailioConfig } from '../support/kamailio-process.js';
import { type SippMessage, headerValue, headerValues, runSipp } from '../support/sipp-process.js';
import { sleep, waitFor } from '../support/wait.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const cfgDir = path.join(repo, 'integrations/kamailio/cfg');
const proxyCfg = path.join(cfgDir, 'kamailio-presence-proxy.cfg');
const includeCfg = path.join(cfgDir, 'presenced.cfg');
const scenario = (name: string): string => path.join(here, 'sipp', name);

/** Kamailio's janssonrpc_request timeout in these tests (ms). */
const RPC_TIMEOUT_MS = 1000;

// ---------------------------------------------------------------------------
// The scripted engine (test double for the presence core)

class ScriptedEngine implements PresenceEngine {
  readonly received: SipRequest[] = [];
  /** Delay before answering, for every request. */
  delayMs = 0;
  /** Contact the SUBSCRIBE reply advertises. */
  contact = '<sip:presence@127.0.0.1>';
  private inFlight = 0;
  private etagCounter = 0;
  readonly etags: string[] = [];

  async handle(req: SipRequest): Promise<HandleResult> {
    this.received.push(req);
    this.inFlight++;
    try {
      const delay = req.requestUri.includes('slow') ? 400 : this.delayMs;
      if (delay > 0) await sleep(delay);
      return { reply: this.replyFor(req), notifies: [] };
    } finally {
      this.inFlight--;
    }
  }

  private replyFor(req: SipRequest): SipReply {
    if (req.method === 'PUBLISH') {
      const etag = `etag-${++this.etagCounter}-${req.localTag.slice(-8)}`;
      this.etags.push(etag);
      return {
        status: 200,
        reason: 'OK',
        headers: [
          { name: 'SIP-ETag', value: etag },
          { name: 'Expires', value: req.expires ?? '3600' },
        ],
      };
    }
    if (req.method === 'SUBSCRIBE') {
      return {
        status: 200,
        reason: 'OK',
        headers: [
          { name: 'Expires', value: req.expires ?? '3600' },
          { name: 'Contact', value: this.contact },
        ],
      };
    }
    return { status: 405, reason: 'Method Not Allowed', headers: [{ name: 'Allow', value: 'PUBLISH, SUBSCRIBE' }] };
  }

  async idle(timeoutMs = 5000): Promise<void> {
    await waitFor(() => this.inFlight === 0, timeoutMs, 'engine idle');
  }

  reset(): void {
    this.received.length = 0;
    this.etags.length = 0;
    this.delayMs = 0;
  }
}

class CollectingLogger implements ServerLogger {
  readonly lines: string[] = [];
  warn(message: string): void {
    this.lines.push(message);
  }
}

// ---------------------------------------------------------------------------
// helpers

/** Measured numbers, printed once at the end (they go into reports). */
const measured: Record<string, number | string> = {};

function sentRequest(messages: readonly SippMessage[]): SippMessage {
  const m = messages.find((x) => x.direction === 'sent' && !x.startLine.startsWith('SIP/2.0'));
  if (m === undefined) throw new Error('sipp sent no request');
  return m;
}

function finalResponse(messages: readonly SippMessage[]): SippMessage {
  const m = messages.find((x) => x.direction === 'received' && /^SIP\/2\.0 [2-6]\d\d /.test(x.startLine));
  if (m === undefined) throw new Error('sipp received no final response');
  return m;
}

function statusOf(msg: SippMessage): number {
  return Number(msg.startLine.split(' ')[1]);
}

function toTag(msg: SippMessage): string | undefined {
  return /;\s*tag=([^;\s>]+)/i.exec(headerValue(msg, 'To') ?? '')?.[1];
}

function requestUriOf(msg: SippMessage): string {
  return msg.startLine.split(' ')[1] ?? '';
}

function sippFailureText(r: Awaited<ReturnType<typeof runSipp>>): string {
  return `sipp exit ${r.exitCode}\n${r.errors}\n${r.messages.map((m) => `${m.direction}: ${m.raw.toString('utf8')}`).join('\n---\n')}`;
}

/** A raw JSON-RPC client: netstrings over TCP, answers decoded with our own decoder. */
class RawRpcClient {
  readonly answers: unknown[] = [];
  readonly socket: net.Socket;
  private readonly decoder = new NetstringDecoder({ maxLength: 1 << 20 });
  closed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      for (const ev of this.decoder.push(chunk)) {
        if (ev.type === 'frame') this.answers.push(JSON.parse(ev.payload.toString('utf8')));
      }
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number): Promise<RawRpcClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1' }, () => resolve(new RawRpcClient(s)));
      s.once('error', reject);
    });
  }

  write(data: Buffer | string): void {
    this.socket.write(data);
  }

  sendJson(message: unknown): void {
    this.write(encodeNetstring(JSON.stringify(message)));
  }

  async next(timeoutMs = 3000): Promise<Record<string, unknown>> {
    await waitFor(() => this.answers.length > 0, timeoutMs, 'a JSON-RPC answer');
    return this.answers.shift() as Record<string, unknown>;
  }

  close(): void {
    this.socket.destroy();
  }
}

function validParams(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    method: 'PUBLISH',
    requestUri: 'sip:raw@example.com',
    callId: `raw-${Math.random().toString(36).slice(2)}@127.0.0.1`,
    from: '<sip:raw@example.com>;tag=abc',
    to: '<sip:raw@example.com>',
    cseq: '1 PUBLISH',
    localTag: 'lt-1',
    sourceProto: 'udp',
    sourceIp: '127.0.0.1',
    sourcePort: 5062,
    event: 'presence',
    expires: '60',
    contentType: 'application/pidf+xml',
    bodyBase64: Buffer.from('<presence/>').toString('base64'),
    ...overrides,
  };
}

// ---------------------------------------------------------------------------

describe('kamailio configs', () => {
  it('the example config passes kamailio -c', () => {
    const r = checkKamailioConfig(proxyCfg, { PROXY_SIP_PORT: 5999, PRESENCED_RPC_PORT: 5998 });
    expect(r.status, r.output).toBe(0);
  });

  it('presenced.cfg included by an existing config that already loads tm/sl/textops passes kamailio -c', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'presenced-cfgcheck-'));
    try {
      const cfg = path.join(dir, 'kamailio.cfg');
      writeFileSync(
        cfg,
        [
          '#!KAMAILIO',
          'listen=udp:127.0.0.1:5997',
          'loadmodule "tm.so"',
          'loadmodule "sl.so"',
          'loadmodule "textops.so"',
          'loadmodule "pv.so"',
          `include_file "${includeCfg}"`,
          'request_route {',
          '  if (is_method("PUBLISH|SUBSCRIBE")) { route(PRESENCED); exit; }',
          '  sl_send_reply("405", "Method Not Allowed");',
          '}',
          '',
        ].join('\n'),
      );
      const r = checkKamailioConfig(cfg);
      expect(r.status, r.output).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('inbound: sipp -> kamailio -> JSON-RPC -> engine', () => {
  const engine = new ScriptedEngine();
  const logger = new CollectingLogger();
  let rpcPort = 0;
  let server: KamailioJsonRpcServer;
  let kamailio: KamailioProcess | undefined;

  const newServer = (): KamailioJsonRpcServer => new KamailioJsonRpcServer({ engine, logger, handleTimeoutMs: 5000 });

  beforeAll(async () => {
    rpcPort = await freePort();
    server = newServer();
    await server.listen(rpcPort, '127.0.0.1');
    kamailio = await KamailioProcess.start({
      configFile: proxyCfg,
      substdefs: {
        PRESENCED_RPC_HOST: '127.0.0.1',
        PRESENCED_RPC_PORT: rpcPort,
        PRESENCED_RPC_TIMEOUT: RPC_TIMEOUT_MS,
        PRESENCED_RETRY_AFTER: 7,
        PRESENCED_SIP_PORT: await freePort(),
        PROXY_CHILDREN: 2,
      },
      shmMb: 64,
      pkgMb: 8,
    });
    engine.contact = `<sip:presence@127.0.0.1:${kamailio.sipPort}>`;
    // janssonrpcc connects from its I/O process after start-up
    await waitFor(() => server.connectionCount >= 1, 10_000, 'janssonrpcc to connect');
  }, 40_000);

  afterAll(async () => {
    console.info(`kamailio-inbound measurements: ${JSON.stringify(measured)}`);
    await kamailio?.stop();
    await server?.close();
  }, 20_000);

  afterEach(async () => {
    await engine.idle();
    engine.reset();
  });

  it.each([
    ['udp', 'u1'],
    ['tcp', 't1'],
  ] as const)('PUBLISH over %s: 200 + SIP-ETag, every field arrives exactly', async (transport, sippTransport) => {
    const k = kamailio as KamailioProcess;
    const localPort = await freePort();
    const r = await runSipp({
      scenario: scenario('publish-presence.xml'),
      targetPort: k.sipPort,
      transport: sippTransport,
      localPort,
      keys: { user: `alice-${transport}` },
      timeoutSec: 5,
    });
    expect(r.exitCode, sippFailureText(r)).toBe(0);
    const sent = sentRequest(r.messages);
    const reply = finalResponse(r.messages);
    expect(statusOf(reply)).toBe(200);
    expect(engine.received).toHaveLength(1);
    const got = engine.received[0] as SipRequest;

    expect(headerValue(reply, 'SIP-ETag')).toBe(engine.etags[0]);
    expect(headerValue(reply, 'Expires')).toBe('3600');
    // $ltt(t) read after t_newtran() is the To-tag of the reply
    expect(toTag(reply)).toBeDefined();
    expect(got.localTag).toBe(toTag(reply));

    expect(got).toEqual({
      method: 'PUBLISH',
      requestUri: requestUriOf(sent),
      callId: headerValue(sent, 'Call-ID'),
      from: headerValue(sent, 'From'),
      to: headerValue(sent, 'To'),
      cseq: 1,
      contact: headerValue(sent, 'Contact'),
      recordRoute: ['<sip:p1.example.net;lr>', '<sip:p2.example.net;lr;transport=tcp>', '"Edge, Proxy" <sip:p3.example.net;lr>'],
      event: 'presence',
      expires: '3600',
      // Kamailio's $(hdr(Accept)[*]) joins the header fields with ","
      accept: [headerValues(sent, 'Accept').join(',')],
      contentType: 'application/pidf+xml',
      body: sent.body.toString('utf8'),
      // sipp binds -p for its TCP connection too, so the source port is exact
      source: { transport, address: '127.0.0.1', port: localPort },
      localTag: toTag(reply),
    });
    expect(got.from).toContain('Ålice Ünïcode');
    // body byte-identical, non-ASCII UTF-8 included
    expect(Buffer.from(got.body ?? '', 'utf8').equals(sent.body)).toBe(true);
    expect(got.body).toContain('Grüße aus 東京 — ☕');
    measured[`publish_${transport}_ms`] = Math.round(finalResponse(r.messages).time - sent.time);
  }, 20_000);

  it('SUBSCRIBE with a Record-Route set: 200, route set and local tag arrive exactly', async () => {
    const k = kamailio as KamailioProcess;
    const localPort = await freePort();
    const r = await runSipp({
      scenario: scenario('subscribe-presence.xml'),
      targetPort: k.sipPort,
      localPort,
      keys: { user: 'carol', watcher: 'bob' },
      timeoutSec: 5,
    });
    expect(r.exitCode, sippFailureText(r)).toBe(0);
    const sent = sentRequest(r.messages);
    const reply = finalResponse(r.messages);
    expect(statusOf(reply)).toBe(200);
    expect(headerValue(reply, 'Expires')).toBe('600');
    expect(headerValue(reply, 'Contact')).toBe(engine.contact);
    expect(engine.received).toHaveLength(1);
    const got = engine.received[0] as SipRequest;
    expect(got).toEqual({
      method: 'SUBSCRIBE',
      requestUri: requestUriOf(sent),
      callId: headerValue(sent, 'Call-ID'),
      from: headerValue(sent, 'From'),
      to: headerValue(sent, 'To'),
      cseq: 7,
      contact: headerValue(sent, 'Contact'),
      recordRoute: headerValues(sent, 'Record-Route'),
      event: 'presence',
      expires: '600',
      accept: ['application/pidf+xml, application/rlmi+xml'],
      source: { transport: 'udp', address: '127.0.0.1', port: localPort },
      localTag: toTag(reply),
    });
    expect(got.recordRoute).toHaveLength(2);
  }, 20_000);

  it('in-dialog SUBSCRIBE with a Route to the proxy (loose_route) reaches presenced with the dialog To-tag', async () => {
    const k = kamailio as KamailioProcess;
    const r = await runSipp({
      scenario: scenario('subscribe-refresh.xml'),
      targetPort: k.sipPort,
      keys: { user: 'ivy', watcher: 'jack' },
      timeoutSec: 5,
    });
    expect(r.exitCode, sippFailureText(r)).toBe(0);
    expect(engine.received).toHaveLength(2);
    const [initial, unsubscribe] = engine.received as [SipRequest, SipRequest];
    const firstReply = finalResponse(r.messages);
    expect(initial.localTag).toBe(toTag(firstReply));
    expect(unsubscribe.method).toBe('SUBSCRIBE');
    expect(unsubscribe.callId).toBe(initial.callId);
    expect(unsubscribe.cseq).toBe(2);
    expect(unsubscribe.expires).toBe('0');
    expect(unsubscribe.requestUri).toBe(`sip:presence@127.0.0.1:${k.sipPort}`);
    // the in-dialog request carries the To-tag presenced was told up front
    expect(unsubscribe.to).toBe(`<sip:ivy@example.com>;tag=${initial.localTag}`);
    expect(unsubscribe.recordRoute).toBeUndefined();
  }, 20_000);

  it('a body in ISO-8859-1 (declared charset) arrives byte-identical', async () => {
    const k = kamailio as KamailioProcess;
    const r = await runSipp({
      scenario: scenario('publish-latin1.xml'),
      targetPort: k.sipPort,
      keys: { user: 'dave' },
      timeoutSec: 5,
    });
    expect(r.exitCode, sippFailureText(r)).toBe(0);
    const sent = sentRequest(r.messages);
    expect(sent.body.includes(Buffer.from([0xe9]))).toBe(true); // really not UTF-8 on the wire
    expect(engine.received).toHaveLength(1);
    const got = engine.received[0] as SipRequest;
    expect(got.contentType).toBe('application/pidf+xml;charset=ISO-8859-1');
    expect(got.body).toContain('café über Straße');
    expect(Buffer.from(got.body ?? '', 'latin1').equals(sent.body)).toBe(true);
  }, 20_000);

  it('a body that is not valid UTF-8 and declares no charset is refused with 400, engine untouched', async () => {
    const k = kamailio as KamailioProcess;
    const r = await runSipp({
      scenario: scenario('publish-invalid-utf8.xml'),
      targetPort: k.sipPort,
      keys: { user: 'erin' },
      timeoutSec: 5,
    });
    expect(r.exitCode, sippFailureText(r)).toBe(0);
    const reply = finalResponse(r.messages);
    expect(statusOf(reply)).toBe(400);
    expect(headerValue(reply, 'Warning')).toMatch(/^399 presenced ".*not valid utf-8/i);
    expect(engine.received).toHaveLength(0);
  }, 20_000);

  it('a header field that is not UTF-8 is refused with 400 by the config (jansson_xencode cannot encode it)', async () => {
    const k = kamailio as KamailioProcess;
    const r = await runSipp({
      scenario: scenario('publish-invalid-utf8-header.xml'),
      targetPort: k.sipPort,
      keys: { user: 'kim' },
      timeoutSec: 5,
    });
    expect(r.exitCode, sippFailureText(r)).toBe(0);
    const reply = finalResponse(r.messages);
    expect(statusOf(reply)).toBe(400);
    expect(headerValue(reply, 'Warning')).toMatch(/not valid UTF-8/);
    expect(engine.received).toHaveLength(0);
  }, 20_000);

  it('presenced slow: Kamailio answers 503 + Retry-After at the timeout, never hangs', async () => {
    const k = kamailio as KamailioProcess;
    engine.delayMs = RPC_TIMEOUT_MS * 2.5;
    const r = await runSipp({
      scenario: scenario('publish-expect-503.xml'),
      targetPort: k.sipPort,
      keys: { user: 'frank' },
      timeoutSec: 6,
    });
    expect(r.exitCode, sippFailureText(r)).toBe(0);
    const reply = finalResponse(r.messages);
    expect(headerValue(reply, 'Retry-After')).toBe('7');
    const waited = reply.time - sentRequest(r.messages).time;
    measured['slow_503_after_ms'] = Math.round(waited);
    expect(waited).toBeGreaterThanOrEqual(RPC_TIMEOUT_MS - 50);
    expect(waited).toBeLessThan(RPC_TIMEOUT_MS + 1000);
    expect(engine.received).toHaveLength(1); // received once (retry=0), answered too late
    await engine.idle(); // the late answer is written and ignored by Kamailio
    expect(k.alive).toBe(true);
  }, 20_000);

  it('presenced down: 503 + Retry-After within 1 s; Kamailio reconnects when it is back', async () => {
    const k = kamailio as KamailioProcess;
    await server.close();
    await sleep(300); // let janssonrpcc see the connection close
    const r = await runSipp({
      scenario: scenario('publish-expect-503.xml'),
      targetPort: k.sipPort,
      keys: { user: 'gina' },
      timeoutSec: 5,
    });
    expect(r.exitCode, sippFailureText(r)).toBe(0);
    const reply = finalResponse(r.messages);
    expect(headerValue(reply, 'Retry-After')).toBe('7');
    measured['down_503_after_ms'] = Math.round(reply.time - sentRequest(r.messages).time);
    expect(reply.time - sentRequest(r.messages).time).toBeLessThan(1000);
    expect(engine.received).toHaveLength(0);

    // back up on the same port: janssonrpcc reconnects by itself
    const t0 = Date.now();
    server = newServer();
    await server.listen(rpcPort, '127.0.0.1');
    await waitFor(() => server.connectionCount >= 1, 10_000, 'janssonrpcc to reconnect');
    const reconnectMs = Date.now() - t0;
    measured['reconnect_ms'] = reconnectMs;
    expect(reconnectMs).toBeLessThan(10_000);
    const ok = await runSipp({
      scenario: scenario('publish-presence.xml'),
      targetPort: k.sipPort,
      keys: { user: 'gina' },
      timeoutSec: 5,
    });
    expect(ok.exitCode, sippFailureText(ok)).toBe(0);
    expect(engine.received).toHaveLength(1);
  }, 30_000);

  it('malformed JSON-RPC from a raw TCP client gets JSON-RPC errors; the server keeps serving Kamailio', async () => {
    const client = await RawRpcClient.connect(rpcPort);
    try {
      client.write(encodeNetstring('{not json'));
      expect(await client.next()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: JsonRpcErrorCode.parseError } });

      client.sendJson([1, 2]);
      expect(await client.next()).toMatchObject({ id: null, error: { code: JsonRpcErrorCode.invalidRequest } });

      client.sendJson({ jsonrpc: '1.0', id: 3, method: 'presenced.request', params: validParams() });
      expect(await client.next()).toMatchObject({ id: 3, error: { code: JsonRpcErrorCode.invalidRequest } });

      client.sendJson({ jsonrpc: '2.0', id: 4, method: 'no.such.method', params: {} });
      expect(await client.next()).toMatchObject({ id: 4, error: { code: JsonRpcErrorCode.methodNotFound } });

      for (const [id, params] of [
        [5, 'not an object'],
        [6, validParams({ cseq: '1 SUBSCRIBE' })],
        [7, validParams({ sourcePort: 70000 })],
        [8, validParams({ from: 'x\r\nVia: injected' })],
        [9, validParams({ bodyBase64: '***' })],
        [10, validParams({ sourceIp: 'not-an-ip' })],
        [11, validParams({ callId: undefined })],
      ] as const) {
        client.sendJson({ jsonrpc: '2.0', id, method: 'presenced.request', params });
        const answer = await client.next();
        expect(answer, JSON.stringify(answer)).toMatchObject({
          id,
          error: { code: JsonRpcErrorCode.invalidParams, data: { code: 400, reason: 'Bad Request' } },
        });
      }

      // oversize frame: skipped without buffering, answered with the id from its head
      const big = `{"id":99,"jsonrpc":"2.0","method":"presenced.request","params":{"body":"${'x'.repeat(300 * 1024)}"}}`;
      client.write(encodeNetstring(big));
      expect(await client.next()).toMatchObject({ id: 99, error: { code: JsonRpcErrorCode.tooLarge, data: { code: 413 } } });

      // a notification (no id) gets no answer and changes nothing
      client.sendJson({ jsonrpc: '2.0', method: 'presenced.request', params: validParams() });
      // partial reads and several frames per chunk, pipelined, answered out of order
      const slow = encodeNetstring(JSON.stringify({ jsonrpc: '2.0', id: 20, method: 'presenced.request', params: validParams({ requestUri: 'sip:slow@example.com' }) }));
      const fast = encodeNetstring(JSON.stringify({ jsonrpc: '2.0', id: 21, method: 'presenced.request', params: validParams() }));
      const both = Buffer.concat([slow, fast]);
      for (let i = 0; i < both.length; i += 7) client.write(both.subarray(i, i + 7));
      const first = await client.next();
      const second = await client.next();
      expect(first).toMatchObject({ jsonrpc: '2.0', id: 21, result: { code: 200, reason: 'OK' } });
      expect(second).toMatchObject({ jsonrpc: '2.0', id: 20, result: { code: 200 } });
      expect((second['result'] as { headers: string }).headers).toMatch(/^SIP-ETag: etag-\d+-[^\r\n]*\r\nExpires: 60\r\n$/);
      expect(engine.received).toHaveLength(2); // the notification was not handled

      // broken framing cannot be resynced: parse error, then the server closes that connection
      client.write('12x:');
      expect(await client.next()).toMatchObject({ id: null, error: { code: JsonRpcErrorCode.parseError } });
      await waitFor(() => client.closed, 3000, 'server to close the broken connection');
    } finally {
      client.close();
    }

    // still alive for Kamailio
    const k = kamailio as KamailioProcess;
    engine.reset();
    const r = await runSipp({ scenario: scenario('publish-presence.xml'), targetPort: k.sipPort, keys: { user: 'hank' }, timeoutSec: 5 });
    expect(r.exitCode, sippFailureText(r)).toBe(0);
    expect(engine.received).toHaveLength(1);
    expect(server.stats.framingErrors).toBe(1);
    expect(server.stats.oversize).toBe(1);
  }, 30_000);
});

describe('JSON-RPC server bounds', () => {
  it('refuses requests beyond maxPendingPerConnection with a 503 + Retry-After error', async () => {
    const engine = new ScriptedEngine();
    engine.delayMs = 300;
    const server = new KamailioJsonRpcServer({ engine, maxPendingPerConnection: 2, retryAfterSeconds: 9, logger: new CollectingLogger() });
    const port = await server.listen(0);
    const client = await RawRpcClient.connect(port);
    try {
      for (const id of [1, 2, 3]) client.sendJson({ jsonrpc: '2.0', id, method: 'presenced.request', params: validParams() });
      const busy = await client.next();
      expect(busy).toMatchObject({
        id: 3,
        error: { code: JsonRpcErrorCode.busy, data: { code: 503, reason: 'Service Unavailable', headers: 'Retry-After: 9\r\n' } },
      });
      const ids = [(await client.next())['id'], (await client.next())['id']].sort();
      expect(ids).toEqual([1, 2]);
    } finally {
      client.close();
      await server.close();
    }
  }, 10_000);

  it('an engine that throws or returns an unusable reply gives a 500 error, not a crash', async () => {
    let mode: 'throw' | 'inject' | 'none' = 'throw';
    const engine: PresenceEngine = {
      handle: async () => {
        if (mode === 'throw') throw new Error('boom');
        if (mode === 'inject') {
          return { reply: { status: 200, reason: 'OK', headers: [{ name: 'X-Evil', value: 'a\r\nVia: x' }] }, notifies: [] };
        }
        return { notifies: [] };
      },
    };
    const server = new KamailioJsonRpcServer({ engine, logger: new CollectingLogger() });
    const port = await server.listen(0);
    const client = await RawRpcClient.connect(port);
    try {
      for (const m of ['throw', 'inject', 'none'] as const) {
        mode = m;
        client.sendJson({ jsonrpc: '2.0', id: m, method: 'presenced.request', params: validParams() });
        expect(await client.next()).toMatchObject({ id: m, error: { code: JsonRpcErrorCode.internalError, data: { code: 500 } } });
      }
    } finally {
      client.close();
      await server.close();
    }
  }, 10_000);
});
