/**
 * The ordering logic of workers/dispatcher.ts, with a controllable in-memory
 * TaskRunner standing in for the piscina pool (a unit test of the queueing,
 * not of the workers): per-lane FIFO with one task in flight, lanes in
 * parallel, backpressure, caller timeouts, idle() and runner failures.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { Dispatcher, type TaskRunner } from '../../../workers/dispatcher.js';
import type { PoolResult, PoolTask } from '../../../workers/tasks.js';
import { pidf, publish } from '../../support/sip-requests.js';

const ALICE = 'sip:alice@example.com';
const BOB = 'sip:bob@example.com';
const CAROL = 'sip:carol@example.com';

/** A PUBLISH for `lane` whose Call-ID names it, e.g. `sip:alice@example.com#3`. */
function task(lane: string, n: number): PoolTask {
  return { kind: 'request', request: publish({ aor: lane, callId: `${lane}#${n}`, body: pidf(lane, n % 2 === 0 ? 'open' : 'closed') }) };
}
const nameOf = (t: PoolTask): string => (t.kind === 'request' ? t.request.callId : `${t.kind}:${'resource' in t ? t.resource : ''}`);

/** The result the fake pool returns for a task: a 200 whose SIP-ETag names the task. */
function okResult(t: PoolTask): PoolResult {
  return { ok: true, value: { reply: { status: 200, reason: 'OK', headers: [{ name: 'SIP-ETag', value: nameOf(t) }] }, notifies: { count: 0, buffer: null } } };
}
const etagOf = (r: PoolResult): string | undefined => (r.ok ? r.value.reply?.headers.find((h) => h.name === 'SIP-ETag')?.value : undefined);

interface Call {
  readonly task: PoolTask;
  resolve(r: PoolResult): void;
  reject(e: unknown): void;
}

/** A pool whose tasks finish only when the test says so. */
class FakeRunner implements TaskRunner {
  readonly calls: Call[] = [];
  readonly open = new Set<Call>();
  run(t: PoolTask): Promise<PoolResult> {
    return new Promise<PoolResult>((resolve, reject) => {
      const call: Call = {
        task: t,
        resolve: (r) => {
          this.open.delete(call);
          resolve(r);
        },
        reject: (e) => {
          this.open.delete(call);
          reject(e);
        },
      };
      this.calls.push(call);
      this.open.add(call);
    });
  }
  started(): string[] {
    return this.calls.map((c) => nameOf(c.task));
  }
  complete(name: string): void {
    const c = [...this.open].find((x) => nameOf(x.task) === name);
    if (!c) throw new Error(`${name} is not running`);
    c.resolve(okResult(c.task));
  }
}

/** Let every promise callback and the dispatcher's continuation run. */
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Records when each caller's promise settles. */
function track(p: Promise<PoolResult>, into: { name: string; result: PoolResult }[], name: string): Promise<PoolResult> {
  return p.then((r) => {
    into.push({ name, result: r });
    return r;
  });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Dispatcher lanes', () => {
  it('runs one task per lane at a time, in submission order', async () => {
    const runner = new FakeRunner();
    const d = new Dispatcher(runner, { maxPending: 100, taskTimeoutMs: 0 });
    const done: { name: string; result: PoolResult }[] = [];
    for (let i = 1; i <= 3; i++) void track(d.submit(ALICE, task(ALICE, i)), done, `${ALICE}#${i}`);
    await flush();
    expect(runner.started()).toEqual([`${ALICE}#1`]);
    expect(d.stats()).toMatchObject({ pending: 3, running: 1, lanes: 1 });
    runner.complete(`${ALICE}#1`);
    await flush();
    expect(runner.started()).toEqual([`${ALICE}#1`, `${ALICE}#2`]);
    expect(done.map((x) => x.name)).toEqual([`${ALICE}#1`]);
    runner.complete(`${ALICE}#2`);
    await flush();
    runner.complete(`${ALICE}#3`);
    await flush();
    expect(done.map((x) => x.name)).toEqual([`${ALICE}#1`, `${ALICE}#2`, `${ALICE}#3`]);
    expect(done.map((x) => etagOf(x.result))).toEqual([`${ALICE}#1`, `${ALICE}#2`, `${ALICE}#3`]);
    expect(d.stats()).toMatchObject({ pending: 0, running: 0, lanes: 0 });
  });

  it('runs different lanes concurrently', async () => {
    const runner = new FakeRunner();
    const d = new Dispatcher(runner, { maxPending: 100, taskTimeoutMs: 0 });
    const a = d.submit(ALICE, task(ALICE, 1));
    const b = d.submit(BOB, task(BOB, 1));
    const c = d.submit(CAROL, task(CAROL, 1));
    await flush();
    expect(runner.started()).toEqual([`${ALICE}#1`, `${BOB}#1`, `${CAROL}#1`]);
    expect(d.stats()).toMatchObject({ running: 3, lanes: 3 });
    // Bob finishes first: Alice's slow task does not hold him back.
    runner.complete(`${BOB}#1`);
    expect(etagOf(await b)).toBe(`${BOB}#1`);
    runner.complete(`${CAROL}#1`);
    runner.complete(`${ALICE}#1`);
    expect(etagOf(await a)).toBe(`${ALICE}#1`);
    expect(etagOf(await c)).toBe(`${CAROL}#1`);
  });

  it('reports whether a lane has work', async () => {
    const runner = new FakeRunner();
    const d = new Dispatcher(runner, { maxPending: 100, taskTimeoutMs: 0 });
    expect(d.busy(ALICE)).toBe(false);
    const p = d.submit(ALICE, task(ALICE, 1));
    expect(d.busy(ALICE)).toBe(true);
    expect(d.busy(BOB)).toBe(false);
    runner.complete(`${ALICE}#1`);
    await p;
    await flush();
    expect(d.busy(ALICE)).toBe(false);
  });

  it('tells the wait observer about every task when it starts', async () => {
    const runner = new FakeRunner();
    const d = new Dispatcher(runner, { maxPending: 100, taskTimeoutMs: 0 });
    const seen: string[] = [];
    d.onWait = (ms, t) => {
      expect(ms).toBeGreaterThanOrEqual(0);
      seen.push(nameOf(t));
    };
    void d.submit(ALICE, task(ALICE, 1));
    void d.submit(ALICE, task(ALICE, 2));
    await flush();
    expect(seen).toEqual([`${ALICE}#1`]);
    runner.complete(`${ALICE}#1`);
    await flush();
    expect(seen).toEqual([`${ALICE}#1`, `${ALICE}#2`]);
  });
});

describe('Dispatcher backpressure', () => {
  it('refuses requests beyond maxPending at once, without running them', async () => {
    const runner = new FakeRunner();
    const d = new Dispatcher(runner, { maxPending: 2, taskTimeoutMs: 0 });
    void d.submit(ALICE, task(ALICE, 1));
    void d.submit(ALICE, task(ALICE, 2)); // queued: counts as pending too
    const refused = await d.submit(BOB, task(BOB, 1));
    expect(refused).toMatchObject({ ok: false, code: 'overloaded' });
    await flush();
    expect(runner.started()).toEqual([`${ALICE}#1`]);
    expect(d.stats()).toMatchObject({ pending: 2, refused: 1 });
  });

  it('never refuses internal work (timers, NOTIFY outcomes)', async () => {
    const runner = new FakeRunner();
    const d = new Dispatcher(runner, { maxPending: 1, taskTimeoutMs: 0 });
    void d.submit(ALICE, task(ALICE, 1));
    const timers: PoolTask = { kind: 'timers', resource: BOB, timers: [], now: Date.UTC(2026, 0, 1) };
    const internal = d.submit(BOB, timers, true);
    await flush();
    expect(runner.started()).toEqual([`${ALICE}#1`, `timers:${BOB}`]);
    expect(d.stats()).toMatchObject({ pending: 2, refused: 0 });
    runner.complete(`timers:${BOB}`);
    expect((await internal).ok).toBe(true);
  });

  it('accepts requests again once the queue drained', async () => {
    const runner = new FakeRunner();
    const d = new Dispatcher(runner, { maxPending: 1, taskTimeoutMs: 0 });
    const first = d.submit(ALICE, task(ALICE, 1));
    expect(await d.submit(BOB, task(BOB, 1))).toMatchObject({ ok: false, code: 'overloaded' });
    runner.complete(`${ALICE}#1`);
    await first;
    const again = d.submit(BOB, task(BOB, 2));
    await flush();
    runner.complete(`${BOB}#2`);
    expect((await again).ok).toBe(true);
  });
});

describe('Dispatcher timeouts', () => {
  it('answers the caller with timeout but keeps the lane waiting for the real completion', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const runner = new FakeRunner();
    const d = new Dispatcher(runner, { maxPending: 100, taskTimeoutMs: 1000 });
    const done: { name: string; result: PoolResult }[] = [];
    void track(d.submit(ALICE, task(ALICE, 1)), done, 'a1');
    vi.advanceTimersByTime(600);
    void track(d.submit(ALICE, task(ALICE, 2)), done, 'a2');
    await flush();
    vi.advanceTimersByTime(400);
    await flush();
    expect(done).toEqual([{ name: 'a1', result: expect.objectContaining({ ok: false, code: 'timeout' }) }]);
    expect(d.stats()).toMatchObject({ timedOut: 1, pending: 2, running: 1 });
    // The task is still running in the pool: the next one of the lane must not start.
    expect(runner.started()).toEqual([`${ALICE}#1`]);
    runner.complete(`${ALICE}#1`);
    await flush();
    expect(runner.started()).toEqual([`${ALICE}#1`, `${ALICE}#2`]);
    // The late result is not delivered a second time.
    expect(done.map((x) => x.name)).toEqual(['a1']);
    runner.complete(`${ALICE}#2`);
    await flush();
    expect(done.map((x) => [x.name, etagOf(x.result) ?? (x.result.ok ? '' : x.result.code)])).toEqual([
      ['a1', 'timeout'],
      ['a2', `${ALICE}#2`],
    ]);
    expect(d.stats()).toMatchObject({ timedOut: 1, pending: 0, running: 0 });
  });

  it('does not time out a task that finishes in time', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const runner = new FakeRunner();
    const d = new Dispatcher(runner, { maxPending: 100, taskTimeoutMs: 1000 });
    const p = d.submit(ALICE, task(ALICE, 1));
    vi.advanceTimersByTime(999);
    runner.complete(`${ALICE}#1`);
    expect((await p).ok).toBe(true);
    vi.advanceTimersByTime(10_000);
    expect(d.stats().timedOut).toBe(0);
  });

  it('has no timeout when taskTimeoutMs is 0', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const runner = new FakeRunner();
    const d = new Dispatcher(runner, { maxPending: 100, taskTimeoutMs: 0 });
    const done: { name: string; result: PoolResult }[] = [];
    void track(d.submit(ALICE, task(ALICE, 1)), done, 'a1');
    vi.advanceTimersByTime(3_600_000);
    await flush();
    expect(done).toEqual([]);
    runner.complete(`${ALICE}#1`);
    await flush();
    expect(done.map((x) => x.result.ok)).toEqual([true]);
  });
});

describe('Dispatcher failures and idle()', () => {
  it('turns a rejected run into an internal error and goes on with the lane', async () => {
    const runner = new FakeRunner();
    const d = new Dispatcher(runner, { maxPending: 100, taskTimeoutMs: 0 });
    const first = d.submit(ALICE, task(ALICE, 1));
    const second = d.submit(ALICE, task(ALICE, 2));
    await flush();
    runner.calls[0]?.reject(new Error('worker exited with code 1'));
    expect(await first).toEqual({ ok: false, code: 'internal', detail: 'worker exited with code 1' });
    await flush();
    runner.complete(`${ALICE}#2`);
    expect(etagOf(await second)).toBe(`${ALICE}#2`);
    expect(d.stats()).toMatchObject({ pending: 0, running: 0 });
  });

  it('reports a non-Error rejection as its text', async () => {
    const runner = new FakeRunner();
    const d = new Dispatcher(runner, { maxPending: 100, taskTimeoutMs: 0 });
    const p = d.submit(ALICE, task(ALICE, 1));
    await flush();
    runner.calls[0]?.reject('pool destroyed');
    expect(await p).toEqual({ ok: false, code: 'internal', detail: 'pool destroyed' });
  });

  it('idle() resolves at once when nothing is pending', async () => {
    const d = new Dispatcher(new FakeRunner(), { maxPending: 100, taskTimeoutMs: 0 });
    let idle = false;
    void d.idle().then(() => (idle = true));
    await flush();
    expect(idle).toBe(true);
  });

  it('idle() resolves only when every lane has drained', async () => {
    const runner = new FakeRunner();
    const d = new Dispatcher(runner, { maxPending: 100, taskTimeoutMs: 0 });
    void d.submit(ALICE, task(ALICE, 1));
    void d.submit(ALICE, task(ALICE, 2));
    void d.submit(BOB, task(BOB, 1));
    let idle = 0;
    void d.idle().then(() => idle++);
    void d.idle().then(() => idle++);
    await flush();
    runner.complete(`${ALICE}#1`);
    await flush();
    runner.complete(`${BOB}#1`);
    await flush();
    expect(idle).toBe(0);
    runner.complete(`${ALICE}#2`);
    await flush();
    expect(idle).toBe(2);
  });

  it('idle() does not wait for refused requests', async () => {
    const runner = new FakeRunner();
    const d = new Dispatcher(runner, { maxPending: 1, taskTimeoutMs: 0 });
    void d.submit(ALICE, task(ALICE, 1));
    await d.submit(BOB, task(BOB, 1));
    const idle = d.idle();
    await flush();
    runner.complete(`${ALICE}#1`);
    await expect(idle).resolves.toBeUndefined();
  });
});

describe('Dispatcher ordering under random schedules', () => {
  const lanes = [ALICE, BOB, CAROL];
  const step = fc.oneof(
    fc.record({ kind: fc.constant('submit' as const), lane: fc.constantFrom(...lanes), internal: fc.boolean() }),
    fc.record({ kind: fc.constant('complete' as const), pick: fc.nat({ max: 10 }), fail: fc.boolean() }),
  );

  it('completes each lane in submission order with at most one task in flight per lane', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 30 }), fc.array(fc.nat({ max: 10 }), { maxLength: 30 }), async (steps, drainPicks) => {
        const inFlight = new Map<string, number>();
        const runner = new FakeRunner();
        const checked: TaskRunner = {
          run(t) {
            const lane = t.kind === 'request' ? t.request.requestUri : 'resource' in t ? t.resource : '';
            inFlight.set(lane, (inFlight.get(lane) ?? 0) + 1);
            expect(inFlight.get(lane)).toBe(1);
            return runner.run(t).finally(() => inFlight.set(lane, (inFlight.get(lane) ?? 1) - 1));
          },
        };
        const d = new Dispatcher(checked, { maxPending: 1000, taskTimeoutMs: 0 });
        const submitted = new Map<string, string[]>();
        const finished = new Map<string, string[]>();
        const counts = new Map<string, number>();
        const promises: Promise<unknown>[] = [];
        const completeOne = (pick: number, fail: boolean): void => {
          const open = [...runner.open];
          if (open.length === 0) return;
          const c = open[pick % open.length] as Call;
          if (fail) c.reject(new Error(`crash in ${nameOf(c.task)}`));
          else c.resolve(okResult(c.task));
        };
        for (const s of steps) {
          if (s.kind === 'submit') {
            const n = (counts.get(s.lane) ?? 0) + 1;
            counts.set(s.lane, n);
            const name = `${s.lane}#${n}`;
            submitted.set(s.lane, [...(submitted.get(s.lane) ?? []), name]);
            promises.push(
              d.submit(s.lane, task(s.lane, n), s.internal).then((r) => {
                expect(r.ok ? etagOf(r) : r.detail).toBe(r.ok ? name : `crash in ${name}`);
                finished.set(s.lane, [...(finished.get(s.lane) ?? []), name]);
              }),
            );
          } else {
            completeOne(s.pick, s.fail);
          }
          await flush();
        }
        let i = 0;
        while (runner.open.size > 0) {
          completeOne(drainPicks[i++ % Math.max(1, drainPicks.length)] ?? 0, false);
          await flush();
        }
        await Promise.all(promises);
        await d.idle();
        for (const lane of lanes) expect(finished.get(lane) ?? []).toEqual(submitted.get(lane) ?? []);
        expect(d.stats()).toMatchObject({ pending: 0, running: 0, lanes: 0 });
      }),
      { numRuns: 100 },
    );
  });
});

describe('Dispatcher late results and throwing runners', () => {
  it('hands the result of a task whose caller timed out to onLateResult (its NOTIFYs must still go out)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const runner = new FakeRunner();
    const d = new Dispatcher(runner, { maxPending: 10, taskTimeoutMs: 100 });
    const late: string[] = [];
    d.onLateResult = (r) => late.push(etagOf(r) ?? '?');
    const caller = d.submit(ALICE, task(ALICE, 1));
    vi.advanceTimersByTime(150);
    expect(await caller).toMatchObject({ ok: false, code: 'timeout' });
    expect(late).toEqual([]);
    runner.complete(`${ALICE}#1`);
    await flush();
    expect(late).toEqual([`${ALICE}#1`]);
  });

  it('turns a runner that throws synchronously into an internal error and keeps the lane going', async () => {
    let calls = 0;
    const runner: TaskRunner = {
      run(t) {
        calls++;
        if (calls === 1) throw new Error('boom');
        return Promise.resolve(okResult(t));
      },
    };
    const d = new Dispatcher(runner, { maxPending: 10, taskTimeoutMs: 0 });
    const first = d.submit(ALICE, task(ALICE, 1));
    const second = d.submit(ALICE, task(ALICE, 2));
    expect(await first).toMatchObject({ ok: false, code: 'internal', detail: 'boom' });
    expect(etagOf(await second)).toBe(`${ALICE}#2`);
    await d.idle();
    expect(d.stats().pending).toBe(0);
  });
});
