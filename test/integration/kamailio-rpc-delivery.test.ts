/**
 * NOTIFY delivery over JSON-RPC end to end, with the real Kamailio 5.6 and sipp:
 *
 *   RpcNotifyTransport ──HTTP POST /RPC (tm.t_uac_wait)──► kamailio
 *     (cfg/kamailio-presence-proxy.cfg -A WITH_RPC_DELIVERY → presenced-rpc-delivery.cfg)
 *     ──SIP NOTIFY (tm UAC)──► sipp watcher (test/integration/sipp/rpc-watcher-*.xml)
 *
 * The watcher's final response travels back as the answer of the HTTP call.
 * Everything runs on loopback with free ports; every process is stopped by
 * PID and every step is time-bounded.
 *
 * Needs kamailio + sipp: integrations/kamailio/setup/install-debian-packages.sh
 */
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Notify, NotifyBody } from '../../core/contract.js';
import { renderDialogHeaders } from '../../core/sip/notify-headers.js';
import { RpcNotifyTransport, buildTUacWaitParams } from '../../integrations/kamailio/delivery/rpc-notify-transport.js';
import type { DeliveryResult, LinkState } from '../../integrations/kamailio/delivery/notify-transport.js';
import { freePort } from '../support/free-port.js';
import { KamailioProcess, kamailioBinary } from '../support/kamailio-process.js';
import { type SippMessage, type SippResult, headerValue, headerValues, runSipp } from '../support/sipp-process.js';
import { sleep, waitFor } from '../support/wait.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const cfgDir = path.join(repo, 'integrations/kamailio/cfg');
const proxyCfg = path.join(cfgDir, 'kamailio-presence-proxy.cfg');
const scenario = (name: string): string => path.join(here, 'sipp', name);

/** PRESENCED_NOTIFY_FR_TIMER for these tests: tm's 408 for a silent watcher after this many ms. */
const NOTIFY_FR_TIMER_MS = 1500;

const rnd = (): string => randomBytes(5).toString('hex');

const BODY: NotifyBody = {
  contentType: 'application/pidf+xml',
  text: '<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple id="t1"><status><basic>open</basic></status><note>Grüße</note></tuple></presence>',
};

interface WatcherNotify {
  readonly notify: Notify;
  readonly from: string;
  readonly tag: string;
}

/** A NOTIFY for a watcher at 127.0.0.1:`port`, with a From that has a display name and other params. */
function watcherNotify(
  proxyPort: number,
  port: number,
  over: Partial<{ -readonly [K in keyof Notify]: Notify[K] }> & { route?: readonly string[] } = {},
): WatcherNotify {
  const tag = `ps-${rnd()}`;
  const from = `"Presence Server; Inc." <sip:alice@example.com;transport=udp>;x=1;tag=${tag};y=2`;
  const { route = [], ...rest } = over;
  const requestUri = `sip:bob@127.0.0.1:${port}`;
  const dialogHeaders = renderDialogHeaders({
    from,
    to: `<sip:bob@example.com>;tag=wt-${rnd()}`,
    callId: `rpc-${rnd()}@127.0.0.1`,
    route,
    contact: `<sip:presence@127.0.0.1:${proxyPort}>`,
    event: 'presence;id=7',
  });
  return {
    tag,
    from,
    notify: {
      subscriptionId: `sub-${rnd()}`,
      resource: 'sip:alice@example.com',
      event: 'presence',
      requestUri,
      nextHop: requestUri,
      cseq: 41,
      subscriptionState: 'active;expires=599',
      dialogHeaders,
      body: BODY,
      terminal: false,
      fullState: true,
      ...rest,
    },
  };
}

function receivedNotifies(r: SippResult): SippMessage[] {
  return r.messages.filter((m) => m.direction === 'received' && m.startLine.startsWith('NOTIFY '));
}

function sippText(r: SippResult): string {
  return `sipp exit ${r.exitCode}\n${r.errors}\n${r.messages.map((m) => `${m.direction}: ${m.raw.toString('utf8')}`).join('\n---\n')}`;
}

function tagsOf(from: string): string[] {
  // header parameters after the '>' of the name-addr
  const after = from.slice(from.lastIndexOf('>') + 1);
  return [...after.matchAll(/;\s*tag=([^;\s]+)/gi)].map((m) => m[1] as string);
}

/** Runs a watcher scenario, sends `notify` once the watcher had time to bind, returns both outcomes. */
async function deliverTo(
  transport: RpcNotifyTransport,
  scenarioName: string,
  port: number,
  notify: Notify,
): Promise<{ result: DeliveryResult; sipp: SippResult; ms: number }> {
  const watcher = runSipp({ scenario: scenario(scenarioName), targetPort: kamailio().sipPort, localPort: port, timeoutSec: 8 });
  // sipp binds within a few ms; a NOTIFY sent before that is retransmitted by tm (UDP, T1 = 500 ms)
  await sleep(300);
  const t0 = Date.now();
  const result = await transport.send(notify);
  const ms = Date.now() - t0;
  return { result, sipp: await watcher, ms };
}

let k: KamailioProcess | undefined;
function kamailio(): KamailioProcess {
  if (k === undefined) throw new Error('kamailio not started');
  return k;
}

const startOptions = async (sipPort?: number) => ({
  configFile: proxyCfg,
  defines: ['WITH_RPC_DELIVERY'],
  ...(sipPort === undefined ? {} : { sipPort }),
  substdefs: {
    // nothing listens there: janssonrpcc's reconnect attempts are harmless here
    PRESENCED_RPC_PORT: await freePort(),
    PRESENCED_SIP_PORT: await freePort(),
    PROXY_CHILDREN: 2,
    PRESENCED_NOTIFY_FR_TIMER: NOTIFY_FR_TIMER_MS,
  },
});

const measured: Record<string, number | string> = {};

describe('kamailio config with RPC delivery', () => {
  it.each([[[] as string[]], [['-A', 'WITH_RPC_DELIVERY']], [['-A', 'WITH_RPC_DELIVERY', '--substdef=!PRESENCED_NOTIFY_FR_TIMER!2000!g']]])(
    'kamailio -c passes with %j',
    (extra) => {
      const bin = kamailioBinary();
      if (bin === null) throw new Error('kamailio is not installed');
      const r = spawnSync(bin, ['-c', '-f', proxyCfg, '--substdef=!PROXY_SIP_PORT!5999!g', ...extra], { encoding: 'utf8', timeout: 20_000 });
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    },
  );

  it('presenced-rpc-delivery.cfg included by a config that already loads tm/sl/textops/pv/jsonrpcs passes kamailio -c', () => {
    const bin = kamailioBinary();
    if (bin === null) throw new Error('kamailio is not installed');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'presenced-rpccfg-'));
    try {
      const cfg = path.join(dir, 'kamailio.cfg');
      writeFileSync(
        cfg,
        [
          '#!KAMAILIO',
          'listen=tcp:127.0.0.1:5996',
          'tcp_accept_no_cl=yes',
          'loadmodule "tm.so"',
          'loadmodule "sl.so"',
          'loadmodule "textops.so"',
          'loadmodule "pv.so"',
          'loadmodule "xhttp.so"',
          'loadmodule "jsonrpcs.so"',
          'modparam("jsonrpcs", "transport", 0)',
          `include_file "${path.join(cfgDir, 'presenced-rpc-delivery.cfg')}"`,
          'request_route {',
          '  sl_send_reply("404", "Not Found");',
          '}',
          '',
        ].join('\n'),
      );
      const r = spawnSync(bin, ['-c', '-f', cfg], { encoding: 'utf8', timeout: 20_000 });
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('RPC delivery: RpcNotifyTransport -> kamailio tm.t_uac_wait -> sipp watcher', () => {
  let transport: RpcNotifyTransport;
  const changes: LinkState[] = [];

  beforeAll(async () => {
    k = await KamailioProcess.start(await startOptions());
    transport = new RpcNotifyTransport({
      url: `http://127.0.0.1:${k.sipPort}/RPC`,
      maxInFlight: 8,
      timeoutMs: 10_000,
      keepalive: { intervalMs: 200, failuresBeforeDown: 2 },
    });
    transport.onLinkChange = (s) => changes.push(s);
  }, 40_000);

  afterAll(async () => {
    console.info(`kamailio-rpc-delivery measurements: ${JSON.stringify(measured)}`);
    await transport?.close();
    await k?.stop();
  }, 20_000);

  it('start(): the probe (system.methodHelp tm.t_uac_wait) answers -> link up', async () => {
    await transport.start();
    expect(transport.linkState).toBe('up');
    expect(transport.counters.probeFailures).toBe(0);
  });

  it('the watcher gets our NOTIFY with exactly our From (one tag), CSeq, Subscription-State, Event, body, no X-From; send() resolves with its 200', async () => {
    const port = await freePort();
    const w = watcherNotify(kamailio().sipPort, port);
    const { result, sipp, ms } = await deliverTo(transport, 'rpc-watcher-200.xml', port, w.notify);
    measured['200 ms'] = ms;
    expect(result, sippText(sipp)).toEqual({ kind: 'response', status: 200 });
    expect(sipp.exitCode, sippText(sipp)).toBe(0);
    const got = receivedNotifies(sipp);
    expect(got.length).toBeGreaterThanOrEqual(1);
    const m = got[0] as SippMessage;
    expect(m.startLine).toBe(`NOTIFY ${w.notify.requestUri} SIP/2.0`);
    const froms = headerValues(m, 'From');
    expect(froms).toHaveLength(1);
    expect(froms[0]).toBe(w.from);
    expect(tagsOf(froms[0] as string)).toEqual([w.tag]);
    expect(headerValues(m, 'X-From')).toEqual([]);
    expect(headerValues(m, 'CSeq')).toEqual(['41 NOTIFY']);
    expect(headerValues(m, 'Subscription-State')).toEqual(['active;expires=599']);
    expect(headerValues(m, 'Event')).toEqual(['presence;id=7']);
    expect(headerValues(m, 'Max-Forwards')).toEqual(['70']);
    expect(headerValues(m, 'Content-Type')).toEqual(['application/pidf+xml']);
    expect(headerValues(m, 'Content-Length')).toEqual([String(Buffer.byteLength(BODY.text))]);
    expect(m.body.toString('utf8')).toBe(BODY.text);
    const dialog = w.notify.dialogHeaders;
    expect(headerValue(m, 'To')).toBe(/^To: (.*)$/m.exec(dialog)?.[1]);
    expect(headerValue(m, 'Call-ID')).toBe(/^Call-ID: (.*)$/m.exec(dialog)?.[1]);
    expect(headerValue(m, 'Contact')).toBe(`<sip:presence@127.0.0.1:${kamailio().sipPort}>`);
    expect(headerValues(m, 'Route')).toEqual([]);
  });

  it('a NOTIFY without body (pending): no Content-Type, Content-Length 0', async () => {
    const port = await freePort();
    const w = watcherNotify(kamailio().sipPort, port, { subscriptionState: 'pending;expires=60' });
    const { body: _omitted, ...pending } = w.notify;
    const { result, sipp } = await deliverTo(transport, 'rpc-watcher-200.xml', port, pending);
    expect(result, sippText(sipp)).toEqual({ kind: 'response', status: 200 });
    const m = receivedNotifies(sipp)[0] as SippMessage;
    expect(headerValues(m, 'Content-Type')).toEqual([]);
    expect(headerValues(m, 'Content-Length')).toEqual(['0']);
    expect(headerValues(m, 'Subscription-State')).toEqual(['pending;expires=60']);
    expect(tagsOf(headerValue(m, 'From') ?? '')).toEqual([w.tag]);
  });

  it('the watcher answers 481 -> send() resolves with 481', async () => {
    const port = await freePort();
    const w = watcherNotify(kamailio().sipPort, port);
    const { result, sipp } = await deliverTo(transport, 'rpc-watcher-481.xml', port, w.notify);
    expect(result, sippText(sipp)).toEqual({ kind: 'response', status: 481 });
    expect(transport.linkState).toBe('up');
  });

  it('the watcher answers 503 with Retry-After: 30 -> response 503, retryAfter 30', async () => {
    const port = await freePort();
    const w = watcherNotify(kamailio().sipPort, port);
    const { result, sipp } = await deliverTo(transport, 'rpc-watcher-503.xml', port, w.notify);
    expect(result, sippText(sipp)).toEqual({ kind: 'response', status: 503, retryAfter: 30 });
  });

  it('a silent watcher -> Kamailio\'s own 408 after PRESENCED_NOTIFY_FR_TIMER', async () => {
    const port = await freePort();
    const w = watcherNotify(kamailio().sipPort, port);
    const { result, sipp, ms } = await deliverTo(transport, 'rpc-watcher-silent.xml', port, w.notify);
    measured['408 ms'] = ms;
    expect(result, sippText(sipp)).toEqual({ kind: 'response', status: 408 });
    expect(receivedNotifies(sipp).length).toBeGreaterThanOrEqual(1);
    expect(ms).toBeGreaterThanOrEqual(NOTIFY_FR_TIMER_MS - 100);
    expect(ms).toBeLessThan(NOTIFY_FR_TIMER_MS + 2500);
    expect(transport.linkState).toBe('up');
  });

  it('a route set: sent to the top Route (as next hop), Request-URI and Route headers kept', async () => {
    const port = await freePort();
    const elsewhere = await freePort(); // nobody listens: reaching it would end in 408
    const w = watcherNotify(kamailio().sipPort, port, {
      requestUri: `sip:bob@127.0.0.1:${elsewhere}`,
      nextHop: `sip:127.0.0.1:${port};lr`,
      route: [`<sip:127.0.0.1:${port};lr>`, '<sip:p2.example.net;lr>'],
    });
    const { result, sipp } = await deliverTo(transport, 'rpc-watcher-200.xml', port, w.notify);
    expect(result, sippText(sipp)).toEqual({ kind: 'response', status: 200 });
    const m = receivedNotifies(sipp)[0] as SippMessage;
    expect(m.startLine).toBe(`NOTIFY sip:bob@127.0.0.1:${elsewhere} SIP/2.0`);
    expect(headerValues(m, 'Route')).toEqual([`<sip:127.0.0.1:${port};lr>`, '<sip:p2.example.net;lr>']);
  });

  it('a destination (NAT): sent there instead of the Request-URI', async () => {
    const port = await freePort();
    const elsewhere = await freePort();
    const w = watcherNotify(kamailio().sipPort, port, {
      requestUri: `sip:bob@127.0.0.2:${elsewhere}`,
      nextHop: `sip:bob@127.0.0.2:${elsewhere}`,
      destination: { transport: 'udp', address: '127.0.0.1', port },
    });
    const { result, sipp } = await deliverTo(transport, 'rpc-watcher-200.xml', port, w.notify);
    expect(result, sippText(sipp)).toEqual({ kind: 'response', status: 200 });
    expect((receivedNotifies(sipp)[0] as SippMessage).startLine).toBe(`NOTIFY sip:bob@127.0.0.2:${elsewhere} SIP/2.0`);
  });

  it('the largest NOTIFY the default maxRequestBytes lets through fits Kamailio\'s TCP read buffer', async () => {
    const port = await freePort();
    const w = watcherNotify(kamailio().sipPort, port);
    const size = (text: string): number => {
      const built = buildTUacWaitParams({ ...w.notify, body: { contentType: 'text/plain', text } });
      if (!built.ok) throw new Error(built.reason);
      return Buffer.byteLength(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tm.t_uac_wait', params: built.params }));
    };
    // the JSON-RPC request body ends up a few bytes (the id's digits) below 15 360
    const text = 'x'.repeat(15_360 - size('') - 8);
    measured['largest request bytes'] = size(text);
    const { result, sipp } = await deliverTo(transport, 'rpc-watcher-200.xml', port, { ...w.notify, body: { contentType: 'text/plain', text } });
    expect(result, sippText(sipp)).toEqual({ kind: 'response', status: 200 });
    expect((receivedNotifies(sipp)[0] as SippMessage).body.length).toBe(text.length);
    // one byte over the bound is refused locally with 513, nothing is sent
    const sent = transport.counters.sent;
    const big = await transport.send({ ...w.notify, body: { contentType: 'text/plain', text: 'x'.repeat(15_361) } });
    expect(big).toEqual({ kind: 'response', status: 513 });
    expect(transport.counters.sent).toBe(sent);
  });

  it('tm cannot send (no SCTP socket) -> its fault 500 is a response, the link stays up', async () => {
    const w = watcherNotify(kamailio().sipPort, 9, { destination: { transport: 'sctp', address: '127.0.0.1', port: 9 } });
    const r = await transport.send(w.notify);
    expect(r).toEqual({ kind: 'response', status: 500 });
    expect(transport.linkState).toBe('up');
  });

  it('20 NOTIFYs at once (8 in flight): every one answered 200 over keep-alive connections', async () => {
    const port = await freePort();
    const watcher = runSipp({ scenario: scenario('rpc-watcher-200.xml'), targetPort: kamailio().sipPort, localPort: port, calls: 20, timeoutSec: 15 });
    await sleep(300);
    const t0 = Date.now();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => transport.send(watcherNotify(kamailio().sipPort, port, { cseq: 100 + i }).notify)),
    );
    measured['20 concurrent ms'] = Date.now() - t0;
    const sipp = await watcher;
    expect(results.filter((r) => r.kind === 'response' && r.status === 200), sippText(sipp)).toHaveLength(20);
    const cseqs = new Set(receivedNotifies(sipp).map((m) => headerValue(m, 'CSeq')));
    expect(cseqs.size).toBe(20);
    expect(transport.counters.inFlight).toBe(0);
  });

  it('a call above Kamailio\'s 16 KiB TCP read buffer is dropped by Kamailio: link failure (why maxRequestBytes exists)', async () => {
    const other = new RpcNotifyTransport({
      url: `http://127.0.0.1:${kamailio().sipPort}/RPC`,
      maxRequestBytes: 64 * 1024,
      timeoutMs: 5000,
      keepalive: { intervalMs: 1000, failuresBeforeDown: 1 },
    });
    try {
      const w = watcherNotify(kamailio().sipPort, 9);
      const r = await other.send({ ...w.notify, body: { contentType: 'text/plain', text: 'x'.repeat(17_000) } });
      expect(r.kind).toBe('link-failure');
      expect(other.linkState).toBe('down');
      await kamailio().waitForLog(/buffer overrun/, 3000);
    } finally {
      await other.close();
    }
  });

  it('the /RPC endpoint: 403 for other source addresses, 405 for GET', async () => {
    const ask = (method: string, localAddress: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port: kamailio().sipPort, path: '/RPC', method, localAddress, timeout: 3000, headers: { 'Content-Type': 'application/json' } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
        req.end(method === 'POST' ? JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'core.version' }) : undefined);
      });
    expect(await ask('POST', '127.0.0.2')).toBe(403);
    expect(await ask('GET', '127.0.0.1')).toBe(405);
    expect(await ask('POST', '127.0.0.1')).toBe(200);
  });

  it('a wrong path (xhttp route answers 404) is a link failure', async () => {
    const other = new RpcNotifyTransport({ url: `http://127.0.0.1:${kamailio().sipPort}/NOPE`, keepalive: { intervalMs: 1000, failuresBeforeDown: 1 } });
    try {
      const r = await other.send(watcherNotify(kamailio().sipPort, 9).notify);
      expect(r.kind).toBe('link-failure');
      if (r.kind === 'link-failure') expect(r.detail).toMatch(/HTTP 404/);
      expect(other.linkState).toBe('down');
    } finally {
      await other.close();
    }
  });

  it('Kamailio stops -> link-failure and down; it comes back on the same port -> up, and delivery works again', async () => {
    const sipPort = kamailio().sipPort;
    await kamailio().stop();
    k = undefined;
    const r = await transport.send(watcherNotify(sipPort, 9).notify);
    expect(r.kind).toBe('link-failure');
    expect(transport.linkState).toBe('down');
    expect(changes.at(-1)).toBe('down');
    // while down: answered at once, nothing sent
    const sent = transport.counters.sent;
    expect((await transport.send(watcherNotify(sipPort, 9).notify)).kind).toBe('link-failure');
    expect(transport.counters.sent).toBe(sent);

    const t0 = Date.now();
    k = await KamailioProcess.start(await startOptions(sipPort));
    await waitFor(() => transport.linkState === 'up', 5000, 'link up after restart');
    measured['up after restart ms'] = Date.now() - t0;
    expect(changes.slice(-2)).toEqual(['down', 'up']);

    const port = await freePort();
    const w = watcherNotify(sipPort, port);
    const { result, sipp } = await deliverTo(transport, 'rpc-watcher-200.xml', port, w.notify);
    expect(result, sippText(sipp)).toEqual({ kind: 'response', status: 200 });
  }, 30_000);
});
