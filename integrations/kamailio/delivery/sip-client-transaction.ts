/**
 * RFC 3261 §17.1.2 non-INVITE client transaction, and the table that
 * matches responses to transactions (§17.1.3).
 *
 * ```
 *            start: transmit, Timer E = T1 (unreliable only), Timer F = 64·T1
 *   Trying ──1xx──► Proceeding
 *     │ Timer E: retransmit, E = min(2E, T2)     Timer E: retransmit, E = T2
 *     │ 200-699 ──► Completed (inform TU)  ◄──── 200-699
 *     │ Timer F / transport error ──► Terminated (inform TU)
 *   Completed: absorb retransmitted responses; Timer K = T4 (unreliable) or 0 (reliable) ──► Terminated
 * ```
 *
 * Timers use the global setTimeout/clearTimeout (so vitest fake timers drive
 * them). The transaction never touches sockets: it hands bytes to `transmit`.
 */
import type { SipResponse } from './sip-message.js';

export interface SipTimers {
  /** RTT estimate, default 500 ms (§17.1.1.1). */
  readonly t1Ms: number;
  /** Maximum retransmit interval for non-INVITE requests, default 4 s. */
  readonly t2Ms: number;
  /** Maximum duration a message remains in the network, default 5 s. */
  readonly t4Ms: number;
}

export const DEFAULT_SIP_TIMERS: SipTimers = { t1Ms: 500, t2Ms: 4000, t4Ms: 5000 };

/** Validates and completes partial timer settings. */
export function resolveTimers(t: Partial<SipTimers> | undefined): SipTimers {
  const out = { ...DEFAULT_SIP_TIMERS, ...(t ?? {}) };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isFinite(v) || v <= 0 || v > 600_000) throw new RangeError(`SIP timer ${k} must be in (0, 600000] ms, got ${v}`);
  }
  if (out.t2Ms < out.t1Ms) throw new RangeError('SIP timer T2 must be >= T1');
  return out;
}

export type ClientTransactionState = 'trying' | 'proceeding' | 'completed' | 'terminated';

export interface ClientTransactionUser {
  /** Send (or resend) the request bytes. `retransmission` is false for the first send. */
  transmit(request: Buffer, retransmission: boolean): void;
  /** A 1xx (first and later ones); never ends the transaction. */
  onProvisional?(response: SipResponse): void;
  /** The final response: called exactly once, unless `onTimeout`/`onTransportError` was. */
  onFinal(response: SipResponse): void;
  /** Timer F fired without a final response. */
  onTimeout(): void;
  /** The transport reported the request cannot be delivered (§17.1.4). */
  onTransportError(detail: string): void;
  /** The transaction reached Terminated (after any of the above; for table cleanup). */
  onTerminated?(): void;
}

export interface NonInviteClientTransactionOptions {
  readonly branch: string;
  /** Request method (CSeq method of matching responses). */
  readonly method: string;
  readonly request: Buffer;
  /** Reliable transport (TCP): no retransmissions, Timer K = 0. */
  readonly reliable: boolean;
  readonly timers: SipTimers;
  readonly user: ClientTransactionUser;
}

export class NonInviteClientTransaction {
  readonly branch: string;
  readonly method: string;
  private request: Buffer | null;
  private readonly reliable: boolean;
  private readonly timers: SipTimers;
  private readonly user: ClientTransactionUser;
  private _state: ClientTransactionState | 'initial' = 'initial';
  private timerE: ReturnType<typeof setTimeout> | undefined;
  private timerF: ReturnType<typeof setTimeout> | undefined;
  private timerK: ReturnType<typeof setTimeout> | undefined;
  /** Current Timer E interval. */
  private intervalE: number;
  private _retransmissions = 0;

  constructor(o: NonInviteClientTransactionOptions) {
    this.branch = o.branch;
    this.method = o.method;
    this.request = o.request;
    this.reliable = o.reliable;
    this.timers = o.timers;
    this.user = o.user;
    this.intervalE = o.timers.t1Ms;
  }

  get state(): ClientTransactionState {
    return this._state === 'initial' ? 'trying' : this._state;
  }

  get retransmissions(): number {
    return this._retransmissions;
  }

  /** True until a final response, timeout, transport error or abort. */
  get pending(): boolean {
    return this._state === 'initial' || this._state === 'trying' || this._state === 'proceeding';
  }

  /** Enter Trying: transmit and arm Timers E (unreliable) and F. */
  start(): void {
    if (this._state !== 'initial') return;
    this._state = 'trying';
    if (!this.reliable) this.armE();
    this.timerF = setTimeout(() => this.fireF(), 64 * this.timers.t1Ms);
    // transmit last: a synchronous transport error terminates us cleanly
    this.user.transmit(this.request as Buffer, false);
  }

  /**
   * A response whose top-Via branch equals ours (the table matched it).
   * Returns false when the CSeq method does not match (not ours, §17.1.3).
   */
  receive(r: SipResponse): boolean {
    if (r.branch !== this.branch || r.method !== this.method) return false;
    switch (this._state) {
      case 'trying':
      case 'proceeding':
        if (r.status < 200) {
          this._state = 'proceeding';
          this.user.onProvisional?.(r);
          return true;
        }
        this.enterCompleted();
        this.user.onFinal(r);
        return true;
      default:
        // Completed: retransmitted final (or late 1xx) absorbed. Terminated/initial: ignored.
        return true;
    }
  }

  /** §17.1.4: the transport could not send; the TU is informed, the transaction ends. */
  transportError(detail: string): void {
    if (!this.pending || this._state === 'initial') return;
    this.terminate();
    this.user.onTransportError(detail);
    this.user.onTerminated?.();
  }

  /** Ends the transaction without telling the TU anything (shutdown, abandoned probe). */
  abort(): void {
    if (this._state === 'terminated') return;
    this.terminate();
    this.user.onTerminated?.();
  }

  private armE(): void {
    this.timerE = setTimeout(() => this.fireE(), this.intervalE);
  }

  private fireE(): void {
    this.timerE = undefined;
    if (this._state !== 'trying' && this._state !== 'proceeding') return;
    this._retransmissions++;
    this.intervalE = this._state === 'proceeding' ? this.timers.t2Ms : Math.min(2 * this.intervalE, this.timers.t2Ms);
    this.armE();
    this.user.transmit(this.request as Buffer, true);
  }

  private fireF(): void {
    this.timerF = undefined;
    if (this._state !== 'trying' && this._state !== 'proceeding') return;
    this.terminate();
    this.user.onTimeout();
    this.user.onTerminated?.();
  }

  private enterCompleted(): void {
    this._state = 'completed';
    this.clear();
    this.request = null; // nothing to retransmit any more: release the bytes
    if (this.reliable) {
      // Timer K = 0: terminate right after the TU has been told (same tick, after onFinal)
      queueMicrotask(() => this.fireK());
    } else {
      this.timerK = setTimeout(() => this.fireK(), this.timers.t4Ms);
    }
  }

  private fireK(): void {
    this.timerK = undefined;
    if (this._state !== 'completed') return;
    this._state = 'terminated';
    this.user.onTerminated?.();
  }

  private terminate(): void {
    this._state = 'terminated';
    this.clear();
    this.request = null;
  }

  private clear(): void {
    if (this.timerE !== undefined) clearTimeout(this.timerE);
    if (this.timerF !== undefined) clearTimeout(this.timerF);
    if (this.timerK !== undefined) clearTimeout(this.timerK);
    this.timerE = this.timerF = this.timerK = undefined;
  }
}

/**
 * Client transactions by branch (§17.1.3: a response matches when the top
 * Via branch and the CSeq method equal those of the request). Entries remove
 * themselves when they terminate (create them with `table.create`).
 */
export class ClientTransactionTable {
  private readonly byBranch = new Map<string, NonInviteClientTransaction>();

  get size(): number {
    return this.byBranch.size;
  }

  create(o: Omit<NonInviteClientTransactionOptions, 'user'> & { readonly user: ClientTransactionUser }): NonInviteClientTransaction {
    if (this.byBranch.has(o.branch)) throw new Error('duplicate branch');
    const user = o.user;
    const tx = new NonInviteClientTransaction({
      ...o,
      user: {
        transmit: (b, r) => user.transmit(b, r),
        onProvisional: (r) => user.onProvisional?.(r),
        onFinal: (r) => user.onFinal(r),
        onTimeout: () => user.onTimeout(),
        onTransportError: (d) => user.onTransportError(d),
        onTerminated: () => {
          if (this.byBranch.get(o.branch) === tx) this.byBranch.delete(o.branch);
          user.onTerminated?.();
        },
      },
    });
    this.byBranch.set(o.branch, tx);
    return tx;
  }

  get(branch: string): NonInviteClientTransaction | undefined {
    return this.byBranch.get(branch);
  }

  /** Hands a response to its transaction; false when none matches (stray response). */
  dispatch(r: SipResponse): boolean {
    const tx = this.byBranch.get(r.branch);
    return tx !== undefined && tx.receive(r);
  }

  /** Pending transactions (Trying/Proceeding), for transport errors. */
  pending(): NonInviteClientTransaction[] {
    const out: NonInviteClientTransaction[] = [];
    for (const tx of this.byBranch.values()) if (tx.pending) out.push(tx);
    return out;
  }

  /** Aborts everything (shutdown). */
  abortAll(): void {
    for (const tx of [...this.byBranch.values()]) tx.abort();
    this.byBranch.clear();
  }
}
