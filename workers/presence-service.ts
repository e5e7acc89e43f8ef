/**
 * A running Presence Server: the worker pool, the per-resource dispatcher,
 * the expiry sweeper and request de-duplication. Fronts (Kamailio JSON-RPC,
 * drachtio, tests) call `handle()` and deliver the NOTIFYs it returns; NOTIFYs
 * born outside a request (expiry, retries) are pushed to `onNotifies`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HandleResult, Notify, NotifyOutcome, SipRequest } from '../core/contract.js';
import { errorReply } from '../core/errors.js';
import { PresenceServer } from '../core/server/presence-server.js';
import type { TimerRef, XcapUserRecord } from '../core/store/records.js';
import { tagOf } from '../core/sip/name-addr.js';
import { PresenceReader } from '../core/store/presence-store.js';
import { Dispatcher, type TaskRunner } from './dispatcher.js';
import { WorkerPools } from './worker-pools.js';
import { RandomIds } from './random-ids.js';
import type { ServiceOptions } from './service-options.js';
import { LmdbStore } from './store/lmdb-store.js';
import { unpackNotifies } from './notify-batch.js';
import type { Census } from '../core/store/census.js';
import { xcapLane, type XcapRequest, type XcapResponse } from '../core/xcap/xcap-service.js';
import type { PackedResult, PoolResult, PoolTask, WorkerInit } from './tasks.js';

/** Path of the compiled worker entry, also when this module runs from TypeScript sources (tests). */
export function workerEntry(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return join(dirname(here), 'pool-worker.js');
  const root = join(dirname(here), '..');
  const compiled = join(root, 'dist', 'workers', 'pool-worker.js');
  if (!existsSync(compiled)) throw new Error(`${compiled} missing: run "npm run build" first`);
  return compiled;
}

interface Remembered {
  /** Only the reply is kept: a retried copy gets the same reply and no NOTIFY. */
  readonly reply: Promise<HandleResult['reply']>;
  readonly until: number;
}

export interface TaskTimingTotals {
  tasks: number;
  computeMs: number;
  commitMs: number;
  writes: number;
  notifies: number;
}

export interface ServiceStats {
  readonly timing: Readonly<TaskTimingTotals>;
  readonly dispatcher: ReturnType<Dispatcher['stats']>;
  readonly pool: { readonly threads: number; readonly queueSize: number; readonly utilization: number };
  readonly deduplicated: number;
  readonly sweeps: number;
}

export class PresenceService {
  /** Receives NOTIFYs produced by timers, retries and NOTIFY outcomes. */
  onNotifies: (notifies: readonly Notify[]) => void = () => undefined;
  /** Receives internal failures (task errors outside requests). */
  onError: (code: string, detail: string | undefined) => void = () => undefined;

  private readonly dispatcher: Dispatcher;
  private readonly recent = new Map<string, Remembered>();
  private readonly timerLanes = new Set<string>();
  private readonly outcomeQueues = new Map<string, NotifyOutcome[]>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping = false;
  private closed = false;
  private deduplicated = 0;
  private sweeps = 0;
  private readonly timing: TaskTimingTotals = { tasks: 0, computeMs: 0, commitMs: 0, writes: 0, notifies: 0 };
  /** Observer of every task result, exactly once, also when the caller timed out (metrics). */
  onTaskResult: ((r: PoolResult, task: PoolTask) => void) | undefined;
  /** Observer of the time each task waited in its lane and the pool queue (metrics). */
  onTaskWait: ((ms: number, task: PoolTask) => void) | undefined;
  /** Store census taken at start, before any traffic (starting values of the state gauges). */
  census: Census | undefined;

  private constructor(
    readonly options: ServiceOptions,
    private readonly pool: WorkerPools,
    private readonly store: LmdbStore,
    /** A core instance in this thread, only for pure lookups (ordering keys). */
    private readonly local: PresenceServer,
  ) {
    const runner: TaskRunner = {
      run: async (task, lane) => {
        const r = await pool.run(task, lane);
        if (r.timing) {
          const t = this.timing;
          t.tasks++;
          t.computeMs += r.timing.computeMs;
          t.commitMs += r.timing.commitMs;
          t.writes += r.timing.writes;
          if (r.ok) t.notifies += r.value.notifies.count;
        }
        this.onTaskResult?.(r, task);
        return r;
      },
    };
    this.dispatcher = new Dispatcher(runner, { maxPending: options.pool.maxPending, taskTimeoutMs: options.pool.taskTimeoutMs });
    // A request answered 503 (timeout) whose task still committed: its NOTIFYs still go out.
    this.dispatcher.onLateResult = (r) => this.emit(r);
    this.dispatcher.onWait = (ms, task) => this.onTaskWait?.(ms, task);
  }

  static async start(options: ServiceOptions): Promise<PresenceService> {
    mkdirSync(options.store.path, { recursive: true });
    const store = LmdbStore.open(options.store);
    const init: WorkerInit = { config: options.config, store: options.store, targetCacheSize: options.pool.targetCacheSize };
    const pool = new WorkerPools({
      filename: workerEntry(),
      threads: options.pool.threads,
      concurrentTasksPerWorker: options.pool.concurrentTasksPerWorker,
      atomics: (process.env.PRESENCED_ATOMICS as 'sync' | 'async' | 'disabled' | undefined) ?? 'async',
      init,
      ...(options.pool.youngGenerationMb ? { youngGenerationMb: options.pool.youngGenerationMb } : {}),
    });
    const local = new PresenceServer({ config: options.config, ids: new RandomIds(options.config.nodeId) });
    const service = new PresenceService(options, pool, store, local);
    // Warm up every worker (opens its LMDB handle) before taking traffic.
    await pool.runOnEach({ kind: 'timers', resource: '', timers: [] } satisfies PoolTask);
    // Count the store once, before any traffic: the state gauges start exact.
    const census = await pool.run({ kind: 'census' } satisfies PoolTask, '');
    if (census.ok && census.value.census) service.census = census.value.census;
    service.startSweeper();
    return service;
  }

  /**
   * Handle a PUBLISH/SUBSCRIBE. Never rejects: overload and internal failures
   * become SIP error replies. A retried copy of a request (same Call-ID, CSeq,
   * method and tags) gets the same reply and no second NOTIFY.
   */
  handle(request: SipRequest): Promise<ServiceResult> {
    if (this.closed) return Promise.resolve(this.failure('overloaded', 'shutting down'));
    const key = dedupeKey(request);
    const now = this.options.clock?.() ?? Date.now();
    const seen = this.recent.get(key);
    if (seen && seen.until > now) {
      this.deduplicated++;
      return seen.reply.then((reply) => (reply ? { reply, notifies: [], notifyCount: 0 } : { notifies: [], notifyCount: 0 }));
    }
    this.store.refresh();
    const lane = this.local.resourceOf(request, this.store);
    const clock = this.options.clock;
    const task: PoolTask = clock ? { kind: 'request', request, now: clock() } : { kind: 'request', request };
    const result = this.dispatcher.submit(lane, task).then((r) => this.unwrap(r));
    this.remember(key, result, now);
    return result;
  }

  /**
   * Handle an XCAP request in the lane of the document owner (so a pres-rules
   * change is ordered with that user's presence events). NOTIFYs it implies
   * go to `onNotifies`. Overload → 503.
   */
  async xcap(request: XcapRequest): Promise<XcapResponse> {
    if (this.closed) return { status: 503, headers: { 'Retry-After': String(this.options.retryAfterSeconds) } };
    const clock = this.options.clock;
    const task: PoolTask = clock ? { kind: 'xcap', request, now: clock() } : { kind: 'xcap', request };
    const r = await this.dispatcher.submit(xcapLane(request.path, request.query), task);
    if (!r.ok) {
      if (r.code !== 'overloaded' && r.code !== 'timeout') this.onError(r.code, r.detail);
      const status = r.code === 'overloaded' || r.code === 'timeout' ? 503 : 500;
      return { status, headers: status === 503 ? { 'Retry-After': String(this.options.retryAfterSeconds) } : {} };
    }
    if (r.value.notifies.count > 0) this.onNotifies(unpackNotifies(r.value.notifies));
    return r.value.xcap ?? { status: 500, headers: {} };
  }

  /** Report the final response of a NOTIFY; outcomes of one resource are applied in order, in batches. */
  notifyOutcome(outcome: NotifyOutcome): void {
    if (this.closed) return;
    const q = this.outcomeQueues.get(outcome.resource);
    if (q) {
      q.push(outcome);
      return;
    }
    this.outcomeQueues.set(outcome.resource, [outcome]);
    queueMicrotask(() => this.flushOutcomes(outcome.resource));
  }

  private flushOutcomes(resource: string): void {
    const outcomes = this.outcomeQueues.get(resource);
    this.outcomeQueues.delete(resource);
    if (!outcomes || outcomes.length === 0) return;
    // Successes with nothing to reset write nothing; the core decides cheaply, so they still go through the lane.
    const clock = this.options.clock;
    const task: PoolTask = clock ? { kind: 'outcomes', resource, outcomes, now: clock() } : { kind: 'outcomes', resource, outcomes };
    void this.dispatcher.submit(resource, task, true).then((r) => this.emit(r));
  }

  private emit(r: PoolResult): void {
    if (!r.ok) {
      this.onError(r.code, r.detail);
      return;
    }
    if (r.value.notifies.count > 0) this.onNotifies(unpackNotifies(r.value.notifies));
  }

  private unwrap(r: PoolResult): ServiceResult {
    if (r.ok) return lazyResult(r.value);
    return this.failure(r.code, r.detail);
  }

  private failure(code: string, detail: string | undefined): ServiceResult {
    if (code !== 'overloaded' && code !== 'timeout') this.onError(code, detail);
    const reply = errorReply({ code });
    const headers = reply.status === 503 ? [...reply.headers, { name: 'Retry-After', value: String(this.options.retryAfterSeconds) }] : reply.headers;
    return { reply: { ...reply, headers }, notifies: [], notifyCount: 0 };
  }

  private remember(key: string, result: Promise<ServiceResult>, now: number): void {
    const ttl = this.options.dedupeSeconds * 1000;
    if (ttl <= 0) return;
    const reply = result.then((r) => {
      // A refused or failed attempt must not be replayed to the retry.
      if ((r.reply?.status ?? 0) >= 500) this.recent.delete(key);
      return r.reply;
    });
    this.recent.set(key, { reply, until: now + ttl });
    // Bounded memory: evict the oldest entries (Map keeps insertion order).
    if (this.recent.size > 200_000) {
      for (const [k, v] of this.recent) {
        if (this.recent.size <= 150_000 && v.until > now) break;
        this.recent.delete(k);
      }
    }
  }

  private startSweeper(): void {
    const tick = (): void => {
      void this.sweep().finally(() => {
        if (!this.closed) {
          this.sweepTimer = setTimeout(tick, this.options.sweep.intervalMs);
          this.sweepTimer.unref?.();
        }
      });
    };
    tick();
  }

  /**
   * Collect due timers (one range read) and run them per resource, in that
   * resource's lane. Restart recovery is the first sweep: whatever expired
   * while presenced was down is processed at once.
   */
  async sweep(now = this.options.clock?.() ?? Date.now()): Promise<number> {
    if (this.sweeping || this.closed) return 0;
    this.sweeping = true;
    try {
      this.sweeps++;
      this.expireRemembered(now);
      this.store.refresh();
      const byResource = new Map<string, TimerRef[]>();
      const reader = new PresenceReader(this.store);
      for (const t of reader.dueTimers(now, this.options.sweep.batch)) {
        if (this.timerLanes.has(t.resource)) continue;
        const list = byResource.get(t.resource);
        if (list) list.push(t);
        else byResource.set(t.resource, [t]);
      }
      const runs: Promise<void>[] = [];
      for (const [resource, timers] of byResource) {
        this.timerLanes.add(resource);
        runs.push(
          this.dispatcher.submit(resource, { kind: 'timers', resource, timers, now }, true).then((r) => {
            this.timerLanes.delete(resource);
            this.emit(r);
          }),
        );
      }
      await Promise.all(runs);
      return byResource.size;
    } finally {
      this.sweeping = false;
    }
  }

  private expireRemembered(now: number): void {
    for (const [k, v] of this.recent) {
      if (v.until > now) break;
      this.recent.delete(k);
    }
  }

  /** An XCAP user (HTTP Digest credentials), read from the store (users may be added by another process). */
  xcapUser(username: string): XcapUserRecord | undefined {
    this.store.refresh();
    return this.store.get('xcapUsers', [username]) as XcapUserRecord | undefined;
  }

  /** Add or replace an XCAP user (durable when it resolves). */
  putXcapUser(username: string, user: XcapUserRecord): Promise<void> {
    return this.store.commit([{ table: 'xcapUsers', key: [username], value: user }]);
  }

  /** Wait until every queued task finished. */
  idle(): Promise<void> {
    return this.dispatcher.idle();
  }

  stats(): ServiceStats {
    return {
      timing: { ...this.timing },
      dispatcher: this.dispatcher.stats(),
      pool: { threads: this.pool.threads, queueSize: this.pool.queueSize, utilization: this.pool.utilization },
      deduplicated: this.deduplicated,
      sweeps: this.sweeps,
    };
  }

  storeStats(): ReturnType<LmdbStore['stats']> {
    return this.store.stats();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    for (const r of this.outcomeQueues.keys()) this.flushOutcomes(r);
    await this.dispatcher.idle();
    await this.pool.destroy();
    await this.store.close();
  }
}

/** Result with NOTIFYs decoded on first access (the packed buffer is kept until then). */
export type ServiceResult = HandleResult & { readonly notifyCount: number };

function lazyResult(packed: PackedResult): ServiceResult {
  let decoded: HandleResult['notifies'] | undefined;
  const result = { notifyCount: packed.notifies.count } as { notifyCount: number; reply?: HandleResult['reply'] };
  if (packed.reply) result.reply = packed.reply;
  Object.defineProperty(result, 'notifies', {
    enumerable: true,
    get: () => (decoded ??= unpackNotifies(packed.notifies)),
  });
  return result as ServiceResult;
}

/** Identity of a request for retry de-duplication (RFC 3261 §17.2.3 minus the branch, which the edge hides). */
function dedupeKey(r: SipRequest): string {
  return `${r.method}\n${r.callId}\n${r.cseq}\n${tagOf(r.from) ?? ''}\n${tagOf(r.to) ?? ''}\n${r.sipIfMatch ?? ''}`;
}
