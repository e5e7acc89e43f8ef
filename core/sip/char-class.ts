/**
 * US-ASCII character classes of the SIP grammar (RFC 3261 §25.1) as one
 * lookup table, plus the whitespace helpers every hand-written scanner in
 * `core/sip/` shares. Table look-ups keep the scanners linear and free of
 * regular expressions (no backtracking on hostile input).
 */

/**
 * Longest header field value (or URI) the scanners accept: 8 KiB. Longer
 * values are refused as hostile rather than scanned (RFC 3261 §20 sets no
 * limit; this is an operational bound).
 */
export const MAX_HEADER_VALUE_LENGTH = 8192;

/** `token` (RFC 3261 §25.1): alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~". */
export const CC_TOKEN = 0x01;
/** `unreserved` = alphanum / mark (RFC 3261 §25.1). */
export const CC_UNRESERVED = 0x02;
/** Characters of `user` other than `escaped`: unreserved / user-unreserved (RFC 3261 §25.1). */
export const CC_USER = 0x04;
/** Characters of `password` other than `escaped` (RFC 3261 §25.1). */
export const CC_PASSWORD = 0x08;
/** `paramchar` other than `escaped`: param-unreserved / unreserved (RFC 3261 §25.1). */
export const CC_PARAM = 0x10;
/** Characters of `hname`/`hvalue` other than `escaped`: hnv-unreserved / unreserved (RFC 3261 §25.1). */
export const CC_HNV = 0x20;
/** `alphanum` (RFC 3261 §25.1). */
export const CC_ALPHANUM = 0x40;
/** `HEXDIG` (RFC 2234), either case. */
export const CC_HEX = 0x80;

const TABLE = new Uint8Array(128);

function mark(chars: string, flags: number): void {
  for (let i = 0; i < chars.length; i++) {
    const c = chars.charCodeAt(i);
    TABLE[c] = (TABLE[c] ?? 0) | flags;
  }
}

const DIGITS = '0123456789';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const ALL_URI = CC_UNRESERVED | CC_USER | CC_PASSWORD | CC_PARAM | CC_HNV;

mark(DIGITS + LOWER + UPPER, CC_TOKEN | CC_ALPHANUM | ALL_URI);
mark(DIGITS + 'abcdefABCDEF', CC_HEX);
// mark = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")"
mark("-_.!~*'()", ALL_URI);
// token adds "%" / "+" / "`" to alphanum and the marks other than "(" / ")"
mark("-_.!~*'%+`", CC_TOKEN);
// user-unreserved = "&" / "=" / "+" / "$" / "," / ";" / "?" / "/"
mark('&=+$,;?/', CC_USER);
// password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," )
mark('&=+$,', CC_PASSWORD);
// param-unreserved = "[" / "]" / "/" / ":" / "&" / "+" / "$"
mark('[]/:&+$', CC_PARAM);
// hnv-unreserved = "[" / "]" / "/" / "?" / ":" / "+" / "$"
mark('[]/?:+$', CC_HNV);

/** True when the UTF-16 code unit `code` is US-ASCII and belongs to every class in `cls`. */
export function charHas(code: number, cls: number): boolean {
  return code < 128 && ((TABLE[code] ?? 0) & cls) === cls;
}

/** True when `text` is a non-empty `token` (RFC 3261 §25.1). */
export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    if (!charHas(text.charCodeAt(i), CC_TOKEN)) return false;
  }
  return true;
}

/** `DIGIT`. */
export function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** `ALPHA`. */
export function isAlpha(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

/** Value of a `HEXDIG`, or -1. */
export function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

/**
 * Linear white space (RFC 3261 §25.1 `LWS`): SP, HTAB and the CR/LF of a
 * folded line. Fronts normally hand over unfolded values; a stray CR/LF
 * between elements is treated as white space, inside a quoted string it is refused.
 */
export function isLws(code: number): boolean {
  return code === 32 || code === 9 || code === 13 || code === 10;
}

/** Index of the first non-LWS character in `[pos, end)`, or `end`. */
export function skipLws(text: string, pos: number, end: number): number {
  while (pos < end && isLws(text.charCodeAt(pos))) pos++;
  return pos;
}

/** `end` moved back over trailing LWS, never before `start`. */
export function trimEndLws(text: string, start: number, end: number): number {
  while (end > start && isLws(text.charCodeAt(end - 1))) end--;
  return end;
}

/** `text` without leading and trailing LWS. */
export function trimLws(text: string): string {
  const start = skipLws(text, 0, text.length);
  const end = trimEndLws(text, start, text.length);
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/** ASCII-only lower-casing equality of two strings (tokens, parameter names, schemes). */
export function equalsIgnoreCase(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 65 && x <= 90) x += 32;
    if (y >= 65 && y <= 90) y += 32;
    if (x !== y) return false;
  }
  return true;
}
