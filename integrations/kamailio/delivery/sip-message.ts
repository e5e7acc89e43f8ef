/**
 * The few SIP messages presenced's SIP delivery path writes and reads
 * (RFC 3261 §7, §8.1.1, §18, §20):
 *
 * - `formatNotify`: a NOTIFY request from a core `Notify` (request line, our
 *   Via with a fresh branch, the dialog's header block verbatim, CSeq,
 *   Subscription-State, optional `X-Presenced-Dst`, body).
 * - `formatOptions`: the keepalive probe sent to Kamailio.
 * - `parseResponse`: the fields a client transaction needs from a response
 *   (status, top-Via branch, CSeq, Retry-After, Content-Length). Hostile input
 *   never throws; every loop and buffer is bounded.
 * - `SipStreamFramer`: splits a TCP byte stream into messages by
 *   Content-Length (partial reads, several messages per chunk, RFC 3261 §18.3).
 */
import type { Notify, SourceAddress } from '../../../core/contract.js';

/** Via sent-protocol transport of the hop to Kamailio. */
export type HopTransport = 'udp' | 'tcp';

/** What goes into our Via header field (RFC 3261 §8.1.1.7, RFC 3581 rport). */
export interface ViaFields {
  readonly transport: HopTransport;
  /** sent-by host: an IP address or host name (IPv6 is bracketed here). */
  readonly host: string;
  readonly port: number;
  /** Must start with the magic cookie `z9hG4bK`. */
  readonly branch: string;
}

export const BRANCH_COOKIE = 'z9hG4bK';
export const USER_AGENT = 'presenced';

/** A formatting problem that makes the request impossible to send (programming or data error, never transient). */
export class SipFormatError extends Error {
  override readonly name = 'SipFormatError';
}

const HAS_CTL = /[\x00-\x08\x0a-\x1f\x7f]/; // HTAB allowed inside values
const TOKEN = /^[A-Za-z0-9.!%*_+`'~-]+$/;
const BRANCH = /^z9hG4bK[A-Za-z0-9.!%*_+`'~-]{1,200}$/;
const SIP_URI_NO_WS = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>"]+$/;

function hostForUri(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function assertValue(what: string, v: string): void {
  if (HAS_CTL.test(v)) throw new SipFormatError(`${what} contains a control character or line break`);
}

/** Checks the dialog header block: complete CRLF-terminated header lines, no empty line, no bare CR/LF. */
function assertDialogHeaders(block: string): void {
  if (block.length === 0) throw new SipFormatError('dialogHeaders is empty');
  if (!block.endsWith('\r\n')) throw new SipFormatError('dialogHeaders must end with CRLF');
  // every LF must be preceded by CR, and no CR may stand alone
  for (let i = 0; i < block.length; i++) {
    const c = block.charCodeAt(i);
    if (c === 0x0a) {
      if (i === 0 || block.charCodeAt(i - 1) !== 0x0d) throw new SipFormatError('dialogHeaders contains a bare LF');
      // an empty line would end the header section early (header injection)
      if (i >= 3 && block.charCodeAt(i - 2) === 0x0a) throw new SipFormatError('dialogHeaders contains an empty line');
      if (i === 1) throw new SipFormatError('dialogHeaders starts with an empty line');
    } else if (c === 0x0d) {
      if (block.charCodeAt(i + 1) !== 0x0a) throw new SipFormatError('dialogHeaders contains a bare CR');
    } else if (c < 0x20 && c !== 0x09) {
      throw new SipFormatError('dialogHeaders contains a control character');
    } else if (c === 0x7f) {
      throw new SipFormatError('dialogHeaders contains DEL');
    }
  }
}

function viaLine(via: ViaFields): string {
  if (!BRANCH.test(via.branch)) throw new SipFormatError('branch must be z9hG4bK followed by token characters');
  if (!Number.isInteger(via.port) || via.port < 1 || via.port > 65535) throw new SipFormatError(`bad Via port ${via.port}`);
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(via.host)) throw new SipFormatError('bad Via host');
  return `Via: SIP/2.0/${via.transport === 'tcp' ? 'TCP' : 'UDP'} ${hostForUri(via.host)}:${via.port};branch=${via.branch};rport\r\n`;
}

/**
 * The `X-Presenced-Dst` value for a forced destination: a SIP URI that
 * Kamailio assigns to `$du` (route[PRESENCED_NOTIFY_RELAY]), e.g.
 * `sip:192.0.2.7:5060;transport=udp`. Written without angle brackets: `$du`
 * takes a bare URI.
 */
export function destinationUri(d: SourceAddress): string {
  if (!Number.isInteger(d.port) || d.port < 1 || d.port > 65535) throw new SipFormatError(`bad destination port ${d.port}`);
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(d.address)) throw new SipFormatError('bad destination address');
  if (!TOKEN.test(d.transport)) throw new SipFormatError('bad destination transport');
  return `sip:${hostForUri(d.address)}:${d.port};transport=${d.transport}`;
}

/**
 * A NOTIFY request as bytes (UTF-8), RFC 3261 §8.1.1 / RFC 6665 §4.2.2:
 *
 * ```
 * NOTIFY <requestUri> SIP/2.0
 * Via: SIP/2.0/UDP host:port;branch=z9hG4bK…;rport
 * Max-Forwards: 70
 * <dialogHeaders: From, To, Call-ID, Route*, Contact, Event>
 * CSeq: <n> NOTIFY
 * Subscription-State: <value>
 * X-Presenced-Dst: sip:addr:port;transport=x      (only with n.destination)
 * User-Agent: presenced
 * Content-Type: <type>                            (only with a body)
 * Content-Length: <bytes>
 *
 * <body>
 * ```
 * Throws `SipFormatError` when a field would break the message (CR/LF or
 * controls in a value, malformed dialog header block): such a NOTIFY can never
 * be sent, whatever the link does.
 */
export function formatNotify(n: Notify, via: ViaFields): Buffer {
  if (!SIP_URI_NO_WS.test(n.requestUri) || HAS_CTL.test(n.requestUri)) {
    throw new SipFormatError('requestUri is not a URI without whitespace or controls');
  }
  if (!Number.isInteger(n.cseq) || n.cseq < 0 || n.cseq > 0x7fffffff) throw new SipFormatError(`bad CSeq ${n.cseq}`);
  assertValue('subscriptionState', n.subscriptionState);
  if (n.subscriptionState.trim().length === 0) throw new SipFormatError('subscriptionState is empty');
  assertDialogHeaders(n.dialogHeaders);
  let head = `NOTIFY ${n.requestUri} SIP/2.0\r\n${viaLine(via)}Max-Forwards: 70\r\n${n.dialogHeaders}`;
  head += `CSeq: ${n.cseq} NOTIFY\r\nSubscription-State: ${n.subscriptionState}\r\n`;
  if (n.destination !== undefined) head += `X-Presenced-Dst: ${destinationUri(n.destination)}\r\n`;
  head += `User-Agent: ${USER_AGENT}\r\n`;
  if (n.body === undefined) return Buffer.from(`${head}Content-Length: 0\r\n\r\n`, 'utf8');
  assertValue('body.contentType', n.body.contentType);
  if (n.body.contentType.trim().length === 0) throw new SipFormatError('body.contentType is empty');
  const body = Buffer.from(n.body.text, 'utf8');
  const start = Buffer.from(`${head}Content-Type: ${n.body.contentType}\r\nContent-Length: ${body.length}\r\n\r\n`, 'utf8');
  return Buffer.concat([start, body], start.length + body.length);
}

export interface OptionsFields {
  /** Request-URI, e.g. `sip:127.0.0.1:5060` (Kamailio answers an OPTIONS to itself without user part). */
  readonly requestUri: string;
  readonly callId: string;
  readonly fromTag: string;
  readonly cseq: number;
}

/** The keepalive probe (RFC 3261 §11): OPTIONS to the proxy, no body. */
export function formatOptions(o: OptionsFields, via: ViaFields): Buffer {
  if (!SIP_URI_NO_WS.test(o.requestUri)) throw new SipFormatError('bad OPTIONS Request-URI');
  if (!TOKEN.test(o.fromTag) || !/^[A-Za-z0-9.!%*_+`'~()<>:\\"/[\]?{}@-]+$/.test(o.callId)) {
    throw new SipFormatError('bad OPTIONS tag or Call-ID');
  }
  return Buffer.from(
    `OPTIONS ${o.requestUri} SIP/2.0\r\n${viaLine(via)}Max-Forwards: 70\r\n` +
      `From: <sip:presenced@${hostForUri(via.host)}>;tag=${o.fromTag}\r\n` +
      `To: <${o.requestUri}>\r\nCall-ID: ${o.callId}\r\nCSeq: ${o.cseq} OPTIONS\r\n` +
      `User-Agent: ${USER_AGENT}\r\nContent-Length: 0\r\n\r\n`,
    'utf8',
  );
}

// ---------------------------------------------------------------------------
// Parsing

/** Limits for everything read from the network. */
export interface SipParseLimits {
  /** Start line + header fields, bytes (without the blank line). Default 16 KiB. */
  readonly maxHeaderBytes: number;
  /** Body, bytes (Content-Length). Default 64 KiB. */
  readonly maxBodyBytes: number;
  /** Header field lines (folded lines count). Default 200. */
  readonly maxHeaderLines: number;
}

export const DEFAULT_PARSE_LIMITS: SipParseLimits = {
  maxHeaderBytes: 16 * 1024,
  maxBodyBytes: 64 * 1024,
  maxHeaderLines: 200,
};

/** The fields of a response that the client transaction layer uses. */
export interface SipResponse {
  readonly status: number;
  readonly reason: string;
  /** `branch` parameter of the top-most Via value. */
  readonly branch: string;
  readonly cseq: number;
  /** CSeq method, upper-case as sent (methods are case-sensitive, RFC 3261 §7.1). */
  readonly method: string;
  readonly callId?: string;
  /** Retry-After delta-seconds (RFC 3261 §20.33), when present and valid. */
  readonly retryAfter?: number;
  readonly contentLength?: number;
}

export type ParseResult =
  | { readonly ok: true; readonly kind: 'response'; readonly response: SipResponse }
  /** A request (not for us: presenced's SIP socket only sends); the method for counters. */
  | { readonly ok: true; readonly kind: 'request'; readonly method: string }
  | { readonly ok: false; readonly error: string };

/** Compact header forms (RFC 3261 §7.3.3) of the headers read here. */
const COMPACT: Readonly<Record<string, string>> = { v: 'via', l: 'content-length', i: 'call-id' };

interface Head {
  readonly startLine: string;
  /** Lower-case full names of the headers we read, values in order (multi-value fields kept separate). */
  readonly fields: Map<string, string[]>;
}

const READ_HEADERS = new Set(['via', 'cseq', 'call-id', 'retry-after', 'content-length']);

/**
 * Splits a header section (latin1 decoded, without the final empty line)
 * into the start line and the fields we read. Folded lines (RFC 3261 §7.3.1)
 * are joined. Returns an error string for anything malformed.
 */
function parseHead(head: string, limits: SipParseLimits): Head | string {
  const lines = head.split('\r\n', limits.maxHeaderLines + 2);
  if (lines.length > limits.maxHeaderLines + 1) return 'too many header lines';
  const startLine = lines[0] ?? '';
  const fields = new Map<string, string[]>();
  let current: { values: string[]; index: number } | null = null;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.length === 0) return 'empty header line';
    const c0 = line.charCodeAt(0);
    if (c0 === 0x20 || c0 === 0x09) {
      if (current === null) return 'continuation line before any header';
      current.values[current.index] = `${current.values[current.index] as string} ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) return 'header line without a colon';
    const rawName = line.slice(0, colon).trim().toLowerCase();
    if (!TOKEN.test(rawName)) return 'bad header name';
    const name = COMPACT[rawName] ?? rawName;
    if (!READ_HEADERS.has(name)) {
      current = null;
      continue; // continuations of unread headers are skipped with it
    }
    let values = fields.get(name);
    if (values === undefined) {
      values = [];
      fields.set(name, values);
    }
    values.push(line.slice(colon + 1).trim());
    current = { values, index: values.length - 1 };
  }
  return { startLine, fields };
}

/** First comma-separated element of a header value, commas in quoted strings or <> ignored. Bounded by the value's length. */
function firstElement(v: string): string {
  let quoted = false;
  let angle = false;
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '<') angle = true;
    else if (c === '>') angle = false;
    else if (c === ',' && !angle) return v.slice(0, i).trim();
  }
  return v.trim();
}

/** The `;`-separated parameters after the first element of a value, `;` inside quoted strings ignored; at most 64. */
function splitParams(v: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let start = -1;
  for (let i = 0; i < v.length && out.length < 64; i++) {
    const c = v[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ';') {
      if (start >= 0) out.push(v.slice(start, i));
      start = i + 1;
    }
  }
  if (start >= 0 && out.length < 64) out.push(v.slice(start));
  return out;
}

/** `branch` of the top-most Via value (RFC 3261 §20.42). */
function topViaBranch(viaValues: readonly string[] | undefined): string | undefined {
  const first = viaValues?.[0];
  if (first === undefined) return undefined;
  const top = firstElement(first);
  if (!/^SIP\s*\/\s*2\.0\s*\/\s*[A-Za-z0-9.!%*_+`'~-]+\s/i.test(top)) return undefined;
  for (const param of splitParams(top)) {
    const eq = param.indexOf('=');
    if (eq < 0) continue;
    if (param.slice(0, eq).trim().toLowerCase() !== 'branch') continue;
    const value = param.slice(eq + 1).trim();
    return TOKEN.test(value) && value.length <= 256 ? value : undefined;
  }
  return undefined;
}

function parseContentLength(values: readonly string[] | undefined): number | undefined | 'bad' {
  if (values === undefined) return undefined;
  let result: number | undefined;
  for (const v of values) {
    if (!/^\d{1,9}$/.test(v)) return 'bad';
    const n = Number(v);
    if (result !== undefined && result !== n) return 'bad'; // conflicting lengths: request smuggling bait
    result = n;
  }
  return result;
}

/** Header section end: index of the empty line's CRLFCRLF, or -1. */
function headEnd(buf: Buffer, from: number): number {
  return buf.indexOf('\r\n\r\n', from, 'latin1');
}

/**
 * Parses a complete SIP message (one UDP datagram, or one message framed by
 * `SipStreamFramer`). Responses give the transaction fields; requests only
 * their method. Never throws.
 */
export function parseMessage(buf: Buffer, limits: SipParseLimits = DEFAULT_PARSE_LIMITS, datagram = true): ParseResult {
  if (buf.length > limits.maxHeaderBytes + 4 + limits.maxBodyBytes) return { ok: false, error: 'message too large' };
  const end = headEnd(buf, 0);
  if (end < 0) return { ok: false, error: 'no end of header section' };
  if (end > limits.maxHeaderBytes) return { ok: false, error: 'header section too large' };
  const head = parseHead(buf.toString('latin1', 0, end), limits);
  if (typeof head === 'string') return { ok: false, error: head };
  const contentLength = parseContentLength(head.fields.get('content-length'));
  if (contentLength === 'bad') return { ok: false, error: 'bad Content-Length' };
  const available = buf.length - (end + 4);
  // RFC 3261 §18.3: a datagram shorter than its Content-Length is discarded
  if (datagram && contentLength !== undefined && contentLength > available) return { ok: false, error: 'truncated body' };
  if (contentLength !== undefined && contentLength > limits.maxBodyBytes) return { ok: false, error: 'body too large' };

  const status = /^SIP\/2\.0 ([1-6][0-9][0-9]) ([^\x00-\x08\x0a-\x1f\x7f]{0,256})$/.exec(head.startLine);
  if (status === null) {
    const req = /^([A-Za-z0-9.!%*_+`'~-]{1,32}) \S{1,4096} SIP\/2\.0$/.exec(head.startLine);
    if (req !== null) return { ok: true, kind: 'request', method: req[1] as string };
    return { ok: false, error: 'bad start line' };
  }
  const branch = topViaBranch(head.fields.get('via'));
  if (branch === undefined) return { ok: false, error: 'no usable top Via branch' };
  const cseqValues = head.fields.get('cseq');
  if (cseqValues === undefined || cseqValues.length !== 1) return { ok: false, error: 'missing or repeated CSeq' };
  const cseq = /^(\d{1,10})[ \t]+([A-Za-z0-9.!%*_+`'~-]{1,32})$/.exec(cseqValues[0] as string);
  if (cseq === null) return { ok: false, error: 'bad CSeq' };
  const seq = Number(cseq[1]);
  if (seq > 0x7fffffff) return { ok: false, error: 'CSeq out of range' };

  const response: {
    status: number;
    reason: string;
    branch: string;
    cseq: number;
    method: string;
    callId?: string;
    retryAfter?: number;
    contentLength?: number;
  } = { status: Number(status[1]), reason: status[2] as string, branch, cseq: seq, method: cseq[2] as string };
  const callId = head.fields.get('call-id')?.[0];
  if (callId !== undefined && callId.length <= 1024) response.callId = callId;
  const ra = head.fields.get('retry-after')?.[0];
  if (ra !== undefined) {
    // delta-seconds [ comment ] *( SEMI retry-param )
    const m = /^(\d{1,10})(?:[ \t(;]|$)/.exec(ra);
    if (m !== null) {
      const n = Number(m[1]);
      if (n <= 0xffffffff) response.retryAfter = n;
    }
  }
  if (contentLength !== undefined) response.contentLength = contentLength;
  return { ok: true, kind: 'response', response };
}

/** Shorthand: a response, or undefined for anything else. */
export function parseResponse(buf: Buffer, limits: SipParseLimits = DEFAULT_PARSE_LIMITS): SipResponse | undefined {
  const r = parseMessage(buf, limits);
  return r.ok && r.kind === 'response' ? r.response : undefined;
}

// ---------------------------------------------------------------------------
// Stream framing

export type FrameEvent = { readonly type: 'message'; readonly data: Buffer } | { readonly type: 'error'; readonly error: string };

/**
 * Splits a SIP byte stream (TCP) into messages: header section up to the
 * empty line, then exactly Content-Length body bytes (RFC 3261 §18.3; a
 * missing Content-Length counts as 0, like Kamailio's `tcp_accept_no_cl`).
 * CRLFs before a start line are skipped (§7.5, RFC 5626 keepalives).
 * Holds at most one message's bytes. After an error the stream cannot be
 * resynchronised: the framer stays failed and the caller closes the
 * connection.
 */
export class SipStreamFramer {
  private buf: Buffer = Buffer.alloc(0);
  /** Where to resume the search for CRLFCRLF (avoids rescanning). */
  private scanFrom = 0;
  /** Total length of the message being read, once its head is known. */
  private need = -1;
  private failed: string | null = null;

  constructor(private readonly limits: SipParseLimits = DEFAULT_PARSE_LIMITS) {}

  get buffered(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): FrameEvent[] {
    if (this.failed !== null) return [{ type: 'error', error: this.failed }];
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: FrameEvent[] = [];
    for (;;) {
      if (this.need < 0) {
        // skip CRLF keepalives / leading empty lines
        let skip = 0;
        while (skip < this.buf.length && (this.buf[skip] === 0x0d || this.buf[skip] === 0x0a)) skip++;
        if (skip > 0) {
          this.buf = this.buf.subarray(skip);
          this.scanFrom = 0;
        }
        if (this.buf.length === 0) break;
        const end = headEnd(this.buf, this.scanFrom);
        if (end < 0) {
          if (this.buf.length > this.limits.maxHeaderBytes + 3) return this.fail(out, 'header section too large');
          this.scanFrom = Math.max(0, this.buf.length - 3);
          break;
        }
        if (end > this.limits.maxHeaderBytes) return this.fail(out, 'header section too large');
        const head = parseHead(this.buf.toString('latin1', 0, end), this.limits);
        if (typeof head === 'string') return this.fail(out, head);
        if (!/^(SIP\/2\.0 [1-6]\d\d |[A-Za-z0-9.!%*_+`'~-]{1,32} \S+ SIP\/2\.0$)/.test(head.startLine)) {
          return this.fail(out, 'bad start line');
        }
        const cl = parseContentLength(head.fields.get('content-length'));
        if (cl === 'bad') return this.fail(out, 'bad Content-Length');
        const bodyLen = cl ?? 0;
        if (bodyLen > this.limits.maxBodyBytes) return this.fail(out, 'body too large');
        this.need = end + 4 + bodyLen;
      }
      if (this.buf.length < this.need) break;
      // copy: the message must not pin a large receive buffer
      out.push({ type: 'message', data: Buffer.from(this.buf.subarray(0, this.need)) });
      this.buf = this.buf.subarray(this.need);
      this.need = -1;
      this.scanFrom = 0;
    }
    if (this.buf.length === 0) this.buf = Buffer.alloc(0);
    return out;
  }

  private fail(out: FrameEvent[], error: string): FrameEvent[] {
    this.failed = error;
    this.buf = Buffer.alloc(0);
    out.push({ type: 'error', error });
    return out;
  }
}
