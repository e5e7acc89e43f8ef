/**
 * `quoted-string` of RFC 3261 §25.1:
 *
 * ```
 * quoted-string = SWS DQUOTE *(qdtext / quoted-pair ) DQUOTE
 * qdtext        = LWS / %x21 / %x23-5B / %x5D-7E / UTF8-NONASCII
 * quoted-pair   = "\" (%x00-09 / %x0B-0C / %x0E-7F)
 * ```
 *
 * Values reach the core unfolded, so a raw CR or LF (or any other control
 * character but HTAB) inside a quoted string is refused: it can only be an
 * attempt at header injection.
 */

/**
 * Scans a quoted string whose opening `"` is at `start`. Returns the index
 * just past the closing quote, or -1 when the string is unterminated or
 * contains a forbidden character (RFC 3261 §25.1).
 */
export function scanQuotedString(text: string, start: number, end: number): number {
  if (start >= end || text.charCodeAt(start) !== 34) return -1;
  let i = start + 1;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === 34) return i + 1;
    if (c === 92) {
      if (i + 1 >= end) return -1;
      const next = text.charCodeAt(i + 1);
      if (next === 10 || next === 13) return -1;
      i += 2;
      continue;
    }
    if ((c < 32 && c !== 9) || c === 127) return -1;
    i++;
  }
  return -1;
}

/**
 * The content of a quoted string with quoted-pairs resolved (RFC 3261 §25.1).
 * A value that is not enclosed in `"` is returned unchanged.
 */
export function unquoteString(raw: string): string {
  if (raw.length < 2 || raw.charCodeAt(0) !== 34 || raw.charCodeAt(raw.length - 1) !== 34) return raw;
  const inner = raw.slice(1, -1);
  if (inner.indexOf('\\') < 0) return inner;
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    const c = inner.charCodeAt(i);
    if (c === 92 && i + 1 < inner.length) {
      out += inner[i + 1];
      i++;
    } else {
      out += inner[i];
    }
  }
  return out;
}

/**
 * `value` as a quoted string (RFC 3261 §25.1): `"` and `\` are escaped;
 * control characters, which no quoted-pair can carry safely (CR, LF), are
 * replaced by a space so that the result can never break a header line.
 */
export function quoteString(value: string): string {
  let out = '"';
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 34 || c === 92) {
      out += value.slice(from, i) + '\\' + value[i];
      from = i + 1;
    } else if ((c < 32 && c !== 9) || c === 127) {
      out += value.slice(from, i) + ' ';
      from = i + 1;
    }
  }
  return out + value.slice(from) + '"';
}
