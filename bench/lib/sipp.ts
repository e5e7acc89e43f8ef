/**
 * sipp (Debian sip-tester 3.6) runs for the benchmarks: one child process
 * per run, killed by PID at its bound, with its statistics read back from
 * -trace_stat (cumulative counters), -trace_counts (messages per scenario
 * line) and -trace_rtt (per-call response times).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../integrations/net/free-port.js';
import { exitWithin } from '../../integrations/process/terminate.js';
import { registerChild } from './procs.js';

export function sippBinary(): string | null {
  for (const p of ['/usr/bin/sipp', '/usr/local/bin/sipp']) if (existsSync(p)) return p;
  const r = spawnSync('sh', ['-c', 'command -v sipp'], { encoding: 'utf8' });
  const found = r.stdout.trim();
  return r.status === 0 && found.length > 0 ? found : null;
}

export function sippVersion(): string {
  const bin = sippBinary();
  if (bin === null) return 'not installed';
  const r = spawnSync(bin, ['-v'], { encoding: 'utf8', timeout: 5000 });
  return /SIPp v\S+/.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[0] ?? 'unknown';
}

export interface SippRun {
  /** Scenario XML (absolute path). */
  readonly scenario: string;
  /** Working directory for its trace files (one run per name in a directory). */
  readonly dir: string;
  /** Name of this run (trace file prefix is the scenario's file name; dir must be unique per run). */
  readonly targetPort: number;
  readonly injection?: string;
  /** Total calls (-m). */
  readonly calls: number;
  /** Calls per second (-r, per 1000 ms). */
  readonly rate: number;
  /** Concurrent calls limit (-l); default = calls. */
  readonly limit?: number;
  readonly sets?: Readonly<Record<string, string | number>>;
  /** Whole-run bound (s): sipp's -timeout, and a SIGKILL 10 s later. */
  readonly timeoutSec: number;
  /** A call fails when an expected message does not arrive within this (ms, -recv_timeout). */
  readonly recvTimeoutMs?: number;
  /** Collect per-call response times (-trace_rtt) for these rtd numbers. */
  readonly rtt?: boolean;
}

export interface SippOutcome {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Final cumulative line of -trace_stat. */
  readonly stats: Readonly<Record<string, string>>;
  /** Sums over the scenario's message lines of -trace_counts (e.g. PUBLISH_Sent, 200_Recv, 200_Unexp). */
  readonly counts: Readonly<Record<string, number>>;
  /** Per scenario line index: its counters (`<index>_<name>`). */
  readonly lineCounts: Readonly<Record<string, number>>;
  readonly callsCreated: number;
  readonly successfulCalls: number;
  readonly failedCalls: number;
  readonly retransmissions: number;
  /** sipp's own run window (StartTime → last stat dump), seconds. */
  readonly windowSeconds: number;
  readonly startEpochMs: number;
  readonly endEpochMs: number;
  /** Response times (ms, sipp's resolution is 1 ms) per rtd name, when `rtt` was asked. */
  readonly rttMs: Readonly<Record<string, number[]>>;
  /** The same samples with their time (epoch ms, when the response came). */
  readonly rttSamples: ReadonlyArray<{ readonly at: number; readonly ms: number; readonly rtd: string }>;
  readonly errors: string;
}

function parseCsv(file: string): { header: string[]; rows: string[][] } {
  if (!existsSync(file)) return { header: [], rows: [] };
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim().length > 0);
  return { header: (lines[0] ?? '').split(';'), rows: lines.slice(1).map((l) => l.split(';')) };
}

function lastRow(file: string): Record<string, string> {
  const { header, rows } = parseCsv(file);
  const last = rows[rows.length - 1] ?? [];
  const out: Record<string, string> = {};
  header.forEach((h, i) => {
    if (h.length > 0) out[h] = last[i] ?? '';
  });
  return out;
}

/** "2026-11-22\t01:22:06.758951\t1795310526.758951" → epoch ms. */
export function sippTime(v: string | undefined): number {
  const m = /(\d{9,11})\.(\d{6})\s*$/.exec(v ?? '');
  return m ? Number(m[1]) * 1000 + Number(m[2]) / 1000 : NaN;
}

/** sipp durations "HH:MM:SS:µµµµµµ" → ms. */
export function sippDurationMs(v: string | undefined): number {
  const m = /^(\d+):(\d+):(\d+):(\d+)$/.exec(v ?? '');
  return m ? ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4]) / 1000 : NaN;
}

/** Starts sipp; resolves when it exited (or was killed at its bound). */
export async function runSipp(o: SippRun): Promise<SippOutcome> {
  const bin = sippBinary();
  if (bin === null) throw new Error('sipp is not installed (Debian package sip-tester): run "npm run setup"');
  const localPort = await freePort();
  const base = o.scenario.replace(/^.*\//, '').replace(/\.xml$/, '');
  const statFile = join(o.dir, `${base}-stat.csv`);
  const errorFile = join(o.dir, `${base}-errors.log`);
  const argv = [
    '-sf', o.scenario,
    ...(o.injection !== undefined ? ['-inf', o.injection] : []),
    '-t', 'u1',
    '-i', '127.0.0.1',
    '-p', String(localPort),
    '-m', String(o.calls),
    '-l', String(o.limit ?? o.calls),
    '-r', String(Math.max(0.001, Math.round(o.rate * 1000) / 1000)),
    '-rp', '1000',
    '-timeout', `${Math.ceil(o.timeoutSec)}s`,
    '-timeout_error',
    ...(o.recvTimeoutMs !== undefined ? ['-recv_timeout', String(o.recvTimeoutMs)] : []),
    '-nostdin',
    '-trace_stat', '-stf', statFile, '-fd', '1',
    '-trace_counts',
    '-trace_err', '-error_file', errorFile,
    ...(o.rtt ? ['-trace_rtt', '-rtt_freq', '1'] : []),
    ...Object.entries(o.sets ?? {}).flatMap(([k, v]) => ['-set', k, String(v)]),
    `127.0.0.1:${o.targetPort}`,
  ];
  const child = spawn(bin, argv, { cwd: o.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  registerChild(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 20_000) stderr += d;
  });
  const exit = await exitWithin(child, (o.timeoutSec + 10) * 1000);
  const stats = lastRow(statFile);
  const files = readdirSync(o.dir);
  const countsFile = files.find((f) => f.startsWith(`${base}_`) && f.endsWith('_counts.csv'));
  const countRow = countsFile ? lastRow(join(o.dir, countsFile)) : {};
  const counts: Record<string, number> = {};
  const lineCounts: Record<string, number> = {};
  for (const [k, v] of Object.entries(countRow)) {
    const m = /^(\d+)_(.+)$/.exec(k);
    if (m) {
      const name = m[2] as string;
      counts[name] = (counts[name] ?? 0) + (Number(v) || 0);
      lineCounts[k] = Number(v) || 0;
    }
  }
  const rttMs: Record<string, number[]> = {};
  const rttSamples: Array<{ at: number; ms: number; rtd: string }> = [];
  const start = sippTime(stats['StartTime']);
  const end = sippTime(stats['CurrentTime']);
  if (o.rtt) {
    const rttFile = files.find((f) => f.startsWith(`${base}_`) && f.endsWith('_rtt.csv'));
    if (rttFile) {
      // Date_ms (since sipp started);response_time_ms;rtd_no
      const { rows } = parseCsv(join(o.dir, rttFile));
      for (const r of rows) {
        const v = Number(r[1]);
        const name = (r[2] ?? '').trim();
        if (!Number.isFinite(v) || name === '') continue;
        (rttMs[name] ??= []).push(v);
        rttSamples.push({ at: start + Number(r[0]), ms: v, rtd: name });
      }
    }
  }
  const errors = existsSync(errorFile) ? readFileSync(errorFile, 'utf8') : '';
  const num = (name: string): number => Number(stats[name] ?? NaN);
  return {
    exitCode: exit.code,
    signal: exit.signal,
    stats,
    counts,
    lineCounts,
    callsCreated: num('TotalCallCreated'),
    successfulCalls: num('SuccessfulCall(C)'),
    failedCalls: num('FailedCall(C)'),
    retransmissions: num('Retransmissions(C)'),
    windowSeconds: (end - start) / 1000,
    startEpochMs: start,
    endEpochMs: end,
    rttMs,
    rttSamples,
    errors: `${stderr}${errors}`.slice(-4000),
  };
}
