/**
 * Smoke test of the side-by-side run (bench/cli.ts `side-by-side --quick`):
 * the same sipp traffic (PUBLISH lifecycle, SUBSCRIBE lifecycle, fan-out)
 * against Kamailio + presenced (SIP delivery), Kamailio's presence module
 * with db_sqlite write-through (bench/kamailio/presence-sqlite.cfg) and
 * memory-only (presence-memory.cfg), one after the other in one
 * invocation. Every run must complete with zero failures; the headline has
 * PUBLISH/s, SUBSCRIBE/s, NOTIFY/s, latency and CPU per target and the
 * ratios of presenced against each Kamailio setup.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kamailioBinary } from '../../integrations/kamailio/kamailio-process.js';
import { targetPrerequisites } from '../../bench/lib/targets.js';
import { sippBinary } from '../support/sipp-process.js';
import { checkReport, checkStepInvariants, ensureBuilt, repo, runNode } from './bench-run.js';

const RUN_BOUND_MS = 150_000;
const haveTools = kamailioBinary() !== null && sippBinary() !== null && targetPrerequisites('kamailio-sqlite') === '';

describe.skipIf(!haveTools)('bench side-by-side --quick: presenced vs Kamailio presence (sqlite, memory)', () => {
  const out = mkdtempSync(join(tmpdir(), 'presenced-sbs-smoke-'));
  beforeAll(() => ensureBuilt('cli.js'), 300_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it(
    'runs the same traffic against the three setups in one invocation; zero failures; ratios in the report',
    async () => {
      const r = await runNode(
        [join(repo, 'dist', 'bench', 'cli.js'), 'side-by-side', '--quick', '--scenarios', 'publish,subscribe,fanout', '--out', out, '--name', 'sbs-smoke'],
        RUN_BOUND_MS,
      );
      const dir = r.stdout.trim().split('\n').pop() ?? '';
      expect(r.code, `exit ${r.code ?? r.signal}\n${r.stderr.slice(-5000)}`).toBe(0);
      const res = checkReport(dir);
      expect(res.completed).toBe(true);
      expect(res.failures).toBe(0);
      for (const sc of res.scenarios) expect(sc.targets.map((t) => t.target)).toEqual(['presenced-sip', 'kamailio-sqlite', 'kamailio-memory']);
      checkStepInvariants(res);
      // the Kamailio setups are what the configs say
      const fan = res.scenarios.find((s) => s.scenario === 'fanout');
      const sqlite = fan?.targets.find((t) => t.target === 'kamailio-sqlite');
      expect(sqlite?.setup?.['kamailioChildren']).toBe(1);
      expect(sqlite?.setup?.['presence']).toMatchObject({ subs_db_mode: 1, publ_cache: 1 });
      expect(sqlite?.storeBytesAfter ?? 0).toBeGreaterThan(0);
      expect(fan?.targets.find((t) => t.target === 'kamailio-memory')?.setup?.['presence']).toMatchObject({ subs_db_mode: 0, publ_cache: 2 });
      // headline: one row per target, ratios of presenced vs each Kamailio setup
      expect(res.headline.rows.map((x) => x.target)).toEqual(['presenced-sip', 'kamailio-sqlite', 'kamailio-memory']);
      for (const row of res.headline.rows) {
        expect(row.publishPerSec ?? 0, row.target).toBeGreaterThan(0);
        expect(row.subscribePerSec ?? 0, row.target).toBeGreaterThan(0);
        expect(row.notifyPerSec ?? 0, row.target).toBeGreaterThan(0);
        expect(row.latencyP99Ms ?? 0, row.target).toBeGreaterThan(0);
        expect(row.kamailioCpuSecPer1000Notify ?? -1, row.target).toBeGreaterThanOrEqual(0);
        expect(row.duplicateNotifies, row.target).toBe(0);
      }
      expect(res.headline.rows[0]?.presencedCpuSecPer1000Notify ?? 0).toBeGreaterThan(0);
      expect(Object.keys(res.headline.ratios).sort()).toEqual(['presenced-sip / kamailio-memory', 'presenced-sip / kamailio-sqlite']);
      for (const ratios of Object.values(res.headline.ratios)) {
        for (const k of ['publishPerSec', 'subscribePerSec', 'notifyPerSec', 'latencyP99Ms']) expect(ratios[k], k).toBeGreaterThan(0);
      }
    },
    RUN_BOUND_MS + 30_000,
  );
});
