/**
 * Runs scenarios against targets, one after the other on this machine:
 * for each scenario, each target gets a fresh start (new temp dir, database,
 * processes), a warm-up, the scenario's setup, then the rate ramp — steps
 * at start · factor^k until the first step with ≥ 1 % failures or an
 * achieved/offered ratio below 0.9 (or --rate: one step). The maximum
 * sustained rate is the last passing step's achieved rate. CPU is sampled
 * every second for the time series; every process started is stopped by
 * PID before the next target starts.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Scenario, ScenarioContext, StepResult } from '../scenarios/types.js';
import { WatcherFleet, type LatencySample } from './fleet.js';
import { CLK_TCK, type CpuSample, machineCores, registerTempDir, releaseTempDir } from './procs.js';
import { round } from './stats.js';
import { type PoolSettings, type RunningTarget, startTarget, TARGET_LABELS, type TargetKind, targetPrerequisites } from './targets.js';

export interface RunnerOptions {
  readonly quick: boolean;
  readonly seconds: number;
  readonly targets: readonly TargetKind[];
  /** One step at this rate instead of the ramp. */
  readonly fixedRate?: number;
  readonly pool?: PoolSettings;
  readonly kamailioChildren: number;
  /** presenced → Kamailio NOTIFY transport (default tcp). */
  readonly notifyTransport?: 'udp' | 'tcp';
  readonly shmMb: number;
  readonly keep: boolean;
  readonly uasSockets: number;
  readonly recvTimeoutMs: number;
  readonly maxDrainMs: number;
  readonly cpuProfDir?: string;
  /** After the ramp's first failing step: this many bisection steps (geometric midpoints) between it and the last passing one. */
  readonly refine?: number;
  log(msg: string): void;
}

export interface TimePoint {
  /** Seconds since the target started. */
  readonly t: number;
}

export interface TargetRun {
  target: TargetKind;
  label: string;
  ok: boolean;
  error?: string;
  setup?: Record<string, unknown>;
  warmUp?: { subscribeAttempts: number; publishAttempts: number; ms: number };
  scenarioSetup?: Record<string, unknown>;
  steps: StepResult[];
  /** The last passing step (the maximum sustained rate), if any. */
  maxSustained: { step: number; offeredPerSec: number; achievedPerSec: number } | null;
  /** The first failing step: why the ramp stopped. */
  stoppedBy: { step: number; offeredPerSec: number; reason: string } | null;
  /** The passing step whose offered rate is closest to half the maximum sustained one. */
  halfMaxStep: number | null;
  timeseries: {
    cpu: Array<TimePoint & { kamailioCores: number; presencedCores: number; machineBusyCores: number }>;
    /** PUBLISH→NOTIFY latency percentiles per second. */
    latency: Array<TimePoint & { n: number; p50: number; p90: number; p99: number }>;
    /** sipp response time percentiles per second. */
    response: Array<TimePoint & { n: number; p50: number; p90: number; p99: number }>;
  };
  storeBytesAfter?: number;
  kamailioLogErrors?: string[];
  logs?: { kamailio: string; presenced: string };
  wallSeconds: number;
}

export interface ScenarioRun {
  scenario: string;
  title: string;
  unit: string;
  description: string;
  parameters: Record<string, unknown>;
  ramp: { start: number; factor: number; maxSteps: number; fixedRate: number | null; seconds: number; refine: number };
  targets: TargetRun[];
}

function binPercentiles(samples: readonly LatencySample[], t0: number): Array<TimePoint & { n: number; p50: number; p90: number; p99: number }> {
  const bins = new Map<number, number[]>();
  for (const s of samples) {
    const k = Math.floor((s.at - t0) / 1000);
    let b = bins.get(k);
    if (!b) bins.set(k, (b = []));
    b.push(s.ms);
  }
  const out: Array<TimePoint & { n: number; p50: number; p90: number; p99: number }> = [];
  for (const k of [...bins.keys()].sort((a, b) => a - b)) {
    const v = (bins.get(k) as number[]).sort((a, b) => a - b);
    const q = (p: number): number => v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))] as number;
    out.push({ t: k + 0.5, n: v.length, p50: round(q(50), 2), p90: round(q(90), 2), p99: round(q(99), 2) });
  }
  return out;
}

async function runTarget(scenario: Scenario, kind: TargetKind, o: RunnerOptions, prefix: string): Promise<TargetRun> {
  const run: TargetRun = {
    target: kind,
    label: TARGET_LABELS[kind],
    ok: false,
    steps: [],
    maxSustained: null,
    stoppedBy: null,
    halfMaxStep: null,
    timeseries: { cpu: [], latency: [], response: [] },
    wallSeconds: 0,
  };
  const started = performance.now();
  const missing = targetPrerequisites(kind);
  if (missing !== '') {
    run.error = missing;
    o.log(`${prefix} cannot run: ${missing}`);
    return run;
  }
  const dir = mkdtempSync(join(tmpdir(), `presenced-bench-${scenario.name}-${kind}-`));
  registerTempDir(dir);
  const fleet = new WatcherFleet();
  let target: RunningTarget | undefined;
  let sampler: NodeJS.Timeout | undefined;
  const responses: Array<{ at: number; ms: number }> = [];
  let t0 = Date.now();
  try {
    await fleet.start(o.uasSockets);
    target = await startTarget(kind, {
      dir,
      ...(o.pool !== undefined ? { pool: o.pool } : {}),
      kamailioChildren: o.kamailioChildren,
      ...(o.notifyTransport !== undefined ? { notifyTransport: o.notifyTransport } : {}),
      shmMb: o.shmMb,
      keep: o.keep,
      ...(o.cpuProfDir !== undefined ? { cpuProfDir: o.cpuProfDir } : {}),
    });
    run.setup = target.setup;
    t0 = fleet.clock.now();
    const tgt = target;
    let last: CpuSample = tgt.cpu();
    const t0perf = last.at;
    sampler = setInterval(() => {
      const s = tgt.cpu();
      const dt = (s.at - last.at) / 1000;
      if (dt > 0.2) {
        run.timeseries.cpu.push({
          t: round((s.at - t0perf) / 1000, 2),
          kamailioCores: round((s.kamailio - last.kamailio) / CLK_TCK / dt, 3),
          presencedCores: round((s.presenced - last.presenced) / CLK_TCK / dt, 3),
          machineBusyCores: round(((s.machine.busy - last.machine.busy) / Math.max(1, s.machine.total - last.machine.total)) * machineCores(), 3),
        });
        last = s;
      }
    }, 1000);
    run.warmUp = await fleet.warmUp(tgt.sipPort, 30_000);
    const ctx: ScenarioContext = {
      target: tgt,
      fleet,
      dir,
      quick: o.quick,
      seconds: o.seconds,
      recvTimeoutMs: o.recvTimeoutMs,
      maxDrainMs: o.maxDrainMs,
      log: o.log,
      recordResponses: (samples) => {
        for (const s of samples) responses.push({ at: s.at, ms: s.ms });
      },
      t0,
    };
    o.log(`${prefix} up (Kamailio ${tgt.kamailioPid}${tgt.presencedPid !== undefined ? `, presenced ${tgt.presencedPid}` : ''}), warm-up ${run.warmUp.ms} ms; setup`);
    run.scenarioSetup = await scenario.setup(ctx);
    const plan = scenario.ramp;
    const rates: number[] =
      o.fixedRate !== undefined ? [o.fixedRate] : Array.from({ length: plan.maxSteps }, (_, k) => round(plan.start * plan.factor ** k, 2));
    const runStep = async (k: number, rate: number, label: string): Promise<StepResult> => {
      const step = await scenario.step(ctx, k, rate);
      run.steps.push(step);
      const alive = tgt.alive();
      const lat = step.latencyMs ? `, PUBLISH→NOTIFY p50 ${step.latencyMs.p50} p99 ${step.latencyMs.p99} ms` : '';
      const notify = step.notify.delivered > 0 ? `, NOTIFY ${step.notify.perSec}/s (${step.notify.delivered})` : '';
      if (!alive.kamailio || !alive.presenced) {
        step.ok = false;
        step.failureDetails.push(!alive.kamailio ? 'Kamailio died' : 'presenced died');
        step.failures += 1;
      }
      o.log(
        `${prefix} ${label}: offered ${rate} ${scenario.unit} → ${step.achievedPerSec} (×${step.achievedRatio})${notify}${lat}; ` +
          `CPU Kamailio ${step.cpu.kamailioSeconds}s presenced ${step.cpu.presencedSeconds}s; failures ${step.failures} ` +
          `(${round(step.failureRatio * 100, 2)} %) ${step.ok ? 'ok' : `FAIL: ${step.failureDetails.slice(0, 3).join('; ') || `achieved ×${step.achievedRatio} < 0.9`}`}`,
      );
      return step;
    };
    for (let k = 0; k < rates.length; k++) {
      const rate = rates[k] as number;
      const step = await runStep(k, rate, `step ${k + 1}/${rates.length}`);
      if (step.ok) run.maxSustained = { step: run.steps.length - 1, offeredPerSec: step.offeredPerSec, achievedPerSec: step.achievedPerSec };
      else {
        run.stoppedBy = {
          step: k,
          offeredPerSec: step.offeredPerSec,
          reason: step.failureRatio >= 0.01 || step.failureDetails.length > 0 ? step.failureDetails.join('; ') || 'failures' : `achieved/offered ${step.achievedRatio} < 0.9`,
        };
        break;
      }
    }
    // bisection between the last passing and the first failing rate (finer than the ramp's factor)
    if (run.maxSustained && run.stoppedBy && (o.refine ?? 0) > 0 && tgt.alive().kamailio && tgt.alive().presenced) {
      let lo = run.maxSustained.offeredPerSec;
      let hi = run.stoppedBy.offeredPerSec;
      for (let r = 0; r < (o.refine ?? 0); r++) {
        const mid = round(Math.sqrt(lo * hi), 2);
        const step = await runStep(run.steps.length, mid, `refine ${r + 1}/${o.refine}`);
        if (step.ok) {
          run.maxSustained = { step: run.steps.length - 1, offeredPerSec: step.offeredPerSec, achievedPerSec: step.achievedPerSec };
          lo = mid;
        } else hi = mid;
        if (!tgt.alive().kamailio || !tgt.alive().presenced) break;
      }
    }
    if (run.maxSustained) {
      const half = run.maxSustained.offeredPerSec / 2;
      let best: StepResult | undefined;
      for (const s of run.steps) if (s.ok && (!best || Math.abs(s.offeredPerSec - half) < Math.abs(best.offeredPerSec - half))) best = s;
      run.halfMaxStep = best?.step ?? null;
    }
    // Quick mode (the smoke tests): every step must pass. Full mode: the ramp is expected to end at a failing step.
    run.ok = (o.quick || o.fixedRate !== undefined) && !o.refine ? run.steps.length > 0 && run.steps.every((s) => s.ok) : run.maxSustained !== null;
    run.storeBytesAfter = tgt.storeBytes();
    run.kamailioLogErrors = tgt.kamailioErrors();
  } catch (err) {
    run.ok = false;
    run.error = err instanceof Error ? err.message : String(err);
    const setup = (err as { setup?: unknown }).setup;
    if (setup !== undefined) run.scenarioSetup = { population: setup };
    o.log(`${prefix} FAILED: ${run.error.split('\n')[0]}`);
  } finally {
    if (sampler) clearInterval(sampler);
    if (target) {
      if (!run.ok) run.logs = target.logTails(20);
      await target.stop();
    }
    fleet.close();
    run.timeseries.latency = binPercentiles(fleet.allLatencies, t0);
    run.timeseries.response = binPercentiles(responses, t0);
    releaseTempDir(dir, !o.keep);
    if (o.keep) o.log(`${prefix} kept ${dir}`);
    run.wallSeconds = round((performance.now() - started) / 1000, 1);
  }
  return run;
}

export async function runScenarios(scenarios: readonly Scenario[], o: RunnerOptions): Promise<ScenarioRun[]> {
  const out: ScenarioRun[] = [];
  let n = 0;
  const total = scenarios.length * o.targets.length;
  for (const sc of scenarios) {
    const sr: ScenarioRun = {
      scenario: sc.name,
      title: sc.title,
      unit: sc.unit,
      description: sc.description,
      parameters: sc.parameters,
      ramp: { ...sc.ramp, fixedRate: o.fixedRate ?? null, seconds: o.seconds, refine: o.refine ?? 0 },
      targets: [],
    };
    o.log(`== ${sc.title}`);
    for (const kind of o.targets) {
      n++;
      const prefix = `[${n}/${total} ${sc.name} ${kind}]`;
      const r = await runTarget(sc, kind, o, prefix);
      const ms = r.maxSustained;
      o.log(
        `${prefix} ${r.ok ? 'done' : 'NOT OK'} in ${r.wallSeconds} s: max sustained ${ms ? `${ms.achievedPerSec} ${sc.unit} (offered ${ms.offeredPerSec})` : 'none'}` +
          `${r.stoppedBy ? `; stopped at ${r.stoppedBy.offeredPerSec}: ${r.stoppedBy.reason.slice(0, 160)}` : ''}`,
      );
      sr.targets.push(r);
    }
    out.push(sr);
  }
  return out;
}
