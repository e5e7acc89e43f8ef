/**
 * Routing of requests inside a dialog: the route set a UAS learns from
 * Record-Route (RFC 3261 §12.1.1), the Request-URI / Route / next hop of a
 * request the notifier sends within the dialog (RFC 3261 §12.2.1.1, §8.1.2),
 * and NAT handling for dialogs without a route set (RFC 3581 applied to the
 * dialog's remote target).
 */
import type { SourceAddress } from '../contract.js';
import { splitHeaderList } from './header-list.js';
import { addressKey, isPrivateAddress } from './ip-address.js';
import { parseNameAddr } from './name-addr.js';
import { type SipUri, formatUri, hasParam, parseUri } from './uri.js';
import { equalsIgnoreCase, trimLws } from './char-class.js';

/** Where and how a request inside a dialog is sent. */
export interface DialogRouting {
  /** Request-URI of the request. */
  readonly requestUri: string;
  /** Route header values, in order (name-addr form). */
  readonly route: readonly string[];
  /** URI the request is first sent to: the top Route URI, else the Request-URI (RFC 3261 §8.1.2). */
  readonly nextHop: string;
}

/** Longest route set accepted; longer ones are refused as hostile. */
export const MAX_ROUTE_SET = 64;

interface RoutableUri {
  readonly text: string;
  readonly uri: SipUri;
}

/** A sip: or sips: URI (the only schemes a request can be routed on, RFC 3261 §19.1), parsed. */
function routable(text: string): RoutableUri | undefined {
  const uri = parseUri(text);
  return uri !== undefined && (uri.scheme === 'sip' || uri.scheme === 'sips') ? { text, uri } : undefined;
}

/** The remote target; a name-addr in angle brackets is accepted and its URI used. */
function parseTarget(remoteTarget: string): RoutableUri | undefined {
  const text = trimLws(remoteTarget);
  const direct = routable(text);
  if (direct !== undefined) return direct;
  const na = parseNameAddr(text);
  return na === undefined ? undefined : routable(na.uri);
}

/** The URI of one route-set entry (`name-addr *( SEMI rr-param )`), parsed. */
function parseRoute(entry: string): RoutableUri | undefined {
  const na = parseNameAddr(entry);
  return na === undefined ? undefined : routable(na.uri);
}

/**
 * Request-URI, Route and next hop of a request within a dialog (RFC 3261
 * §12.2.1.1), given the dialog's remote target (a URI, e.g. the subscriber's
 * Contact URI) and its route set (name-addr values such as
 * `<sip:10.0.0.1;lr;r2=on>`):
 *
 * - empty route set: Request-URI = remote target, no Route, next hop = remote target;
 * - loose routing (first route has `lr`): Request-URI = remote target,
 *   Route = the route set, next hop = the first route's URI;
 * - strict routing: Request-URI = the first route's URI without the
 *   parameters a Request-URI may not carry (`method`, and URI headers;
 *   RFC 3261 §19.1.1 Table 1), Route = the remaining routes followed by
 *   `<remote target>`, next hop = that Request-URI.
 *
 * Returns `undefined` when the remote target or any route is not a valid
 * sip:/sips: URI, or the route set has more than 64 entries.
 */
export function routeInDialog(remoteTarget: string, routeSet: readonly string[]): DialogRouting | undefined {
  const target = parseTarget(remoteTarget);
  if (target === undefined || routeSet.length > MAX_ROUTE_SET) return undefined;
  const route: string[] = [];
  let first: RoutableUri | undefined;
  for (const entry of routeSet) {
    const parsed = parseRoute(entry);
    if (parsed === undefined) return undefined;
    first ??= parsed;
    route.push(trimLws(entry));
  }
  if (first === undefined) return { requestUri: target.text, route: [], nextHop: target.text };
  if (hasParam(first.uri, 'lr')) return { requestUri: target.text, route, nextHop: first.text };
  const requestUri = formatUri({
    ...first.uri,
    params: first.uri.params.filter(([name]) => !equalsIgnoreCase(name, 'method')),
    headers: [],
  });
  route.shift();
  route.push('<' + target.text + '>');
  return { requestUri, route, nextHop: requestUri };
}

/**
 * The route set of a dialog as seen by the UAS (RFC 3261 §12.1.1): the
 * Record-Route entries in order, top-most first; each header value may be a
 * comma list. Entries are returned trimmed, otherwise as received (rr-params
 * such as `;lr;r2=on;ftag=…` kept). Returns `undefined` when an entry is not a
 * valid name-addr holding a sip:/sips: URI, or for more than 64 entries.
 */
export function routeSetFromRecordRoute(values: readonly string[]): string[] | undefined {
  const out: string[] = [];
  for (const value of values) {
    const elements = splitHeaderList(value);
    if (elements === undefined) return undefined;
    for (const element of elements) {
      if (parseRoute(element) === undefined || out.length >= MAX_ROUTE_SET) return undefined;
      out.push(element);
    }
  }
  return out;
}

/**
 * Where to send requests for a subscriber behind NAT: `source` (the packet
 * source of its SUBSCRIBE) when the dialog has no route set and the remote
 * target's host is a private, link-local or loopback address
 * (`isPrivateAddress`) different from the source address — the Contact cannot
 * be reached, so requests follow the symmetric path like responses do under
 * RFC 3581 §4. Otherwise (route set present, public or unparseable target,
 * target equal to source) `undefined`: resolve the next hop normally.
 */
export function natDestination(
  remoteTarget: string,
  routeSet: readonly string[],
  source: SourceAddress,
): SourceAddress | undefined {
  if (routeSet.length > 0) return undefined;
  const target = parseTarget(remoteTarget);
  if (target === undefined) return undefined;
  const host = target.uri.host;
  if (!isPrivateAddress(host)) return undefined;
  return addressKey(host) === addressKey(source.address) ? undefined : source;
}
