/**
 * Evaluation of a presence rule set for one watcher (RFC 4745 §10, RFC
 * 5025 §3): the rules whose conditions all hold are combined permission by
 * permission — `sub-handling` by its maximum numeric value (RFC 5025
 * §3.2.1: block 0 < confirm 10 < polite-block 20 < allow 30), boolean
 * permissions by OR, set-valued ones by union, provide-user-input by maximum.
 *
 * Identity (RFC 4745 §7.1, RFC 5025 §3.1.1): identity conditions only ever
 * match an authenticated identity. A watcher that is not authenticated —
 * the edge asserted no identity, or the identity is the anonymous URI of
 * RFC 3323 (`…@anonymous.invalid`) — never matches `<identity>` (not even
 * `<many/>`) nor OMA `<other-identity>`; it can only be matched by rules
 * that have no identity condition (rules that apply to everybody) and by
 * OMA `<anonymous-request>`. A spoofed From therefore never obtains the
 * grants of the identity it claims; it gets at most what the owner grants
 * to everybody, and with no such rule the default handling (confirm:
 * pending, no presence).
 *
 * Default: when no matching rule sets `<sub-handling>` (in particular when
 * no rule matches), the handling is `defaultHandling`, 'confirm' unless
 * configured otherwise (the policy; RFC 5025 §3.2.1 names block as
 * the permission's default value, which a deployment can select). A
 * matching rule with an explicit `block` does block.
 */
import type { SubHandling } from '../authorizer.js';
import { canonicalIdentity, identityDomain, SUB_HANDLING_VALUE, type Condition, type PresRulesModel } from './pres-rules-model.js';
import { mergePermissions, NO_PERMISSIONS, type PresencePermissions } from './presence-permissions.js';

export interface EvaluationContext {
  /** The watcher's AOR (asserted identity when authenticated). */
  readonly watcher: string;
  /** True when the edge authenticated the watcher. */
  readonly authenticated: boolean;
  /** Current time, epoch ms (RFC 4745 §7.3 validity). */
  readonly now: number;
  /** The presentity's current sphere (RFC 4480 §3.2 / RFC 4745 §7.2); absent = unknown, no sphere condition holds. */
  readonly sphere?: string;
  /** Handling when no matching rule sets sub-handling; default 'confirm'. */
  readonly defaultHandling?: SubHandling;
}

export interface PresRulesEvaluation {
  readonly handling: SubHandling;
  /** The combined transformations of the matching rules (canonical). */
  readonly permissions: PresencePermissions;
  /** Ids of the matching rules, in document order. */
  readonly matchedRules: string[];
}

export const DEFAULT_HANDLING: SubHandling = 'confirm';

/** True for the anonymous identities of RFC 3323 §4.1.1.3 (host `anonymous.invalid`). */
export function isAnonymousIdentity(identity: string): boolean {
  return identityDomain(identity) === 'anonymous.invalid';
}

interface Watcher {
  /** Canonical identity, undefined when the request is not authenticated. */
  readonly id: string | undefined;
  readonly domain: string | undefined;
}

function identityMatches(cond: Extract<Condition, { kind: 'identity' }>, w: Watcher): boolean {
  const id = w.id;
  if (id === undefined) return false;
  if (cond.one.includes(id)) return true;
  for (const m of cond.many) {
    if (m.domain !== undefined && m.domain !== w.domain) continue;
    if (m.exceptIds.includes(id)) continue;
    if (w.domain !== undefined && m.exceptDomains.includes(w.domain)) continue;
    return true;
  }
  return false;
}

function conditionHolds(cond: Condition, w: Watcher, ctx: EvaluationContext, otherIdentity: boolean): boolean {
  switch (cond.kind) {
    case 'identity':
      return identityMatches(cond, w);
    case 'sphere':
      return ctx.sphere !== undefined && cond.values.includes(ctx.sphere);
    case 'validity':
      return cond.intervals.some((i) => i.from <= ctx.now && ctx.now < i.until);
    case 'anonymous-request':
      return w.id === undefined;
    case 'other-identity':
      return otherIdentity;
    case 'unknown':
      return false;
  }
}

/**
 * Evaluates `model` for one watcher: which rules match, the combined
 * sub-handling and the combined permissions.
 */
export function evaluatePresRules(model: PresRulesModel, ctx: EvaluationContext): PresRulesEvaluation {
  const canonical = canonicalIdentity(ctx.watcher);
  const authenticated = ctx.authenticated && canonical !== '' && !isAnonymousIdentity(canonical);
  const w: Watcher = authenticated ? { id: canonical, domain: identityDomain(canonical) } : { id: undefined, domain: undefined };

  // OMA <other-identity>: an authenticated identity that no <identity> condition anywhere matches;
  // undecidable (false) when some condition could not be evaluated (e.g. <external-list>).
  let otherIdentity = authenticated && !model.hasUnknownConditions;
  if (otherIdentity) {
    outer: for (const rule of model.rules) {
      for (const cond of rule.conditions) {
        if (cond.kind === 'identity' && identityMatches(cond, w)) {
          otherIdentity = false;
          break outer;
        }
      }
    }
  }

  let handling: SubHandling | undefined;
  let permissions = NO_PERMISSIONS;
  const matchedRules: string[] = [];
  for (const rule of model.rules) {
    if (!rule.conditions.every((c) => conditionHolds(c, w, ctx, otherIdentity))) continue;
    matchedRules.push(rule.id);
    const sh = rule.subHandling;
    if (sh !== undefined && (handling === undefined || SUB_HANDLING_VALUE[sh] > SUB_HANDLING_VALUE[handling])) handling = sh;
    permissions = mergePermissions(permissions, rule.grants);
  }
  return { handling: handling ?? ctx.defaultHandling ?? DEFAULT_HANDLING, permissions, matchedRules };
}

/**
 * The earliest instant after `now` at which a `<validity>` interval of the
 * rule set begins or ends (epoch ms), if any: decisions can change then
 * without any request or document change, so subscriptions should be
 * re-authorized at that time.
 */
export function nextValidityChange(model: PresRulesModel, now: number): number | undefined {
  let next: number | undefined;
  for (const rule of model.rules) {
    for (const c of rule.conditions) {
      if (c.kind !== 'validity') continue;
      for (const i of c.intervals) {
        for (const t of [i.from, i.until]) if (t > now && (next === undefined || t < next)) next = t;
      }
    }
  }
  return next;
}
