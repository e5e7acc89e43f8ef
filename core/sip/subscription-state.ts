/**
 * The Subscription-State header field (RFC 6665 §8.2.3, grammar §8.4;
 * semantics §4.1.3 and §4.2.2):
 *
 * ```
 * Subscription-State = "Subscription-State" HCOLON substate-value *( SEMI subexp-params )
 * substate-value     = "active" / "pending" / "terminated" / extension-substate
 * subexp-params      = ("reason" EQUAL event-reason-value) / ("expires" EQUAL delta-seconds)
 *                    / ("retry-after" EQUAL delta-seconds) / generic-param
 * event-reason-value = "deactivated" / "probation" / "rejected" / "timeout"
 *                    / "giveup" / "noresource" / "invariant" / event-reason-extension
 * ```
 */
import { CC_TOKEN, MAX_HEADER_VALUE_LENGTH, charHas, isToken, skipLws, trimEndLws } from './char-class.js';
import { type Param, scanParams } from './generic-params.js';
import { MAX_DELTA_SECONDS, parseDeltaSeconds } from './delta-seconds.js';

/** Subscription states of RFC 6665 §4.1.3. */
export type SubscriptionStateName = 'active' | 'pending' | 'terminated';

/** Termination reasons of RFC 6665 §4.2.2 (`event-reason-value`). */
export type TerminationReason =
  | 'deactivated'
  | 'probation'
  | 'rejected'
  | 'timeout'
  | 'giveup'
  | 'noresource'
  | 'invariant';

/** What a notifier puts into Subscription-State. */
export interface SubscriptionState {
  readonly state: SubscriptionStateName;
  /** Remaining seconds (for `active`/`pending`, RFC 6665 §4.2.2). */
  readonly expires?: number;
  /** Why the subscription ended (for `terminated`). */
  readonly reason?: TerminationReason;
  /** Seconds before a retry makes sense (with `probation`/`giveup`, RFC 6665 §4.1.3). */
  readonly retryAfter?: number;
}

/** A parsed Subscription-State value; state and reason lower-cased, extension values kept. */
export interface ParsedSubscriptionState {
  readonly state: string;
  readonly expires?: number;
  readonly reason?: string;
  readonly retryAfter?: number;
  /** All parameters as written. */
  readonly params: readonly Param[];
}

function deltaText(n: number): string {
  if (!(n > 0)) return '0';
  return String(n >= MAX_DELTA_SECONDS ? MAX_DELTA_SECONDS : Math.floor(n));
}

/**
 * Formats a Subscription-State value (RFC 6665 §8.2.3), parameters in the
 * order expires, reason, retry-after, e.g. `active;expires=3599`,
 * `terminated;reason=probation;retry-after=30`. Numbers are written as
 * delta-seconds: floored, negatives and NaN as 0, capped at 4294967295.
 */
export function formatSubscriptionState(s: SubscriptionState): string {
  let out: string = s.state;
  if (s.expires !== undefined) out += ';expires=' + deltaText(s.expires);
  if (s.reason !== undefined) out += ';reason=' + s.reason;
  if (s.retryAfter !== undefined) out += ';retry-after=' + deltaText(s.retryAfter);
  return out;
}

/**
 * Parses a Subscription-State value (RFC 6665 §8.2.3). The first `expires`,
 * `reason` and `retry-after` parameters are interpreted (names
 * case-insensitive); their values must be delta-seconds resp. a token.
 * Returns `undefined` when malformed or over 8 KiB.
 */
export function parseSubscriptionState(text: string): ParsedSubscriptionState | undefined {
  if (text.length > MAX_HEADER_VALUE_LENGTH) return undefined;
  const start = skipLws(text, 0, text.length);
  const end = trimEndLws(text, start, text.length);
  let pos = start;
  while (pos < end && charHas(text.charCodeAt(pos), CC_TOKEN)) pos++;
  if (pos === start) return undefined;
  const scanned = scanParams(text, pos, end);
  if (scanned === undefined) return undefined;
  const result: { state: string; expires?: number; reason?: string; retryAfter?: number; params: Param[] } = {
    state: text.slice(start, pos).toLowerCase(),
    params: scanned.params,
  };
  for (const [rawName, value] of scanned.params) {
    const name = rawName.toLowerCase();
    if (name === 'expires' || name === 'retry-after') {
      const seconds = parseDeltaSeconds(value ?? '');
      if (typeof seconds !== 'number') return undefined;
      if (name === 'expires') result.expires ??= seconds;
      else result.retryAfter ??= seconds;
    } else if (name === 'reason') {
      if (value === undefined || !isToken(value)) return undefined;
      result.reason ??= value.toLowerCase();
    }
  }
  return result;
}
