/**
 * The contract every front (Kamailio JSON-RPC, drachtio-srf, tests) speaks with
 * the presence core: a SIP request as fields in, a reply plus fully formed
 * NOTIFY requests out, and the final response of each NOTIFY reported back.
 *
 * Everything here is plain data so that it crosses the worker-thread boundary
 * by structured clone without losing anything (no classes, no functions).
 */

import type { CoreMetrics } from './core-metrics.js';

/** Transport protocols a SIP hop may use (RFC 3261 §18, RFC 7118). */
export type Transport = 'udp' | 'tcp' | 'tls' | 'sctp' | 'ws' | 'wss';

/** Where a request came from, as seen by the edge proxy (RFC 3581 `received`/`rport`). */
export interface SourceAddress {
  readonly transport: Transport;
  readonly address: string;
  readonly port: number;
}

/**
 * A SIP request handed to the core. Header values are passed raw (as they
 * appeared on the wire, one string per header field line); the core parses
 * and validates them, so every front gets the same error handling.
 */
export interface SipRequest {
  /** `PUBLISH` or `SUBSCRIBE` (other methods are answered 405). */
  readonly method: string;
  /** Request-URI (RFC 3261 §8.1.1.1). For PUBLISH and initial SUBSCRIBE it names the resource. */
  readonly requestUri: string;
  readonly callId: string;
  /** Full From header value including its `tag` parameter. */
  readonly from: string;
  /** Full To header value; carries a `tag` parameter for in-dialog requests. */
  readonly to: string;
  /** CSeq sequence number (the method part must equal `method`). */
  readonly cseq: number;
  /** Contact header value (required for SUBSCRIBE: it becomes the remote target). */
  readonly contact?: string;
  /** Record-Route header values, top-most first, one entry per route (RFC 3261 §12.1.1). */
  readonly recordRoute?: readonly string[];
  /** Event header value, e.g. `presence` or `presence;id=3` (RFC 6665 §8.2.1). */
  readonly event?: string;
  /** Expires header value as received (delta-seconds). */
  readonly expires?: string;
  /** Accept header values as received (each may be a comma-separated list). */
  readonly accept?: readonly string[];
  /** SIP-If-Match header value (RFC 3903 §11.3.2). */
  readonly sipIfMatch?: string;
  /** Content-Type header value, parameters included. */
  readonly contentType?: string;
  /** Message body, already decoded to text (UTF-8). */
  readonly body?: string;
  /** Packet source of the request at the edge. */
  readonly source: SourceAddress;
  /**
   * The To-tag the edge proxy will put into its final response (Kamailio
   * `$ltt(t)` after `t_newtran()`, RFC 3261 §8.2.6.2). Becomes our local tag.
   */
  readonly localTag: string;
  /** Identity asserted by the edge after authentication (e.g. P-Asserted-Identity). */
  readonly identity?: string;
}

/** One header field of a reply or NOTIFY. */
export interface SipHeader {
  readonly name: string;
  readonly value: string;
}

/** The final response the front must send for a request. */
export interface SipReply {
  readonly status: number;
  readonly reason: string;
  /** Extra headers (SIP-ETag, Expires, Min-Expires, Contact, Allow-Events, Accept, Retry-After…). */
  readonly headers: readonly SipHeader[];
}

/**
 * A NOTIFY body. One object is shared by every NOTIFY that carries the same
 * rendering (structured clone keeps object identity inside one message, so a
 * body fanned out to a thousand watchers crosses the thread boundary once).
 */
export interface NotifyBody {
  readonly contentType: string;
  readonly text: string;
}

/** The header fields of a NOTIFY (RFC 6665 §4.2.2, RFC 3261 §12.2.1.1), as a typed view. */
export interface NotifyHeaders {
  /** Our side of the dialog: the subscriber's original To plus our tag. */
  readonly from: string;
  /** The subscriber: its original From including its tag. */
  readonly to: string;
  readonly callId: string;
  readonly cseq: number;
  /** Route set (the Record-Route of the SUBSCRIBE, in order), possibly empty. */
  readonly route: readonly string[];
  /** Our Contact (the edge proxy, or presenced's configured contact). */
  readonly contact: string;
  /** Event header value, including `id` when the subscription had one. */
  readonly event: string;
  /** Subscription-State header value, e.g. `active;expires=3599`. */
  readonly subscriptionState: string;
}

/**
 * A NOTIFY request, complete: the front only delivers it and reports the
 * outcome. The header fields that never change during a dialog are rendered
 * once (when the dialog is created or refreshed) into `dialogHeaders`; each
 * NOTIFY adds only its CSeq, Subscription-State and body. `notifyHeaders()`
 * (core/sip/notify-headers.ts) gives the typed view.
 */
export interface Notify {
  /** Identifies the subscription (stable for the dialog's life). */
  readonly subscriptionId: string;
  /** The resource (presentity AOR) the subscription is about: the ordering key. */
  readonly resource: string;
  /** Event package name. */
  readonly event: string;
  /** Request-URI (remote target, or first route for a strict-routing route set). */
  readonly requestUri: string;
  /** The URI the request is sent to first: the top Route, else the Request-URI (RFC 3261 §8.1.2). */
  readonly nextHop: string;
  /**
   * When set, send to this address instead of resolving `nextHop`: the
   * subscriber's packet source, used when it is behind NAT and no route set
   * exists (RFC 3581 symmetric response routing applied to the dialog).
   */
  readonly destination?: SourceAddress;
  /** CSeq sequence number (method NOTIFY): strictly increasing per dialog, also across restarts. */
  readonly cseq: number;
  /** Subscription-State header value, e.g. `active;expires=3599` (RFC 6665 §8.2.3). */
  readonly subscriptionState: string;
  /**
   * `From`, `To`, `Call-ID`, each `Route`, `Contact` and `Event` header lines
   * of the dialog, in that order, each ending with CRLF.
   */
  readonly dialogHeaders: string;
  /** Absent for a NOTIFY without body (pending subscriptions). */
  readonly body?: NotifyBody;
  /** True when this NOTIFY ends the subscription (Subscription-State: terminated). */
  readonly terminal: boolean;
  /**
   * True when the body carries the complete state (a presence document, a
   * full watcherinfo document): a later NOTIFY of the same dialog then makes
   * this one obsolete, and delivery may skip it if it has not been sent yet.
   * False for partial state (watcherinfo `state="partial"`), which must never
   * be skipped.
   */
  readonly fullState: boolean;
}

/** What the core returns for a request or an internal event (expiry, retry). */
export interface HandleResult {
  /** Final response to send; absent for internal events. */
  readonly reply?: SipReply;
  /** NOTIFYs to send, in order, after the reply. */
  readonly notifies: readonly Notify[];
  /** What the event did, for metrics (fronts ignore it). */
  readonly metrics?: CoreMetrics;
}

/** The final response a front received for a NOTIFY (RFC 6665 §4.1.3). */
export interface NotifyOutcome {
  readonly subscriptionId: string;
  readonly resource: string;
  readonly event: string;
  /** CSeq of the NOTIFY this outcome is for. */
  readonly cseq: number;
  /** Final status code; 408 when no response arrived (Timer F). */
  readonly status: number;
  /** Retry-After seconds from a 503 response, if present. */
  readonly retryAfter?: number;
}

/** Result across the worker boundary: data, never a thrown error (custom error fields would be lost). */
export type TaskOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly code: string; readonly detail?: string };
