/**
 * How a NOTIFY leaves presenced towards Kamailio. Two implementations:
 * `SipNotifyTransport` (plain SIP to Kamailio, which relays it statefully and
 * returns the far end's final response) and `RpcNotifyTransport` (Kamailio's
 * `tm.t_uac_wait` over jsonrpcs/xhttp). The delivery layer above keeps
 * per-dialog order, coalescing and retries; a transport sends one NOTIFY and
 * reports its final outcome.
 */
import type { Notify } from '../../../core/contract.js';

export type DeliveryResult =
  /** A final response came back (from the watcher, or from Kamailio on its behalf, e.g. its own 408). */
  | { readonly kind: 'response'; readonly status: number; readonly retryAfter?: number }
  /**
   * Kamailio itself could not be reached or did not answer (connection
   * refused, no response to our request at all): the NOTIFY was not handed
   * over, so the delivery layer keeps it queued and retries when the link is
   * back, instead of blaming the watcher.
   */
  | { readonly kind: 'link-failure'; readonly detail: string };

export type LinkState = 'up' | 'down';

export interface NotifyTransport {
  readonly name: 'sip' | 'rpc';
  /** Send one NOTIFY; resolves with its final outcome (never rejects). */
  send(notify: Notify): Promise<DeliveryResult>;
  /** Current view of the link to Kamailio. */
  readonly linkState: LinkState;
  /** Called whenever the link state changes. */
  onLinkChange: ((state: LinkState) => void) | undefined;
  /** Start any sockets/keepalives (idempotent). */
  start(): Promise<void>;
  /** Stop: pending sends resolve as link failures. */
  close(): Promise<void>;
}
