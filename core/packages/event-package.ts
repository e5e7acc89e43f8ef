/**
 * Event packages are plug-ins (RFC 6665 §7: each package defines its body
 * format, aggregation and subscription semantics). Generic PUBLISH /
 * SUBSCRIBE / NOTIFY code only talks to these interfaces.
 *
 * Two kinds exist:
 * - `StatePackage`: state published by event publication agents (RFC 3903),
 *   composed per resource and rendered per watcher view (presence, dialog,
 *   message-summary).
 * - `WatcherInfoPackage`: the `winfo` template package (RFC 3857) whose state
 *   is the set of subscriptions to another package of the same resource.
 */
import type { AuthorizationDecision } from '../authz/authorizer.js';
import type { ExpiresPolicy } from '../config.js';
import type { Result } from '../errors.js';
import type { XmlLimits } from '../xml/xml-parser.js';
import type { KvReader } from '../store/kv.js';

export interface PackageBase {
  /** Event package name as it appears in the Event header. */
  readonly name: string;
  /** Content-Type of NOTIFY bodies. */
  readonly notifyContentType: string;
  /** Default/min/max subscription duration (seconds). */
  readonly subscribeExpires: ExpiresPolicy;
}

export interface PublishedDoc<Doc> {
  readonly doc: Doc;
  /** Larger = more recent (resource event sequence at publication). */
  readonly order: number;
}

export interface StatePackage<Doc = unknown> extends PackageBase {
  readonly kind: 'state';
  /** Content-Types accepted in PUBLISH (RFC 3903 §6 step 6: others → 415). */
  readonly publishContentTypes: readonly string[];
  readonly publishExpires: ExpiresPolicy;
  /** Validate and canonicalize a published body, once. */
  parse(body: string, contentType: string, limits: XmlLimits): Result<Doc>;
  /** Compose the live publications of one resource into its current state. */
  aggregate(resource: string, publications: readonly PublishedDoc<Doc>[]): Doc;
  /** The document sent when there is no state, or that reveals nothing (polite-block). */
  neutral(resource: string): Doc;
  /** Render the state for a watcher's view. */
  render(doc: Doc, decision: AuthorizationDecision): string;
  /**
   * State that is not published but stored for the resource (presence:
   * the owner's pidf-manipulation document, RFC 4827), composed as the
   * oldest source so that live publications override it.
   */
  staticState?(store: KvReader, resource: string): Doc | undefined;
}

/** One watcher as listed in watcher information (RFC 3858 §4). */
export interface WatcherEntry {
  readonly id: string;
  readonly uri: string;
  readonly displayName?: string;
  readonly status: 'pending' | 'active' | 'waiting' | 'terminated';
  /** What caused the last change (RFC 3857 §3.4 / RFC 3858 `event`). */
  readonly event: 'subscribe' | 'approved' | 'deactivated' | 'probation' | 'rejected' | 'timeout' | 'giveup' | 'noresource';
  /** Seconds the subscription has existed. */
  readonly durationSubscribed: number;
  /** Seconds until it expires (absent once terminated). */
  readonly expiration?: number;
}

export interface WatcherInfoPackage extends PackageBase {
  readonly kind: 'watcherinfo';
  /** Name of the package whose subscriptions this package reports (e.g. 'presence'). */
  readonly watches: string;
  /**
   * Render a watcherinfo document for one subscriber. `version` is that
   * subscriber's document version (RFC 3858 §4.2); `full` selects full state.
   */
  render(resource: string, watchers: readonly WatcherEntry[], version: number, full: boolean): string;
}

/** One XCAP document in an xcap-diff notification (RFC 5874 §4). */
export interface DocumentEntry {
  /** Document selector relative to the XCAP root, e.g. `pres-rules/users/sip:alice@example.com/index`. */
  readonly sel: string;
  readonly previousEtag?: string;
  /** Absent when the document was removed. */
  readonly newEtag?: string;
}

/**
 * Packages whose state is a set of stored documents of the resource's owner
 * (RFC 5875 `xcap-diff`): full list on subscribe/refresh, then one partial
 * notification per document change.
 */
export interface DocumentsPackage extends PackageBase {
  readonly kind: 'documents';
  documents(store: KvReader, resource: string): DocumentEntry[];
  render(entries: readonly DocumentEntry[], full: boolean): string;
}

export type EventPackage = StatePackage | WatcherInfoPackage | DocumentsPackage;
