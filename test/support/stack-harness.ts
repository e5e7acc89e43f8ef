/**
 * The whole stack on loopback for end-to-end tests: real Kamailio 5.6 with
 * the example config, presenced (worker pool + LMDB in a temp dir), the
 * Kamailio front (JSON-RPC in) and NOTIFY delivery (SIP relay or
 * tm.t_uac_wait). Every port is free and per-test; `stop()` stops
 * everything by PID and removes the data.
 */
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { connect } from 'node:net';
import type { DeepPartial, PresenceConfig } from '../../core/config.js';
import { KamailioFront } from '../../integrations/kamailio/kamailio-front.js';
import { XcapServer } from '../../integrations/xcap/xcap-server.js';
import { KamailioProcess } from '../../integrations/kamailio/kamailio-process.js';
import { RpcNotifyTransport } from '../../integrations/kamailio/delivery/rpc-notify-transport.js';
import { SipNotifyTransport } from '../../integrations/kamailio/delivery/sip-notify-transport.js';
import type { NotifyTransport } from '../../integrations/kamailio/delivery/notify-transport.js';
import { freePort } from '../../integrations/net/free-port.js';
import { MetricsServer } from '../../monitoring/metrics-server.js';
import { PresenceMetrics } from '../../monitoring/presence-metrics.js';
import { wireMetrics } from '../../monitoring/wire-metrics.js';
import { PresenceService } from '../../workers/presence-service.js';
import { DEFAULT_SWEEP } from '../../workers/service-options.js';
import { testConfig } from './core-harness.js';
import { tempDir } from './service-harness.js';

export const EXAMPLE_CFG = resolve(import.meta.dirname, '../../integrations/kamailio/cfg/kamailio-presence-proxy.cfg');

export interface StackOptions {
  readonly delivery?: 'sip' | 'rpc';
  /** presenced → Kamailio SIP transport for NOTIFYs (mode sip). */
  readonly sipTransport?: 'udp' | 'tcp';
  readonly config?: DeepPartial<PresenceConfig>;
  readonly threads?: number;
  /** Kamailio janssonrpcc timeout for presenced's answers, ms. */
  readonly rpcTimeoutMs?: number;
  readonly kamailioChildren?: number;
  readonly sweepMs?: number;
  /** Keep the data directory (restart tests); pass the same dir again. */
  readonly dataDir?: string;
  /**
   * Prometheus metrics: a PresenceMetrics wired to the service and the front
   * (as main.ts does) served by a MetricsServer on a free 127.0.0.1 port.
   */
  readonly metrics?: boolean;
  /** More `-A NAME` defines for Kamailio (e.g. WITH_PROMETHEUS). */
  readonly kamailioDefines?: readonly string[];
  /** Also run the XCAP server (XDMS) on a free port, root `/xcap-root`; users via `stack.service.putXcapUser`. */
  readonly xcap?: boolean;
}

export interface Stack {
  readonly service: PresenceService;
  readonly front: KamailioFront;
  readonly transport: NotifyTransport;
  readonly kamailio: KamailioProcess;
  /** Kamailio's SIP port on 127.0.0.1 (UDP and TCP): where clients send PUBLISH/SUBSCRIBE. */
  readonly sipPort: number;
  readonly rpcPort: number;
  readonly presencedSipPort: number;
  readonly dataDir: string;
  /** With `metrics: true`: the registry and the port of its /metrics server (127.0.0.1). */
  readonly metrics?: PresenceMetrics;
  readonly metricsPort?: number;
  readonly xcapPort?: number;
  /** Stop and start Kamailio again on the same ports (restart tests). */
  restartKamailio(): Promise<void>;
  stopKamailio(): Promise<void>;
  startKamailio(): Promise<void>;
  stop(): Promise<void>;
}

async function waitForRpcClient(front: KamailioFront, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (front.server.stats.connections > 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('Kamailio did not connect to the JSON-RPC server');
}

export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const delivery = o.delivery ?? 'sip';
  const sipPort = await freePort();
  const rpcPort = await freePort();
  const presencedSipPort = await freePort();
  const dataDir = o.dataDir ?? tempDir('presenced-stack-');
  const service = await PresenceService.start({
    config: testConfig({ contact: `<sip:presence@127.0.0.1:${sipPort}>`, ...o.config }),
    store: { path: join(dataDir, 'db'), durability: 'sync' },
    pool: { threads: o.threads ?? 2, concurrentTasksPerWorker: 32, maxPending: 50_000, taskTimeoutMs: 10_000, targetCacheSize: 100_000 },
    sweep: { ...DEFAULT_SWEEP, intervalMs: o.sweepMs ?? 500 },
    retryAfterSeconds: 5,
    dedupeSeconds: 32,
  });
  const transport: NotifyTransport =
    delivery === 'rpc'
      ? new RpcNotifyTransport({ url: `http://127.0.0.1:${sipPort}/RPC`, keepalive: { intervalMs: 500, failuresBeforeDown: 2 } })
      : new SipNotifyTransport({
          proxy: { host: '127.0.0.1', port: sipPort, transport: o.sipTransport ?? 'udp' },
          local: { host: '127.0.0.1', port: presencedSipPort },
          keepalive: { intervalMs: 500, failuresBeforeDown: 2 },
        });
  const metrics = o.metrics ? new PresenceMetrics() : undefined;
  const front = new KamailioFront({ engine: service, transport, rpc: { host: '127.0.0.1', port: rpcPort }, ...(metrics ? { metrics } : {}) });
  if (metrics) wireMetrics(metrics, service, front);
  await front.start();
  const metricsServer = metrics ? new MetricsServer(metrics) : undefined;
  const metricsPort = metricsServer ? await metricsServer.listen(0, '127.0.0.1') : undefined;
  const xcapServer = o.xcap
    ? new XcapServer({ engine: service, users: (u) => service.xcapUser(u), rootPath: '/xcap-root', realm: 'presenced', bodyLimit: 65536 })
    : undefined;
  const xcapPort = xcapServer ? await xcapServer.listen(0, '127.0.0.1') : undefined;
  const defines = [...(delivery === 'rpc' ? ['WITH_RPC_DELIVERY'] : []), ...(o.kamailioDefines ?? [])];

  const startK = (): Promise<KamailioProcess> =>
    KamailioProcess.start({
      configFile: EXAMPLE_CFG,
      sipPort,
      substdefs: {
        PRESENCED_RPC_PORT: rpcPort,
        PRESENCED_RPC_TIMEOUT: o.rpcTimeoutMs ?? 3000,
        PRESENCED_SIP_HOST: '127.0.0.1',
        PRESENCED_SIP_PORT: presencedSipPort,
        PROXY_CHILDREN: o.kamailioChildren ?? 2,
      },
      ...(defines.length > 0 ? { defines } : {}),
      shmMb: 128,
      pkgMb: 8,
    });
  let kamailio = await startK();
  await waitForRpcClient(front, 10_000);

  const stack: Stack = {
    service,
    front,
    transport,
    get kamailio() {
      return kamailio;
    },
    sipPort,
    rpcPort,
    presencedSipPort,
    dataDir,
    ...(metrics ? { metrics } : {}),
    ...(metricsPort !== undefined ? { metricsPort } : {}),
    ...(xcapPort !== undefined ? { xcapPort } : {}),
    async stopKamailio() {
      await kamailio.stop();
    },
    async startKamailio() {
      const before = front.server.stats.connections;
      kamailio = await startK();
      const until = Date.now() + 10_000;
      while (Date.now() < until && front.server.stats.connections <= before) await new Promise((r) => setTimeout(r, 50));
    },
    async restartKamailio() {
      await stack.stopKamailio();
      await stack.startKamailio();
    },
    async stop() {
      await kamailio.stop().catch(() => undefined);
      await metricsServer?.close();
      await xcapServer?.close();
      await front.close();
      await service.close();
      if (!o.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return stack;
}

/** True when something listens on the TCP port (diagnostics). */
export function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolveOpen) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolveOpen(true);
    });
    s.once('error', () => resolveOpen(false));
  });
}
