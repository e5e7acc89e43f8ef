/**
 * Maps between the JSON-RPC params that Kamailio's presenced.cfg builds
 * (route[PRESENCED], jansson_xencode of an xavp) and the core contract, and
 * back from a `SipReply` to the result that route[PRESENCED_RESULT] applies
 * with append_to_reply() + t_reply().
 *
 * Everything arriving here is untrusted: each field is type-checked and
 * size-bounded, and header text may not smuggle line breaks in either
 * direction (a CR/LF in a reply header would let a value inject headers into
 * Kamailio's reply).
 *
 * Params, as sent by presenced.cfg (every value a JSON string unless noted):
 *
 *   method        request method ($rm)
 *   requestUri    Request-URI ($ru)
 *   callId        Call-ID ($ci)
 *   from, to      full header values ($hdr(From), $hdr(To)), tags included
 *   cseq          "<number> <method>" ($hdr(CSeq)); a JSON integer is accepted too
 *   localTag      To-tag of the coming reply ($ltt(t) after t_newtran)
 *   sourceProto   udp | tcp | tls | sctp | ws | wss ($pr)
 *   sourceIp      packet source IP ($si)
 *   sourcePort    packet source port ($sp; JSON integer or decimal string)
 *   contact?      $hdr(Contact)
 *   recordRoute?  $(hdr(Record-Route)[*]): all values comma-joined (or a JSON array)
 *   event?, expires?, sipIfMatch?, contentType?   the header values
 *   accept?       $(hdr(Accept)[*]) (or a JSON array of header values)
 *   bodyBase64?   the body, base64 ($(rb{s.encode.base64}))
 *   body?         the body as text (for fronts that can send text; not both)
 *   identity?     authenticated identity asserted by the edge
 */
import { isIP } from 'node:net';
import { TextDecoder } from 'node:util';
import type { SipReply, SipRequest, SourceAddress, Transport } from '../../core/contract.js';
import { sipReason } from '../../core/reason-phrases.js';

/** Limits on the params of one request. */
export interface MappingLimits {
  /** Longest accepted header value or URI, in characters. */
  readonly maxFieldChars: number;
  /** Largest body after base64 decoding, in bytes. */
  readonly maxBodyBytes: number;
  /** Most Record-Route entries. */
  readonly maxRoutes: number;
}

export const defaultMappingLimits: MappingLimits = {
  maxFieldChars: 8 * 1024,
  maxBodyBytes: 192 * 1024,
  maxRoutes: 64,
};

export type MappingResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly field: string; readonly message: string };

const TRANSPORTS: readonly Transport[] = ['udp', 'tcp', 'tls', 'sctp', 'ws', 'wss'];
/** RFC 3261 token. */
const TOKEN = /^[A-Za-z0-9.!%*_+`'~-]+$/;
/** Any control character except HTAB (covers CR, LF and NUL). */
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;
const URI_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** RFC 3261: CSeq sequence number is less than 2**31. */
const MAX_CSEQ = 2 ** 31 - 1;
const MAX_PARAM_KEYS = 64;

class MappingError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

function fail(field: string, message: string): never {
  throw new MappingError(field, message);
}

/** Maps JSON-RPC params to a `SipRequest`, or says which field is wrong. */
export function mapParamsToSipRequest(
  params: unknown,
  limits: MappingLimits = defaultMappingLimits,
): MappingResult<SipRequest> {
  try {
    return { ok: true, value: mapOrThrow(params, limits) };
  } catch (err) {
    if (err instanceof MappingError) return { ok: false, field: err.field, message: err.message };
    throw err;
  }
}

function mapOrThrow(params: unknown, limits: MappingLimits): SipRequest {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    fail('params', 'params must be an object');
  }
  const p = params as Record<string, unknown>;
  if (Object.keys(p).length > MAX_PARAM_KEYS) fail('params', 'too many members');

  const method = requiredString(p, 'method', 32);
  if (!TOKEN.test(method)) fail('method', 'not a SIP token');

  const requestUri = requiredString(p, 'requestUri', limits.maxFieldChars);
  if (!URI_SCHEME.test(requestUri) || /\s/.test(requestUri)) fail('requestUri', 'not a URI');

  const callId = requiredString(p, 'callId', 1024);
  if (/\s/.test(callId)) fail('callId', 'contains white space');

  const from = requiredHeader(p, 'from', limits);
  const to = requiredHeader(p, 'to', limits);
  const cseq = parseCseq(p['cseq'], method);

  const localTag = requiredString(p, 'localTag', 256);
  if (!TOKEN.test(localTag)) fail('localTag', 'not a SIP token');

  const source = parseSource(p);

  const out: {
    -readonly [K in keyof SipRequest]: SipRequest[K];
  } = { method, requestUri, callId, from, to, cseq, source, localTag };

  const contact = optionalHeader(p, 'contact', limits);
  if (contact !== undefined) out.contact = contact;
  const recordRoute = parseRouteSet(p['recordRoute'], limits);
  if (recordRoute !== undefined) out.recordRoute = recordRoute;
  const event = optionalHeader(p, 'event', limits);
  if (event !== undefined) out.event = event;
  const expires = optionalHeader(p, 'expires', limits);
  if (expires !== undefined) out.expires = expires;
  const accept = parseHeaderList(p['accept'], 'accept', limits);
  if (accept !== undefined) out.accept = accept;
  const sipIfMatch = optionalHeader(p, 'sipIfMatch', limits);
  if (sipIfMatch !== undefined) out.sipIfMatch = sipIfMatch;
  const contentType = optionalHeader(p, 'contentType', limits);
  if (contentType !== undefined) out.contentType = contentType;
  const identity = optionalHeader(p, 'identity', limits);
  if (identity !== undefined) out.identity = identity;

  const body = parseBody(p, contentType, limits);
  if (body !== undefined) out.body = body;
  return out;
}

function requiredString(p: Record<string, unknown>, field: string, maxChars: number): string {
  const v = Object.hasOwn(p, field) ? p[field] : undefined;
  if (typeof v !== 'string') fail(field, v === undefined ? 'missing' : 'must be a string');
  if (v.length === 0) fail(field, 'empty');
  if (v.length > maxChars) fail(field, `longer than ${maxChars} characters`);
  if (CONTROL.test(v)) fail(field, 'contains control characters');
  return v;
}

function requiredHeader(p: Record<string, unknown>, field: string, limits: MappingLimits): string {
  return requiredString(p, field, limits.maxFieldChars);
}

/** Absent or JSON null -> undefined; otherwise a bounded single-line string (may be empty). */
function optionalHeader(p: Record<string, unknown>, field: string, limits: MappingLimits): string | undefined {
  const v = Object.hasOwn(p, field) ? p[field] : undefined;
  if (v === undefined || v === null) return undefined;
  return headerText(v, field, limits);
}

function headerText(v: unknown, field: string, limits: MappingLimits): string {
  if (typeof v !== 'string') fail(field, 'must be a string');
  if (v.length > limits.maxFieldChars) fail(field, `longer than ${limits.maxFieldChars} characters`);
  if (CONTROL.test(v)) fail(field, 'contains control characters');
  return v;
}

function parseCseq(v: unknown, method: string): number {
  let n: number;
  if (typeof v === 'number') {
    n = v;
  } else if (typeof v === 'string') {
    const m = /^[ \t]*(\d{1,10})[ \t]+(\S+)[ \t]*$/.exec(v);
    if (!m) fail('cseq', 'not "<number> <method>"');
    if (m[2] !== method) fail('cseq', 'CSeq method differs from the request method');
    n = Number(m[1]);
  } else {
    fail('cseq', v === undefined ? 'missing' : 'must be a string or an integer');
  }
  if (!Number.isInteger(n) || n < 0 || n > MAX_CSEQ) fail('cseq', 'sequence number out of range');
  return n;
}

function parseSource(p: Record<string, unknown>): SourceAddress {
  const protoRaw = requiredString(p, 'sourceProto', 8).toLowerCase();
  const transport = TRANSPORTS.find((t) => t === protoRaw);
  if (transport === undefined) fail('sourceProto', 'unknown transport');

  let address = requiredString(p, 'sourceIp', 64);
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  if (isIP(address) === 0) fail('sourceIp', 'not an IP address');

  const portRaw = Object.hasOwn(p, 'sourcePort') ? p['sourcePort'] : undefined;
  let port: number;
  if (typeof portRaw === 'number') port = portRaw;
  else if (typeof portRaw === 'string' && /^\d{1,5}$/.test(portRaw)) port = Number(portRaw);
  else fail('sourcePort', portRaw === undefined ? 'missing' : 'not a port number');
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail('sourcePort', 'not a port number');

  return { transport, address, port };
}

/**
 * Record-Route: Kamailio's `$(hdr(Record-Route)[*])` joins all header fields
 * with ",", and one field may itself list several routes. Split at commas
 * outside <...> and quoted strings: one entry per route, top-most first.
 */
function parseRouteSet(v: unknown, limits: MappingLimits): readonly string[] | undefined {
  if (v === undefined || v === null) return undefined;
  const values = Array.isArray(v) ? v : [v];
  const routes: string[] = [];
  for (const item of values) {
    const text = headerText(item, 'recordRoute', { ...limits, maxFieldChars: limits.maxFieldChars * limits.maxRoutes });
    for (const route of splitHeaderList(text)) {
      if (route.length > limits.maxFieldChars) fail('recordRoute', 'route too long');
      routes.push(route);
      if (routes.length > limits.maxRoutes) fail('recordRoute', `more than ${limits.maxRoutes} routes`);
    }
  }
  return routes;
}

/** Accept and similar: a list of header field values as received. */
function parseHeaderList(v: unknown, field: string, limits: MappingLimits): readonly string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) {
    if (v.length > limits.maxRoutes) fail(field, 'too many values');
    return v.map((item) => headerText(item, field, limits));
  }
  return [headerText(v, field, limits)];
}

/** Splits a comma-separated header list, honouring <...> and "..." (with \-escapes). */
export function splitHeaderList(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') {
      quoted = true;
    } else if (c === '<') {
      depth++;
    } else if (c === '>') {
      if (depth > 0) depth--;
    } else if (c === ',' && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.map((s) => s.trim()).filter((s) => s.length > 0);
}

function parseBody(p: Record<string, unknown>, contentType: string | undefined, limits: MappingLimits): string | undefined {
  const b64 = Object.hasOwn(p, 'bodyBase64') ? p['bodyBase64'] : undefined;
  const text = Object.hasOwn(p, 'body') ? p['body'] : undefined;
  if (b64 !== undefined && b64 !== null && text !== undefined && text !== null) {
    fail('body', 'both body and bodyBase64 given');
  }
  if (text !== undefined && text !== null) {
    if (typeof text !== 'string') fail('body', 'must be a string');
    if (Buffer.byteLength(text, 'utf8') > limits.maxBodyBytes) fail('body', 'body too large');
    return text.length === 0 ? undefined : text;
  }
  if (b64 === undefined || b64 === null) return undefined;
  if (typeof b64 !== 'string') fail('bodyBase64', 'must be a string');
  if (b64.length > Math.ceil(limits.maxBodyBytes / 3) * 4) fail('bodyBase64', 'body too large');
  if (!BASE64.test(b64)) fail('bodyBase64', 'not base64');
  if (b64.length === 0) return undefined;
  return decodeBody(Buffer.from(b64, 'base64'), contentType);
}

/**
 * Body bytes to text. The charset comes from the Content-Type `charset`
 * parameter; for XML media types without one, from the XML declaration
 * (RFC 7303 §4.2); otherwise UTF-8. Bytes that are not valid in that
 * charset are refused (never silently replaced), and a BOM is kept, so
 * re-encoding the text in the same charset gives back the exact bytes.
 */
export function decodeBody(bytes: Buffer, contentType: string | undefined): string {
  const label = declaredCharset(bytes, contentType) ?? 'utf-8';
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(label, { fatal: true, ignoreBOM: true });
  } catch {
    fail('bodyBase64', `unsupported charset "${label}"`);
  }
  try {
    return decoder.decode(bytes);
  } catch {
    fail('bodyBase64', `body is not valid ${decoder.encoding}`);
  }
}

function declaredCharset(bytes: Buffer, contentType: string | undefined): string | undefined {
  if (contentType !== undefined) {
    const m = /;\s*charset\s*=\s*(?:"([^"]*)"|([^\s;]+))/i.exec(contentType);
    const value = m?.[1] ?? m?.[2];
    if (value !== undefined && value.length > 0) return value;
    const type = contentType.split(';', 1)[0]?.trim().toLowerCase() ?? '';
    if (type.endsWith('/xml') || type.endsWith('+xml')) {
      const head = bytes.subarray(0, 256).toString('latin1');
      const decl = /^(?:\ufeff|\u00ef\u00bb\u00bf)?<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]*)["']/.exec(head);
      if (decl?.[1] !== undefined) return decl[1];
    }
  }
  return undefined;
}

/** What route[PRESENCED_RESULT] needs to send the reply. */
export interface KamailioReply {
  /** Final status code, 200..699. */
  readonly code: number;
  readonly reason: string;
  /** `Name: value\r\n` per header, ready for append_to_reply(); may be empty. */
  readonly headers: string;
}

/** Header fields Kamailio writes itself: a second copy would break the reply. */
const FORBIDDEN_REPLY_HEADERS = new Set([
  'via', 'v', 'from', 'f', 'to', 't', 'call-id', 'i', 'cseq', 'content-length', 'l', 'record-route',
]);
const MAX_REASON_CHARS = 128;
const MAX_REPLY_HEADER_BYTES = 32 * 1024;

/** Renders a `SipReply` for route[PRESENCED_RESULT]; refuses anything that could corrupt the reply. */
export function toKamailioReply(reply: SipReply): MappingResult<KamailioReply> {
  try {
    const code = reply.status;
    if (!Number.isInteger(code) || code < 200 || code > 699) fail('status', 'not a final status code');
    let reason = typeof reply.reason === 'string' ? reply.reason.trim() : '';
    if (reason.length === 0) reason = sipReason(code);
    if (reason.length > MAX_REASON_CHARS || CONTROL.test(reason)) fail('reason', 'invalid reason phrase');
    let headers = '';
    for (const h of reply.headers) {
      if (typeof h.name !== 'string' || !TOKEN.test(h.name) || h.name.length > 64) fail('headers', 'invalid header name');
      if (FORBIDDEN_REPLY_HEADERS.has(h.name.toLowerCase())) fail('headers', `${h.name} is set by Kamailio`);
      if (typeof h.value !== 'string' || CONTROL.test(h.value)) fail('headers', `invalid value for ${h.name}`);
      headers += `${h.name}: ${h.value.trim()}\r\n`;
    }
    if (Buffer.byteLength(headers, 'utf8') > MAX_REPLY_HEADER_BYTES) fail('headers', 'reply headers too large');
    return { ok: true, value: { code, reason, headers } };
  } catch (err) {
    if (err instanceof MappingError) return { ok: false, field: err.field, message: err.message };
    throw err;
  }
}
