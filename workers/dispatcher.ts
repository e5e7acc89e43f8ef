/**
 * Keeps the events of one resource strictly in arrival order while different
 * resources run in parallel on the pool: each resource is a lane with at most
 * one task in flight. A bound on queued work turns overload into an
 * immediate `overloaded` result (503 + Retry-After at the edge), never a hang.
 */
import type { PoolResult, PoolTask } from './tasks.js';

export interface TaskRunner {
  /** Run a task; `lane` lets the runner keep a resource on one worker (cache affinity). */
  run(task: PoolTask, lane: string): Promise<PoolResult>;
}

export interface DispatcherOptions {
  /** Tasks queued or running before new requests are refused. */
  readonly maxPending: number;
  /** A caller waiting longer gets a `timeout` result; the lane still waits for the task. */
  readonly taskTimeoutMs: number;
}

interface Item {
  readonly task: PoolTask;
  readonly resolve: (r: PoolResult) => void;
  readonly enqueuedAt: number;
  settled: boolean;
  timer?: NodeJS.Timeout;
}

interface Lane {
  readonly queue: Item[];
  busy: boolean;
}

export interface DispatcherStats {
  readonly pending: number;
  readonly lanes: number;
  readonly running: number;
  readonly refused: number;
  readonly timedOut: number;
}

export class Dispatcher {
  private readonly lanes = new Map<string, Lane>();
  private pending = 0;
  private running = 0;
  private refused = 0;
  private timedOut = 0;
  private idleWaiters: (() => void)[] = [];
  /** Observers of queue wait (ms) per task, for metrics. */
  onWait: ((ms: number, task: PoolTask) => void) | undefined;
  /**
   * Results of tasks whose caller already got `timeout`: the state change was
   * committed anyway, so its NOTIFYs must still go out.
   */
  onLateResult: ((result: PoolResult, task: PoolTask) => void) | undefined;

  constructor(
    private readonly runner: TaskRunner,
    private readonly options: DispatcherOptions,
  ) {}

  /**
   * Queue a task on a lane. `internal` work (timers, NOTIFY outcomes) is not
   * refused under load: it only ever shrinks state.
   */
  submit(lane: string, task: PoolTask, internal = false): Promise<PoolResult> {
    if (!internal && this.pending >= this.options.maxPending) {
      this.refused++;
      return Promise.resolve({ ok: false, code: 'overloaded', detail: `${this.pending} tasks pending` });
    }
    return new Promise<PoolResult>((resolve) => {
      const item: Item = { task, resolve, enqueuedAt: performance.now(), settled: false };
      if (this.options.taskTimeoutMs > 0) {
        item.timer = setTimeout(() => {
          if (item.settled) return;
          item.settled = true;
          this.timedOut++;
          resolve({ ok: false, code: 'timeout', detail: `no result within ${this.options.taskTimeoutMs} ms` });
        }, this.options.taskTimeoutMs);
        item.timer.unref?.();
      }
      this.pending++;
      let l = this.lanes.get(lane);
      if (!l) {
        l = { queue: [], busy: false };
        this.lanes.set(lane, l);
      }
      l.queue.push(item);
      if (!l.busy) this.next(lane, l);
    });
  }

  private next(name: string, lane: Lane): void {
    const item = lane.queue.shift();
    if (!item) {
      lane.busy = false;
      this.lanes.delete(name);
      if (this.pending === 0) this.wakeIdle();
      return;
    }
    lane.busy = true;
    this.running++;
    this.onWait?.(performance.now() - item.enqueuedAt, item.task);
    let started: Promise<PoolResult>;
    try {
      started = this.runner.run(item.task, name);
    } catch (err) {
      // A runner that throws instead of rejecting must not leave the lane stuck.
      started = Promise.reject(err);
    }
    started
      .catch((err: unknown): PoolResult => ({ ok: false, code: 'internal', detail: err instanceof Error ? err.message : String(err) }))
      .then((result) => {
        this.running--;
        this.pending--;
        if (item.timer) clearTimeout(item.timer);
        if (!item.settled) {
          item.settled = true;
          item.resolve(result);
        } else {
          this.onLateResult?.(result, item.task);
        }
        this.next(name, lane);
      });
  }

  private wakeIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Whether a lane currently has queued or running work. */
  busy(lane: string): boolean {
    return this.lanes.has(lane);
  }

  stats(): DispatcherStats {
    return { pending: this.pending, lanes: this.lanes.size, running: this.running, refused: this.refused, timedOut: this.timedOut };
  }
}
