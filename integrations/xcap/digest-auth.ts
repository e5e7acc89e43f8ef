/**
 * HTTP Digest authentication (RFC 7616) for the XCAP server (RFC 4825 §10
 * requires it): qop=auth, algorithms MD5 and SHA-256, stateless nonces (an
 * HMAC over a timestamp, so any presenced node can check them and none keeps
 * state), expiry with `stale=true` so clients re-authenticate silently.
 * Passwords are never stored: users are kept as HA1 = H(user:realm:password).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type DigestAlgorithm = 'MD5' | 'SHA-256';

export interface DigestUser {
  readonly ha1Md5: string;
  readonly ha1Sha256?: string;
}

export interface DigestOptions {
  readonly realm: string;
  /** Secret for nonce HMACs (random per process if not given; give one per cluster). */
  readonly secret?: Buffer;
  /** Nonce lifetime, seconds. */
  readonly nonceTtlSeconds?: number;
}

const hash = (alg: DigestAlgorithm, s: string): string => createHash(alg === 'MD5' ? 'md5' : 'sha256').update(s).digest('hex');

export function ha1(alg: DigestAlgorithm, username: string, realm: string, password: string): string {
  return hash(alg, `${username}:${realm}:${password}`);
}

/** Parse `Digest k=v, k="v", ...` (RFC 7616 §3.4). */
export function parseDigestHeader(header: string | undefined): Record<string, string> | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*Digest\s+/i.exec(header);
  if (!m) return undefined;
  const out: Record<string, string> = {};
  const re = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))\s*(?:,|$)/y;
  re.lastIndex = m[0].length;
  while (re.lastIndex < header.length) {
    const r = re.exec(header);
    if (!r) return undefined;
    out[(r[1] as string).toLowerCase()] = r[2] !== undefined ? r[2].replace(/\\(.)/g, '$1') : (r[3] as string);
  }
  return out;
}

export type DigestCheck =
  | { readonly ok: true; readonly username: string }
  | { readonly ok: false; readonly stale: boolean; readonly reason: string };

export class DigestAuth {
  private readonly secret: Buffer;
  private readonly ttl: number;
  /**
   * Highest nonce-count seen per nonce (RFC 7616 §3.4: nc must grow): a
   * captured Authorization header cannot be replayed on this node. Bounded
   * (oldest nonces forgotten first; they expire anyway).
   */
  private readonly seen = new Map<string, number>();
  private static readonly MAX_SEEN = 100_000;

  constructor(private readonly options: DigestOptions) {
    this.secret = options.secret ?? randomBytes(32);
    this.ttl = (options.nonceTtlSeconds ?? 300) * 1000;
  }

  /** `WWW-Authenticate` header values for a 401 (one per algorithm, SHA-256 first, RFC 7616 §3.7). */
  challenges(stale = false): string[] {
    const nonce = this.nonce(Date.now());
    const opaque = createHash('sha256').update(this.options.realm).digest('hex').slice(0, 16);
    return (['SHA-256', 'MD5'] as const).map(
      (alg) => `Digest realm="${this.options.realm}", qop="auth", algorithm=${alg}, nonce="${nonce}", opaque="${opaque}"${stale ? ', stale=true' : ''}`,
    );
  }

  /** `<time>.<random>.<mac>`: unique per challenge, checkable by any node sharing the secret. */
  private nonce(at: number, rand = randomBytes(6).toString('base64url')): string {
    const ts = at.toString(36);
    const mac = createHmac('sha256', this.secret).update(`${ts}.${rand}`).digest('base64url').slice(0, 22);
    return `${ts}.${rand}.${mac}`;
  }

  private nonceState(nonce: string, now: number): 'ok' | 'stale' | 'bad' {
    const [ts, rand, mac, extra] = nonce.split('.');
    if (ts === undefined || rand === undefined || mac === undefined || extra !== undefined) return 'bad';
    const expected = this.nonce(parseInt(ts, 36), rand).split('.')[2] as string;
    const a = Buffer.from(mac);
    const b = Buffer.from(expected);
    if (a.length !== b.length || !timingSafeEqual(a, b)) return 'bad';
    return now - parseInt(ts, 36) > this.ttl ? 'stale' : 'ok';
  }

  /**
   * Verify an `Authorization` header for `method` and request-target `uri`;
   * `lookup` returns the user's HA1s (or undefined for an unknown user).
   */
  verify(header: string | undefined, method: string, uri: string, lookup: (username: string) => DigestUser | undefined, now = Date.now()): DigestCheck {
    const p = parseDigestHeader(header);
    if (!p) return { ok: false, stale: false, reason: 'no Digest credentials' };
    const { username, realm, nonce, response, qop, nc, cnonce } = p;
    const alg = ((p.algorithm ?? 'MD5').toUpperCase() === 'SHA-256' ? 'SHA-256' : (p.algorithm ?? 'MD5').toUpperCase() === 'MD5' ? 'MD5' : undefined) as DigestAlgorithm | undefined;
    if (!username || !nonce || !response || !alg || realm !== this.options.realm) return { ok: false, stale: false, reason: 'incomplete credentials' };
    if (p.uri !== uri) return { ok: false, stale: false, reason: 'uri mismatch' };
    if (qop !== 'auth' || !nc || !cnonce) return { ok: false, stale: false, reason: 'qop=auth required' };
    const state = this.nonceState(nonce, now);
    if (state === 'bad') return { ok: false, stale: false, reason: 'bad nonce' };
    const user = lookup(username);
    const h1 = alg === 'MD5' ? user?.ha1Md5 : user?.ha1Sha256;
    if (!user || !h1) return { ok: false, stale: false, reason: 'unknown user or algorithm' };
    const ha2 = hash(alg, `${method}:${uri}`);
    const expected = hash(alg, `${h1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`);
    const a = Buffer.from(response.toLowerCase());
    const b = Buffer.from(expected);
    if (a.length !== b.length || !timingSafeEqual(a, b)) return { ok: false, stale: false, reason: 'wrong credentials' };
    if (state === 'stale') return { ok: false, stale: true, reason: 'nonce expired' };
    const count = parseInt(nc, 16);
    const last = this.seen.get(nonce) ?? 0;
    if (!(count > last)) return { ok: false, stale: false, reason: 'replayed nonce count' };
    this.seen.delete(nonce);
    this.seen.set(nonce, count);
    if (this.seen.size > DigestAuth.MAX_SEEN) this.seen.delete(this.seen.keys().next().value as string);
    return { ok: true, username };
  }
}
