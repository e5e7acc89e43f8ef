/**
 * Operator settings of a presenced process: defaults, a JSON file
 * (`--config presenced.json`) and environment variables (`PRESENCED_*`), in
 * that order of precedence (later wins). Every problem is reported at once.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { resolveConfig, type DeepPartial, type PresenceConfig } from '../../core/config.js';
import { DEFAULT_SWEEP, defaultPoolOptions, type ServiceOptions } from '../../workers/service-options.js';

export interface Settings {
  /** LMDB environment directory. */
  readonly dataDir: string;
  /** LMDB initial map size (MB); grows on demand. */
  readonly mapSizeMb: number;
  /** 'sync' (durable, default) or 'none' (benchmarks only: loses data on crash). */
  readonly durability: 'sync' | 'none';
  /** JSON-RPC server Kamailio's janssonrpcc connects to. */
  readonly rpc: { readonly host: string; readonly port: number };
  readonly pool: ServiceOptions['pool'];
  readonly sweepIntervalMs: number;
  readonly retryAfterSeconds: number;
  readonly dedupeSeconds: number;
  /** Presence Server protocol settings (expiry policies, limits, contact, node id). */
  readonly presence: DeepPartial<PresenceConfig>;
  /** How NOTIFYs leave: as SIP relayed by Kamailio (default, fastest) or through tm.t_uac_wait. */
  readonly delivery: {
    readonly mode: 'sip' | 'rpc';
    /** Kamailio's SIP socket the NOTIFYs are sent to (mode sip). */
    readonly proxy: { readonly host: string; readonly port: number; readonly transport: 'udp' | 'tcp' };
    /** presenced's own SIP socket (mode sip); Kamailio's relay route only accepts NOTIFYs from it. */
    readonly local: { readonly host: string; readonly port: number };
    /** Kamailio jsonrpcs URL (mode rpc). */
    readonly rpcUrl: string;
  };
  /** Start a local Kamailio with the example config (the standalone presence server of `npm start`). */
  readonly localKamailio: boolean;
  /** Prometheus /metrics endpoint (port 0 disables it). */
  readonly metrics: { readonly host: string; readonly port: number };
  /** XCAP server (XDMS, RFC 4825); port 0 disables it. */
  readonly xcap: {
    readonly host: string;
    readonly port: number;
    readonly rootPath: string;
    readonly realm: string;
    /** Proxies allowed to assert the user in `X-XCAP-Asserted-Identity` instead of Digest. */
    readonly trustedProxies: readonly string[];
    /** The XCAP root as clients see it (default http://<host>:<port><rootPath>). */
    readonly publicRoot?: string;
  };
}

export function defaultSettings(): Settings {
  return {
    dataDir: './data',
    mapSizeMb: 1024,
    durability: 'sync',
    rpc: { host: '127.0.0.1', port: 5090 },
    pool: { ...defaultPoolOptions(), threads: Math.max(1, availableParallelism()) },
    sweepIntervalMs: DEFAULT_SWEEP.intervalMs,
    retryAfterSeconds: 5,
    dedupeSeconds: 32,
    presence: {},
    delivery: {
      mode: 'sip',
      // TCP: one connection, a fan-out leaves in one writev and Kamailio's tm owns retransmissions
      // toward UDP watchers; measured 2.2× the NOTIFY/s of UDP through the stack (bench/README.md).
      proxy: { host: '127.0.0.1', port: 5060, transport: 'tcp' },
      local: { host: '127.0.0.1', port: 5070 },
      rpcUrl: 'http://127.0.0.1:5060/RPC',
    },
    localKamailio: false,
    metrics: { host: '127.0.0.1', port: 9469 },
    xcap: { host: '127.0.0.1', port: 8080, rootPath: '/xcap-root', realm: 'presenced', trustedProxies: [] },
  };
}

type Env = Readonly<Record<string, string | undefined>>;

function int(env: Env, name: string, problems: string[]): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) {
    problems.push(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
    return undefined;
  }
  return Number(v);
}

/** Merge defaults, an optional JSON file and the environment; validate. */
export function loadSettings(configFile: string | undefined, env: Env): { ok: true; settings: Settings; presence: PresenceConfig } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const base = defaultSettings();
  let file: Partial<Settings> = {};
  if (configFile !== undefined) {
    try {
      file = JSON.parse(readFileSync(resolve(configFile), 'utf8')) as Partial<Settings>;
    } catch (err) {
      problems.push(`cannot read ${configFile}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const threads = int(env, 'PRESENCED_THREADS', problems);
  const rpcPort = int(env, 'PRESENCED_RPC_PORT', problems);
  const mapSizeMb = int(env, 'PRESENCED_MAP_SIZE_MB', problems);
  const durabilityEnv = env.PRESENCED_DURABILITY;
  const proxyPort = int(env, 'PRESENCED_PROXY_PORT', problems);
  const sipPort = int(env, 'PRESENCED_SIP_PORT', problems);
  const metricsPort = int(env, 'PRESENCED_METRICS_PORT', problems);
  const xcapPort = int(env, 'PRESENCED_XCAP_PORT', problems);
  const settings: Settings = {
    ...base,
    ...file,
    dataDir: env.PRESENCED_DATA_DIR ?? file.dataDir ?? base.dataDir,
    mapSizeMb: mapSizeMb ?? file.mapSizeMb ?? base.mapSizeMb,
    durability: (durabilityEnv as Settings['durability'] | undefined) ?? file.durability ?? base.durability,
    rpc: { ...base.rpc, ...file.rpc, ...(env.PRESENCED_RPC_HOST ? { host: env.PRESENCED_RPC_HOST } : {}), ...(rpcPort !== undefined ? { port: rpcPort } : {}) },
    pool: { ...base.pool, ...file.pool, ...(threads !== undefined ? { threads } : {}) },
    delivery: {
      ...base.delivery,
      ...file.delivery,
      ...(env.PRESENCED_DELIVERY ? { mode: env.PRESENCED_DELIVERY as 'sip' | 'rpc' } : {}),
      proxy: {
        ...base.delivery.proxy,
        ...file.delivery?.proxy,
        ...(env.PRESENCED_PROXY_HOST ? { host: env.PRESENCED_PROXY_HOST } : {}),
        ...(proxyPort !== undefined ? { port: proxyPort } : {}),
        ...(env.PRESENCED_DELIVERY_TRANSPORT ? { transport: env.PRESENCED_DELIVERY_TRANSPORT as 'udp' | 'tcp' } : {}),
      },
      local: { ...base.delivery.local, ...file.delivery?.local, ...(sipPort !== undefined ? { port: sipPort } : {}) },
    },
    localKamailio: env.PRESENCED_LOCAL_KAMAILIO === '1' || (file.localKamailio ?? base.localKamailio),
    metrics: {
      ...base.metrics,
      ...file.metrics,
      ...(env.PRESENCED_METRICS_HOST ? { host: env.PRESENCED_METRICS_HOST } : {}),
      ...(metricsPort !== undefined ? { port: metricsPort } : {}),
    },
    xcap: {
      ...base.xcap,
      ...file.xcap,
      ...(env.PRESENCED_XCAP_HOST ? { host: env.PRESENCED_XCAP_HOST } : {}),
      ...(xcapPort !== undefined ? { port: xcapPort } : {}),
      ...(env.PRESENCED_XCAP_TRUSTED_PROXIES ? { trustedProxies: env.PRESENCED_XCAP_TRUSTED_PROXIES.split(',').map((x) => x.trim()).filter(Boolean) } : {}),
    },
    presence: {
      ...file.presence,
      ...(env.PRESENCED_DEFAULT_SUB_HANDLING ? { defaultSubHandling: env.PRESENCED_DEFAULT_SUB_HANDLING as PresenceConfig['defaultSubHandling'] } : {}),
      ...(env.PRESENCED_NODE_ID ? { nodeId: env.PRESENCED_NODE_ID } : {}),
      ...(env.PRESENCED_CONTACT ? { contact: env.PRESENCED_CONTACT } : {}),
    },
  };
  if (settings.durability !== 'sync' && settings.durability !== 'none') problems.push(`durability must be "sync" or "none"`);
  if (!(settings.pool.threads >= 1 && settings.pool.threads <= 256)) problems.push('pool.threads must be between 1 and 256');
  if (!(settings.rpc.port > 0 && settings.rpc.port < 65536)) problems.push('rpc.port must be a TCP port');
  if (settings.delivery.mode !== 'sip' && settings.delivery.mode !== 'rpc') problems.push('delivery.mode must be "sip" or "rpc"');
  if (settings.delivery.proxy.transport !== 'udp' && settings.delivery.proxy.transport !== 'tcp') problems.push('delivery.proxy.transport must be "udp" or "tcp"');
  const xcapRoot = settings.xcap.publicRoot ?? `http://${settings.xcap.host}:${settings.xcap.port}${settings.xcap.rootPath}`;
  const presence = resolveConfig({ xcapRoot, ...settings.presence });
  if (!presence.ok) problems.push(...presence.problems.map((p) => `presence.${p}`));
  if (problems.length > 0 || !presence.ok) return { ok: false, problems };
  return { ok: true, settings, presence: presence.config };
}

export function serviceOptions(settings: Settings, presence: PresenceConfig): ServiceOptions {
  return {
    config: presence,
    store: { path: settings.dataDir, durability: settings.durability, mapSize: settings.mapSizeMb * 1024 * 1024 },
    pool: settings.pool,
    sweep: { ...DEFAULT_SWEEP, intervalMs: settings.sweepIntervalMs },
    retryAfterSeconds: settings.retryAfterSeconds,
    dedupeSeconds: settings.dedupeSeconds,
  };
}
