/**
 * The Kamailio front: PUBLISH/SUBSCRIBE come in over janssonrpcc (JSON-RPC
 * server), NOTIFYs go out through Kamailio (SIP relay or tm.t_uac_wait) via
 * the delivery layer, and their final responses go back to the core.
 *
 * The NOTIFY that follows a SUBSCRIBE must reach the watcher after the 2xx
 * (RFC 6665 allows otherwise, strict phones drop the dialog). The JSON-RPC
 * result for such a request carries a `replied` token; the config's result
 * route sends the reply with t_reply() and then the notification
 * `presenced.replied {token}`; only then are the request's NOTIFYs released.
 * Causality proves the order: the notification is sent after the reply was
 * written to the wire, and the NOTIFY reaches Kamailio after the notification
 * reached presenced. If the notification never comes (an older config, a
 * lost connection) the NOTIFYs are released after `repliedTimeoutMs`.
 */
import type { HandleResult, Notify, NotifyOutcome, SipRequest } from '../../core/contract.js';
import { KamailioJsonRpcServer, type PresenceEngine, type RequestOutcome } from './jsonrpc-server.js';
import { NotifyDelivery, type NotifyDeliveryOptions, DEFAULT_DELIVERY_OPTIONS } from './delivery/notify-delivery.js';
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
  /** Longest wait for `presenced.replied` before a SUBSCRIBE's NOTIFYs are sent anyway. */
  readonly repliedTimeoutMs?: number;
  /** Most SUBSCRIBE results held at once waiting for `presenced.replied`. */
  readonly maxHeld?: number;
  readonly log?: (message: string) => void;
}

interface Held {
  readonly notifies: readonly Notify[];
  readonly timer: NodeJS.Timeout;
}

export interface FrontStats {
  held: number;
  repliedOnTime: number;
  repliedFallback: number;
  repliedUnknown: number;
  undeliveredReplies: number;
}

export class KamailioFront {
  readonly server: KamailioJsonRpcServer;
  readonly delivery: NotifyDelivery;
  readonly stats: FrontStats = { held: 0, repliedOnTime: 0, repliedFallback: 0, repliedUnknown: 0, undeliveredReplies: 0 };
  private readonly held = new Map<string, Held>();
  /** Token given to a result in `extras`, looked up again in `onResult` (same result object). */
  private readonly tokens = new WeakMap<HandleResult, string>();
  private nextToken = 0;
  private readonly repliedTimeoutMs: number;
  private readonly maxHeld: number;
  private port = 0;

  constructor(private readonly options: KamailioFrontOptions) {
    this.repliedTimeoutMs = options.repliedTimeoutMs ?? 2_000;
    this.maxHeld = options.maxHeld ?? 100_000;
    const engine = options.engine;
    this.delivery = new NotifyDelivery(options.transport, engine, options.delivery ?? DEFAULT_DELIVERY_OPTIONS);
    engine.onNotifies = (ns) => this.delivery.deliver(ns);
    this.server = new KamailioJsonRpcServer({
      engine,
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

  /** A SUBSCRIBE accepted with NOTIFYs to send gets a token; everything else is sent at once. */
  private extras(request: SipRequest, result: HandleResult): Record<string, string> | undefined {
    if (!mustFollowReply(request, result)) return undefined;
    if (this.held.size >= this.maxHeld) return undefined; // degrade to immediate sending
    this.nextToken = (this.nextToken + 1) % Number.MAX_SAFE_INTEGER;
    const token = `r${this.nextToken.toString(36)}`;
    this.tokens.set(result, token);
    return { replied: token };
  }

  private onResult(outcome: RequestOutcome): void {
    const { result, delivered } = outcome;
    const token = this.tokens.get(result);
    this.tokens.delete(result);
    if (!delivered) {
      // Kamailio has already answered 503 on its own: do not notify a watcher that saw a failure.
      this.stats.undeliveredReplies++;
      return;
    }
    const notifies = result.notifies;
    if (notifies.length === 0) return;
    if (token === undefined) {
      this.delivery.deliver(notifies);
      return;
    }
    const timer = setTimeout(() => {
      if (this.release(token)) this.stats.repliedFallback++;
    }, this.repliedTimeoutMs);
    timer.unref?.();
    this.held.set(token, { notifies, timer });
    this.stats.held = this.held.size;
  }

  private onNotification(method: string, params: unknown): void {
    if (method !== 'presenced.replied') return;
    const token = typeof params === 'object' && params !== null ? (params as { token?: unknown }).token : undefined;
    if (typeof token !== 'string') return;
    if (this.release(token)) this.stats.repliedOnTime++;
    else this.stats.repliedUnknown++;
  }

  private release(token: string): boolean {
    const h = this.held.get(token);
    if (!h) return false;
    this.held.delete(token);
    clearTimeout(h.timer);
    this.stats.held = this.held.size;
    this.delivery.deliver(h.notifies);
    return true;
  }

  get rpcPort(): number {
    return this.port;
  }

  async close(): Promise<void> {
    await this.server.close();
    for (const token of [...this.held.keys()]) this.release(token);
    await this.delivery.close();
  }
}

/** NOTIFYs of an accepted SUBSCRIBE must follow its 2xx on the wire. */
function mustFollowReply(request: SipRequest, result: HandleResult): boolean {
  const status = result.reply?.status ?? 0;
  return request.method.toUpperCase() === 'SUBSCRIBE' && status >= 200 && status < 300 && notifyCount(result) > 0;
}

function notifyCount(result: HandleResult): number {
  const n = (result as HandleResult & { notifyCount?: number }).notifyCount;
  return n ?? result.notifies.length;
}
