/**
 * The messages between the dispatcher (main thread) and the pool workers.
 * Plain data both ways; failures come back as `{ ok: false, code }`.
 */
import type { NotifyOutcome, SipReply, SipRequest, TaskOutcome } from '../core/contract.js';
import type { PresenceConfig } from '../core/config.js';
import type { TimerRef } from '../core/store/records.js';
import type { CoreMetrics } from '../core/core-metrics.js';
import type { Census } from '../core/store/census.js';
import type { XcapRequest, XcapResponse } from '../core/xcap/xcap-service.js';
import type { PackedNotifies } from './notify-batch.js';
import type { LmdbStoreOptions } from './store/lmdb-store.js';

export type PoolTask =
  | { readonly kind: 'request'; readonly request: SipRequest; readonly now?: number }
  | { readonly kind: 'timers'; readonly resource: string; readonly timers: readonly TimerRef[]; readonly now?: number }
  | { readonly kind: 'outcomes'; readonly resource: string; readonly outcomes: readonly NotifyOutcome[]; readonly now?: number }
  /** Count the store (state gauges at startup). */
  | { readonly kind: 'census' }
  /** An XCAP request, in the lane of the document owner. */
  | { readonly kind: 'xcap'; readonly request: XcapRequest; readonly now?: number };

/** Timing of a task inside the worker, for metrics. */
export interface TaskTiming {
  /** Time spent in the core (parse, compose, render, fan-out), ms. */
  readonly computeMs: number;
  /** Time waiting for the durable commit, ms. */
  readonly commitMs: number;
  /** Store operations written. */
  readonly writes: number;
}

/** Counters recorded inside the worker for one task, merged into /metrics by the main thread. */
export interface WorkerMetrics {
  readonly core?: CoreMetrics;
  readonly targetCacheHits: number;
  readonly targetCacheMisses: number;
}

/** A task's result as it crosses the thread boundary: NOTIFYs packed in one transferred buffer. */
export interface PackedResult {
  readonly reply?: SipReply;
  readonly notifies: PackedNotifies;
  readonly metrics?: WorkerMetrics;
  readonly census?: Census;
  /** The HTTP response of an `xcap` task. */
  readonly xcap?: XcapResponse;
}

export type PoolResult = TaskOutcome<PackedResult> & { readonly timing?: TaskTiming };

/** Passed to every worker as `workerData`. */
export interface WorkerInit {
  readonly config: PresenceConfig;
  readonly store: LmdbStoreOptions;
  readonly targetCacheSize: number;
}
