/**
 * Comma-separated header field values (RFC 3261 §7.3.1: a header field whose
 * grammar is `x *(COMMA x)` may be split over several lines or combined into
 * one). Used for Record-Route, Route, Contact, Accept, Allow-Events.
 */
import { MAX_HEADER_VALUE_LENGTH, skipLws, trimEndLws } from './char-class.js';
import { scanQuotedString } from './quoted-string.js';

/**
 * Splits a header value at the commas that separate its elements (RFC 3261
 * §7.3.1, `COMMA = SWS "," SWS` of §25.1). Commas inside a quoted string
 * (with `\` escapes) or inside a URI in angle brackets do not split (a `"`
 * inside `<…>` is an ordinary character there: URIs cannot quote). Elements
 * are trimmed of LWS; empty elements (`a,,b`, an empty value) are skipped, so
 * an empty value gives `[]`.
 *
 * Returns `undefined` for an unterminated quoted string, an unbalanced `<` or
 * `>`, a nested `<`, or a value longer than 8 KiB.
 */
export function splitHeaderList(value: string): string[] | undefined {
  const end = value.length;
  if (end > MAX_HEADER_VALUE_LENGTH) return undefined;
  const out: string[] = [];
  let start = 0;
  let inAngle = false;
  let i = 0;
  while (i < end) {
    const c = value.charCodeAt(i);
    if (c === 34 && !inAngle) {
      const next = scanQuotedString(value, i, end);
      if (next < 0) return undefined;
      i = next;
      continue;
    }
    if (c === 60) {
      if (inAngle) return undefined;
      inAngle = true;
    } else if (c === 62) {
      if (!inAngle) return undefined;
      inAngle = false;
    } else if (c === 44 && !inAngle) {
      pushTrimmed(out, value, start, i);
      start = i + 1;
    }
    i++;
  }
  if (inAngle) return undefined;
  pushTrimmed(out, value, start, end);
  return out;
}

function pushTrimmed(out: string[], value: string, start: number, end: number): void {
  const s = skipLws(value, start, end);
  const e = trimEndLws(value, s, end);
  if (e > s) out.push(value.slice(s, e));
}
