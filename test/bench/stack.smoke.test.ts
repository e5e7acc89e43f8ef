/**
 * Smoke test of `bench stack --quick` (bench/cli.ts): the fan-out scenario
 * against both NOTIFY delivery modes in one invocation — presenced sending
 * NOTIFYs as SIP over TCP for Kamailio to relay (the default) and through
 * Kamailio's tm.t_uac_wait over JSON-RPC — with real Kamailio 5.6, sipp and
 * presenced on loopback. Both must complete with zero failures, deliver
 * NOTIFYs, and the headline must carry the sip / rpc ratio.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kamailioBinary } from '../../integrations/kamailio/kamailio-process.js';
import { sippBinary } from '../support/sipp-process.js';
import { checkReport, checkStepInvariants, ensureBuilt, repo, runNode } from './bench-run.js';

const RUN_BOUND_MS = 120_000;
const haveTools = kamailioBinary() !== null && sippBinary() !== null;

describe.skipIf(!haveTools)('bench stack --quick: the two NOTIFY delivery modes side by side', () => {
  const out = mkdtempSync(join(tmpdir(), 'presenced-stack-smoke-'));
  beforeAll(() => ensureBuilt('cli.js'), 300_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it(
    'fanout through SIP (TCP) and JSON-RPC delivery: zero failures, NOTIFYs delivered, sip/rpc ratios',
    async () => {
      const r = await runNode([join(repo, 'dist', 'bench', 'cli.js'), 'stack', '--quick', '--out', out, '--name', 'stack-smoke'], RUN_BOUND_MS);
      const dir = r.stdout.trim().split('\n').pop() ?? '';
      expect(r.code, `exit ${r.code ?? r.signal}\n${r.stderr.slice(-5000)}`).toBe(0);
      const res = checkReport(dir);
      expect(res.completed).toBe(true);
      expect(res.failures).toBe(0);
      expect(res.scenarios.map((s) => s.scenario)).toEqual(['fanout']);
      checkStepInvariants(res);
      const targets = res.scenarios[0]?.targets ?? [];
      expect(targets.map((t) => t.target)).toEqual(['presenced-sip', 'presenced-rpc']);
      expect(targets[0]?.setup?.['delivery']).toBe('sip');
      expect(targets[0]?.setup?.['notifyTransport']).toBe('tcp');
      expect(targets[1]?.setup?.['delivery']).toBe('rpc');
      for (const row of res.headline.rows) {
        expect(row.notifyPerSec ?? 0, row.target).toBeGreaterThan(0);
        expect(row.duplicateNotifies, row.target).toBe(0);
        expect(row.presencedCpuSecPer1000Notify ?? 0, row.target).toBeGreaterThan(0);
      }
      expect(Object.keys(res.headline.ratios)).toEqual(['presenced-sip / presenced-rpc']);
      expect(res.headline.ratios['presenced-sip / presenced-rpc']?.['notifyPerSec'] ?? 0).toBeGreaterThan(0);
    },
    RUN_BOUND_MS + 30_000,
  );
});
