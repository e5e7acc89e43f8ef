/**
 * The Event header field (RFC 6665 §8.2.1, grammar §8.4):
 *
 * ```
 * Event          = ( "Event" / "o" ) HCOLON event-type *( SEMI event-param )
 * event-type     = event-package *( "." event-template )
 * event-package  = token-nodot
 * event-template = token-nodot
 * token-nodot    = 1*( alphanum / "-" / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" )
 * event-param    = generic-param / ( "id" EQUAL token )
 * ```
 *
 * Case: RFC 6665 §8.2.1 says that for matching, "the event-type portion of
 * the Event header field is compared byte by byte, and the id parameter token
 * (if present) is compared byte by byte", so `Event: Presence` is NOT the
 * `presence` package. The event type and the `id` value are kept and compared
 * case-sensitively everywhere (package look-up included). Parameter *names*
 * remain case-insensitive (RFC 3261 §7.3.1), so `ID=5` is the id parameter.
 */
import { CC_TOKEN, MAX_HEADER_VALUE_LENGTH, charHas, equalsIgnoreCase, isToken, skipLws, trimEndLws } from './char-class.js';
import { type Param, scanParams } from './generic-params.js';

/** A parsed Event header value. */
export interface EventHeader {
  /** The full event type, templates included (`presence.winfo`): the package name the server dispatches on. */
  readonly package: string;
  /** The event templates after the base package, in order (`presence.winfo` → `['winfo']`). */
  readonly template: readonly string[];
  /** The `id` parameter (RFC 6665 §8.2.1), absent when not given. */
  readonly id?: string;
  /** All parameters as written, `id` included. */
  readonly params: readonly Param[];
}

/**
 * Parses an Event header value (RFC 6665 §8.2.1, §8.4). Returns `undefined`
 * for an empty or malformed event type (empty template, characters outside
 * `token-nodot`), malformed parameters, an `id` without a token value, more
 * than one `id`, or input over 8 KiB.
 */
export function parseEvent(text: string): EventHeader | undefined {
  if (text.length > MAX_HEADER_VALUE_LENGTH) return undefined;
  const start = skipLws(text, 0, text.length);
  const end = trimEndLws(text, start, text.length);
  const template: string[] = [];
  let segStart = start;
  let pos = start;
  while (pos < end) {
    const c = text.charCodeAt(pos);
    if (c === 46) {
      if (pos === segStart) return undefined;
      if (segStart !== start) template.push(text.slice(segStart, pos));
      segStart = pos + 1;
    } else if (!charHas(c, CC_TOKEN)) {
      break;
    }
    pos++;
  }
  if (pos === segStart) return undefined;
  if (segStart !== start) template.push(text.slice(segStart, pos));
  const scanned = scanParams(text, pos, end);
  if (scanned === undefined) return undefined;
  let id: string | undefined;
  for (const [name, value] of scanned.params) {
    if (!equalsIgnoreCase(name, 'id')) continue;
    if (id !== undefined || value === undefined || !isToken(value)) return undefined;
    id = value;
  }
  const result: { package: string; template: string[]; id?: string; params: Param[] } = {
    package: text.slice(start, pos),
    template,
    params: scanned.params,
  };
  if (id !== undefined) result.id = id;
  return result;
}

/** An Event header value: the package and, when given, `;id=` (RFC 6665 §8.2.1). */
export function formatEvent(pkg: string, id?: string): string {
  return id === undefined ? pkg : pkg + ';id=' + id;
}

/**
 * Whether two Event values denote the same subscription within a dialog
 * (RFC 6665 §4.4.1 with the comparison rule of §8.2.1): event types equal
 * byte by byte, and either both lack `id` or both carry the same `id`, byte
 * by byte. Other parameters are ignored. Unparseable values match nothing.
 */
export function eventMatches(a: EventHeader | string, b: EventHeader | string): boolean {
  const x = typeof a === 'string' ? parseEvent(a) : a;
  const y = typeof b === 'string' ? parseEvent(b) : b;
  if (x === undefined || y === undefined) return false;
  return x.package === y.package && x.id === y.id;
}
