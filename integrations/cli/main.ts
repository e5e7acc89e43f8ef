/**
 * presenced: the Presence Server process. Starts the worker pool on the
 * embedded LMDB store, the JSON-RPC server Kamailio forwards presence
 * traffic to, and NOTIFY delivery back through Kamailio (SIP relay by
 * default, or tm.t_uac_wait over JSON-RPC). With `--local-kamailio` it also
 * runs a Kamailio with the example config, so the host is a complete
 * presence server on 127.0.0.1:5060. Stops cleanly on SIGINT/SIGTERM.
 *
 *   node dist/integrations/cli/main.js [--config presenced.json] [--local-kamailio]
 */
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { KamailioFront } from '../kamailio/kamailio-front.js';
import { KamailioProcess, kamailioBinary } from '../kamailio/kamailio-process.js';
import type { NotifyTransport } from '../kamailio/delivery/notify-transport.js';
import { RpcNotifyTransport } from '../kamailio/delivery/rpc-notify-transport.js';
import { SipNotifyTransport } from '../kamailio/delivery/sip-notify-transport.js';
import { PresenceService } from '../../workers/presence-service.js';
import { MetricsServer } from '../../monitoring/metrics-server.js';
import { XcapServer } from '../xcap/xcap-server.js';
import { PresenceMetrics } from '../../monitoring/presence-metrics.js';
import { wireMetrics } from '../../monitoring/wire-metrics.js';
import { loadSettings, serviceOptions, type Settings } from './settings.js';

function log(msg: string): void {
  process.stdout.write(`${new Date().toISOString()} presenced ${msg}\n`);
}

/** The repository root (this file runs from dist/integrations/cli/). */
function repoRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.includes(`${join('dist', 'integrations')}`) ? resolve(here, '../../..') : resolve(here, '../..');
}

export function makeTransport(settings: Settings): NotifyTransport {
  const d = settings.delivery;
  if (d.mode === 'rpc') return new RpcNotifyTransport({ url: d.rpcUrl });
  return new SipNotifyTransport({ proxy: d.proxy, local: d.local, logger: { warn: (m) => log(`sip: ${m}`) } });
}

async function startLocalKamailio(settings: Settings): Promise<KamailioProcess> {
  if (kamailioBinary() === null) throw new Error('kamailio is not installed: run "npm run setup" (installs Debian kamailio 5.6)');
  const cfg = join(repoRoot(), 'integrations', 'kamailio', 'cfg', 'kamailio-presence-proxy.cfg');
  const runDir = resolve(settings.dataDir, 'kamailio');
  mkdirSync(runDir, { recursive: true });
  return KamailioProcess.start({
    configFile: cfg,
    sipAddress: settings.delivery.proxy.host,
    sipPort: settings.delivery.proxy.port,
    substdefs: {
      PRESENCED_RPC_HOST: settings.rpc.host,
      PRESENCED_RPC_PORT: settings.rpc.port,
      PRESENCED_SIP_HOST: settings.delivery.local.host,
      PRESENCED_SIP_PORT: settings.delivery.local.port,
    },
    // xhttp_prom: Kamailio's own counters at http://<proxy>/metrics (monitoring/prometheus/prometheus.yml scrapes it).
    defines: settings.delivery.mode === 'rpc' ? ['WITH_PROMETHEUS', 'WITH_RPC_DELIVERY'] : ['WITH_PROMETHEUS'],
    shmMb: 256,
    pkgMb: 16,
    keepRunDir: true,
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { config: { type: 'string' }, 'local-kamailio': { type: 'boolean' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write(
      'usage: presenced [--config presenced.json] [--local-kamailio]\n' +
        'Environment: PRESENCED_DATA_DIR, PRESENCED_RPC_HOST, PRESENCED_RPC_PORT, PRESENCED_THREADS, PRESENCED_CONTACT,\n' +
        '  PRESENCED_NODE_ID, PRESENCED_DURABILITY, PRESENCED_MAP_SIZE_MB, PRESENCED_DELIVERY (sip|rpc), PRESENCED_DELIVERY_TRANSPORT (tcp|udp), PRESENCED_PROXY_HOST,\n' +
        '  PRESENCED_PROXY_PORT, PRESENCED_SIP_PORT, PRESENCED_LOCAL_KAMAILIO=1, PRESENCED_METRICS_HOST, PRESENCED_METRICS_PORT (0 = off)\n',
    );
    return;
  }
  const loaded = loadSettings(values.config, process.env);
  if (!loaded.ok) {
    process.stderr.write(`presenced: invalid settings:\n  ${loaded.problems.join('\n  ')}\n`);
    process.exit(2);
  }
  const { settings, presence } = loaded;
  const service = await PresenceService.start(serviceOptions(settings, presence));
  service.onError = (code, detail) => log(`error ${code}: ${detail ?? ''}`);
  const metrics = new PresenceMetrics();
  const front = new KamailioFront({ engine: service, transport: makeTransport(settings), rpc: settings.rpc, metrics, log: (m) => log(m) });
  wireMetrics(metrics, service, front);
  const port = await front.start();
  let xcapServer: XcapServer | undefined;
  if (settings.xcap.port > 0) {
    xcapServer = new XcapServer({
      engine: service,
      users: (u) => service.xcapUser(u),
      rootPath: settings.xcap.rootPath,
      realm: settings.xcap.realm,
      bodyLimit: presence.limits.maxBodyBytes,
      trustedProxies: settings.xcap.trustedProxies,
      onRequest: (auid, method, status) => metrics.observeXcap(auid, method, status),
    });
    const xport = await xcapServer.listen(settings.xcap.port, settings.xcap.host);
    log(`XCAP (XDMS) on http://${settings.xcap.host}:${xport}${settings.xcap.rootPath} (realm ${settings.xcap.realm})`);
  }
  let metricsServer: MetricsServer | undefined;
  if (settings.metrics.port > 0) {
    metricsServer = new MetricsServer(metrics);
    const mport = await metricsServer.listen(settings.metrics.port, settings.metrics.host);
    log(`metrics on http://${settings.metrics.host}:${mport}/metrics`);
  }
  log(
    `ready: store ${settings.dataDir}, ${settings.pool.threads} worker threads, JSON-RPC on ${settings.rpc.host}:${port}, ` +
      `NOTIFYs via ${settings.delivery.mode === 'sip' ? `SIP to ${settings.delivery.proxy.host}:${settings.delivery.proxy.port}` : settings.delivery.rpcUrl}`,
  );
  let kamailio: KamailioProcess | undefined;
  if (values['local-kamailio'] || settings.localKamailio) {
    kamailio = await startLocalKamailio(settings);
    log(`local Kamailio ${kamailio.pid} listening on ${kamailio.sipAddress}:${kamailio.sipPort} (udp+tcp), log ${kamailio.logFile}`);
  }

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    await metricsServer?.close();
    await xcapServer?.close();
    await front.close();
    await service.close();
    if (kamailio) await kamailio.stop();
    log('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`presenced: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
