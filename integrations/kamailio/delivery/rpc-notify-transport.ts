/**
 * `RpcNotifyTransport`: NOTIFY delivery through Kamailio's JSON-RPC
 * interface (module jsonrpcs over xhttp), one `tm.t_uac_wait` call per
 * NOTIFY, sent with axios over keep-alive HTTP connections.
 *
 * Kamailio side: integrations/kamailio/cfg/presenced-rpc-delivery.cfg.
 * Facts about Kamailio 5.6.3 this relies on are in
 * integrations/kamailio/NOTES.md, "(b) JSON-RPC delivery".
 *
 * The call (positional params, verified on 5.6.3):
 *
 *   tm.t_uac_wait ["NOTIFY", <Request-URI>, <next hop | ".">, ".", <headers>, <body>?]
 *
 * - headers: the dialog's From/To/Call-ID/Route/Contact/Event lines with the
 *   From rewritten tag-less plus `X-From: <our From, tag included>` (5.6.3
 *   appends a second ;tag= to a From that has one; the cfg swaps X-From back
 *   in event_route[tm:local-request]), then CSeq, Subscription-State,
 *   Max-Forwards and, with a body, Content-Type. Never Content-Length (tm
 *   refuses it and adds its own).
 * - next hop: `destination` as `sip:addr:port;transport=x` when set, else
 *   the Notify's `nextHop` when it differs from the Request-URI (a route
 *   set), else ".". tm does NOT route on Route header fields passed in the
 *   headers (verified: with "." it sent to the Request-URI and kept the Route
 *   header), so the top route must be given as the next hop.
 * - the answer arrives when tm has the final response:
 *   `{"result":[code, reason, ...]}` — `[code, reason, ruri, nexthop, routes,
 *   replyHeaders]` for a 2xx, `[code, reason, replyHeaders]` for other
 *   replies, `[408, "Request Timeout", "", "", "", ""]` for tm's own timeout.
 *   A fault of the RPC handler comes back as HTTP status = fault code,
 *   `{"error":{"code":<fault code>,"message":<text>}}` (e.g. 400 "To
 *   missing", 500 "I'm terribly sorry, server error occurred (7/RPC/UAC)"
 *   when tm cannot send, 500 "Method Not Found" without tm's RPC).
 *
 * How answers map to `DeliveryResult` (see `interpretRpcAnswer`):
 *
 * | what came back                                   | result                         | link  |
 * | ------------------------------------------------ | ------------------------------ | ----- |
 * | result `[code 200..699, reason, …]`              | response(code, Retry-After)    | up    |
 * | error, code 400..599 (tm refused / could not send this NOTIFY) | response(code)   | up    |
 * | error "Method Not Found", code -32xxx, 600 (async unsupported), any other code | link-failure | down |
 * | HTTP answer without a JSON-RPC body (403/404 from the xhttp route, proxies, garbage), wrong id, malformed result | link-failure | down |
 * | connection refused/reset, timeout, oversized answer | link-failure                 | down  |
 *
 * Rationale: a response is something about *this* NOTIFY that a retry of
 * the same NOTIFY will not change — the watcher's answer, tm's own 408, or
 * tm refusing/failing to send it (the same 4xx/5xx Kamailio would answer a
 * relayed NOTIFY with in SIP mode). A link failure is Kamailio's RPC
 * endpoint being unreachable or unable to run tm.t_uac_wait at all
 * (misconfiguration, wrong URL, module missing): the NOTIFY was not handed
 * over (or we cannot tell), the delivery layer keeps it and retries after
 * the link is back, and the subscription is not blamed. Caveat: after a
 * timeout or a reset *after* the request was written, or a malformed
 * answer, Kamailio may have sent the NOTIFY; a retry then repeats it (same
 * CSeq if the delivery layer resends the same Notify; watchers answer a
 * duplicate CSeq with 500 or accept it).
 *
 * Answered locally, without asking Kamailio (counted in `localRejects`):
 * - a Notify that cannot be expressed safely → response 400 (CR/LF/controls
 *   in values, no From tag, Content-Length/CSeq/Via/... in dialogHeaders,
 *   "!!" in a header tm copies — tm replaces "!!" with its socket address);
 * - a call larger than `maxRequestBytes` → response 513 (Kamailio reads an
 *   HTTP request into one TCP read buffer, tcp_rd_buf_size, 16 KiB by
 *   default; a larger request is dropped with "buffer overrun" and the
 *   connection closed — verified);
 * - the FIFO beyond `maxInFlight` is full (`maxQueued`) → response 503,
 *   Retry-After 1.
 *
 * Link state: 'down' on any link failure; while down, `send()` answers
 * link-failure at once (nothing is sent) and queued sends are failed the
 * same way; a probe runs every `keepalive.intervalMs` until it answers →
 * 'up'. The probe is `system.methodHelp ["tm.t_uac_wait"]` (core RPC, as
 * cheap as core.version, but it also proves tm's RPC is there — a config
 * without tm would otherwise flap up/down). While up (after `start()`), a
 * probe runs every interval unless an answer arrived within it;
 * `failuresBeforeDown` consecutive failed probes → 'down'.
 */
import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance } from 'axios';
import type { Notify, SourceAddress } from '../../../core/contract.js';
import type { DeliveryResult, LinkState, NotifyTransport } from './notify-transport.js';

export interface RpcKeepaliveOptions {
  /** Probe period (ms): while down, and while up without traffic. */
  readonly intervalMs: number;
  /** Consecutive failed probes while up before the link is declared down. */
  readonly failuresBeforeDown: number;
}

export interface RpcNotifyTransportOptions {
  /** Kamailio's JSON-RPC endpoint, e.g. `http://127.0.0.1:5060/RPC`. */
  readonly url: string;
  /** Calls in flight at once (= keep-alive sockets; one more is kept for probes). Default 64. */
  readonly maxInFlight?: number;
  /** Bound for one call, connect to answer (ms). Default 40 000 (> tm's fr timers). */
  readonly timeoutMs?: number;
  /** Default `{ intervalMs: 2000, failuresBeforeDown: 3 }`. */
  readonly keepalive?: RpcKeepaliveOptions;
  /** Sends waiting for a free slot beyond `maxInFlight`; more → local 503. Default 100 000. */
  readonly maxQueued?: number;
  /** Largest JSON-RPC request body (bytes); larger NOTIFYs → local 513. Default 15 360 (Kamailio's 16 KiB TCP read buffer less the HTTP head). */
  readonly maxRequestBytes?: number;
  /** Largest answer accepted (bytes); larger → link failure. Default 1 MiB. */
  readonly maxResponseBytes?: number;
  /** Idle keep-alive sockets are closed after this (ms); keep it below Kamailio's tcp_connection_lifetime. Default 15 000. */
  readonly idleSocketMs?: number;
}

export type ResponseClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx' | '6xx';

export interface RpcNotifyTransportCounters {
  /** tm.t_uac_wait calls written to Kamailio. */
  readonly sent: number;
  /** Every `response` result returned by `send()`, by class (local ones included). */
  readonly responsesByClass: Readonly<Record<ResponseClass, number>>;
  /** Every `link-failure` result returned by `send()`. */
  readonly linkFailures: number;
  /** Calls in flight now. */
  readonly inFlight: number;
  /** Sends waiting in the FIFO now. */
  readonly queued: number;
  /** Responses made up locally (400 invalid, 513 too large, 503 queue full); also counted by class. */
  readonly localRejects: number;
  readonly probes: number;
  readonly probeFailures: number;
}

/** Internal verdict on one call: the result plus what it says about the link. */
export type RpcVerdict =
  | { readonly result: Extract<DeliveryResult, { kind: 'response' }>; readonly link: 'up' }
  | { readonly result: Extract<DeliveryResult, { kind: 'link-failure' }>; readonly link: 'down' };

const DEFAULTS = {
  maxInFlight: 64,
  timeoutMs: 40_000,
  keepalive: { intervalMs: 2000, failuresBeforeDown: 3 },
  maxQueued: 100_000,
  maxRequestBytes: 15_360,
  maxResponseBytes: 1 << 20,
  idleSocketMs: 15_000,
} as const;

const MAX_DETAIL = 300;
const CSEQ_MAX = 2 ** 31 - 1;

// ---------------------------------------------------------------------------
// Building the call

/** Params of `tm.t_uac_wait` for a Notify, or why it cannot be sent. */
export type TUacParams = { readonly ok: true; readonly params: readonly string[] } | { readonly ok: false; readonly reason: string };

/** Header names presenced adds itself or that must never be passed to tm (lower case, compact forms included). */
const RESERVED_HEADERS = new Set([
  'cseq',
  'content-length',
  'l',
  'content-type',
  'c',
  'via',
  'v',
  'max-forwards',
  'subscription-state',
  'x-from',
]);
/** Header fields tm rebuilds from its dialog (never copied, so "!!" in them is harmless). */
const REBUILT_BY_TM = new Set(['to', 't', 'call-id', 'i']);
const TOKEN = /^[A-Za-z0-9.!%*_+`'~-]+$/;
/** Controls other than HTAB, and DEL: never inside a header value. */
const BAD_VALUE_CHARS = /[\x00-\x08\x0a-\x1f\x7f]/;
/** A URI as a JSON-RPC string param: no whitespace, no controls. */
const BAD_URI_CHARS = /[\x00-\x20\x7f]/;

/**
 * Split a From/To value into the part before its header parameters and the
 * parameters (RFC 3261 §20.10/§25.1: the parameters of a name-addr follow
 * the `>`; in the addr-spec form everything after the first `;` is a header
 * parameter). Quoted strings (display names, quoted parameter values) and
 * the URI in angle brackets are skipped. Returns undefined for an
 * unterminated quote or `<`.
 */
export function splitAddressParams(value: string): { readonly address: string; readonly params: readonly string[] } | undefined {
  let i = 0;
  let addressEnd = -1;
  const n = value.length;
  // find where the header parameters start
  while (i < n) {
    const ch = value[i];
    if (ch === '"') {
      const end = skipQuoted(value, i);
      if (end < 0) return undefined;
      i = end;
      continue;
    }
    if (ch === '<') {
      const close = value.indexOf('>', i + 1);
      if (close < 0) return undefined;
      // parameters start at the first ';' after '>'
      const semi = value.indexOf(';', close + 1);
      addressEnd = semi < 0 ? n : semi;
      break;
    }
    if (ch === ';') {
      addressEnd = i;
      break;
    }
    i++;
  }
  if (addressEnd < 0) addressEnd = n;
  const address = value.slice(0, addressEnd);
  const params: string[] = [];
  let j = addressEnd;
  while (j < n) {
    // value[j] === ';'
    let k = j + 1;
    while (k < n && value[k] !== ';') {
      if (value[k] === '"') {
        const end = skipQuoted(value, k);
        if (end < 0) return undefined;
        k = end;
      } else k++;
    }
    params.push(value.slice(j + 1, k));
    j = k;
  }
  return { address, params };
}

/** Index after the closing quote of the quoted string starting at `start`, or -1. */
function skipQuoted(s: string, start: number): number {
  for (let i = start + 1; i < s.length; i++) {
    const ch = s[i];
    if (ch === '\\') i++;
    else if (ch === '"') return i + 1;
  }
  return -1;
}

function paramName(param: string): string {
  const eq = param.indexOf('=');
  return (eq < 0 ? param : param.slice(0, eq)).trim().toLowerCase();
}

/** The From value without its `tag` parameter(s), and whether it had a non-empty tag. */
export function stripFromTag(value: string): { readonly tagless: string; readonly hasTag: boolean } | undefined {
  const split = splitAddressParams(value);
  if (split === undefined) return undefined;
  let hasTag = false;
  const kept: string[] = [];
  for (const p of split.params) {
    if (paramName(p) === 'tag') {
      const eq = p.indexOf('=');
      if (eq >= 0 && p.slice(eq + 1).trim().length > 0) hasTag = true;
    } else kept.push(p);
  }
  const tagless = kept.length === 0 ? split.address.trimEnd() : `${split.address};${kept.join(';')}`;
  return { tagless, hasTag };
}

/** `sip:addr:port;transport=x` for a destination (IPv6 in brackets). */
export function destinationUri(d: SourceAddress): string | undefined {
  const port = d.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  const addr = d.address;
  if (addr.length === 0 || addr.length > 255 || !/^[0-9A-Za-z.:%[\]-]+$/.test(addr)) return undefined;
  const host = addr.includes(':') && !addr.startsWith('[') ? `[${addr}]` : addr;
  if (!['udp', 'tcp', 'tls', 'sctp', 'ws', 'wss'].includes(d.transport)) return undefined;
  return `sip:${host}:${port};transport=${d.transport}`;
}

function validUri(u: string): boolean {
  return u.length > 0 && u.length <= 4096 && !BAD_URI_CHARS.test(u) && /^[A-Za-z][A-Za-z0-9+.-]*:/.test(u);
}

/** The `tm.t_uac_wait` params for a Notify (pure; exported for tests). */
export function buildTUacWaitParams(n: Notify): TUacParams {
  const fail = (reason: string): TUacParams => ({ ok: false, reason });
  if (typeof n.requestUri !== 'string' || !validUri(n.requestUri)) return fail('invalid Request-URI');
  if (!Number.isInteger(n.cseq) || n.cseq < 0 || n.cseq > CSEQ_MAX) return fail('invalid CSeq');
  if (typeof n.subscriptionState !== 'string' || n.subscriptionState.length === 0 || BAD_VALUE_CHARS.test(n.subscriptionState)) {
    return fail('invalid Subscription-State');
  }
  let nextHop = '.';
  if (n.destination !== undefined) {
    const d = destinationUri(n.destination);
    if (d === undefined) return fail('invalid destination');
    nextHop = d;
  } else if (typeof n.nextHop === 'string' && n.nextHop.length > 0 && n.nextHop !== n.requestUri) {
    if (!validUri(n.nextHop)) return fail('invalid next hop');
    nextHop = n.nextHop;
  }
  if (typeof n.dialogHeaders !== 'string' || !n.dialogHeaders.endsWith('\r\n')) return fail('dialogHeaders not CRLF-terminated');
  const lines = n.dialogHeaders.slice(0, -2).split('\r\n');
  let out = '';
  let froms = 0;
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) return fail('malformed header line');
    const name = line.slice(0, colon).trimEnd();
    const value = line.slice(colon + 1).trim();
    if (!TOKEN.test(name)) return fail('malformed header name');
    if (BAD_VALUE_CHARS.test(value)) return fail(`control character in ${name}`);
    const lower = name.toLowerCase();
    if (RESERVED_HEADERS.has(lower)) return fail(`${name} not allowed in dialogHeaders`);
    if (!REBUILT_BY_TM.has(lower) && value.includes('!!')) return fail(`"!!" in ${name} (tm would replace it)`);
    if (lower === 'from' || lower === 'f') {
      froms++;
      const stripped = stripFromTag(value);
      if (stripped === undefined) return fail('malformed From');
      if (!stripped.hasTag) return fail('From has no tag');
      out += `From: ${stripped.tagless}\r\nX-From: ${value}\r\n`;
    } else {
      out += `${line}\r\n`;
    }
  }
  if (froms !== 1) return fail('dialogHeaders need exactly one From');
  out += `CSeq: ${n.cseq} NOTIFY\r\nSubscription-State: ${n.subscriptionState}\r\nMax-Forwards: 70\r\n`;
  if (n.body !== undefined) {
    const ct = n.body.contentType;
    if (typeof ct !== 'string' || ct.length === 0 || BAD_VALUE_CHARS.test(ct)) return fail('invalid Content-Type');
    if (ct.includes('!!')) return fail('"!!" in Content-Type (tm would replace it)');
    // jsonrpcs hands strings to tm as C strings: a NUL would cut the body short
    if (typeof n.body.text !== 'string' || n.body.text.includes('\u0000')) return fail('invalid body (NUL)');
    out += `Content-Type: ${ct}\r\n`;
    return { ok: true, params: ['NOTIFY', n.requestUri, nextHop, '.', out, n.body.text] };
  }
  return { ok: true, params: ['NOTIFY', n.requestUri, nextHop, '.', out] };
}

// ---------------------------------------------------------------------------
// Reading the answer

function clip(s: string): string {
  const clean = s.replace(/[\x00-\x1f\x7f]/g, ' ');
  return clean.length > MAX_DETAIL ? `${clean.slice(0, MAX_DETAIL)}…` : clean;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Retry-After delta-seconds in a reply header block, if any. */
export function retryAfterOf(headers: string): number | undefined {
  const m = /(?:^|\r?\n)Retry-After[ \t]*:[ \t]*(\d{1,10})(?=[ \t;(\r\n]|$)/i.exec(headers);
  if (!m) return undefined;
  const v = Number(m[1]);
  return Number.isSafeInteger(v) ? Math.min(v, CSEQ_MAX) : undefined;
}

/**
 * Maps one HTTP answer from Kamailio's /RPC to a delivery result (see the
 * table at the top of this file). Pure; exported for tests.
 */
export function interpretRpcAnswer(httpStatus: number, httpReason: string, body: string, expectedId: number): RpcVerdict {
  const down = (detail: string): RpcVerdict => ({ result: { kind: 'link-failure', detail: clip(detail) }, link: 'down' });
  const httpText = `HTTP ${httpStatus}${httpReason ? ` ${httpReason}` : ''}`;
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return down(`${httpText}: not a JSON-RPC answer`);
  }
  if (!isRecord(doc)) return down(`${httpText}: not a JSON-RPC answer`);
  if ('id' in doc && doc['id'] !== null && doc['id'] !== expectedId) return down(`${httpText}: answer for another request id`);
  const error = doc['error'];
  if (error !== undefined && error !== null) {
    const code = isRecord(error) && Number.isInteger(error['code']) ? (error['code'] as number) : httpStatus;
    const message = isRecord(error) && typeof error['message'] === 'string' ? error['message'] : httpReason;
    const methodMissing = code === -32601 || /method not found/i.test(message);
    if (code >= 400 && code <= 599 && !methodMissing) {
      return { result: { kind: 'response', status: code }, link: 'up' };
    }
    return down(`RPC error ${code} ${message}`);
  }
  const result = doc['result'];
  if (!Array.isArray(result)) return down(`${httpText}: no result array`);
  const code = result[0];
  if (typeof code !== 'number' || !Number.isInteger(code) || code < 200 || code > 699 || typeof result[1] !== 'string') {
    return down(`${httpText}: malformed t_uac_wait result`);
  }
  const last = result.length > 2 ? result[result.length - 1] : undefined;
  const retryAfter = typeof last === 'string' ? retryAfterOf(last) : undefined;
  return {
    result: retryAfter === undefined ? { kind: 'response', status: code } : { kind: 'response', status: code, retryAfter },
    link: 'up',
  };
}

// ---------------------------------------------------------------------------
// The transport

interface Waiter {
  readonly body: string;
  readonly id: number;
  readonly resolve: (r: DeliveryResult) => void;
}

type MutableCounters = { -readonly [K in keyof RpcNotifyTransportCounters]: RpcNotifyTransportCounters[K] } & {
  responsesByClass: Record<ResponseClass, number>;
};

function intOption(name: string, v: number | undefined, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`RpcNotifyTransport: ${name} must be an integer in ${min}..${max}`);
  return v;
}

export class RpcNotifyTransport implements NotifyTransport {
  readonly name = 'rpc' as const;
  onLinkChange: ((state: LinkState) => void) | undefined;

  private readonly url: string;
  private readonly maxInFlight: number;
  private readonly timeoutMs: number;
  private readonly keepalive: RpcKeepaliveOptions;
  private readonly maxQueued: number;
  private readonly maxRequestBytes: number;
  private readonly agent: http.Agent;
  private readonly client: AxiosInstance;

  private state: LinkState = 'up';
  private started = false;
  private closed = false;
  private nextId = 1;
  private readonly queue: (Waiter | undefined)[] = [];
  private queueHead = 0;
  private readonly controllers = new Set<AbortController>();
  private readonly pending = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private probing = false;
  private probeFailuresInRow = 0;
  private lastAnswerAt = 0;
  private readonly c: MutableCounters = {
    sent: 0,
    responsesByClass: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, '6xx': 0 },
    linkFailures: 0,
    inFlight: 0,
    queued: 0,
    localRejects: 0,
    probes: 0,
    probeFailures: 0,
  };

  constructor(options: RpcNotifyTransportOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new TypeError(`RpcNotifyTransport: invalid url ${JSON.stringify(options.url)}`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new TypeError('RpcNotifyTransport: url must be http: or https:');
    }
    this.url = parsed.toString();
    this.maxInFlight = intOption('maxInFlight', options.maxInFlight, DEFAULTS.maxInFlight, 1, 10_000);
    this.timeoutMs = intOption('timeoutMs', options.timeoutMs, DEFAULTS.timeoutMs, 100, 600_000);
    const ka = options.keepalive ?? DEFAULTS.keepalive;
    this.keepalive = {
      intervalMs: intOption('keepalive.intervalMs', ka.intervalMs, DEFAULTS.keepalive.intervalMs, 10, 3_600_000),
      failuresBeforeDown: intOption('keepalive.failuresBeforeDown', ka.failuresBeforeDown, DEFAULTS.keepalive.failuresBeforeDown, 1, 1000),
    };
    this.maxQueued = intOption('maxQueued', options.maxQueued, DEFAULTS.maxQueued, 0, 10_000_000);
    this.maxRequestBytes = intOption('maxRequestBytes', options.maxRequestBytes, DEFAULTS.maxRequestBytes, 256, 64 << 20);
    const maxResponseBytes = intOption('maxResponseBytes', options.maxResponseBytes, DEFAULTS.maxResponseBytes, 1024, 64 << 20);
    const idleSocketMs = intOption('idleSocketMs', options.idleSocketMs, DEFAULTS.idleSocketMs, 100, 3_600_000);
    const agentOptions: http.AgentOptions = {
      keepAlive: true,
      // one socket more than calls, so a probe never waits behind t_uac_wait calls
      maxSockets: this.maxInFlight + 1,
      maxFreeSockets: this.maxInFlight + 1,
      timeout: idleSocketMs,
      scheduling: 'lifo',
    };
    const isHttps = parsed.protocol === 'https:';
    this.agent = isHttps ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.client = axios.create({
      ...(isHttps ? { httpsAgent: this.agent } : { httpAgent: this.agent }),
      proxy: false, // never an HTTP(S)_PROXY from the environment
      maxRedirects: 0,
      decompress: false,
      maxContentLength: maxResponseBytes,
      maxBodyLength: this.maxRequestBytes + 1024,
      responseType: 'text',
      responseEncoding: 'utf8',
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'Accept-Encoding': 'identity' },
    });
  }

  get linkState(): LinkState {
    return this.state;
  }

  /** A snapshot of the counters. */
  get counters(): RpcNotifyTransportCounters {
    return { ...this.c, responsesByClass: { ...this.c.responsesByClass }, queued: this.queue.length - this.queueHead };
  }

  async start(): Promise<void> {
    if (this.started || this.closed) return;
    this.started = true;
    const ok = await this.probe();
    if (this.closed) return;
    if (ok) {
      this.lastAnswerAt = Date.now();
      this.setState('up');
    } else {
      this.setState('down');
    }
    this.schedule();
  }

  async close(): Promise<void> {
    if (this.closed) {
      await Promise.allSettled([...this.pending]);
      return;
    }
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.failQueued('transport closed');
    for (const ac of this.controllers) ac.abort();
    await Promise.allSettled([...this.pending]);
    this.agent.destroy();
  }

  send(notify: Notify): Promise<DeliveryResult> {
    try {
      if (this.closed) return Promise.resolve(this.linkFailure('transport closed'));
      const built = buildTUacWaitParams(notify);
      if (!built.ok) return Promise.resolve(this.localResponse(400));
      const id = this.nextId++;
      if (this.nextId > Number.MAX_SAFE_INTEGER) this.nextId = 1;
      const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'tm.t_uac_wait', params: built.params });
      if (Buffer.byteLength(body, 'utf8') > this.maxRequestBytes) return Promise.resolve(this.localResponse(513));
      if (this.state === 'down') return Promise.resolve(this.linkFailure('link to Kamailio is down'));
      return new Promise<DeliveryResult>((resolve) => {
        const waiter: Waiter = { body, id, resolve };
        if (this.c.inFlight < this.maxInFlight) {
          this.run(waiter);
        } else if (this.queue.length - this.queueHead >= this.maxQueued) {
          resolve(this.localResponse(503, 1));
        } else {
          this.queue.push(waiter);
        }
      });
    } catch (err) {
      // never reject (defensive: nothing above is expected to throw)
      return Promise.resolve(this.linkFailure(`internal error: ${err instanceof Error ? err.message : String(err)}`));
    }
  }

  // -------------------------------------------------------------------------

  private run(w: Waiter): void {
    this.c.inFlight++;
    this.c.sent++;
    const p = this.call(w.body, w.id, this.timeoutMs)
      .then((verdict) => {
        if (verdict.link === 'down') {
          if (!this.closed) this.setState('down');
          w.resolve(this.count(verdict.result));
        } else {
          this.lastAnswerAt = Date.now();
          this.probeFailuresInRow = 0;
          if (!this.closed) this.setState('up');
          w.resolve(this.count(verdict.result));
        }
      })
      .catch((err: unknown) => {
        w.resolve(this.linkFailure(`internal error: ${err instanceof Error ? err.message : String(err)}`));
      })
      .finally(() => {
        this.c.inFlight--;
        this.pending.delete(p);
        this.pump();
      });
    this.pending.add(p);
  }

  private pump(): void {
    while (this.c.inFlight < this.maxInFlight && this.queueHead < this.queue.length && !this.closed && this.state === 'up') {
      const w = this.queue[this.queueHead];
      this.queue[this.queueHead] = undefined;
      this.queueHead++;
      this.compactQueue();
      if (w !== undefined) this.run(w);
    }
  }

  private compactQueue(): void {
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }

  private failQueued(detail: string): void {
    const waiting = this.queue.slice(this.queueHead);
    this.queue.length = 0;
    this.queueHead = 0;
    for (const w of waiting) w?.resolve(this.linkFailure(detail));
  }

  /** One HTTP call; never rejects. */
  private async call(body: string, id: number, timeoutMs: number): Promise<RpcVerdict> {
    const ac = new AbortController();
    this.controllers.add(ac);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, timeoutMs);
    try {
      const res = await this.client.post<string>(this.url, body, { signal: ac.signal, timeout: timeoutMs });
      const text = typeof res.data === 'string' ? res.data : '';
      return interpretRpcAnswer(res.status, typeof res.statusText === 'string' ? res.statusText : '', text, id);
    } catch (err) {
      const detail = timedOut
        ? `no answer within ${timeoutMs} ms`
        : this.closed
          ? 'transport closed'
          : describeError(err);
      return { result: { kind: 'link-failure', detail: clip(detail) }, link: 'down' };
    } finally {
      clearTimeout(timer);
      this.controllers.delete(ac);
    }
  }

  /** The keep-alive probe: does Kamailio answer and know tm.t_uac_wait? */
  private async probe(): Promise<boolean> {
    this.c.probes++;
    const id = this.nextId++;
    const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'system.methodHelp', params: ['tm.t_uac_wait'] });
    const timeout = Math.min(this.timeoutMs, Math.max(250, this.keepalive.intervalMs));
    const ac = new AbortController();
    this.controllers.add(ac);
    const timer = setTimeout(() => ac.abort(), timeout);
    let ok = false;
    try {
      const res = await this.client.post<string>(this.url, body, { signal: ac.signal, timeout });
      if (res.status === 200 && typeof res.data === 'string') {
        const doc: unknown = JSON.parse(res.data);
        ok = isRecord(doc) && typeof doc['result'] === 'string' && (doc['id'] === id || doc['id'] === undefined);
      }
    } catch {
      ok = false;
    } finally {
      clearTimeout(timer);
      this.controllers.delete(ac);
    }
    if (!ok) this.c.probeFailures++;
    return ok;
  }

  private schedule(): void {
    if (this.closed || this.timer !== undefined) return;
    // while up, probes only run after start(); while down, always
    if (this.state === 'up' && !this.started) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tick();
    }, this.keepalive.intervalMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.closed || this.probing) return;
    this.probing = true;
    try {
      if (this.state === 'up') {
        if (Date.now() - this.lastAnswerAt < this.keepalive.intervalMs) {
          this.probeFailuresInRow = 0;
        } else if (await this.probe()) {
          this.probeFailuresInRow = 0;
          this.lastAnswerAt = Date.now();
        } else if (++this.probeFailuresInRow >= this.keepalive.failuresBeforeDown && !this.closed) {
          this.setState('down');
        }
      } else if (await this.probe()) {
        this.lastAnswerAt = Date.now();
        if (!this.closed) this.setState('up');
      }
    } finally {
      this.probing = false;
      this.schedule();
    }
  }

  private setState(next: LinkState): void {
    if (this.state === next) return;
    this.state = next;
    this.probeFailuresInRow = 0;
    if (next === 'down') {
      this.failQueued('link to Kamailio is down');
      if (this.timer !== undefined) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
    } else {
      this.pump();
    }
    this.schedule();
    const cb = this.onLinkChange;
    if (cb !== undefined) {
      try {
        cb(next);
      } catch {
        /* a listener's failure is not ours */
      }
    }
  }

  private count(r: DeliveryResult): DeliveryResult {
    if (r.kind === 'link-failure') this.c.linkFailures++;
    else {
      const cls = `${Math.min(6, Math.max(1, Math.floor(r.status / 100)))}xx` as ResponseClass;
      this.c.responsesByClass[cls]++;
    }
    return r;
  }

  private linkFailure(detail: string): DeliveryResult {
    return this.count({ kind: 'link-failure', detail });
  }

  private localResponse(status: number, retryAfter?: number): DeliveryResult {
    this.c.localRejects++;
    return this.count(retryAfter === undefined ? { kind: 'response', status } : { kind: 'response', status, retryAfter });
  }
}

function describeError(err: unknown): string {
  if (axios.isAxiosError(err)) {
    const code = err.code ?? '';
    const cause = err.cause;
    const causeCode = isRecord(cause) && typeof cause['code'] === 'string' ? cause['code'] : '';
    return `${code || causeCode || 'error'}: ${err.message}`;
  }
  return err instanceof Error ? err.message : String(err);
}
