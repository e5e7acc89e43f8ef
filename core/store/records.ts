/**
 * What the presence store keeps. Records are plain data (msgpackr-encoded in
 * LMDB). Package-specific parts (`doc`, `pkgState`) are opaque to generic code.
 */
import type { SourceAddress } from '../contract.js';
import type { XmlElement } from '../xml/xml-node.js';

/** Per-resource bookkeeping. */
export interface ResourceRecord {
  /**
   * Event sequence of the resource: incremented once per event that changes
   * publications or sends NOTIFYs. Used as publication order and as the CSeq
   * of every NOTIFY the event sends, so CSeq grows per dialog without a write
   * per NOTIFY (RFC 3261 §12.2.2 lets a UAS see gaps in CSeq).
   */
  readonly seq: number;
  /** Live publications and subscriptions per event package (limits, gauges). */
  readonly pubs: Readonly<Record<string, number>>;
  readonly subs: Readonly<Record<string, number>>;
  /** Of `subs`, those pending authorization (per event package); absent = none. */
  readonly pending?: Readonly<Record<string, number>>;
  /**
   * Unique token replaced whenever a subscription of this resource is added,
   * changed or removed: validates cached fan-out targets.
   */
  readonly subsVersion?: string;
}

/** Composed state of one resource for one state package. */
export interface StateRecord {
  /** Grows by one whenever the composed document changes. */
  readonly version: number;
  /** The composed document in the package's canonical form. */
  readonly doc: unknown;
  /** Rendering of `doc` for the unrestricted view: reused for every watcher with that view. */
  readonly body: string;
  readonly updatedAt: number;
}

export interface PublicationRecord {
  readonly etag: string;
  readonly resource: string;
  readonly event: string;
  readonly expiresAt: number;
  /** Resource event sequence at the last initial/modify: newer publications win in composition. */
  readonly order: number;
  readonly contentType: string;
  /** Validated, canonical document (never re-parsed). */
  readonly doc: unknown;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** RFC 3261 §12.1.1 UAS dialog state, plus the pre-formatted header values of our NOTIFYs. */
export interface DialogState {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  /** From header value of our NOTIFYs: the SUBSCRIBE's To with our tag. */
  readonly localHeader: string;
  /** To header value of our NOTIFYs: the SUBSCRIBE's From (with its tag). */
  readonly remoteHeader: string;
  /** Remote target: the Contact URI of the last target-refresh request. */
  readonly remoteTarget: string;
  /** Record-Route of the initial SUBSCRIBE, in order (RFC 3261 §12.1.1). */
  readonly routeSet: readonly string[];
  /** Highest CSeq received from the subscriber. */
  readonly remoteCseq: number;
  /** Where our NOTIFYs go, computed once per target refresh (RFC 3261 §12.2.1.1). */
  readonly requestUri: string;
  readonly route: readonly string[];
  readonly nextHop: string;
  /** Packet source to send to instead of resolving `nextHop` (NAT, RFC 3581). */
  readonly destination?: SourceAddress;
  /** The constant header lines of our NOTIFYs (`renderDialogHeaders`), rendered once per refresh. */
  readonly headers: string;
}

export type SubscriptionStatus = 'active' | 'pending';

export interface SubscriptionRecord {
  readonly id: string;
  readonly resource: string;
  readonly event: string;
  /** Event header `id` parameter, if any (RFC 6665 §8.2.1). */
  readonly eventId?: string;
  readonly status: SubscriptionStatus;
  /** Authorization outcome for active subscriptions: 'allow' or 'polite-block'. */
  readonly handling: 'allow' | 'polite-block' | 'confirm';
  /** View key: watchers with equal keys receive the same rendering. */
  readonly view: string;
  /** Package-specific permissions behind `view` (RFC 5025 transformations), if restricted. */
  readonly permissions?: unknown;
  readonly expiresAt: number;
  readonly createdAt: number;
  /** Watcher AOR (asserted identity, else From URI). */
  readonly watcher: string;
  /** True when the edge asserted the watcher's identity (authorization re-evaluates with it). */
  readonly authenticated?: boolean;
  readonly watcherDisplayName?: string;
  readonly dialog: DialogState;
  /** Packet source of the last SUBSCRIBE (NAT fallback). */
  readonly source: SourceAddress;
  /** Consecutive failed NOTIFYs (408/5xx) and when the retry is due. */
  readonly failures: number;
  readonly retryAt?: number;
  /** Package-specific per-subscription state (e.g. watcherinfo version). */
  readonly pkgState?: unknown;
}

/**
 * The part of a subscription that fan-out needs, stored separately and kept
 * small so that notifying thousands of watchers decodes little per watcher.
 */
export interface NotifyTarget {
  readonly id: string;
  readonly status: SubscriptionStatus;
  readonly handling: SubscriptionRecord['handling'];
  readonly view: string;
  readonly permissions?: unknown;
  readonly expiresAt: number;
  readonly requestUri: string;
  readonly nextHop: string;
  readonly destination?: SourceAddress;
  readonly headers: string;
}

export function targetOf(sub: SubscriptionRecord): NotifyTarget {
  const d = sub.dialog;
  const t: { -readonly [K in keyof NotifyTarget]: NotifyTarget[K] } = {
    id: sub.id,
    status: sub.status,
    handling: sub.handling,
    view: sub.view,
    expiresAt: sub.expiresAt,
    requestUri: d.requestUri,
    nextHop: d.nextHop,
    headers: d.headers,
  };
  if (sub.permissions !== undefined) t.permissions = sub.permissions;
  if (d.destination !== undefined) t.destination = d.destination;
  return t;
}

export interface DialogRef {
  readonly resource: string;
  readonly event: string;
  readonly id: string;
}

/** `rules`: the next instant a pres-rules `<validity>` window of the owner opens or closes. */
export type TimerKind = 'publication' | 'subscription' | 'retry' | 'rules';

export interface TimerRef {
  readonly dueAt: number;
  readonly resource: string;
  readonly kind: TimerKind;
  readonly event: string;
  readonly id: string;
}

/** An XCAP document (RFC 4825 §6.2): the parsed tree and its strong entity tag. */
export interface XcapDocumentRecord {
  readonly etag: string;
  /** The document as a namespace-aware element tree (validated against its application usage). */
  readonly doc: XmlElement;
  readonly updatedAt: number;
}

/** XCAP user credentials for HTTP Digest (RFC 7616): HA1 = H(username:realm:password). */
export interface XcapUserRecord {
  /** The user's XUI, e.g. `sip:alice@example.com` (their `users/` tree). */
  readonly xui: string;
  readonly realm: string;
  /** Hex MD5 of `username:realm:password` (and SHA-256 variant when set). */
  readonly ha1Md5: string;
  readonly ha1Sha256?: string;
}
