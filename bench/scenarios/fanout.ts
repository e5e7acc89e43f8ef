/**
 * Fan-out scenarios: a population of subscriptions is created once (setup,
 * sipp bench/scenarios/sipp/subscribe-population.xml, every Contact naming the Node watcher
 * fleet), then each ramp step publishes at an offered PUBLISH/s: one paced
 * sipp call per presentity (bench/scenarios/sipp/publish-paced.xml: initial,
 * modifies on absolute deadlines, remove), every PUBLISH a new state, so
 * every watcher of the presentity is notified. NOTIFYs are counted at the
 * watchers' UAS (the fleet): delivered NOTIFY/s, PUBLISH→NOTIFY latency,
 * CSeq order, duplicates, and — after the step's removes — that every
 * watcher's last NOTIFY shows the final state.
 *
 *  - fanout: W watchers on P presentities (watcher i → presentity i mod P).
 *  - blf: an office of N phones, every phone watching every other phone:
 *    N·(N−1) subscriptions; each phone's call-state changes are PUBLISHed
 *    (Event: presence, PIDF; fan-out N−1).
 */
import { join } from 'node:path';
import { round } from '../lib/stats.js';
import {
  drain,
  drainUntil,
  requestCounts,
  SCENARIO_SIPP_DIR,
  type Scenario,
  type ScenarioContext,
  sipp,
  stepResult,
  type StepResult,
  writeInjection,
} from './types.js';

export interface Population {
  /** [watcher, presentity] */
  readonly pairs: ReadonlyArray<readonly [string, string]>;
  readonly presentities: readonly string[];
}

export interface PopulationSetup {
  readonly subscriptions: number;
  readonly subscribeOfferedPerSec: number;
  readonly subscribeAnswered: number;
  readonly subscribePerSec: number;
  readonly initialNotifies: number;
  readonly seconds: number;
  readonly cpu: { kamailioSeconds: number; presencedSeconds: number; kamailioUsPerSubscribe: number; presencedUsPerSubscribe: number };
}

/** SUBSCRIBEs for every pair (sipp subscribe.xml at `rate`/s); waits for every initial NOTIFY. Throws on failure. */
export async function subscribePopulation(ctx: ScenarioContext, pop: Population, rate: number, label: string): Promise<PopulationSetup> {
  const fleet = ctx.fleet;
  fleet.strictPairs = true;
  const rows: string[] = [];
  pop.pairs.forEach(([w, p], k) => {
    fleet.expectPair(w, p);
    rows.push(`${w};${p};${fleet.portFor(k)};`);
  });
  const inj = writeInjection(ctx.dir, `${label}-subscriptions.csv`, rows);
  fleet.window();
  const c0 = ctx.target.cpu();
  const t0 = performance.now();
  const n = pop.pairs.length;
  const r = await sipp(ctx, {
    label: `${label}-subscribe`,
    scenario: join(SCENARIO_SIPP_DIR, 'subscribe-population.xml'),
    injection: inj,
    calls: n,
    rate,
    // closed loop: at most 20 SUBSCRIBEs outstanding, so a slow server (sqlite write-through) is not overrun by the setup
    limit: 20,
    timeoutSec: Math.ceil(n / rate) * 3 + 60,
  });
  await drainUntil(fleet, () => fleet.current.notifies >= n, Math.max(10_000, ctx.maxDrainMs));
  const c1 = ctx.target.cpu();
  const seconds = (performance.now() - t0) / 1000;
  const w = fleet.window();
  const sub = requestCounts(r, 'SUBSCRIBE');
  const kam = (c1.kamailio - c0.kamailio) / 100;
  const pres = (c1.presenced - c0.presenced) / 100;
  const out: PopulationSetup = {
    subscriptions: n,
    subscribeOfferedPerSec: rate,
    subscribeAnswered: sub.answered2xx,
    subscribePerSec: round(sub.answered2xx / Math.max(1e-3, r.windowSeconds), 1),
    initialNotifies: w.counters.notifies,
    seconds: round(seconds, 2),
    cpu: {
      kamailioSeconds: round(kam, 2),
      presencedSeconds: round(pres, 2),
      kamailioUsPerSubscribe: sub.answered2xx > 0 ? round((kam * 1e6) / sub.answered2xx, 1) : NaN,
      presencedUsPerSubscribe: sub.answered2xx > 0 ? round((pres * 1e6) / sub.answered2xx, 1) : NaN,
    },
  };
  const problems: string[] = [];
  if (sub.answered2xx !== n) problems.push(`${n - sub.answered2xx} of ${n} SUBSCRIBEs not answered 2xx`);
  if (w.counters.notifies < n) problems.push(`${n - w.counters.notifies} initial NOTIFYs missing`);
  const anomalies = w.counters.outOfOrder + w.counters.duplicateDialogNotifies + w.counters.cseqReuse + w.counters.unknown;
  if (anomalies > 0) problems.push(`${anomalies} duplicate/out-of-order/unknown NOTIFYs`);
  if (problems.length > 0) throw Object.assign(new Error(`setup: ${problems.join('; ')}`), { setup: out });
  return out;
}

export interface PacedPublishPlan {
  readonly sessions: number;
  readonly periodMs: number;
  readonly perSession: number;
  readonly planned: number;
  readonly durationMs: number;
}

/** One paced call per presentity for `seconds` at `rate` PUBLISH/s in total. */
export function pacedPlan(presentities: number, rate: number, seconds: number): PacedPublishPlan {
  const sessions = Math.max(1, Math.min(presentities, Math.floor(rate * seconds)));
  const periodMs = (sessions * 1000) / rate;
  const perSession = Math.max(1, Math.round((seconds * rate) / sessions));
  return { sessions, periodMs, perSession, planned: sessions * perSession, durationMs: (perSession - 0.5) * periodMs };
}

/** Starts the paced PUBLISH sipp run (initial + modifies + remove per session). */
export function runPaced(ctx: ScenarioContext, label: string, users: readonly string[], plan: PacedPublishPlan, rate: number) {
  const inj = writeInjection(ctx.dir, `${label}-presentities.csv`, users.slice(0, plan.sessions).map((u) => `${u};`));
  return sipp(ctx, {
    label,
    scenario: join(SCENARIO_SIPP_DIR, 'publish-paced.xml'),
    injection: inj,
    calls: plan.sessions,
    rate,
    sets: { period: round(plan.periodMs, 3), duration: round(plan.durationMs, 3) },
    rtt: true,
    timeoutSec: Math.ceil(plan.durationMs / 1000) * 3 + 60,
  });
}

export interface FanoutOptions {
  readonly quick: boolean;
  readonly name: 'fanout' | 'blf';
  readonly watchers?: number;
  readonly presentities?: number;
  /** blf: phones in the office. */
  readonly phones?: number;
  readonly subscribeRate?: number;
  readonly startRate?: number;
  readonly factor?: number;
  readonly maxSteps?: number;
}

export function fanoutPopulation(watchers: number, presentities: number): Population {
  const ps = Array.from({ length: presentities }, (_, k) => `fp${k}`);
  return { pairs: Array.from({ length: watchers }, (_, i) => [`fw${i}`, ps[i % presentities] as string] as const), presentities: ps };
}

export function blfPopulation(phones: number): Population {
  const ps = Array.from({ length: phones }, (_, k) => `ph${k}`);
  const pairs: Array<readonly [string, string]> = [];
  for (let i = 0; i < phones; i++) for (let j = 0; j < phones; j++) if (i !== j) pairs.push([ps[i] as string, ps[j] as string]);
  return { pairs, presentities: ps };
}

/** No NOTIFY arrived for `ms` (retransmissions included; Kamailio retransmits a lost one after 0.5 s, presenced retries a failed one after 2 s). */
export function quietFor(ctx: ScenarioContext, ms: number): boolean {
  return ctx.fleet.clock.now() - ctx.fleet.lastNotifyAt > ms;
}

/** Watchers per presentity. */
function fanoutOf(pop: Population): Map<string, number> {
  const m = new Map<string, number>();
  for (const [, p] of pop.pairs) m.set(p, (m.get(p) ?? 0) + 1);
  return m;
}

export function fanoutScenario(o: FanoutOptions): Scenario {
  const blf = o.name === 'blf';
  const phones = o.phones ?? (o.quick ? 5 : 40);
  const W = o.watchers ?? (o.quick ? 20 : 1000);
  const P = o.presentities ?? (o.quick ? 4 : 100);
  const pop = blf ? blfPopulation(phones) : fanoutPopulation(W, P);
  const fan = fanoutOf(pop);
  const subscribeRate = o.subscribeRate ?? (o.quick ? 100 : 250);
  return {
    name: o.name,
    title: blf ? `BLF office: ${phones} phones, every phone watches every other (${pop.pairs.length} subscriptions)` : `Fan-out: ${W} watchers on ${P} presentities`,
    unit: 'PUBLISH/s',
    description: blf
      ? `${phones} phones; each SUBSCRIBEs (Event: presence) to the other ${phones - 1}: ${pop.pairs.length} subscriptions (N²−N), created at ` +
        `${subscribeRate}/s before the ramp. Each step: every phone PUBLISHes call-state changes (paced, new PIDF each time, then removed); ` +
        `each PUBLISH notifies ${phones - 1} watchers.`
      : `${W} watchers (Node UAS fleet) subscribed to ${P} presentities (${round(W / P, 1)} watchers each), created at ${subscribeRate}/s ` +
        'before the ramp. Each step: one paced PUBLISH call per presentity (initial, modifies on absolute deadlines, remove).',
    parameters: blf ? { phones, subscriptions: pop.pairs.length, fanout: phones - 1, subscribeRate } : { watchers: W, presentities: P, fanout: round(W / P, 2), subscribeRate },
    ramp: blf
      ? { start: o.startRate ?? (o.quick ? 5 : 3), factor: o.factor ?? (o.quick ? 2 : 1.5), maxSteps: o.maxSteps ?? (o.quick ? 2 : 16) }
      : { start: o.startRate ?? 10, factor: o.factor ?? (o.quick ? 2 : 1.5), maxSteps: o.maxSteps ?? (o.quick ? 2 : 16) },
    async setup(ctx) {
      const s = await subscribePopulation(ctx, pop, subscribeRate, o.name);
      ctx.log(`    ${pop.pairs.length} subscriptions at ${s.subscribePerSec}/s, ${s.initialNotifies} initial NOTIFYs`);
      return { population: s };
    },
    async step(ctx: ScenarioContext, index: number, offered: number): Promise<StepResult> {
      const plan = pacedPlan(pop.presentities.length, offered, ctx.seconds);
      ctx.fleet.window();
      const startedAt = ctx.fleet.clock.now();
      const c0 = ctx.target.cpu();
      const r = await runPaced(ctx, `${o.name}-publish-${index}`, pop.presentities, plan, offered);
      const pub = requestCounts(r, 'PUBLISH');
      let expected = 0;
      // sessions ran in injection order over the first `sessions` presentities; each answered PUBLISH notifies its watchers
      const perSession = pub.answered2xx / plan.sessions;
      for (const u of pop.presentities.slice(0, plan.sessions)) expected += (fan.get(u) ?? 0) * perSession;
      expected = Math.round(expected);
      const removed = r.rttMs['2']?.length ?? 0;
      // every publication was removed: wait (bounded) until every watcher's last NOTIFY shows it
      let drainMs = removed === plan.sessions ? await drainUntil(ctx.fleet, () => ctx.fleet.pairsShowingStamp() === 0 || quietFor(ctx, 2500), ctx.maxDrainMs) : 0;
      drainMs += await drain(ctx.fleet, ctx.fleet.clock.now(), 300, 3000);
      const c1 = ctx.target.cpu();
      const window = ctx.fleet.window();
      const modifies = Math.max(0, pub.answered2xx - removed);
      // both the PUBLISHes (paced sends kept up) and their NOTIFYs (delivered, not superseded by coalescing beyond 10 %)
      const publishRatio = Math.min(modifies, plan.planned) / plan.planned;
      const notifyRatio = expected > 0 ? Math.min(1, window.counters.notifies / expected) : 1;
      const achievedRatio = Math.min(publishRatio, notifyRatio);
      ctx.recordResponses(r.rttSamples);
      return stepResult({
        index,
        offered,
        achievedPerSec: offered * achievedRatio,
        achievedRatio,
        startedAt,
        c0,
        c1,
        runs: [r],
        publish: pub,
        subscribe: { sent: 0, answered2xx: 0 },
        expectedNotifies: expected,
        drainMs,
        window,
        stalePairs: ctx.fleet.pairsShowingStamp(),
        extraFailures: { 'subscriptions terminated': window.counters.terminated },
        responseMs: { publish: r.rttMs['1'] ?? [], remove: r.rttMs['2'] ?? [] },
        ctx,
        extra: { ...plan, periodMs: round(plan.periodMs, 3), durationMs: round(plan.durationMs, 1), removed, publishRatio: round(publishRatio, 3), notifyRatio: round(notifyRatio, 3) },
      });
    },
  };
}
