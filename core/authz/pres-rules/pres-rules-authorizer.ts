/**
 * Subscription authorization by the presentity's pres-rules (RFC 5025)
 * stored by the XDMS, for the `presence` package:
 *
 * - the rule set is the IETF document `pres-rules/users/<owner>/index`
 *   (RFC 5025 §9.4) or, when there is none, the OMA one
 *   `org.openmobilealliance.pres-rules/users/<owner>/pres-rules`;
 * - no document → the configured default handling (confirm: pending, no
 *   presence until the owner decides);
 * - the result is `{ handling, view, permissions }`: for allow, the view is
 *   `permissionsKey(permissions)` ('full' only when everything is granted,
 *   then without permissions); for polite-block, confirm and block the view
 *   is `NEUTRAL_VIEW` and no permissions are given (nothing is to be shown).
 *
 * Owner-only packages (`*.winfo`, `xcap-diff`) keep the rule of the default
 * authorizer: only the resource's owner. Other packages are delegated to a
 * fallback authorizer (the default one unless configured).
 *
 * Parsed rule sets are cached per (owner, document, ETag) in a small LRU, so
 * each document version is parsed once per authorizer instance (per worker
 * thread).
 */
import { DefaultAuthorizer, FULL_VIEW, ownerOnly, type AuthorizationDecision, type AuthorizationRequest, type Authorizer, type SubHandling } from '../authorizer.js';
import type { KvReader } from '../../store/kv.js';
import type { StateRecord, XcapDocumentRecord } from '../../store/records.js';
import type { XmlElement } from '../../xml/xml-node.js';
import { RPID_NS, type PidfDocument } from '../../packages/presence/pidf-document.js';
import { neutralPidf, renderPidf } from '../../packages/presence/pidf-render.js';
import { transformPidf } from '../../packages/presence/pidf-transform.js';
import { textContent } from '../../xml/xml-query.js';
import { DEFAULT_HANDLING, evaluatePresRules, nextValidityChange, type EvaluationContext } from './evaluate.js';
import { EMPTY_MODEL, parsePresRules, type PresRulesModel } from './pres-rules-model.js';
import { isPresencePermissions, permissionsKey } from './presence-permissions.js';

/** View key of every decision that shows no presence (polite-block, confirm, block). */
export const NEUTRAL_VIEW = 'neutral';

/** Where the owner's rule sets live in the `xcap` table, in order of precedence. */
export function presRulesKeys(owner: string): readonly (readonly [string, string, string, string])[] {
  return [
    ['pres-rules', 'users', owner, 'index'],
    ['org.openmobilealliance.pres-rules', 'users', owner, 'pres-rules'],
  ];
}

export interface PresRulesAuthorizerOptions {
  /**
   * Handling when the owner has no pres-rules document, or when no matching
   * rule sets sub-handling. Default 'confirm' (pending until the owner decides).
   */
  readonly defaultHandling?: SubHandling;
  /** Parsed rule sets kept (LRU). Default 1024. */
  readonly cacheSize?: number;
  /**
   * The current time for `<validity>` (epoch ms). The core reads no clock:
   * without one, and unless the request carries `now`, validity conditions
   * never hold.
   */
  readonly clock?: () => number;
  /** Authorizer for packages other than presence and the owner-only ones. Default: DefaultAuthorizer. */
  readonly fallback?: Authorizer;
  /** Owner-only packages also require the owner's identity to be authenticated. Default false (as DefaultAuthorizer). */
  readonly ownerMustBeAuthenticated?: boolean;
}

/** A Map-based LRU: reads refresh, inserts evict the least recently used entry beyond `max`. */
export class BoundedLru<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly max: number) {}

  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.max) {
      const oldest = this.map.keys().next();
      if (oldest.done === true) break;
      this.map.delete(oldest.value);
    }
  }

  get size(): number {
    return this.map.size;
  }
}

function isElement(x: unknown): x is XmlElement {
  if (typeof x !== 'object' || x === null) return false;
  const e = x as Partial<XmlElement>;
  return e.kind === 'element' && typeof e.ns === 'string' && typeof e.local === 'string' && Array.isArray(e.children) && Array.isArray(e.attrs);
}

/**
 * The presentity's current sphere (RFC 4480 §3.2): the RPID `<sphere>` of
 * the first person of the composed document that has one — the name of its
 * child element (`<rpid:work/>` → 'work') or its text.
 */
export function currentSphere(doc: PidfDocument): string | undefined {
  for (const person of doc.persons) {
    for (const c of person.element.children) {
      if (c.kind !== 'element' || c.ns !== RPID_NS || c.local !== 'sphere') continue;
      for (const s of c.children) if (s.kind === 'element') return s.local;
      const t = textContent(c).trim();
      return t === '' ? undefined : t;
    }
  }
  return undefined;
}

function storedSphere(store: KvReader, owner: string): string | undefined {
  const rec = store.get('states', [owner, 'presence']) as StateRecord | undefined;
  const doc = rec?.doc as Partial<PidfDocument> | undefined;
  if (!doc || !Array.isArray(doc.persons)) return undefined;
  return currentSphere(doc as PidfDocument);
}

export class PresRulesAuthorizer implements Authorizer {
  private readonly cache: BoundedLru<string, PresRulesModel>;
  private readonly defaultHandling: SubHandling;
  private readonly clock: (() => number) | undefined;
  private readonly fallback: Authorizer;
  private readonly ownerMustBeAuthenticated: boolean;
  private parsed = 0;

  constructor(options: PresRulesAuthorizerOptions = {}) {
    this.cache = new BoundedLru(Math.max(1, options.cacheSize ?? 1024));
    this.defaultHandling = options.defaultHandling ?? DEFAULT_HANDLING;
    this.clock = options.clock;
    this.fallback = options.fallback ?? new DefaultAuthorizer();
    this.ownerMustBeAuthenticated = options.ownerMustBeAuthenticated ?? false;
  }

  /**
   * The owner's rule set: the parsed IETF document, else the OMA one, else
   * undefined (no document). A stored record that is not a document yields
   * the empty model (no rule matches: the default applies).
   */
  rulesFor(store: KvReader, owner: string): PresRulesModel | undefined {
    for (const key of presRulesKeys(owner)) {
      const rec = store.get('xcap', key) as Partial<XcapDocumentRecord> | undefined;
      if (rec === undefined || rec === null) continue;
      if (typeof rec !== 'object' || typeof rec.etag !== 'string' || !isElement(rec.doc)) return EMPTY_MODEL;
      const cacheKey = `${key[0]}\u0000${owner}\u0000${rec.etag}`;
      let model = this.cache.get(cacheKey);
      if (model === undefined) {
        model = parsePresRules(rec.doc);
        this.parsed++;
        this.cache.set(cacheKey, model);
      }
      return model;
    }
    return undefined;
  }

  /** Documents parsed so far (cache misses), for tests and metrics. */
  get parses(): number {
    return this.parsed;
  }

  /** Parsed documents currently cached. */
  get cachedDocuments(): number {
    return this.cache.size;
  }

  /**
   * What, besides a new request or a change of the rules, can change the
   * owner's decisions: `sphere` when some rule has a `<sphere>` condition
   * (re-authorize when the owner's published sphere changes), `nextChangeAt`
   * the next `<validity>` boundary after `now` (re-authorize then).
   */
  dependencies(store: KvReader, owner: string, now: number): { readonly sphere: boolean; readonly nextChangeAt?: number } {
    const model = this.rulesFor(store, owner);
    if (model === undefined) return { sphere: false };
    const next = nextValidityChange(model, now);
    return next === undefined ? { sphere: model.usesSphere } : { sphere: model.usesSphere, nextChangeAt: next };
  }

  /**
   * The decision when the owner's rules say nothing about this watcher: the
   * configured default. 'allow' as a default means open presence (the whole
   * document); explicit rules of the owner always restrict it.
   */
  private defaultDecision(): AuthorizationDecision {
    return this.defaultHandling === 'allow' ? { handling: 'allow', view: FULL_VIEW } : { handling: this.defaultHandling, view: NEUTRAL_VIEW };
  }

  authorize(request: AuthorizationRequest, store: KvReader): AuthorizationDecision {
    if (ownerOnly(request.event)) {
      const owner = request.watcher === request.resource && (request.authenticated || !this.ownerMustBeAuthenticated);
      return { handling: owner ? 'allow' : 'block', view: FULL_VIEW };
    }
    if (request.event !== 'presence') return this.fallback.authorize(request, store);

    const model = this.rulesFor(store, request.resource);
    if (model === undefined) return this.defaultDecision();

    const now = (request as { readonly now?: unknown }).now;
    const time = typeof now === 'number' ? now : this.clock?.();
    const ctx: { -readonly [K in keyof EvaluationContext]: EvaluationContext[K] } = {
      watcher: request.watcher,
      authenticated: request.authenticated,
      // Without a clock no instant satisfies a validity interval.
      now: time ?? Number.NaN,
      defaultHandling: this.defaultHandling,
    };
    if (model.usesSphere) {
      const sphere = storedSphere(store, request.resource);
      if (sphere !== undefined) ctx.sphere = sphere;
    }
    const result = evaluatePresRules(model, ctx);
    // No rule of the owner matched: the operator's default applies as for a missing document.
    if (result.matchedRules.length === 0) return this.defaultDecision();
    if (result.handling !== 'allow') return { handling: result.handling, view: NEUTRAL_VIEW };
    const view = permissionsKey(result.permissions);
    return view === FULL_VIEW ? { handling: 'allow', view } : { handling: 'allow', view, permissions: result.permissions };
  }
}

/**
 * The presence package's `render` under pres-rules: polite-block (and any
 * handling other than allow) → the neutral document; allow with
 * permissions → the transformed view; allow with the full view → the whole
 * document. Permissions that are missing or malformed on a restricted view
 * fail closed (neutral document).
 */
export function presencePackageRender(doc: PidfDocument, decision: AuthorizationDecision): string {
  if (decision.handling !== 'allow') return renderPidf(neutralPidf(doc.entity));
  if (decision.permissions !== undefined) {
    if (!isPresencePermissions(decision.permissions)) return renderPidf(neutralPidf(doc.entity));
    return renderPidf(transformPidf(doc, decision.permissions));
  }
  if (decision.view === FULL_VIEW) return renderPidf(doc);
  return renderPidf(neutralPidf(doc.entity));
}
