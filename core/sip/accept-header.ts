/**
 * The Accept header field (RFC 3261 §20.1, grammar §25.1):
 *
 * ```
 * Accept       = "Accept" HCOLON [ accept-range *(COMMA accept-range) ]
 * accept-range = media-range *(SEMI accept-param)
 * media-range  = ( "*" "/" "*" / ( m-type SLASH "*" ) / ( m-type SLASH m-subtype ) ) *( SEMI m-parameter )
 * accept-param = ("q" EQUAL qvalue) / generic-param
 * qvalue       = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
 * ```
 *
 * For SUBSCRIBE, a missing Accept header means the event package's default
 * body type (RFC 6665 §5.4.6: each package names its NOTIFY body types and
 * default; for presence that is PIDF, RFC 3856); an Accept header that is
 * present but empty means no body type is acceptable.
 */
import { isDigit } from './char-class.js';
import { scanParams } from './generic-params.js';
import { splitHeaderList } from './header-list.js';
import { parseMediaType, scanTypeSubtype } from './media-type.js';
import { unquoteString } from './quoted-string.js';

/** One accept-range. */
export interface MediaRange {
  /** Lower-cased type, `*` for `*\/*`. */
  readonly type: string;
  /** Lower-cased subtype, `*` for `type/*`. */
  readonly subtype: string;
  /** Quality 0…1 (1 when absent); 0 means "not acceptable" (RFC 3261 §20.1, RFC 2616 §14.1). */
  readonly q: number;
  /** Media-range parameters before `q` (lower-cased name, unquoted value); accept-extensions are dropped. */
  readonly params: readonly (readonly [string, string])[];
}

/** Most accept-ranges taken from one request; more is refused as hostile. */
const MAX_RANGES = 256;

/** Strict `qvalue` (RFC 3261 §25.1) in thousandths, or -1. */
function parseQ(text: string): number {
  const len = text.length;
  if (len === 0 || len > 5) return -1;
  const lead = text.charCodeAt(0);
  if (lead !== 48 && lead !== 49) return -1;
  if (len === 1) return lead === 49 ? 1000 : 0;
  if (text.charCodeAt(1) !== 46) return -1;
  let thousandths = 0;
  let scale = 100;
  for (let i = 2; i < len; i++) {
    const c = text.charCodeAt(i);
    if (!isDigit(c)) return -1;
    thousandths += (c - 48) * scale;
    scale /= 10;
  }
  if (lead === 49) return thousandths === 0 ? 1000 : -1;
  return thousandths;
}

function parseRange(text: string): MediaRange | undefined {
  const end = text.length;
  const head = scanTypeSubtype(text, 0, end);
  if (head === undefined) return undefined;
  if (head.type === '*' && head.subtype !== '*') return undefined;
  const scanned = scanParams(text, head.pos, end);
  if (scanned === undefined) return undefined;
  const params: (readonly [string, string])[] = [];
  let q = 1000;
  let seenQ = false;
  for (const [rawName, value] of scanned.params) {
    const name = rawName.toLowerCase();
    if (name === 'q' && !seenQ) {
      if (value === undefined) return undefined;
      q = parseQ(value);
      if (q < 0) return undefined;
      seenQ = true;
    } else if (!seenQ) {
      if (value === undefined) return undefined;
      params.push([name, unquoteString(value)]);
    }
  }
  return { type: head.type, subtype: head.subtype, q: q / 1000, params };
}

/**
 * Parses the Accept header values of a request (each value may be a comma
 * list; RFC 3261 §20.1, §7.3.1). Returns the ranges in order; `[]` when the
 * header is present but empty. Returns `undefined` when any range is
 * malformed (bad syntax, `*\/subtype`, a bad qvalue), when a value exceeds
 * 8 KiB, or for more than 256 ranges.
 */
export function parseAccept(values: readonly string[]): MediaRange[] | undefined {
  const ranges: MediaRange[] = [];
  for (const value of values) {
    const elements = splitHeaderList(value);
    if (elements === undefined) return undefined;
    for (const element of elements) {
      const range = parseRange(element);
      if (range === undefined || ranges.length >= MAX_RANGES) return undefined;
      ranges.push(range);
    }
  }
  return ranges;
}

/**
 * The quality with which `mediaType` is accepted: the q of the most specific
 * matching range (`type/subtype` over `type/*` over `*\/*`, the highest q on
 * a tie; RFC 7231 §5.3.2 precedence, which RFC 3261 §20.1 inherits from
 * RFC 2616 §14.1). Media-type parameters are not compared. `ranges ===
 * undefined` (no Accept header) gives 1; no matching range or an invalid
 * `mediaType` gives 0.
 */
export function acceptQuality(ranges: readonly MediaRange[] | undefined, mediaType: string): number {
  if (ranges === undefined) return 1;
  const mt = parseMediaType(mediaType);
  if (mt === undefined) return 0;
  let bestLevel = 0;
  let bestQ = 0;
  for (const r of ranges) {
    let level: number;
    if (r.type === '*') level = 1;
    else if (r.type !== mt.type) continue;
    else if (r.subtype === '*') level = 2;
    else if (r.subtype === mt.subtype) level = 3;
    else continue;
    if (level > bestLevel) {
      bestLevel = level;
      bestQ = r.q;
    } else if (level === bestLevel && r.q > bestQ) {
      bestQ = r.q;
    }
  }
  return bestQ;
}

/**
 * Whether a body of `mediaType` may be sent (RFC 3261 §20.1; RFC 6665 §5.4.6
 * leaves the default to the package): `undefined` ranges (no Accept header)
 * accept the package default — callers pass only the default then — and an
 * empty list accepts nothing. q=0 means not acceptable.
 */
export function accepts(ranges: readonly MediaRange[] | undefined, mediaType: string): boolean {
  return acceptQuality(ranges, mediaType) > 0;
}
