/**
 * Smoke test of `presenced tune` (bench/tune.ts --quick, one thread count):
 * the core sweep runs dist/bench/core/core-bench.js as a child, the stack
 * sweep a fan-out ramp through Kamailio + presenced; the result has both
 * sweeps, a recommendation with its rules, and an HTML report with the
 * throughput and p99 vs threads plots.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kamailioBinary } from '../../integrations/kamailio/kamailio-process.js';
import { sippBinary } from '../support/sipp-process.js';
import { ensureBuilt, repo, runNode } from './bench-run.js';

const RUN_BOUND_MS = 90_000;
const haveTools = kamailioBinary() !== null && sippBinary() !== null;

describe.skipIf(!haveTools)('presenced tune --quick', () => {
  const out = mkdtempSync(join(tmpdir(), 'presenced-tune-smoke-'));
  beforeAll(() => ensureBuilt('tune.js'), 300_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it(
    'sweeps the core and the stack, recommends pool settings, writes JSON and an HTML report with plots',
    async () => {
      const r = await runNode(
        [join(repo, 'dist', 'bench', 'tune.js'), '--quick', '--threads', '1', '--core-size', '1000', '--core-seconds', '0.5', '--subscriptions', '100000', '--out', out],
        RUN_BOUND_MS,
      );
      const dir = r.stdout.trim().split('\n').pop() ?? '';
      expect(r.code, `exit ${r.code ?? r.signal}\n${r.stderr.slice(-4000)}`).toBe(0);
      expect(existsSync(join(dir, 'results.json')) && existsSync(join(dir, 'report.html')), dir).toBe(true);
      const res = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as {
        benchmark: string;
        machine: { cores: number };
        core: { subscriptions: number; lmdbBytesPerSubscription: number; rounds: Array<{ threads: number; notifiesPerSec: number; failures: number }> };
        stack: Array<{ pool: { threads: number }; ok: boolean; maxNotifyPerSec: number | null }>;
        recommendation: { pool: { threads: number; concurrentTasksPerWorker: number; maxPending: number; targetCacheSize: number }; mapSizeMb: number; rules: string[] };
      };
      expect(res.benchmark).toBe('presenced-tune');
      expect(res.machine.cores).toBeGreaterThan(0);
      expect(res.core.subscriptions).toBe(1000);
      expect(res.core.lmdbBytesPerSubscription).toBeGreaterThan(100);
      expect(res.core.rounds.map((x) => x.threads)).toEqual([1]);
      expect(res.core.rounds[0]?.notifiesPerSec ?? 0).toBeGreaterThan(0);
      expect(res.core.rounds[0]?.failures).toBe(0);
      expect(res.stack.length).toBe(1);
      expect(res.stack[0]?.ok).toBe(true);
      expect(res.stack[0]?.maxNotifyPerSec ?? 0).toBeGreaterThan(0);
      const rec = res.recommendation;
      expect(rec.pool.threads).toBe(1);
      expect(rec.pool.concurrentTasksPerWorker).toBeGreaterThan(0);
      expect(rec.pool.maxPending).toBeGreaterThanOrEqual(1000);
      expect(rec.pool.targetCacheSize).toBe(100000);
      expect(rec.mapSizeMb).toBeGreaterThan(0);
      expect(rec.rules.length).toBeGreaterThanOrEqual(4);
      const html = readFileSync(join(dir, 'report.html'), 'utf8');
      expect(html).toContain('Throughput vs worker threads');
      expect(html).toContain('p99 latency vs worker threads');
      expect(r.stderr).toMatch(/Recommended for this machine/);
    },
    RUN_BOUND_MS + 30_000,
  );
});
