/**
 * Outbound path (a) end to end with the real Kamailio 5.6 and sipp:
 *
 *   SipNotifyTransport ──SIP UDP/TCP──► kamailio (cfg/kamailio-presence-proxy.cfg,
 *   route[PRESENCED_NOTIFY_RELAY]) ──SIP──► sipp UAS (the watcher)
 *
 * NOTIFYs are built like the core builds them (renderDialogHeaders); the
 * watcher's answer must come back to presenced as the transport's result.
 * Kamailio's PRESENCED_SIP_HOST/PORT are the transport's UDP socket (the
 * relay route only accepts UDP NOTIFYs from that exact source). Every
 * process is stopped by PID in afterAll; every step is time-bounded.
 *
 * Needs kamailio + sipp: integrations/kamailio/setup/install-debian-packages.sh
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Notify } from '../../core/contract.js';
import { renderDialogHeaders } from '../../core/sip/notify-headers.js';
import type { DeliveryResult, LinkState } from '../../integrations/kamailio/delivery/notify-transport.js';
import { SipNotifyTransport } from '../../integrations/kamailio/delivery/sip-notify-transport.js';
import { freePort } from '../support/free-port.js';
import { KamailioProcess } from '../support/kamailio-process.js';
import { type SippMessage, type SippResult, headerValue, headerValues, runSipp } from '../support/sipp-process.js';
import { waitFor } from '../support/wait.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const proxyCfg = path.join(repo, 'integrations/kamailio/cfg/kamailio-presence-proxy.cfg');
const scenario = (name: string): string => path.join(here, 'sipp', name);

/** True when a socket of `proto` is bound (UDP) / listening (TCP) on 127.0.0.1:port (Linux /proc; no probing that could steal the port). */
function isListening(proto: 'udp' | 'tcp', port: number): boolean {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of [`/proc/net/${proto}`, `/proc/net/${proto}6`]) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1] ?? '';
      if (!local.endsWith(`:${hexPort}`)) continue;
      if (proto === 'udp' || cols[3] === '0A') return true;
    }
  }
  return false;
}

function sippFailureText(r: SippResult): string {
  return `sipp exit ${r.exitCode}\n${r.errors}\n${r.stderr}\n${r.messages.map((m) => `${m.direction}: ${m.raw.toString('utf8')}`).join('\n---\n')}`;
}

function receivedNotify(r: SippResult): SippMessage {
  const m = r.messages.find((x) => x.direction === 'received' && x.startLine.startsWith('NOTIFY '));
  if (m === undefined) throw new Error(`the watcher received no NOTIFY\n${sippFailureText(r)}`);
  return m;
}

/** Starts a sipp watcher and resolves once its socket is up. */
async function watcher(
  file: string,
  proto: 'udp' | 'tcp',
  targetPort: number,
): Promise<{ port: number; done: Promise<SippResult> }> {
  const port = await freePort();
  const done = runSipp({
    scenario: scenario(file),
    targetPort,
    transport: proto === 'udp' ? 'u1' : 't1',
    localPort: port,
    timeoutSec: 12,
  });
  let exited: SippResult | undefined;
  void done.then((r) => {
    exited = r;
  });
  await waitFor(() => exited !== undefined || isListening(proto, port), 5000, `sipp to listen on ${proto} ${port}`);
  if (exited !== undefined) throw new Error(`sipp exited before listening\n${sippFailureText(exited)}\n${exited.stdout.slice(-2000)}`);
  return { port, done };
}

let seq = 0;
/** A NOTIFY as the core builds it for a dialog with the watcher at `target`. */
function notify(target: string, o: Partial<Notify> & { route?: string[] } = {}): Notify {
  seq++;
  const { route = [], ...rest } = o;
  return {
    subscriptionId: `relay-sub-${seq}`,
    resource: 'sip:alice@example.com',
    event: 'presence',
    requestUri: target,
    nextHop: route[0]?.replace(/^<|>$/g, '') ?? target,
    cseq: 100 + seq,
    subscriptionState: 'active;expires=599',
    dialogHeaders: renderDialogHeaders({
      from: `"Älice Ünïcode" <sip:alice@example.com>;tag=pres${seq}tag`,
      to: `<sip:bob@example.com>;tag=watcher${seq}`,
      callId: `relay-${seq}-${process.pid}@127.0.0.1`,
      route,
      contact: '<sip:presence@127.0.0.1:5060>',
      event: 'presence',
    }),
    body: {
      contentType: 'application/pidf+xml',
      text: `<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple id="t${seq}"><status><basic>open</basic></status><note>Grüße aus 東京 — ☕</note></tuple></presence>`,
    },
    terminal: false,
    fullState: true,
    ...rest,
  };
}

/** The watcher saw exactly what presenced sent: dialog fields, CSeq, state, body bytes. */
function expectIntact(got: SippMessage, n: Notify, from: SipNotifyTransport): void {
  expect(got.startLine).toBe(`NOTIFY ${n.requestUri} SIP/2.0`);
  const block = n.dialogHeaders;
  const field = (name: string): string | undefined => new RegExp(`^${name}: (.*)$`, 'm').exec(block)?.[1];
  expect(headerValue(got, 'From')).toBe(field('From'));
  expect(headerValue(got, 'To')).toBe(field('To'));
  expect(headerValue(got, 'Call-ID')).toBe(field('Call-ID'));
  expect(headerValue(got, 'Contact')).toBe(field('Contact'));
  expect(headerValue(got, 'Event')).toBe('presence');
  expect(headerValue(got, 'CSeq')).toBe(`${n.cseq} NOTIFY`);
  expect(headerValue(got, 'Subscription-State')).toBe(n.subscriptionState);
  expect(headerValue(got, 'Content-Type')).toBe(n.body?.contentType);
  expect(headerValue(got, 'User-Agent')).toBe('presenced');
  expect(headerValue(got, 'Max-Forwards')).toBe('69');
  expect(got.body.equals(Buffer.from(n.body?.text ?? '', 'utf8'))).toBe(true);
  expect(headerValues(got, 'X-Presenced-Dst')).toEqual([]);
  // Kamailio's Via on top, ours below it
  const vias = headerValues(got, 'Via').flatMap((v) => v.split(/,\s*(?=SIP\/)/));
  expect(vias).toHaveLength(2);
  const ours = vias[1] ?? '';
  // Kamailio added received= and filled rport= (RFC 3581)
  expect(ours.startsWith(`SIP/2.0/${from === udpRef.current ? 'UDP' : 'TCP'} 127.0.0.1:${from.localPort};`), ours).toBe(true);
  expect(ours).toMatch(/;branch=z9hG4bK[A-Za-z0-9_-]{16}(;|$)/);
  expect(ours).toContain(`;rport=${from.localPort}`);
}

const measured: Record<string, number> = {};
/** The UDP transport of the suite (expectIntact tells the Via transport by it). */
const udpRef: { current: SipNotifyTransport | undefined } = { current: undefined };

describe('NOTIFY relay: SipNotifyTransport -> kamailio -> sipp watcher', () => {
  let kamailio: KamailioProcess | undefined;
  let presencedUdpPort = 0;
  let rpcPort = 0;
  let udp: SipNotifyTransport;
  let tcp: SipNotifyTransport;
  const links: Record<'udp' | 'tcp', LinkState[]> = { udp: [], tcp: [] };

  const startKamailio = async (sipPort?: number): Promise<KamailioProcess> =>
    KamailioProcess.start({
      configFile: proxyCfg,
      ...(sipPort !== undefined ? { sipPort } : {}),
      substdefs: {
        PRESENCED_SIP_HOST: '127.0.0.1',
        PRESENCED_SIP_PORT: presencedUdpPort,
        // nothing listens there: janssonrpcc only logs connect errors; the inbound path is not used here
        PRESENCED_RPC_PORT: rpcPort,
        PROXY_CHILDREN: 2,
      },
    });

  beforeAll(async () => {
    presencedUdpPort = await freePort();
    rpcPort = await freePort();
    kamailio = await startKamailio();
    const common = {
      keepalive: { intervalMs: 300, failuresBeforeDown: 2 },
      reconnect: { initialDelayMs: 100, maxDelayMs: 500 },
    };
    udp = new SipNotifyTransport({
      proxy: { host: '127.0.0.1', port: kamailio.sipPort, transport: 'udp' },
      local: { host: '127.0.0.1', port: presencedUdpPort },
      ...common,
    });
    udpRef.current = udp;
    tcp = new SipNotifyTransport({
      proxy: { host: '127.0.0.1', port: kamailio.sipPort, transport: 'tcp' },
      local: { host: '127.0.0.1', port: 0 },
      ...common,
    });
    udp.onLinkChange = (s) => links.udp.push(s);
    tcp.onLinkChange = (s) => links.tcp.push(s);
    await Promise.all([udp.start(), tcp.start()]);
    await waitFor(() => udp.linkState === 'up' && tcp.linkState === 'up', 5000, 'both links up (Kamailio answers OPTIONS)');
  }, 40_000);

  afterAll(async () => {
    console.info(`kamailio-notify-relay measurements: ${JSON.stringify(measured)}`);
    await udp?.close();
    await tcp?.close();
    await kamailio?.stop();
  }, 20_000);

  const transportFor = (p: 'udp' | 'tcp'): SipNotifyTransport => (p === 'udp' ? udp : tcp);

  it.each([
    ['udp', 'udp'],
    ['tcp', 'udp'],
    ['udp', 'tcp'],
    ['tcp', 'tcp'],
  ] as const)('presenced --%s--> kamailio --%s--> watcher: NOTIFY intact, 200 back', async (hop, watcherProto) => {
    const k = kamailio as KamailioProcess;
    const w = await watcher('relay-watcher-200.xml', watcherProto, k.sipPort);
    const target = `sip:bob@127.0.0.1:${w.port}${watcherProto === 'tcp' ? ';transport=tcp' : ''}`;
    const n = notify(target);
    const t0 = Date.now();
    const result = await transportFor(hop).send(n);
    measured[`${hop}_${watcherProto}_200_ms`] = Date.now() - t0;
    const r = await w.done;
    expect(r.exitCode, sippFailureText(r)).toBe(0);
    expect(result).toEqual({ kind: 'response', status: 200 } satisfies DeliveryResult);
    const got = receivedNotify(r);
    expectIntact(got, n, transportFor(hop));
    expect(headerValues(got, 'Via')[0] ?? '').toContain(watcherProto === 'tcp' ? 'SIP/2.0/TCP' : 'SIP/2.0/UDP');
  }, 30_000);

  it.each(['udp', 'tcp'] as const)('a 481 from the watcher comes back as 481 (presenced over %s)', async (hop) => {
    const k = kamailio as KamailioProcess;
    const w = await watcher('relay-watcher-481.xml', 'udp', k.sipPort);
    const result = await transportFor(hop).send(notify(`sip:bob@127.0.0.1:${w.port}`));
    const r = await w.done;
    expect(r.exitCode, sippFailureText(r)).toBe(0);
    expect(result).toEqual({ kind: 'response', status: 481 });
  }, 30_000);

  it('a 503 + Retry-After from the watcher comes back unchanged (the example cfg sets tm remap_503_500 = 0)', async () => {
    const k = kamailio as KamailioProcess;
    const w = await watcher('relay-watcher-503.xml', 'udp', k.sipPort);
    const result = await udp.send(notify(`sip:bob@127.0.0.1:${w.port}`));
    const r = await w.done;
    expect(r.exitCode, sippFailureText(r)).toBe(0);
    // With tm's default remap_503_500=1 this would be Kamailio's own 500 without Retry-After.
    expect(receivedNotify(r)).toBeDefined();
    expect(result).toMatchObject({ kind: 'response', status: 503 });
    expect((result as { retryAfter?: number }).retryAfter).toBeGreaterThan(0);
  }, 30_000);

  it.each(['udp', 'tcp'] as const)('X-Presenced-Dst delivers to the forced address and is removed (presenced over %s)', async (hop) => {
    const k = kamailio as KamailioProcess;
    const w = await watcher('relay-watcher-200.xml', 'udp', k.sipPort);
    // the Request-URI names an unroutable TEST-NET address: only the header can get it there
    const n = notify('sip:bob@192.0.2.1:5060', { destination: { transport: 'udp', address: '127.0.0.1', port: w.port } });
    const result = await transportFor(hop).send(n);
    const r = await w.done;
    expect(r.exitCode, sippFailureText(r)).toBe(0);
    expect(result).toEqual({ kind: 'response', status: 200 });
    expectIntact(receivedNotify(r), n, transportFor(hop));
  }, 30_000);

  it('a route set through Kamailio itself: Kamailio pops its own Route and follows the next one', async () => {
    const k = kamailio as KamailioProcess;
    const w = await watcher('relay-watcher-200.xml', 'udp', k.sipPort);
    const route = [`<sip:127.0.0.1:${k.sipPort};lr>`, `<sip:127.0.0.1:${w.port};lr>`];
    const n = notify('sip:bob@192.0.2.1:5060', { route });
    const result = await udp.send(n);
    const r = await w.done;
    expect(r.exitCode, sippFailureText(r)).toBe(0);
    expect(result).toEqual({ kind: 'response', status: 200 });
    const got = receivedNotify(r);
    expectIntact(got, n, udp);
    expect(headerValues(got, 'Route')).toEqual([`<sip:127.0.0.1:${w.port};lr>`]);
  }, 30_000);

  it('a silent watcher: Kamailio answers 408 itself (fr_timer) and presenced gets a response, not a link failure', async () => {
    const k = kamailio as KamailioProcess;
    const w = await watcher('relay-watcher-silent.xml', 'udp', k.sipPort);
    const t0 = Date.now();
    const result = await udp.send(notify(`sip:bob@127.0.0.1:${w.port}`));
    measured['silent_watcher_408_ms'] = Date.now() - t0;
    expect(result).toEqual({ kind: 'response', status: 408 });
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(udp.linkState).toBe('up');
    await w.done;
  }, 30_000);

  it('Kamailio stops: both links go down and sends fail at once; it restarts: both links come back', async () => {
    const k = kamailio as KamailioProcess;
    const port = k.sipPort;
    const downsBefore = { udp: udp.counters.linkDowns, tcp: tcp.counters.linkDowns };
    await k.stop();
    kamailio = undefined;
    const t0 = Date.now();
    await waitFor(() => udp.linkState === 'down' && tcp.linkState === 'down', 10_000, 'both links down');
    measured['link_down_detect_ms'] = Date.now() - t0;
    expect(udp.counters.linkDowns).toBe(downsBefore.udp + 1);
    expect(tcp.counters.linkDowns).toBe(downsBefore.tcp + 1);
    for (const t of [udp, tcp]) {
      const s = Date.now();
      const r = await t.send(notify('sip:bob@127.0.0.1:5999'));
      expect(r).toEqual({ kind: 'link-failure', detail: 'link down' });
      expect(Date.now() - s).toBeLessThan(100);
    }

    kamailio = await startKamailio(port);
    const t1 = Date.now();
    await waitFor(() => udp.linkState === 'up' && tcp.linkState === 'up', 10_000, 'both links up again');
    measured['link_up_after_restart_ms'] = Date.now() - t1;
    expect(links.udp.slice(-2)).toEqual(['down', 'up']);
    expect(links.tcp.slice(-2)).toEqual(['down', 'up']);
    for (const hop of ['udp', 'tcp'] as const) {
      const w = await watcher('relay-watcher-200.xml', 'udp', port);
      const result = await transportFor(hop).send(notify(`sip:bob@127.0.0.1:${w.port}`));
      const r = await w.done;
      expect(r.exitCode, sippFailureText(r)).toBe(0);
      expect(result).toEqual({ kind: 'response', status: 200 });
    }
  }, 60_000);
});
