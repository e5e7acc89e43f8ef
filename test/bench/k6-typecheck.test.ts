/**
 * The k6 scripts (bench/k6/*.k6.ts) cannot run here (no k6 binary: npm's
 * `k6` package is a stub), so the suite proves what it can:
 *  - they type-check against @types/k6 (`tsc -p bench/k6/tsconfig.json --noEmit`);
 *  - they declare thresholds and a scenario;
 *  - the hand-made HTTP Digest of bench/k6/lib/digest.ts (the XCAP script's
 *    authentication) is accepted by presenced's own Digest verifier
 *    (integrations/xcap/digest-auth.ts), SHA-256 and MD5, from the two
 *    WWW-Authenticate challenges joined the way k6 joins repeated headers,
 *    and it renews a stale nonce. k6/crypto is stood in for by node:crypto.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { DigestAuth, ha1 } from '../../integrations/xcap/digest-auth.js';
import { repo } from './bench-run.js';

interface DigestModule {
  DigestSession: new (user: string, password: string, prefer?: 'SHA-256' | 'MD5') => {
    readonly ready: boolean;
    accept(header: string | string[] | undefined): boolean;
    authorization(method: string, uri: string): string | undefined;
  };
  parseChallenges(header: string | string[] | undefined): Array<{ algorithm: string; nonce: string; stale: boolean; realm: string }>;
}

async function loadDigest(): Promise<DigestModule> {
  const src = readFileSync(join(repo, 'bench', 'k6', 'lib', 'digest.ts'), 'utf8');
  const js = ts.transpileModule(src, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, verbatimModuleSyntax: false } }).outputText;
  const shim = 'const crypto = globalThis.__k6CryptoShim;';
  const code = js.replace(/import crypto from ['"]k6\/crypto['"];?/, shim);
  expect(code).toContain(shim);
  (globalThis as Record<string, unknown>)['__k6CryptoShim'] = {
    md5: (s: string) => createHash('md5').update(s).digest('hex'),
    sha256: (s: string) => createHash('sha256').update(s).digest('hex'),
    randomBytes: (n: number) => {
      const b = randomBytes(n);
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.length);
    },
  };
  return (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as DigestModule;
}

describe('k6 scripts (bench/k6)', () => {
  it('type-check against @types/k6', () => {
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', join(repo, 'bench', 'k6', 'tsconfig.json'), '--noEmit'], { cwd: repo, encoding: 'utf8', timeout: 120_000 });
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.status).toBe(0);
  }, 130_000);

  it('declare a scenario and thresholds', () => {
    for (const f of ['xcap.k6.ts', 'metrics.k6.ts']) {
      const src = readFileSync(join(repo, 'bench', 'k6', f), 'utf8');
      expect(src, f).toMatch(/export const options: Options = \{/);
      expect(src, f).toMatch(/thresholds: \{/);
      expect(src, f).toMatch(/executor: 'constant-arrival-rate'/);
      expect(src, f).toMatch(/export default function/);
    }
    const xcap = readFileSync(join(repo, 'bench', 'k6', 'xcap.k6.ts'), 'utf8');
    // RFC 4825 document URI under the XCAP root, conditional requests
    expect(xcap).toContain("'http://127.0.0.1:8080/xcap-root'");
    expect(xcap).toContain('/pres-rules/users/${xui}/index');
    expect(xcap).toContain("'If-Match': s.etag");
    expect(xcap).toContain("'If-None-Match': '*'");
  });

  it("the XCAP script's Digest is accepted by presenced's verifier (SHA-256, MD5, stale nonce renewal)", async () => {
    const { DigestSession, parseChallenges } = await loadDigest();
    const realm = 'presenced';
    const user = { ha1Md5: ha1('MD5', 'bench0', realm, 'pw'), ha1Sha256: ha1('SHA-256', 'bench0', realm, 'pw') };
    const lookup = (u: string) => (u === 'bench0' ? user : undefined);
    const uri = '/xcap-root/pres-rules/users/sip%3Abench0%40example.com/index';
    // k6 joins repeated header fields with ", "
    const joinedOf = (a: DigestAuth, stale = false): string => a.challenges(stale).join(', ');
    expect(parseChallenges(joinedOf(new DigestAuth({ realm }))).map((c) => c.algorithm)).toEqual(['SHA-256', 'MD5']);
    for (const alg of ['SHA-256', 'MD5'] as const) {
      // one verifier per session: nonces are per millisecond and their nonce-count may only grow (replay protection)
      const auth = new DigestAuth({ realm, nonceTtlSeconds: 300 });
      const s = new DigestSession('bench0', 'pw', alg);
      expect(s.ready).toBe(false);
      expect(s.accept(joinedOf(auth))).toBe(true);
      for (let i = 0; i < 3; i++) {
        const method = i === 1 ? 'PUT' : 'GET';
        const h = s.authorization(method, uri) as string;
        expect(h).toContain(`algorithm=${alg}`);
        expect(h).toContain(`nc=0000000${i + 1}`);
        expect(auth.verify(h, method, uri, lookup)).toEqual({ ok: true, username: 'bench0' });
      }
      // the same header again: a replay
      const again = s.authorization('GET', uri) as string;
      expect(auth.verify(again, 'GET', uri, lookup).ok).toBe(true);
      expect(auth.verify(again, 'GET', uri, lookup).ok).toBe(false);
      // wrong password / other URI are refused
      const other = new DigestAuth({ realm, nonceTtlSeconds: 300 });
      const bad = new DigestSession('bench0', 'nope', alg);
      bad.accept(joinedOf(other));
      expect(auth.verify(bad.authorization('GET', uri), 'GET', uri, lookup)).toMatchObject({ ok: false });
      expect(other.verify(bad.authorization('GET', uri), 'GET', uri, lookup)).toMatchObject({ ok: false, reason: 'wrong credentials' });
      expect(auth.verify(s.authorization('GET', uri), 'GET', `${uri}x`, lookup)).toMatchObject({ ok: false, reason: 'uri mismatch' });
    }
    // an expired nonce: the server says stale, the session takes the new challenge and succeeds
    const auth = new DigestAuth({ realm, nonceTtlSeconds: 300 });
    const s = new DigestSession('bench0', 'pw');
    s.accept(joinedOf(auth));
    const stale = auth.verify(s.authorization('GET', uri), 'GET', uri, lookup, Date.now() + 301_000);
    expect(stale).toMatchObject({ ok: false, stale: true });
    await new Promise((r) => setTimeout(r, 5)); // a nonce of another millisecond
    const renewed = joinedOf(auth, true);
    expect(parseChallenges(renewed)[0]?.stale).toBe(true);
    expect(s.accept(renewed)).toBe(true);
    expect(auth.verify(s.authorization('GET', uri), 'GET', uri, lookup)).toEqual({ ok: true, username: 'bench0' });
  });
});
