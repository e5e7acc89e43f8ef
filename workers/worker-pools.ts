/**
 * The worker threads, each in its own single-thread piscina pool, with lane
 * affinity: every event of a resource runs on the same worker. Each worker
 * then caches the fan-out targets of its share of the presentities only
 * (hit after the first event instead of after every worker saw it), and the
 * cache memory per worker shrinks with the number of workers. A resource's
 * events are still strictly ordered by the dispatcher's lanes; the affinity
 * only chooses where they run.
 */
import { Piscina } from 'piscina';
import type { PoolResult, PoolTask, WorkerInit } from './tasks.js';

export interface WorkerPoolsOptions {
  readonly filename: string;
  readonly threads: number;
  readonly concurrentTasksPerWorker: number;
  readonly init: WorkerInit;
  readonly youngGenerationMb?: number;
  readonly atomics: 'sync' | 'async' | 'disabled';
}

/** FNV-1a over the lane name: a stable, well-spread worker index. */
export function laneWorker(lane: string, workers: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < lane.length; i++) h = Math.imul(h ^ lane.charCodeAt(i), 0x01000193);
  return (h >>> 0) % workers;
}

export class WorkerPools {
  private readonly pools: Piscina[];

  constructor(o: WorkerPoolsOptions) {
    this.pools = Array.from(
      { length: o.threads },
      () =>
        new Piscina({
          filename: o.filename,
          minThreads: 1,
          maxThreads: 1,
          idleTimeout: Infinity,
          concurrentTasksPerWorker: o.concurrentTasksPerWorker,
          atomics: o.atomics,
          workerData: o.init,
          ...(o.youngGenerationMb ? { resourceLimits: { maxYoungGenerationSizeMb: o.youngGenerationMb } } : {}),
        }),
    );
  }

  /** Run on the worker that owns `lane`. */
  run(task: PoolTask, lane: string): Promise<PoolResult> {
    return (this.pools[laneWorker(lane, this.pools.length)] as Piscina).run(task) as Promise<PoolResult>;
  }

  /** Run once on every worker (warm-up). */
  runOnEach(task: PoolTask): Promise<PoolResult[]> {
    return Promise.all(this.pools.map((p) => p.run(task) as Promise<PoolResult>));
  }

  get threads(): number {
    return this.pools.length;
  }

  get queueSize(): number {
    return this.pools.reduce((n, p) => n + p.queueSize, 0);
  }

  /** Mean utilization of the workers (0..1). */
  get utilization(): number {
    return this.pools.reduce((n, p) => n + p.utilization, 0) / Math.max(1, this.pools.length);
  }

  async destroy(): Promise<void> {
    await Promise.all(this.pools.map((p) => p.destroy()));
  }
}
