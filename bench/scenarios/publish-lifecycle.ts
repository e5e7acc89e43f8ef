/**
 * PUBLISH lifecycle (RFC 3903): every sipp call publishes for a presentity
 * of its own — initial (body), refresh (no body, SIP-If-Match), modify
 * (new body), remove (Expires 0) — so each call is 4 PUBLISH transactions.
 * The offered rate is PUBLISH/s (calls/s × 4). No watchers: this measures
 * the PUBLISH path alone (the fan-out scenarios add NOTIFYs).
 */
import { join } from 'node:path';
import { round } from '../lib/stats.js';
import { callPaceRatio, namedResponses, drain, requestCounts, SCENARIO_SIPP_DIR, type Scenario, type ScenarioContext, sipp, stepResult, type StepResult, writeInjection } from './types.js';

export interface PublishLifecycleOptions {
  readonly quick: boolean;
  /** ms between the four PUBLISHes of one call. */
  readonly holdMs?: number;
  readonly startRate?: number;
  readonly factor?: number;
  readonly maxSteps?: number;
}

const RTD_NAMES: Record<string, string> = { '1': 'initial', '2': 'refresh', '3': 'modify', '4': 'remove' };

export function publishLifecycle(o: PublishLifecycleOptions): Scenario {
  const hold = o.holdMs ?? (o.quick ? 20 : 50);
  const perCall = 4;
  return {
    name: 'publish',
    title: 'PUBLISH lifecycle (initial, refresh, modify, remove)',
    unit: 'PUBLISH/s',
    description:
      'One sipp call per presentity: initial PUBLISH with a PIDF body, refresh (no body, SIP-If-Match), modify (new body, ' +
      `SIP-If-Match), remove (Expires 0), ${hold} ms apart. Offered rate = calls/s × 4. No watchers.`,
    parameters: { holdMs: hold, publishesPerCall: perCall },
    ramp: { start: o.startRate ?? (o.quick ? 20 : 50), factor: o.factor ?? (o.quick ? 2 : 1.5), maxSteps: o.maxSteps ?? (o.quick ? 2 : 16) },
    async setup() {
      return {};
    },
    async step(ctx: ScenarioContext, index: number, offered: number): Promise<StepResult> {
      const callRate = offered / perCall;
      const calls = Math.max(1, Math.round(callRate * ctx.seconds));
      const inj = writeInjection(ctx.dir, `publish-lifecycle-${index}.csv`, Array.from({ length: calls }, (_, k) => `pl${index}x${k};`));
      ctx.fleet.window();
      const startedAt = ctx.fleet.clock.now();
      const c0 = ctx.target.cpu();
      const r = await sipp(ctx, {
        label: 'publish-lifecycle',
        scenario: join(SCENARIO_SIPP_DIR, 'publish-lifecycle.xml'),
        injection: inj,
        calls,
        rate: callRate,
        sets: { hold },
        rtt: true,
        timeoutSec: ctx.seconds * 3 + 60,
      });
      const drainMs = await drain(ctx.fleet, ctx.fleet.clock.now(), 200, 1000);
      const c1 = ctx.target.cpu();
      const window = ctx.fleet.window();
      const pub = requestCounts(r, 'PUBLISH');
      const ratio = callPaceRatio(r, '1', calls, callRate);
      const achieved = offered * ratio;
      ctx.recordResponses(r.rttSamples);
      const responseMs = namedResponses(r, RTD_NAMES);
      return stepResult({
        index,
        offered,
        achievedPerSec: achieved,
        achievedRatio: ratio,
        startedAt,
        c0,
        c1,
        runs: [r],
        publish: pub,
        subscribe: { sent: 0, answered2xx: 0 },
        expectedNotifies: 0,
        drainMs,
        window,
        stalePairs: 0,
        responseMs,
        ctx,
        extra: { calls, callRate: round(callRate, 2), sippWindowSeconds: round(r.windowSeconds, 3) },
      });
    },
  };
}
