/**
 * presenced's Prometheus metrics (prom-client), all in one registry of the
 * main thread. Numbers recorded inside worker threads arrive as per-task
 * deltas with the task's result (`WorkerMetrics`) and are added here once:
 * nothing is lost with a worker and nothing is counted twice.
 *
 * Naming follows Prometheus conventions: base units (`_seconds`, `_bytes`),
 * `_total` for counters, bounded label values only (method, event package,
 * status code, mode, table…) — never a URI, a user or a Call-ID.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CoreMetrics } from '../core/core-metrics.js';
import type { Census } from '../core/store/census.js';
import { WATCHER_RANGE_LABELS, watcherRange } from '../core/store/census.js';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10];

/** Things whose current values are read at scrape time. */
export interface MetricSources {
  pool?: () => { threads: number; utilization: number; pending: number; maxPending: number; running: number; refused: number; timedOut: number };
  store?: () => { entries: Record<string, number>; usedBytes: number; mapSize: number };
  /** Free and total bytes of the filesystem holding the data directory (LMDB grows into it). */
  disk?: () => { freeBytes: number; totalBytes: number } | undefined;
  delivery?: () => {
    mode: string;
    queued: number;
    inFlight: number;
    superseded: number;
    linkFailures: number;
    linkUp: boolean;
    droppedOverflow: number;
    afterTerminal: number;
  };
  /** Cumulative transport events (retransmissions, Timer F timeouts, link downs, local errors, connect/probe failures). */
  transport?: () => { mode: string; events: Record<TransportEvent, number> };
  /** `connections` = currently open JSON-RPC connections from Kamailio. */
  rpcServer?: () => { connections: number; requests: number; errors: number; busy: number; timeouts: number; oversize: number; framingErrors: number };
  front?: () => { external: number; externalTimeouts: number; unknownResults: number; undeliveredReplies: number; queuedBehind: number };
}

export type TransportEvent = 'retransmission' | 'timeout' | 'link_down' | 'local_error' | 'connect_failure' | 'probe_failure';

type Labels = Record<string, string>;

export class PresenceMetrics {
  readonly registry = new Registry();
  private readonly sources: MetricSources = {};
  private readonly lastCounter = new Map<string, number>();

  readonly sipRequests = new Counter({
    name: 'presenced_sip_requests_total',
    help: 'PUBLISH/SUBSCRIBE requests handled, by method, event package and reply code',
    labelNames: ['method', 'event', 'code'] as const,
    registers: [this.registry],
  });
  readonly sipRequestDuration = new Histogram({
    name: 'presenced_sip_request_duration_seconds',
    help: 'Time from a request reaching presenced to its reply (durable state included)',
    labelNames: ['method'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly notifiesSent = new Counter({
    name: 'presenced_notifies_sent_total',
    help: 'NOTIFY requests handed to the transport (retransmissions not counted)',
    labelNames: ['mode', 'event'] as const,
    registers: [this.registry],
  });
  readonly notifyResponses = new Counter({
    name: 'presenced_notify_responses_total',
    help: 'Final responses to NOTIFYs, by delivery mode and status code',
    labelNames: ['mode', 'code'] as const,
    registers: [this.registry],
  });
  readonly publishToNotify = new Histogram({
    name: 'presenced_publish_to_notify_seconds',
    help: 'Time from a PUBLISH reaching presenced to each NOTIFY it caused being sent',
    labelNames: ['mode'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly notifyRetries = new Counter({
    name: 'presenced_notify_retries_total',
    help: 'NOTIFY retries scheduled after 408/480/5xx answers',
    registers: [this.registry],
  });
  readonly notifyGiveups = new Counter({
    name: 'presenced_notify_giveups_total',
    help: 'Subscriptions ended after their NOTIFY retries were exhausted',
    registers: [this.registry],
  });
  readonly rejectedByWatcher = new Counter({
    name: 'presenced_subscriptions_rejected_by_watcher_total',
    help: 'Subscriptions ended because the watcher answered a NOTIFY with 481 or alike',
    registers: [this.registry],
  });
  readonly bodiesRendered = new Counter({
    name: 'presenced_bodies_rendered_total',
    help: 'NOTIFY bodies rendered (inside worker threads; one rendering is shared by all watchers with the same view)',
    registers: [this.registry],
  });
  readonly expired = new Counter({
    name: 'presenced_expired_total',
    help: 'Publications and subscriptions that reached their expiry',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly targetCache = new Counter({
    name: 'presenced_target_cache_lookups_total',
    help: 'Fan-out target cache lookups inside worker threads',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly publications = new Gauge({
    name: 'presenced_publications',
    help: 'Live publications by event package',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });
  readonly subscriptions = new Gauge({
    name: 'presenced_subscriptions',
    help: 'Live subscriptions by event package and state',
    labelNames: ['event', 'state'] as const,
    registers: [this.registry],
  });
  readonly presentitiesByWatchers = new Gauge({
    name: 'presenced_presentities_by_watchers',
    help: 'Presentities by number of watchers (all event packages)',
    labelNames: ['watchers'] as const,
    registers: [this.registry],
  });
  readonly taskWait = new Histogram({
    name: 'presenced_pool_task_wait_seconds',
    help: 'Time a task waited in its per-presentity lane and the pool queue',
    labelNames: ['kind'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly taskCompute = new Histogram({
    name: 'presenced_pool_task_compute_seconds',
    help: 'Time a worker thread computed a task (parse, compose, render, fan-out)',
    labelNames: ['kind'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly xcapRequests = new Counter({
    name: 'presenced_xcap_requests_total',
    help: 'XCAP requests by application usage, method and HTTP status',
    labelNames: ['usage', 'method', 'code'] as const,
    registers: [this.registry],
  });
  readonly storeCommit = new Histogram({
    name: 'presenced_store_commit_seconds',
    help: 'LMDB write transaction latency until durable (group commit)',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'presenced_' });
    this.defineScrapeTimeMetrics();
  }

  /** Register the live objects whose state is read at scrape time. */
  attach(sources: MetricSources): void {
    Object.assign(this.sources, sources);
  }

  observeRequest(method: string, event: string | undefined, code: number, seconds: number): void {
    const m = boundedMethod(method);
    this.sipRequests.inc({ method: m, event: boundedEvent(event), code: String(code) });
    this.sipRequestDuration.observe({ method: m }, seconds);
  }

  /** Add the counters one task recorded inside a worker thread. */
  addWorkerMetrics(w: { core?: CoreMetrics; targetCacheHits: number; targetCacheMisses: number }): void {
    if (w.targetCacheHits > 0) this.targetCache.inc({ result: 'hit' }, w.targetCacheHits);
    if (w.targetCacheMisses > 0) this.targetCache.inc({ result: 'miss' }, w.targetCacheMisses);
    const c = w.core;
    if (!c) return;
    if (c.rendered > 0) this.bodiesRendered.inc(c.rendered);
    if (c.retries > 0) this.notifyRetries.inc(c.retries);
    if (c.giveups > 0) this.notifyGiveups.inc(c.giveups);
    if (c.rejectedByWatcher > 0) this.rejectedByWatcher.inc(c.rejectedByWatcher);
    if (c.expiredPublications > 0) this.expired.inc({ kind: 'publication' }, c.expiredPublications);
    if (c.expiredSubscriptions > 0) this.expired.inc({ kind: 'subscription' }, c.expiredSubscriptions);
    for (const [event, d] of Object.entries(c.publications)) this.publications.inc({ event: boundedEvent(event) }, d);
    for (const [key, d] of Object.entries(c.subscriptions)) {
      const [event, state] = key.split(' ');
      this.subscriptions.inc({ event: boundedEvent(event), state: state === 'pending' ? 'pending' : 'active' }, d);
    }
    for (const [before, after] of c.watcherCounts) {
      const b = watcherRange(before);
      const a = watcherRange(after);
      if (b === a) continue;
      if (b >= 0) this.presentitiesByWatchers.dec({ watchers: WATCHER_RANGE_LABELS[b] as string });
      if (a >= 0) this.presentitiesByWatchers.inc({ watchers: WATCHER_RANGE_LABELS[a] as string });
    }
  }

  /** Starting values of the state gauges (taken before any traffic). */
  setCensus(c: Census): void {
    this.publications.reset();
    this.subscriptions.reset();
    for (const [event, n] of Object.entries(c.publications)) this.publications.set({ event: boundedEvent(event) }, n);
    for (const [key, n] of Object.entries(c.subscriptions)) {
      const [event, state] = key.split(' ');
      this.subscriptions.set({ event: boundedEvent(event), state: state === 'pending' ? 'pending' : 'active' }, n);
    }
    WATCHER_RANGE_LABELS.forEach((label, i) => this.presentitiesByWatchers.set({ watchers: label }, c.watcherRanges[i] ?? 0));
  }

  observeTask(kind: string, waitMs: number | undefined, computeMs: number | undefined, commitMs: number | undefined): void {
    if (waitMs !== undefined) this.taskWait.observe({ kind }, waitMs / 1000);
    if (computeMs !== undefined) this.taskCompute.observe({ kind }, computeMs / 1000);
    if (commitMs !== undefined && commitMs > 0) this.storeCommit.observe(commitMs / 1000);
  }

  observeXcap(auid: string, method: string, status: number): void {
    this.xcapRequests.inc({ usage: XCAP_USAGES.has(auid) ? auid : 'other', method: boundedXcapMethod(method), code: String(status) });
  }

  observeNotifySent(mode: string, event: string, publishedAt: number | undefined): void {
    this.notifiesSent.inc({ mode, event: boundedEvent(event) });
    if (publishedAt !== undefined) this.publishToNotify.observe({ mode }, Math.max(0, performance.now() - publishedAt) / 1000);
  }

  observeNotifyResponse(mode: string, status: number): void {
    this.notifyResponses.inc({ mode, code: String(status) });
  }

  /** Prometheus text exposition. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Gauges and counters whose values live in other objects, read when scraped. */
  private defineScrapeTimeMetrics(): void {
    const self = this;
    const r = [this.registry];
    new Gauge({
      name: 'presenced_pool_threads',
      help: 'Worker threads of the pool',
      registers: r,
      collect() {
        const p = self.sources.pool?.();
        if (p) this.set(p.threads);
      },
    });
    new Gauge({
      name: 'presenced_pool_utilization_ratio',
      help: 'Share of the pool capacity used by tasks (piscina utilization)',
      registers: r,
      collect() {
        const p = self.sources.pool?.();
        if (p) this.set(p.utilization);
      },
    });
    new Gauge({
      name: 'presenced_pool_queue_depth',
      help: 'Tasks queued or running (refused with 503 beyond pool.maxPending)',
      registers: r,
      collect() {
        const p = self.sources.pool?.();
        if (p) this.set(p.pending);
      },
    });
    new Gauge({
      name: 'presenced_pool_max_pending',
      help: 'Configured bound of queued+running tasks (pool.maxPending): 503 beyond it',
      registers: r,
      collect() {
        const p = self.sources.pool?.();
        if (p) this.set(p.maxPending);
      },
    });
    new Gauge({
      name: 'presenced_data_dir_free_bytes',
      help: 'Free bytes of the filesystem holding the data directory (LMDB grows its map into it)',
      registers: r,
      collect() {
        const d = self.sources.disk?.();
        if (d) this.set(d.freeBytes);
      },
    });
    new Gauge({
      name: 'presenced_data_dir_size_bytes',
      help: 'Size of the filesystem holding the data directory',
      registers: r,
      collect() {
        const d = self.sources.disk?.();
        if (d) this.set(d.totalBytes);
      },
    });
    new Counter({
      name: 'presenced_notifies_dropped_total',
      help: 'NOTIFYs dropped without sending: overflow of partial ones beyond the queue bound, or queued after the dialog ended',
      labelNames: ['mode', 'reason'] as const,
      registers: r,
      collect() {
        const d = self.sources.delivery?.();
        if (!d) return;
        self.syncCounter(this, 'dropOverflow', { mode: d.mode, reason: 'overflow' }, d.droppedOverflow);
        self.syncCounter(this, 'dropTerminal', { mode: d.mode, reason: 'after_terminal' }, d.afterTerminal);
      },
    });
    new Counter({
      name: 'presenced_notify_transport_events_total',
      help: 'NOTIFY transport events: UDP retransmissions, Timer F timeouts, link downs, local errors, connect and keepalive failures',
      labelNames: ['mode', 'event'] as const,
      registers: r,
      collect() {
        const t = self.sources.transport?.();
        if (!t) return;
        for (const [event, n] of Object.entries(t.events)) self.syncCounter(this, `tr:${event}`, { mode: t.mode, event }, n);
      },
    });
    new Counter({
      name: 'presenced_kamailio_after_reply_notify_events_total',
      help: 'NOTIFYs Kamailio sent right after a SUBSCRIBE 2xx: outcome never reported (timeout), reports for unknown NOTIFYs, replies Kamailio had already answered itself, in-dialog NOTIFYs queued behind an earlier one instead',
      labelNames: ['event'] as const,
      registers: r,
      collect() {
        const f = self.sources.front?.();
        if (!f) return;
        self.syncCounter(this, 'ext:timeout', { event: 'result_timeout' }, f.externalTimeouts);
        self.syncCounter(this, 'ext:unknown', { event: 'unknown_result' }, f.unknownResults);
        self.syncCounter(this, 'ext:undelivered', { event: 'reply_undelivered' }, f.undeliveredReplies);
        self.syncCounter(this, 'ext:behind', { event: 'queued_behind' }, f.queuedBehind);
      },
    });
    new Counter({
      name: 'presenced_pool_refused_total',
      help: 'Requests refused with 503 because the queue was full',
      registers: r,
      collect() {
        const p = self.sources.pool?.();
        if (p) self.syncCounter(this, 'refused', {}, p.refused);
      },
    });
    new Counter({
      name: 'presenced_pool_timeouts_total',
      help: 'Requests answered 503 because their task did not finish in time',
      registers: r,
      collect() {
        const p = self.sources.pool?.();
        if (p) self.syncCounter(this, 'timeouts', {}, p.timedOut);
      },
    });
    new Gauge({
      name: 'presenced_lmdb_map_used_bytes',
      help: 'Bytes of the LMDB map in use',
      registers: r,
      collect() {
        const s = self.sources.store?.();
        if (s) this.set(s.usedBytes);
      },
    });
    new Gauge({
      name: 'presenced_lmdb_map_size_bytes',
      help: 'Current LMDB map size (grows on demand)',
      registers: r,
      collect() {
        const s = self.sources.store?.();
        if (s) this.set(s.mapSize);
      },
    });
    new Gauge({
      name: 'presenced_lmdb_entries',
      help: 'Entries per LMDB table',
      labelNames: ['table'] as const,
      registers: r,
      collect() {
        const s = self.sources.store?.();
        if (s) for (const [table, n] of Object.entries(s.entries)) this.set({ table }, n);
      },
    });
    new Gauge({
      name: 'presenced_notify_queue_depth',
      help: 'NOTIFYs waiting to be sent (bounded by the number of dialogs thanks to coalescing)',
      labelNames: ['mode'] as const,
      registers: r,
      collect() {
        const d = self.sources.delivery?.();
        if (d) this.set({ mode: d.mode }, d.queued);
      },
    });
    new Gauge({
      name: 'presenced_notify_in_flight',
      help: 'NOTIFY transactions waiting for their final response',
      labelNames: ['mode'] as const,
      registers: r,
      collect() {
        const d = self.sources.delivery?.();
        if (d) this.set({ mode: d.mode }, d.inFlight);
      },
    });
    new Counter({
      name: 'presenced_notifies_superseded_total',
      help: 'Queued full-state NOTIFYs skipped because a newer one of the same dialog replaced them',
      labelNames: ['mode'] as const,
      registers: r,
      collect() {
        const d = self.sources.delivery?.();
        if (d) self.syncCounter(this, 'superseded', { mode: d.mode }, d.superseded);
      },
    });
    new Counter({
      name: 'presenced_notify_link_failures_total',
      help: 'NOTIFYs that could not be handed to Kamailio (kept queued and retried)',
      labelNames: ['mode'] as const,
      registers: r,
      collect() {
        const d = self.sources.delivery?.();
        if (d) self.syncCounter(this, 'linkFailures', { mode: d.mode }, d.linkFailures);
      },
    });
    new Gauge({
      name: 'presenced_kamailio_link_up',
      help: '1 when the NOTIFY path to Kamailio answers (OPTIONS keepalive / RPC probe), else 0',
      labelNames: ['mode'] as const,
      registers: r,
      collect() {
        const d = self.sources.delivery?.();
        if (d) this.set({ mode: d.mode }, d.linkUp ? 1 : 0);
      },
    });
    new Gauge({
      name: 'presenced_kamailio_rpc_connections',
      help: 'Open JSON-RPC connections from Kamailio (janssonrpcc)',
      registers: r,
      collect() {
        const s = self.sources.rpcServer?.();
        if (s) this.set(s.connections);
      },
    });
    new Counter({
      name: 'presenced_kamailio_rpc_requests_total',
      help: 'JSON-RPC requests received from Kamailio',
      registers: r,
      collect() {
        const s = self.sources.rpcServer?.();
        if (s) self.syncCounter(this, 'rpcRequests', {}, s.requests);
      },
    });
    new Counter({
      name: 'presenced_kamailio_rpc_errors_total',
      help: 'JSON-RPC answers that were errors, by kind',
      labelNames: ['kind'] as const,
      registers: r,
      collect() {
        const s = self.sources.rpcServer?.();
        if (!s) return;
        self.syncCounter(this, 'rpcErr:error', { kind: 'error' }, s.errors);
        self.syncCounter(this, 'rpcErr:busy', { kind: 'busy' }, s.busy);
        self.syncCounter(this, 'rpcErr:timeout', { kind: 'timeout' }, s.timeouts);
        self.syncCounter(this, 'rpcErr:oversize', { kind: 'oversize' }, s.oversize);
        self.syncCounter(this, 'rpcErr:framing', { kind: 'framing' }, s.framingErrors);
      },
    });
    new Gauge({
      name: 'presenced_kamailio_notifies_after_reply_pending',
      help: 'NOTIFYs sent by Kamailio right after a SUBSCRIBE 2xx whose final response is not known yet',
      registers: r,
      collect() {
        const f = self.sources.front?.();
        if (f) this.set(f.external);
      },
    });
  }

  /** Advance a counter to a cumulative value kept elsewhere (never decreases). */
  private syncCounter(counter: Counter<string>, key: string, labels: Labels, current: number): void {
    const k = `${key}|${JSON.stringify(labels)}`;
    const last = this.lastCounter.get(k) ?? 0;
    if (current > last) counter.inc(labels, current - last);
    this.lastCounter.set(k, Math.max(last, current));
  }
}

const METHODS = new Set(['PUBLISH', 'SUBSCRIBE', 'NOTIFY', 'OPTIONS']);
const XCAP_USAGES = new Set([
  'pres-rules',
  'org.openmobilealliance.pres-rules',
  'resource-lists',
  'rls-services',
  'pidf-manipulation',
  'xcap-caps',
  'org.openmobilealliance.xcap-directory',
]);

function boundedXcapMethod(m: string): string {
  return m === 'GET' || m === 'PUT' || m === 'DELETE' ? m : 'other';
}
const EVENTS = new Set(['presence', 'presence.winfo', 'dialog', 'message-summary', 'xcap-diff']);

function boundedMethod(m: string): string {
  const u = m.toUpperCase();
  return METHODS.has(u) ? u : 'other';
}

/** Event package label: known packages by name, everything else 'other' (bounded cardinality). */
export function boundedEvent(event: string | undefined): string {
  if (event === undefined) return 'none';
  const pkg = event.split(';')[0]?.trim() ?? '';
  return EVENTS.has(pkg) ? pkg : 'other';
}
