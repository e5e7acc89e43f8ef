/**
 * Smoke test of the stack benchmark (bench/stack/stack-bench.ts): `--quick`
 * runs as a child process — real Kamailio 5.6 + presenced + sipp on
 * loopback, delivery modes sip and rpc — and its JSON result must show both
 * modes completed with zero failures, NOTIFYs delivered to the watchers and
 * PUBLISH→NOTIFY latency percentiles. Bounded: the child is stopped with
 * SIGTERM (it then stops everything it started) and SIGKILL after a grace.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kamailioBinary } from '../../integrations/kamailio/kamailio-process.js';
import { sippBinary } from '../support/sipp-process.js';

const repo = resolve(import.meta.dirname, '../..');
const script = join(repo, 'dist', 'bench', 'stack', 'stack-bench.js');
const source = join(repo, 'bench', 'stack', 'stack-bench.ts');
const presencedMain = join(repo, 'dist', 'integrations', 'cli', 'main.js');
const RUN_BOUND_MS = 240_000;

const haveTools = kamailioBinary() !== null && sippBinary() !== null;

function run(argv: string[], boundMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, argv, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 100_000) stderr += d;
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
      // SIGTERM: the bench stops Kamailio, presenced and sipp by PID before exiting
      signal('SIGTERM');
      kill = setTimeout(() => signal('SIGKILL'), 15_000);
    }, boundMs);
    child.once('exit', (code, signal) => {
      clearTimeout(term);
      if (kill) clearTimeout(kill);
      resolveRun({ code, signal, stdout, stderr });
    });
  });
}

interface ModeRun {
  mode: string;
  ok: boolean;
  failures: number;
  failureDetails: string[];
  subscribe: { attempted: number; succeeded: number; initialNotifiesMissing: number; perSec: number };
  publish: { planned: number; attempted: number; succeeded: number; perSec: number };
  notify: { delivered: number; perSec: number; outOfOrder: number; staleWatchers: number; latencyMs: { count: number; p50: number; p99: number } };
  cpu: { kamailioSeconds: number; presencedSeconds: number; kamailioUsPerNotify: number; presencedUsPerNotify: number };
}

describe.skipIf(!haveTools)('bench/stack --quick (real Kamailio + presenced + sipp, both delivery modes)', () => {
  const out = mkdtempSync(join(tmpdir(), 'presenced-stack-smoke-'));

  beforeAll(() => {
    // `npm test` builds first; a direct vitest run may find dist/ stale or missing.
    const stale = !existsSync(script) || !existsSync(presencedMain) || statSync(script).mtimeMs < statSync(source).mtimeMs;
    if (stale) spawnSync('npx', ['tsc', '-b'], { cwd: repo, stdio: 'ignore', timeout: 240_000 });
    expect(existsSync(script), `${script} (npm run build)`).toBe(true);
  }, 300_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it(
    'writes a JSON result: both modes completed, zero failures, NOTIFYs delivered, latency percentiles',
    async () => {
      const r = await run([script, '--quick', '--out', out], RUN_BOUND_MS);
      const file = r.stdout.trim().split('\n').pop() ?? '';
      expect(r.code, `exit ${r.code ?? r.signal}\n${r.stderr.slice(-4000)}`).toBe(0);
      expect(file.startsWith(out) && existsSync(file), `result file ${file}`).toBe(true);
      expect(file).toMatch(/stack-[0-9T-]+Z\.json$/);

      const json = JSON.parse(readFileSync(file, 'utf8')) as {
        benchmark: string;
        completed: boolean;
        failures: number;
        machine: { cores: number; tools: Record<string, string> };
        parameters: { quick: boolean };
        runs: ModeRun[];
        summary: { means: Record<string, Record<string, number>>; sipOverRpc: Record<string, number> };
      };
      expect(json.benchmark).toBe('stack');
      expect(json.parameters.quick).toBe(true);
      expect(json.machine.cores).toBeGreaterThan(0);
      expect(json.machine.tools['kamailio']).toMatch(/kamailio 5\./);
      expect(json.machine.tools['sipp']).toMatch(/SIPp v3/);
      expect(json.completed).toBe(true);
      expect(json.failures).toBe(0);
      expect(json.runs.map((x) => x.mode).sort()).toEqual(['rpc', 'sip']);

      for (const m of json.runs) {
        const ctx = `${m.mode}: ${m.failureDetails.join('; ')}`;
        expect(m.ok, ctx).toBe(true);
        expect(m.failures, ctx).toBe(0);
        expect(m.subscribe.succeeded).toBe(m.subscribe.attempted);
        expect(m.subscribe.initialNotifiesMissing).toBe(0);
        expect(m.subscribe.perSec).toBeGreaterThan(0);
        expect(m.publish.planned).toBeGreaterThan(0);
        expect(m.publish.attempted).toBeGreaterThan(0);
        expect(m.publish.succeeded).toBe(m.publish.attempted);
        expect(m.publish.perSec).toBeGreaterThan(0);
        expect(m.notify.delivered).toBeGreaterThan(0);
        expect(m.notify.perSec).toBeGreaterThan(0);
        expect(m.notify.outOfOrder).toBe(0);
        expect(m.notify.staleWatchers).toBe(0);
        expect(m.notify.latencyMs.count).toBe(m.notify.delivered);
        expect(m.notify.latencyMs.p50).toBeGreaterThan(0);
        expect(m.notify.latencyMs.p99).toBeGreaterThanOrEqual(m.notify.latencyMs.p50);
        expect(Number.isFinite(m.cpu.kamailioUsPerNotify)).toBe(true);
        expect(Number.isFinite(m.cpu.presencedUsPerNotify)).toBe(true);
        expect(m.cpu.presencedSeconds).toBeGreaterThan(0);
      }
      expect(Object.keys(json.summary.means).sort()).toEqual(['rpc', 'sip']);
      expect(Number.isFinite(json.summary.sipOverRpc['notifyPerSec'])).toBe(true);
    },
    RUN_BOUND_MS + 30_000,
  );
});
