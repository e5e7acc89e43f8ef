/**
 * The side-by-side headline: per target, the numbers the issue asks for,
 * taken from the scenario runs of ONE invocation, and the ratios of
 * presenced against each Kamailio presence setup.
 *
 *  PUBLISH/s     max sustained achieved rate of the `publish` scenario (< 1 % failures, ≥ 0.9 of offered)
 *  SUBSCRIBE/s   max sustained achieved rate of the `subscribe` scenario
 *  NOTIFY/s      NOTIFY/s delivered at the watchers in the `fanout` step at the max sustained rate
 *  p50/p99       PUBLISH→NOTIFY latency in that step, and in the passing step closest to half its rate
 *  CPU           seconds per 1,000 delivered NOTIFYs in that step, Kamailio and presenced apart
 *  duplicates    duplicate NOTIFYs (second dialog of a pair, CSeq reuse) over every step of every scenario
 *  blf/carrier   max sustained rates of those scenarios, when run
 */
import type { StepResult } from '../scenarios/types.js';
import type { ScenarioRun, TargetRun } from './runner.js';
import { round } from './stats.js';
import type { TargetKind } from './targets.js';

export interface HeadlineRow {
  target: TargetKind;
  label: string;
  publishPerSec: number | null;
  subscribePerSec: number | null;
  notifyPerSec: number | null;
  fanoutPublishPerSec: number | null;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  halfRateLatencyP50Ms: number | null;
  halfRateLatencyP99Ms: number | null;
  halfRatePublishPerSec: number | null;
  kamailioCpuSecPer1000Notify: number | null;
  presencedCpuSecPer1000Notify: number | null;
  stackCpuSecPer1000Notify: number | null;
  blfNotifyPerSec: number | null;
  blfPublishPerSec: number | null;
  carrierRequestsPerSec: number | null;
  carrierSubscribersEquivalent: number | null;
  duplicateNotifies: number;
  outOfOrderNotifies: number;
  /** Scenarios this target ran, and whether each had a passing step. */
  scenarios: Record<string, boolean>;
}

export type Direction = 'higher' | 'lower';
export const HEADLINE_METRICS: ReadonlyArray<{ key: keyof HeadlineRow; label: string; better: Direction; unit: string }> = [
  { key: 'publishPerSec', label: 'PUBLISH/s (max sustained, lifecycle)', better: 'higher', unit: '/s' },
  { key: 'subscribePerSec', label: 'SUBSCRIBE/s (max sustained, lifecycle)', better: 'higher', unit: '/s' },
  { key: 'notifyPerSec', label: 'NOTIFY/s delivered (fan-out, max sustained)', better: 'higher', unit: '/s' },
  { key: 'latencyP50Ms', label: 'PUBLISH→NOTIFY p50 at max (ms)', better: 'lower', unit: 'ms' },
  { key: 'latencyP99Ms', label: 'PUBLISH→NOTIFY p99 at max (ms)', better: 'lower', unit: 'ms' },
  { key: 'halfRateLatencyP50Ms', label: 'PUBLISH→NOTIFY p50 at ~half max (ms)', better: 'lower', unit: 'ms' },
  { key: 'halfRateLatencyP99Ms', label: 'PUBLISH→NOTIFY p99 at ~half max (ms)', better: 'lower', unit: 'ms' },
  { key: 'kamailioCpuSecPer1000Notify', label: 'Kamailio CPU s / 1000 NOTIFY', better: 'lower', unit: 's' },
  { key: 'presencedCpuSecPer1000Notify', label: 'presenced CPU s / 1000 NOTIFY', better: 'lower', unit: 's' },
  { key: 'stackCpuSecPer1000Notify', label: 'Kamailio + presenced CPU s / 1000 NOTIFY', better: 'lower', unit: 's' },
  { key: 'blfNotifyPerSec', label: 'BLF NOTIFY/s (max sustained)', better: 'higher', unit: '/s' },
  { key: 'carrierRequestsPerSec', label: 'carrier mix requests/s (max sustained)', better: 'higher', unit: '/s' },
  { key: 'carrierSubscribersEquivalent', label: 'carrier mix busy-hour subscribers', better: 'higher', unit: '' },
  { key: 'duplicateNotifies', label: 'duplicate NOTIFYs (all steps)', better: 'lower', unit: '' },
];

function find(scenarios: readonly ScenarioRun[], name: string, kind: TargetKind): TargetRun | undefined {
  return scenarios.find((s) => s.scenario === name)?.targets.find((t) => t.target === kind);
}

function maxStep(run: TargetRun | undefined): StepResult | undefined {
  if (!run?.maxSustained) return undefined;
  return run.steps[run.maxSustained.step];
}

const n = (x: number | undefined | null): number | null => (x === undefined || x === null || !Number.isFinite(x) ? null : x);

export function headline(scenarios: readonly ScenarioRun[]): { rows: HeadlineRow[]; ratios: Record<string, Record<string, number | null>> } {
  const kinds: TargetKind[] = [];
  for (const s of scenarios) for (const t of s.targets) if (!kinds.includes(t.target)) kinds.push(t.target);
  const rows: HeadlineRow[] = kinds.map((kind) => {
    const pub = find(scenarios, 'publish', kind);
    const sub = find(scenarios, 'subscribe', kind);
    const fan = find(scenarios, 'fanout', kind);
    const blf = find(scenarios, 'blf', kind);
    const car = find(scenarios, 'carrier', kind);
    const fs = maxStep(fan);
    const half = fan?.halfMaxStep !== null && fan?.halfMaxStep !== undefined ? fan.steps[fan.halfMaxStep] : undefined;
    const bs = maxStep(blf);
    const cs = maxStep(car);
    let dups = 0;
    let ooo = 0;
    const ran: Record<string, boolean> = {};
    for (const s of scenarios) {
      const t = s.targets.find((x) => x.target === kind);
      if (!t) continue;
      ran[s.scenario] = t.maxSustained !== null;
      for (const st of t.steps) {
        dups += st.notify.duplicates;
        ooo += st.notify.outOfOrder;
      }
    }
    const label = [...scenarios.flatMap((s) => s.targets)].find((t) => t.target === kind)?.label ?? kind;
    return {
      target: kind,
      label,
      publishPerSec: n(pub?.maxSustained?.achievedPerSec),
      subscribePerSec: n(sub?.maxSustained?.achievedPerSec),
      notifyPerSec: n(fs?.notify.perSec),
      fanoutPublishPerSec: n(fs?.achievedPerSec),
      latencyP50Ms: n(fs?.latencyMs?.p50),
      latencyP99Ms: n(fs?.latencyMs?.p99),
      halfRateLatencyP50Ms: n(half?.latencyMs?.p50),
      halfRateLatencyP99Ms: n(half?.latencyMs?.p99),
      halfRatePublishPerSec: n(half?.achievedPerSec),
      kamailioCpuSecPer1000Notify: n(fs?.cpu.kamailioSecondsPer1000Notify),
      presencedCpuSecPer1000Notify: fs && kind.startsWith('presenced') ? n(fs.cpu.presencedSecondsPer1000Notify) : null,
      stackCpuSecPer1000Notify: fs ? n(round(fs.cpu.kamailioSecondsPer1000Notify + (kind.startsWith('presenced') ? fs.cpu.presencedSecondsPer1000Notify : 0), 4)) : null,
      blfNotifyPerSec: n(bs?.notify.perSec),
      blfPublishPerSec: n(bs?.achievedPerSec),
      carrierRequestsPerSec: n(cs?.achievedPerSec),
      carrierSubscribersEquivalent: n((cs?.extra as { subscribersEquivalent?: number } | undefined)?.subscribersEquivalent),
      duplicateNotifies: dups,
      outOfOrderNotifies: ooo,
      scenarios: ran,
    };
  });
  const ratios: Record<string, Record<string, number | null>> = {};
  const ratio = (p: HeadlineRow, k: HeadlineRow): void => {
    const rr: Record<string, number | null> = {};
    for (const m of HEADLINE_METRICS) {
      const a = p[m.key];
      const b = k[m.key];
      rr[m.key] = typeof a === 'number' && typeof b === 'number' && b !== 0 ? round(a / b, 2) : null;
    }
    ratios[`${p.target} / ${k.target}`] = rr;
  };
  for (const p of rows.filter((r) => r.target.startsWith('presenced'))) {
    for (const k of rows.filter((r) => r.target.startsWith('kamailio'))) ratio(p, k);
  }
  // the two delivery modes against each other (bench stack)
  const sip = rows.find((r) => r.target === 'presenced-sip');
  const rpc = rows.find((r) => r.target === 'presenced-rpc');
  if (sip !== undefined && rpc !== undefined) ratio(sip, rpc);
  return { rows, ratios };
}
