/**
 * Header parameters: `*( SEMI generic-param )` of RFC 3261 §25.1, shared by
 * the name-addr, Event, Subscription-State, Content-Type and Accept scanners.
 *
 * ```
 * generic-param = token [ EQUAL gen-value ]
 * gen-value     = token / host / quoted-string
 * SEMI = SWS ";" SWS      EQUAL = SWS "=" SWS
 * ```
 *
 * Values are kept as written: a quoted-string value keeps its quotes (use
 * `unquoteString`), so a header can be re-emitted without loss. Parameter
 * names compare case-insensitively (RFC 3261 §7.3.1).
 */
import { CC_TOKEN, charHas, equalsIgnoreCase, skipLws } from './char-class.js';
import { scanQuotedString } from './quoted-string.js';

/** One parameter: name as written, value as written (`undefined` when it has no `=`). */
export type Param = readonly [name: string, value: string | undefined];

/** Where one parameter sits in the scanned text (offsets into it). */
export interface ParamSpan {
  /** Where scanning of this parameter began: the LWS before its `;` (removing `[start, end)` removes the parameter). */
  readonly start: number;
  /** Index just past the name. */
  readonly nameEnd: number;
  /** Index of the first character of the value (equals `nameEnd` when there is none). */
  readonly valueStart: number;
  /** Index just past the parameter (past its value, or its name when there is no value). */
  readonly end: number;
}

export interface ScannedParams {
  readonly params: Param[];
  readonly spans: ParamSpan[];
}

/**
 * Most parameters accepted on one header value. Real values carry a handful
 * (a feature-rich Contact about 15); more is refused as hostile, which bounds
 * the allocation work a crafted 8 KiB value can cause.
 */
export const MAX_PARAMS = 64;

/**
 * `host` characters a gen-value may hold besides token characters: the
 * brackets and colons of an IPv6 reference (RFC 3261 §25.1 `gen-value`, e.g. `received=[2001:db8::1]`).
 */
function isHostExtra(code: number): boolean {
  return code === 91 || code === 93 || code === 58;
}

/**
 * Scans `*( SEMI generic-param )` from `pos` to `end` (trailing LWS allowed).
 * Returns `undefined` when anything but well-formed parameters is found
 * (RFC 3261 §25.1 `generic-param`), or more than `MAX_PARAMS` of them.
 */
export function scanParams(text: string, pos: number, end: number): ScannedParams | undefined {
  const params: Param[] = [];
  const spans: ParamSpan[] = [];
  for (;;) {
    const start = pos;
    pos = skipLws(text, pos, end);
    if (pos >= end) return { params, spans };
    if (text.charCodeAt(pos) !== 59 || params.length >= MAX_PARAMS) return undefined;
    pos = skipLws(text, pos + 1, end);
    const nameStart = pos;
    while (pos < end && charHas(text.charCodeAt(pos), CC_TOKEN)) pos++;
    if (pos === nameStart) return undefined;
    const nameEnd = pos;
    let value: string | undefined;
    let valueStart = nameEnd;
    let p = skipLws(text, pos, end);
    if (p < end && text.charCodeAt(p) === 61) {
      p = skipLws(text, p + 1, end);
      valueStart = p;
      if (p < end && text.charCodeAt(p) === 34) {
        p = scanQuotedString(text, p, end);
        if (p < 0) return undefined;
      } else {
        while (p < end) {
          const c = text.charCodeAt(p);
          if (!charHas(c, CC_TOKEN) && !isHostExtra(c)) break;
          p++;
        }
        if (p === valueStart) return undefined;
      }
      value = text.slice(valueStart, p);
      pos = p;
    }
    params.push([text.slice(nameStart, nameEnd), value]);
    spans.push({ start, nameEnd, valueStart, end: pos });
  }
}

/**
 * The value of the first parameter called `name` (case-insensitive, RFC 3261
 * §7.3.1): the value as written, `undefined` when present without a value,
 * `null` when absent.
 */
export function findParam(params: readonly Param[], name: string): string | undefined | null {
  for (const [n, v] of params) {
    if (equalsIgnoreCase(n, name)) return v;
  }
  return null;
}

/** `;name=value` for each parameter, values as given (RFC 3261 §25.1 `generic-param`). */
export function formatParams(params: readonly Param[]): string {
  let out = '';
  for (const [n, v] of params) out += v === undefined ? ';' + n : ';' + n + '=' + v;
  return out;
}
