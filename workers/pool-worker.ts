/**
 * Piscina worker entry: binds the pure core to the LMDB store. Each task is
 * one event of one resource: refresh the read snapshot, run the core with
 * writes buffered, commit them as one durable batch, return the result as
 * data. Nothing is thrown across the thread boundary.
 */
import { workerData } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { PresenceServer } from '../core/server/presence-server.js';
import type { HandleResult } from '../core/contract.js';
import type { XcapResponse } from '../core/xcap/xcap-service.js';
import { packNotifies } from './notify-batch.js';
import { RandomIds } from './random-ids.js';
import { TargetCache } from '../core/store/target-cache.js';
import { LmdbStore, LmdbTaskKv } from './store/lmdb-store.js';
import type { PoolResult, PoolTask, WorkerInit, WorkerMetrics } from './tasks.js';
import { takeCensus } from '../core/store/census.js';

const init = workerData as WorkerInit;
const store = LmdbStore.open(init.store);
const targetCache = new TargetCache(init.targetCacheSize);
const server = new PresenceServer({
  config: init.config,
  ids: new RandomIds(init.config.nodeId),
  targetCache,
});
let reportedHits = 0;
let reportedMisses = 0;

/** Counters of this task: the core's, plus the cache counters since the last report. */
function workerMetrics(core: HandleResult['metrics']): WorkerMetrics {
  const m: WorkerMetrics = {
    ...(core ? { core } : {}),
    targetCacheHits: targetCache.hits - reportedHits,
    targetCacheMisses: targetCache.misses - reportedMisses,
  };
  reportedHits = targetCache.hits;
  reportedMisses = targetCache.misses;
  return m;
}

export default async function runTask(task: PoolTask): Promise<PoolResult> {
  if (task.kind === 'census') {
    store.refresh();
    return { ok: true, value: { notifies: { count: 0, buffer: null }, census: takeCensus(store) } };
  }
  const started = performance.now();
  let result: HandleResult;
  let kv: LmdbTaskKv;
  let xcap: XcapResponse | undefined;
  try {
    store.refresh();
    kv = new LmdbTaskKv(store);
    const now = task.now ?? Date.now();
    switch (task.kind) {
      case 'request':
        result = server.handle(task.request, kv, now);
        break;
      case 'timers':
        result = server.timers(task.resource, task.timers, kv, now);
        break;
      case 'outcomes':
        result = server.notifyOutcomes(task.resource, task.outcomes, kv, now);
        break;
      case 'xcap': {
        const r = server.xcap(task.request, kv, now);
        xcap = r.response;
        result = r;
        break;
      }
    }
  } catch (err) {
    return { ok: false, code: 'internal', detail: err instanceof Error ? `${err.message}` : String(err) };
  }
  // Pack before waiting for the commit: the NOTIFY objects then die young
  // (cheap scavenges) instead of surviving into old space while the commit runs.
  const notifies = packNotifies(result.notifies);
  const reply = result.reply;
  const computed = performance.now();
  try {
    await kv.commit();
  } catch (err) {
    return { ok: false, code: 'store-failure', detail: err instanceof Error ? err.message : String(err) };
  }
  const committed = performance.now();
  const out: PoolResult = {
    ok: true,
    value: {
      ...(reply ? { reply } : {}),
      ...(xcap ? { xcap } : {}),
      notifies,
      metrics: workerMetrics(result.metrics),
    },
    timing: { computeMs: computed - started, commitMs: committed - computed, writes: kv.pending },
  };
  if (!notifies.buffer) return out;
  // Transfer the NOTIFY buffer instead of copying it.
  const buffer = notifies.buffer;
  const transferable = {
    get [transferableSymbol]() {
      return [buffer];
    },
    get [valueSymbol]() {
      return out;
    },
  };
  return move(transferable as never) as unknown as PoolResult;
}
