/**
 * Media types as carried by Content-Type (RFC 3261 §20.15, grammar §25.1;
 * RFC 2045 §5.1):
 *
 * ```
 * media-type  = m-type SLASH m-subtype *(SEMI m-parameter)
 * m-parameter = m-attribute EQUAL m-value     ; m-value = token / quoted-string
 * ```
 *
 * Type, subtype and parameter names are case-insensitive (RFC 2045 §5.1) and
 * are lower-cased; parameter values are unquoted and otherwise kept as written.
 */
import { CC_TOKEN, MAX_HEADER_VALUE_LENGTH, charHas, isToken, skipLws, trimEndLws } from './char-class.js';
import { scanParams } from './generic-params.js';
import { quoteString, unquoteString } from './quoted-string.js';

/** A parsed media type. */
export interface MediaType {
  /** Lower-cased type, e.g. `application`. */
  readonly type: string;
  /** Lower-cased subtype, e.g. `pidf+xml`. */
  readonly subtype: string;
  /** Parameters in order: lower-cased name, unquoted value. */
  readonly params: readonly (readonly [string, string])[];
}

/**
 * Scans `token SLASH token` (SLASH = SWS "/" SWS, RFC 3261 §25.1) from `pos`;
 * returns the lower-cased parts and the index after the subtype. A building
 * block shared with the Accept parser.
 */
export function scanTypeSubtype(
  text: string,
  pos: number,
  end: number,
): { readonly type: string; readonly subtype: string; readonly pos: number } | undefined {
  const typeStart = pos;
  while (pos < end && charHas(text.charCodeAt(pos), CC_TOKEN)) pos++;
  if (pos === typeStart) return undefined;
  const type = text.slice(typeStart, pos).toLowerCase();
  pos = skipLws(text, pos, end);
  if (pos >= end || text.charCodeAt(pos) !== 47) return undefined;
  pos = skipLws(text, pos + 1, end);
  const subStart = pos;
  while (pos < end && charHas(text.charCodeAt(pos), CC_TOKEN)) pos++;
  if (pos === subStart) return undefined;
  return { type, subtype: text.slice(subStart, pos).toLowerCase(), pos };
}

/**
 * Parses a Content-Type value such as `application/pidf+xml;charset="UTF-8"`
 * (RFC 3261 §20.15). Every parameter needs a value (RFC 3261 §25.1
 * `m-parameter`). Returns `undefined` when malformed or over 8 KiB.
 */
export function parseMediaType(text: string): MediaType | undefined {
  if (text.length > MAX_HEADER_VALUE_LENGTH) return undefined;
  const start = skipLws(text, 0, text.length);
  const end = trimEndLws(text, start, text.length);
  const head = scanTypeSubtype(text, start, end);
  if (head === undefined) return undefined;
  const scanned = scanParams(text, head.pos, end);
  if (scanned === undefined) return undefined;
  const params: (readonly [string, string])[] = [];
  for (const [name, value] of scanned.params) {
    if (value === undefined) return undefined;
    params.push([name.toLowerCase(), unquoteString(value)]);
  }
  return { type: head.type, subtype: head.subtype, params };
}

/** `type/subtype;name=value`, values quoted when they are not tokens (RFC 3261 §25.1). */
export function formatMediaType(mt: MediaType): string {
  let out = mt.type + '/' + mt.subtype;
  for (const [name, value] of mt.params) out += ';' + name + '=' + (isToken(value) ? value : quoteString(value));
  return out;
}

/**
 * True when both values parse and have the same type and subtype
 * (case-insensitive; parameters ignored). Invalid values are never the same.
 */
export function sameMediaType(a: string, b: string): boolean {
  const x = parseMediaType(a);
  if (x === undefined) return false;
  const y = parseMediaType(b);
  return y !== undefined && x.type === y.type && x.subtype === y.subtype;
}
