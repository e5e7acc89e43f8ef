/**
 * Mixed carrier profile: the presence traffic of a subscriber base in its
 * busy hour, time-compressed. The traffic mix per subscriber per busy hour
 * (CARRIER_MIX; REGISTER excluded — that is the registrar's load, not the
 * presence server's):
 *
 *   B = 8 watched buddies / BLF keys per subscriber (so every presentity has
 *       8 watchers on average)
 *   2.5 calls (BHCA), each changing the call state twice (busy, idle):
 *       5 state-change PUBLISHes, each NOTIFYing the B watchers  → 40 NOTIFY
 *   1 PUBLISH refresh (Expires 3600), no NOTIFY
 *   B SUBSCRIBE refreshes (Expires 3600: one per subscription per hour),
 *       1 NOTIFY each                                             →  8 NOTIFY
 *   device churn (reboot / re-provisioning) of 5 % of the devices: an
 *       initial PUBLISH + a remove (0.1), B new SUBSCRIBEs + B unSUBSCRIBEs
 *       (0.8), 1 NOTIFY each                                     → ~1.6 NOTIFY
 *   ------------------------------------------------------------------------
 *   per subscriber per busy hour: 6.1 PUBLISH, 8.8 SUBSCRIBE, ~49.6 NOTIFY
 *   → per 100,000 subscribers: 169 PUBLISH/s, 244 SUBSCRIBE/s, 1,378 NOTIFY/s
 *
 * How the bench generates it (three sipp runs at once per ramp step, rates
 * in proportion to the mix; the offered rate is PUBLISH + SUBSCRIBE
 * requests/s, reported also as the equivalent busy-hour subscribers):
 *   1. state changes: paced PUBLISH calls on the population's presentities
 *      (publish-paced.xml) at 5/14.9 of the offered rate, fan-out B;
 *   2. subscriptions: subscribe-lifecycle.xml calls (new watchers on the
 *      population's presentities: initial, K refreshes, unsubscribe; K = 20
 *      gives the mix's 8 refreshes : 0.8 new + removed) at 8.8/14.9;
 *   3. PUBLISH refresh + churn: publish-lifecycle.xml calls on presentities
 *      nobody watches (initial, refresh, modify, remove) at 1.1/14.9 — the
 *      lifecycle has more modifies than the mix's refresh-only traffic.
 * Before the ramp: S subscribers × B buddies subscriptions (watcher i on
 * presentities i+1 … i+B mod S).
 */
import { join } from 'node:path';
import { round } from '../lib/stats.js';
import { pacedPlan, quietFor, runPaced, subscribePopulation, type Population } from './fanout.js';
import {
  callPaceRatio,
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

export const CARRIER_MIX = {
  buddiesPerSubscriber: 8,
  callsPerBusyHour: 2.5,
  stateChangesPerCall: 2,
  publishRefreshesPerHour: 1,
  subscribeRefreshesPerSubscriptionPerHour: 1,
  deviceChurnPerHour: 0.05,
  registerExcluded: true,
} as const;

export function carrierMixPerSubscriber(b: number = CARRIER_MIX.buddiesPerSubscriber): {
  publishStateChanges: number;
  publishRefresh: number;
  publishChurn: number;
  subscribeRefresh: number;
  subscribeChurn: number;
  publish: number;
  subscribe: number;
  notify: number;
} {
  const m = CARRIER_MIX;
  const publishStateChanges = m.callsPerBusyHour * m.stateChangesPerCall;
  const publishRefresh = m.publishRefreshesPerHour;
  const publishChurn = m.deviceChurnPerHour * 2;
  const subscribeRefresh = b * m.subscribeRefreshesPerSubscriptionPerHour;
  const subscribeChurn = m.deviceChurnPerHour * b * 2;
  const notify = publishStateChanges * b + publishChurn * b + subscribeRefresh + subscribeChurn;
  return {
    publishStateChanges,
    publishRefresh,
    publishChurn: round(publishChurn, 3),
    subscribeRefresh,
    subscribeChurn: round(subscribeChurn, 3),
    publish: round(publishStateChanges + publishRefresh + publishChurn, 3),
    subscribe: round(subscribeRefresh + subscribeChurn, 3),
    notify: round(notify, 3),
  };
}

export interface CarrierOptions {
  readonly quick: boolean;
  readonly subscribers?: number;
  readonly buddies?: number;
  readonly refreshesPerCall?: number;
  readonly subscribeRate?: number;
  readonly startRate?: number;
  readonly factor?: number;
  readonly maxSteps?: number;
}

export function carrierScenario(o: CarrierOptions): Scenario {
  const S = o.subscribers ?? (o.quick ? 10 : 300);
  const B = Math.min(S - 1, o.buddies ?? (o.quick ? 3 : CARRIER_MIX.buddiesPerSubscriber));
  const K = o.refreshesPerCall ?? (o.quick ? 2 : 20);
  const subscribeRate = o.subscribeRate ?? (o.quick ? 100 : 250);
  const mix = carrierMixPerSubscriber(B);
  const perSubscriberRequests = mix.publish + mix.subscribe;
  const share = {
    stateChanges: mix.publishStateChanges / perSubscriberRequests,
    subscribe: mix.subscribe / perSubscriberRequests,
    publishLifecycle: (mix.publishRefresh + mix.publishChurn) / perSubscriberRequests,
  };
  const ps = Array.from({ length: S }, (_, k) => `cs${k}`);
  const pairs: Array<readonly [string, string]> = [];
  for (let i = 0; i < S; i++) for (let j = 1; j <= B; j++) pairs.push([`cw${i}`, ps[(i + j) % S] as string]);
  const pop: Population = { pairs, presentities: ps };
  return {
    name: 'carrier',
    title: `Mixed carrier profile (${S} subscribers × ${B} buddies, busy-hour mix time-compressed)`,
    unit: 'requests/s',
    description:
      `Per subscriber per busy hour: ${mix.publish} PUBLISH (${mix.publishStateChanges} call-state changes, ${mix.publishRefresh} refresh, ` +
      `${mix.publishChurn} device churn), ${mix.subscribe} SUBSCRIBE (${mix.subscribeRefresh} refreshes every 3600 s, ${mix.subscribeChurn} churn), ` +
      `~${mix.notify} NOTIFY; REGISTER excluded. Three sipp streams per step: state changes ${round(share.stateChanges * 100, 1)} %, ` +
      `subscribe lifecycles (1 initial + ${K} refreshes + unsubscribe) ${round(share.subscribe * 100, 1)} %, publish lifecycles ` +
      `${round(share.publishLifecycle * 100, 1)} % of the offered requests/s. Offered requests/s × 3600 / ${round(perSubscriberRequests, 2)} = busy-hour subscribers.`,
    parameters: { subscribers: S, buddies: B, subscriptions: pairs.length, refreshesPerCall: K, subscribeRate, mixPerSubscriberPerBusyHour: mix, streamShares: share, mixAssumptions: CARRIER_MIX },
    ramp: { start: o.startRate ?? 20, factor: o.factor ?? (o.quick ? 2 : 1.5), maxSteps: o.maxSteps ?? (o.quick ? 2 : 16) },
    async setup(ctx) {
      const s = await subscribePopulation(ctx, pop, subscribeRate, 'carrier');
      ctx.log(`    ${pairs.length} subscriptions at ${s.subscribePerSec}/s`);
      return { population: s };
    },
    async step(ctx: ScenarioContext, index: number, offered: number): Promise<StepResult> {
      const rState = offered * share.stateChanges;
      const rSub = offered * share.subscribe;
      const rPub = offered * share.publishLifecycle;
      const plan = pacedPlan(S, rState, ctx.seconds);
      const subPerCall = K + 2;
      const subCalls = Math.max(1, Math.round((rSub / subPerCall) * ctx.seconds));
      const hold = Math.max(5, Math.min(200, Math.floor((ctx.seconds * 1000 * 0.5) / (K + 1))));
      const subRows: string[] = [];
      for (let k = 0; k < subCalls; k++) {
        const w = `cc${index}x${k}`;
        const p = ps[k % S] as string;
        ctx.fleet.expectPair(w, p);
        subRows.push(`${w};${p};${ctx.fleet.portFor(k)};`);
      }
      const subInj = writeInjection(ctx.dir, `carrier-subscribe-${index}.csv`, subRows);
      const pubCalls = Math.max(1, Math.round((rPub / 4) * ctx.seconds));
      const pubInj = writeInjection(ctx.dir, `carrier-publish-${index}.csv`, Array.from({ length: pubCalls }, (_, k) => `cd${index}x${k};`));
      ctx.fleet.window();
      const startedAt = ctx.fleet.clock.now();
      const c0 = ctx.target.cpu();
      const [state, subs, pubs] = await Promise.all([
        runPaced(ctx, `carrier-state-${index}`, ps, plan, rState),
        sipp(ctx, {
          label: `carrier-subscribe-${index}`,
          scenario: join(SCENARIO_SIPP_DIR, 'subscribe-lifecycle.xml'),
          injection: subInj,
          calls: subCalls,
          rate: rSub / subPerCall,
          sets: { hold, refreshes: K },
          rtt: true,
          timeoutSec: ctx.seconds * 3 + 60,
        }),
        sipp(ctx, {
          label: `carrier-publish-lifecycle-${index}`,
          scenario: join(SCENARIO_SIPP_DIR, 'publish-lifecycle.xml'),
          injection: pubInj,
          calls: pubCalls,
          rate: rPub / 4,
          sets: { hold: 50 },
          rtt: true,
          timeoutSec: ctx.seconds * 3 + 60,
        }),
      ]);
      const stateCounts = requestCounts(state, 'PUBLISH');
      const pubCounts = requestCounts(pubs, 'PUBLISH');
      const subCounts = requestCounts(subs, 'SUBSCRIBE');
      const removed = state.rttMs['2']?.length ?? 0;
      const unsubscribed = subs.rttMs['3']?.length ?? 0;
      let drainMs = removed === plan.sessions ? await drainUntil(ctx.fleet, () => ctx.fleet.pairsShowingStamp() === 0 || quietFor(ctx, 2500), ctx.maxDrainMs) : 0;
      drainMs += await drain(ctx.fleet, ctx.fleet.clock.now(), 300, 3000);
      const c1 = ctx.target.cpu();
      const window = ctx.fleet.window();
      // achieved: each stream against its own offer; the step's ratio is the worst stream's
      const stateRatio = Math.min(1, Math.max(0, stateCounts.answered2xx - removed) / plan.planned);
      const subRatio = callPaceRatio(subs, '1', subCalls, rSub / subPerCall);
      const pubRatio = callPaceRatio(pubs, '1', pubCalls, rPub / 4);
      ctx.recordResponses([...state.rttSamples, ...subs.rttSamples, ...pubs.rttSamples]);
      // a lower bound: churn watchers also get the state changes of their presentity while subscribed
      const expected = Math.round(stateCounts.answered2xx * B + subCounts.answered2xx);
      const notifyRatio = expected > 0 ? Math.min(1, window.counters.notifies / expected) : 1;
      const achievedRatio = Math.min(stateRatio, subRatio, pubRatio, notifyRatio);
      return stepResult({
        index,
        offered,
        achievedPerSec: offered * achievedRatio,
        achievedRatio,
        startedAt,
        c0,
        c1,
        runs: [state, subs, pubs],
        publish: { sent: stateCounts.sent + pubCounts.sent, answered2xx: stateCounts.answered2xx + pubCounts.answered2xx },
        subscribe: subCounts,
        expectedNotifies: expected,
        drainMs,
        window,
        stalePairs: ctx.fleet.pairsShowingStamp(),
        extraFailures: { 'unsubscribes without a terminated NOTIFY': Math.max(0, unsubscribed - window.counters.terminated) },
        responseMs: {
          publishStateChange: state.rttMs['1'] ?? [],
          subscribeInitial: subs.rttMs['1'] ?? [],
          subscribeRefresh: subs.rttMs['2'] ?? [],
          unsubscribe: subs.rttMs['3'] ?? [],
          publishLifecycle: [...(pubs.rttMs['1'] ?? []), ...(pubs.rttMs['2'] ?? []), ...(pubs.rttMs['3'] ?? []), ...(pubs.rttMs['4'] ?? [])],
        },
        ctx,
        extra: {
          subscribersEquivalent: Math.round((offered * 3600) / perSubscriberRequests),
          streams: {
            stateChanges: { offeredPerSec: round(rState, 2), ...plan, periodMs: round(plan.periodMs, 2), durationMs: round(plan.durationMs, 1), answered: stateCounts.answered2xx, ratio: round(stateRatio, 3) },
            subscribe: { offeredPerSec: round(rSub, 2), calls: subCalls, holdMs: hold, answered: subCounts.answered2xx, ratio: round(subRatio, 3) },
            publishLifecycle: { offeredPerSec: round(rPub, 2), calls: pubCalls, answered: pubCounts.answered2xx, ratio: round(pubRatio, 3) },
          },
          notifyRatio: round(notifyRatio, 3),
        },
      });
    },
  };
}
