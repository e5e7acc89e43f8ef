/**
 * Systems under test, each started fresh on loopback in a temp dir and
 * stopped by PID:
 *
 *  - presenced-sip / presenced-rpc: Kamailio 5.6 with the example config
 *    (integrations/kamailio/cfg/kamailio-presence-proxy.cfg) in front of
 *    presenced (its own process, dist/integrations/cli/main.js: real worker
 *    pool, LMDB with durable commits), NOTIFYs delivered as SIP relayed by
 *    Kamailio, or through tm.t_uac_wait over JSON-RPC.
 *  - kamailio-sqlite: Kamailio's own presence server, persistent
 *    (bench/kamailio/presence-sqlite.cfg: db_sqlite, publ_cache=1,
 *    subs_db_mode=1, one worker).
 *  - kamailio-memory: Kamailio's own presence server, memory only
 *    (bench/kamailio/presence-memory.cfg: subs_db_mode=0, publ_cache=2).
 *
 * The sqlite schema comes from Debian's kamailio-sqlite-modules
 * (/usr/share/kamailio/db_sqlite/standard-create.sql + presence-create.sql),
 * loaded with the sqlite3 command-line tool.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { KamailioProcess } from '../../integrations/kamailio/kamailio-process.js';
import { freePort } from '../../integrations/net/free-port.js';
import { type CpuSample, cpuSample, registerChild, stopChild, tailFile } from './procs.js';

export type TargetKind = 'presenced-sip' | 'presenced-rpc' | 'kamailio-sqlite' | 'kamailio-memory';
export const TARGET_KINDS: readonly TargetKind[] = ['presenced-sip', 'presenced-rpc', 'kamailio-sqlite', 'kamailio-memory'];

export const TARGET_LABELS: Readonly<Record<TargetKind, string>> = {
  'presenced-sip': 'Kamailio + presenced (SIP delivery)',
  'presenced-rpc': 'Kamailio + presenced (JSON-RPC delivery)',
  'kamailio-sqlite': 'Kamailio presence, sqlite write-through (1 worker)',
  'kamailio-memory': 'Kamailio presence, memory only',
};

const here = import.meta.dirname;
export const REPO_ROOT = here.includes(`${sep}dist${sep}`) ? resolve(here, '../../..') : resolve(here, '../..');
const EXAMPLE_CFG = join(REPO_ROOT, 'integrations', 'kamailio', 'cfg', 'kamailio-presence-proxy.cfg');
const PRESENCED_MAIN = join(REPO_ROOT, 'dist', 'integrations', 'cli', 'main.js');
export const KAMAILIO_CFG_DIR = join(REPO_ROOT, 'bench', 'kamailio');
const SQLITE_SCHEMA_DIR = '/usr/share/kamailio/db_sqlite';

export interface PoolSettings {
  readonly threads?: number;
  readonly concurrentTasksPerWorker?: number;
  readonly maxPending?: number;
}

export interface TargetOptions {
  /** Private temp dir of this target (database, logs, config). */
  readonly dir: string;
  /** presenced pool settings (presenced targets). */
  readonly pool?: PoolSettings;
  /** Kamailio SIP workers: the presenced proxy and kamailio-memory (kamailio-sqlite always runs 1). */
  readonly kamailioChildren: number;
  readonly shmMb: number;
  readonly keep: boolean;
  /** presenced → Kamailio NOTIFY transport (presenced-sip); default tcp, the product default. */
  readonly notifyTransport?: 'udp' | 'tcp';
  /** presenced: CPU profiles into this dir. */
  readonly cpuProfDir?: string;
}

export interface RunningTarget {
  readonly kind: TargetKind;
  readonly sipPort: number;
  readonly kamailioPid: number;
  readonly presencedPid: number | undefined;
  /** Facts about the setup recorded with the results. */
  readonly setup: Record<string, unknown>;
  cpu(): CpuSample;
  alive(): { kamailio: boolean; presenced: boolean };
  /** ERROR/CRITICAL lines of Kamailio's log (first few). */
  kamailioErrors(): string[];
  logTails(lines: number): { kamailio: string; presenced: string };
  /** Database file size (kamailio-sqlite) or LMDB data size (presenced), bytes. */
  storeBytes(): number;
  stop(): Promise<void>;
}

export function sqlite3Binary(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v sqlite3'], { encoding: 'utf8' });
  const found = r.stdout.trim();
  return r.status === 0 && found.length > 0 ? found : null;
}

/** What a target needs that may be missing on this machine ('' = nothing). */
export function targetPrerequisites(kind: TargetKind): string {
  if (kind === 'presenced-sip' || kind === 'presenced-rpc') {
    return existsSync(PRESENCED_MAIN) ? '' : `${PRESENCED_MAIN} missing: run "npm run build"`;
  }
  if (kind === 'kamailio-memory') return '';
  if (sqlite3Binary() === null) return 'the sqlite3 command-line tool is missing (apt-get install sqlite3): it creates the Kamailio schema';
  for (const f of ['standard-create.sql', 'presence-create.sql']) {
    if (!existsSync(join(SQLITE_SCHEMA_DIR, f))) return `${join(SQLITE_SCHEMA_DIR, f)} missing (Debian package kamailio-sqlite-modules)`;
  }
  return '';
}

/** An empty Kamailio presence database: Debian's schema files loaded with sqlite3. */
export function createKamailioSqliteDb(file: string): void {
  const bin = sqlite3Binary();
  if (bin === null) throw new Error('sqlite3 command-line tool missing (apt-get install sqlite3)');
  const sql = ['standard-create.sql', 'presence-create.sql'].map((f) => readFileSync(join(SQLITE_SCHEMA_DIR, f), 'utf8')).join('\n');
  const r = spawnSync(bin, [file], { input: sql, encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`sqlite3 schema load failed: ${r.stderr}`);
}

class PresencedProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly pid: number,
  ) {}

  static async start(configFile: string, logFile: string, cpuProfDir: string | undefined, timeoutMs = 30_000): Promise<PresencedProcess> {
    if (!existsSync(PRESENCED_MAIN)) throw new Error(`${PRESENCED_MAIN} missing: run "npm run build" first`);
    const nodeArgs = cpuProfDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${resolve(cpuProfDir)}`] : [];
    const child = spawn(process.execPath, [...nodeArgs, PRESENCED_MAIN, '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid === undefined) throw new Error('presenced did not start');
    registerChild(child);
    const out = createWriteStream(logFile);
    let ready = false;
    let buffered = '';
    const readyPromise = new Promise<void>((resolveReady, reject) => {
      const timer = setTimeout(() => reject(new Error(`presenced not ready within ${timeoutMs} ms`)), timeoutMs);
      child.stdout?.on('data', (d: Buffer) => {
        out.write(d);
        if (ready) return;
        buffered += d.toString('utf8');
        if (/ presenced ready: /.test(buffered)) {
          ready = true;
          clearTimeout(timer);
          resolveReady();
        }
      });
      child.stderr?.on('data', (d: Buffer) => out.write(d));
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (!ready) reject(new Error(`presenced exited (${code ?? signal}) before it was ready`));
      });
    });
    child.once('exit', () => out.end());
    try {
      await readyPromise;
    } catch (err) {
      await stopChild(child, 2000);
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- presenced log (tail) ---\n${tailFile(logFile, 30)}`);
    }
    return new PresencedProcess(child, child.pid);
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  stop(): Promise<void> {
    return stopChild(this.child, 10_000);
  }
}

function dirBytes(dir: string): number {
  const r = spawnSync('du', ['-sb', dir], { encoding: 'utf8' });
  return Number(r.stdout.split(/\s/)[0]) || 0;
}

function errorLines(log: string): string[] {
  return log
    .split('\n')
    .filter((l) => /\b(ERROR|CRITICAL|ALERT|BUG)\b/.test(l))
    .slice(0, 10);
}

export async function startTarget(kind: TargetKind, o: TargetOptions): Promise<RunningTarget> {
  const sipPort = await freePort();
  if (kind === 'presenced-sip' || kind === 'presenced-rpc') {
    const mode = kind === 'presenced-sip' ? 'sip' : 'rpc';
    const rpcPort = await freePort();
    const presencedSipPort = await freePort();
    const settings = {
      dataDir: join(o.dir, 'db'),
      durability: 'sync',
      rpc: { host: '127.0.0.1', port: rpcPort },
      ...(o.pool !== undefined ? { pool: o.pool } : {}),
      delivery: {
        mode,
        proxy: { host: '127.0.0.1', port: sipPort, transport: o.notifyTransport ?? 'tcp' },
        local: { host: '127.0.0.1', port: presencedSipPort },
        rpcUrl: `http://127.0.0.1:${sipPort}/RPC`,
      },
      // Open presence, as Kamailio's presence_xml with force_active=1: no pres-rules
      // documents exist in the benchmark (RFC 5025 default handling 'allow').
      presence: { contact: `<sip:presence@127.0.0.1:${sipPort}>`, defaultSubHandling: 'allow' },
      // no listeners on fixed default ports (/metrics 9469, XCAP 8080): several runs may share the machine
      metrics: { host: '127.0.0.1', port: 0 },
      xcap: { port: 0 },
    };
    const configFile = join(o.dir, 'presenced.json');
    writeFileSync(configFile, JSON.stringify(settings, null, 2));
    const logFile = join(o.dir, 'presenced.log');
    let t = performance.now();
    const presenced = await PresencedProcess.start(configFile, logFile, o.cpuProfDir);
    const presencedReadyMs = Math.round(performance.now() - t);
    t = performance.now();
    let kamailio: KamailioProcess;
    try {
      kamailio = await KamailioProcess.start({
        configFile: EXAMPLE_CFG,
        sipPort,
        substdefs: {
          PRESENCED_RPC_PORT: rpcPort,
          PRESENCED_SIP_HOST: '127.0.0.1',
          PRESENCED_SIP_PORT: presencedSipPort,
          PROXY_CHILDREN: o.kamailioChildren,
        },
        ...(mode === 'rpc' ? { defines: ['WITH_RPC_DELIVERY'] } : {}),
        shmMb: o.shmMb,
        pkgMb: 16,
        keepRunDir: o.keep,
      });
    } catch (err) {
      await presenced.stop();
      throw err;
    }
    const kamailioReadyMs = Math.round(performance.now() - t);
    return {
      kind,
      sipPort,
      kamailioPid: kamailio.pid,
      presencedPid: presenced.pid,
      setup: {
        kamailioConfig: 'integrations/kamailio/cfg/kamailio-presence-proxy.cfg',
        kamailioChildren: o.kamailioChildren,
        shmMb: o.shmMb,
        delivery: mode,
        ...(mode === 'sip' ? { notifyTransport: o.notifyTransport ?? 'tcp' } : {}),
        presencedSettings: { durability: 'sync', pool: o.pool ?? 'defaults (threads = cores)', defaultSubHandling: 'allow' },
        presencedReadyMs,
        kamailioReadyMs,
      },
      cpu: () => cpuSample(kamailio.pid, presenced.pid),
      alive: () => ({ kamailio: kamailio.alive, presenced: presenced.alive }),
      kamailioErrors: () => errorLines(kamailio.log()),
      logTails: (n) => ({ kamailio: kamailio.log().split('\n').slice(-n).join('\n'), presenced: tailFile(logFile, n) }),
      storeBytes: () => dirBytes(join(o.dir, 'db')),
      stop: async () => {
        await kamailio.stop().catch(() => undefined);
        await presenced.stop().catch(() => undefined);
      },
    };
  }

  // Kamailio's own presence server (sqlite: a fresh database with Debian's schema; memory: no database)
  const sqlite = kind === 'kamailio-sqlite';
  const dbFile = join(o.dir, 'presence.sqlite');
  if (sqlite) createKamailioSqliteDb(dbFile);
  const cfg = join(KAMAILIO_CFG_DIR, sqlite ? 'presence-sqlite.cfg' : 'presence-memory.cfg');
  const t = performance.now();
  const kamailio = await KamailioProcess.start({
    configFile: cfg,
    sipPort,
    // db_sqlite URL: sqlite:// + the absolute path with its leading slash
    substdefs: sqlite ? { KAM_DB_URL: `sqlite:///${dbFile}` } : { PROXY_CHILDREN: o.kamailioChildren },
    shmMb: o.shmMb,
    pkgMb: 16,
    keepRunDir: o.keep,
  });
  const kamailioReadyMs = Math.round(performance.now() - t);
  return {
    kind,
    sipPort,
    kamailioPid: kamailio.pid,
    presencedPid: undefined,
    setup: {
      kamailioConfig: `bench/kamailio/${sqlite ? 'presence-sqlite.cfg' : 'presence-memory.cfg'}`,
      kamailioChildren: sqlite ? 1 : o.kamailioChildren,
      shmMb: o.shmMb,
      presence: sqlite ? { subs_db_mode: 1, publ_cache: 1, db: 'db_sqlite (Debian schema), default journal mode' } : { subs_db_mode: 0, publ_cache: 2, db: 'none' },
      presenceXml: { force_active: 1 },
      kamailioReadyMs,
    },
    cpu: () => cpuSample(kamailio.pid, undefined),
    alive: () => ({ kamailio: kamailio.alive, presenced: true }),
    kamailioErrors: () => errorLines(kamailio.log()),
    logTails: (n) => ({ kamailio: kamailio.log().split('\n').slice(-n).join('\n'), presenced: '' }),
    storeBytes: () => {
      if (!sqlite) return 0;
      let total = 0;
      for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-journal`]) {
        try {
          total += statSync(f).size;
        } catch {
          /* absent */
        }
      }
      return total;
    },
    stop: () => kamailio.stop().catch(() => undefined),
  };
}
