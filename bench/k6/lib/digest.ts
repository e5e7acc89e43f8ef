/**
 * HTTP Digest (RFC 7616, qop=auth, SHA-256 or MD5) for k6 scripts, done by
 * hand with k6/crypto: presenced's XCAP server offers two challenges
 * (SHA-256 first, then MD5) and accepts either; keeping the nonce per VU and
 * counting nc up lets every request after the first go out authenticated
 * (no 401 round trip), and a `stale=true` challenge renews the nonce.
 *
 * (k6's built-in `auth: 'digest'` would work for MD5-only servers too, at
 * the cost of a 401 round trip on every request.)
 */
import crypto from 'k6/crypto';

export type DigestAlgorithm = 'SHA-256' | 'MD5';

export interface Challenge {
  readonly realm: string;
  readonly nonce: string;
  readonly opaque?: string;
  readonly algorithm: DigestAlgorithm;
  readonly stale: boolean;
}

function params(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) out[(m[1] as string).toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] as string);
  return out;
}

/**
 * The challenges of a 401's WWW-Authenticate header(s): k6 joins repeated
 * header fields with ", ", so the value is split before each "Digest ".
 */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const text = Array.isArray(header) ? header.join(', ') : header;
  const out: Challenge[] = [];
  for (const part of text.split(/(?:^|,\s*)(?=Digest\s)/i)) {
    if (!/^Digest\s/i.test(part)) continue;
    const p = params(part.slice(7));
    const alg = (p['algorithm'] ?? 'MD5').toUpperCase();
    if ((alg !== 'SHA-256' && alg !== 'MD5') || p['realm'] === undefined || p['nonce'] === undefined) continue;
    if (p['qop'] !== undefined && !p['qop'].split(',').map((x) => x.trim()).includes('auth')) continue;
    out.push({
      realm: p['realm'],
      nonce: p['nonce'],
      ...(p['opaque'] !== undefined ? { opaque: p['opaque'] } : {}),
      algorithm: alg as DigestAlgorithm,
      stale: (p['stale'] ?? '').toLowerCase() === 'true',
    });
  }
  return out;
}

function h(alg: DigestAlgorithm, s: string): string {
  return alg === 'SHA-256' ? crypto.sha256(s, 'hex') : crypto.md5(s, 'hex');
}

/** One VU's Digest session: the current challenge and its nonce count. */
export class DigestSession {
  private challenge: Challenge | undefined;
  private nc = 0;

  constructor(
    private readonly username: string,
    private readonly password: string,
    private readonly prefer: DigestAlgorithm = 'SHA-256',
  ) {}

  get ready(): boolean {
    return this.challenge !== undefined;
  }

  /** Takes the challenges of a 401; false when none is usable. */
  accept(header: string | string[] | undefined): boolean {
    const cs = parseChallenges(header);
    const c = cs.find((x) => x.algorithm === this.prefer) ?? cs[0];
    if (!c) return false;
    this.challenge = c;
    this.nc = 0;
    return true;
  }

  /** The Authorization header for `method` and request-target `uri` (path + query, exactly as sent). */
  authorization(method: string, uri: string): string | undefined {
    const c = this.challenge;
    if (!c) return undefined;
    this.nc++;
    const nc = `00000000${this.nc.toString(16)}`.slice(-8);
    const cn = Array.from(new Uint8Array(crypto.randomBytes(8)), (b) => b.toString(16).padStart(2, '0')).join('');
    const ha1 = h(c.algorithm, `${this.username}:${c.realm}:${this.password}`);
    const ha2 = h(c.algorithm, `${method}:${uri}`);
    const response = h(c.algorithm, `${ha1}:${c.nonce}:${nc}:${cn}:auth:${ha2}`);
    return (
      `Digest username="${this.username}", realm="${c.realm}", nonce="${c.nonce}", uri="${uri}", algorithm=${c.algorithm}, ` +
      `response="${response}", qop=auth, nc=${nc}, cnonce="${cn}"${c.opaque !== undefined ? `, opaque="${c.opaque}"` : ''}`
    );
  }
}
