/**
 * `SipNotifyTransport`: presenced sends each NOTIFY as a plain SIP request to
 * Kamailio (UDP or TCP), which relays it statefully
 * (cfg/kamailio-presence-proxy.cfg `route[PRESENCED_NOTIFY_RELAY]`) and
 * returns the watcher's final response (or its own 408/5xx) along our Via.
 *
 * - one RFC 3261 §17.1.2 non-INVITE client transaction per NOTIFY
 *   (sip-client-transaction.ts): Timer E retransmissions over UDP, Timer F
 *   timeout, responses matched by top-Via branch + CSeq method;
 * - UDP: one socket bound to `local` (its address:port is our Via sent-by and
 *   the source Kamailio checks against PRESENCED_SIP_HOST/PORT); datagrams
 *   from anybody but the proxy are dropped;
 * - TCP: one persistent connection from `local.host` (ephemeral port),
 *   reconnected with capped exponential backoff; framing by Content-Length;
 *   a framing error closes the connection;
 * - link health: OPTIONS to the proxy every `keepalive.intervalMs` (the
 *   example config answers it itself); `failuresBeforeDown` unanswered probes
 *   or a failed TCP connect → 'down'; the first answer (to a probe or to any
 *   NOTIFY) → 'up'. While down, `send()` resolves `link-failure` at once;
 * - at most `maxInFlight` transactions without final response; further sends
 *   wait in FIFO order (the caller bounds how many it submits).
 *
 * No npm package was used: the maintained JS SIP stacks are browser UAs
 * (sip.js, JsSIP) and the Node ones are unmaintained or only message helpers
 * (`sip` 0.0.x, drachtio-sip), while a non-INVITE client transaction towards
 * one proxy is a few hundred lines.
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import type { Notify } from '../../../core/contract.js';
import { RandomTokens } from '../../../workers/random-ids.js';
import type { DeliveryResult, LinkState, NotifyTransport } from './notify-transport.js';
import { ClientTransactionTable, type NonInviteClientTransaction, type SipTimers, resolveTimers } from './sip-client-transaction.js';
import {
  BRANCH_COOKIE,
  DEFAULT_PARSE_LIMITS,
  type HopTransport,
  type SipParseLimits,
  SipFormatError,
  SipStreamFramer,
  type ViaFields,
  formatNotify,
  formatOptions,
  parseMessage,
} from './sip-message.js';

export interface SipNotifyTransportOptions {
  /** Kamailio's SIP listener. */
  readonly proxy: { readonly host: string; readonly port: number; readonly transport: HopTransport };
  /**
   * presenced's SIP socket: a concrete address (Kamailio checks it as
   * PRESENCED_SIP_HOST). UDP binds host:port (port 0 = ephemeral; Kamailio's
   * PRESENCED_SIP_PORT must equal the bound port). TCP connects from host
   * with an ephemeral port (`port` is not used: a fixed client port would
   * collide with TIME_WAIT on reconnect; the config only checks the address).
   */
  readonly local: { readonly host: string; readonly port: number };
  /** RFC 3261 timers (defaults T1 500 ms, T2 4 s, T4 5 s). */
  readonly timers?: Partial<SipTimers>;
  /** Transactions without final response at a time; more sends wait in FIFO. Default 10000. */
  readonly maxInFlight?: number;
  readonly keepalive?: {
    /** OPTIONS probe period, ms. Default 2000. */
    readonly intervalMs?: number;
    /** Unanswered probes in a row before the link is 'down'. Default 2. */
    readonly failuresBeforeDown?: number;
  };
  /** TCP reconnect backoff: first retry immediate, then initial·2^n up to max. Defaults 100 ms / 5000 ms. */
  readonly reconnect?: { readonly initialDelayMs?: number; readonly maxDelayMs?: number };
  /** TCP connect timeout, ms. Default 3000. */
  readonly connectTimeoutMs?: number;
  /** Largest request sent over UDP, bytes (bigger NOTIFYs get a local 513). Default 65000. */
  readonly maxUdpMessageBytes?: number;
  /** TCP: pause starting transactions while more than this is queued in the socket. Default 4 MiB. */
  readonly maxTcpWriteBuffer?: number;
  readonly parseLimits?: Partial<SipParseLimits>;
  readonly logger?: { warn(message: string): void };
}

export type ResponseClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx' | '6xx';

/** Counters for metrics. All monotonic except `inFlight` and `queued` (gauges). */
export interface SipNotifyCounters {
  /** NOTIFYs handed to the socket (first transmissions). */
  sent: number;
  /** NOTIFY retransmissions (Timer E, UDP). */
  retransmissions: number;
  /** Responses to NOTIFYs by class (1xx included; retransmitted finals absorbed and not counted). */
  responsesByClass: Record<ResponseClass, number>;
  /** NOTIFY transactions that ended by Timer F. */
  timeouts: number;
  /** Transitions of the link to 'down'. */
  linkDowns: number;
  /** NOTIFY transactions without final response (gauge). */
  inFlight: number;
  /** Sends waiting for a transaction slot or the TCP connection (gauge). */
  queued: number;
  /** Sends resolved as link-failure (link down, connection lost, closed, timeout while down). */
  linkFailures: number;
  /** NOTIFYs that could not be formatted or were too large (resolved with a local 400/513). */
  localErrors: number;
  pingsSent: number;
  /** Probes that got no answer within the interval. */
  pingFailures: number;
  /** Responses from the proxy that matched no transaction. */
  strayResponses: number;
  /** Unparseable messages (or datagrams) from the proxy. */
  malformed: number;
  /** Datagrams from other addresses than the proxy (dropped). */
  foreignPackets: number;
  /** Requests received (presenced's SIP socket only sends; dropped). */
  ignoredRequests: number;
  /** TCP framing errors (each closed the connection). */
  framingErrors: number;
  connects: number;
  connectFailures: number;
  /** Socket send errors (UDP). */
  sendErrors: number;
}

interface Waiter {
  readonly notify: Notify;
  readonly resolve: (r: DeliveryResult) => void;
}

/** `z9hG4bK` + 16 random base64url characters (96 bits): an RFC 3261 §8.1.1.7 branch. */
function newBranch(tokens: RandomTokens): string {
  return BRANCH_COOKIE + tokens.token(16);
}

function isUnspecified(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]' || host === '';
}

function positiveInt(name: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 1 || v > max) throw new RangeError(`${name} must be an integer in [1, ${max}], got ${v}`);
  return v;
}

function responseClass(status: number): ResponseClass {
  return `${Math.min(6, Math.max(1, Math.floor(status / 100)))}xx` as ResponseClass;
}

export class SipNotifyTransport implements NotifyTransport {
  readonly name = 'sip' as const;
  onLinkChange: ((state: LinkState) => void) | undefined = undefined;
  readonly counters: SipNotifyCounters = {
    sent: 0,
    retransmissions: 0,
    responsesByClass: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, '6xx': 0 },
    timeouts: 0,
    linkDowns: 0,
    inFlight: 0,
    queued: 0,
    linkFailures: 0,
    localErrors: 0,
    pingsSent: 0,
    pingFailures: 0,
    strayResponses: 0,
    malformed: 0,
    foreignPackets: 0,
    ignoredRequests: 0,
    framingErrors: 0,
    connects: 0,
    connectFailures: 0,
    sendErrors: 0,
  };

  private readonly proxy: SipNotifyTransportOptions['proxy'];
  private readonly local: SipNotifyTransportOptions['local'];
  private readonly timers: SipTimers;
  private readonly maxInFlight: number;
  private readonly keepaliveMs: number;
  private readonly failuresBeforeDown: number;
  private readonly reconnectInitialMs: number;
  private readonly reconnectMaxMs: number;
  private readonly connectTimeoutMs: number;
  private readonly maxUdpBytes: number;
  private readonly maxTcpWriteBuffer: number;
  private readonly limits: SipParseLimits;
  private readonly logger: { warn(message: string): void } | undefined;
  private readonly reliable: boolean;

  private readonly tokens = new RandomTokens();
  private readonly table = new ClientTransactionTable();
  private readonly waiting: (Waiter | undefined)[] = [];
  private waitingHead = 0;
  private inFlight = 0;
  private link: LinkState = 'down';
  private startPromise: Promise<void> | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Resolved address of the proxy (UDP source filter and destination). */
  private proxyAddress = '';

  // UDP
  private udp: dgram.Socket | undefined;
  private udpPort = 0;

  // TCP
  private tcp: net.Socket | undefined;
  private tcpConnected = false;
  private tcpLocalPort = 0;
  private tcpBackpressure = false;
  private tcpCorked = false;
  private framer: SipStreamFramer | undefined;
  private reconnectAttempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;

  // keepalive
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private ping: NonInviteClientTransaction | undefined;
  private pingFailuresInRow = 0;
  private pingSeq = 0;
  private readonly pingCallId: string;
  private readonly pingFromTag: string;
  private firstAnswer: (() => void) | undefined;

  constructor(options: SipNotifyTransportOptions) {
    const { proxy, local } = options;
    if (proxy.transport !== 'udp' && proxy.transport !== 'tcp') throw new RangeError('proxy.transport must be udp or tcp');
    positiveInt('proxy.port', proxy.port, 65535);
    if (!Number.isInteger(local.port) || local.port < 0 || local.port > 65535) throw new RangeError('local.port must be in [0, 65535]');
    if (isUnspecified(local.host) || net.isIP(local.host) === 0) {
      throw new RangeError('local.host must be a concrete IP address (it is the Via sent-by and Kamailio checks it)');
    }
    this.proxy = proxy;
    this.local = local;
    this.reliable = proxy.transport === 'tcp';
    this.timers = resolveTimers(options.timers);
    this.maxInFlight = positiveInt('maxInFlight', options.maxInFlight ?? 10_000, 10_000_000);
    this.keepaliveMs = positiveInt('keepalive.intervalMs', options.keepalive?.intervalMs ?? 2000, 3_600_000);
    this.failuresBeforeDown = positiveInt('keepalive.failuresBeforeDown', options.keepalive?.failuresBeforeDown ?? 2, 1000);
    this.reconnectInitialMs = positiveInt('reconnect.initialDelayMs', options.reconnect?.initialDelayMs ?? 100, 600_000);
    this.reconnectMaxMs = Math.max(this.reconnectInitialMs, positiveInt('reconnect.maxDelayMs', options.reconnect?.maxDelayMs ?? 5000, 3_600_000));
    this.connectTimeoutMs = positiveInt('connectTimeoutMs', options.connectTimeoutMs ?? 3000, 600_000);
    this.maxUdpBytes = positiveInt('maxUdpMessageBytes', options.maxUdpMessageBytes ?? 65_000, 65_507);
    this.maxTcpWriteBuffer = positiveInt('maxTcpWriteBuffer', options.maxTcpWriteBuffer ?? 4 * 1024 * 1024, 1 << 30);
    this.limits = { ...DEFAULT_PARSE_LIMITS, ...(options.parseLimits ?? {}) };
    this.logger = options.logger;
    this.pingCallId = `presenced-ka-${this.tokens.token(16)}`;
    this.pingFromTag = this.tokens.token(12);
  }

  get linkState(): LinkState {
    return this.link;
  }

  /** The bound UDP port (after start), or the current TCP connection's local port. */
  get localPort(): number {
    return this.reliable ? this.tcpLocalPort : this.udpPort;
  }

  /** Transactions in the table (pending + completed awaiting Timer K). */
  get transactions(): number {
    return this.table.size;
  }

  /**
   * Binds/connects, starts the keepalive and waits (at most one keepalive
   * interval) for the first answer from the proxy. Rejects only when the
   * UDP socket cannot be bound or the proxy host cannot be resolved.
   */
  start(): Promise<void> {
    if (this.startPromise === undefined) this.startPromise = this.doStart();
    return this.startPromise;
  }

  private async doStart(): Promise<void> {
    if (this.closed) throw new Error('transport is closed');
    this.proxyAddress = net.isIP(this.proxy.host) !== 0 ? this.proxy.host : (await dns.promises.lookup(this.proxy.host, { family: net.isIPv6(this.local.host) ? 6 : 4 })).address;
    if (this.closed) return;
    const answered = new Promise<void>((resolve) => {
      this.firstAnswer = resolve;
    });
    if (this.reliable) {
      this.connect();
    } else {
      await this.bindUdp();
      this.sendPing();
    }
    if (this.closed) return;
    this.pingTimer = setInterval(() => this.keepaliveTick(), this.keepaliveMs);
    let bound: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([answered, new Promise<void>((resolve) => (bound = setTimeout(resolve, this.keepaliveMs)))]);
    clearTimeout(bound);
    this.firstAnswer = undefined;
  }

  private bindUdp(): Promise<void> {
    const sock = dgram.createSocket({ type: net.isIPv6(this.local.host) ? 'udp6' : 'udp4' });
    this.udp = sock;
    return new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        this.udp = undefined;
        sock.close();
        reject(new Error(`cannot bind UDP ${this.local.host}:${this.local.port}: ${err.message}`));
      };
      sock.once('error', onError);
      sock.once('close', () => {
        if (this.udpPort === 0) reject(new Error('UDP socket closed before it was bound'));
      });
      sock.bind({ address: this.local.host, port: this.local.port, exclusive: true }, () => {
        sock.off('error', onError);
        sock.on('error', (err) => this.logger?.warn(`SIP UDP socket error: ${err.message}`));
        sock.on('message', (msg, rinfo) => {
          if (rinfo.address !== this.proxyAddress || rinfo.port !== this.proxy.port) {
            this.counters.foreignPackets++;
            return;
          }
          this.onMessage(msg, true);
        });
        this.udpPort = sock.address().port;
        resolve();
      });
    });
  }

  send(notify: Notify): Promise<DeliveryResult> {
    if (this.closed || this.link === 'down') {
      this.counters.linkFailures++;
      return Promise.resolve({ kind: 'link-failure', detail: this.closed ? 'closed' : 'link down' });
    }
    return new Promise<DeliveryResult>((resolve) => {
      const w: Waiter = { notify, resolve };
      if (this.waitingCount() === 0 && this.canBegin()) this.begin(w);
      else {
        this.waiting.push(w);
        this.counters.queued = this.waitingCount();
      }
    });
  }

  async close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closed = true;
    this.closing = (async () => {
      if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
      if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
      if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
      this.pingTimer = this.reconnectTimer = this.connectTimer = undefined;
      this.firstAnswer?.();
      this.flushWaiting('closed');
      for (const tx of this.table.pending()) tx.transportError('closed');
      this.table.abortAll();
      this.ping = undefined;
      const closes: Promise<void>[] = [];
      const udp = this.udp;
      if (udp !== undefined) {
        this.udp = undefined;
        closes.push(new Promise<void>((resolve) => udp.close(() => resolve())));
      }
      const tcp = this.tcp;
      if (tcp !== undefined) {
        this.tcp = undefined;
        this.tcpConnected = false;
        closes.push(new Promise<void>((resolve) => {
          if (tcp.destroyed) resolve();
          else {
            tcp.once('close', () => resolve());
            tcp.destroy();
          }
        }));
      }
      await Promise.all(closes);
      this.setLink('down', false);
    })();
    return this.closing;
  }

  // -------------------------------------------------------------------------
  // transactions

  private waitingCount(): number {
    return this.waiting.length - this.waitingHead;
  }

  private shiftWaiting(): Waiter | undefined {
    if (this.waitingHead >= this.waiting.length) return undefined;
    const w = this.waiting[this.waitingHead];
    this.waiting[this.waitingHead++] = undefined;
    if (this.waitingHead >= 1024 && this.waitingHead * 2 >= this.waiting.length) {
      this.waiting.splice(0, this.waitingHead);
      this.waitingHead = 0;
    }
    this.counters.queued = this.waitingCount();
    return w;
  }

  private canBegin(): boolean {
    if (this.closed || this.link === 'down' || this.inFlight >= this.maxInFlight) return false;
    return this.reliable ? this.tcpConnected && !this.tcpBackpressure : this.udp !== undefined;
  }

  private pump(): void {
    while (this.waitingCount() > 0 && this.canBegin()) {
      const w = this.shiftWaiting();
      if (w !== undefined) this.begin(w);
    }
  }

  private flushWaiting(detail: string): void {
    for (let w = this.shiftWaiting(); w !== undefined; w = this.shiftWaiting()) {
      this.counters.linkFailures++;
      w.resolve({ kind: 'link-failure', detail });
    }
    this.waiting.length = 0;
    this.waitingHead = 0;
    this.counters.queued = 0;
  }

  private via(branch: string): ViaFields {
    return { transport: this.proxy.transport, host: this.local.host, port: this.localPort, branch };
  }

  private newBranch(): string {
    let b = newBranch(this.tokens);
    while (this.table.get(b) !== undefined) b = newBranch(this.tokens);
    return b;
  }

  private begin(w: Waiter): void {
    const branch = this.newBranch();
    let request: Buffer;
    try {
      request = formatNotify(w.notify, this.via(branch));
    } catch (err) {
      this.counters.localErrors++;
      const msg = err instanceof Error ? err.message : String(err);
      this.logger?.warn(`NOTIFY for ${w.notify.subscriptionId} cannot be formatted: ${msg}`);
      w.resolve({ kind: 'response', status: err instanceof SipFormatError ? 400 : 500 });
      return;
    }
    if (!this.reliable && request.length > this.maxUdpBytes) {
      // RFC 3261 §18.1.1 would switch to TCP; this transport has one socket: refuse locally
      this.counters.localErrors++;
      this.logger?.warn(`NOTIFY for ${w.notify.subscriptionId} is ${request.length} bytes, above the UDP limit ${this.maxUdpBytes}: use the TCP transport`);
      w.resolve({ kind: 'response', status: 513 });
      return;
    }
    const linkDownsAtStart = this.counters.linkDowns;
    this.inFlight++;
    this.counters.inFlight = this.inFlight;
    let done = false;
    const finish = (r: DeliveryResult): void => {
      if (done) return;
      done = true;
      this.inFlight--;
      this.counters.inFlight = this.inFlight;
      if (r.kind === 'link-failure') this.counters.linkFailures++;
      w.resolve(r);
      this.pump();
    };
    const tx: NonInviteClientTransaction = this.table.create({
      branch,
      method: 'NOTIFY',
      request,
      reliable: this.reliable,
      timers: this.timers,
      user: {
        transmit: (bytes, retransmission) => {
          if (retransmission) this.counters.retransmissions++;
          else this.counters.sent++;
          this.write(bytes, tx);
        },
        onProvisional: () => {
          this.counters.responsesByClass['1xx']++;
          this.noteAlive();
        },
        onFinal: (r) => {
          this.counters.responsesByClass[responseClass(r.status)]++;
          this.noteAlive();
          finish(r.retryAfter !== undefined ? { kind: 'response', status: r.status, retryAfter: r.retryAfter } : { kind: 'response', status: r.status });
        },
        onTimeout: () => {
          this.counters.timeouts++;
          const wentDown = this.link === 'down' || this.counters.linkDowns !== linkDownsAtStart;
          finish(wentDown ? { kind: 'link-failure', detail: 'timeout' } : { kind: 'response', status: 408 });
        },
        onTransportError: (detail) => finish({ kind: 'link-failure', detail }),
      },
    });
    tx.start();
  }

  private write(bytes: Buffer, tx: NonInviteClientTransaction): void {
    if (this.reliable) {
      const sock = this.tcp;
      if (sock === undefined || !this.tcpConnected) {
        // cannot happen for a first send (begin() waits for the connection); be safe
        queueMicrotask(() => tx.transportError('not connected'));
        return;
      }
      // A fan-out hands many NOTIFYs over in one turn: cork until the next tick so they
      // leave in one writev instead of one syscall each.
      if (!this.tcpCorked) {
        this.tcpCorked = true;
        sock.cork();
        process.nextTick(() => {
          this.tcpCorked = false;
          sock.uncork();
        });
      }
      if (!sock.write(bytes) || sock.writableLength > this.maxTcpWriteBuffer) this.tcpBackpressure = true;
      return;
    }
    const sock = this.udp;
    if (sock === undefined) return; // closed: the transaction is being torn down
    sock.send(bytes, this.proxy.port, this.proxyAddress, (err) => {
      if (err) {
        this.counters.sendErrors++;
        // a transient error (ENOBUFS, EAGAIN) is covered by retransmissions; Timer F ends it otherwise
      }
    });
  }

  private onMessage(data: Buffer, datagram: boolean): void {
    const r = parseMessage(data, this.limits, datagram);
    if (!r.ok) {
      this.counters.malformed++;
      return;
    }
    if (r.kind === 'request') {
      this.counters.ignoredRequests++;
      return;
    }
    if (!this.table.dispatch(r.response)) this.counters.strayResponses++;
  }

  // -------------------------------------------------------------------------
  // link state and keepalive

  private setLink(state: LinkState, count = true): void {
    if (this.link === state) return;
    this.link = state;
    if (state === 'down') {
      if (count) this.counters.linkDowns++;
      this.flushWaiting('link down');
    }
    try {
      this.onLinkChange?.(state);
    } catch (err) {
      this.logger?.warn(`onLinkChange threw: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (state === 'up') this.pump();
  }

  /** The proxy answered something: the link works. */
  private noteAlive(): void {
    this.pingFailuresInRow = 0;
    if (this.closed) return;
    this.setLink('up');
    const first = this.firstAnswer;
    this.firstAnswer = undefined;
    first?.();
  }

  private keepaliveTick(): void {
    if (this.closed) return;
    if (this.ping !== undefined) {
      // the previous probe got no answer within the interval
      const old = this.ping;
      this.ping = undefined;
      old.abort();
      this.pingFailed();
    }
    this.sendPing();
  }

  private pingFailed(): void {
    this.counters.pingFailures++;
    this.pingFailuresInRow++;
    if (this.pingFailuresInRow >= this.failuresBeforeDown) this.setLink('down');
  }

  private sendPing(): void {
    if (this.closed || this.ping !== undefined) return;
    if (this.reliable && !this.tcpConnected) return; // the connect path decides the link state
    if (!this.reliable && this.udp === undefined) return;
    const branch = this.newBranch();
    this.pingSeq = this.pingSeq >= 0x7ffffffe ? 1 : this.pingSeq + 1;
    const request = formatOptions(
      {
        requestUri: `sip:${net.isIPv6(this.proxyAddress) ? `[${this.proxyAddress}]` : this.proxyAddress}:${this.proxy.port}`,
        callId: this.pingCallId,
        fromTag: this.pingFromTag,
        cseq: this.pingSeq,
      },
      this.via(branch),
    );
    const tx: NonInviteClientTransaction = this.table.create({
      branch,
      method: 'OPTIONS',
      request,
      reliable: this.reliable,
      timers: this.timers,
      user: {
        transmit: (bytes) => this.write(bytes, tx),
        onFinal: () => {
          if (this.ping === tx) this.ping = undefined;
          this.noteAlive();
        },
        onProvisional: () => undefined,
        onTimeout: () => {
          if (this.ping !== tx) return;
          this.ping = undefined;
          this.pingFailed();
        },
        onTransportError: () => {
          if (this.ping === tx) this.ping = undefined;
        },
      },
    });
    this.ping = tx;
    this.counters.pingsSent++;
    tx.start();
  }

  // -------------------------------------------------------------------------
  // TCP connection

  private connect(): void {
    if (this.closed || this.tcp !== undefined) return;
    const sock = net.connect({
      host: this.proxyAddress,
      port: this.proxy.port,
      localAddress: this.local.host,
      noDelay: true,
    });
    this.tcp = sock;
    this.connectTimer = setTimeout(() => sock.destroy(new Error('connect timeout')), this.connectTimeoutMs);
    let lastError = '';
    sock.once('connect', () => {
      if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
      if (this.closed) return;
      this.counters.connects++;
      this.tcpConnected = true;
      this.tcpBackpressure = false;
      this.tcpLocalPort = sock.localPort ?? 0;
      this.reconnectAttempt = 0;
      this.framer = new SipStreamFramer(this.limits);
      sock.setKeepAlive(true, 15_000);
      this.sendPing();
      this.pump();
    });
    sock.on('data', (chunk: Buffer) => {
      const framer = this.framer;
      if (framer === undefined || this.tcp !== sock) return;
      for (const ev of framer.push(chunk)) {
        if (ev.type === 'message') this.onMessage(ev.data, false);
        else {
          this.counters.framingErrors++;
          this.logger?.warn(`SIP TCP framing error from the proxy (${ev.error}): closing the connection`);
          sock.destroy();
          return;
        }
      }
    });
    sock.on('drain', () => {
      if (this.tcp !== sock) return;
      this.tcpBackpressure = false;
      this.pump();
    });
    sock.on('error', (err) => {
      lastError = err.message;
    });
    sock.once('close', () => {
      if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
      if (this.tcp !== sock) return; // closed by close()
      const wasConnected = this.tcpConnected;
      this.tcp = undefined;
      this.tcpConnected = false;
      this.tcpBackpressure = false;
      this.framer = undefined;
      if (this.closed) return;
      // RFC 3261 §17.1.4: requests on the lost connection cannot get their responses any more
      for (const tx of this.table.pending()) tx.transportError(wasConnected ? 'connection lost' : 'connect failed');
      if (wasConnected) {
        this.logger?.warn(`SIP TCP connection to ${this.proxy.host}:${this.proxy.port} lost${lastError ? ` (${lastError})` : ''}: reconnecting`);
      } else {
        this.counters.connectFailures++;
        if (this.reconnectAttempt === 0) this.reconnectAttempt = 1; // no immediate retry after a failed connect
        this.setLink('down');
      }
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer !== undefined) return;
    const n = this.reconnectAttempt++;
    const delay = n === 0 ? 0 : Math.min(this.reconnectMaxMs, this.reconnectInitialMs * 2 ** Math.min(n - 1, 30));
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, delay);
  }
}
