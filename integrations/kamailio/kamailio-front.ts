/**
 * The Kamailio front: PUBLISH/SUBSCRIBE come in over janssonrpcc (JSON-RPC
 * server), NOTIFYs go out through Kamailio (SIP relay or tm.t_uac_wait) via
 * the delivery layer, and their final responses go back to the core.
 *
 * The NOTIFY that follows a SUBSCRIBE must reach the watcher after the 2xx
 * (RFC 6665 allows otherwise; strict phones drop the dialog, and on loopback
 * up to half of new subscriptions saw the NOTIFY first). That NOTIFY travels
 * in the JSON-RPC result; the config's result route calls t_reply() and then
 * t_uac_send() for it, in the same process, so the 2xx is written first.
 * Kamailio reports the watcher's final response with the notification
 * `presenced.notify-result {callId, cseq, code}` from its reply_route; until
 * then the delivery layer holds that dialog's later NOTIFYs, so they cannot
 * overtake it. Kamailio reports nothing when its own transaction times out,
 * so after `externalTimeoutMs` the NOTIFY counts as a 408 (retried by the core).
 */
import type { HandleResult, Notify, NotifyOutcome, SipRequest } from '../../core/contract.js';
import { parseDialogHeaders } from '../../core/sip/notify-headers.js';
import { KamailioJsonRpcServer, type PresenceEngine, type RequestOutcome } from './jsonrpc-server.js';
import { NotifyDelivery, type NotifyDeliveryOptions, DEFAULT_DELIVERY_OPTIONS } from './delivery/notify-delivery.js';
import { subscriberNotify, tUacSendParams } from './initial-notify.js';
import type { PresenceMetrics } from '../../monitoring/presence-metrics.js';
import type { NotifyTransport } from './delivery/notify-transport.js';

export interface FrontEngine extends PresenceEngine {
  notifyOutcome(outcome: NotifyOutcome): void;
  onNotifies: (notifies: readonly Notify[]) => void;
}

export interface KamailioFrontOptions {
  readonly engine: FrontEngine;
  readonly transport: NotifyTransport;
  readonly rpc: { readonly host: string; readonly port: number };
  readonly delivery?: NotifyDeliveryOptions;
  /**
   * Longest wait for Kamailio's report of the final response to a NOTIFY it
   * sent for us. Kamailio reports nothing when its own transaction times out
   * (the watcher never answered), so after this the NOTIFY counts as a 408
   * and is retried like any other. Keep it a little above Kamailio's tm
   * `fr_timer` (5 s in the example config). Default 8000 ms.
   */
  readonly externalTimeoutMs?: number;
  /** Prometheus metrics (requests, NOTIFYs, latency). */
  readonly metrics?: PresenceMetrics;
  readonly log?: (message: string) => void;
}

interface External {
  readonly notify: Notify;
  readonly timer: NodeJS.Timeout;
}

export interface FrontStats {
  /** NOTIFYs sent by Kamailio after a SUBSCRIBE's 2xx, awaiting their final response. */
  external: number;
  externalResults: number;
  externalTimeouts: number;
  unknownResults: number;
  undeliveredReplies: number;
  /** SUBSCRIBE-triggered NOTIFYs queued behind an earlier NOTIFY of their dialog instead of sent by the result route. */
  queuedBehind: number;
}

export class KamailioFront {
  readonly server: KamailioJsonRpcServer;
  readonly delivery: NotifyDelivery;
  readonly transport: NotifyTransport;
  readonly stats: FrontStats = { external: 0, externalResults: 0, externalTimeouts: 0, unknownResults: 0, undeliveredReplies: 0, queuedBehind: 0 };
  /** NOTIFY handed to Kamailio inside a result, per result object. */
  private readonly handedOver = new WeakMap<HandleResult, Notify>();
  /** By `callId CSeq`: NOTIFYs Kamailio sent for us, awaiting `presenced.notify-result`. */
  private readonly external = new Map<string, External>();
  private readonly externalTimeoutMs: number;
  /** When each request reached presenced (performance.now()). */
  private readonly arrivals = new WeakMap<SipRequest, number>();
  private port = 0;

  constructor(private readonly options: KamailioFrontOptions) {
    this.externalTimeoutMs = options.externalTimeoutMs ?? 8_000;
    this.transport = options.transport;
    const engine = options.engine;
    this.delivery = new NotifyDelivery(options.transport, engine, options.delivery ?? DEFAULT_DELIVERY_OPTIONS);
    engine.onNotifies = (ns) => this.delivery.deliver(ns);
    const metrics = options.metrics;
    const mode = options.transport.name;
    if (metrics) {
      this.delivery.onSent = (n, publishedAt) => metrics.observeNotifySent(mode, n.event, publishedAt);
      this.delivery.onResponse = (_n, status) => metrics.observeNotifyResponse(mode, status);
    }
    const timed = {
      handle: async (req: SipRequest): Promise<HandleResult> => {
        const t0 = performance.now();
        this.arrivals.set(req, t0);
        const r = await engine.handle(req);
        metrics?.observeRequest(req.method, req.event, r.reply?.status ?? 0, (performance.now() - t0) / 1000);
        return r;
      },
    };
    this.server = new KamailioJsonRpcServer({
      engine: timed,
      resultExtras: (request, result) => this.extras(request, result),
      onResult: (outcome) => this.onResult(outcome),
      onNotification: (method, params) => this.onNotification(method, params),
      ...(options.log ? { logger: { warn: options.log } } : {}),
    });
  }

  async start(): Promise<number> {
    await this.options.transport.start();
    this.port = await this.server.listen(this.options.rpc.port, this.options.rpc.host);
    return this.port;
  }

  /**
   * An accepted SUBSCRIBE: its own NOTIFY goes into the result for the config to send after t_reply(),
   * unless an earlier NOTIFY of the same dialog is still queued or on its way (a refresh or an
   * unsubscribe racing a PUBLISH's NOTIFY): then it queues behind that one like any other, since
   * the result route would send it at once and it could overtake the earlier NOTIFY (CSeq order
   * matters more than following the 2xx of an in-dialog SUBSCRIBE, whose dialog already exists).
   */
  private extras(request: SipRequest, result: HandleResult): Record<string, string> | undefined {
    const status = result.reply?.status ?? 0;
    if (request.method.toUpperCase() !== 'SUBSCRIBE' || status < 200 || status >= 300) return undefined;
    const own = subscriberNotify(result.notifies, request.callId);
    if (!own) return undefined;
    if (!this.delivery.isIdle(own.subscriptionId)) {
      this.stats.queuedBehind++;
      return undefined;
    }
    const params = tUacSendParams(own);
    if (!params) return undefined; // sent by presenced instead
    this.handedOver.set(result, own);
    return { ...params };
  }

  private onResult(outcome: RequestOutcome): void {
    const { result, delivered } = outcome;
    const own = this.handedOver.get(result);
    this.handedOver.delete(result);
    if (!delivered) {
      // Kamailio has already answered 503 on its own: do not notify a watcher that saw a failure.
      this.stats.undeliveredReplies++;
      return;
    }
    const notifies = result.notifies;
    if (own) {
      this.delivery.holdExternal(own);
      const key = externalKey(parseDialogHeaders(own.dialogHeaders).callId, own.cseq);
      const timer = setTimeout(() => {
        if (this.external.delete(key)) {
          this.stats.externalTimeouts++;
          this.stats.external = this.external.size;
          // No report: Kamailio's transaction timed out without a final response (RFC 3261 Timer F → 408).
          this.delivery.externalSettled(own, 408);
        }
      }, this.externalTimeoutMs);
      timer.unref?.();
      this.external.set(key, { notify: own, timer });
      this.stats.external = this.external.size;
    }
    const rest = own ? notifies.filter((n) => n !== own) : notifies;
    const publishedAt = outcome.request.method.toUpperCase() === 'PUBLISH' ? this.arrivals.get(outcome.request) : undefined;
    if (rest.length > 0) this.delivery.deliver(rest, publishedAt);
  }

  private onNotification(method: string, params: unknown): void {
    if (method !== 'presenced.notify-result' || typeof params !== 'object' || params === null) return;
    const p = params as { callId?: unknown; cseq?: unknown; code?: unknown };
    if (typeof p.callId !== 'string' || typeof p.cseq !== 'number' || typeof p.code !== 'number') return;
    const key = externalKey(p.callId, p.cseq);
    const e = this.external.get(key);
    if (!e) {
      this.stats.unknownResults++; // e.g. responses to NOTIFYs sent with tm.t_uac_wait in RPC mode
      return;
    }
    this.external.delete(key);
    clearTimeout(e.timer);
    this.stats.externalResults++;
    this.stats.external = this.external.size;
    this.delivery.externalSettled(e.notify, p.code);
  }

  get rpcPort(): number {
    return this.port;
  }

  async close(): Promise<void> {
    await this.server.close();
    for (const e of this.external.values()) clearTimeout(e.timer);
    this.external.clear();
    await this.delivery.close();
  }
}

function externalKey(callId: string, cseq: number): string {
  return `${callId}\n${cseq}`;
}
