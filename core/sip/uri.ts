/**
 * SIP, SIPS, pres and tel URIs: parsing (RFC 3261 §19.1, grammar §25.1;
 * RFC 3966 for tel; RFC 3859 for pres, parsed like sip), formatting, and the
 * canonical address-of-record key that names a presentity.
 *
 * ```
 * SIP-URI   = "sip:" [ userinfo ] hostport uri-parameters [ headers ]
 * userinfo  = ( user / telephone-subscriber ) [ ":" password ] "@"
 * hostport  = host [ ":" port ]
 * host      = hostname / IPv4address / IPv6reference
 * uri-parameters = *( ";" uri-parameter )      ; pname [ "=" pvalue ]
 * headers   = "?" header *( "&" header )       ; hname "=" hvalue
 * ```
 *
 * Components are kept exactly as written (escapes are not decoded, host case
 * is kept; an IPv6 host keeps its brackets) so that `formatUri` reproduces a
 * parsed URI byte for byte. `aorOf` is where normalisation happens.
 */
import {
  CC_ALPHANUM,
  CC_HNV,
  CC_PARAM,
  CC_PASSWORD,
  CC_UNRESERVED,
  CC_USER,
  MAX_HEADER_VALUE_LENGTH,
  charHas,
  equalsIgnoreCase,
  hexValue,
  isAlpha,
  isDigit,
  skipLws,
  trimEndLws,
} from './char-class.js';
import { MAX_PARAMS } from './generic-params.js';
import { formatIPv6, parseIPv4, parseIPv6 } from './ip-address.js';

export { isPrivateAddress } from './ip-address.js';

/** URI schemes the presence server handles. */
export type UriScheme = 'sip' | 'sips' | 'tel' | 'pres';

/**
 * A parsed URI (RFC 3261 §19.1.1 components). For `tel:` (RFC 3966) `host`
 * is `''` and `user` is the telephone number as written (`+1-212-555-0100`).
 * For IPv6, `host` includes the brackets (`[2001:db8::1]`).
 */
export interface SipUri {
  readonly scheme: UriScheme;
  /** User part as written (escaped form). */
  readonly user?: string;
  /** Password as written (deprecated by RFC 3261 §19.1.1, still parsed). */
  readonly password?: string;
  readonly host: string;
  readonly port?: number;
  /** URI parameters in order; names and values as written, value `undefined` for `;lr`. */
  readonly params: readonly (readonly [string, string | undefined])[];
  /** URI headers (`?h=v&…`) in order, as written. */
  readonly headers: readonly (readonly [string, string])[];
}

type MutableParams = (readonly [string, string | undefined])[];

/**
 * Scans characters of class `cls` and `escaped` (`"%" HEXDIG HEXDIG`) from
 * `pos`; returns the index of the first other character, or -1 on a broken escape.
 */
function scanUriChars(text: string, pos: number, end: number, cls: number): number {
  while (pos < end) {
    const c = text.charCodeAt(pos);
    if (c === 37) {
      if (pos + 2 >= end || hexValue(text.charCodeAt(pos + 1)) < 0 || hexValue(text.charCodeAt(pos + 2)) < 0) {
        return -1;
      }
      pos += 3;
    } else if (charHas(c, cls)) {
      pos++;
    } else {
      break;
    }
  }
  return pos;
}

function isHostChar(c: number): boolean {
  return charHas(c, CC_ALPHANUM) || c === 45 || c === 46 || c === 95;
}

/**
 * `hostname / IPv4address` of RFC 3261 §25.1. Labels of alphanum and `-`
 * (not at either end), the top label starting with a letter, one trailing
 * dot allowed. `_` is tolerated inside labels (container and lab host names
 * in the wild; Kamailio accepts them too). All-numeric names must be IPv4.
 */
function isValidHost(h: string): boolean {
  let n = h.length;
  if (n === 0 || n > 255) return false;
  let numeric = true;
  for (let i = 0; i < n; i++) {
    const c = h.charCodeAt(i);
    if (!isDigit(c) && c !== 46) {
      numeric = false;
      break;
    }
  }
  if (numeric) return parseIPv4(h) !== undefined;
  if (h.charCodeAt(n - 1) === 46) n--;
  if (n === 0) return false;
  let labelStart = 0;
  let top = 0;
  for (let i = 0; i <= n; i++) {
    if (i === n || h.charCodeAt(i) === 46) {
      if (i === labelStart || i - labelStart > 63) return false;
      if (h.charCodeAt(labelStart) === 45 || h.charCodeAt(i - 1) === 45) return false;
      top = labelStart;
      labelStart = i + 1;
    }
  }
  return isAlpha(h.charCodeAt(top));
}

function schemeOf(text: string, start: number, end: number): UriScheme | undefined {
  const s = text.slice(start, end);
  if (equalsIgnoreCase(s, 'sip')) return 'sip';
  if (equalsIgnoreCase(s, 'sips')) return 'sips';
  if (equalsIgnoreCase(s, 'tel')) return 'tel';
  if (equalsIgnoreCase(s, 'pres')) return 'pres';
  return undefined;
}

/**
 * Parses a `sip:`, `sips:`, `pres:` (RFC 3859, same shape as sip) or `tel:`
 * (RFC 3966) URI. Surrounding LWS is ignored; the scheme is case-insensitive
 * (RFC 3261 §19.1.4). Returns `undefined` for anything not matching the
 * RFC 3261 §25.1 grammar, for a port above 65535, for broken `%` escapes,
 * for more than 64 parameters or 64 headers, and for input over 8 KiB.
 */
export function parseUri(text: string): SipUri | undefined {
  if (text.length > MAX_HEADER_VALUE_LENGTH) return undefined;
  const start = skipLws(text, 0, text.length);
  const end = trimEndLws(text, start, text.length);
  let colon = start;
  while (colon < end && colon - start < 5 && text.charCodeAt(colon) !== 58) colon++;
  if (colon >= end || text.charCodeAt(colon) !== 58) return undefined;
  const scheme = schemeOf(text, start, colon);
  if (scheme === undefined) return undefined;
  return scheme === 'tel' ? parseTel(text, colon + 1, end) : parseSipLike(text, colon + 1, end, scheme);
}

function parseSipLike(text: string, pos: number, end: number, scheme: UriScheme): SipUri | undefined {
  let user: string | undefined;
  let password: string | undefined;
  const at = text.indexOf('@', pos);
  if (at >= 0 && at < end) {
    const userEnd = scanUriChars(text, pos, at, CC_USER);
    if (userEnd <= pos) return undefined;
    user = text.slice(pos, userEnd);
    if (userEnd < at) {
      if (text.charCodeAt(userEnd) !== 58) return undefined;
      if (scanUriChars(text, userEnd + 1, at, CC_PASSWORD) !== at) return undefined;
      password = text.slice(userEnd + 1, at);
    }
    pos = at + 1;
  }

  let host: string;
  if (pos < end && text.charCodeAt(pos) === 91) {
    const close = text.indexOf(']', pos);
    if (close < 0 || close >= end) return undefined;
    if (parseIPv6(text.slice(pos + 1, close)) === undefined) return undefined;
    host = text.slice(pos, close + 1);
    pos = close + 1;
  } else {
    const hostStart = pos;
    while (pos < end && isHostChar(text.charCodeAt(pos))) pos++;
    host = text.slice(hostStart, pos);
    if (!isValidHost(host)) return undefined;
  }

  let port: number | undefined;
  if (pos < end && text.charCodeAt(pos) === 58) {
    const portStart = ++pos;
    let value = 0;
    while (pos < end && isDigit(text.charCodeAt(pos))) {
      if (pos - portStart >= 5) return undefined;
      value = value * 10 + (text.charCodeAt(pos) - 48);
      pos++;
    }
    if (pos === portStart || value > 65535) return undefined;
    port = value;
  }

  const params: MutableParams = [];
  while (pos < end && text.charCodeAt(pos) === 59) {
    if (params.length >= MAX_PARAMS) return undefined;
    const nameStart = pos + 1;
    const nameEnd = scanUriChars(text, nameStart, end, CC_PARAM);
    if (nameEnd <= nameStart) return undefined;
    pos = nameEnd;
    let value: string | undefined;
    if (pos < end && text.charCodeAt(pos) === 61) {
      const valueEnd = scanUriChars(text, pos + 1, end, CC_PARAM);
      if (valueEnd <= pos + 1) return undefined;
      value = text.slice(pos + 1, valueEnd);
      pos = valueEnd;
    }
    params.push([text.slice(nameStart, nameEnd), value]);
  }

  const headers: (readonly [string, string])[] = [];
  if (pos < end && text.charCodeAt(pos) === 63) {
    do {
      if (headers.length >= MAX_PARAMS) return undefined;
      const nameStart = pos + 1;
      const nameEnd = scanUriChars(text, nameStart, end, CC_HNV);
      if (nameEnd <= nameStart || nameEnd >= end || text.charCodeAt(nameEnd) !== 61) return undefined;
      const valueEnd = scanUriChars(text, nameEnd + 1, end, CC_HNV);
      if (valueEnd < 0) return undefined;
      headers.push([text.slice(nameStart, nameEnd), text.slice(nameEnd + 1, valueEnd)]);
      pos = valueEnd;
    } while (pos < end && text.charCodeAt(pos) === 38);
  }
  if (pos !== end) return undefined;

  return build(scheme, user, password, host, port, params, headers);
}

function build(
  scheme: UriScheme,
  user: string | undefined,
  password: string | undefined,
  host: string,
  port: number | undefined,
  params: MutableParams,
  headers: (readonly [string, string])[],
): SipUri {
  const uri: {
    scheme: UriScheme;
    user?: string;
    password?: string;
    host: string;
    port?: number;
    params: MutableParams;
    headers: (readonly [string, string])[];
  } = { scheme, host, params, headers };
  if (user !== undefined) uri.user = user;
  if (password !== undefined) uri.password = password;
  if (port !== undefined) uri.port = port;
  return uri;
}

function isVisualSeparator(c: number): boolean {
  return c === 45 || c === 46 || c === 40 || c === 41;
}

/**
 * `telephone-uri` of RFC 3966 §3, minimal: a global number (`+` and digits
 * with visual separators) or a local number (hex digits, `*`, `#`, visual
 * separators), then `;name[=value]` parameters. A local number without
 * `phone-context` (required by RFC 3966 §5.1.5) is tolerated.
 */
function parseTel(text: string, pos: number, end: number): SipUri | undefined {
  const numberStart = pos;
  const global = pos < end && text.charCodeAt(pos) === 43;
  if (global) pos++;
  let significant = false;
  while (pos < end) {
    const c = text.charCodeAt(pos);
    if (c === 59) break;
    if (isDigit(c) || (!global && (hexValue(c) >= 0 || c === 42 || c === 35))) significant = true;
    else if (!isVisualSeparator(c)) return undefined;
    pos++;
  }
  if (!significant) return undefined;
  const user = text.slice(numberStart, pos);
  const params: MutableParams = [];
  while (pos < end && text.charCodeAt(pos) === 59) {
    if (params.length >= MAX_PARAMS) return undefined;
    const nameStart = ++pos;
    while (pos < end && (charHas(text.charCodeAt(pos), CC_ALPHANUM) || text.charCodeAt(pos) === 45)) pos++;
    if (pos === nameStart) return undefined;
    const name = text.slice(nameStart, pos);
    let value: string | undefined;
    if (pos < end && text.charCodeAt(pos) === 61) {
      const valueEnd = scanUriChars(text, pos + 1, end, CC_PARAM);
      if (valueEnd <= pos + 1) return undefined;
      value = text.slice(pos + 1, valueEnd);
      pos = valueEnd;
    }
    params.push([name, value]);
  }
  if (pos !== end) return undefined;
  return build('tel', user, undefined, '', undefined, params, []);
}

/**
 * Text form of a URI (RFC 3261 §19.1.1), components as stored. An IPv6 host
 * given without brackets is bracketed. Parameters without value are written
 * as `;name`. For `tel:` only the number and parameters are written.
 */
export function formatUri(uri: SipUri): string {
  let out = uri.scheme + ':';
  if (uri.scheme === 'tel') {
    out += uri.user ?? '';
  } else {
    if (uri.user !== undefined) {
      out += uri.user;
      if (uri.password !== undefined) out += ':' + uri.password;
      out += '@';
    }
    out += uri.host.indexOf(':') >= 0 && uri.host.charCodeAt(0) !== 91 ? '[' + uri.host + ']' : uri.host;
    if (uri.port !== undefined) out += ':' + String(uri.port);
  }
  for (const [name, value] of uri.params) out += value === undefined ? ';' + name : ';' + name + '=' + value;
  if (uri.scheme !== 'tel' && uri.headers.length > 0) {
    let sep = '?';
    for (const [name, value] of uri.headers) {
      out += sep + name + '=' + value;
      sep = '&';
    }
  }
  return out;
}

/**
 * The value of URI parameter `name`, compared case-insensitively (RFC 3261
 * §19.1.4): the value as written, `undefined` when present without a value
 * (e.g. `;lr`), `null` when absent.
 */
export function uriParam(uri: SipUri, name: string): string | undefined | null {
  for (const [n, v] of uri.params) {
    if (equalsIgnoreCase(n, name)) return v;
  }
  return null;
}

/** True when the URI carries parameter `name` (case-insensitive, RFC 3261 §19.1.4). */
export function hasParam(uri: SipUri, name: string): boolean {
  return uriParam(uri, name) !== null;
}

const HEX_UPPER = '0123456789ABCDEF';

/**
 * The user part with `%` escapes normalised (RFC 3261 §19.1.4: a character
 * other than those in `reserved` is equivalent to its `%HH` form): escapes of
 * `unreserved` characters are decoded, the remaining escapes get upper-case hex.
 */
function normaliseEscapes(user: string): string {
  if (user.indexOf('%') < 0) return user;
  let out = '';
  for (let i = 0; i < user.length; i++) {
    const c = user.charCodeAt(i);
    if (c === 37 && i + 2 < user.length) {
      const hi = hexValue(user.charCodeAt(i + 1));
      const lo = hexValue(user.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        const code = hi * 16 + lo;
        out += charHas(code, CC_UNRESERVED)
          ? String.fromCharCode(code)
          : '%' + (HEX_UPPER[hi] ?? '') + (HEX_UPPER[lo] ?? '');
        i += 2;
        continue;
      }
    }
    out += user[i];
  }
  return out;
}

function canonicalHost(host: string): string {
  if (host.charCodeAt(0) === 91) {
    const groups = parseIPv6(host.slice(1, -1));
    if (groups !== undefined) return '[' + formatIPv6(groups) + ']';
  }
  return host.toLowerCase();
}

function stripVisualSeparators(number: string): string {
  let out = '';
  for (let i = 0; i < number.length; i++) {
    if (!isVisualSeparator(number.charCodeAt(i))) out += number[i];
  }
  return out;
}

/**
 * The canonical address of record of a parsed URI (see `aorOf`).
 */
export function aorOfUri(uri: SipUri): string {
  if (uri.scheme === 'tel') {
    const number = stripVisualSeparators(uri.user ?? '');
    if (number.charCodeAt(0) === 43) return 'tel:' + number;
    const context = uriParam(uri, 'phone-context');
    if (typeof context !== 'string') return 'tel:' + number.toLowerCase();
    const ctx = context.charCodeAt(0) === 43 ? stripVisualSeparators(context) : context.toLowerCase();
    return 'tel:' + number.toLowerCase() + ';phone-context=' + ctx;
  }
  const host = canonicalHost(uri.host);
  return uri.user === undefined ? 'sip:' + host : 'sip:' + normaliseEscapes(uri.user) + '@' + host;
}

/**
 * The canonical presentity key (address of record) of a URI, or `undefined`
 * when the URI does not parse:
 *
 * - `sip:`, `sips:` and `pres:` give `sip:user@host`: the user part stays
 *   case-sensitive with `%` escapes normalised (RFC 3261 §19.1.4), the host is
 *   lower-cased (IPv6 in RFC 5952 form), password, port, parameters and
 *   headers are dropped; without a user part the key is `sip:host`.
 * - `tel:` gives `tel:+number` with visual separators removed (RFC 3966 §5.1.1);
 *   a local number keeps its `phone-context`.
 */
export function aorOf(uriText: string): string | undefined {
  const uri = parseUri(uriText);
  return uri === undefined ? undefined : aorOfUri(uri);
}
