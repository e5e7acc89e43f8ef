/**
 * Helpers of the benchmark smoke tests: build dist/ when stale, run a
 * benchmark entry point as a child process with a bound (SIGTERM — the
 * benchmark then stops everything it started by PID — and SIGKILL after a
 * grace), read its result directory.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import type { BenchResult } from '../../bench/lib/report.js';

export const repo = resolve(import.meta.dirname, '../..');

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newestMtime(p));
    else if (e.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

/** `npm test` builds first; a direct vitest run may find dist/ stale or missing: build when `dist/<entry>` is older than the sources. */
export function ensureDist(entry: string, sourceDirs: readonly string[]): void {
  const built = join(repo, 'dist', entry);
  const newest = Math.max(...sourceDirs.map((d) => newestMtime(join(repo, d))));
  if (!existsSync(built) || statSync(built).mtimeMs < newest) spawnSync('npx', ['tsc', '-b'], { cwd: repo, stdio: 'ignore', timeout: 240_000 });
}

/** A benchmark entry point under dist/bench, built when stale. */
export function ensureBuilt(entry: string): void {
  ensureDist(join('bench', entry), ['bench', 'core', 'workers', 'integrations', 'monitoring']);
}

export function runNode(argv: string[], boundMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, argv, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 200_000) stderr += d;
    });
    const signal = (sig: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(child.pid, sig);
      } catch {
        /* already gone */
      }
    };
    let kill: NodeJS.Timeout | undefined;
    const term = setTimeout(() => {
      signal('SIGTERM');
      kill = setTimeout(() => signal('SIGKILL'), 15_000);
    }, boundMs);
    child.once('exit', (code, sig) => {
      clearTimeout(term);
      if (kill) clearTimeout(kill);
      resolveRun({ code, signal: sig, stdout, stderr });
    });
  });
}

/** Every run ok, every step passed with zero failures, NOTIFY accounting clean. */
export function checkStepInvariants(r: BenchResult): void {
  for (const sc of r.scenarios) {
    for (const t of sc.targets) {
      const ctx = `${sc.scenario}/${t.target}: ${t.error ?? ''} ${t.steps.flatMap((s) => s.failureDetails).join('; ')}`;
      expect(t.ok, ctx).toBe(true);
      expect(t.error, ctx).toBeUndefined();
      expect(t.steps.length, ctx).toBeGreaterThanOrEqual(1);
      expect(t.maxSustained, ctx).not.toBeNull();
      for (const s of t.steps) {
        expect(s.ok, ctx).toBe(true);
        expect(s.failures, ctx).toBe(0);
        expect(s.requestsSent, ctx).toBeGreaterThan(0);
        expect(s.requestsAnswered2xx, ctx).toBe(s.requestsSent);
        expect(s.achievedRatio, ctx).toBeGreaterThanOrEqual(0.9);
        expect(s.notify.duplicates, ctx).toBe(0);
        expect(s.notify.outOfOrder, ctx).toBe(0);
        expect(s.notify.stalePairs, ctx).toBe(0);
        expect(s.cpu.wallSeconds, ctx).toBeGreaterThan(0);
        if (sc.scenario !== 'publish') expect(s.notify.delivered, ctx).toBeGreaterThan(0);
        if (['fanout', 'blf', 'carrier'].includes(sc.scenario)) {
          expect(s.latencyMs, ctx).not.toBeNull();
          expect(s.latencyMs?.p50 ?? -1, ctx).toBeGreaterThan(0);
          expect(s.latencyMs?.p99 ?? -1, ctx).toBeGreaterThanOrEqual(s.latencyMs?.p50 ?? 0);
          expect(Number.isFinite(s.cpu.kamailioSecondsPer1000Notify), ctx).toBe(true);
        }
      }
      expect(t.timeseries.cpu.length, ctx).toBeGreaterThan(0);
    }
  }
}

/** results.json + report.html exist and are valid; machine facts recorded. */
export function checkReport(dir: string): BenchResult {
  const jsonFile = join(dir, 'results.json');
  const htmlFile = join(dir, 'report.html');
  expect(existsSync(jsonFile) && existsSync(htmlFile), dir).toBe(true);
  const r = JSON.parse(readFileSync(jsonFile, 'utf8')) as BenchResult;
  expect(r.benchmark).toBe('presenced-bench');
  expect(r.formatVersion).toBe(1);
  expect(r.quick).toBe(true);
  const m = r.machine as { cores: number; memoryBytes: number; node: string; tools: Record<string, string> };
  expect(m.cores).toBeGreaterThan(0);
  expect(m.memoryBytes).toBeGreaterThan(0);
  expect(m.node).toMatch(/^v\d+/);
  expect(m.tools['kamailio']).toMatch(/kamailio 5\./);
  expect(m.tools['sipp']).toMatch(/SIPp v3/);
  const html = readFileSync(htmlFile, 'utf8');
  expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
  expect(html.trimEnd().endsWith('</html>')).toBe(true);
  for (const title of ['Throughput vs offered rate', 'CPU split at max sustained rate', 'CPU over time']) expect(html).toContain(title);
  expect((html.match(/<svg /g) ?? []).length).toBeGreaterThanOrEqual(r.scenarios.length * 3);
  expect(html).not.toContain('NaN');
  return r;
}

