/**
 * `name-addr` / `addr-spec` with header parameters: the value shape of From,
 * To, Contact, Route and Record-Route (RFC 3261 §20.10, §20.20, §20.39,
 * grammar §25.1):
 *
 * ```
 * from-spec    = ( name-addr / addr-spec ) *( SEMI from-param )
 * name-addr    = [ display-name ] LAQUOT addr-spec RAQUOT
 * addr-spec    = SIP-URI / SIPS-URI / absoluteURI
 * display-name = *(token LWS) / quoted-string
 * ```
 *
 * Parameter values are kept as written (quoted values keep their quotes), so
 * `withTag`/`withoutTag` can edit a value in place and leave every other byte
 * untouched.
 */
import {
  CC_TOKEN,
  MAX_HEADER_VALUE_LENGTH,
  charHas,
  equalsIgnoreCase,
  isAlpha,
  isDigit,
  isLws,
  skipLws,
  trimEndLws,
} from './char-class.js';
import { type Param, type ParamSpan, findParam, formatParams, scanParams } from './generic-params.js';
import { quoteString, scanQuotedString, unquoteString } from './quoted-string.js';
import { parseUri } from './uri.js';

/** A parsed name-addr or addr-spec with its header parameters (RFC 3261 §20.10). */
export interface NameAddr {
  /** Display name: a quoted string unescaped, or the tokens of an unquoted name joined by single spaces. */
  readonly displayName?: string;
  /** The URI as written between `<` and `>` (or the bare addr-spec). */
  readonly uri: string;
  /** Header parameters (`;tag=…`, `;expires=…`, `;+sip.instance="<urn:…>"`), values as written. */
  readonly params: readonly Param[];
}

interface ScannedNameAddr {
  readonly value: NameAddr;
  readonly spans: readonly ParamSpan[];
  /** Index just past the last non-LWS character. */
  readonly contentEnd: number;
}

/**
 * `addr-spec`: a sip/sips/tel/pres URI must parse with `parseUri`; any other
 * scheme must look like an `absoluteURI` (scheme ":" then visible US-ASCII
 * characters other than `"`, `<`, `>`).
 */
function isValidAddrSpec(uri: string): boolean {
  if (uri.length === 0 || !isAlpha(uri.charCodeAt(0))) return false;
  let i = 1;
  while (i < uri.length) {
    const c = uri.charCodeAt(i);
    if (!(isAlpha(c) || isDigit(c) || c === 43 || c === 45 || c === 46)) break;
    i++;
  }
  if (i >= uri.length || uri.charCodeAt(i) !== 58) return false;
  const scheme = uri.slice(0, i);
  if (
    equalsIgnoreCase(scheme, 'sip') ||
    equalsIgnoreCase(scheme, 'sips') ||
    equalsIgnoreCase(scheme, 'tel') ||
    equalsIgnoreCase(scheme, 'pres')
  ) {
    return parseUri(uri) !== undefined;
  }
  if (i + 1 >= uri.length) return false;
  for (let k = i + 1; k < uri.length; k++) {
    const c = uri.charCodeAt(k);
    if (c <= 32 || c >= 127 || c === 34 || c === 60 || c === 62) return false;
  }
  return true;
}

/** Unquoted display name: tokens separated by LWS, joined by single spaces. */
function collapseLws(text: string, start: number, end: number): string {
  let out = '';
  let pendingSpace = false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (isLws(c)) {
      pendingSpace = out.length > 0;
      continue;
    }
    if (pendingSpace) {
      out += ' ';
      pendingSpace = false;
    }
    out += text[i];
  }
  return out;
}

function scanNameAddr(text: string): ScannedNameAddr | undefined {
  if (text.length > MAX_HEADER_VALUE_LENGTH) return undefined;
  const s = skipLws(text, 0, text.length);
  const e = trimEndLws(text, s, text.length);
  if (s >= e) return undefined;

  let displayName: string | undefined;
  let pos = s;
  let angle = false;
  const first = text.charCodeAt(s);
  if (first === 34) {
    const q = scanQuotedString(text, s, e);
    if (q < 0) return undefined;
    displayName = unquoteString(text.slice(s, q));
    pos = skipLws(text, q, e);
    if (pos >= e || text.charCodeAt(pos) !== 60) return undefined;
    angle = true;
  } else if (first === 60) {
    angle = true;
  } else {
    // Unquoted display name: tokens and LWS up to `<`. Non-ASCII characters
    // are tolerated (UTF-8 names sent unquoted by many phones).
    let i = s;
    while (i < e) {
      const c = text.charCodeAt(i);
      if (!(charHas(c, CC_TOKEN) || isLws(c) || c >= 128)) break;
      i++;
    }
    if (i < e && text.charCodeAt(i) === 60) {
      displayName = collapseLws(text, s, i);
      pos = i;
      angle = true;
    }
  }

  let uri: string;
  if (angle) {
    const gt = text.indexOf('>', pos + 1);
    if (gt < 0 || gt >= e) return undefined;
    const us = skipLws(text, pos + 1, gt);
    const ue = trimEndLws(text, us, gt);
    uri = text.slice(us, ue);
    pos = gt + 1;
  } else {
    // Bare addr-spec: the URI cannot contain `;`, `,` or `?` unbracketed
    // (RFC 3261 §20.10), so parameters after `;` belong to the header.
    let i = s;
    while (i < e) {
      const c = text.charCodeAt(i);
      if (c === 59 || isLws(c)) break;
      i++;
    }
    uri = text.slice(s, i);
    pos = i;
  }
  if (!isValidAddrSpec(uri)) return undefined;

  const scanned = scanParams(text, pos, e);
  if (scanned === undefined) return undefined;
  const value: { displayName?: string; uri: string; params: Param[] } = { uri, params: scanned.params };
  if (displayName !== undefined) value.displayName = displayName;
  return { value, spans: scanned.spans, contentEnd: e };
}

/**
 * Parses a From/To/Contact/Route-style value: `"Quoted \"Name\"" <sip:a@b;lr>;tag=x`,
 * `Token Name <uri>`, `<uri>;params` or a bare addr-spec `sip:a@b;tag=x`
 * whose `;` parameters belong to the header, not the URI (RFC 3261 §20.10).
 * The URI must be a valid sip/sips/tel/pres URI or an absoluteURI.
 * Returns `undefined` for anything else (including `*` and lists), and for
 * input over 8 KiB.
 */
export function parseNameAddr(text: string): NameAddr | undefined {
  return scanNameAddr(text)?.value;
}

/**
 * Text form of a name-addr (RFC 3261 §25.1), always with `<uri>`; a display
 * name is always written as a quoted string (escaped, see `quoteString`).
 */
export function formatNameAddr(na: NameAddr): string {
  const head = na.displayName === undefined ? '' : quoteString(na.displayName) + ' ';
  return head + '<' + na.uri + '>' + formatParams(na.params);
}

/**
 * The value of header parameter `name` (case-insensitive, RFC 3261 §7.3.1):
 * as written, `undefined` when present without a value, `null` when absent.
 */
export function headerParam(na: NameAddr, name: string): string | undefined | null {
  return findParam(na.params, name);
}

/** The `tag` parameter of a From or To value (RFC 3261 §19.3), or `undefined` when absent, valueless or unparseable. */
export function tagOf(headerValue: string): string | undefined {
  const scanned = scanNameAddr(headerValue);
  if (scanned === undefined) return undefined;
  const tag = findParam(scanned.value.params, 'tag');
  return typeof tag === 'string' ? tag : undefined;
}

/** The spans of all `tag` parameters, in order. */
function tagSpans(scanned: ScannedNameAddr): ParamSpan[] {
  const out: ParamSpan[] = [];
  scanned.value.params.forEach(([name], i) => {
    const span = scanned.spans[i];
    if (span !== undefined && equalsIgnoreCase(name, 'tag')) out.push(span);
  });
  return out;
}

/**
 * `text` with each span's `[start, end)` replaced: the first by `first` (when
 * given) and the others removed. One pass, so hostile values with many tag
 * parameters cost linear time.
 */
function rewriteSpans(
  text: string,
  spans: readonly ParamSpan[],
  first: ((span: ParamSpan) => string) | undefined,
): string {
  let out = '';
  let from = 0;
  spans.forEach((span, k) => {
    out += text.slice(from, span.start);
    if (k === 0 && first !== undefined) out += text.slice(span.start, span.nameEnd) + first(span);
    from = span.end;
  });
  return out + text.slice(from);
}

/**
 * The From/To value with its `tag` parameter set to `tag` (RFC 3261 §12.1.1:
 * the UAS adds its tag to To). An existing tag is replaced in place, further
 * (duplicate) tags are removed; otherwise `;tag=…` is appended after the last
 * non-LWS character. All other bytes are kept as they were. `tag` must be a
 * `token` (the caller's responsibility). An unparseable value gets `;tag=…`
 * appended to its trimmed text (best effort; callers validate first).
 */
export function withTag(headerValue: string, tag: string): string {
  const scanned = scanNameAddr(headerValue);
  if (scanned === undefined) {
    const s = skipLws(headerValue, 0, headerValue.length);
    return headerValue.slice(s, trimEndLws(headerValue, s, headerValue.length)) + ';tag=' + tag;
  }
  const spans = tagSpans(scanned);
  if (spans.length === 0) {
    return headerValue.slice(0, scanned.contentEnd) + ';tag=' + tag + headerValue.slice(scanned.contentEnd);
  }
  return rewriteSpans(headerValue, spans, (span) =>
    span.valueStart === span.nameEnd ? '=' + tag : headerValue.slice(span.nameEnd, span.valueStart) + tag,
  );
}

/**
 * The From/To value without any `tag` parameter (e.g. to compare the
 * identity part of two values); other bytes are kept. Unparseable values
 * are returned unchanged.
 */
export function withoutTag(headerValue: string): string {
  const scanned = scanNameAddr(headerValue);
  if (scanned === undefined) return headerValue;
  return rewriteSpans(headerValue, tagSpans(scanned), undefined);
}
