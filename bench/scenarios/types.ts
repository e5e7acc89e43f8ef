/**
 * What a benchmark scenario is, and the bookkeeping every ramp step shares:
 * one step = some sipp runs at an offered rate against a running target,
 * measured between a CPU sample before and after (after the NOTIFY drain),
 * with the watcher fleet's counters of the same window.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import type { LatencySample, WatcherFleet } from '../lib/fleet.js';
import { type CpuDelta, type CpuSample, cpuDelta, sleep } from '../lib/procs.js';
import { type SippOutcome, runSipp, type SippRun } from '../lib/sipp.js';
import { round, summarize } from '../lib/stats.js';
import type { RunningTarget } from '../lib/targets.js';

const here = import.meta.dirname;
const repoRoot = here.includes(`${sep}dist${sep}`) ? resolve(here, '../../..') : resolve(here, '../..');
export const SCENARIO_SIPP_DIR = join(repoRoot, 'bench', 'scenarios', 'sipp');

export interface ScenarioContext {
  readonly target: RunningTarget;
  readonly fleet: WatcherFleet;
  /** Work dir of this target run (injection files, sipp traces). */
  readonly dir: string;
  readonly quick: boolean;
  /** Nominal duration of one ramp step (s). */
  readonly seconds: number;
  /** A sipp call fails when an expected response does not come within this (ms). */
  readonly recvTimeoutMs: number;
  /** Longest wait for late NOTIFYs after a step (ms). */
  readonly maxDrainMs: number;
  log(msg: string): void;
  /** Response times (sipp) over time, for the report's time series. */
  recordResponses(samples: ReadonlyArray<{ readonly at: number; readonly ms: number }>): void;
  /** Epoch ms of the target's start (for time series). */
  readonly t0: number;
}

export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export interface StepResult {
  step: number;
  /** Offered rate in the scenario's unit. */
  offeredPerSec: number;
  achievedPerSec: number;
  achievedRatio: number;
  /** Requests sent (PUBLISH + SUBSCRIBE, first transmissions). */
  requestsSent: number;
  requestsAnswered2xx: number;
  failures: number;
  failureRatio: number;
  failureDetails: string[];
  /** failureRatio < 1% and achievedRatio >= 0.9 */
  ok: boolean;
  /** Seconds since the target's start. */
  t0: number;
  t1: number;
  windowSeconds: number;
  publish: { sent: number; answered2xx: number; perSec: number };
  subscribe: { sent: number; answered2xx: number; perSec: number };
  notify: {
    delivered: number;
    /** NOTIFYs the answered requests call for (fan-out × PUBLISHes, 1 per SUBSCRIBE…); coalescing may deliver fewer. */
    expected: number;
    perSec: number;
    drainMs: number;
    retransmissionsReceived: number;
    outOfOrder: number;
    duplicates: number;
    duplicateDialogs: number;
    cseqReuse: number;
    unknown: number;
    afterTerminated: number;
    terminated: number;
    stalePairs: number;
  };
  /** PUBLISH→NOTIFY latency (stamped NOTIFYs). */
  latencyMs: Percentiles | null;
  /** sipp response times by request kind. */
  responseMs: Record<string, Percentiles>;
  cpu: CpuDelta & {
    kamailioSecondsPer1000Notify: number;
    presencedSecondsPer1000Notify: number;
    kamailioUsPerRequest: number;
    presencedUsPerRequest: number;
  };
  sipp: Record<string, { exit: number | null; failedCalls: number; retransmissions: number; errors?: string }>;
  extra?: Record<string, unknown>;
}

export interface RampPlan {
  readonly start: number;
  readonly factor: number;
  readonly maxSteps: number;
}

export interface Scenario {
  readonly name: string;
  readonly title: string;
  /** Unit of the offered / achieved rate. */
  readonly unit: string;
  readonly description: string;
  readonly parameters: Record<string, unknown>;
  readonly ramp: RampPlan;
  /** Before the ramp: subscriptions etc. Throws when the setup failed. */
  setup(ctx: ScenarioContext): Promise<Record<string, unknown>>;
  step(ctx: ScenarioContext, index: number, offered: number): Promise<StepResult>;
}

// ---------------------------------------------------------------- helpers

export function pct(samples: number[]): Percentiles | null {
  if (samples.length === 0) return null;
  const s = summarize(samples);
  return { count: s.count, p50: round(s.p50, 2), p90: round(s.p90, 2), p99: round(s.p99, 2), max: round(s.max, 2) };
}

export function writeInjection(dir: string, name: string, rows: readonly string[]): string {
  const file = join(dir, name);
  writeFileSync(file, `SEQUENTIAL\n${rows.join('\n')}\n`);
  return file;
}

let runSeq = 0;
/** A sipp run in its own sub-directory (trace file names are per scenario file). */
export async function sipp(ctx: ScenarioContext, o: Omit<SippRun, 'dir' | 'targetPort'> & { readonly label: string }): Promise<SippOutcome & { label: string }> {
  const dir = join(ctx.dir, `sipp-${++runSeq}-${o.label}`);
  mkdirSync(dir, { recursive: true });
  const out = await runSipp({ ...o, dir, targetPort: ctx.target.sipPort, recvTimeoutMs: o.recvTimeoutMs ?? ctx.recvTimeoutMs });
  return { ...out, label: o.label };
}

/** Waits until no NOTIFY arrived for `quietMs` (Kamailio retransmits a lost one after 0.5 s), at most `maxMs`. */
export async function drain(fleet: WatcherFleet, since: number, quietMs: number, maxMs: number): Promise<number> {
  const start = fleet.clock.now();
  while (fleet.clock.now() - Math.max(fleet.lastNotifyAt, since) < quietMs && fleet.clock.now() - start < maxMs) await sleep(50);
  return Math.round(fleet.clock.now() - start);
}

/** Drain that waits at least until `until()` holds (e.g. every expected NOTIFY), bounded. */
export async function drainUntil(fleet: WatcherFleet, until: () => boolean, maxMs: number): Promise<number> {
  const start = fleet.clock.now();
  while (!until() && fleet.clock.now() - start < maxMs) await sleep(25);
  return Math.round(fleet.clock.now() - start);
}

export interface StepInputs {
  readonly index: number;
  readonly offered: number;
  readonly achievedPerSec: number;
  readonly achievedRatio: number;
  readonly startedAt: number;
  readonly c0: CpuSample;
  readonly c1: CpuSample;
  readonly runs: ReadonlyArray<SippOutcome & { label: string }>;
  readonly publish: { sent: number; answered2xx: number };
  readonly subscribe: { sent: number; answered2xx: number };
  readonly expectedNotifies: number;
  readonly drainMs: number;
  readonly window: { counters: import('../lib/fleet.js').FleetCounters; latencies: LatencySample[] };
  readonly stalePairs: number;
  /** Extra failures the scenario found (name → count). */
  readonly extraFailures?: Readonly<Record<string, number>>;
  readonly responseMs: Record<string, number[]>;
  readonly ctx: ScenarioContext;
  readonly extra?: Record<string, unknown>;
}

/** Builds a StepResult: failures, ratios, CPU per NOTIFY / per request. */
export function stepResult(i: StepInputs): StepResult {
  const c = i.window.counters;
  const details: string[] = [];
  let failures = 0;
  const fail = (what: string, n: number): void => {
    if (n > 0) {
      failures += n;
      details.push(`${what}: ${n}`);
    }
  };
  const sent = i.publish.sent + i.subscribe.sent;
  const answered = i.publish.answered2xx + i.subscribe.answered2xx;
  fail('requests not answered 2xx', sent - answered);
  fail('NOTIFYs out of CSeq order', c.outOfOrder);
  fail('duplicate NOTIFYs (second dialog of a pair)', c.duplicateDialogNotifies);
  fail('duplicate NOTIFYs (CSeq reused)', c.cseqReuse);
  fail('NOTIFYs for unknown watcher/presentity pairs', c.unknown);
  fail('NOTIFYs after the terminated one', c.afterTerminated);
  fail('watchers not on the newest state after the step', i.stalePairs);
  for (const [k, v] of Object.entries(i.extraFailures ?? {})) fail(k, v);
  for (const r of i.runs) {
    if (r.exitCode !== 0 && r.exitCode !== 1) details.push(`sipp ${r.label} exit ${r.exitCode ?? r.signal}: ${r.errors.slice(-300)}`);
  }
  const delivered = c.notifies;
  const windowSeconds = (i.c1.at - i.c0.at) / 1000;
  const notifyWindow = Number.isFinite(c.lastAt) ? (c.lastAt - i.startedAt) / 1000 : NaN;
  const cpu = cpuDelta(i.c0, i.c1);
  const perK = (s: number): number => (delivered > 0 ? round((s * 1000) / delivered, 4) : NaN);
  const perReq = (s: number): number => (answered > 0 ? round((s * 1e6) / answered, 1) : NaN);
  const failureRatio = sent + delivered > 0 ? failures / (sent + delivered) : failures > 0 ? 1 : 0;
  const reqWindow = Math.max(1e-3, ...i.runs.map((r) => r.windowSeconds).filter((x) => Number.isFinite(x)));
  const responseMs: Record<string, Percentiles> = {};
  for (const [k, v] of Object.entries(i.responseMs)) {
    const p = pct(v);
    if (p) responseMs[k] = p;
  }
  return {
    step: i.index,
    offeredPerSec: round(i.offered, 2),
    achievedPerSec: round(i.achievedPerSec, 2),
    achievedRatio: round(i.achievedRatio, 3),
    requestsSent: sent,
    requestsAnswered2xx: answered,
    failures,
    failureRatio: round(failureRatio, 5),
    failureDetails: details,
    ok: failureRatio < 0.01 && i.achievedRatio >= 0.9,
    t0: round((i.startedAt - i.ctx.t0) / 1000, 3),
    t1: round((i.startedAt + windowSeconds * 1000 - i.ctx.t0) / 1000, 3),
    windowSeconds: round(windowSeconds, 3),
    publish: { ...i.publish, perSec: round(i.publish.answered2xx / reqWindow, 1) },
    subscribe: { ...i.subscribe, perSec: round(i.subscribe.answered2xx / reqWindow, 1) },
    notify: {
      delivered,
      expected: i.expectedNotifies,
      perSec: Number.isFinite(notifyWindow) && notifyWindow > 0 ? round(delivered / notifyWindow, 1) : 0,
      drainMs: i.drainMs,
      retransmissionsReceived: c.retransmissions,
      outOfOrder: c.outOfOrder,
      duplicates: c.duplicateDialogNotifies + c.cseqReuse,
      duplicateDialogs: c.duplicateDialogs,
      cseqReuse: c.cseqReuse,
      unknown: c.unknown,
      afterTerminated: c.afterTerminated,
      terminated: c.terminated,
      stalePairs: i.stalePairs,
    },
    latencyMs: pct(i.window.latencies.map((s) => s.ms)),
    responseMs,
    cpu: {
      ...cpu,
      kamailioSecondsPer1000Notify: perK(cpu.kamailioSeconds),
      presencedSecondsPer1000Notify: perK(cpu.presencedSeconds),
      kamailioUsPerRequest: perReq(cpu.kamailioSeconds),
      presencedUsPerRequest: perReq(cpu.presencedSeconds),
    },
    sipp: Object.fromEntries(
      i.runs.map((r) => [
        r.label,
        { exit: r.exitCode, failedCalls: r.failedCalls, retransmissions: r.retransmissions, ...(r.exitCode !== 0 ? { errors: r.errors.slice(-500) } : {}) },
      ]),
    ),
    ...(i.extra !== undefined ? { extra: i.extra } : {}),
  };
}

/** sipp response times per response-time counter (`-trace_rtt`), keyed by the scenario's names for them. */
export function namedResponses(r: SippOutcome, names: Readonly<Record<string, string>>): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(r.rttMs)) out[names[k] ?? k] = v;
  return out;
}

/** sipp counters of one request method in a run: first transmissions sent and 2xx received. */
export function requestCounts(r: SippOutcome, method: 'PUBLISH' | 'SUBSCRIBE'): { sent: number; answered2xx: number } {
  return { sent: r.counts[`${method}_Sent`] ?? 0, answered2xx: (r.counts['200_Recv'] ?? 0) + (r.counts['202_Recv'] ?? 0) };
}

/**
 * Achieved / offered for an open-loop sipp run of `calls` calls at `callRate`/s: the share of calls whose first
 * transaction was answered, times how closely those answers kept the offered pace (spread of the first
 * responses vs the nominal spread (calls − 1) / callRate). A server that queues spreads its answers out.
 */
export function callPaceRatio(r: SippOutcome, rtd: string, calls: number, callRate: number): number {
  const ts = r.rttSamples.filter((s) => s.rtd === rtd).map((s) => s.at).sort((a, b) => a - b);
  const answered = Math.min(1, ts.length / Math.max(1, calls));
  if (ts.length < 3) return answered;
  const nominal = (calls - 1) / callRate;
  const actual = ((ts[ts.length - 1] as number) - (ts[0] as number)) / 1000;
  return answered * Math.min(1, nominal / Math.max(actual, 1e-3));
}
