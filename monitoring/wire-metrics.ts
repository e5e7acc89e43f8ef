/** Connects a running service and Kamailio front to the metrics registry. */
import type { KamailioFront } from '../integrations/kamailio/kamailio-front.js';
import type { PresenceService } from '../workers/presence-service.js';
import type { PresenceMetrics } from './presence-metrics.js';

export function wireMetrics(metrics: PresenceMetrics, service: PresenceService, front?: KamailioFront): void {
  if (service.census) metrics.setCensus(service.census);
  service.onTaskResult = (r, task) => {
    if (r.timing) metrics.observeTask(task.kind, undefined, r.timing.computeMs, r.timing.commitMs);
    if (r.ok && r.value.metrics) metrics.addWorkerMetrics(r.value.metrics);
  };
  service.onTaskWait = (ms, task) => metrics.observeTask(task.kind, ms, undefined, undefined);
  metrics.attach({
    pool: () => {
      const s = service.stats();
      return { threads: s.pool.threads, utilization: s.pool.utilization, pending: s.dispatcher.pending, running: s.dispatcher.running, refused: s.dispatcher.refused, timedOut: s.dispatcher.timedOut };
    },
    store: () => service.storeStats(),
  });
  if (!front) return;
  const transport = front.delivery.transportName;
  metrics.attach({
    delivery: () => {
      const d = front.delivery.stats;
      return { mode: transport, queued: d.queued, inFlight: d.inFlight, superseded: d.superseded, linkFailures: d.linkFailures, linkUp: front.delivery.linkUp };
    },
    rpcServer: () => front.server.stats,
    front: () => front.stats,
  });
}
