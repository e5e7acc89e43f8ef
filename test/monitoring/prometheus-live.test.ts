/**
 * The monitoring artefacts against the real thing: Kamailio 5.6 with the
 * example config started with -A WITH_PROMETHEUS (xhttp_prom), presenced with
 * its /metrics server, SIP traffic through Kamailio (PUBLISH/SUBSCRIBE from
 * UDP user agents; watchers that answer NOTIFYs 200, 481, 503 or not at all;
 * a Kamailio restart while a NOTIFY is in flight), and a real Prometheus on a
 * free loopback port scraping both every second with the shipped alert rules
 * loaded.
 *
 * Proves: `promtool check metrics` passes on a live /metrics scrape taken
 * under load; every PromQL expression of every dashboard panel parses and
 * returns data in Prometheus; every alert rule expression parses, and
 * Prometheus evaluates every rule without error.
 *
 * Every process is stopped by PID in afterAll; every wait is bounded.
 * Needs kamailio (integrations/kamailio/setup/install-debian-packages.sh) and
 * prometheus + promtool (monitoring/setup/install-prometheus.sh).
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PresenceMetrics } from '../../monitoring/presence-metrics.js';
import { startStack, type Stack } from '../support/stack-harness.js';
import { header, parseSip, type SipMessage } from '../support/udp-sip-ua.js';
import {
  ALERTS_YML,
  DASHBOARD_JSON,
  PrometheusProcess,
  type QueryResult,
  alertRules,
  dashboardTargets,
  promtool,
  substituteTemplate,
} from './prometheus-process.js';
import { sleep, waitFor } from '../support/wait.js';

/** Current value of one series in the registry (sum over matching label sets). */
async function metricValue(m: PresenceMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await m.registry.getSingleMetric(name)?.get();
  return (metric?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x))
    .reduce((s, v) => s + v.value, 0);
}

/**
 * A SIP user agent on UDP: sends requests to Kamailio, records everything,
 * answers NOTIFYs with `answer` (a status code, or 'silent' for no answer).
 */
class Ua {
  readonly received: SipMessage[] = [];
  answer: number | 'silent' = 200;
  private readonly sock = dgram.createSocket('udp4');
  port = 0;
  private seq = 0;

  constructor(
    readonly name: string,
    private readonly proxyPort: number,
  ) {}

  async start(): Promise<this> {
    await new Promise<void>((r) => this.sock.bind(0, '127.0.0.1', () => r()));
    this.port = this.sock.address().port;
    this.sock.on('message', (buf, rinfo) => {
      const m = parseSip(buf.toString('utf8'));
      this.received.push(m);
      if (!m.startLine.startsWith('NOTIFY ') || this.answer === 'silent') return;
      const status = this.answer;
      const copy = (n: string, as: string): string => (m.headers.get(n) ?? []).map((v) => `${as}: ${v}\r\n`).join('');
      const reply =
        `SIP/2.0 ${status} ${status === 200 ? 'OK' : status === 481 ? 'Subscription Does Not Exist' : 'Service Unavailable'}\r\n` +
        `${copy('via', 'Via')}${copy('from', 'From')}${copy('to', 'To')}${copy('call-id', 'Call-ID')}${copy('cseq', 'CSeq')}Content-Length: 0\r\n\r\n`;
      this.sock.send(reply, rinfo.port, rinfo.address);
    });
    return this;
  }

  send(raw: string | Buffer): void {
    this.sock.send(raw, this.proxyPort, '127.0.0.1');
  }

  /** Final response to the request with this Call-ID. */
  final(callId: string, timeoutMs = 5000): Promise<SipMessage> {
    return this.waitFor((m) => /^SIP\/2\.0 [2-6]\d\d /.test(m.startLine) && header(m, 'call-id') === callId, timeoutMs);
  }

  waitFor(match: (m: SipMessage) => boolean, timeoutMs = 5000, from = 0): Promise<SipMessage> {
    return (async () => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = this.received.slice(from).find(match);
        if (hit) return hit;
        if (Date.now() > deadline) {
          throw new Error(`${this.name}: timeout waiting for a SIP message (got: ${this.received.map((x) => x.startLine).join(' | ')})`);
        }
        await sleep(20);
      }
    })();
  }

  notifies(callId: string): SipMessage[] {
    return this.received.filter((m) => m.startLine.startsWith('NOTIFY ') && header(m, 'call-id') === callId);
  }

  subscribe(user: string, callId: string, expires = 300): void {
    this.seq++;
    this.send(
      `SUBSCRIBE sip:${user}@127.0.0.1:${this.proxyPort} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP 127.0.0.1:${this.port};branch=z9hG4bK-${this.name}-s${this.seq};rport\r\n` +
        `From: <sip:${this.name}@127.0.0.1>;tag=${this.name}-${callId}\r\nTo: <sip:${user}@127.0.0.1>\r\n` +
        `Call-ID: ${callId}\r\nCSeq: 1 SUBSCRIBE\r\nContact: <sip:${this.name}@127.0.0.1:${this.port}>\r\n` +
        `Max-Forwards: 70\r\nEvent: presence\r\nAccept: application/pidf+xml\r\nExpires: ${expires}\r\nContent-Length: 0\r\n\r\n`,
    );
  }

  publish(user: string, callId: string, o: { note?: string; expires?: number; etag?: string; rawBody?: Buffer } = {}): void {
    this.seq++;
    const body =
      o.rawBody ??
      (o.note === undefined
        ? Buffer.alloc(0)
        : Buffer.from(
            `<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:${user}@127.0.0.1">` +
              `<tuple id="t1"><status><basic>${this.seq % 2 ? 'open' : 'closed'}</basic></status><note>${o.note}</note></tuple></presence>`,
          ));
    const head =
      `PUBLISH sip:${user}@127.0.0.1:${this.proxyPort} SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP 127.0.0.1:${this.port};branch=z9hG4bK-${this.name}-p${this.seq};rport\r\n` +
      `From: <sip:${user}@127.0.0.1>;tag=${this.name}-p${this.seq}\r\nTo: <sip:${user}@127.0.0.1>\r\n` +
      `Call-ID: ${callId}\r\nCSeq: 1 PUBLISH\r\nMax-Forwards: 70\r\nEvent: presence\r\nExpires: ${o.expires ?? 300}\r\n` +
      (o.etag !== undefined ? `SIP-If-Match: ${o.etag}\r\n` : '') +
      (body.length > 0 ? 'Content-Type: application/pidf+xml\r\n' : '') +
      `Content-Length: ${body.length}\r\n\r\n`;
    this.send(Buffer.concat([Buffer.from(head), body]));
  }

  close(): void {
    this.sock.close();
  }
}

const KAMAILIO_DEFINES = ['WITH_PROMETHEUS'];

describe('Prometheus + dashboard + alerts against a live presenced behind Kamailio (xhttp_prom)', () => {
  let stack: Stack;
  let prom: PrometheusProcess | undefined;
  const uas: Ua[] = [];
  let load: { stop: () => Promise<void> } | undefined;
  let liveScrape = '';
  /** presenced_kamailio_rpc_connections vs the server's open connections, while Kamailio was stopped and after its restart. */
  const rpcGauge = { whileStopped: -1, openWhileStopped: -1, afterRestart: -1, openAfterRestart: -1 };

  beforeAll(async () => {
    stack = await startStack({
      metrics: true,
      kamailioDefines: KAMAILIO_DEFINES,
      // NOTIFYs to Kamailio over TCP: a Kamailio restart drops the connection,
      // so a NOTIFY in flight becomes a link failure at once (UDP waits for Timer F).
      sipTransport: 'tcp',
      config: {
        // one quick retry, then give up: retries and give-ups within seconds
        notifyRetry: { maxRetries: 1, backoffSeconds: [1] },
        // short expiries allowed: expirations within seconds
        packageExpires: { presence: { publish: { default: 300, min: 1, max: 7200 }, subscribe: { default: 300, min: 1, max: 7200 } } },
      },
    });
    const k = stack.sipPort;
    const mp = stack.metricsPort as number;
    prom = await PrometheusProcess.start(
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 900ms',
        '  evaluation_interval: 1s',
        'rule_files:',
        `  - ${ALERTS_YML}`,
        'scrape_configs:',
        '  - job_name: presenced',
        '    metrics_path: /metrics',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${mp}']`,
        '  - job_name: kamailio',
        '    metrics_path: /metrics',
        '    honor_timestamps: false',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${k}']`,
        '',
      ].join('\n'),
    );
  }, 90_000);

  afterAll(async () => {
    await load?.stop().catch(() => undefined);
    for (const ua of uas) ua.close();
    await prom?.stop();
    await stack?.stop();
  }, 60_000);

  it('Kamailio serves its own statistics at GET /metrics on the SIP TCP listener (xhttp_prom, WITH_PROMETHEUS)', async () => {
    const r = await fetch(`http://127.0.0.1:${stack.sipPort}/metrics`, { signal: AbortSignal.timeout(5000) });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await r.text();
    expect(text).toMatch(/^kamailio_core_rcv_requests \d+/m);
    expect(text).toMatch(/^kamailio_shmem_used_size \d+/m);
    const other = await fetch(`http://127.0.0.1:${stack.sipPort}/other`, { signal: AbortSignal.timeout(5000) });
    expect(other.status).toBe(404);
  });

  it('drives traffic through Kamailio: fan-out, 481 and 503 watchers, errors, expiries, a Kamailio restart with a NOTIFY in flight', async () => {
    const k = stack.sipPort;
    const m = stack.metrics as PresenceMetrics;
    const ua = async (name: string): Promise<Ua> => {
      const u = await new Ua(name, k).start();
      uas.push(u);
      return u;
    };
    const publisher = await ua('pub');

    // fan-out: 3 watchers on alice and bob, all answering 200
    const watchers = await Promise.all([ua('w1'), ua('w2'), ua('w3')]);
    for (const w of watchers) {
      for (const user of ['alice', 'bob']) {
        const cid = `${w.name}-${user}`;
        w.subscribe(user, cid);
        expect((await w.final(cid)).startLine).toMatch(/^SIP\/2\.0 20[02] /);
        await w.waitFor((x) => x.startLine.startsWith('NOTIFY ') && header(x, 'call-id') === cid);
      }
    }
    publisher.publish('alice', 'pub-alice-1', { note: 'first' });
    expect((await publisher.final('pub-alice-1')).startLine).toMatch(/^SIP\/2\.0 200 /);
    for (const w of watchers) await w.waitFor((x) => x.startLine.startsWith('NOTIFY ') && x.body.includes('first'));

    // a watcher whose dialog is gone: 481 to the NOTIFY after the 2xx ends the subscription
    const w481 = await ua('w481');
    w481.answer = 481;
    w481.subscribe('carol', 'w481-carol');
    await w481.final('w481-carol');
    await waitFor(async () => (await metricValue(m, 'presenced_subscriptions_rejected_by_watcher_total')) >= 1, 10_000, 'a subscription rejected by its watcher', 50);

    // a watcher answering 503: one retry after 1 s, then the subscription is given up
    const w503 = await ua('w503');
    w503.answer = 503;
    w503.subscribe('dave', 'w503-dave');
    await w503.final('w503-dave');
    await waitFor(async () => (await metricValue(m, 'presenced_notify_retries_total')) >= 1, 10_000, 'a NOTIFY retry', 50);
    await waitFor(async () => (await metricValue(m, 'presenced_notify_giveups_total')) >= 1, 15_000, 'a NOTIFY give-up', 50);

    // refused requests: 412 (unknown entity tag), 400 (body is not UTF-8: a JSON-RPC error)
    publisher.publish('alice', 'pub-412', { etag: 'no-such-etag' });
    expect((await publisher.final('pub-412')).startLine).toMatch(/^SIP\/2\.0 412 /);
    publisher.publish('alice', 'pub-400', { rawBody: Buffer.from([0x3c, 0x70, 0xff, 0xfe, 0xc3, 0x28, 0x3e]) });
    expect((await publisher.final('pub-400')).startLine).toMatch(/^SIP\/2\.0 400 /);
    expect(await metricValue(m, 'presenced_kamailio_rpc_errors_total', { kind: 'error' })).toBeGreaterThanOrEqual(1);

    // expiries: a publication and a subscription of 1 s
    publisher.publish('frank', 'pub-frank', { note: 'short', expires: 1 });
    await publisher.final('pub-frank');
    const wShort = await ua('wshort');
    wShort.subscribe('frank', 'wshort-frank', 1);
    await wShort.final('wshort-frank');
    await waitFor(async () => (await metricValue(m, 'presenced_expired_total', { kind: 'publication' })) >= 1, 10_000, 'a publication expiry', 50);
    await waitFor(async () => (await metricValue(m, 'presenced_expired_total', { kind: 'subscription' })) >= 1, 10_000, 'a subscription expiry', 50);

    // Kamailio restart with a NOTIFY in flight: a watcher that stops answering,
    // three PUBLISHes (the 2nd is superseded by the 3rd while the 1st is in
    // flight), Kamailio stopped before its fr_timer (5 s) → link failure;
    // after the restart the newest state reaches the watcher.
    const ws = await ua('wsilent');
    ws.subscribe('erin', 'ws-erin');
    await ws.final('ws-erin');
    await ws.waitFor((x) => x.startLine.startsWith('NOTIFY ') && header(x, 'call-id') === 'ws-erin');
    ws.answer = 'silent';
    const supersededBefore = await metricValue(m, 'presenced_notifies_superseded_total');
    publisher.publish('erin', 'pub-erin-1', { note: 'erin-1' });
    await ws.waitFor((x) => x.startLine.startsWith('NOTIFY ') && x.body.includes('erin-1'));
    publisher.publish('erin', 'pub-erin-2', { note: 'erin-2' });
    await publisher.final('pub-erin-2');
    publisher.publish('erin', 'pub-erin-3', { note: 'erin-3' });
    await publisher.final('pub-erin-3');
    await waitFor(async () => (await metricValue(m, 'presenced_notifies_superseded_total')) > supersededBefore, 3000, 'a superseded NOTIFY', 50);
    await stack.stopKamailio();
    await waitFor(async () => (await metricValue(m, 'presenced_notify_link_failures_total')) >= 1, 10_000, 'a NOTIFY link failure', 50);
    await waitFor(() => stack.front.server.connectionCount === 0, 10_000, 'the JSON-RPC connection closed', 50);
    rpcGauge.openWhileStopped = stack.front.server.connectionCount;
    rpcGauge.whileStopped = await metricValue(m, 'presenced_kamailio_rpc_connections');
    ws.answer = 200;
    await stack.startKamailio();
    rpcGauge.openAfterRestart = stack.front.server.connectionCount;
    rpcGauge.afterRestart = await metricValue(m, 'presenced_kamailio_rpc_connections');
    await ws.waitFor((x) => x.startLine.startsWith('NOTIFY ') && x.body.includes('erin-3'), 15_000);
    expect(ws.notifies('ws-erin').some((x) => x.body.includes('erin-2'))).toBe(false);
    await waitFor(async () => (await metricValue(m, 'presenced_kamailio_link_up')) === 1, 10_000, 'the Kamailio link up again', 50);

    // steady background load until the queries are done: PUBLISH alice/bob
    // (3 watchers each) every 100 ms, a new short SUBSCRIBE every second
    const loader = await ua('load');
    let running = true;
    const loop = (async () => {
      let i = 0;
      while (running) {
        i++;
        loader.publish(i % 2 ? 'alice' : 'bob', `load-pub-${i}`, { note: `load-${i}` });
        if (i % 10 === 0) loader.subscribe('alice', `load-sub-${i}`, 3);
        await sleep(100);
      }
    })();
    load = {
      stop: async () => {
        running = false;
        await loop;
      },
    };
    await sleep(2000);
    expect(loader.received.filter((x) => x.startLine.startsWith('SIP/2.0 200')).length).toBeGreaterThan(5);
  }, 120_000);

  it('promtool check metrics passes on a live /metrics scrape taken under load (lint warnings listed)', async () => {
    const r = await fetch(`http://127.0.0.1:${stack.metricsPort}/metrics`, { signal: AbortSignal.timeout(5000) });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    liveScrape = await r.text();
    // the scrape was taken under load and shows every part of the service
    for (const name of [
      'presenced_sip_requests_total',
      'presenced_notify_responses_total',
      'presenced_publish_to_notify_seconds_bucket',
      'presenced_pool_task_compute_seconds_bucket',
      'presenced_store_commit_seconds_bucket',
      'presenced_lmdb_entries',
      'presenced_kamailio_link_up',
      'presenced_nodejs_eventloop_lag_p99_seconds',
    ]) {
      expect(liveScrape).toMatch(new RegExp(`^${name}[{ ]`, 'm'));
    }
    const check = promtool(['check', 'metrics'], liveScrape);
    const out = `${check.stdout}${check.stderr}`;
    // 0 = clean, 3 = lint problems only; 1 would be a parse error
    expect([0, 3], out).toContain(check.status);
    expect(out).not.toMatch(/error while linting|parsing error/);
    const problems = out
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0);
    if (problems.length > 0) console.log(`promtool check metrics: ${problems.length} lint warning(s) on the live scrape:\n  ${problems.join('\n  ')}`);
    // presenced's own metrics are lint-clean; warnings may only concern
    // prom-client's default process/Node.js metrics (names fixed by prom-client)
    const own = problems.filter((p) => !/^presenced_(process|nodejs)_/.test(p));
    expect(own).toEqual([]);
  });

  it('Prometheus scrapes presenced and Kamailio every second and loads the shipped alert rules', async () => {
    const p = prom as PrometheusProcess;
    await waitFor(
      async () => {
        const r = await p.query('count_over_time(up{job="presenced"}[1m]) >= 10 and on() count_over_time(up{job="kamailio"}[1m]) >= 5');
        return (r.data?.result.length ?? 0) > 0;
      },
      60_000,
      'enough scrapes of both targets',
      50,
    );
    const targets = await p.api<{ data: { activeTargets: { labels: { job: string }; health: string; lastError: string }[] } }>('/api/v1/targets');
    const byJob = Object.fromEntries(targets.data.activeTargets.map((t) => [t.labels.job, t]));
    expect(byJob['presenced']?.health, byJob['presenced']?.lastError).toBe('up');
    await waitFor(
      async () => {
        const t = await p.api<{ data: { activeTargets: { labels: { job: string }; health: string }[] } }>('/api/v1/targets');
        return t.data.activeTargets.find((x) => x.labels.job === 'kamailio')?.health === 'up';
      },
      15_000,
      'Kamailio target up after its restart',
      50,
    );
    const rules = await p.api<{ data: { groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[] } }>('/api/v1/rules');
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    const shipped = alertRules(readFileSync(ALERTS_YML, 'utf8'));
    expect(loaded.map((r) => r.name).sort()).toEqual(shipped.map((r) => r.alert).sort());
    // every rule evaluated at least once without error
    await waitFor(
      async () => {
        const again = await p.api<typeof rules>('/api/v1/rules');
        return again.data.groups.flatMap((g) => g.rules).every((r) => r.health === 'ok');
      },
      15_000,
      'every rule evaluated with health ok',
      50,
    );
  }, 90_000);

  it('every PromQL expression of every dashboard panel parses and returns data', async () => {
    const p = prom as PrometheusProcess;
    const dashboard = JSON.parse(readFileSync(DASHBOARD_JSON, 'utf8')) as { panels: never[] };
    const targets = dashboardTargets(dashboard);
    expect(targets.length).toBeGreaterThan(40);
    const failures: string[] = [];
    const nanOnly: string[] = [];
    for (const t of targets) {
      const expr = substituteTemplate(t.expr);
      const r: QueryResult = await p.query(expr);
      if (r.status !== 'success') {
        failures.push(`${t.panel}/${t.refId}: ${r.errorType}: ${r.error}\n    ${expr}`);
        continue;
      }
      const result = r.data?.result ?? [];
      if (result.length === 0) {
        failures.push(`${t.panel}/${t.refId}: no data\n    ${expr}`);
        continue;
      }
      if (result.every((s) => s.value === undefined || Number.isNaN(Number(s.value[1])))) nanOnly.push(`${t.panel}/${t.refId}: ${expr}`);
    }
    expect(failures, failures.join('\n')).toEqual([]);
    // data means numbers: no expression returns only NaN (e.g. a quantile without observations)
    expect(nanOnly, nanOnly.join('\n')).toEqual([]);
  }, 90_000);

  it('every alert rule expression parses and evaluates through /api/v1/query', async () => {
    const p = prom as PrometheusProcess;
    const rules = alertRules(readFileSync(ALERTS_YML, 'utf8'));
    expect(rules.length).toBeGreaterThanOrEqual(7);
    const failures: string[] = [];
    for (const rule of rules) {
      const r = await p.query(rule.expr);
      if (r.status !== 'success') failures.push(`${rule.alert}: ${r.errorType}: ${r.error}`);
      expect(r.data?.resultType, rule.alert).toBe('vector');
    }
    expect(failures, failures.join('\n')).toEqual([]);
    // the stack is healthy: the availability alerts' conditions are false right now
    for (const name of ['PresencedDown', 'PresencedKamailioLinkDown', 'PresencedKamailioRpcDisconnected', 'PresencedPoolRefusingRequests']) {
      const rule = rules.find((r) => r.alert === name);
      const r = await p.query(rule?.expr ?? '');
      expect(r.data?.result, name).toEqual([]);
    }
  }, 60_000);

  // Regression: the gauge was once fed with the cumulative count of ACCEPTED
  // connections instead of the open ones, so it never dropped to 0 when
  // Kamailio went away and PresencedKamailioRpcDisconnected could not fire.
  it('presenced_kamailio_rpc_connections is the number of OPEN connections (0 while Kamailio is stopped, 1 after its restart)', () => {
    console.log(`presenced_kamailio_rpc_connections: ${JSON.stringify(rpcGauge)}`);
    expect(rpcGauge.openWhileStopped).toBe(0);
    expect(rpcGauge.openAfterRestart).toBe(1);
    expect(rpcGauge.whileStopped).toBe(rpcGauge.openWhileStopped);
    expect(rpcGauge.afterRestart).toBe(rpcGauge.openAfterRestart);
  });
});

describe('WITH_PROMETHEUS and WITH_RPC_DELIVERY together: one xhttp route serves /metrics and /RPC', () => {
  let stack: Stack;
  const uas: Ua[] = [];
  beforeAll(async () => {
    stack = await startStack({ delivery: 'rpc', metrics: true, kamailioDefines: KAMAILIO_DEFINES });
  }, 60_000);
  afterAll(async () => {
    for (const ua of uas) ua.close();
    await stack?.stop();
  }, 30_000);

  it('NOTIFYs go out through tm.t_uac_wait (POST /RPC) while GET /metrics answers on the same listener', async () => {
    const m = stack.metrics as PresenceMetrics;
    const w = await new Ua('rw', stack.sipPort).start();
    const p = await new Ua('rp', stack.sipPort).start();
    uas.push(w, p);
    w.subscribe('alice', 'rw-alice');
    expect((await w.final('rw-alice')).startLine).toMatch(/^SIP\/2\.0 20[02] /);
    p.publish('alice', 'rp-1', { note: 'via-rpc' });
    await p.final('rp-1');
    await w.waitFor((x) => x.startLine.startsWith('NOTIFY ') && x.body.includes('via-rpc'));
    // 2 = the NOTIFY Kamailio sent after the 2xx (t_uac_send) + the PUBLISH's NOTIFY over POST /RPC (tm.t_uac_wait)
    await waitFor(async () => (await metricValue(m, 'presenced_notify_responses_total', { mode: 'rpc', code: '200' })) >= 2, 10_000, 'a 200 to a NOTIFY sent over /RPC', 50);
    expect(stack.front.stats.externalResults).toBe(1);
    expect(await metricValue(m, 'presenced_kamailio_link_up', { mode: 'rpc' })).toBe(1);
    const r = await fetch(`http://127.0.0.1:${stack.sipPort}/metrics`, { signal: AbortSignal.timeout(5000) });
    expect(r.status).toBe(200);
    expect(await r.text()).toMatch(/^kamailio_core_rcv_requests_publish [1-9]\d*/m);
    // /RPC stays POST-only and local-only; unknown paths are 404
    expect((await fetch(`http://127.0.0.1:${stack.sipPort}/RPC`, { signal: AbortSignal.timeout(5000) })).status).toBe(405);
    expect((await fetch(`http://127.0.0.1:${stack.sipPort}/nothing`, { signal: AbortSignal.timeout(5000) })).status).toBe(404);
  }, 60_000);
});
