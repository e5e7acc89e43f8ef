/**
 * Validation of the request fields every handler needs. Each check maps a
 * protocol rule to one catalogue error; nothing here changes state.
 */
import type { SipRequest } from '../contract.js';
import { fail, ok, type Result } from '../errors.js';
import type { EventPackage } from '../packages/event-package.js';
import type { PackageRegistry } from '../packages/package-registry.js';
import type { ExpiresPolicy } from '../config.js';
import { parseDeltaSeconds } from '../sip/delta-seconds.js';
import { parseEvent } from '../sip/event-header.js';
import { headerParam, parseNameAddr, tagOf } from '../sip/name-addr.js';
import { aorOf } from '../sip/uri.js';

export interface EventSelector {
  readonly pkg: EventPackage;
  readonly id?: string;
}

/** RFC 6665 §8.2.1 / RFC 3903 §6 step 2: unknown packages get 489 with Allow-Events. */
export function requireEvent(req: SipRequest, packages: PackageRegistry, allowed: readonly string[]): Result<EventSelector> {
  if (req.event === undefined || req.event.trim() === '') {
    return fail('bad-event', 'Event header missing', [{ name: 'Allow-Events', value: allowed.join(', ') }]);
  }
  const ev = parseEvent(req.event);
  if (!ev) return fail('invalid-header', 'Event header malformed');
  const pkg = packages.get(ev.package);
  if (!pkg || !allowed.includes(pkg.name)) {
    return fail('bad-event', `event package ${ev.package} not supported`, [{ name: 'Allow-Events', value: allowed.join(', ') }]);
  }
  return ok(ev.id === undefined ? { pkg } : { pkg, id: ev.id });
}

/** The resource a request names: the AOR of its Request-URI. */
export function requireResource(req: SipRequest, maxLength: number): Result<string> {
  if (req.requestUri.length > maxLength) return fail('invalid-header', 'Request-URI too long');
  const aor = aorOf(req.requestUri);
  return aor === undefined ? fail('invalid-header', 'Request-URI is not a SIP URI') : ok(aor);
}

/**
 * Expires processing shared by PUBLISH (RFC 3903 §6 step 5) and SUBSCRIBE
 * (RFC 6665 §4.2.1.1): absent → default, 0 stays 0, below the minimum → 423
 * with Min-Expires, above the maximum → lowered to the maximum.
 */
export function grantExpires(raw: string | undefined, policy: ExpiresPolicy): Result<number> {
  const v = parseDeltaSeconds(raw);
  if (v === undefined) return fail('invalid-header', 'Expires is not a delta-seconds value');
  if (v === null) return ok(policy.default);
  if (v === 0) return ok(0);
  if (v < policy.min) return fail('interval-too-brief', `minimum is ${policy.min}s`, [{ name: 'Min-Expires', value: String(policy.min) }]);
  return ok(Math.min(v, policy.max));
}

export interface Party {
  /** AOR of the party. */
  readonly aor: string;
  readonly displayName?: string;
  readonly tag?: string;
}

/** From (the watcher or publisher) — RFC 3261 §8.1.1.3 requires its tag. */
export function requireFrom(req: SipRequest, maxLength: number): Result<Party> {
  if (req.from.length > maxLength) return fail('invalid-header', 'From too long');
  const na = parseNameAddr(req.from);
  const aor = na ? aorOf(na.uri) : undefined;
  if (!na || aor === undefined) return fail('invalid-header', 'From header malformed');
  const tag = headerParam(na, 'tag');
  if (typeof tag !== 'string' || tag === '') return fail('invalid-header', 'From tag missing');
  const party: { aor: string; displayName?: string; tag?: string } = { aor, tag };
  if (na.displayName !== undefined && na.displayName !== '') party.displayName = na.displayName;
  return ok(party);
}

/** The watcher's identity: the edge's asserted identity when present, else the From URI. */
export function watcherIdentity(req: SipRequest, from: Party): { aor: string; authenticated: boolean } {
  if (req.identity !== undefined) {
    const na = parseNameAddr(req.identity);
    const aor = na ? aorOf(na.uri) : aorOf(req.identity);
    if (aor !== undefined) return { aor, authenticated: true };
  }
  return { aor: from.aor, authenticated: false };
}

export function toTagOf(req: SipRequest): string | undefined {
  const t = tagOf(req.to);
  return t === undefined || t === '' ? undefined : t;
}
