/**
 * The privacy property of pres-rules (issue 4, "Proof"): over thousands of
 * random rule sets (RFC 4745 conditions, RFC 5025 actions and
 * transformations, unknown extensions), random watcher identities
 * (authenticated or not, anonymous) and random composed PIDF documents
 * (tuples, persons, devices, RPID/CIPID attributes, notes, unknown
 * extensions):
 *
 * - a watcher never receives an element or attribute the rules do not grant;
 * - a blocked watcher gets no body at all (its SUBSCRIBE is rejected), a
 *   pending (confirm) one no presence, a politely blocked one only the
 *   neutral document.
 *
 * The rules are generated as plain data, serialised as pres-rules XML and
 * stored where the XDMS keeps them. What a watcher is granted is computed
 * by an oracle written here from RFC 4745/5025 over the plain data (not by
 * the evaluator under test), and the rendered body is checked by a walker
 * written here (not by the transformation under test): every element it
 * contains must be granted and copied from the source, and everything
 * granted must be there.
 *
 * Two layers: the authorizer and the presence render function directly
 * (most runs), and the whole Presence Server (PUBLISH, SUBSCRIBE, NOTIFY,
 * then a modifying PUBLISH and its fan-out) with the pres-rules authorizer.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { HandleResult, Notify } from '../../core/contract.js';
import { FULL_VIEW } from '../../core/authz/authorizer.js';
import { NEUTRAL_VIEW, PresRulesAuthorizer, presencePackageRender, presRulesKeys } from '../../core/authz/pres-rules/pres-rules-authorizer.js';
import { isPresencePermissions, permissionsKey } from '../../core/authz/pres-rules/presence-permissions.js';
import { CIPID_NS, DATA_MODEL_NS, PIDF_NS, RPID_NS, parsePidf, type PidfDocument } from '../../core/packages/presence/pidf-document.js';
import { neutralPidf, renderPidf } from '../../core/packages/presence/pidf-render.js';
import { presencePackage } from '../../core/packages/presence/presence-package.js';
import { watcherInfoPackage } from '../../core/packages/winfo/winfo-package.js';
import { CountingIds } from '../../core/ids.js';
import { PresenceServer } from '../../core/server/presence-server.js';
import { MemoryKv } from '../../core/store/memory-kv.js';
import { TargetCache } from '../../core/store/target-cache.js';
import type { XcapDocumentRecord } from '../../core/store/records.js';
import type { XmlElement } from '../../core/xml/xml-node.js';
import { parseXml } from '../../core/xml/xml-parser.js';
import { attr, elementEquals, textContent } from '../../core/xml/xml-query.js';
import { testConfig } from '../support/core-harness.js';
import { publish, subscribe, uniq } from '../support/sip-requests.js';

// ---------------------------------------------------------------------------------------------
// Vocabulary

const OWNER = 'sip:alice@example.com';
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const VENDOR_NS = 'urn:vendor:acme';
const CAPS_NS = 'urn:ietf:params:xml:ns:pidf:caps';
const IM_NS = 'urn:ietf:params:xml:ns:pidf:im';

/** Watchers as the request layer gives them (canonical AORs). */
const WATCHERS = [
  'sip:bob@example.com',
  'sip:carol@example.com',
  'sip:dave@example.org',
  'sip:erin@sub.example.com',
  'sip:mallory@evil.example.net',
  'tel:+15551234567',
  'sip:anonymous@anonymous.invalid',
  OWNER,
] as const;
/** Identities as rule authors write them (some non-canonical). */
const RULE_IDS = [
  'sip:bob@example.com',
  'sip:bob@EXAMPLE.COM',
  'sips:carol@example.com',
  'sip:Carol@example.com',
  'sip:dave@example.org',
  'pres:erin@sub.example.com',
  'sip:mallory@evil.example.net',
  'tel:+1-555-123-4567',
  'sip:alice@example.com',
] as const;
const DOMAINS = ['example.com', 'EXAMPLE.com', 'example.org', 'sub.example.com', 'evil.example.net', 'anonymous.invalid'] as const;
const SPHERES = ['work', 'home', 'bowling'] as const;
const CLASSES = ['work', 'home', 'email'] as const;
const TUPLE_IDS = ['t1', 't2', 't3'] as const;
const PERSON_IDS = ['p1', 'p2'] as const;
const DEVICE_IDS = ['d1', 'd2'] as const;
const DEVICE_URNS = ['urn:device:1', 'urn:device:2', 'urn:device:3'] as const;
const CONTACTS = ['sip:alice@192.0.2.1', 'SIP:alice@192.0.2.2', 'mailto:alice@example.com', 'im:alice@example.com', 'tel:+15550001'] as const;
const SCHEMES = ['sip', 'SIP', 'mailto', 'im', 'tel', 'xmpp'] as const;
const SUB_HANDLINGS = ['block', 'confirm', 'polite-block', 'allow'] as const;
type Handling = (typeof SUB_HANDLINGS)[number];
const USER_INPUT = ['false', 'bare', 'thresholds', 'full'] as const;
/** The RFC 5025 §3.3.2 boolean permissions: element name → attribute name. */
const BOOL_PROVIDES: Readonly<Record<string, string>> = {
  'provide-activities': 'activities',
  'provide-class': 'class',
  'provide-deviceID': 'deviceID',
  'provide-mood': 'mood',
  'provide-place-is': 'place-is',
  'provide-place-type': 'place-type',
  'provide-privacy': 'privacy',
  'provide-relationship': 'relationship',
  'provide-status-icon': 'status-icon',
  'provide-sphere': 'sphere',
  'provide-time-offset': 'time-offset',
  'provide-note': 'note',
};
const UNKNOWN_CANDIDATES: readonly (readonly [string, string])[] = [
  [VENDOR_NS, 'secret'],
  [VENDOR_NS, 'loc'],
  [CIPID_NS, 'card'],
  [CIPID_NS, 'display-name'],
  [RPID_NS, 'service-class'],
  [CAPS_NS, 'servcaps'],
  [IM_NS, 'im'],
  [RPID_NS, 'activities'], // has its own permission: provide-unknown-attribute must not grant it
  [DATA_MODEL_NS, 'deviceID'], // idem
  [PIDF_NS, 'note'], // idem
  ['urn:other', 'foo'],
];

// ---------------------------------------------------------------------------------------------
// Rule sets as plain data, and their XML

type IdentityItem =
  | { readonly kind: 'one'; readonly id: string }
  | { readonly kind: 'many'; readonly domain: string | undefined; readonly exceptIds: readonly string[]; readonly exceptDomains: readonly string[] };
type Cond =
  | { readonly kind: 'identity'; readonly items: readonly IdentityItem[] }
  | { readonly kind: 'sphere'; readonly values: readonly string[] }
  | { readonly kind: 'validity'; readonly intervals: readonly { readonly from: number; readonly until: number; readonly zone: number }[] }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'anonymous-request' }
  | { readonly kind: 'other-identity' };
interface ServicesT { readonly all: boolean; readonly uris: readonly string[]; readonly schemes: readonly string[]; readonly occ: readonly string[]; readonly classes: readonly string[] }
interface PersonsT { readonly all: boolean; readonly occ: readonly string[]; readonly classes: readonly string[] }
interface DevicesT { readonly all: boolean; readonly ids: readonly string[]; readonly occ: readonly string[]; readonly classes: readonly string[] }
interface Transformations {
  readonly services: ServicesT | undefined;
  readonly persons: PersonsT | undefined;
  readonly devices: DevicesT | undefined;
  readonly allAttributes: boolean;
  readonly bools: readonly (readonly [string, string])[];
  readonly userInput: readonly string[];
  readonly unknown: readonly (readonly [string, string, string])[];
  readonly extraTransformation: boolean;
}
interface Rule {
  readonly conditions: readonly Cond[] | undefined;
  readonly subHandling: readonly string[];
  readonly extraAction: boolean;
  readonly transformations: Transformations | undefined;
}
type Placement = 'ietf' | 'oma' | 'both' | 'none';

const identityItemArb: fc.Arbitrary<IdentityItem> = fc.oneof(
  fc.record({ kind: fc.constant('one' as const), id: fc.constantFrom(...RULE_IDS) }),
  fc.record({
    kind: fc.constant('many' as const),
    domain: fc.option(fc.constantFrom(...DOMAINS), { nil: undefined }),
    exceptIds: fc.subarray([...RULE_IDS], { maxLength: 2 }),
    exceptDomains: fc.subarray([...DOMAINS], { maxLength: 2 }),
  }),
);
const minutes = fc.integer({ min: -90, max: 90 }).map((m) => NOW + m * 60_000);
const condArb: fc.Arbitrary<Cond> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('identity' as const), items: fc.array(identityItemArb, { minLength: 1, maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('sphere' as const), values: fc.subarray([...SPHERES], { minLength: 1 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('validity' as const),
      intervals: fc.array(fc.record({ from: minutes, until: minutes, zone: fc.constantFrom(0, 60, -300, 330) }), { minLength: 1, maxLength: 2 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'unknown' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'anonymous-request' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'other-identity' as const }) },
);
const pick = <T>(xs: readonly T[]): fc.Arbitrary<T[]> => fc.subarray([...xs], { maxLength: 2 });
const transformationsArb: fc.Arbitrary<Transformations> = fc.record({
  services: fc.option(
    fc.record({ all: fc.boolean(), uris: pick(CONTACTS), schemes: pick(SCHEMES), occ: pick(TUPLE_IDS), classes: pick(CLASSES) }),
    { nil: undefined },
  ),
  persons: fc.option(fc.record({ all: fc.boolean(), occ: pick(PERSON_IDS), classes: pick(CLASSES) }), { nil: undefined }),
  devices: fc.option(fc.record({ all: fc.boolean(), ids: pick(DEVICE_URNS), occ: pick(DEVICE_IDS), classes: pick(CLASSES) }), { nil: undefined }),
  allAttributes: fc.boolean(),
  bools: fc.array(fc.tuple(fc.constantFrom(...Object.keys(BOOL_PROVIDES)), fc.constantFrom('true', '1', ' true ', 'false', '0', 'yes')), { maxLength: 6 }),
  userInput: fc.array(fc.constantFrom(...USER_INPUT, 'all'), { maxLength: 2 }),
  unknown: fc.array(fc.tuple(fc.constantFrom(...UNKNOWN_CANDIDATES), fc.constantFrom('true', 'false')).map(([[ns, name], v]) => [ns, name, v] as const), { maxLength: 3 }),
  extraTransformation: fc.boolean(),
});
const ruleArb: fc.Arbitrary<Rule> = fc.record({
  conditions: fc.option(fc.array(condArb, { maxLength: 2 }), { nil: undefined, freq: 3 }),
  subHandling: fc.array(fc.constantFrom(...SUB_HANDLINGS, 'allow', 'allow', 'allow', 'block', 'block', 'ALLOW', 'deny'), { maxLength: 2 }),
  extraAction: fc.boolean(),
  transformations: fc.option(transformationsArb, { nil: undefined, freq: 8 }),
});
const rulesArb = fc.array(ruleArb, { maxLength: 4 });

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

function isoInZone(t: number, zoneMinutes: number): string {
  const local = new Date(t + zoneMinutes * 60_000).toISOString().replace(/Z$/, '');
  if (zoneMinutes === 0) return `${local}Z`;
  const sign = zoneMinutes < 0 ? '-' : '+';
  const a = Math.abs(zoneMinutes);
  return `${local}${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

function condXml(c: Cond): string {
  switch (c.kind) {
    case 'identity':
      return (
        '<cr:identity>' +
        c.items
          .map((i) =>
            i.kind === 'one'
              ? `<cr:one id="${esc(i.id)}"/>`
              : `<cr:many${i.domain === undefined ? '' : ` domain="${esc(i.domain)}"`}>` +
                i.exceptIds.map((x) => `<cr:except id="${esc(x)}"/>`).join('') +
                i.exceptDomains.map((x) => `<cr:except domain="${esc(x)}"/>`).join('') +
                '</cr:many>',
          )
          .join('') +
        '</cr:identity>'
      );
    case 'sphere':
      return `<cr:sphere value="${c.values.join(' ')}"/>`;
    case 'validity':
      return `<cr:validity>${c.intervals.map((i) => `<cr:from>${isoInZone(i.from, i.zone)}</cr:from><cr:until>${isoInZone(i.until, -i.zone)}</cr:until>`).join('')}</cr:validity>`;
    case 'unknown':
      return '<x:geo-fence x:radius="5"/>';
    case 'anonymous-request':
      return '<ocp:anonymous-request/>';
    case 'other-identity':
      return '<ocp:other-identity/>';
  }
}

function transformationsXml(t: Transformations): string {
  let s = '<cr:transformations>';
  if (t.services) {
    const v = t.services;
    s += '<pr:provide-services>' + (v.all ? '<pr:all-services/>' : '');
    s += v.uris.map((u) => `<pr:service-uri>${esc(u)}</pr:service-uri>`).join('');
    s += v.schemes.map((u) => `<pr:service-uri-scheme>${u}</pr:service-uri-scheme>`).join('');
    s += v.occ.map((u) => `<pr:occurrence-id>${u}</pr:occurrence-id>`).join('');
    s += v.classes.map((u) => `<pr:class>${u}</pr:class>`).join('') + '</pr:provide-services>';
  }
  if (t.persons) {
    const v = t.persons;
    s += '<pr:provide-persons>' + (v.all ? '<pr:all-persons/>' : '');
    s += v.occ.map((u) => `<pr:occurrence-id>${u}</pr:occurrence-id>`).join('');
    s += v.classes.map((u) => `<pr:class>${u}</pr:class>`).join('') + '</pr:provide-persons>';
  }
  if (t.devices) {
    const v = t.devices;
    s += '<pr:provide-devices>' + (v.all ? '<pr:all-devices/>' : '');
    s += v.ids.map((u) => `<pr:deviceID>${u}</pr:deviceID>`).join('');
    s += v.occ.map((u) => `<pr:occurrence-id>${u}</pr:occurrence-id>`).join('');
    s += v.classes.map((u) => `<pr:class>${u}</pr:class>`).join('') + '</pr:provide-devices>';
  }
  if (t.allAttributes) s += '<pr:provide-all-attributes/>';
  for (const [name, value] of t.bools) s += `<pr:${name}>${value}</pr:${name}>`;
  for (const level of t.userInput) s += `<pr:provide-user-input>${level}</pr:provide-user-input>`;
  for (const [ns, name, value] of t.unknown) s += `<pr:provide-unknown-attribute ns="${esc(ns)}" name="${name}">${value}</pr:provide-unknown-attribute>`;
  if (t.extraTransformation) s += '<op:provide-willingness>true</op:provide-willingness><pr:provide-everything>true</pr:provide-everything>';
  return s + '</cr:transformations>';
}

function rulesXml(rules: readonly Rule[]): string {
  let s =
    '<?xml version="1.0" encoding="UTF-8"?><cr:ruleset xmlns:cr="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules" ' +
    'xmlns:ocp="urn:oma:xml:xdm:common-policy" xmlns:op="urn:oma:xml:prs:pres-rules" xmlns:x="urn:example:unknown-conditions">';
  rules.forEach((r, i) => {
    s += `<cr:rule id="r${i}">`;
    if (r.conditions !== undefined) s += `<cr:conditions>${r.conditions.map(condXml).join('')}</cr:conditions>`;
    s += '<cr:actions>' + r.subHandling.map((h) => `<pr:sub-handling>${h}</pr:sub-handling>`).join('');
    if (r.extraAction) s += '<x:forward-to>sip:spy@evil.example.net</x:forward-to>';
    s += '</cr:actions>';
    if (r.transformations) s += transformationsXml(r.transformations);
    s += '</cr:rule>';
  });
  return s + '</cr:ruleset>';
}

/** What the OMA document says when both exist: everything to everybody (it must lose to the IETF one). */
const OMA_OPEN = rulesXml([
  {
    conditions: [],
    subHandling: ['allow'],
    extraAction: false,
    transformations: {
      services: { all: true, uris: [], schemes: [], occ: [], classes: [] },
      persons: { all: true, occ: [], classes: [] },
      devices: { all: true, ids: [], occ: [], classes: [] },
      allAttributes: true,
      bools: [],
      userInput: [],
      unknown: [],
      extraTransformation: false,
    },
  },
]);

// ---------------------------------------------------------------------------------------------
// The oracle: RFC 4745 §10 / RFC 5025 over the plain data

interface Grants {
  servicesAll: boolean;
  serviceUris: Set<string>;
  schemes: Set<string>;
  serviceOcc: Set<string>;
  serviceClasses: Set<string>;
  personsAll: boolean;
  personOcc: Set<string>;
  personClasses: Set<string>;
  devicesAll: boolean;
  deviceIds: Set<string>;
  deviceOcc: Set<string>;
  deviceClasses: Set<string>;
  allAttributes: boolean;
  attrs: Set<string>;
  userInput: number;
  unknown: Set<string>;
}

function noGrants(): Grants {
  return {
    servicesAll: false, serviceUris: new Set(), schemes: new Set(), serviceOcc: new Set(), serviceClasses: new Set(),
    personsAll: false, personOcc: new Set(), personClasses: new Set(),
    devicesAll: false, deviceIds: new Set(), deviceOcc: new Set(), deviceClasses: new Set(),
    allAttributes: false, attrs: new Set(), userInput: 0, unknown: new Set(),
  };
}

/** The permission an element is governed by when it is an attribute (RFC 5025 §3.3.2), per the RFC's list. */
function attributeKind(ns: string, local: string): string | undefined {
  if (ns === RPID_NS) {
    const own = ['activities', 'class', 'mood', 'place-is', 'place-type', 'privacy', 'relationship', 'sphere', 'status-icon', 'time-offset', 'user-input', 'note'];
    return own.includes(local) ? local : undefined;
  }
  if (ns === DATA_MODEL_NS && (local === 'deviceID' || local === 'note')) return local;
  if (ns === PIDF_NS && local === 'note') return 'note';
  return undefined;
}

/** sip/sips/pres → sip:user@lower-host; tel without visual separators. */
function canon(uri: string): string {
  const colon = uri.indexOf(':');
  const scheme = uri.slice(0, colon).toLowerCase();
  const rest = uri.slice(colon + 1);
  if (scheme === 'tel') return `tel:${rest.replace(/[-.()]/g, '')}`;
  const at = rest.lastIndexOf('@');
  return `sip:${rest.slice(0, at)}@${rest.slice(at + 1).toLowerCase()}`;
}
const domainOf = (aor: string): string | undefined => (aor.startsWith('sip:') ? aor.slice(aor.lastIndexOf('@') + 1) : undefined);

function identityHolds(c: Extract<Cond, { kind: 'identity' }>, watcher: string | undefined): boolean {
  if (watcher === undefined) return false;
  const dom = domainOf(watcher);
  return c.items.some((i) => {
    if (i.kind === 'one') return canon(i.id) === watcher;
    if (i.domain !== undefined && i.domain.toLowerCase() !== dom) return false;
    if (i.exceptIds.some((x) => canon(x) === watcher)) return false;
    if (dom !== undefined && i.exceptDomains.some((d) => d.toLowerCase() === dom)) return false;
    return true;
  });
}

const xsBool = (v: string): boolean => v.trim() === 'true' || v.trim() === '1';

function oracle(
  rules: readonly Rule[] | undefined,
  w: { watcher: string; authenticated: boolean },
  sphere: string | undefined,
  now: number,
): { handling: Handling; grants: Grants } {
  const grants = noGrants();
  if (rules === undefined) return { handling: 'confirm', grants };
  const identified = w.authenticated && domainOf(w.watcher) !== 'anonymous.invalid' ? w.watcher : undefined;
  const hasUnknown = rules.some((r) => (r.conditions ?? []).some((c) => c.kind === 'unknown'));
  const otherIdentity =
    identified !== undefined && !hasUnknown && !rules.some((r) => (r.conditions ?? []).some((c) => c.kind === 'identity' && identityHolds(c, identified)));
  let handling = -1;
  for (const r of rules) {
    const holds = (r.conditions ?? []).every((c) => {
      switch (c.kind) {
        case 'identity':
          return identityHolds(c, identified);
        case 'sphere':
          return sphere !== undefined && c.values.includes(sphere);
        case 'validity':
          return c.intervals.some((i) => i.from <= now && now < i.until);
        case 'unknown':
          return false;
        case 'anonymous-request':
          return identified === undefined;
        case 'other-identity':
          return otherIdentity;
      }
    });
    if (!holds) continue;
    for (const h of r.subHandling) {
      const i = (SUB_HANDLINGS as readonly string[]).indexOf(h);
      if (i > handling) handling = i;
    }
    const t = r.transformations;
    if (!t) continue;
    if (t.services) {
      grants.servicesAll ||= t.services.all;
      t.services.uris.forEach((u) => grants.serviceUris.add(u));
      t.services.schemes.forEach((u) => grants.schemes.add(u.toLowerCase()));
      t.services.occ.forEach((u) => grants.serviceOcc.add(u));
      t.services.classes.forEach((u) => grants.serviceClasses.add(u));
    }
    if (t.persons) {
      grants.personsAll ||= t.persons.all;
      t.persons.occ.forEach((u) => grants.personOcc.add(u));
      t.persons.classes.forEach((u) => grants.personClasses.add(u));
    }
    if (t.devices) {
      grants.devicesAll ||= t.devices.all;
      t.devices.ids.forEach((u) => grants.deviceIds.add(u));
      t.devices.occ.forEach((u) => grants.deviceOcc.add(u));
      t.devices.classes.forEach((u) => grants.deviceClasses.add(u));
    }
    grants.allAttributes ||= t.allAttributes;
    for (const [name, value] of t.bools) if (xsBool(value)) grants.attrs.add(BOOL_PROVIDES[name]!);
    for (const level of t.userInput) grants.userInput = Math.max(grants.userInput, (USER_INPUT as readonly string[]).indexOf(level));
    for (const [ns, name, value] of t.unknown) if (xsBool(value) && attributeKind(ns, name) === undefined) grants.unknown.add(`${ns} ${name}`);
  }
  return { handling: handling < 0 ? 'confirm' : SUB_HANDLINGS[handling]!, grants };
}

// ---------------------------------------------------------------------------------------------
// Random PIDF documents

const PARTS_TUPLE = ['deviceID', 'class', 'relationship', 'status-icon', 'user-input', 'service-class', 'servcaps', 'vendor', 'card', 'note', 'timestamp', 'im', 'loc', 'attr'] as const;
const PARTS_PERSON = ['activities', 'mood', 'place-type', 'place-is', 'privacy', 'sphere', 'class', 'time-offset', 'status-icon', 'relationship', 'user-input', 'note', 'timestamp', 'card', 'display-name', 'vendor', 'text', 'attr'] as const;
const PARTS_DEVICE = ['deviceID', 'user-input', 'class', 'note', 'timestamp', 'vendor', 'devcaps', 'attr'] as const;
const PARTS_PRESENCE = ['note', 'note-fr', 'vendor', 'activities', 'card'] as const;

interface DocSpec {
  readonly tuples: readonly { id: string; basic: string; contact: string | undefined; parts: readonly string[]; cls: string; dev: string }[];
  readonly persons: readonly { id: string; parts: readonly string[]; cls: string; sphere: string }[];
  readonly devices: readonly { id: string; parts: readonly string[]; cls: string; dev: string }[];
  readonly presence: readonly string[];
}

const docSpecArb: fc.Arbitrary<DocSpec> = fc.record({
  tuples: fc.uniqueArray(
    fc.record({
      id: fc.constantFrom(...TUPLE_IDS),
      basic: fc.constantFrom('open', 'closed'),
      contact: fc.option(fc.constantFrom(...CONTACTS), { nil: undefined, freq: 5 }),
      parts: fc.subarray([...PARTS_TUPLE]),
      cls: fc.constantFrom(...CLASSES),
      dev: fc.constantFrom(...DEVICE_URNS),
    }),
    { selector: (t) => t.id, maxLength: 3 },
  ),
  persons: fc.uniqueArray(
    fc.record({ id: fc.constantFrom(...PERSON_IDS), parts: fc.subarray([...PARTS_PERSON]), cls: fc.constantFrom(...CLASSES), sphere: fc.constantFrom(...SPHERES) }),
    { selector: (p) => p.id, maxLength: 2 },
  ),
  devices: fc.uniqueArray(
    fc.record({ id: fc.constantFrom(...DEVICE_IDS), parts: fc.subarray([...PARTS_DEVICE]), cls: fc.constantFrom(...CLASSES), dev: fc.constantFrom(...DEVICE_URNS) }),
    { selector: (d) => d.id, maxLength: 2 },
  ),
  presence: fc.subarray([...PARTS_PRESENCE]),
});

function userInputXml(id: string): string {
  return `<rpid:user-input id="ui-${id}" idle-threshold="600" last-input="2026-01-01T11:5${id.length}:00Z">idle</rpid:user-input>`;
}

function pidfXml(spec: DocSpec): string {
  let s =
    `<?xml version="1.0" encoding="UTF-8"?><presence xmlns="${PIDF_NS}" xmlns:dm="${DATA_MODEL_NS}" xmlns:rpid="${RPID_NS}" xmlns:c="${CIPID_NS}" ` +
    `xmlns:caps="${CAPS_NS}" xmlns:v="${VENDOR_NS}" xmlns:im="${IM_NS}" xmlns:lt="urn:ietf:params:xml:ns:location-type" entity="${OWNER}">`;
  for (const t of spec.tuples) {
    const p = new Set(t.parts);
    s += `<tuple id="${t.id}"${p.has('attr') ? ` v:origin="${t.id}-hidden"` : ''}><status><basic>${t.basic}</basic>`;
    if (p.has('im')) s += `<im:im>busy-${t.id}</im:im>`;
    if (p.has('loc')) s += `<v:loc>home-of-${t.id}</v:loc>`;
    s += '</status>';
    if (p.has('deviceID')) s += `<dm:deviceID>${t.dev}</dm:deviceID>`;
    if (p.has('class')) s += `<rpid:class>${t.cls}</rpid:class>`;
    if (p.has('relationship')) s += `<rpid:relationship><rpid:family/></rpid:relationship>`;
    if (p.has('status-icon')) s += `<rpid:status-icon>http://example.com/${t.id}.png</rpid:status-icon>`;
    if (p.has('user-input')) s += userInputXml(t.id);
    if (p.has('service-class')) s += `<rpid:service-class><rpid:electronic/></rpid:service-class>`;
    if (p.has('servcaps')) s += `<caps:servcaps><caps:audio>true</caps:audio><caps:video>false</caps:video></caps:servcaps>`;
    if (p.has('vendor')) s += `<v:secret level="${t.id}">s3cr3t-${t.id}</v:secret>`;
    if (p.has('card')) s += `<c:card>http://example.com/${t.id}.vcf</c:card>`;
    if (t.contact !== undefined) s += `<contact priority="0.${t.id.length}"${p.has('attr') ? ' v:where="hidden"' : ''}>${t.contact}</contact>`;
    if (p.has('note')) s += `<note xml:lang="en">tuple ${t.id} note</note>`;
    if (p.has('timestamp')) s += `<timestamp>2026-01-01T11:00:0${t.id.length}Z</timestamp>`;
    s += '</tuple>';
  }
  if (spec.presence.includes('note')) s += '<note>presence note</note>';
  if (spec.presence.includes('note-fr')) s += '<note xml:lang="fr">note de présence</note>';
  for (const x of spec.persons) {
    const p = new Set(x.parts);
    s += `<dm:person id="${x.id}"${p.has('attr') ? ' v:origin="hidden"' : ''}>`;
    if (p.has('text')) s += `stray text ${x.id}`;
    if (p.has('activities')) s += `<rpid:activities from="2026-01-01T11:00:00Z"><rpid:note>with ${x.id}</rpid:note><rpid:meeting/></rpid:activities>`;
    if (p.has('mood')) s += `<rpid:mood><rpid:happy/></rpid:mood>`;
    if (p.has('place-type')) s += `<rpid:place-type><lt:residence/></rpid:place-type>`;
    if (p.has('place-is')) s += `<rpid:place-is><rpid:audio><rpid:noisy/></rpid:audio></rpid:place-is>`;
    if (p.has('privacy')) s += `<rpid:privacy><rpid:quiet/></rpid:privacy>`;
    if (p.has('sphere')) s += x.sphere === 'bowling' ? `<rpid:sphere>bowling</rpid:sphere>` : `<rpid:sphere><rpid:${x.sphere}/></rpid:sphere>`;
    if (p.has('class')) s += `<rpid:class>${x.cls}</rpid:class>`;
    if (p.has('time-offset')) s += `<rpid:time-offset>-300</rpid:time-offset>`;
    if (p.has('status-icon')) s += `<rpid:status-icon>http://example.com/${x.id}.png</rpid:status-icon>`;
    if (p.has('relationship')) s += `<rpid:relationship><rpid:self/></rpid:relationship>`;
    if (p.has('user-input')) s += userInputXml(x.id);
    if (p.has('note')) s += `<dm:note>person ${x.id} note</dm:note>`;
    if (p.has('card')) s += `<c:card>http://example.com/${x.id}.vcf</c:card>`;
    if (p.has('display-name')) s += `<c:display-name>Alice ${x.id}</c:display-name>`;
    if (p.has('vendor')) s += `<v:secret>diary-${x.id}</v:secret>`;
    if (p.has('timestamp')) s += `<dm:timestamp>2026-01-01T11:30:00Z</dm:timestamp>`;
    s += '</dm:person>';
  }
  for (const d of spec.devices) {
    const p = new Set(d.parts);
    s += `<dm:device id="${d.id}"${p.has('attr') ? ' v:origin="hidden"' : ''}>`;
    if (p.has('deviceID')) s += `<dm:deviceID>${d.dev}</dm:deviceID>`;
    if (p.has('user-input')) s += userInputXml(d.id);
    if (p.has('class')) s += `<rpid:class>${d.cls}</rpid:class>`;
    if (p.has('note')) s += `<dm:note>device ${d.id}</dm:note>`;
    if (p.has('devcaps')) s += `<caps:devcaps><caps:mobility><caps:supported><caps:mobile/></caps:supported></caps:mobility></caps:devcaps>`;
    if (p.has('vendor')) s += `<v:secret>imei-${d.id}</v:secret>`;
    if (p.has('timestamp')) s += `<dm:timestamp>2026-01-01T11:45:00Z</dm:timestamp>`;
    s += '</dm:device>';
  }
  if (spec.presence.includes('vendor')) s += '<v:secret>top-level secret</v:secret>';
  if (spec.presence.includes('activities')) s += '<rpid:activities><rpid:sleeping/></rpid:activities>';
  if (spec.presence.includes('card')) s += '<c:card>http://example.com/alice.vcf</c:card>';
  return s + '</presence>';
}

function pidfOf(spec: DocSpec): PidfDocument {
  const r = parsePidf(pidfXml(spec));
  if (!r.ok) throw new Error(`generator produced invalid PIDF: ${r.error.detail}`);
  return r.value;
}

/** RFC 4480 §3.2 sphere of the presentity: the first person's `<rpid:sphere>` (its child's name, or its text). */
function sphereOf(doc: PidfDocument): string | undefined {
  for (const p of doc.persons) {
    const s = p.element.children.find((c): c is XmlElement => c.kind === 'element' && c.ns === RPID_NS && c.local === 'sphere');
    if (!s) continue;
    const child = s.children.find((c): c is XmlElement => c.kind === 'element');
    return child ? child.local : textContent(s).trim();
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The independent checker

const elementsOf = (el: XmlElement): XmlElement[] => el.children.filter((c): c is XmlElement => c.kind === 'element');
const blank = (el: XmlElement): boolean => el.children.every((c) => c.kind === 'element' || c.text.trim() === '');
const attrNames = (el: XmlElement): string[] => el.attrs.map((a) => `${a.ns}|${a.local}`).sort();
const textOf = (el: XmlElement, ns: string, local: string): string[] => elementsOf(el).filter((c) => c.ns === ns && c.local === local).map((c) => textContent(c).trim());

function serviceSelected(g: Grants, t: XmlElement): boolean {
  if (g.servicesAll || g.serviceOcc.has(attr(t, 'id') ?? '')) return true;
  if (textOf(t, RPID_NS, 'class').some((c) => g.serviceClasses.has(c))) return true;
  return textOf(t, PIDF_NS, 'contact').some((u) => g.serviceUris.has(u) || g.schemes.has(u.slice(0, u.indexOf(':')).toLowerCase()));
}
function personSelected(g: Grants, p: XmlElement): boolean {
  return g.personsAll || g.personOcc.has(attr(p, 'id') ?? '') || textOf(p, RPID_NS, 'class').some((c) => g.personClasses.has(c));
}
function deviceSelected(g: Grants, d: XmlElement): boolean {
  if (g.devicesAll || g.deviceOcc.has(attr(d, 'id') ?? '') || textOf(d, RPID_NS, 'class').some((c) => g.deviceClasses.has(c))) return true;
  return textOf(d, DATA_MODEL_NS, 'deviceID').some((x) => g.deviceIds.has(x));
}

/** Whether an attribute element of the source may be shown (any form). */
function attributeGranted(g: Grants, el: XmlElement): boolean {
  const kind = attributeKind(el.ns, el.local);
  if (kind === 'user-input') return g.userInput > 0;
  if (kind !== undefined) return g.attrs.has(kind);
  return g.unknown.has(`${el.ns} ${el.local}`);
}

/** Checks one shown attribute element against the grants and its source siblings. */
function checkAttribute(g: Grants, shown: XmlElement, sources: readonly XmlElement[], where: string): void {
  const ctx = `${where} <${shown.local}> {${shown.ns}}`;
  expect(attributeGranted(g, shown), `${ctx} is not granted`).toBe(true);
  const src = sources.filter((s) => s.ns === shown.ns && s.local === shown.local);
  expect(src.length, `${ctx} has no source`).toBeGreaterThan(0);
  if (attributeKind(shown.ns, shown.local) === 'user-input' && g.userInput < 3) {
    expect(elementsOf(shown), `${ctx} has child elements`).toEqual([]);
    expect(src.some((s) => textContent(s) === textContent(shown)), `${ctx} value changed`).toBe(true);
    const allowed = g.userInput === 2 ? ['|idle-threshold'] : [];
    for (const a of attrNames(shown)) expect(allowed, `${ctx} shows attribute ${a}`).toContain(a);
    if (g.userInput === 2) {
      expect(src.some((s) => attr(s, 'idle-threshold') === attr(shown, 'idle-threshold')), `${ctx} threshold changed`).toBe(true);
    }
    return;
  }
  expect(src.some((s) => elementEquals(s, shown)), `${ctx} differs from its source`).toBe(true);
}

/** The number of children a component must show (completeness), when not all attributes are granted. */
function expectedChildren(g: Grants, src: XmlElement, core: (c: XmlElement) => boolean): number {
  return elementsOf(src).filter((c) => core(c) || attributeGranted(g, c)).length;
}

const isTupleCore = (c: XmlElement): boolean => c.ns === PIDF_NS && (c.local === 'status' || c.local === 'contact' || c.local === 'timestamp');
const isDmCore = (c: XmlElement): boolean => c.ns === DATA_MODEL_NS && c.local === 'timestamp';

function checkComponent(g: Grants, shown: XmlElement, src: XmlElement, kind: 'tuple' | 'person' | 'device'): void {
  const where = `${kind} ${attr(src, 'id')}`;
  if (g.allAttributes) {
    expect(elementEquals(shown, src), `${where} must be verbatim with provide-all-attributes`).toBe(true);
    return;
  }
  expect(attrNames(shown), `${where} attributes`).toEqual(['|id']);
  expect(attr(shown, 'id')).toBe(attr(src, 'id'));
  expect(blank(shown), `${where} shows character data`).toBe(true);
  const srcChildren = elementsOf(src);
  for (const c of elementsOf(shown)) {
    if (kind === 'tuple' && c.ns === PIDF_NS && c.local === 'status') {
      const srcStatus = srcChildren.find((s) => s.ns === PIDF_NS && s.local === 'status')!;
      expect(c.attrs, `${where} <status> attributes`).toEqual([]);
      for (const s of elementsOf(c)) {
        if (s.ns === PIDF_NS && s.local === 'basic') {
          expect(s.attrs).toEqual([]);
          expect(textOf(srcStatus, PIDF_NS, 'basic')).toContain(textContent(s).trim());
        } else {
          checkAttribute(g, s, elementsOf(srcStatus), `${where} <status>`);
        }
      }
      expect(elementsOf(c).length, `${where} <status> completeness`).toBe(expectedChildren(g, srcStatus, (x) => x.ns === PIDF_NS && x.local === 'basic'));
    } else if (kind === 'tuple' && c.ns === PIDF_NS && (c.local === 'contact' || c.local === 'timestamp')) {
      const s = srcChildren.find((x) => x.ns === c.ns && x.local === c.local)!;
      for (const a of attrNames(c)) expect(['|priority'], `${where} <${c.local}> shows ${a}`).toContain(a);
      if (c.local === 'contact' && attr(c, 'priority') !== undefined) expect(attr(c, 'priority')).toBe(attr(s, 'priority'));
      expect(elementsOf(c)).toEqual([]);
      expect(textContent(c)).toBe(textContent(s));
    } else if (kind !== 'tuple' && c.ns === DATA_MODEL_NS && c.local === 'timestamp') {
      expect(c.attrs).toEqual([]);
      expect(textOf(src, DATA_MODEL_NS, 'timestamp')).toContain(textContent(c).trim());
    } else {
      checkAttribute(g, c, srcChildren, where);
    }
  }
  expect(elementsOf(shown).length, `${where} completeness`).toBe(expectedChildren(g, src, kind === 'tuple' ? isTupleCore : isDmCore));
}

/** Walks a rendered body: everything shown is granted and copied; everything granted is shown. */
function checkView(g: Grants, input: PidfDocument, body: string): void {
  const parsed = parseXml(body);
  expect(parsed.ok, 'body is well-formed').toBe(true);
  if (!parsed.ok) return;
  const root = parsed.value;
  expect([root.ns, root.local]).toEqual([PIDF_NS, 'presence']);
  expect(attrNames(root)).toEqual(['|entity']);
  expect(attr(root, 'entity')).toBe(OWNER);
  expect(blank(root)).toBe(true);
  const shown = { tuple: [] as string[], person: [] as string[], device: [] as string[] };
  let notes = 0;
  let extensions = 0;
  for (const c of elementsOf(root)) {
    const id = attr(c, 'id') ?? '';
    if (c.ns === PIDF_NS && c.local === 'tuple') {
      const src = input.tuples.find((t) => t.id === id);
      expect(src, `unknown tuple ${id}`).toBeDefined();
      expect(serviceSelected(g, src!.element), `tuple ${id} not granted`).toBe(true);
      checkComponent(g, c, src!.element, 'tuple');
      shown.tuple.push(id);
    } else if (c.ns === DATA_MODEL_NS && c.local === 'person') {
      const src = input.persons.find((t) => t.id === id);
      expect(src, `unknown person ${id}`).toBeDefined();
      expect(personSelected(g, src!.element), `person ${id} not granted`).toBe(true);
      checkComponent(g, c, src!.element, 'person');
      shown.person.push(id);
    } else if (c.ns === DATA_MODEL_NS && c.local === 'device') {
      const src = input.devices.find((t) => t.id === id);
      expect(src, `unknown device ${id}`).toBeDefined();
      expect(deviceSelected(g, src!.element), `device ${id} not granted`).toBe(true);
      checkComponent(g, c, src!.element, 'device');
      shown.device.push(id);
    } else if (c.ns === PIDF_NS && c.local === 'note') {
      expect(g.allAttributes || g.attrs.has('note'), 'presence <note> not granted').toBe(true);
      expect(input.notes.some((n) => elementEquals(n, c))).toBe(true);
      notes++;
    } else {
      expect(g.allAttributes, `presence-level <${c.local}> {${c.ns}} not granted`).toBe(true);
      expect(input.extensions.some((n) => elementEquals(n, c))).toBe(true);
      extensions++;
    }
  }
  expect(shown.tuple).toEqual(input.tuples.filter((t) => serviceSelected(g, t.element)).map((t) => t.id));
  expect(shown.person).toEqual(input.persons.filter((t) => personSelected(g, t.element)).map((t) => t.id));
  expect(shown.device).toEqual(input.devices.filter((t) => deviceSelected(g, t.element)).map((t) => t.id));
  expect(notes).toBe(g.allAttributes || g.attrs.has('note') ? input.notes.length : 0);
  expect(extensions).toBe(g.allAttributes ? input.extensions.length : 0);
}

// ---------------------------------------------------------------------------------------------
// Scenario plumbing

interface Case {
  readonly rules: readonly Rule[];
  readonly placement: Placement;
  readonly watcher: string;
  readonly authenticated: boolean;
  readonly doc: DocSpec;
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  rules: rulesArb,
  placement: fc.constantFrom<Placement>('ietf', 'ietf', 'oma', 'both', 'none'),
  watcher: fc.constantFrom(...WATCHERS),
  authenticated: fc.constantFrom(true, true, false),
  doc: docSpecArb,
});

let etagCounter = 0;
function storeRules(kv: MemoryKv, c: Case): void {
  const put = (which: 0 | 1, xml: string): void => {
    const r = parseXml(xml);
    if (!r.ok) throw new Error(`generator produced invalid XML: ${r.error.detail}`);
    const rec: XcapDocumentRecord = { etag: `e${++etagCounter}`, doc: r.value, updatedAt: NOW };
    kv.put('xcap', presRulesKeys(OWNER)[which]!, rec);
  };
  if (c.placement === 'ietf' || c.placement === 'both') put(0, rulesXml(c.rules));
  if (c.placement === 'oma') put(1, rulesXml(c.rules));
  if (c.placement === 'both') put(1, OMA_OPEN);
}

const NEUTRAL_BODY = renderPidf(neutralPidf(OWNER));
const handlings = new Map<string, number>();
const count = (k: string): void => void handlings.set(k, (handlings.get(k) ?? 0) + 1);

// ---------------------------------------------------------------------------------------------

describe('pres-rules privacy (property)', () => {
  it('the authorizer and the presence rendering never show what the rules do not grant', () => {
    // One authorizer for all runs, with a small cache: every run stores its rules under a new ETag.
    const authorizer = new PresRulesAuthorizer({ clock: () => NOW, cacheSize: 16 });
    fc.assert(
      fc.property(caseArb, (c) => {
        const kv = new MemoryKv();
        storeRules(kv, c);
        const doc = pidfOf(c.doc);
        kv.put('states', [OWNER, 'presence'], { version: 1, doc, body: renderPidf(doc), updatedAt: NOW });
        const expected = oracle(c.placement === 'none' ? undefined : c.rules, c, sphereOf(doc), NOW);
        const decision = authorizer.authorize({ resource: OWNER, event: 'presence', watcher: c.watcher, authenticated: c.authenticated }, kv);
        count(`direct:${decision.handling}`);
        expect(decision.handling).toBe(expected.handling);
        const body = presencePackageRender(doc, decision);
        if (decision.handling !== 'allow') {
          // block and confirm: nothing is ever rendered for them by the server; polite-block: the neutral document.
          expect(decision.permissions).toBeUndefined();
          expect(decision.view).toBe(NEUTRAL_VIEW);
          expect(body).toBe(NEUTRAL_BODY);
          return;
        }
        if (decision.view === FULL_VIEW) {
          expect(decision.permissions).toBeUndefined();
        } else {
          expect(isPresencePermissions(decision.permissions)).toBe(true);
          expect(decision.view).toBe(permissionsKey(decision.permissions as never));
        }
        count(`view:${decision.view === FULL_VIEW ? 'full' : 'restricted'}`);
        // The full view is rendered once with the state (the stored body), a restricted one by render().
        checkView(expected.grants, doc, decision.view === FULL_VIEW ? renderPidf(doc) : body);
      }),
      { numRuns: 2500 },
    );
    for (const h of ['allow', 'confirm', 'polite-block', 'block']) expect(handlings.get(`direct:${h}`) ?? 0, `${h} exercised`).toBeGreaterThan(25);
    for (const v of ['full', 'restricted']) expect(handlings.get(`view:${v}`) ?? 0, `${v} view exercised`).toBeGreaterThan(25);
    console.info(`pres-rules privacy: ${JSON.stringify(Object.fromEntries(handlings))}`);
  }, 60_000);

  it('through the Presence Server: blocked → 403 and nothing, pending → no presence, polite-block → neutral only, allow → granted view only', () => {
    fc.assert(
      fc.property(caseArb, docSpecArb, (c, second) => {
        let now = NOW;
        const presence = { ...presencePackage(), render: presencePackageRender };
        const server = new PresenceServer({
          config: testConfig(),
          ids: new CountingIds(),
          targetCache: new TargetCache(100),
          authorizer: new PresRulesAuthorizer({ clock: () => now }),
          packages: [presence, watcherInfoPackage(presence)],
        });
        const kv = new MemoryKv();
        const send = (r: ReturnType<typeof publish>): HandleResult => server.handle(r, kv, now);
        storeRules(kv, c);

        const doc1 = pidfOf(c.doc);
        const pub = send(publish({ aor: OWNER, body: pidfXml(c.doc), expires: 3600 }));
        expect(pub.reply?.status).toBe(200);
        const etag = pub.reply?.headers.find((h) => h.name.toLowerCase() === 'sip-etag')?.value;
        expect(etag).toBeDefined();

        const expected = oracle(c.placement === 'none' ? undefined : c.rules, c, sphereOf(doc1), now);
        count(`server:${expected.handling}`);
        const callId = uniq('privacy-');
        const sub = send(
          subscribe({
            watcher: c.watcher,
            resource: OWNER,
            callId,
            localTag: uniq('lt'),
            expires: 600,
            contact: '<sip:watcher@192.0.2.20:5062>',
            ...(c.authenticated ? { identity: `<${c.watcher}>` } : {}),
          }),
        );
        const mine = (ns: readonly Notify[]): Notify[] => ns.filter((n) => n.event === 'presence' && n.dialogHeaders.includes(callId));

        const first = mine(sub.notifies);
        switch (expected.handling) {
          case 'block':
            expect(sub.reply?.status).toBe(403);
            expect(first).toEqual([]);
            break;
          case 'confirm':
            expect(sub.reply?.status).toBe(200);
            expect(first).toHaveLength(1);
            expect(first[0]!.subscriptionState).toMatch(/^pending/);
            expect(first[0]!.body).toBeUndefined();
            break;
          case 'polite-block':
            expect(sub.reply?.status).toBe(200);
            expect(first).toHaveLength(1);
            expect(first[0]!.subscriptionState).toMatch(/^active/);
            expect(first[0]!.body?.text).toBe(NEUTRAL_BODY);
            break;
          case 'allow':
            expect(sub.reply?.status).toBe(200);
            expect(first).toHaveLength(1);
            expect(first[0]!.subscriptionState).toMatch(/^active/);
            checkView(expected.grants, doc1, first[0]!.body?.text ?? '');
            break;
        }

        // The owner's state changes: the fan-out follows the same decision.
        now += 1000;
        const doc2 = pidfOf(second);
        const mod = send(publish({ aor: OWNER, body: pidfXml(second), etag: etag!, expires: 3600 }));
        expect(mod.reply?.status).toBe(200);
        const next = mine(mod.notifies);
        // Rules that look at the presentity's sphere are re-evaluated when the state changes.
        const after = oracle(c.placement === 'none' ? undefined : c.rules, c, sphereOf(doc2), now);
        if (expected.handling === 'block') {
          expect(next).toEqual([]); // no subscription exists
        } else if (after.handling === 'block') {
          // The subscription ends, revealing nothing.
          expect(next).toHaveLength(1);
          expect(next[0]!.subscriptionState).toBe('terminated;reason=rejected');
          expect(next[0]!.body).toBeUndefined();
        } else if (after.handling === 'confirm') {
          if (expected.handling === 'confirm') expect(next).toEqual([]);
          else {
            expect(next).toHaveLength(1);
            expect(next[0]!.subscriptionState).toMatch(/^pending/);
            expect(next[0]!.body).toBeUndefined();
          }
        } else if (after.handling === 'polite-block') {
          // Nothing to tell (the neutral document did not change) or the neutral document.
          for (const n of next) expect(n.body?.text).toBe(NEUTRAL_BODY);
        } else if (next.length > 0) {
          expect(next).toHaveLength(1);
          checkView(after.grants, doc2, next[0]!.body?.text ?? '');
        } else {
          // No NOTIFY only when the watcher's view did not change.
          expect(expected.handling).toBe('allow');
          expect(renderPidf(doc2)).toBe(renderPidf({ ...doc1, entity: OWNER }));
        }
      }),
      { numRuns: 800 },
    );
    for (const h of ['allow', 'confirm', 'polite-block', 'block']) expect(handlings.get(`server:${h}`) ?? 0, `${h} exercised`).toBeGreaterThan(5);
  }, 60_000);
});
