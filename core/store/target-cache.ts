/**
 * A per-thread cache of decoded fan-out targets: a resource watched by
 * thousands is read from the store once per change of its subscription set,
 * not once per PUBLISH. Entries are validated by the resource's
 * subscription-set version token (a fresh unique id on every change), so a
 * stale entry can never be used, also across threads and after discarded
 * events. Bounded by the number of targets held (least recently used
 * resources are evicted first).
 */
import type { NotifyTarget } from './records.js';

interface Entry {
  readonly version: string;
  readonly targets: readonly NotifyTarget[];
}

export class TargetCache {
  private readonly entries = new Map<string, Entry>();
  private held = 0;
  hits = 0;
  misses = 0;

  constructor(readonly maxTargets: number) {}

  get(resource: string, event: string, version: string): readonly NotifyTarget[] | undefined {
    const key = `${resource}\u0000${event}`;
    const e = this.entries.get(key);
    if (!e || e.version !== version) {
      this.misses++;
      return undefined;
    }
    // Refresh recency (Map iteration order is insertion order).
    this.entries.delete(key);
    this.entries.set(key, e);
    this.hits++;
    return e.targets;
  }

  set(resource: string, event: string, version: string, targets: readonly NotifyTarget[]): void {
    if (targets.length > this.maxTargets) return;
    const key = `${resource}\u0000${event}`;
    const old = this.entries.get(key);
    if (old) {
      this.held -= old.targets.length;
      this.entries.delete(key);
    }
    this.entries.set(key, { version, targets });
    this.held += targets.length;
    for (const [k, e] of this.entries) {
      if (this.held <= this.maxTargets) break;
      this.entries.delete(k);
      this.held -= e.targets.length;
    }
  }

  get size(): number {
    return this.held;
  }
}
