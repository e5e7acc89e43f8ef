/**
 * Subscription authorization (RFC 3856 §6.5, RFC 4745 §10.2 `sub-handling`).
 * The Presence Server asks an `Authorizer` for every new or refreshed
 * subscription; pres-rules (RFC 5025) plug in here. The decision carries a
 * view key so that watchers with identical permissions share one rendering.
 */
import type { KvReader } from '../store/kv.js';

/** RFC 4745 §10.2 sub-handling values, most to least restrictive. */
export type SubHandling = 'block' | 'polite-block' | 'confirm' | 'allow';

export interface AuthorizationRequest {
  /** The resource (presentity AOR) watched. */
  readonly resource: string;
  /** Event package name. */
  readonly event: string;
  /** Watcher AOR (asserted identity when the edge provides one, else From URI). */
  readonly watcher: string;
  /** True when the edge authenticated the watcher (identity was asserted). */
  readonly authenticated: boolean;
  /** The event's clock reading (epoch ms), for time-dependent rules (RFC 4745 `<validity>`). */
  readonly now?: number;
}

export interface AuthorizationDecision {
  readonly handling: SubHandling;
  /**
   * Identifies the permissions (transformations) granted: watchers with equal
   * view keys get the same document. 'full' means the unrestricted view.
   */
  readonly view: string;
  /** Package-specific description of the permitted view (RFC 5025 transformations). */
  readonly permissions?: unknown;
}

export interface Authorizer {
  authorize(request: AuthorizationRequest, store: KvReader): AuthorizationDecision;
  /**
   * What a resource's decisions depend on besides the rules document: the
   * presentity's own state (RFC 4745 `<sphere>`) and the next instant a
   * `<validity>` window opens or closes. Subscriptions are re-evaluated then.
   */
  dependencies?(store: KvReader, owner: string, now: number): { readonly sphere: boolean; readonly nextChangeAt?: number };
}

export const FULL_VIEW = 'full';

/**
 * Packages only the resource's owner may subscribe to: who watches you
 * (`*.winfo`, RFC 3857 §5.2) and your own documents (`xcap-diff`, RFC 5875 §5).
 */
export function ownerOnly(event: string): boolean {
  return event.endsWith('.winfo') || event === 'xcap-diff';
}

/**
 * The default until pres-rules are configured: every watcher may see
 * everything, except the owner-only packages.
 */
export class DefaultAuthorizer implements Authorizer {
  authorize(request: AuthorizationRequest): AuthorizationDecision {
    if (ownerOnly(request.event) && request.watcher !== request.resource) {
      return { handling: 'block', view: FULL_VIEW };
    }
    return { handling: 'allow', view: FULL_VIEW };
  }
}
