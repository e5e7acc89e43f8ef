/**
 * A census of the store from the per-resource records (one per presentity,
 * not one per subscription): the starting values of the state gauges after a
 * restart. Kept exact afterwards by the per-event `CoreMetrics` deltas.
 */
import type { KvReader } from './kv.js';
import type { ResourceRecord } from './records.js';

/** Upper bounds of the watchers-per-presentity ranges reported as a gauge. */
export const WATCHER_RANGE_BOUNDS: readonly number[] = [1, 5, 20, 100, 1000, Number.POSITIVE_INFINITY];
export const WATCHER_RANGE_LABELS: readonly string[] = ['1', '2-5', '6-20', '21-100', '101-1000', '1001+'];

/** Index of the range a watcher count falls in; -1 for 0 (not counted). */
export function watcherRange(n: number): number {
  if (n <= 0) return -1;
  for (let i = 0; i < WATCHER_RANGE_BOUNDS.length; i++) if (n <= (WATCHER_RANGE_BOUNDS[i] as number)) return i;
  return WATCHER_RANGE_BOUNDS.length - 1;
}

export interface Census {
  /** Live publications per event package. */
  readonly publications: Record<string, number>;
  /** Live subscriptions keyed `<event> <active|pending>`. */
  readonly subscriptions: Record<string, number>;
  /** Resources with at least one publication or subscription. */
  readonly resources: number;
  /** Presentities per watchers-per-presentity range (WATCHER_RANGE_LABELS). */
  readonly watcherRanges: number[];
}

export function takeCensus(reader: KvReader): Census {
  const publications: Record<string, number> = {};
  const subscriptions: Record<string, number> = {};
  const watcherRanges = WATCHER_RANGE_BOUNDS.map(() => 0);
  let resources = 0;
  for (const e of reader.prefix('resources', [])) {
    const r = e.value as ResourceRecord;
    resources++;
    let watchers = 0;
    for (const [ev, n] of Object.entries(r.pubs)) publications[ev] = (publications[ev] ?? 0) + n;
    for (const [ev, n] of Object.entries(r.subs)) {
      const pending = r.pending?.[ev] ?? 0;
      watchers += n;
      if (n - pending > 0) subscriptions[`${ev} active`] = (subscriptions[`${ev} active`] ?? 0) + n - pending;
      if (pending > 0) subscriptions[`${ev} pending`] = (subscriptions[`${ev} pending`] ?? 0) + pending;
    }
    const i = watcherRange(watchers);
    if (i >= 0) watcherRanges[i] = (watcherRanges[i] ?? 0) + 1;
  }
  return { publications, subscriptions, resources, watcherRanges };
}
