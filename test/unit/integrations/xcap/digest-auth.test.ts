/** HTTP Digest (RFC 7616) as the XCAP server checks it. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DigestAuth, ha1, parseDigestHeader } from '../../../../integrations/xcap/digest-auth.js';
import { parseEtagList } from '../../../../integrations/xcap/xcap-server.js';

const realm = 'presenced';
const user = { ha1Md5: ha1('MD5', 'alice', realm, 'secret'), ha1Sha256: ha1('SHA-256', 'alice', realm, 'secret') };
const lookup = (u: string) => (u === 'alice' ? user : undefined);

function answer(challenge: string, alg: 'MD5' | 'SHA-256', method: string, uri: string, password = 'secret', username = 'alice'): string {
  const c = parseDigestHeader(challenge) as Record<string, string>;
  const h = (s: string): string => createHash(alg === 'MD5' ? 'md5' : 'sha256').update(s).digest('hex');
  const response = h(`${h(`${username}:${realm}:${password}`)}:${c.nonce}:00000001:cn:auth:${h(`${method}:${uri}`)}`);
  return `Digest username="${username}", realm="${realm}", nonce="${c.nonce}", uri="${uri}", algorithm=${alg}, qop=auth, nc=00000001, cnonce="cn", response="${response}"`;
}

describe('DigestAuth', () => {
  const auth = new DigestAuth({ realm, nonceTtlSeconds: 60 });
  const uri = '/xcap-root/pres-rules/users/sip%3Aalice%40example.com/index';

  it('offers SHA-256 then MD5 with qop=auth', () => {
    const [a, b] = auth.challenges();
    expect(a).toMatch(/^Digest realm="presenced", qop="auth", algorithm=SHA-256, nonce="/);
    expect(b).toContain('algorithm=MD5');
    expect(auth.challenges(true)[0]).toContain('stale=true');
  });

  it.each(['MD5', 'SHA-256'] as const)('accepts correct %s credentials', (alg) => {
    expect(auth.verify(answer(auth.challenges()[0] as string, alg, 'PUT', uri), 'PUT', uri, lookup)).toEqual({ ok: true, username: 'alice' });
  });

  it('refuses a wrong password, an unknown user, another URI or method, a forged nonce, no qop', () => {
    const ch = auth.challenges()[0] as string;
    expect(auth.verify(answer(ch, 'SHA-256', 'GET', uri, 'wrong'), 'GET', uri, lookup).ok).toBe(false);
    expect(auth.verify(answer(ch, 'SHA-256', 'GET', uri, 'secret', 'mallory'), 'GET', uri, lookup).ok).toBe(false);
    expect(auth.verify(answer(ch, 'SHA-256', 'GET', uri), 'GET', `${uri}x`, lookup).ok).toBe(false);
    expect(auth.verify(answer(ch, 'SHA-256', 'GET', uri), 'PUT', uri, lookup).ok).toBe(false);
    const forged = answer(ch, 'SHA-256', 'GET', uri).replace(/nonce="([^".]+)\.([^".]+)\.[^"]+"/, 'nonce="$1.$2.AAAAAAAAAAAAAAAAAAAAAA"');
    expect(auth.verify(forged, 'GET', uri, lookup)).toMatchObject({ ok: false, reason: 'bad nonce' });
    expect(auth.verify(answer(ch, 'SHA-256', 'GET', uri).replace('qop=auth, ', ''), 'GET', uri, lookup).ok).toBe(false);
    expect(auth.verify(undefined, 'GET', uri, lookup)).toMatchObject({ ok: false, stale: false });
    expect(auth.verify('Basic YWxpY2U6c2VjcmV0', 'GET', uri, lookup).ok).toBe(false);
  });

  it('marks an expired nonce stale (the client retries without asking the user)', () => {
    const ch = auth.challenges()[0] as string;
    const later = Date.now() + 61_000;
    expect(auth.verify(answer(ch, 'SHA-256', 'GET', uri), 'GET', uri, lookup, later)).toEqual({ ok: false, stale: true, reason: 'nonce expired' });
  });

  it('refuses a replayed Authorization header (the nonce count must grow)', () => {
    const header = answer(auth.challenges()[0] as string, 'SHA-256', 'PUT', uri);
    expect(auth.verify(header, 'PUT', uri, lookup).ok).toBe(true);
    expect(auth.verify(header, 'PUT', uri, lookup)).toMatchObject({ ok: false, reason: 'replayed nonce count' });
  });

  it('does not accept nonces from another secret (another cluster)', () => {
    const other = new DigestAuth({ realm });
    const ch = other.challenges()[0] as string;
    expect(auth.verify(answer(ch, 'SHA-256', 'GET', uri), 'GET', uri, lookup).ok).toBe(false);
  });
});

describe('parseDigestHeader', () => {
  it('parses quoted and token values with spaces after commas, escapes included', () => {
    expect(parseDigestHeader('Digest username="a\\"b", realm=r,  nc=00000001 , qop=auth')).toEqual({ username: 'a"b', realm: 'r', nc: '00000001', qop: 'auth' });
    expect(parseDigestHeader('Bearer x')).toBeUndefined();
    expect(parseDigestHeader('Digest garbage')).toBeUndefined();
  });
});

describe('parseEtagList (RFC 9110 §13.1)', () => {
  it('unquotes, keeps *, drops weak tags for If-Match only', () => {
    expect(parseEtagList('"a", W/"b", *', false)).toEqual(['a', '*']);
    expect(parseEtagList('"a", W/"b"', true)).toEqual(['a', 'b']);
    expect(parseEtagList(['"x"', '"y"'], false)).toEqual(['x', 'y']);
    expect(parseEtagList(undefined, false)).toBeUndefined();
    expect(parseEtagList('unquoted', false)).toEqual([]);
  });
});
