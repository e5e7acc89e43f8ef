/**
 * Smoke test of every benchmark scenario (bench/cli.ts `all --quick`):
 * PUBLISH lifecycle, SUBSCRIBE lifecycle, fan-out, BLF office and the mixed
 * carrier profile, each through real Kamailio 5.6 + presenced (SIP delivery)
 * driven by sipp on loopback, two tiny ramp steps each. The run must
 * complete with zero failures and write a valid results.json and a
 * report.html with its plots. Bounded: the child is stopped with SIGTERM
 * (it stops everything it started by PID) and SIGKILL after a grace.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kamailioBinary } from '../../integrations/kamailio/kamailio-process.js';
import { sippBinary } from '../support/sipp-process.js';
import { checkReport, checkStepInvariants, ensureBuilt, repo, runNode } from './bench-run.js';

const RUN_BOUND_MS = 150_000;
const haveTools = kamailioBinary() !== null && sippBinary() !== null;

describe.skipIf(!haveTools)('bench scenarios --quick (real Kamailio + presenced + sipp)', () => {
  const out = mkdtempSync(join(tmpdir(), 'presenced-bench-smoke-'));
  beforeAll(() => ensureBuilt('cli.js'), 300_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it(
    'publish, subscribe, fanout, blf and carrier each complete with zero failures; valid JSON and HTML report',
    async () => {
      const r = await runNode([join(repo, 'dist', 'bench', 'cli.js'), 'all', '--quick', '--targets', 'presenced-sip', '--out', out, '--name', 'smoke'], RUN_BOUND_MS);
      const dir = r.stdout.trim().split('\n').pop() ?? '';
      expect(r.code, `exit ${r.code ?? r.signal}\n${r.stderr.slice(-5000)}`).toBe(0);
      expect(dir.startsWith(out), dir).toBe(true);
      const res = checkReport(dir);
      expect(res.completed).toBe(true);
      expect(res.failures).toBe(0);
      expect(res.scenarios.map((s) => s.scenario)).toEqual(['publish', 'subscribe', 'fanout', 'blf', 'carrier']);
      checkStepInvariants(res);
      const fan = res.scenarios.find((s) => s.scenario === 'fanout');
      expect(fan?.targets[0]?.timeseries.latency.length ?? 0).toBeGreaterThan(0);
      const blf = res.scenarios.find((s) => s.scenario === 'blf');
      const phones = Number(blf?.parameters['phones']);
      expect(blf?.parameters['subscriptions']).toBe(phones * (phones - 1));
      const car = res.scenarios.find((s) => s.scenario === 'carrier');
      expect(car?.parameters['mixPerSubscriberPerBusyHour']).toBeTruthy();
      const row = res.headline.rows[0];
      expect(row?.target).toBe('presenced-sip');
      expect(row?.publishPerSec ?? 0).toBeGreaterThan(0);
      expect(row?.subscribePerSec ?? 0).toBeGreaterThan(0);
      expect(row?.notifyPerSec ?? 0).toBeGreaterThan(0);
      expect(row?.duplicateNotifies).toBe(0);
      // progress went to stderr
      expect(r.stderr).toMatch(/step 1\/2: offered/);
    },
    RUN_BOUND_MS + 30_000,
  );
});
