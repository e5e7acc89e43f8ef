/**
 * k6 load test of presenced's XCAP server (XDMS, RFC 4825): reads and writes
 * of each user's presence authorization rules document,
 *
 *   <XCAP root>/pres-rules/users/<XUI>/index       (application/auth-policy+xml, RFC 5025)
 *
 * with HTTP Digest (RFC 7616, qop=auth; SHA-256, MD5 fallback; the nonce is
 * kept per VU so only its first request takes a 401 round trip) and strong
 * ETags: a write is `PUT` with `If-Match: <ETag>` (the first one creates the
 * document with `If-None-Match: *`), a read is `GET` with
 * `If-None-Match: <ETag>` (304 while unchanged), every READ_FULL_EVERY-th
 * read a full `GET` (200).
 * Each VU owns one user (VU n → user n mod XCAP_USERS), so with VUs ≤ users
 * no two writers race: any 412 is a lost update and fails the threshold.
 *
 * The k6 binary is not installable on the presenced build machines (npm's
 * `k6` package is a stub); this script is type-checked against @types/k6 by
 * the test suite (test/bench/k6-typecheck.test.ts). To run it:
 *
 *   # users bench0..bench49 with password "bench" (presenced running, same data dir):
 *   for i in $(seq 0 49); do node dist/integrations/cli/xcap-user.js add bench$i sip:bench$i@example.com --password bench --data ./data; done
 *   k6 run bench/k6/xcap.k6.ts                                        # k6 >= 0.57 (TypeScript built in)
 *   k6 run --compatibility-mode=experimental_enhanced bench/k6/xcap.k6.ts   # k6 0.52 - 0.56
 *   npx tsc -p bench/k6/tsconfig.json --noEmit false --outDir dist/k6 && k6 run dist/k6/xcap.k6.js   # any k6
 *
 * Environment (k6 -e NAME=value): XCAP_ROOT (http://127.0.0.1:8080/xcap-root),
 * XCAP_USERS (50), XCAP_USER_PREFIX (bench), XCAP_PASSWORD (bench),
 * XCAP_DOMAIN (example.com), XCAP_ALGORITHM (SHA-256 | MD5), RATE
 * (iterations/s, 100), DURATION (1m), VUS (max VUs, 50), WRITE_SHARE (0.2),
 * READ_FULL_EVERY (10).
 */
import { check, fail } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { Counter, Rate, Trend } from 'k6/metrics';
import type { Options } from 'k6/options';
import { type DigestAlgorithm, DigestSession } from './lib/digest.ts';

const ROOT = (__ENV['XCAP_ROOT'] ?? 'http://127.0.0.1:8080/xcap-root').replace(/\/+$/, '');
const USERS = Number(__ENV['XCAP_USERS'] ?? 50);
const PREFIX = __ENV['XCAP_USER_PREFIX'] ?? 'bench';
const PASSWORD = __ENV['XCAP_PASSWORD'] ?? 'bench';
const DOMAIN = __ENV['XCAP_DOMAIN'] ?? 'example.com';
const ALGORITHM: DigestAlgorithm = __ENV['XCAP_ALGORITHM'] === 'MD5' ? 'MD5' : 'SHA-256';
const WRITE_SHARE = Number(__ENV['WRITE_SHARE'] ?? 0.2);
const READ_FULL_EVERY = Math.max(1, Number(__ENV['READ_FULL_EVERY'] ?? 10));
const MAX_VUS = Number(__ENV['VUS'] ?? 50);
const AUTH_POLICY = 'application/auth-policy+xml';

export const options: Options = {
  scenarios: {
    xcap: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV['RATE'] ?? 100),
      timeUnit: '1s',
      duration: __ENV['DURATION'] ?? '1m',
      preAllocatedVUs: Math.min(MAX_VUS, 10),
      maxVUs: MAX_VUS,
    },
  },
  thresholds: {
    // every operation ended as the protocol says it must (checks below)
    checks: ['rate>0.99'],
    xcap_ok: ['rate>0.99'],
    // 401 challenges, 404 (first read) and 304 are expected statuses (responseCallback), anything else fails
    http_req_failed: ['rate<0.01'],
    // reads are served from LMDB; writes wait for a durable commit (fsync, group commit)
    'http_req_duration{op:get}': ['p(95)<20', 'p(99)<50'],
    'http_req_duration{op:get-conditional}': ['p(95)<20', 'p(99)<50'],
    'http_req_duration{op:put-update}': ['p(95)<50', 'p(99)<100'],
    xcap_put_ms: ['p(99)<100'],
    // one writer per user: a 412 would be a lost update
    xcap_precondition_failed: ['count==0'],
    // the arrival rate was kept (VUs were enough)
    dropped_iterations: ['count==0'],
  },
};

const ok = new Rate('xcap_ok');
const challenges = new Counter('xcap_auth_challenges');
const preconditionFailed = new Counter('xcap_precondition_failed');
const putMs = new Trend('xcap_put_ms', true);

http.setResponseCallback(http.expectedStatuses({ min: 200, max: 299 }, 304, 401, 404));

/** The rules document: one rule allowing `buddies` watchers with the full view (RFC 5025). */
function rulesDocument(owner: number, version: number): string {
  const buddies = [1, 2, 3].map((k) => `<cr:one id="sip:${PREFIX}${(owner + k + version) % Math.max(USERS, 4)}@${DOMAIN}"/>`).join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy">' +
    `<cr:rule id="buddies"><cr:conditions><cr:identity>${buddies}</cr:identity></cr:conditions>` +
    '<cr:actions><sub-handling>allow</sub-handling></cr:actions>' +
    '<cr:transformations><provide-services><all-services/></provide-services><provide-persons><all-persons/></provide-persons>' +
    '<provide-devices><all-devices/></provide-devices><provide-all-attributes/></cr:transformations></cr:rule></cr:ruleset>'
  );
}

// ---- per-VU state (each VU has its own JavaScript runtime)
interface VuState {
  readonly user: number;
  readonly username: string;
  readonly path: string;
  readonly session: DigestSession;
  etag: string | undefined;
  known: boolean;
  version: number;
  reads: number;
}
let state: VuState | undefined;

function vuState(): VuState {
  if (state) return state;
  const user = (exec.vu.idInTest - 1) % USERS;
  const username = `${PREFIX}${user}`;
  const xui = encodeURIComponent(`sip:${username}@${DOMAIN}`);
  const rootPath = ROOT.replace(/^https?:\/\/[^/]+/, '');
  state = {
    user,
    username,
    path: `${rootPath}/pres-rules/users/${xui}/index`,
    session: new DigestSession(username, PASSWORD, ALGORITHM),
    etag: undefined,
    known: false,
    version: 0,
    reads: 0,
  };
  return state;
}

const origin = ROOT.replace(/^(https?:\/\/[^/]+).*$/, '$1');

/**
 * One request with Digest: a 401 takes the (new) challenge and the request is sent again, once. (A 401 that is
 * not `stale` happens when two VUs got the same nonce — presenced's nonces are per millisecond and its nonce-count
 * may only grow, RFC 7616 replay protection — and is repaired the same way.)
 */
function send(s: VuState, method: 'GET' | 'PUT', op: string, headers: Record<string, string>, body?: string) {
  for (let attempt = 0; ; attempt++) {
    const h: Record<string, string> = { ...headers };
    const auth = s.session.authorization(method, s.path);
    if (auth !== undefined) h['Authorization'] = auth;
    const res = http.request(method, `${origin}${s.path}`, body ?? null, { headers: h, tags: { op, name: `pres-rules ${op}` } });
    if (res.status !== 401 || attempt > 0) return res;
    challenges.add(1);
    if (!s.session.accept(res.headers['Www-Authenticate'])) fail(`no usable Digest challenge from ${ROOT}: ${res.headers['Www-Authenticate'] ?? '(none)'}`);
  }
}

function etagOf(res: { headers: { [name: string]: string } }): string | undefined {
  return res.headers['Etag'] ?? res.headers['ETag'];
}

export function setup(): void {
  const res = http.get(`${ROOT}/xcap-caps/global/index`, { tags: { op: 'setup' } });
  if (res.status !== 200 && res.status !== 401) fail(`XCAP root ${ROOT} not reachable: status ${res.status} (is presenced running with XCAP enabled?)`);
}

function read(s: VuState): void {
  s.reads++;
  const full = s.etag === undefined || s.reads % READ_FULL_EVERY === 0;
  const res = send(s, 'GET', full ? 'get' : 'get-conditional', full || s.etag === undefined ? {} : { 'If-None-Match': s.etag });
  if (res.status === 404 && !s.known) {
    ok.add(true);
    create(s);
    return;
  }
  const good = check(res, {
    'GET: 200 with the rules document, or 304 while unchanged': (r) =>
      (r.status === 200 && typeof r.body === 'string' && r.body.includes('urn:ietf:params:xml:ns:common-policy')) || (!full && r.status === 304),
    'GET: an ETag': (r) => r.status === 304 || etagOf(r) !== undefined,
  });
  ok.add(good);
  if (res.status === 200) {
    s.etag = etagOf(res);
    s.known = true;
  }
}

function create(s: VuState): void {
  const res = send(s, 'PUT', 'put-create', { 'Content-Type': AUTH_POLICY, 'If-None-Match': '*' }, rulesDocument(s.user, s.version));
  putMs.add(res.timings.duration);
  // 412 here: the document exists already (an earlier run): read it
  if (res.status === 412) {
    ok.add(true);
    s.known = true;
    read(s);
    return;
  }
  const good = check(res, { 'PUT create: 201 and an ETag': (r) => r.status === 201 && etagOf(r) !== undefined });
  ok.add(good);
  if (good) {
    s.etag = etagOf(res);
    s.known = true;
  }
}

function update(s: VuState): void {
  if (s.etag === undefined) {
    read(s);
    return;
  }
  s.version++;
  const res = send(s, 'PUT', 'put-update', { 'Content-Type': AUTH_POLICY, 'If-Match': s.etag }, rulesDocument(s.user, s.version));
  putMs.add(res.timings.duration);
  if (res.status === 412) {
    preconditionFailed.add(1);
    s.etag = undefined;
  }
  const good = check(res, { 'PUT If-Match: 200 and a new ETag': (r) => r.status === 200 && etagOf(r) !== undefined && etagOf(r) !== s.etag });
  ok.add(good);
  if (good) s.etag = etagOf(res);
}

export default function (): void {
  const s = vuState();
  if (!s.known) read(s);
  else if (Math.random() < WRITE_SHARE) update(s);
  else read(s);
}
