/**
 * The JSON-RPC server Kamailio's janssonrpcc module talks to.
 *
 * Wire format (janssonrpcc 5.6, checked against its source and the running
 * module): JSON-RPC 2.0 over TCP, every message one netstring
 * (`<len>:<json>,`), requests pipelined on one connection:
 *
 *   -> {"id":7,"jsonrpc":"2.0","method":"presenced.request","params":{...}}
 *   <- {"jsonrpc":"2.0","id":7,"result":{"code":200,"reason":"OK","headers":"SIP-ETag: x\r\n"}}
 *   <- {"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"Invalid params: cseq: ...",
 *        "data":{"code":400,"reason":"Bad Request","headers":"Warning: ...\r\n"}}}
 *
 * janssonrpcc matches answers by the integer `id` and insists on
 * `"jsonrpc":"2.0"` and exactly one of result / error, so answers may be
 * written in any order, as each request completes. Errors carry the SIP
 * reply to send in `data` (same shape as a result), which is what
 * route[PRESENCED_RESULT] in cfg/presenced.cfg reads.
 *
 * Robustness: every input is bounded (frame size, requests in flight per
 * connection, connections, engine time) and malformed input is answered with
 * a JSON-RPC error, never by throwing. A broken framing cannot be resynced,
 * so that one connection is answered and closed; Kamailio reconnects.
 */
import net from 'node:net';
import type { HandleResult, SipRequest } from '../../core/contract.js';
import { sipReason } from '../../core/reason-phrases.js';
import { NetstringDecoder, encodeNetstring } from './netstring.js';
import {
  type KamailioReply,
  type MappingLimits,
  defaultMappingLimits,
  mapParamsToSipRequest,
  toKamailioReply,
} from './request-mapping.js';

/** The presence core as this front sees it (the real one runs behind the worker dispatcher). */
export interface PresenceEngine {
  handle(req: SipRequest): Promise<HandleResult>;
}

/** The JSON-RPC method route[PRESENCED] calls. */
export const PRESENCED_METHOD = 'presenced.request';

/** JSON-RPC 2.0 error codes (spec §5.1) plus the server-defined ones used here. */
export const JsonRpcErrorCode = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  /** Too many requests in flight on this connection. */
  busy: -32000,
  /** The engine did not answer within handleTimeoutMs. */
  timeout: -32001,
  /** The request frame exceeded maxFrameBytes. */
  tooLarge: -32002,
} as const;

export interface ServerLogger {
  warn(message: string): void;
}

/** Passed to `onResult` once the answer for a request has been written (or could not be). */
export interface RequestOutcome {
  readonly request: SipRequest;
  readonly result: HandleResult;
  /** The reply that was sent to Kamailio. */
  readonly reply: KamailioReply;
  /** False when the connection was gone: Kamailio answered 503 on its own. */
  readonly delivered: boolean;
}

export interface KamailioJsonRpcServerOptions {
  readonly engine: PresenceEngine;
  /** Largest request frame (netstring payload), bytes. Default 256 KiB. */
  readonly maxFrameBytes?: number;
  /** Requests in flight per connection before new ones are refused (503). Default 1024. */
  readonly maxPendingPerConnection?: number;
  /** Concurrent connections; more are closed at once. Default 64. */
  readonly maxConnections?: number;
  /** Longest wait for the engine before answering 503 ourselves. Default 10 s. */
  readonly handleTimeoutMs?: number;
  /** Retry-After seconds in the 503s this server generates. Default 5. */
  readonly retryAfterSeconds?: number;
  readonly mappingLimits?: MappingLimits;
  /** Called after each answered request, e.g. to send its NOTIFYs after the reply. */
  readonly onResult?: (outcome: RequestOutcome) => void;
  /**
   * Extra members for a successful result object (e.g. the `replied` token
   * that makes the config notify us once the reply has left). Values must be
   * plain tokens: they are read with jansson_get in the config.
   */
  readonly resultExtras?: (request: SipRequest, result: HandleResult) => Readonly<Record<string, string>> | undefined;
  /** JSON-RPC notifications (no id) Kamailio sends, e.g. `presenced.replied`. */
  readonly onNotification?: (method: string, params: unknown) => void;
  readonly logger?: ServerLogger;
}

/** Counters for monitoring. */
export interface KamailioJsonRpcServerStats {
  connections: number;
  requests: number;
  results: number;
  errors: number;
  busy: number;
  timeouts: number;
  oversize: number;
  framingErrors: number;
  notificationsIgnored: number;
  notifications: number;
}

type JsonRpcId = number | string | null;

type ErrorData = KamailioReply;

interface JsonRpcError {
  readonly code: number;
  readonly message: string;
  readonly data?: ErrorData;
}

const defaultLogger: ServerLogger = { warn: (m) => console.warn(`[presenced kamailio-rpc] ${m}`) };

export class KamailioJsonRpcServer {
  readonly stats: KamailioJsonRpcServerStats = {
    connections: 0,
    requests: 0,
    results: 0,
    errors: 0,
    busy: 0,
    timeouts: 0,
    oversize: 0,
    framingErrors: 0,
    notificationsIgnored: 0,
    notifications: 0,
  };

  private readonly engine: PresenceEngine;
  private readonly maxFrameBytes: number;
  private readonly maxPending: number;
  private readonly maxConnections: number;
  private readonly handleTimeoutMs: number;
  private readonly retryAfter: number;
  private readonly limits: MappingLimits;
  private readonly onResult: ((outcome: RequestOutcome) => void) | undefined;
  private readonly resultExtras: KamailioJsonRpcServerOptions['resultExtras'];
  private readonly onNotification: KamailioJsonRpcServerOptions['onNotification'];
  private readonly log: ServerLogger;
  private readonly server: net.Server;
  private readonly connections = new Set<Connection>();
  private listening = false;

  constructor(options: KamailioJsonRpcServerOptions) {
    this.engine = options.engine;
    this.maxFrameBytes = positiveInt(options.maxFrameBytes, 256 * 1024, 'maxFrameBytes');
    this.maxPending = positiveInt(options.maxPendingPerConnection, 1024, 'maxPendingPerConnection');
    this.maxConnections = positiveInt(options.maxConnections, 64, 'maxConnections');
    this.handleTimeoutMs = positiveInt(options.handleTimeoutMs, 10_000, 'handleTimeoutMs');
    this.retryAfter = positiveInt(options.retryAfterSeconds, 5, 'retryAfterSeconds');
    this.limits = options.mappingLimits ?? defaultMappingLimits;
    this.onResult = options.onResult;
    this.resultExtras = options.resultExtras;
    this.onNotification = options.onNotification;
    this.log = options.logger ?? defaultLogger;
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server.on('error', (err) => this.log.warn(`server error: ${err.message}`));
  }

  /** Starts listening; resolves with the bound port (useful with port 0). */
  listen(port: number, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen({ port, host, exclusive: true }, () => {
        this.server.off('error', onError);
        this.listening = true;
        const addr = this.server.address();
        resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
      });
    });
  }

  /** The bound address, once listening. */
  address(): net.AddressInfo | null {
    const addr = this.server.address();
    return typeof addr === 'object' ? addr : null;
  }

  /** Number of open connections. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Stops accepting, drops every connection; answers still pending are discarded. */
  close(): Promise<void> {
    for (const c of this.connections) c.destroy();
    if (!this.listening) return Promise.resolve();
    this.listening = false;
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    if (this.connections.size >= this.maxConnections) {
      this.log.warn(`connection from ${socket.remoteAddress}:${socket.remotePort} refused: ${this.maxConnections} open`);
      socket.destroy();
      return;
    }
    this.stats.connections++;
    socket.setKeepAlive(true, 30_000);
    const conn = new Connection(socket, new NetstringDecoder({ maxLength: this.maxFrameBytes }));
    this.connections.add(conn);
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('error', (err) => this.log.warn(`connection ${conn.label}: ${err.message}`));
    socket.on('close', () => {
      conn.closed = true;
      this.connections.delete(conn);
    });
  }

  private onData(conn: Connection, chunk: Buffer): void {
    for (const ev of conn.decoder.push(chunk)) {
      if (conn.closed) return;
      switch (ev.type) {
        case 'frame':
          this.onFrame(conn, ev.payload);
          break;
        case 'oversize': {
          this.stats.oversize++;
          const id = sniffId(ev.head);
          this.log.warn(`connection ${conn.label}: ${ev.length}-byte request over the ${this.maxFrameBytes}-byte limit`);
          this.sendError(conn, id, {
            code: JsonRpcErrorCode.tooLarge,
            message: `Request too large (${ev.length} bytes)`,
            data: sipData(413),
          });
          break;
        }
        case 'error':
          this.stats.framingErrors++;
          this.log.warn(`connection ${conn.label}: ${ev.message}; closing`);
          this.sendError(conn, null, { code: JsonRpcErrorCode.parseError, message: `Parse error: ${ev.message}` });
          conn.endSoon();
          return;
      }
    }
  }

  private onFrame(conn: Connection, payload: Buffer): void {
    let msg: unknown;
    try {
      msg = JSON.parse(payload.toString('utf8'));
    } catch {
      this.sendError(conn, null, { code: JsonRpcErrorCode.parseError, message: 'Parse error: invalid JSON' });
      return;
    }
    if (Array.isArray(msg)) {
      this.sendError(conn, null, { code: JsonRpcErrorCode.invalidRequest, message: 'Invalid Request: batches are not supported' });
      return;
    }
    if (typeof msg !== 'object' || msg === null) {
      this.sendError(conn, null, { code: JsonRpcErrorCode.invalidRequest, message: 'Invalid Request: not an object' });
      return;
    }
    const req = msg as Record<string, unknown>;
    const hasId = Object.hasOwn(req, 'id');
    const rawId = req['id'];
    if (hasId && !isValidId(rawId)) {
      this.sendError(conn, null, { code: JsonRpcErrorCode.invalidRequest, message: 'Invalid Request: bad id' });
      return;
    }
    const id: JsonRpcId = hasId ? (rawId as JsonRpcId) : null;
    if (req['jsonrpc'] !== '2.0' || typeof req['method'] !== 'string') {
      if (hasId) {
        this.sendError(conn, id, { code: JsonRpcErrorCode.invalidRequest, message: 'Invalid Request' });
      } else {
        this.sendError(conn, null, { code: JsonRpcErrorCode.invalidRequest, message: 'Invalid Request' });
      }
      return;
    }
    if (!hasId) {
      // A notification: nobody waits for an answer. Presence requests never
      // come as notifications (a request whose reply cannot be delivered must
      // not change state); other methods go to onNotification.
      if (req['method'] !== PRESENCED_METHOD && this.onNotification !== undefined) {
        this.stats.notifications++;
        try {
          this.onNotification(req['method'], req['params']);
        } catch (err) {
          this.log.warn(`onNotification failed: ${err instanceof Error ? err.message : String(err)}`);
        }
        return;
      }
      this.stats.notificationsIgnored++;
      return;
    }
    if (req['method'] !== PRESENCED_METHOD) {
      this.sendError(conn, id, { code: JsonRpcErrorCode.methodNotFound, message: 'Method not found' });
      return;
    }
    if (conn.pending >= this.maxPending) {
      this.stats.busy++;
      this.sendError(conn, id, {
        code: JsonRpcErrorCode.busy,
        message: 'Server busy',
        data: sipData(503, `Retry-After: ${this.retryAfter}\r\n`),
      });
      return;
    }
    const mapped = mapParamsToSipRequest(req['params'], this.limits);
    if (!mapped.ok) {
      const detail = `${mapped.field}: ${mapped.message}`;
      this.sendError(conn, id, {
        code: JsonRpcErrorCode.invalidParams,
        message: `Invalid params: ${detail}`,
        data: sipData(400, `Warning: 399 presenced "${detail.replace(/["\\]/g, '')}"\r\n`),
      });
      return;
    }
    this.stats.requests++;
    conn.pending++;
    void this.handle(conn, id, mapped.value);
  }

  private async handle(conn: Connection, id: JsonRpcId, request: SipRequest): Promise<void> {
    let result: HandleResult | undefined;
    let failure: JsonRpcError | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), this.handleTimeoutMs);
      });
      const outcome = await Promise.race([this.engine.handle(request), timeout]);
      if (outcome === 'timeout') {
        this.stats.timeouts++;
        failure = {
          code: JsonRpcErrorCode.timeout,
          message: `Engine did not answer within ${this.handleTimeoutMs} ms`,
          data: sipData(503, `Retry-After: ${this.retryAfter}\r\n`),
        };
      } else {
        result = outcome;
      }
    } catch (err) {
      this.log.warn(`engine failed on ${request.method} ${request.callId}: ${err instanceof Error ? err.message : String(err)}`);
      failure = { code: JsonRpcErrorCode.internalError, message: 'Internal error', data: sipData(500) };
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      conn.pending--;
    }

    if (result !== undefined) {
      const reply = result.reply === undefined ? undefined : toKamailioReply(result.reply);
      if (reply?.ok === true) {
        this.stats.results++;
        const extras = this.resultExtras?.(request, result);
        const body = extras === undefined ? reply.value : { ...reply.value, ...extras };
        const delivered = this.send(conn, { jsonrpc: '2.0', id, result: body });
        this.notifyOutcome({ request, result, reply: reply.value, delivered });
        return;
      }
      const why = reply === undefined ? 'no reply' : `${reply.field}: ${reply.message}`;
      this.log.warn(`engine returned an unusable reply for ${request.method} ${request.callId}: ${why}`);
      failure = { code: JsonRpcErrorCode.internalError, message: `Internal error: ${why}`, data: sipData(500) };
    }
    if (failure !== undefined) this.sendError(conn, id, failure);
  }

  private notifyOutcome(outcome: RequestOutcome): void {
    if (this.onResult === undefined) return;
    try {
      this.onResult(outcome);
    } catch (err) {
      this.log.warn(`onResult failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private sendError(conn: Connection, id: JsonRpcId, error: JsonRpcError): void {
    this.stats.errors++;
    this.send(conn, { jsonrpc: '2.0', id, error });
  }

  /** Writes one answer; false when the connection is gone. */
  private send(conn: Connection, message: object): boolean {
    if (conn.closed || conn.socket.destroyed || !conn.socket.writable) return false;
    const ok = conn.socket.write(encodeNetstring(JSON.stringify(message)));
    if (!ok && !conn.paused) {
      // Kamailio is not reading: stop reading its requests until it drains.
      conn.paused = true;
      conn.socket.pause();
      conn.socket.once('drain', () => {
        conn.paused = false;
        if (!conn.closed) conn.socket.resume();
      });
    }
    return true;
  }
}

class Connection {
  pending = 0;
  closed = false;
  paused = false;
  readonly label: string;

  constructor(
    readonly socket: net.Socket,
    readonly decoder: NetstringDecoder,
  ) {
    this.label = `${socket.remoteAddress}:${socket.remotePort}`;
  }

  /** Flushes what was written, then closes; destroys after a bound if the peer lingers. */
  endSoon(): void {
    this.closed = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

function sipData(code: number, headers = ''): ErrorData {
  return { code, reason: sipReason(code), headers };
}

function isValidId(id: unknown): boolean {
  return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}

/**
 * The id of a request too large to parse. janssonrpcc writes compact JSON
 * with "id" first (`{"id":12,"jsonrpc":...`), so the head of the frame is
 * enough to answer it at once instead of letting Kamailio time out.
 */
function sniffId(head: Buffer): JsonRpcId {
  const m = /^\s*\{\s*"id"\s*:\s*(-?\d{1,15})\s*[,}]/.exec(head.toString('latin1'));
  return m?.[1] !== undefined ? Number(m[1]) : null;
}

function positiveInt(v: number | undefined, fallback: number, name: string): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer`);
  return v;
}
