/**
 * NOTIFY delivery through a transport (SIP relay or JSON-RPC), with the
 * guarantees a BLF lamp needs:
 *
 * - **Order per dialog**: at most one NOTIFY of a dialog is in flight; the
 *   next leaves only after the previous one's final response, so NOTIFYs
 *   reach the watcher in state order with growing CSeq (RFC 6665 §4.2.2).
 * - **Coalescing**: a queued full-state NOTIFY that a newer one of the same
 *   dialog supersedes is skipped (the watcher gets the newest state, not a
 *   backlog of stale ones); partial-state NOTIFYs (watcherinfo partials) are
 *   never skipped. So the queue is bounded by the number of dialogs, not by
 *   the event rate.
 * - **Kamailio down or restarting**: a send that could not be handed to
 *   Kamailio is kept at the head of its dialog's queue and retried when the
 *   link is back (with capped exponential backoff); it is not reported as a
 *   watcher failure, so subscriptions survive a proxy restart.
 * - **Outcomes**: final responses go back to the Presence Server (481 ends
 *   the subscription, 408/5xx are retried there). A 2xx is reported only for
 *   a subscription that had a failure reported, so the common case costs
 *   the pool nothing.
 */
import type { Notify, NotifyOutcome } from '../../../core/contract.js';
import type { LinkState, NotifyTransport } from './notify-transport.js';

export interface OutcomeSink {
  notifyOutcome(outcome: NotifyOutcome): void;
}

export interface NotifyDeliveryOptions {
  /** NOTIFYs handed to the transport at once (all dialogs). */
  readonly maxInFlight: number;
  /** Queued NOTIFYs (all dialogs) beyond which the oldest partial ones are dropped. */
  readonly maxQueued: number;
  /** Backoff while the link to Kamailio is down, ms. */
  readonly linkRetry: { readonly initialMs: number; readonly maxMs: number };
}

export const DEFAULT_DELIVERY_OPTIONS: NotifyDeliveryOptions = {
  maxInFlight: 4096,
  maxQueued: 1_000_000,
  linkRetry: { initialMs: 200, maxMs: 5_000 },
};

export interface DeliveryStats {
  queued: number;
  inFlight: number;
  dialogs: number;
  sent: number;
  delivered: number;
  superseded: number;
  afterTerminal: number;
  linkFailures: number;
  droppedOverflow: number;
  responses: Record<string, number>;
}

interface DialogQueue {
  readonly pending: Notify[];
  inFlight: boolean;
  /** NOTIFYs of this dialog travelling another way (Kamailio's result route). */
  external: number;
  /** A terminal NOTIFY was queued: later ones are meaningless. */
  ended: boolean;
}

export class NotifyDelivery {
  private readonly dialogs = new Map<string, DialogQueue>();
  /** Dialogs whose head can be sent (insertion-ordered set = FIFO fairness). */
  private readonly ready = new Set<string>();
  /** Subscriptions with a failure reported to the core: their next 2xx must be reported too. */
  private readonly failing = new Set<string>();
  private inFlight = 0;
  private queued = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay: number;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  readonly stats: DeliveryStats = {
    queued: 0,
    inFlight: 0,
    dialogs: 0,
    sent: 0,
    delivered: 0,
    superseded: 0,
    afterTerminal: 0,
    linkFailures: 0,
    droppedOverflow: 0,
    responses: {},
  };
  /** Observer of every final response (metrics). */
  onResponse: ((notify: Notify, status: number) => void) | undefined;
  /** Observer of every NOTIFY handed to the transport; `publishedAt` when a PUBLISH caused it (metrics). */
  onSent: ((notify: Notify, publishedAt: number | undefined) => void) | undefined;
  /** When the PUBLISH that caused a NOTIFY arrived (performance.now()), for the latency metric. */
  private readonly origins = new WeakMap<Notify, number>();

  constructor(
    private readonly transport: NotifyTransport,
    private readonly sink: OutcomeSink,
    private readonly options: NotifyDeliveryOptions = DEFAULT_DELIVERY_OPTIONS,
  ) {
    this.retryDelay = options.linkRetry.initialMs;
    transport.onLinkChange = (state: LinkState) => {
      if (state === 'up') {
        this.retryDelay = this.options.linkRetry.initialMs;
        this.pump();
      }
    };
  }

  /**
   * Queue NOTIFYs (in the order given) and start sending. `publishedAt`
   * (performance.now() of the PUBLISH that caused them) feeds the
   * PUBLISH→NOTIFY latency metric.
   */
  deliver(notifies: readonly Notify[], publishedAt?: number): void {
    if (this.closed) return;
    for (const n of notifies) {
      if (publishedAt !== undefined) this.origins.set(n, publishedAt);
      this.enqueue(n);
    }
    this.pump();
  }

  private enqueue(n: Notify): void {
    let q = this.dialogs.get(n.subscriptionId);
    if (!q) {
      q = { pending: [], inFlight: false, external: 0, ended: false };
      this.dialogs.set(n.subscriptionId, q);
    }
    if (q.ended) {
      this.stats.afterTerminal++;
      return;
    }
    if (n.fullState || n.terminal) {
      // Everything still waiting is obsolete: this NOTIFY carries the whole state (or ends it).
      this.stats.superseded += q.pending.length;
      this.queued -= q.pending.length;
      q.pending.length = 0;
    }
    q.pending.push(n);
    this.queued++;
    if (n.terminal) q.ended = true;
    if (!q.inFlight && q.external === 0) this.ready.add(n.subscriptionId);
    if (this.queued > this.options.maxQueued) this.shed();
  }

  /** Over the bound (only possible with many partial NOTIFYs): drop the oldest waiting ones. */
  private shed(): void {
    for (const id of this.ready) {
      if (this.queued <= this.options.maxQueued) return;
      const q = this.dialogs.get(id);
      if (!q || q.pending.length <= 1) continue;
      const dropped = q.pending.splice(0, q.pending.length - 1);
      this.queued -= dropped.length;
      this.stats.droppedOverflow += dropped.length;
    }
  }

  private pump(): void {
    if (this.closed) return;
    if (this.transport.linkState === 'down') {
      this.scheduleRetry();
      return;
    }
    while (this.inFlight < this.options.maxInFlight && this.ready.size > 0) {
      const id = this.ready.values().next().value as string;
      this.ready.delete(id);
      const q = this.dialogs.get(id);
      const n = q?.pending.shift();
      if (!q || !n) continue;
      this.queued--;
      q.inFlight = true;
      this.inFlight++;
      this.stats.sent++;
      const origin = this.origins.get(n);
      if (origin !== undefined) this.origins.delete(n); // a resend after a link failure is not a new latency sample
      this.onSent?.(n, origin);
      void this.transport.send(n).then((r) => this.settle(id, q, n, r));
    }
    this.refreshGauges();
  }

  private settle(id: string, q: DialogQueue, n: Notify, r: Awaited<ReturnType<NotifyTransport['send']>>): void {
    this.inFlight--;
    q.inFlight = false;
    if (r.kind === 'link-failure') {
      this.stats.linkFailures++;
      // Not handed to Kamailio: it goes back to the head unless something newer already replaced it.
      const superseded = q.pending.some((p) => p.fullState || p.terminal);
      if (superseded && !n.terminal) this.stats.superseded++;
      else {
        q.pending.unshift(n);
        this.queued++;
      }
      if (q.pending.length > 0) this.ready.add(id);
      this.scheduleRetry();
      this.refreshGauges();
      return;
    }
    this.stats.delivered++;
    const cls = `${Math.floor(r.status / 100)}xx`;
    this.stats.responses[cls] = (this.stats.responses[cls] ?? 0) + 1;
    this.onResponse?.(n, r.status);
    this.report(n, r.status, r.retryAfter);
    this.afterSettle(id, q);
  }

  private afterSettle(id: string, q: DialogQueue): void {
    if (q.inFlight || q.external > 0) return;
    if (q.pending.length > 0) this.ready.add(id);
    else this.dialogs.delete(id);
    this.pump();
    if (this.inFlight === 0 && this.ready.size === 0) this.wakeIdle();
  }

  /**
   * True when nothing of this subscription is queued, in flight or sent
   * another way: only then may a NOTIFY of it leave by another path (the
   * result route) without overtaking an earlier one (RFC 6665 §4.1.3 —
   * a subscriber rejects a CSeq lower than one it has seen).
   */
  isIdle(subscriptionId: string): boolean {
    const q = this.dialogs.get(subscriptionId);
    return q === undefined || (!q.inFlight && q.external === 0 && q.pending.length === 0);
  }

  /**
   * A NOTIFY of this dialog is being sent another way (Kamailio's result
   * route sends the NOTIFY that must follow a SUBSCRIBE's 2xx): later
   * NOTIFYs of the dialog wait until `externalSettled`.
   */
  holdExternal(n: Notify): void {
    let q = this.dialogs.get(n.subscriptionId);
    if (!q) {
      q = { pending: [], inFlight: false, external: 0, ended: false };
      this.dialogs.set(n.subscriptionId, q);
    }
    q.external++;
    this.stats.sent++;
    this.onSent?.(n, undefined);
    if (n.terminal) q.ended = true;
    this.ready.delete(n.subscriptionId);
    this.refreshGauges();
  }

  /** The final response of an external NOTIFY (undefined: none arrived in time). */
  externalSettled(n: Notify, status: number | undefined): void {
    const q = this.dialogs.get(n.subscriptionId);
    if (q && q.external > 0) q.external--;
    if (status !== undefined) {
      this.stats.delivered++;
      const cls = `${Math.floor(status / 100)}xx`;
      this.stats.responses[cls] = (this.stats.responses[cls] ?? 0) + 1;
      this.onResponse?.(n, status);
      this.report(n, status, undefined);
    }
    if (q) this.afterSettle(n.subscriptionId, q);
  }

  private report(n: Notify, status: number, retryAfter: number | undefined): void {
    const ok = status >= 200 && status < 300;
    if (ok && !this.failing.has(n.subscriptionId)) return;
    if (ok) this.failing.delete(n.subscriptionId);
    else if (!n.terminal) this.failing.add(n.subscriptionId);
    const outcome: { -readonly [K in keyof NotifyOutcome]: NotifyOutcome[K] } = {
      subscriptionId: n.subscriptionId,
      resource: n.resource,
      event: n.event,
      cseq: n.cseq,
      status,
    };
    if (retryAfter !== undefined) outcome.retryAfter = retryAfter;
    this.sink.notifyOutcome(outcome);
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closed) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, this.options.linkRetry.maxMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, delay);
    this.retryTimer.unref?.();
  }

  private refreshGauges(): void {
    this.stats.queued = this.queued;
    this.stats.inFlight = this.inFlight;
    this.stats.dialogs = this.dialogs.size;
  }

  private wakeIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  get transportName(): string {
    return this.transport.name;
  }

  get linkUp(): boolean {
    return this.transport.linkState === 'up';
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.inFlight === 0 && this.queued === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stop sending; queued NOTIFYs are abandoned (the core re-sends state on refresh). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.transport.close();
    this.wakeIdle();
  }
}
