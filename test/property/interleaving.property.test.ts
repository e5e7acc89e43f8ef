/**
 * Random interleavings of PUBLISH / SUBSCRIBE / refresh / unsubscribe /
 * expiry over several presentities, submitted concurrently to the real
 * service (LMDB + 2 worker threads), give the same replies, the same
 * per-watcher NOTIFY sequence and the same final state as the sequential
 * model (the pure core over the in-memory store) replaying the requests in
 * the order they arrived. Operations that depend on an earlier result (a
 * modify needs the entity-tag, an in-dialog SUBSCRIBE needs the 2xx) wait for
 * it, like real clients; everything else is in flight at once.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HandleResult, Notify, SipRequest } from '../../core/contract.js';
import { notifyHeaders } from '../../core/sip/notify-headers.js';
import type { PresenceService } from '../../workers/presence-service.js';
import { CoreHarness } from '../support/core-harness.js';
import { startService } from '../support/service-harness.js';
import { pidf, publish, subscribe } from '../support/sip-requests.js';

type Op =
  | { kind: 'publish'; r: number; slot: number; open: boolean }
  | { kind: 'refreshPublish'; r: number; slot: number }
  | { kind: 'unpublish'; r: number; slot: number }
  | { kind: 'subscribe'; w: number; r: number }
  | { kind: 'unsubscribe'; w: number; r: number }
  | { kind: 'tick'; seconds: number };

const RESOURCES = 3;
const WATCHERS = 3;
const SLOTS = 2;

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('publish' as const), r: fc.nat(RESOURCES - 1), slot: fc.nat(SLOTS - 1), open: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('refreshPublish' as const), r: fc.nat(RESOURCES - 1), slot: fc.nat(SLOTS - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unpublish' as const), r: fc.nat(RESOURCES - 1), slot: fc.nat(SLOTS - 1) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('subscribe' as const), w: fc.nat(WATCHERS - 1), r: fc.nat(RESOURCES - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unsubscribe' as const), w: fc.nat(WATCHERS - 1), r: fc.nat(RESOURCES - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), seconds: fc.constantFrom(30, 200, 700) }) },
);

/** What a request means, independent of the world (system or model) it is sent to. */
interface Intent {
  readonly chain: string;
  readonly build: (etag: string | undefined) => SipRequest;
  /** The chain's entity-tag after this request, given the reply. */
  readonly nextEtag: (reply: HandleResult, before: string | undefined) => string | undefined;
}

const header = (r: HandleResult, n: string): string | undefined => r.reply?.headers.find((h) => h.name === n)?.value;

interface Trace {
  readonly statuses: number[];
  /** Per dialog (Call-ID): subscription states and bodies, in order. */
  readonly dialogs: Map<string, string[]>;
  /** Per dialog: CSeqs in the order the NOTIFYs were produced. */
  readonly cseqs: Map<string, number[]>;
}

function newTrace(): Trace {
  return { statuses: [], dialogs: new Map(), cseqs: new Map() };
}

function record(trace: Trace, notifies: readonly Notify[], prefix: string): void {
  for (const n of notifies) {
    const h = notifyHeaders(n);
    if (!h.callId.startsWith(prefix)) continue;
    const list = trace.dialogs.get(h.callId) ?? [];
    list.push(`${n.subscriptionState}|${n.body?.text ?? ''}`);
    trace.dialogs.set(h.callId, list);
    const cs = trace.cseqs.get(h.callId) ?? [];
    cs.push(n.cseq);
    trace.cseqs.set(h.callId, cs);
  }
}

let run = 0;
let service: PresenceService;
let pushed: Notify[];
let cleanup: () => Promise<void>;
let now = Date.UTC(2026, 0, 1);

beforeAll(async () => {
  const s = await startService({ clock: () => now, dedupeSeconds: 0, pool: { threads: 2 } });
  service = s.service;
  pushed = s.pushed;
  cleanup = s.cleanup;
});
afterAll(async () => cleanup());

describe('concurrent processing equals the sequential model', () => {
  it('for random operation sequences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 4, maxLength: 30 }), async (ops) => {
        run += 1;
        const prefix = `r${run}-`;
        const res = (r: number): string => `sip:${prefix}p${r}@example.com`;
        const watcher = (w: number): string => `sip:${prefix}w${w}@example.com`;
        const start = now;
        const sys = newTrace();
        const mod = newTrace();
        const arrivals: { intent: Intent; etag: string | undefined; index: number }[] = [];

        // Client-side state, per world.
        const sysEtags = new Map<string, string | undefined>();
        const dialogs = new Map<string, { callId: string; tag: string; cseq: number; live: boolean }>();
        const chains = new Map<string, Promise<void>>();
        const pending: Promise<void>[] = [];
        let dialogGen = 0;

        const submit = (intent: Intent): void => {
          const prev = chains.get(intent.chain) ?? Promise.resolve();
          const p = prev.then(async () => {
            const etag = sysEtags.get(intent.chain);
            const index = sys.statuses.length;
            sys.statuses.push(0);
            arrivals.push({ intent, etag, index });
            const r = await service.handle(intent.build(etag));
            sys.statuses[index] = r.reply?.status ?? 0;
            sysEtags.set(intent.chain, intent.nextEtag(r, etag));
            record(sys, r.notifies, prefix);
          });
          chains.set(intent.chain, p);
          pending.push(p);
        };

        for (const op of ops) {
          if (op.kind === 'tick') {
            await Promise.all(pending);
            now += op.seconds * 1000;
            pushed.length = 0;
            await service.sweep(now);
            await service.idle();
            record(sys, pushed, prefix);
            arrivals.push({ intent: { chain: 'tick', build: () => ({}) as SipRequest, nextEtag: () => undefined }, etag: String(op.seconds), index: -1 });
            continue;
          }
          if (op.kind === 'publish' || op.kind === 'refreshPublish' || op.kind === 'unpublish') {
            const chain = `pub-${op.r}-${op.slot}`;
            const aor = res(op.r);
            submit({
              chain,
              build: (etag) => {
                if (op.kind === 'publish') {
                  const body = pidf(aor, op.open ? 'open' : 'closed', undefined, `s${op.slot}`);
                  return etag ? publish({ aor, etag, body, expires: 600 }) : publish({ aor, body, expires: 600 });
                }
                // Without a live tag these are refused (412 / 400) in both worlds alike.
                if (op.kind === 'refreshPublish') return publish({ aor, etag: etag ?? 'none', expires: 600 });
                return publish({ aor, etag: etag ?? 'none', expires: 0 });
              },
              nextEtag: (r, before) => {
                // A 412 (the publication expired) makes the client start over with an initial PUBLISH.
                if (r.reply?.status === 412) return undefined;
                if (r.reply?.status !== 200) return before;
                return op.kind === 'unpublish' ? undefined : header(r, 'SIP-ETag');
              },
            });
            continue;
          }
          const key = `${op.w}-${op.r}`;
          let d = dialogs.get(key);
          if (op.kind === 'subscribe' && (!d || !d.live)) {
            dialogGen += 1;
            d = { callId: `${prefix}c${dialogGen}`, tag: `${prefix}t${dialogGen}`, cseq: 1, live: true };
            dialogs.set(key, d);
            const dd = d;
            submit({
              chain: `dlg-${key}`,
              build: () => subscribe({ watcher: watcher(op.w), resource: res(op.r), callId: dd.callId, localTag: dd.tag, fromTag: 'f', expires: 300 }),
              nextEtag: () => undefined,
            });
          } else if (d && d.live) {
            d.cseq += 1;
            const cseq = d.cseq;
            const dd = d;
            if (op.kind === 'unsubscribe') d.live = false;
            submit({
              chain: `dlg-${key}`,
              build: () =>
                subscribe({
                  watcher: watcher(op.w),
                  resource: res(op.r),
                  callId: dd.callId,
                  localTag: dd.tag,
                  fromTag: 'f',
                  inDialog: true,
                  cseq,
                  expires: op.kind === 'unsubscribe' ? 0 : 300,
                }),
              nextEtag: () => undefined,
            });
          }
        }
        await Promise.all(pending);

        // Replay on the sequential model in arrival order.
        const model = new CoreHarness();
        model.now = start;
        const modelEtags = new Map<string, string | undefined>();
        for (const a of arrivals) {
          if (a.intent.chain === 'tick') {
            model.sent.length = 0;
            const ns = model.advance(Number(a.etag));
            record(mod, ns, prefix);
            continue;
          }
          const etag = modelEtags.get(a.intent.chain);
          const r = model.send(a.intent.build(etag));
          mod.statuses[a.index] = r.reply?.status ?? 0;
          modelEtags.set(a.intent.chain, a.intent.nextEtag(r, etag));
          record(mod, r.notifies, prefix);
        }

        // Same replies, same NOTIFY sequence per watcher dialog.
        expect(sys.statuses).toEqual(mod.statuses);
        expect(new Map([...sys.dialogs].sort())).toEqual(new Map([...mod.dialogs].sort()));
        // CSeq strictly grows per dialog.
        for (const [callId, cs] of sys.cseqs) {
          for (let i = 1; i < cs.length; i++) expect(cs[i], `${callId} CSeq ${cs.join(',')}`).toBeGreaterThan(cs[i - 1] as number);
        }
        // Same final state: the composed document a fetch returns, and no duplicate publication.
        for (let r = 0; r < RESOURCES; r++) {
          const aor = res(r);
          const fetch = (): SipRequest => subscribe({ watcher: `sip:${prefix}probe@example.com`, resource: aor, expires: 0 });
          const sysProbe = await service.handle(fetch());
          const modelProbe = model.send(fetch());
          expect(sysProbe.notifies[0]?.body?.text).toBe(modelProbe.notifies[0]?.body?.text);
          expect([...model.kv.prefix('publications', [aor])].length).toBeLessThanOrEqual(SLOTS);
        }
        expect(service.storeStats().entries.publications).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 25 },
    );
  });
});
