/**
 * XCAP resource URIs (RFC 4825 §6): the part of an HTTP request-target after
 * the XCAP root,
 *
 *     <auid>/global/<document path>[/~~/<node selector>]
 *     <auid>/users/<xui>/<document path>[/~~/<node selector>]
 *
 * plus the `xmlns(prefix=uri)` query that binds the node selector's namespace
 * prefixes (§6.4, the XPointer xmlns() scheme).
 *
 * Decoding rules (§6, §6.3):
 * - the path is split at `/` *before* percent-decoding, so that `%2F` inside
 *   an XUI (`sip:joe%2Fx@example.com`) stays part of its segment;
 * - the first segment equal to `~~` (also spelled `%7E%7E`: `~` is
 *   unreserved, RFC 3986 §2.3) separates the document selector from the node
 *   selector; the node selector is the rest of the path, percent-decoded as a
 *   whole only after that split (so `%2F` or `"` inside an attribute value
 *   of the selector do not split it);
 * - each document-selector segment is percent-decoded on its own (UTF-8);
 * - the query is percent-decoded, then parsed as a sequence of `xmlns()`
 *   parts with XPointer circumflex escaping (`^(`, `^)`, `^^`).
 *
 * Failures: `malformed-request` (400) for bad percent-encoding, control
 * characters, `.`/`..`/empty segments, a bad query or an empty node selector;
 * `not-found` (404) for a path that is well-formed but cannot name a document
 * (no AUID, a context other than `users`/`global`, no XUI, no document
 * path — e.g. a trailing `/` naming a directory).
 */
import { fail, ok, type Result } from '../errors.js';
import { XML_NS, XMLNS_NS } from '../xml/xml-node.js';
import { isNCName } from '../xml/xml-parser.js';

/** A parsed XCAP URI (RFC 4825 §6). All strings are percent-decoded. */
export interface XcapUri {
  /** Application Unique ID (§5.1), e.g. `resource-lists`. */
  readonly auid: string;
  /** The document tree (§6.2). */
  readonly tree: 'users' | 'global';
  /** The XCAP User Identifier, present exactly when `tree` is `users` (§4, §6.2). */
  readonly xui?: string;
  /** The document path below the tree (and XUI), e.g. `index` or `folder/doc`. */
  readonly document: string;
  /** The node selector (§6.3), percent-decoded, without the `~~/` separator. */
  readonly nodeSelector?: string;
  /** Prefix → namespace URI bindings from the `xmlns()` query (§6.4). */
  readonly namespaces: Readonly<Record<string, string>>;
}

/** Percent-decodes `s` as UTF-8 (RFC 3986 §2.1); undefined when malformed. */
function percentDecode(s: string): string | undefined {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

function hasControl(s: string): boolean {
  return /[\u0000-\u001f\u007f]/.test(s);
}

function isSeparator(rawSegment: string): boolean {
  return rawSegment === '~~' || rawSegment.replace(/%7e/gi, '~') === '~~';
}

/**
 * Parses the `xmlns()` query of an XCAP URI (RFC 4825 §6.4; XPointer xmlns()
 * scheme: `xmlns(` NCName S? `=` S? EscapedNamespaceName `)`, repeated,
 * optionally separated by white space). A later binding of the same prefix
 * wins (XPointer §3.3). `query` may start with `?`; `undefined`/empty gives no
 * bindings.
 */
export function parseXmlnsQuery(query: string | undefined): Result<Record<string, string>> {
  const bindings: Record<string, string> = {};
  if (query === undefined) return ok(bindings);
  const raw = query.startsWith('?') ? query.slice(1) : query;
  if (raw === '') return ok(bindings);
  const s = percentDecode(raw);
  if (s === undefined) return fail('malformed-request', 'invalid percent-encoding in the query');
  const ws = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';
  let i = 0;
  const n = s.length;
  while (i < n && ws(s[i])) i++;
  if (i === n) return ok(bindings);
  while (i < n) {
    if (!s.startsWith('xmlns(', i)) {
      return fail('malformed-request', `the query must consist of xmlns() parts (RFC 4825 §6.4), found ${JSON.stringify(s.slice(i, i + 40))}`);
    }
    i += 6;
    const eq = s.indexOf('=', i);
    if (eq < 0) return fail('malformed-request', 'xmlns() part without "="');
    const prefix = s.slice(i, eq).replace(/[ \t\r\n]+$/, '').replace(/^[ \t\r\n]+/, '');
    if (!isNCName(prefix) || prefix.includes(':')) {
      return fail('malformed-request', `invalid namespace prefix ${JSON.stringify(prefix)} in xmlns()`);
    }
    i = eq + 1;
    while (i < n && ws(s[i])) i++;
    let uri = '';
    let depth = 0;
    let closed = false;
    while (i < n) {
      const c = s[i]!;
      if (c === '^') {
        const e = s[i + 1];
        if (e !== '(' && e !== ')' && e !== '^') {
          return fail('malformed-request', 'invalid circumflex escape in xmlns() (XPointer §3.1)');
        }
        uri += e;
        i += 2;
        continue;
      }
      if (c === '(') depth++;
      else if (c === ')') {
        if (depth === 0) {
          closed = true;
          i++;
          break;
        }
        depth--;
      }
      uri += c;
      i++;
    }
    if (!closed) return fail('malformed-request', 'unterminated xmlns() part');
    uri = uri.replace(/[ \t\r\n]+$/, ''); // a namespace name has no trailing white space
    if (uri === '' || hasControl(uri)) return fail('malformed-request', `invalid namespace URI in xmlns(${prefix}=…)`);
    if (prefix === 'xmlns' || uri === XMLNS_NS || (prefix === 'xml') !== (uri === XML_NS)) {
      return fail('malformed-request', `reserved namespace binding xmlns(${prefix}=${uri}) (Namespaces in XML §3)`);
    }
    bindings[prefix] = uri;
    while (i < n && ws(s[i])) i++;
  }
  return ok(bindings);
}

/**
 * Parses the part of an XCAP request-target after the XCAP root (RFC 4825
 * §6): `path` is the path (a leading `/` is optional), `query` the query
 * component without or with its `?`. See the module comment for the rules.
 */
export function parseXcapUri(path: string, query: string | undefined): Result<XcapUri> {
  const p = path.startsWith('/') ? path.slice(1) : path;
  const segments = p.split('/');
  let sep = -1;
  for (let i = 0; i < segments.length; i++) {
    if (isSeparator(segments[i]!)) {
      sep = i;
      break;
    }
  }
  const docRaw = sep < 0 ? segments : segments.slice(0, sep);
  let nodeSelector: string | undefined;
  if (sep >= 0) {
    const rest = segments.slice(sep + 1).join('/');
    if (rest === '') return fail('malformed-request', 'empty node selector after "~~"');
    const decoded = percentDecode(rest);
    if (decoded === undefined) return fail('malformed-request', 'invalid percent-encoding in the node selector');
    nodeSelector = decoded;
  }
  const doc: string[] = [];
  for (const raw of docRaw) {
    const d = percentDecode(raw);
    if (d === undefined) return fail('malformed-request', `invalid percent-encoding in ${JSON.stringify(raw)}`);
    if (hasControl(d)) return fail('malformed-request', 'control characters in the document selector');
    doc.push(d);
  }
  const auid = doc[0];
  if (auid === undefined || auid === '') return fail('not-found', 'no application usage in the XCAP URI');
  const tree = doc[1];
  if (tree !== 'users' && tree !== 'global') {
    return fail('not-found', `the document tree must be "users" or "global" (RFC 4825 §6.2), found ${JSON.stringify(tree ?? '')}`);
  }
  let rest: string[];
  let xui: string | undefined;
  if (tree === 'users') {
    xui = doc[2];
    if (xui === undefined || xui === '') return fail('not-found', 'no XUI in a users-tree URI');
    rest = doc.slice(3);
  } else {
    rest = doc.slice(2);
  }
  if (rest.length === 0 || (rest.length === 1 && rest[0] === '')) {
    return fail('not-found', 'the URI names a directory, not a document');
  }
  for (const s of rest) {
    if (s === '' || s === '.' || s === '..' || s.includes('/')) {
      return fail('malformed-request', `invalid document path segment ${JSON.stringify(s)}`);
    }
  }
  const ns = parseXmlnsQuery(query);
  if (!ns.ok) return ns;
  const uri: { -readonly [K in keyof XcapUri]: XcapUri[K] } = { auid, tree, document: rest.join('/'), namespaces: ns.value };
  if (xui !== undefined) uri.xui = xui;
  if (nodeSelector !== undefined) uri.nodeSelector = nodeSelector;
  return ok(uri);
}

const HEX = '0123456789ABCDEF';

/**
 * Percent-encodes `s` (UTF-8) keeping RFC 3986 `pchar` characters
 * (unreserved, sub-delims, `:`, `@`) and the characters of `keep`.
 */
export function percentEncode(s: string, keep = ''): string {
  let out = '';
  for (const ch of s) {
    if (/^[A-Za-z0-9\-._~!$&'()*+,;=:@]$/.test(ch) || keep.includes(ch)) {
      out += ch;
      continue;
    }
    const cp = ch.codePointAt(0)!;
    const bytes: number[] = [];
    if (cp < 0x80) bytes.push(cp);
    else if (cp < 0x800) bytes.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
    else if (cp < 0x10000) bytes.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    else bytes.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    for (const b of bytes) out += `%${HEX[b >> 4]}${HEX[b & 15]}`;
  }
  return out;
}

/**
 * Formats `xmlns()` bindings as an XCAP query (without `?`; '' when there
 * are none), with XPointer circumflex escaping and percent-encoding.
 */
export function formatXmlnsQuery(namespaces: Readonly<Record<string, string>>): string {
  let q = '';
  for (const prefix of Object.keys(namespaces).sort()) {
    const uri = namespaces[prefix];
    if (uri === undefined) continue;
    const escaped = uri.replace(/[()^]/g, (c) => `^${c}`);
    q += `xmlns(${percentEncode(prefix)}=${percentEncode(escaped, '/?')})`;
  }
  return q;
}

/**
 * The document selector of `uri` (RFC 4825 §6.2), relative to the XCAP root
 * and without a leading `/`: `<auid>/<tree>/[<xui>/]<document>`, each segment
 * percent-encoded. Also a stable key for the document.
 */
export function formatDocumentSelector(uri: Pick<XcapUri, 'auid' | 'tree' | 'xui' | 'document'>): string {
  let s = `${percentEncode(uri.auid)}/${uri.tree}/`;
  if (uri.xui !== undefined) s += `${percentEncode(uri.xui)}/`;
  return s + uri.document.split('/').map((d) => percentEncode(d)).join('/');
}

/**
 * Formats `uri` relative to the XCAP root, without a leading `/` (join as
 * `root + '/' + result`): the document selector, `/~~/` and the node selector
 * when present, and the `xmlns()` query when the node selector is present and
 * bindings exist. `parseXcapUri` of the path and query gives `uri` back.
 */
export function formatXcapUri(uri: XcapUri): string {
  let s = formatDocumentSelector(uri);
  if (uri.nodeSelector !== undefined) {
    s += `/~~/${percentEncode(uri.nodeSelector, '/')}`;
    const q = formatXmlnsQuery(uri.namespaces);
    if (q !== '') s += `?${q}`;
  }
  return s;
}
