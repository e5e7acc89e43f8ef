/**
 * Runs Debian's `prometheus` and `promtool` for the monitoring tests:
 * Prometheus on a free loopback port with a private data directory, stopped
 * by PID (SIGTERM, then SIGKILL to its process group), also when the test
 * process exits. Every wait is bounded.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../support/free-port.js';
import { sleep } from '../support/wait.js';
import { terminate } from '../../integrations/process/terminate.js';

export const REPO = path.resolve(import.meta.dirname, '../..');
export const PROMETHEUS_YML = path.join(REPO, 'monitoring/prometheus/prometheus.yml');
export const ALERTS_YML = path.join(REPO, 'monitoring/prometheus/alerts.yml');
export const DASHBOARD_JSON = path.join(REPO, 'monitoring/grafana/dashboards/presenced.json');

function which(name: string): string | null {
  for (const dir of ['/usr/bin', '/usr/local/bin', '/usr/sbin']) {
    const p = path.join(dir, name);
    if (existsSync(p)) return p;
  }
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const found = r.stdout.trim();
  return r.status === 0 && found.length > 0 ? found : null;
}

export function promtoolBinary(): string {
  const p = which('promtool');
  if (p === null) throw new Error('promtool is not installed (run monitoring/setup/install-prometheus.sh)');
  return p;
}

export interface ToolResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `promtool <args>` with optional stdin, bounded to 60 s. */
export function promtool(args: readonly string[], input?: string): ToolResult {
  const r = spawnSync(promtoolBinary(), args, { encoding: 'utf8', timeout: 60_000, ...(input !== undefined ? { input } : {}) });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

// --------------------------------------------------------------------------
// Dashboard expressions

export interface DashboardTarget {
  readonly panel: string;
  readonly refId: string;
  readonly expr: string;
}

interface PanelJson {
  readonly type?: string;
  readonly title?: string;
  readonly targets?: { refId?: string; expr?: string }[];
  readonly panels?: PanelJson[];
}

/** Every PromQL expression of every panel (rows' nested panels included). */
export function dashboardTargets(dashboard: { panels?: PanelJson[] }): DashboardTarget[] {
  const out: DashboardTarget[] = [];
  const walk = (ps: PanelJson[] | undefined): void => {
    for (const p of ps ?? []) {
      for (const t of p.targets ?? []) out.push({ panel: p.title ?? '?', refId: t.refId ?? '?', expr: t.expr ?? '' });
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  return out;
}

/**
 * Grafana's template variables as Grafana itself would substitute them for
 * one Prometheus with a 1 s scrape interval: the "All" value of the instance
 * variables (allValue `.+`) and a rate window that spans the whole test.
 */
export const TEMPLATE_VALUES: Readonly<Record<string, string>> = {
  $__rate_interval: '1m',
  $instance: '.+',
  $kamailio: '.+',
};

export function substituteTemplate(expr: string): string {
  let out = expr;
  // longest names first ($__rate_interval before a hypothetical $__rate)
  for (const name of Object.keys(TEMPLATE_VALUES).sort((a, b) => b.length - a.length)) out = out.split(name).join(TEMPLATE_VALUES[name] as string);
  out = out.replace(/\$\{(\w+)\}/g, (m, n: string) => TEMPLATE_VALUES[`$${n}`] ?? m);
  return out;
}

/** Variables an expression uses that TEMPLATE_VALUES cannot substitute. */
export function unknownVariables(expr: string): string[] {
  return [...substituteTemplate(expr).matchAll(/\$\{?\w+\}?/g)].map((m) => m[0]);
}

// --------------------------------------------------------------------------
// Alert rules (alerts.yml, a small YAML subset read without a YAML library:
// the test only needs each rule's name and expr; promtool checks the rest)

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
}

export function alertRules(yamlText: string): AlertRule[] {
  const lines = yamlText.split('\n');
  const rules: AlertRule[] = [];
  let current: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const a = /^\s*- alert:\s*(\S+)\s*$/.exec(line);
    if (a) {
      current = a[1];
      continue;
    }
    const e = /^(\s*)expr:\s*(.*)$/.exec(line);
    if (!e || current === undefined) continue;
    const indent = (e[1] as string).length;
    const rest = (e[2] as string).trim();
    let expr: string;
    if (rest === '|' || rest === '>' || rest === '|-' || rest === '>-') {
      const block: string[] = [];
      for (i = i + 1; i < lines.length; i++) {
        const l = lines[i] as string;
        if (l.trim() !== '' && l.length - l.trimStart().length <= indent) {
          i--;
          break;
        }
        block.push(l.trim());
      }
      expr = block.join('\n').trim();
    } else {
      expr = rest.replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1');
    }
    rules.push({ alert: current, expr });
    current = undefined;
  }
  return rules;
}

// --------------------------------------------------------------------------
// Prometheus server

const running = new Set<number>();
let exitHook = false;

export interface QueryResult {
  readonly status: string;
  readonly errorType?: string;
  readonly error?: string;
  readonly data?: { resultType: string; result: { metric: Record<string, string>; value?: [number, string] }[] };
}

export class PrometheusProcess {
  private exitCode: number | null = null;
  private readonly exited: Promise<void>;

  private constructor(
    child: ChildProcess,
    readonly pid: number,
    readonly port: number,
    readonly dir: string,
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        this.exitCode = code;
        running.delete(pid);
        resolve();
      });
    });
  }

  /** Starts Prometheus with `config` (YAML text) on a free 127.0.0.1 port; resolves when /-/ready answers 200. */
  static async start(config: string, readyTimeoutMs = 30_000): Promise<PrometheusProcess> {
    const bin = which('prometheus');
    if (bin === null) throw new Error('prometheus is not installed (run monitoring/setup/install-prometheus.sh)');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'presenced-prometheus-'));
    const configFile = path.join(dir, 'prometheus.yml');
    writeFileSync(configFile, config);
    const port = await freePort();
    const logFile = path.join(dir, 'prometheus.log');
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(
        bin,
        [
          `--config.file=${configFile}`,
          `--storage.tsdb.path=${path.join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--storage.tsdb.retention.time=1h',
          '--log.level=warn',
        ],
        { cwd: dir, detached: true, stdio: ['ignore', fd, fd] },
      );
    } finally {
      closeSync(fd);
    }
    if (child.pid === undefined) throw new Error('prometheus did not start');
    if (!exitHook) {
      exitHook = true;
      process.on('exit', () => {
        for (const pid of running) {
          try {
            process.kill(-pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      });
    }
    running.add(child.pid);
    const p = new PrometheusProcess(child, child.pid, port, dir, logFile);
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (p.exitCode !== null) throw new Error(`prometheus exited with ${p.exitCode}:\n${p.log()}`);
      try {
        const r = await fetch(`${p.url}/-/ready`, { signal: AbortSignal.timeout(2000) });
        if (r.status === 200) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) {
        await p.stop();
        throw new Error(`prometheus not ready within ${readyTimeoutMs} ms:\n${p.log()}`);
      }
      await sleep(200);
    }
    return p;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  async api<T = unknown>(pathAndQuery: string): Promise<T> {
    const r = await fetch(`${this.url}${pathAndQuery}`, { signal: AbortSignal.timeout(10_000) });
    return (await r.json()) as T;
  }

  /** Instant query at the current time through /api/v1/query. */
  query(expr: string): Promise<QueryResult> {
    return this.api<QueryResult>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
  }

  /** SIGTERM, SIGKILL to the group after `graceMs`; removes the data directory. */
  async stop(graceMs = 5000): Promise<void> {
    if (running.has(this.pid)) {
      await terminate(this.pid, this.exited, graceMs, true);
      running.delete(this.pid);
    }
    if (process.env['PRESENCED_KEEP_RUN_DIRS'] !== '1') rmSync(this.dir, { recursive: true, force: true });
  }
}
