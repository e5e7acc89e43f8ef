/** Connects a running service and Kamailio front to the metrics registry. */
import { statfsSync } from 'node:fs';
import type { KamailioFront } from '../integrations/kamailio/kamailio-front.js';
import type { NotifyTransport } from '../integrations/kamailio/delivery/notify-transport.js';
import { RpcNotifyTransport } from '../integrations/kamailio/delivery/rpc-notify-transport.js';
import { SipNotifyTransport } from '../integrations/kamailio/delivery/sip-notify-transport.js';
import type { PresenceService } from '../workers/presence-service.js';
import type { PresenceMetrics, TransportEvent } from './presence-metrics.js';

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
      return {
        threads: s.pool.threads,
        utilization: s.pool.utilization,
        pending: s.dispatcher.pending,
        maxPending: service.options.pool.maxPending,
        running: s.dispatcher.running,
        refused: s.dispatcher.refused,
        timedOut: s.dispatcher.timedOut,
      };
    },
    store: () => service.storeStats(),
    disk: () => {
      try {
        const st = statfsSync(service.options.store.path);
        return { freeBytes: st.bavail * st.bsize, totalBytes: st.blocks * st.bsize };
      } catch {
        return undefined;
      }
    },
  });
  if (!front) return;
  const transport = front.delivery.transportName;
  metrics.attach({
    delivery: () => {
      const d = front.delivery.stats;
      return {
        mode: transport,
        queued: d.queued,
        inFlight: d.inFlight,
        superseded: d.superseded,
        linkFailures: d.linkFailures,
        linkUp: front.delivery.linkUp,
        droppedOverflow: d.droppedOverflow,
        afterTerminal: d.afterTerminal,
      };
    },
    transport: () => ({ mode: transport, events: transportEvents(front.transport) }),
    // `stats.connections` counts accepted connections; the gauge wants the open ones.
    rpcServer: () => ({ ...front.server.stats, connections: front.server.connectionCount }),
    front: () => front.stats,
  });
}

/** Cumulative transport events in one shape for both transports. */
function transportEvents(t: NotifyTransport): Record<TransportEvent, number> {
  const zero: Record<TransportEvent, number> = { retransmission: 0, timeout: 0, link_down: 0, local_error: 0, connect_failure: 0, probe_failure: 0 };
  if (t instanceof SipNotifyTransport) {
    const c = t.counters;
    return { retransmission: c.retransmissions, timeout: c.timeouts, link_down: c.linkDowns, local_error: c.localErrors, connect_failure: c.connectFailures, probe_failure: c.pingFailures };
  }
  if (t instanceof RpcNotifyTransport) {
    const c = t.counters;
    return { ...zero, local_error: c.localRejects, probe_failure: c.probeFailures, link_down: c.linkFailures };
  }
  return zero;
}
