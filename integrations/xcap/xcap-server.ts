/**
 * The XCAP server's HTTP face (RFC 4825 over fastify): authentication
 * (HTTP Digest against users in the store, or an identity asserted by a
 * trusted fronting proxy), request-target and conditional-header parsing,
 * raw bodies (UTF-8 checked), then the request goes to the Presence Server's
 * XCAP handling in the document owner's lane. Everything RFC-specific
 * happens in core/xcap; this file only speaks HTTP.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { XcapRequest, XcapResponse } from '../../core/xcap/xcap-service.js';
import { DigestAuth, type DigestUser } from './digest-auth.js';

export interface XcapEngine {
  xcap(request: XcapRequest): Promise<XcapResponse>;
}

export interface XcapUser extends DigestUser {
  /** The user's XUI (their `users/` tree). */
  readonly xui: string;
}

export interface XcapServerOptions {
  readonly engine: XcapEngine;
  /** Looks up a Digest username (returns its XUI and HA1s). */
  readonly users: (username: string) => XcapUser | undefined;
  /** Path of the XCAP root on this server, e.g. `/xcap-root`. */
  readonly rootPath: string;
  /** Digest realm. */
  readonly realm: string;
  /** Nonce HMAC secret (share it between nodes behind one load balancer). */
  readonly nonceSecret?: Buffer;
  /** Largest accepted body, bytes (413 beyond). */
  readonly bodyLimit: number;
  /** Source addresses allowed to assert the user with `identityHeader` (no Digest then). */
  readonly trustedProxies?: readonly string[];
  /** Header carrying the asserted XUI from a trusted proxy. Default `X-XCAP-Asserted-Identity`. */
  readonly identityHeader?: string;
  /** Observer of every answered request (metrics): usage AUID, method, status. */
  readonly onRequest?: (auid: string, method: string, status: number) => void;
}

/** Entity-tags of an If-Match / If-None-Match header (RFC 9110 §13.1): unquoted, `*` kept; weak tags dropped for If-Match. */
export function parseEtagList(value: string | string[] | undefined, allowWeak: boolean): string[] | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  const out: string[] = [];
  for (const raw of text.split(',')) {
    let t = raw.trim();
    if (t === '') continue;
    if (t === '*') {
      out.push('*');
      continue;
    }
    if (t.startsWith('W/')) {
      if (!allowWeak) continue; // strong comparison: a weak tag never matches
      t = t.slice(2);
    }
    if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) out.push(t.slice(1, -1));
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class XcapServer {
  readonly app: FastifyInstance;
  private readonly digest: DigestAuth;
  private readonly trusted: Set<string>;
  private readonly identityHeader: string;

  constructor(private readonly options: XcapServerOptions) {
    this.digest = new DigestAuth({ realm: options.realm, ...(options.nonceSecret ? { secret: options.nonceSecret } : {}) });
    this.trusted = new Set(options.trustedProxies ?? []);
    this.identityHeader = (options.identityHeader ?? 'X-XCAP-Asserted-Identity').toLowerCase();
    this.app = Fastify({ logger: false, bodyLimit: options.bodyLimit, routerOptions: { maxParamLength: 4096 } });
    // Bodies are kept raw, whatever their type (no JSON/text parsing): the XCAP layer decides what a valid body is.
    this.app.removeAllContentTypeParsers();
    this.app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    this.app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
      const status = err.statusCode === 413 ? 413 : err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
      void reply.code(status).type('text/plain; charset=utf-8').send(`${err.message}\n`);
    });
    const root = options.rootPath.replace(/\/+$/, '');
    const handler = (req: FastifyRequest, reply: FastifyReply): Promise<void> => this.handle(req, reply, root);
    this.app.route({ method: ['GET', 'PUT', 'DELETE'], url: `${root}/*`, handler, exposeHeadRoute: false });
    // HEAD (RFC 9110 §9.3.2): a GET without body; Digest still covers the HEAD method.
    this.app.route({ method: 'HEAD', url: `${root}/*`, handler });
    this.app.route({
      method: ['POST', 'PATCH', 'OPTIONS'],
      url: `${root}/*`,
      handler: async (_req, reply) => {
        await reply.code(405).header('Allow', 'GET, HEAD, PUT, DELETE').send();
      },
    });
  }

  private async handle(req: FastifyRequest, reply: FastifyReply, root: string): Promise<void> {
    const rawUrl = req.raw.url ?? '';
    const q = rawUrl.indexOf('?');
    const target = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const path = target.slice(root.length + 1);
    const auid = path.split('/')[0] ?? '';
    const finish = async (status: number, headers: Record<string, string | string[]>, body?: string): Promise<void> => {
      this.options.onRequest?.(auid, req.method, status);
      reply.code(status);
      for (const [k, v] of Object.entries(headers)) reply.header(k, v);
      await reply.send(body ?? '');
    };

    // Who is asking: a trusted proxy's assertion, or HTTP Digest (RFC 4825 §10).
    let user: string | undefined;
    const asserted = req.headers[this.identityHeader];
    if (this.trusted.has(req.socket.remoteAddress ?? '') && typeof asserted === 'string' && asserted !== '') {
      user = asserted.trim();
    } else {
      const check = this.digest.verify(req.headers.authorization, req.method, rawUrl, (u) => this.options.users(u));
      if (!check.ok) {
        await finish(401, { 'WWW-Authenticate': this.digest.challenges(check.stale), 'Content-Type': 'text/plain; charset=utf-8' }, 'authentication required\n');
        return;
      }
      user = this.options.users(check.username)?.xui;
    }

    let body: string | undefined;
    let bodyNotUtf8 = false;
    if (Buffer.isBuffer(req.body) && req.body.length > 0) {
      try {
        body = utf8.decode(req.body);
      } catch {
        bodyNotUtf8 = true; // reported by the engine after authorization (403/405 first)
      }
    }
    const head = req.method === 'HEAD';
    const request: { -readonly [K in keyof XcapRequest]: XcapRequest[K] } = { method: head ? 'GET' : req.method, path };
    if (bodyNotUtf8) request.bodyNotUtf8 = true;
    if (q >= 0) request.query = rawUrl.slice(q + 1);
    if (user !== undefined) request.user = user;
    const ifMatch = parseEtagList(req.headers['if-match'], false);
    if (ifMatch) request.ifMatch = ifMatch;
    const ifNoneMatch = parseEtagList(req.headers['if-none-match'], true);
    if (ifNoneMatch) request.ifNoneMatch = ifNoneMatch;
    if (typeof req.headers['content-type'] === 'string') request.contentType = req.headers['content-type'];
    if (body !== undefined) request.body = body;
    const res = await this.options.engine.xcap(request);
    if (head) {
      const headers: Record<string, string> = { ...res.headers };
      if (res.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(res.body));
      await finish(res.status, headers);
      return;
    }
    await finish(res.status, { ...res.headers }, res.body);
  }

  async listen(port: number, host: string): Promise<number> {
    await this.app.listen({ port, host });
    const a = this.app.server.address();
    return typeof a === 'object' && a !== null ? a.port : port;
  }

  async close(): Promise<void> {
    await this.app.close();
  }
}
