/**
 * What one event did, counted where it happens and returned with its result
 * (plain data). The worker layer merges these into the process metrics, so a
 * number recorded inside a worker thread reaches /metrics exactly once.
 */
export interface CoreMetrics {
  /** Bodies actually rendered (shared renderings count once). */
  rendered: number;
  /** NOTIFY retries scheduled after 408/5xx. */
  retries: number;
  /** Subscriptions given up after their NOTIFY retries were exhausted. */
  giveups: number;
  /** Subscriptions ended because their NOTIFY was answered 481 and alike. */
  rejectedByWatcher: number;
  /** Publications and subscriptions that reached their expiry. */
  expiredPublications: number;
  expiredSubscriptions: number;
  /** Change of live subscriptions, keyed `<event> <active|pending>`. */
  subscriptions: Record<string, number>;
  /** Change of live publications per event package. */
  publications: Record<string, number>;
  /** Resources whose number of watchers (all packages) changed: [before, after]. */
  watcherCounts: [number, number][];
}

export function emptyCoreMetrics(): CoreMetrics {
  return {
    rendered: 0,
    retries: 0,
    giveups: 0,
    rejectedByWatcher: 0,
    expiredPublications: 0,
    expiredSubscriptions: 0,
    subscriptions: {},
    publications: {},
    watcherCounts: [],
  };
}

export function addTo(map: Record<string, number>, key: string, delta: number): void {
  const v = (map[key] ?? 0) + delta;
  if (v === 0) delete map[key];
  else map[key] = v;
}

/** Merge `b` into `a` (both plain data). */
export function mergeCoreMetrics(a: CoreMetrics, b: CoreMetrics): void {
  a.rendered += b.rendered;
  a.retries += b.retries;
  a.giveups += b.giveups;
  a.rejectedByWatcher += b.rejectedByWatcher;
  a.expiredPublications += b.expiredPublications;
  a.expiredSubscriptions += b.expiredSubscriptions;
  for (const [k, v] of Object.entries(b.subscriptions)) addTo(a.subscriptions, k, v);
  for (const [k, v] of Object.entries(b.publications)) addTo(a.publications, k, v);
  for (const w of b.watcherCounts) a.watcherCounts.push(w);
}
