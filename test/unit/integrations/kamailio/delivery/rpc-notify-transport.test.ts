/**
 * RpcNotifyTransport (integrations/kamailio/delivery/rpc-notify-transport.ts):
 * the tm.t_uac_wait call built from a Notify, the mapping of Kamailio's
 * answers, the concurrency bound, and the link state — against a local
 * node:http server that records every request and answers per script.
 * Everything runs on 127.0.0.1 and every wait is bounded.
 */
import http from 'node:http';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Notify } from '../../../../../core/contract.js';
import {
  RpcNotifyTransport,
  buildTUacWaitParams,
  destinationUri,
  interpretRpcAnswer,
  retryAfterOf,
  stripFromTag,
  type RpcNotifyTransportOptions,
} from '../../../../../integrations/kamailio/delivery/rpc-notify-transport.js';
import type { LinkState } from '../../../../../integrations/kamailio/delivery/notify-transport.js';
import { freePort } from '../../../../support/free-port.js';
import { sleep, waitFor } from '../../../../support/wait.js';

// ---------------------------------------------------------------------------
// fixtures

const DIALOG =
  'From: <sip:alice@example.com>;tag=ps-8f2a\r\n' +
  'To: "Bob" <sip:bob@example.com>;tag=wf1\r\n' +
  'Call-ID: a84b4c76e66710@pc33.example.com\r\n' +
  'Contact: <sip:presence@192.0.2.1:5060>\r\n' +
  'Event: presence\r\n';

function notify(over: Partial<{ -readonly [K in keyof Notify]: Notify[K] }> = {}): Notify {
  return {
    subscriptionId: 'sub-1',
    resource: 'sip:alice@example.com',
    event: 'presence',
    requestUri: 'sip:bob@192.0.2.9:5062',
    nextHop: 'sip:bob@192.0.2.9:5062',
    cseq: 7,
    subscriptionState: 'active;expires=600',
    dialogHeaders: DIALOG,
    body: { contentType: 'application/pidf+xml', text: '<presence entity="sip:alice@example.com"/>' },
    terminal: false,
    fullState: true,
    ...over,
  };
}

// ---------------------------------------------------------------------------
// a scripted JSON-RPC server standing in for Kamailio's /RPC

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly json: { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown };
}

type Answer =
  | { readonly status?: number; readonly reason?: string; readonly body: string }
  | 'hangup' // destroy the socket without answering
  | 'never'; // keep the request open

type Script = (req: Recorded) => Answer | Promise<Answer>;

const HELP = 'starts a tm uac and waits for the final reply';

function rpcResult(id: unknown, result: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', result, id });
}

function rpcFault(id: unknown, code: number, message: string): Answer {
  return { status: code > 0 && code < 1000 ? code : 500, reason: message, body: JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id }) };
}

/** The default: probes answered, t_uac_wait → 200 OK as Kamailio 5.6.3 prints it. */
const okScript: Script = (req) => {
  if (req.json.method === 'system.methodHelp') return { body: rpcResult(req.json.id, HELP) };
  return { body: rpcResult(req.json.id, [200, 'OK', '', '', '', 'Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\r\nCSeq: 7 NOTIFY\r\nContent-Length: 0\r\n\r\n']) };
};

class ScriptedRpcServer {
  readonly requests: Recorded[] = [];
  script: Script = okScript;
  connections = 0;
  private readonly sockets = new Set<net.Socket>();
  private readonly open = new Set<http.ServerResponse>();
  private readonly server: http.Server;
  port = 0;

  constructor() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: Recorded['json'] = {};
        try {
          json = JSON.parse(body) as Recorded['json'];
        } catch {
          /* recorded as is */
        }
        const rec: Recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, json };
        this.requests.push(rec);
        void Promise.resolve(this.script(rec)).then((answer) => {
          if (answer === 'never') {
            this.open.add(res);
            return;
          }
          if (answer === 'hangup') {
            req.socket.destroy();
            return;
          }
          res.writeHead(answer.status ?? 200, answer.reason ?? 'OK', { 'Content-Type': 'application/json' });
          res.end(answer.body);
        });
      });
    });
    this.server.on('connection', (s: net.Socket) => {
      this.connections++;
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  /** t_uac_wait calls only (probes filtered out). */
  get calls(): Recorded[] {
    return this.requests.filter((r) => r.json.method === 'tm.t_uac_wait');
  }

  get probes(): Recorded[] {
    return this.requests.filter((r) => r.json.method === 'system.methodHelp');
  }

  listen(port = 0): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        const a = this.server.address();
        this.port = typeof a === 'object' && a !== null ? a.port : 0;
        resolve();
      });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/RPC`;
  }

  close(): Promise<void> {
    for (const r of this.open) r.destroy();
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await (cleanups.pop() as () => Promise<void>)();
});

async function setup(
  options: Partial<RpcNotifyTransportOptions> = {},
  script: Script = okScript,
): Promise<{ server: ScriptedRpcServer; transport: RpcNotifyTransport; changes: LinkState[] }> {
  const server = new ScriptedRpcServer();
  server.script = script;
  await server.listen();
  const transport = new RpcNotifyTransport({ url: server.url, keepalive: { intervalMs: 100, failuresBeforeDown: 2 }, ...options });
  const changes: LinkState[] = [];
  transport.onLinkChange = (s) => changes.push(s);
  cleanups.push(async () => {
    await transport.close();
    await server.close();
  });
  return { server, transport, changes };
}

// ---------------------------------------------------------------------------

describe('buildTUacWaitParams', () => {
  it('builds the exact positional params: method, R-URI, ".", ".", headers with From/X-From, body', () => {
    const r = buildTUacWaitParams(notify());
    expect(r).toEqual({
      ok: true,
      params: [
        'NOTIFY',
        'sip:bob@192.0.2.9:5062',
        '.',
        '.',
        'From: <sip:alice@example.com>\r\n' +
          'X-From: <sip:alice@example.com>;tag=ps-8f2a\r\n' +
          'To: "Bob" <sip:bob@example.com>;tag=wf1\r\n' +
          'Call-ID: a84b4c76e66710@pc33.example.com\r\n' +
          'Contact: <sip:presence@192.0.2.1:5060>\r\n' +
          'Event: presence\r\n' +
          'CSeq: 7 NOTIFY\r\n' +
          'Subscription-State: active;expires=600\r\n' +
          'Max-Forwards: 70\r\n' +
          'Content-Type: application/pidf+xml\r\n',
        '<presence entity="sip:alice@example.com"/>',
      ],
    });
  });

  it('without a body: five params, no Content-Type, never Content-Length', () => {
    const { body: _omitted, ...pending } = notify({ subscriptionState: 'pending;expires=60' });
    const r = buildTUacWaitParams(pending);
    if (!r.ok) throw new Error(r.reason);
    expect(r.params).toHaveLength(5);
    const headers = r.params[4] as string;
    expect(headers).not.toMatch(/Content-Type/i);
    expect(headers).not.toMatch(/Content-Length/i);
    expect(headers.endsWith('Subscription-State: pending;expires=60\r\nMax-Forwards: 70\r\n')).toBe(true);
  });

  it('never passes Content-Length, also with a body', () => {
    const r = buildTUacWaitParams(notify());
    if (!r.ok) throw new Error(r.reason);
    expect(r.params[4]).not.toMatch(/content-length|^l:/im);
  });

  it.each([
    // [From value, tag-less From]
    ['<sip:alice@example.com>;tag=ps-8f2a', '<sip:alice@example.com>'],
    ['"Alice A." <sip:alice@example.com>;tag=x1;foo=bar', '"Alice A." <sip:alice@example.com>;foo=bar'],
    ['<sip:alice@example.com>;foo=bar;tag=x1;baz', '<sip:alice@example.com>;foo=bar;baz'],
    // a URI parameter named tag (inside <>) is not the header's tag
    ['<sip:alice@example.com;tag=uri;transport=tcp>;tag=x1', '<sip:alice@example.com;tag=uri;transport=tcp>'],
    // display name with ;tag=, <, > and an escaped quote inside the quotes
    ['"Al \\"x\\" ;tag=no <sip:evil>" <sip:alice@example.com>;TAG=x1', '"Al \\"x\\" ;tag=no <sip:evil>" <sip:alice@example.com>'],
    // quoted parameter value containing ;tag=
    ['<sip:alice@example.com>;p="a;tag=b";tag=x1', '<sip:alice@example.com>;p="a;tag=b"'],
    // addr-spec form: parameters after the URI are header parameters
    ['sip:alice@example.com;tag=x1', 'sip:alice@example.com'],
    ['sip:alice@example.com;foo;tag=x1', 'sip:alice@example.com;foo'],
    // spaces around the parameter
    ['<sip:alice@example.com> ; tag = x1 ;x=1', '<sip:alice@example.com> ;x=1'],
  ])('From %s → tag-less %s plus X-From with the original value', (from, tagless) => {
    const dialog = DIALOG.replace('From: <sip:alice@example.com>;tag=ps-8f2a', `From: ${from}`);
    const r = buildTUacWaitParams(notify({ dialogHeaders: dialog }));
    if (!r.ok) throw new Error(r.reason);
    const lines = (r.params[4] as string).split('\r\n');
    expect(lines[0]).toBe(`From: ${tagless}`);
    expect(lines[1]).toBe(`X-From: ${from}`);
    expect(lines.filter((l) => /^from:/i.test(l))).toHaveLength(1);
    expect(stripFromTag(from)?.hasTag).toBe(true);
  });

  it('uses the destination as next hop (sip:addr:port;transport=x, IPv6 bracketed)', () => {
    const r = buildTUacWaitParams(notify({ destination: { transport: 'tcp', address: '198.51.100.7', port: 41234 } }));
    if (!r.ok) throw new Error(r.reason);
    expect(r.params[2]).toBe('sip:198.51.100.7:41234;transport=tcp');
    expect(destinationUri({ transport: 'udp', address: '2001:db8::1', port: 5060 })).toBe('sip:[2001:db8::1]:5060;transport=udp');
    expect(destinationUri({ transport: 'udp', address: 'a b', port: 5060 })).toBeUndefined();
    expect(destinationUri({ transport: 'udp', address: '192.0.2.1', port: 0 })).toBeUndefined();
  });

  it('passes the top route as next hop when the Notify has a route set (tm does not route on Route headers)', () => {
    const dialog = DIALOG.replace('Contact:', 'Route: <sip:p1.example.net;lr>\r\nRoute: <sip:p2.example.net;lr>\r\nContact:');
    const r = buildTUacWaitParams(notify({ dialogHeaders: dialog, nextHop: 'sip:p1.example.net;lr' }));
    if (!r.ok) throw new Error(r.reason);
    expect(r.params[2]).toBe('sip:p1.example.net;lr');
    expect(r.params[4]).toContain('Route: <sip:p1.example.net;lr>\r\nRoute: <sip:p2.example.net;lr>\r\n');
  });

  it.each([
    ['CR/LF in Subscription-State', notify({ subscriptionState: 'active\r\nX-Evil: 1' })],
    ['From without tag', notify({ dialogHeaders: DIALOG.replace(';tag=ps-8f2a', '') })],
    ['From with an empty tag', notify({ dialogHeaders: DIALOG.replace(';tag=ps-8f2a', ';tag=') })],
    ['Content-Length in dialogHeaders', notify({ dialogHeaders: `${DIALOG}Content-Length: 5\r\n` })],
    ['compact l: in dialogHeaders', notify({ dialogHeaders: `${DIALOG}l: 5\r\n` })],
    ['X-From in dialogHeaders', notify({ dialogHeaders: `${DIALOG}X-From: <sip:x@y>;tag=1\r\n` })],
    ['two From lines', notify({ dialogHeaders: `${DIALOG}From: <sip:x@y>;tag=2\r\n` })],
    ['dialogHeaders not CRLF-terminated', notify({ dialogHeaders: DIALOG.slice(0, -2) })],
    ['a bare LF inside a value', notify({ dialogHeaders: DIALOG.replace('Event: presence', 'Event: presence\nX: y') })],
    ['"!!" in Contact (tm substitutes it)', notify({ dialogHeaders: DIALOG.replace('presence@', 'pre!!sence@') })],
    ['"!!" in From', notify({ dialogHeaders: DIALOG.replace('<sip:alice@', '"A!!" <sip:alice@') })],
    ['a CSeq above 2^31-1', notify({ cseq: 2 ** 31 })],
    ['a negative CSeq', notify({ cseq: -1 })],
    ['whitespace in the Request-URI', notify({ requestUri: 'sip:bob@x .' })],
    ['an invalid destination', notify({ destination: { transport: 'udp', address: '1.2.3.4', port: 70000 } })],
    ['CR in Content-Type', notify({ body: { contentType: 'text/plain\r\nX: 1', text: 'x' } })],
    ['a NUL in the body (jsonrpcs would cut it there)', notify({ body: { contentType: 'text/plain', text: 'a\u0000b' } })],
  ])('refuses %s', (_what, n) => {
    expect(buildTUacWaitParams(n).ok).toBe(false);
  });

  it('accepts "!!" in To and Call-ID (tm rebuilds those from its dialog)', () => {
    const dialog = DIALOG.replace('a84b4c76e66710@', 'a8!!4c@').replace('"Bob"', '"B!!ob"');
    expect(buildTUacWaitParams(notify({ dialogHeaders: dialog })).ok).toBe(true);
  });
});

describe('interpretRpcAnswer', () => {
  const ok = (status: number, retryAfter?: number) => ({
    result: retryAfter === undefined ? { kind: 'response', status } : { kind: 'response', status, retryAfter },
    link: 'up',
  });

  it.each([
    ['2xx result (6 elements)', 200, 'OK', rpcResult(1, [200, 'OK', '', '', '', 'Via: x\r\n\r\n']), ok(200)],
    ['4xx result (3 elements, 5.6.3)', 200, 'OK', rpcResult(1, [481, 'Call/Transaction Does Not Exist', 'Via: x\r\nContent-Length: 0\r\n\r\n']), ok(481)],
    ['tm timeout', 200, 'OK', rpcResult(1, [408, 'Request Timeout', '', '', '', '']), ok(408)],
    ['503 + Retry-After', 200, 'OK', rpcResult(1, [503, 'Service Unavailable', 'Via: x\r\nRetry-After: 30\r\n\r\n']), ok(503, 30)],
    ['Retry-After with comment', 200, 'OK', rpcResult(1, [503, 'x', 'Via: x\r\nretry-after:  120 (maintenance);duration=60\r\n\r\n']), ok(503, 120)],
    ['6xx result', 200, 'OK', rpcResult(1, [603, 'Decline', 'Via: x\r\n\r\n']), ok(603)],
    ['tm fault 400', 400, 'To missing', JSON.stringify({ jsonrpc: '2.0', error: { code: 400, message: 'To missing' }, id: 1 }), ok(400)],
    ['tm send failure 500', 500, 'x', JSON.stringify({ jsonrpc: '2.0', error: { code: 500, message: "I'm terribly sorry, server error occurred (7/RPC/UAC)" }, id: 1 }), ok(500)],
    ['tm fault 477', 477, 'x', JSON.stringify({ jsonrpc: '2.0', error: { code: 477, message: 'Unfortunately error on sending to next hop occurred' }, id: 1 }), ok(477)],
  ])('%s → response', (_what, status, reason, body, expected) => {
    expect(interpretRpcAnswer(status, reason, body, 1)).toEqual(expected);
  });

  it.each([
    ['Method Not Found (tm not loaded)', 500, 'Method Not Found', JSON.stringify({ jsonrpc: '2.0', error: { code: 500, message: 'Method Not Found' }, id: 1 })],
    ['JSON-RPC -32601', 200, 'OK', JSON.stringify({ jsonrpc: '2.0', error: { code: -32601, message: 'nope' }, id: 1 })],
    ['600 async not supported', 600, 'x', JSON.stringify({ jsonrpc: '2.0', error: { code: 600, message: 'Reply wait/async mode not supported by this rpc transport' }, id: 1 })],
    ['-32000 execution error', 500, 'x', JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Execution Error' }, id: 1 })],
    ['HTTP 403 from the xhttp route (empty body)', 403, 'Forbidden', ''],
    ['HTTP 404', 404, 'Not Found', ''],
    ['HTTP 502 with HTML', 502, 'Bad Gateway', '<html>bad gateway</html>'],
    ['garbage', 200, 'OK', '\u0000\u0001garbage'],
    ['JSON but not an object', 200, 'OK', '[1,2,3]'],
    ['null', 200, 'OK', 'null'],
    ['no result, no error', 200, 'OK', JSON.stringify({ jsonrpc: '2.0', id: 1 })],
    ['empty result object (invalid request)', 200, 'OK', JSON.stringify({ jsonrpc: '2.0', result: {}, id: 1 })],
    ['result code is a string', 200, 'OK', rpcResult(1, ['200', 'OK'])],
    ['result code is provisional', 200, 'OK', rpcResult(1, [180, 'Ringing'])],
    ['result code out of range', 200, 'OK', rpcResult(1, [700, 'x'])],
    ['result code fractional', 200, 'OK', rpcResult(1, [200.5, 'x'])],
    ['reason missing', 200, 'OK', rpcResult(1, [200])],
    ['answer for another id', 200, 'OK', rpcResult(2, [200, 'OK'])],
    ['error is a string', 200, 'OK', JSON.stringify({ jsonrpc: '2.0', error: 'boom', id: 1 })],
  ])('%s → link-failure, link down', (_what, status, reason, body) => {
    const v = interpretRpcAnswer(status, reason, body, 1);
    expect(v.link).toBe('down');
    expect(v.result.kind).toBe('link-failure');
    if (v.result.kind === 'link-failure') {
      expect(v.result.detail.length).toBeLessThanOrEqual(301);
      expect(v.result.detail).not.toMatch(/[\x00-\x1f]/);
    }
  });

  it('retryAfterOf reads only a Retry-After header field', () => {
    expect(retryAfterOf('Via: x\r\nRetry-After: 5\r\n')).toBe(5);
    expect(retryAfterOf('X-Retry-After: 5\r\n')).toBeUndefined();
    expect(retryAfterOf('Retry-After: soon\r\n')).toBeUndefined();
    expect(retryAfterOf('Retry-After: 99999999999\r\n')).toBeUndefined();
  });
});

describe('RpcNotifyTransport against a scripted /RPC server', () => {
  it('POSTs one JSON-RPC 2.0 tm.t_uac_wait call with the built params and resolves with the watcher status', async () => {
    const { server, transport } = await setup();
    const n = notify();
    await expect(transport.send(n)).resolves.toEqual({ kind: 'response', status: 200 });
    expect(server.calls).toHaveLength(1);
    const call = server.calls[0] as Recorded;
    expect(call.method).toBe('POST');
    expect(call.url).toBe('/RPC');
    expect(call.headers['content-type']).toBe('application/json');
    expect(call.headers['content-length']).toBe(String(Buffer.byteLength(call.body)));
    const built = buildTUacWaitParams(n);
    if (!built.ok) throw new Error(built.reason);
    expect(call.json).toEqual({ jsonrpc: '2.0', id: call.json.id, method: 'tm.t_uac_wait', params: built.params });
    expect(typeof call.json.id).toBe('number');
    const c = transport.counters;
    expect(c.sent).toBe(1);
    expect(c.responsesByClass['2xx']).toBe(1);
    expect(c.inFlight).toBe(0);
    expect(c.linkFailures).toBe(0);
  });

  it('maps results and faults per script: 481, 503 + Retry-After, tm 408, tm fault 400 (link stays up)', async () => {
    const answers: Answer[] = [];
    const { server, transport, changes } = await setup({}, (req) => {
      if (req.json.method !== 'tm.t_uac_wait') return okScript(req);
      return answers.shift() ?? { status: 500, body: 'script exhausted' };
    });
    answers.push({ body: rpcResult(1, [481, 'Call/Transaction Does Not Exist', 'Via: x\r\n\r\n']) });
    answers.push({ body: rpcResult(2, [503, 'Service Unavailable', 'Via: x\r\nRetry-After: 30\r\n\r\n']) });
    answers.push({ body: rpcResult(3, [408, 'Request Timeout', '', '', '', '']) });
    answers.push(rpcFault(4, 400, 'Invalid headers'));
    expect(await transport.send(notify())).toEqual({ kind: 'response', status: 481 });
    expect(await transport.send(notify())).toEqual({ kind: 'response', status: 503, retryAfter: 30 });
    expect(await transport.send(notify())).toEqual({ kind: 'response', status: 408 });
    expect(await transport.send(notify())).toEqual({ kind: 'response', status: 400 });
    expect(server.calls.map((c) => c.json.id)).toEqual([1, 2, 3, 4]);
    expect(transport.linkState).toBe('up');
    expect(changes).toEqual([]);
    expect(transport.counters.responsesByClass).toEqual({ '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 3, '5xx': 1, '6xx': 0 });
  });

  it('an answer that takes longer than idleSocketMs still arrives (the idle timeout only closes idle sockets)', async () => {
    const { transport } = await setup({ idleSocketMs: 150 }, async (req) => {
      if (req.json.method === 'tm.t_uac_wait') await sleep(500);
      return okScript(req);
    });
    expect(await transport.send(notify())).toEqual({ kind: 'response', status: 200 });
    expect(transport.linkState).toBe('up');
  });

  it('closes idle keep-alive sockets after idleSocketMs', async () => {
    const { server, transport } = await setup({ idleSocketMs: 150 });
    expect(await transport.send(notify())).toEqual({ kind: 'response', status: 200 });
    await sleep(500);
    expect(await transport.send(notify())).toEqual({ kind: 'response', status: 200 });
    expect(server.connections).toBe(2);
  });

  it('reuses keep-alive connections for consecutive calls', async () => {
    const { server, transport } = await setup();
    for (let i = 0; i < 5; i++) expect(await transport.send(notify({ cseq: 10 + i }))).toEqual({ kind: 'response', status: 200 });
    expect(server.connections).toBe(1);
  });

  it.each([
    ['Method Not Found', (id: unknown): Answer => rpcFault(id, 500, 'Method Not Found')],
    ['HTTP 403 from the xhttp route', (): Answer => ({ status: 403, reason: 'Forbidden', body: '' })],
    ['garbage', (): Answer => ({ body: '}{ not json' })],
    ['a hang-up without answer', (): Answer => 'hangup'],
  ])('%s → link-failure and link down', async (_what, answer) => {
    let probesOk = false;
    const { transport, changes } = await setup({}, (req) => {
      if (req.json.method === 'system.methodHelp') return probesOk ? okScript(req) : rpcFault(req.json.id, 400, 'command not found');
      return answer(req.json.id);
    });
    const r = await transport.send(notify());
    expect(r.kind).toBe('link-failure');
    expect(transport.linkState).toBe('down');
    expect(changes).toEqual(['down']);
    // while down nothing is sent
    const before = transport.counters.sent;
    expect((await transport.send(notify())).kind).toBe('link-failure');
    expect(transport.counters.sent).toBe(before);
    // the probe answers again → up
    probesOk = true;
    await waitFor(() => transport.linkState === 'up', 3000, 'link up', 10);
    expect(changes).toEqual(['down', 'up']);
  });

  it('a call that gets no answer within timeoutMs is a link failure, bounded in time', async () => {
    const { transport } = await setup({ timeoutMs: 300 }, (req) => (req.json.method === 'tm.t_uac_wait' ? 'never' : okScript(req)));
    const t0 = Date.now();
    const r = await transport.send(notify());
    const took = Date.now() - t0;
    expect(r.kind).toBe('link-failure');
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(3000);
    expect(transport.linkState).toBe('down');
  });

  it('an oversized answer is refused (link failure), not buffered', async () => {
    const { transport } = await setup({ maxResponseBytes: 4096 }, (req) =>
      req.json.method === 'tm.t_uac_wait' ? { body: rpcResult(req.json.id, [200, 'OK', 'x'.repeat(100_000)]) } : okScript(req),
    );
    const r = await transport.send(notify());
    expect(r.kind).toBe('link-failure');
  });

  it('keeps at most maxInFlight calls open, queues the rest FIFO, and drains as answers come', async () => {
    const held: (() => void)[] = [];
    let open = 0;
    let maxOpen = 0;
    const { server, transport } = await setup({ maxInFlight: 3 }, (req) => {
      if (req.json.method !== 'tm.t_uac_wait') return okScript(req);
      open++;
      maxOpen = Math.max(maxOpen, open);
      return new Promise<Answer>((resolve) => {
        held.push(() => {
          open--;
          resolve({ body: rpcResult(req.json.id, [200, 'OK', '', '', '', '']) });
        });
      });
    });
    const results = Array.from({ length: 10 }, (_, i) => transport.send(notify({ cseq: 100 + i })));
    await waitFor(() => held.length === 3, 3000, '3 calls at the server', 10);
    await sleep(50);
    expect(server.calls).toHaveLength(3);
    expect(transport.counters.inFlight).toBe(3);
    expect(transport.counters.queued).toBe(7);
    while (server.calls.length < 10 || held.length > 0) {
      await waitFor(() => held.length > 0, 3000, 'a held call', 10);
      (held.shift() as () => void)();
      await sleep(5);
    }
    const all = await Promise.all(results);
    expect(all.every((r) => r.kind === 'response' && r.status === 200)).toBe(true);
    expect(maxOpen).toBe(3);
    // FIFO: the CSeqs reached the server in send order
    const cseqs = server.calls.map((c) => /CSeq: (\d+) NOTIFY/.exec(String((c.json.params as string[])[4]))?.[1]);
    expect(cseqs).toEqual(Array.from({ length: 10 }, (_, i) => String(100 + i)));
    expect(transport.counters.inFlight).toBe(0);
    expect(transport.counters.queued).toBe(0);
  });

  it('answers 503 (Retry-After 1) locally when the FIFO is full', async () => {
    const { transport } = await setup({ maxInFlight: 1, maxQueued: 2 }, (req) => (req.json.method === 'tm.t_uac_wait' ? 'never' : okScript(req)));
    const pending = [transport.send(notify()), transport.send(notify()), transport.send(notify())];
    expect(await transport.send(notify())).toEqual({ kind: 'response', status: 503, retryAfter: 1 });
    expect(transport.counters.localRejects).toBe(1);
    await transport.close();
    const closed = await Promise.all(pending);
    expect(closed.every((r) => r.kind === 'link-failure')).toBe(true);
  });

  it('answers locally: 400 for a Notify that cannot be sent safely, 513 for a call above maxRequestBytes', async () => {
    const { server, transport } = await setup({ maxRequestBytes: 2048 });
    expect(await transport.send(notify({ subscriptionState: 'active\r\nVia: evil' }))).toEqual({ kind: 'response', status: 400 });
    expect(await transport.send(notify({ body: { contentType: 'text/plain', text: 'x'.repeat(4000) } }))).toEqual({
      kind: 'response',
      status: 513,
    });
    expect(server.calls).toHaveLength(0);
    expect(transport.counters.localRejects).toBe(2);
    expect(transport.counters.sent).toBe(0);
  });

  it('close(): in-flight and queued sends resolve as link failures; later sends too', async () => {
    const { transport } = await setup({ maxInFlight: 1 }, (req) => (req.json.method === 'tm.t_uac_wait' ? 'never' : okScript(req)));
    const a = transport.send(notify());
    const b = transport.send(notify());
    await waitFor(() => transport.counters.inFlight === 1, 2000, 'in flight', 10);
    const t0 = Date.now();
    await transport.close();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect((await a).kind).toBe('link-failure');
    expect((await b).kind).toBe('link-failure');
    expect((await transport.send(notify())).kind).toBe('link-failure');
  });
});

describe('RpcNotifyTransport link state', () => {
  it('ECONNREFUSED → link-failure and down; probes every interval; up again when Kamailio answers', async () => {
    const port = await freePort();
    const transport = new RpcNotifyTransport({ url: `http://127.0.0.1:${port}/RPC`, keepalive: { intervalMs: 100, failuresBeforeDown: 2 } });
    const changes: LinkState[] = [];
    transport.onLinkChange = (s) => changes.push(s);
    const server = new ScriptedRpcServer();
    cleanups.push(async () => {
      await transport.close();
      await server.close();
    });
    const r = await transport.send(notify());
    expect(r.kind).toBe('link-failure');
    if (r.kind === 'link-failure') expect(r.detail).toMatch(/ECONNREFUSED/);
    expect(transport.linkState).toBe('down');
    expect(changes).toEqual(['down']);
    await waitFor(() => transport.counters.probeFailures >= 2, 3000, 'two failed probes', 10);
    expect(transport.counters.linkFailures).toBe(1);
    // Kamailio comes (back) on that port
    await server.listen(port);
    await waitFor(() => transport.linkState === 'up', 3000, 'link up', 10);
    expect(changes).toEqual(['down', 'up']);
    expect(await transport.send(notify())).toEqual({ kind: 'response', status: 200 });
    expect(transport.counters.linkFailures).toBe(1);
  });

  it('start(): up when the probe answers, down (then probing) when it does not', async () => {
    const { transport, server } = await setup();
    await transport.start();
    expect(transport.linkState).toBe('up');
    expect(server.probes.length).toBeGreaterThanOrEqual(1);
    expect(server.probes[0]?.json.params).toEqual(['tm.t_uac_wait']);

    const port = await freePort();
    const t2 = new RpcNotifyTransport({ url: `http://127.0.0.1:${port}/RPC`, keepalive: { intervalMs: 100, failuresBeforeDown: 1 } });
    cleanups.push(() => t2.close());
    const changes: LinkState[] = [];
    t2.onLinkChange = (s) => changes.push(s);
    await t2.start();
    expect(t2.linkState).toBe('down');
    expect(changes).toEqual(['down']);
    await t2.start(); // idempotent
  });

  it('while up and idle, failuresBeforeDown failed probes in a row → down', async () => {
    let healthy = true;
    const { transport, changes, server } = await setup({ keepalive: { intervalMs: 80, failuresBeforeDown: 3 } }, (req) =>
      healthy ? okScript(req) : rpcFault(req.json.id, 500, 'Method Not Found'),
    );
    await transport.start();
    expect(transport.linkState).toBe('up');
    await sleep(250);
    expect(transport.linkState).toBe('up');
    healthy = false;
    const probesBefore = server.probes.length;
    await waitFor(() => transport.linkState === 'down', 3000, 'link down', 10);
    expect(server.probes.length - probesBefore).toBeGreaterThanOrEqual(3);
    expect(changes).toEqual(['down']);
    healthy = true;
    await waitFor(() => transport.linkState === 'up', 3000, 'link up', 10);
  });

  it('a listener that throws does not break the transport', async () => {
    const port = await freePort();
    const transport = new RpcNotifyTransport({ url: `http://127.0.0.1:${port}/RPC`, keepalive: { intervalMs: 100, failuresBeforeDown: 1 } });
    cleanups.push(() => transport.close());
    transport.onLinkChange = () => {
      throw new Error('listener bug');
    };
    expect((await transport.send(notify())).kind).toBe('link-failure');
    expect(transport.linkState).toBe('down');
  });

  it('refuses bad options at construction', () => {
    expect(() => new RpcNotifyTransport({ url: 'not a url' })).toThrow(TypeError);
    expect(() => new RpcNotifyTransport({ url: 'ftp://127.0.0.1/RPC' })).toThrow(TypeError);
    expect(() => new RpcNotifyTransport({ url: 'http://127.0.0.1/RPC', maxInFlight: 0 })).toThrow(RangeError);
    expect(() => new RpcNotifyTransport({ url: 'http://127.0.0.1/RPC', keepalive: { intervalMs: 1, failuresBeforeDown: 1 } })).toThrow(RangeError);
  });
});
