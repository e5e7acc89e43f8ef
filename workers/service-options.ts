/** Options of a running presenced instance (core config + store + pool + sweeper). */
import { availableParallelism } from 'node:os';
import type { PresenceConfig } from '../core/config.js';
import type { LmdbStoreOptions } from './store/lmdb-store.js';

export interface PoolOptions {
  /** Worker threads (default: available cores). */
  readonly threads: number;
  /** Tasks one worker interleaves; more lets commits batch (group commit). */
  readonly concurrentTasksPerWorker: number;
  /** Requests queued or running before new ones get 503 + Retry-After. */
  readonly maxPending: number;
  /** A request without result after this long gets 503. */
  readonly taskTimeoutMs: number;
  /** Decoded fan-out targets each worker keeps in memory (~0.5 KB each). */
  readonly targetCacheSize: number;
  /**
   * V8 young-generation size of each worker (MB). Fan-out allocates many
   * short-lived objects; a larger nursery means fewer scavenges and less
   * GC work on the other cores.
   */
  readonly youngGenerationMb?: number;
}

export interface SweepOptions {
  /** How often due expiry/retry timers are collected. */
  readonly intervalMs: number;
  /** Most timers collected per sweep. */
  readonly batch: number;
}

export interface ServiceOptions {
  readonly config: PresenceConfig;
  readonly store: LmdbStoreOptions;
  readonly pool: PoolOptions;
  readonly sweep: SweepOptions;
  /** Seconds announced in Retry-After when refusing work. */
  readonly retryAfterSeconds: number;
  /** Seconds a completed request's reply is remembered to answer a retried copy identically. */
  readonly dedupeSeconds: number;
  /** Clock for every event (tests); default: each worker reads the system clock. */
  readonly clock?: () => number;
}

export function defaultPoolOptions(): PoolOptions {
  return {
    threads: Math.max(1, availableParallelism()),
    concurrentTasksPerWorker: 32,
    maxPending: 20_000,
    taskTimeoutMs: 4_000,
    targetCacheSize: 500_000,
  };
}

export const DEFAULT_SWEEP: SweepOptions = { intervalMs: 1_000, batch: 20_000 };
