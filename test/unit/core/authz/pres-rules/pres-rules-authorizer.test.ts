/**
 * PresRulesAuthorizer: reads the owner's pres-rules from the XDMS store
 * (IETF document first, then OMA), evaluates them for presence
 * subscriptions, keeps the owner-only rule for watcher information, caches
 * parsed documents per version; and the presence render helper.
 */
import { describe, expect, it } from 'vitest';
import { FULL_VIEW, type AuthorizationRequest } from '../../../../../core/authz/authorizer.js';
import { NEUTRAL_VIEW, PresRulesAuthorizer, BoundedLru, currentSphere, presencePackageRender, presRulesKeys } from '../../../../../core/authz/pres-rules/pres-rules-authorizer.js';
import { permissionsKey, NO_PERMISSIONS, FULL_PERMISSIONS, type PresencePermissions } from '../../../../../core/authz/pres-rules/presence-permissions.js';
import { MemoryKv } from '../../../../../core/store/memory-kv.js';
import type { XcapDocumentRecord } from '../../../../../core/store/records.js';
import { parseXml } from '../../../../../core/xml/xml-parser.js';
import { parsePidf, type PidfDocument } from '../../../../../core/packages/presence/pidf-document.js';
import { neutralPidf, renderPidf } from '../../../../../core/packages/presence/pidf-render.js';
import { RFC4480_EXAMPLE } from '../../packages/presence/pidf-examples.js';

const ALICE = 'sip:alice@example.com';
const BOB = 'sip:bob@example.com';
const CAROL = 'sip:carol@example.com';
const NOW = Date.UTC(2026, 0, 1, 12);

const HEAD = `<cr:ruleset xmlns:pr="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy">`;
const ALLOW_BOB_NOTES = `${HEAD}<cr:rule id="bob"><cr:conditions><cr:identity><cr:one id="${BOB}"/></cr:identity></cr:conditions>
  <cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions>
  <cr:transformations><pr:provide-persons><pr:all-persons/></pr:provide-persons><pr:provide-note>true</pr:provide-note></cr:transformations></cr:rule></cr:ruleset>`;
const FULL_FOR_BOB = `${HEAD}<cr:rule id="bob"><cr:conditions><cr:identity><cr:one id="${BOB}"/></cr:identity></cr:conditions>
  <cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions>
  <cr:transformations><pr:provide-services><pr:all-services/></pr:provide-services><pr:provide-persons><pr:all-persons/></pr:provide-persons>
  <pr:provide-devices><pr:all-devices/></pr:provide-devices><pr:provide-all-attributes/></cr:transformations></cr:rule></cr:ruleset>`;
const HANDLING_FOR_BOB = (h: string): string =>
  `${HEAD}<cr:rule id="bob"><cr:conditions><cr:identity><cr:one id="${BOB}"/></cr:identity></cr:conditions><cr:actions><pr:sub-handling>${h}</pr:sub-handling></cr:actions></cr:rule></cr:ruleset>`;

function putDoc(kv: MemoryKv, which: 'ietf' | 'oma', owner: string, xml: string, etag: string): void {
  const r = parseXml(xml);
  if (!r.ok) throw new Error(r.error.detail);
  const rec: XcapDocumentRecord = { etag, doc: r.value, updatedAt: NOW };
  kv.put('xcap', presRulesKeys(owner)[which === 'ietf' ? 0 : 1]!, rec);
}

const req = (o: Partial<AuthorizationRequest> = {}): AuthorizationRequest => ({ resource: ALICE, event: 'presence', watcher: BOB, authenticated: true, ...o });

function pidf(text: string): PidfDocument {
  const r = parsePidf(text);
  if (!r.ok) throw new Error(r.error.detail);
  return r.value;
}

describe('PresRulesAuthorizer: documents', () => {
  it('stores rule sets at the RFC 5025 §9.4 and OMA paths', () => {
    expect(presRulesKeys(ALICE)).toEqual([
      ['pres-rules', 'users', ALICE, 'index'],
      ['org.openmobilealliance.pres-rules', 'users', ALICE, 'pres-rules'],
    ]);
  });

  it('without a document: the configured default, confirm unless told otherwise, and no presence', () => {
    const kv = new MemoryKv();
    expect(new PresRulesAuthorizer().authorize(req(), kv)).toEqual({ handling: 'confirm', view: NEUTRAL_VIEW });
    expect(new PresRulesAuthorizer({ defaultHandling: 'block' }).authorize(req(), kv)).toEqual({ handling: 'block', view: NEUTRAL_VIEW });
    expect(new PresRulesAuthorizer({ defaultHandling: 'polite-block' }).authorize(req(), kv).handling).toBe('polite-block');
  });

  it('allows with the granted permissions and their key as the view', () => {
    const kv = new MemoryKv();
    putDoc(kv, 'ietf', ALICE, ALLOW_BOB_NOTES, 'e1');
    const d = new PresRulesAuthorizer().authorize(req(), kv);
    const expected: PresencePermissions = { ...NO_PERMISSIONS, persons: FULL_PERMISSIONS.persons, attributes: ['note'] };
    expect(d).toEqual({ handling: 'allow', view: permissionsKey(expected), permissions: expected });
    expect(new PresRulesAuthorizer().authorize(req({ watcher: CAROL }), kv)).toEqual({ handling: 'confirm', view: NEUTRAL_VIEW });
  });

  it('gives the full view (without permissions) only when everything is granted', () => {
    const kv = new MemoryKv();
    putDoc(kv, 'ietf', ALICE, FULL_FOR_BOB, 'e1');
    expect(new PresRulesAuthorizer().authorize(req(), kv)).toEqual({ handling: 'allow', view: FULL_VIEW });
  });

  it('returns no permissions and the neutral view for block, confirm and polite-block', () => {
    for (const h of ['block', 'confirm', 'polite-block'] as const) {
      const kv = new MemoryKv();
      putDoc(kv, 'ietf', ALICE, HANDLING_FOR_BOB(h), 'e1');
      expect(new PresRulesAuthorizer().authorize(req(), kv)).toEqual({ handling: h, view: NEUTRAL_VIEW });
    }
  });

  it('uses the OMA document when there is no IETF one; the IETF one wins when both exist', () => {
    const kv = new MemoryKv();
    putDoc(kv, 'oma', ALICE, HANDLING_FOR_BOB('polite-block'), 'o1');
    const a = new PresRulesAuthorizer();
    expect(a.authorize(req(), kv).handling).toBe('polite-block');
    putDoc(kv, 'ietf', ALICE, HANDLING_FOR_BOB('block'), 'i1');
    expect(a.authorize(req(), kv).handling).toBe('block');
  });

  it('a stored record that is not a document fails closed to the default', () => {
    const kv = new MemoryKv();
    kv.put('xcap', presRulesKeys(ALICE)[0]!, { etag: 'x', doc: 'not a tree' });
    putDoc(kv, 'oma', ALICE, HANDLING_FOR_BOB('allow'), 'o1');
    expect(new PresRulesAuthorizer().authorize(req(), kv)).toEqual({ handling: 'confirm', view: NEUTRAL_VIEW });
  });

  it('reads only the resource owner’s rules', () => {
    const kv = new MemoryKv();
    putDoc(kv, 'ietf', CAROL, HANDLING_FOR_BOB('allow'), 'c1');
    expect(new PresRulesAuthorizer().authorize(req(), kv).handling).toBe('confirm');
    expect(new PresRulesAuthorizer().authorize(req({ resource: CAROL }), kv).handling).toBe('allow');
  });

  it('unauthenticated watchers never get identity grants', () => {
    const kv = new MemoryKv();
    putDoc(kv, 'ietf', ALICE, ALLOW_BOB_NOTES, 'e1');
    expect(new PresRulesAuthorizer().authorize(req({ authenticated: false }), kv)).toEqual({ handling: 'confirm', view: NEUTRAL_VIEW });
  });
});

describe('PresRulesAuthorizer: other packages', () => {
  it('watcher information and xcap-diff: the owner only (as the default authorizer)', () => {
    const kv = new MemoryKv();
    putDoc(kv, 'ietf', ALICE, HANDLING_FOR_BOB('allow'), 'e1');
    const a = new PresRulesAuthorizer();
    for (const event of ['presence.winfo', 'xcap-diff']) {
      expect(a.authorize(req({ event, watcher: ALICE }), kv)).toEqual({ handling: 'allow', view: FULL_VIEW });
      expect(a.authorize(req({ event, watcher: ALICE, authenticated: false }), kv).handling).toBe('allow');
      expect(a.authorize(req({ event, watcher: BOB }), kv).handling).toBe('block');
    }
  });

  it('optionally requires the owner to be authenticated for owner-only packages', () => {
    const a = new PresRulesAuthorizer({ ownerMustBeAuthenticated: true });
    const kv = new MemoryKv();
    expect(a.authorize(req({ event: 'presence.winfo', watcher: ALICE }), kv).handling).toBe('allow');
    expect(a.authorize(req({ event: 'presence.winfo', watcher: ALICE, authenticated: false }), kv).handling).toBe('block');
  });

  it('delegates other packages to the fallback authorizer', () => {
    const kv = new MemoryKv();
    putDoc(kv, 'ietf', ALICE, HANDLING_FOR_BOB('block'), 'e1');
    expect(new PresRulesAuthorizer().authorize(req({ event: 'dialog' }), kv)).toEqual({ handling: 'allow', view: FULL_VIEW });
    const fallback = { authorize: () => ({ handling: 'polite-block' as const, view: 'x' }) };
    expect(new PresRulesAuthorizer({ fallback }).authorize(req({ event: 'message-summary' }), kv)).toEqual({ handling: 'polite-block', view: 'x' });
  });
});

describe('PresRulesAuthorizer: caching', () => {
  it('parses each document version once; a new ETag is parsed again', () => {
    const kv = new MemoryKv();
    putDoc(kv, 'ietf', ALICE, HANDLING_FOR_BOB('allow'), 'e1');
    const a = new PresRulesAuthorizer();
    for (let i = 0; i < 5; i++) a.authorize(req({ watcher: i % 2 === 0 ? BOB : CAROL }), kv);
    expect(a.parses).toBe(1);
    putDoc(kv, 'ietf', ALICE, HANDLING_FOR_BOB('polite-block'), 'e2');
    expect(a.authorize(req(), kv).handling).toBe('polite-block');
    expect(a.parses).toBe(2);
    a.authorize(req(), kv);
    expect(a.parses).toBe(2);
  });

  it('is bounded (least recently used documents are evicted)', () => {
    const kv = new MemoryKv();
    const owners = ['sip:o1@example.com', 'sip:o2@example.com', 'sip:o3@example.com'];
    for (const o of owners) putDoc(kv, 'ietf', o, HANDLING_FOR_BOB('allow'), 'e');
    const a = new PresRulesAuthorizer({ cacheSize: 2 });
    a.authorize(req({ resource: owners[0]! }), kv);
    a.authorize(req({ resource: owners[1]! }), kv);
    a.authorize(req({ resource: owners[0]! }), kv); // o1 is now the most recent
    a.authorize(req({ resource: owners[2]! }), kv); // evicts o2
    expect(a.cachedDocuments).toBe(2);
    expect(a.parses).toBe(3);
    a.authorize(req({ resource: owners[0]! }), kv);
    expect(a.parses).toBe(3);
    a.authorize(req({ resource: owners[1]! }), kv);
    expect(a.parses).toBe(4);
  });

  it('BoundedLru keeps at most max entries and refreshes on read', () => {
    const lru = new BoundedLru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1);
    lru.set('c', 3);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe(1);
    expect(lru.get('c')).toBe(3);
    expect(lru.size).toBe(2);
  });
});

describe('PresRulesAuthorizer: time and sphere', () => {
  const VALID = `${HEAD}<cr:rule id="v"><cr:conditions><cr:validity><cr:from>2026-01-01T00:00:00Z</cr:from><cr:until>2026-01-02T00:00:00Z</cr:until></cr:validity></cr:conditions>
    <cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions></cr:rule></cr:ruleset>`;

  it('evaluates validity against the configured clock; without a clock validity never holds', () => {
    const kv = new MemoryKv();
    putDoc(kv, 'ietf', ALICE, VALID, 'e1');
    let now = NOW;
    const a = new PresRulesAuthorizer({ clock: () => now });
    expect(a.authorize(req(), kv).handling).toBe('allow');
    now = Date.UTC(2026, 0, 2);
    expect(a.authorize(req(), kv).handling).toBe('confirm');
    expect(new PresRulesAuthorizer().authorize(req(), kv).handling).toBe('confirm');
  });

  it('uses a `now` carried by the request in preference to the clock', () => {
    const kv = new MemoryKv();
    putDoc(kv, 'ietf', ALICE, VALID, 'e1');
    const a = new PresRulesAuthorizer({ clock: () => 0 });
    expect(a.authorize({ ...req(), now: NOW } as AuthorizationRequest, kv).handling).toBe('allow');
  });

  it('takes the sphere from the presentity’s composed presence (first person with an RPID sphere)', () => {
    const SPHERE = `${HEAD}<cr:rule id="s"><cr:conditions><cr:sphere value="work"/></cr:conditions><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions></cr:rule></cr:ruleset>`;
    const kv = new MemoryKv();
    putDoc(kv, 'ietf', ALICE, SPHERE, 'e1');
    const a = new PresRulesAuthorizer();
    expect(a.authorize(req(), kv).handling).toBe('confirm');
    const atWork = pidf(
      `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="${ALICE}">` +
        `<dm:person id="p0"/><dm:person id="p1"><rpid:sphere><rpid:work/></rpid:sphere></dm:person></presence>`,
    );
    expect(currentSphere(atWork)).toBe('work');
    kv.put('states', [ALICE, 'presence'], { version: 1, doc: atWork, body: '', updatedAt: NOW });
    expect(a.authorize(req(), kv).handling).toBe('allow');
    expect(currentSphere(pidf(RFC4480_EXAMPLE))).toBe('bowling league');
    expect(currentSphere(neutralPidf(ALICE))).toBeUndefined();
  });
});

describe('presencePackageRender', () => {
  const doc = pidf(RFC4480_EXAMPLE);
  const neutral = renderPidf(neutralPidf(doc.entity));

  it('renders the neutral document for polite-block and any handling other than allow', () => {
    for (const handling of ['polite-block', 'confirm', 'block'] as const) {
      expect(presencePackageRender(doc, { handling, view: FULL_VIEW })).toBe(neutral);
      expect(presencePackageRender(doc, { handling, view: 'x', permissions: FULL_PERMISSIONS })).toBe(neutral);
    }
  });

  it('renders the transformed view for allow with permissions, the whole document for the full view', () => {
    const p: PresencePermissions = { ...NO_PERMISSIONS, persons: FULL_PERMISSIONS.persons, attributes: ['mood'] };
    const out = presencePackageRender(doc, { handling: 'allow', view: permissionsKey(p), permissions: p });
    expect(out).toContain('<rpid:mood>');
    expect(out).not.toContain('activities');
    expect(out).not.toContain('<tuple');
    expect(presencePackageRender(doc, { handling: 'allow', view: FULL_VIEW })).toBe(renderPidf(doc));
  });

  it('fails closed on a restricted view without permissions or with malformed ones', () => {
    expect(presencePackageRender(doc, { handling: 'allow', view: 'pr:something' })).toBe(neutral);
    expect(presencePackageRender(doc, { handling: 'allow', view: 'pr:x', permissions: { services: 'all' } })).toBe(neutral);
    expect(presencePackageRender(doc, { handling: 'allow', view: FULL_VIEW, permissions: 42 })).toBe(neutral);
  });
});

describe('PresRulesAuthorizer.dependencies', () => {
  it('reports sphere conditions and the next validity boundary', () => {
    const kv = new MemoryKv();
    const a = new PresRulesAuthorizer();
    expect(a.dependencies(kv, ALICE, NOW)).toEqual({ sphere: false });
    putDoc(
      kv,
      'ietf',
      ALICE,
      `${HEAD}<cr:rule id="s"><cr:conditions><cr:sphere value="work"/></cr:conditions></cr:rule>
       <cr:rule id="v"><cr:conditions><cr:validity><cr:from>2026-01-01T11:00:00Z</cr:from><cr:until>2026-01-01T13:00:00Z</cr:until>
       <cr:from>2026-01-01T12:30:00Z</cr:from><cr:until>2026-01-02T00:00:00Z</cr:until></cr:validity></cr:conditions></cr:rule></cr:ruleset>`,
      'e1',
    );
    expect(a.dependencies(kv, ALICE, NOW)).toEqual({ sphere: true, nextChangeAt: Date.UTC(2026, 0, 1, 12, 30) });
    expect(a.dependencies(kv, ALICE, Date.UTC(2026, 0, 1, 12, 30))).toEqual({ sphere: true, nextChangeAt: Date.UTC(2026, 0, 1, 13) });
    expect(a.dependencies(kv, ALICE, Date.UTC(2026, 0, 2))).toEqual({ sphere: true });
  });
});

describe('PresRulesAuthorizer: shared views', () => {
  it('watchers with the same effective permissions share one view key, whichever rules granted them', () => {
    const kv = new MemoryKv();
    putDoc(
      kv,
      'ietf',
      ALICE,
      `${HEAD}<cr:rule id="colleagues"><cr:conditions><cr:identity><cr:many domain="example.com"/></cr:identity></cr:conditions>
        <cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions>
        <cr:transformations><pr:provide-services><pr:service-uri-scheme>sip</pr:service-uri-scheme></pr:provide-services><pr:provide-activities>true</pr:provide-activities></cr:transformations></cr:rule>
       <cr:rule id="dave"><cr:conditions><cr:identity><cr:one id="sip:dave@example.org"/></cr:identity></cr:conditions>
        <cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions>
        <cr:transformations><pr:provide-activities>true</pr:provide-activities><pr:provide-services><pr:service-uri-scheme>SIP</pr:service-uri-scheme></pr:provide-services></cr:transformations></cr:rule>
       <cr:rule id="bob-more"><cr:conditions><cr:identity><cr:one id="${BOB}"/></cr:identity></cr:conditions>
        <cr:transformations><pr:provide-mood>true</pr:provide-mood></cr:transformations></cr:rule></cr:ruleset>`,
      'e1',
    );
    const a = new PresRulesAuthorizer();
    const view = (watcher: string): string => a.authorize(req({ watcher }), kv).view;
    expect(view(CAROL)).toBe(view('sip:erin@example.com'));
    expect(view(CAROL)).toBe(view('sip:dave@example.org'));
    expect(view(BOB)).not.toBe(view(CAROL));
  });
});
