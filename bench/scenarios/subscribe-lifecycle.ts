/**
 * SUBSCRIBE lifecycle (RFC 6665) with every NOTIFY answered: each sipp call
 * is one new watcher subscribing to one of P presentities (each with a
 * published state, so NOTIFYs carry a PIDF body): initial SUBSCRIBE, K
 * in-dialog refreshes, unsubscribe (Expires 0); the Contact names the Node
 * watcher fleet, which answers every NOTIFY (initial, one per refresh,
 * terminated) and checks CSeq order and duplicates. Offered rate =
 * SUBSCRIBE/s (calls/s × (K + 2)).
 */
import { join } from 'node:path';
import { round } from '../lib/stats.js';
import { callPaceRatio, namedResponses, drain, drainUntil, requestCounts, SCENARIO_SIPP_DIR, type Scenario, type ScenarioContext, sipp, stepResult, type StepResult, writeInjection } from './types.js';

export interface SubscribeLifecycleOptions {
  readonly quick: boolean;
  readonly presentities?: number;
  readonly refreshes?: number;
  readonly holdMs?: number;
  readonly startRate?: number;
  readonly factor?: number;
  readonly maxSteps?: number;
}

const RTD_NAMES: Record<string, string> = { '1': 'initial', '2': 'refresh', '3': 'unsubscribe' };

/** Static publications (Expires 3600) for presentities, sent from the fleet's socket (setup, not measured). */
export async function publishStatic(ctx: ScenarioContext, users: readonly string[]): Promise<number> {
  let ok = 0;
  const port = ctx.fleet.ports[0] as number;
  const tag = `${process.pid}s${Date.now() % 1e8}`;
  const lanes = 16;
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < users.length) {
        const k = next++;
        const u = users[k] as string;
        const callId = `static-${tag}-${k}`;
        const body =
          `<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:${u}@example.com">` +
          `<tuple id="t1"><status><basic>open</basic></status><note>static ${u}</note></tuple></presence>`;
        const raw =
          `PUBLISH sip:${u}@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-st${tag}-${k};rport\r\n` +
          `Max-Forwards: 70\r\nFrom: <sip:${u}@example.com>;tag=st${tag}${k}\r\nTo: <sip:${u}@example.com>\r\nCall-ID: ${callId}\r\n` +
          `CSeq: 1 PUBLISH\r\nEvent: presence\r\nExpires: 3600\r\nContent-Type: application/pidf+xml\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
        for (let attempt = 0; attempt < 3; attempt++) {
          const r = await ctx.fleet.request(raw, callId, 1, ctx.target.sipPort, 2000);
          if (r.startsWith('SIP/2.0 200')) {
            ok++;
            break;
          }
        }
      }
    }),
  );
  return ok;
}

export function subscribeLifecycle(o: SubscribeLifecycleOptions): Scenario {
  const P = o.presentities ?? (o.quick ? 5 : 100);
  const K = o.refreshes ?? 1;
  const hold = o.holdMs ?? (o.quick ? 20 : 50);
  const perCall = K + 2;
  const presentity = (k: number): string => `sp${k % P}`;
  return {
    name: 'subscribe',
    title: 'SUBSCRIBE lifecycle (initial, refresh, unsubscribe), NOTIFYs answered',
    unit: 'SUBSCRIBE/s',
    description:
      `One sipp call per new watcher on one of ${P} presentities (each with a published PIDF): SUBSCRIBE (Expires 3600), ` +
      `${K} in-dialog refresh(es), unsubscribe (Expires 0), ${hold} ms apart; every NOTIFY (initial, per refresh, terminated) ` +
      `goes to the Node watcher fleet, answered 200. Offered rate = calls/s × ${perCall}.`,
    parameters: { presentities: P, refreshesPerCall: K, holdMs: hold, subscribesPerCall: perCall },
    ramp: { start: o.startRate ?? (o.quick ? 15 : 30), factor: o.factor ?? (o.quick ? 2 : 1.5), maxSteps: o.maxSteps ?? (o.quick ? 2 : 16) },
    async setup(ctx) {
      const users = Array.from({ length: P }, (_, k) => presentity(k));
      const published = await publishStatic(ctx, users);
      if (published !== P) throw new Error(`setup: ${P - published} static PUBLISHes not answered 200`);
      return { presentities: P, staticPublications: published };
    },
    async step(ctx: ScenarioContext, index: number, offered: number): Promise<StepResult> {
      const callRate = offered / perCall;
      const calls = Math.max(1, Math.round(callRate * ctx.seconds));
      const rows = Array.from({ length: calls }, (_, k) => `ss${index}w${k};${presentity(k)};${ctx.fleet.portFor(k)};`);
      const inj = writeInjection(ctx.dir, `subscribe-lifecycle-${index}.csv`, rows);
      ctx.fleet.window();
      const startedAt = ctx.fleet.clock.now();
      const c0 = ctx.target.cpu();
      const r = await sipp(ctx, {
        label: 'subscribe-lifecycle',
        scenario: join(SCENARIO_SIPP_DIR, 'subscribe-lifecycle.xml'),
        injection: inj,
        calls,
        rate: callRate,
        sets: { hold, refreshes: K },
        rtt: true,
        timeoutSec: ctx.seconds * 3 + 60,
      });
      const sub = requestCounts(r, 'SUBSCRIBE');
      const unsubscribed = r.rttMs['3']?.length ?? 0;
      // every answered SUBSCRIBE calls for one NOTIFY; wait for them (bounded), then for stragglers
      let drainMs = await drainUntil(ctx.fleet, () => ctx.fleet.current.notifies >= sub.answered2xx, ctx.maxDrainMs);
      drainMs += await drain(ctx.fleet, ctx.fleet.clock.now(), 300, 2000);
      const c1 = ctx.target.cpu();
      const window = ctx.fleet.window();
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
        publish: { sent: 0, answered2xx: 0 },
        subscribe: sub,
        expectedNotifies: sub.answered2xx,
        drainMs,
        window,
        stalePairs: 0,
        extraFailures: {
          'unsubscribes without a terminated NOTIFY': Math.max(0, unsubscribed - window.counters.terminated),
          'answered SUBSCRIBEs without a NOTIFY': Math.max(0, sub.answered2xx - window.counters.notifies - window.counters.duplicateDialogNotifies),
        },
        responseMs,
        ctx,
        extra: { calls, callRate: round(callRate, 2), unsubscribed, sippWindowSeconds: round(r.windowSeconds, 3) },
      });
    },
  };
}
