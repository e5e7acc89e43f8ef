/**
 * The model of a presence authorization rule set: RFC 4745 (common policy:
 * `<ruleset>` of `<rule>`s, each with conditions, actions and
 * transformations) with the RFC 5025 actions and transformations, parsed
 * once from the XCAP document into plain data.
 *
 * Extensibility as the RFCs require (RFC 4745 §7, §10.1; RFC 5025 §3):
 * - an unknown condition makes its rule never match (a condition that cannot
 *   be evaluated is false);
 * - unknown actions and transformations are ignored (they could only grant);
 * - malformed values of a known element grant nothing (an unknown
 *   `<sub-handling>` value, a non-boolean `provide-*`, a `<one>` without
 *   `id`, a `<validity>` with an unparsable time).
 *
 * Two conditions of the OMA common-policy extension (OMA-TS-XDM_Core) that
 * OMA pres-rules documents routinely use are understood:
 * `<anonymous-request/>` and `<other-identity/>`; `<external-list>` needs a
 * resource-lists lookup and is treated as unknown (the rule never matches).
 */
import type { SubHandling } from '../authorizer.js';
import { aorOf } from '../../sip/uri.js';
import type { XmlElement } from '../../xml/xml-node.js';
import { attr, textContent } from '../../xml/xml-query.js';
import {
  NO_PERMISSIONS,
  normalizePermissions,
  USER_INPUT_LEVELS,
  type KnownAttribute,
  type PresencePermissions,
  type UnknownAttribute,
  type UserInputLevel,
} from './presence-permissions.js';

/** RFC 4745 common policy namespace. */
export const COMMON_POLICY_NS = 'urn:ietf:params:xml:ns:common-policy';
/** RFC 5025 pres-rules namespace. */
export const PRES_RULES_NS = 'urn:ietf:params:xml:ns:pres-rules';
/** OMA common-policy extensions (anonymous-request, other-identity, external-list). */
export const OMA_COMMON_POLICY_NS = 'urn:oma:xml:xdm:common-policy';

/** RFC 5025 §3.2.1: the numeric values that order sub-handling (combined by maximum). */
export const SUB_HANDLING_VALUE: Readonly<Record<SubHandling, number>> = Object.freeze({
  block: 0,
  confirm: 10,
  'polite-block': 20,
  allow: 30,
});

/** RFC 4745 §7.1.2 `<many>`: every authenticated identity (of `domain`, when given) but the exceptions. */
export interface ManyIdentity {
  /** Lower-case domain; absent = any domain. */
  readonly domain?: string;
  /** Canonical identities excluded (`<except id>`). */
  readonly exceptIds: readonly string[];
  /** Lower-case domains excluded (`<except domain>`). */
  readonly exceptDomains: readonly string[];
}

export type Condition =
  /** RFC 4745 §7.1: matches when any `<one>` or `<many>` matches the authenticated identity. */
  | { readonly kind: 'identity'; readonly one: readonly string[]; readonly many: readonly ManyIdentity[] }
  /** RFC 4745 §7.2: matches when the presentity's current sphere is one of `values`. */
  | { readonly kind: 'sphere'; readonly values: readonly string[] }
  /** RFC 4745 §7.3: matches when `from <= now < until` for some interval (epoch ms). */
  | { readonly kind: 'validity'; readonly intervals: readonly { readonly from: number; readonly until: number }[] }
  /** OMA: matches an unauthenticated (anonymous) request. */
  | { readonly kind: 'anonymous-request' }
  /** OMA: matches an authenticated identity that no `<identity>` condition of the rule set matches. */
  | { readonly kind: 'other-identity' }
  /** Anything else: the rule never matches. */
  | { readonly kind: 'unknown'; readonly ns: string; readonly name: string };

export interface PresRule {
  /** The rule's `id` attribute ('' when missing). */
  readonly id: string;
  /** Conjunction; empty = the rule always matches (RFC 4745 §10.1). */
  readonly conditions: readonly Condition[];
  /** RFC 5025 §3.2.1 `<sub-handling>`; absent when the rule does not set it. */
  readonly subHandling?: SubHandling;
  /** What the rule's transformations grant (canonical). */
  readonly grants: PresencePermissions;
}

export interface PresRulesModel {
  readonly rules: readonly PresRule[];
  /** Some rule has a `<sphere>` condition: evaluation needs the presentity's sphere. */
  readonly usesSphere: boolean;
  /** Some rule has an unknown condition (then `<other-identity>` cannot be decided and never matches). */
  readonly hasUnknownConditions: boolean;
}

export const EMPTY_MODEL: PresRulesModel = Object.freeze({ rules: [], usesSphere: false, hasUnknownConditions: false });

function trimXml(s: string): string {
  return s.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
}

function elementsOf(el: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of el.children) if (c.kind === 'element') out.push(c);
  return out;
}

/** The canonical identity of a URI as written in a rule: the AOR when it parses (sip/sips/pres/tel), else the trimmed text. */
export function canonicalIdentity(uri: string): string {
  const t = trimXml(uri);
  return aorOf(t) ?? t;
}

/** The lower-case domain of a canonical identity (`sip:user@host` → host), if it has one. */
export function identityDomain(identity: string): string | undefined {
  if (!identity.startsWith('sip:')) return undefined;
  const at = identity.lastIndexOf('@');
  const host = at < 0 ? identity.slice(4) : identity.slice(at + 1);
  return host === '' ? undefined : host.toLowerCase();
}

function parseDomain(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const d = trimXml(value).toLowerCase();
  return d === '' ? undefined : d;
}

function parseIdentity(el: XmlElement): Condition {
  const one: string[] = [];
  const many: ManyIdentity[] = [];
  for (const c of elementsOf(el)) {
    if (c.ns !== COMMON_POLICY_NS) continue; // extension children match nothing
    if (c.local === 'one') {
      const id = attr(c, 'id');
      if (id !== undefined && trimXml(id) !== '') one.push(canonicalIdentity(id));
    } else if (c.local === 'many') {
      const domainAttr = attr(c, 'domain');
      const domain = parseDomain(domainAttr);
      if (domainAttr !== undefined && domain === undefined) continue; // domain="" matches nothing
      const exceptIds: string[] = [];
      const exceptDomains: string[] = [];
      for (const e of elementsOf(c)) {
        if (e.ns !== COMMON_POLICY_NS || e.local !== 'except') continue;
        const id = attr(e, 'id');
        if (id !== undefined && trimXml(id) !== '') exceptIds.push(canonicalIdentity(id));
        const d = parseDomain(attr(e, 'domain'));
        if (d !== undefined) exceptDomains.push(d);
      }
      many.push(domain === undefined ? { exceptIds, exceptDomains } : { domain, exceptIds, exceptDomains });
    }
  }
  return { kind: 'identity', one, many };
}

const DATE_TIME_RE = /^(-?\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

/**
 * An xs:dateTime as epoch milliseconds, or undefined when invalid. A time
 * without a zone is taken as UTC (deterministic; XML Schema leaves it open).
 */
export function parseDateTime(text: string): number | undefined {
  const m = DATE_TIME_RE.exec(trimXml(text));
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 24 || minute > 59 || second > 60) return undefined;
  if (hour === 24 && (minute !== 0 || second !== 0 || (frac !== undefined && Number(frac) !== 0))) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCMonth() !== month - 1) return undefined; // e.g. 31 April
  let ms = date.getTime() + ((hour * 60 + minute) * 60 + Math.min(second, 59)) * 1000;
  if (frac !== undefined) ms += Math.floor(Number(frac) * 1000);
  if (zone !== undefined && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const zh = Number(zone.slice(1, 3));
    const zm = Number(zone.slice(4, 6));
    if (zh > 14 || zm > 59) return undefined;
    ms -= sign * (zh * 60 + zm) * 60_000;
  }
  return Number.isFinite(ms) ? ms : undefined;
}

/** RFC 4745 §7.3: `<from>`/`<until>` pairs, in order; a pair with a missing or invalid end is dropped. */
function parseValidity(el: XmlElement): Condition {
  const intervals: { from: number; until: number }[] = [];
  let from: number | undefined;
  let pendingFrom = false;
  for (const c of elementsOf(el)) {
    if (c.ns !== COMMON_POLICY_NS) continue;
    if (c.local === 'from') {
      from = parseDateTime(textContent(c));
      pendingFrom = true;
    } else if (c.local === 'until') {
      const until = parseDateTime(textContent(c));
      if (pendingFrom && from !== undefined && until !== undefined) intervals.push({ from, until });
      pendingFrom = false;
      from = undefined;
    }
  }
  return { kind: 'validity', intervals };
}

function parseCondition(c: XmlElement): Condition {
  if (c.ns === COMMON_POLICY_NS) {
    switch (c.local) {
      case 'identity':
        return parseIdentity(c);
      case 'sphere': {
        const value = attr(c, 'value') ?? '';
        return { kind: 'sphere', values: value.split(/[ \t\r\n]+/).filter((v) => v !== '') };
      }
      case 'validity':
        return parseValidity(c);
    }
  } else if (c.ns === OMA_COMMON_POLICY_NS) {
    if (c.local === 'anonymous-request') return { kind: 'anonymous-request' };
    if (c.local === 'other-identity') return { kind: 'other-identity' };
  }
  return { kind: 'unknown', ns: c.ns, name: c.local };
}

/** xs:boolean (whitespace collapsed): true for 'true'/'1'; anything else grants nothing. */
function booleanValue(el: XmlElement): boolean {
  const v = trimXml(textContent(el));
  return v === 'true' || v === '1';
}

function isSubHandling(v: string): v is SubHandling {
  return v === 'block' || v === 'confirm' || v === 'polite-block' || v === 'allow';
}

function maxHandling(a: SubHandling | undefined, b: SubHandling): SubHandling {
  return a === undefined || SUB_HANDLING_VALUE[b] > SUB_HANDLING_VALUE[a] ? b : a;
}

/** The boolean attribute permissions of RFC 5025 §3.3.2, by element name. */
const BOOLEAN_PROVIDES: Readonly<Record<string, KnownAttribute>> = Object.freeze({
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
});

/** Mutable accumulator for one rule's transformations. */
interface GrantBuilder {
  services: { all: boolean; serviceUris: string[]; serviceUriSchemes: string[]; occurrenceIds: string[]; classes: string[] };
  persons: { all: boolean; occurrenceIds: string[]; classes: string[] };
  devices: { all: boolean; deviceIds: string[]; occurrenceIds: string[]; classes: string[] };
  allAttributes: boolean;
  attributes: KnownAttribute[];
  userInput: UserInputLevel;
  unknownAttributes: UnknownAttribute[];
}

function childText(el: XmlElement): string | undefined {
  const t = trimXml(textContent(el));
  return t === '' ? undefined : t;
}

function parseTransformations(els: readonly XmlElement[]): PresencePermissions {
  const g: GrantBuilder = {
    services: { all: false, serviceUris: [], serviceUriSchemes: [], occurrenceIds: [], classes: [] },
    persons: { all: false, occurrenceIds: [], classes: [] },
    devices: { all: false, deviceIds: [], occurrenceIds: [], classes: [] },
    allAttributes: false,
    attributes: [],
    userInput: 'false',
    unknownAttributes: [],
  };
  for (const el of els) {
    for (const t of elementsOf(el)) {
      if (t.ns !== PRES_RULES_NS) continue; // unknown transformation: ignored
      const attribute = BOOLEAN_PROVIDES[t.local];
      if (attribute !== undefined) {
        if (booleanValue(t)) g.attributes.push(attribute);
        continue;
      }
      switch (t.local) {
        case 'provide-services':
          for (const s of elementsOf(t)) {
            if (s.ns !== PRES_RULES_NS) continue;
            const v = childText(s);
            if (s.local === 'all-services') g.services.all = true;
            else if (v === undefined) continue;
            else if (s.local === 'service-uri') g.services.serviceUris.push(v);
            else if (s.local === 'service-uri-scheme') g.services.serviceUriSchemes.push(v.toLowerCase());
            else if (s.local === 'occurrence-id') g.services.occurrenceIds.push(v);
            else if (s.local === 'class') g.services.classes.push(v);
          }
          break;
        case 'provide-persons':
          for (const s of elementsOf(t)) {
            if (s.ns !== PRES_RULES_NS) continue;
            const v = childText(s);
            if (s.local === 'all-persons') g.persons.all = true;
            else if (v === undefined) continue;
            else if (s.local === 'occurrence-id') g.persons.occurrenceIds.push(v);
            else if (s.local === 'class') g.persons.classes.push(v);
          }
          break;
        case 'provide-devices':
          for (const s of elementsOf(t)) {
            if (s.ns !== PRES_RULES_NS) continue;
            const v = childText(s);
            if (s.local === 'all-devices') g.devices.all = true;
            else if (v === undefined) continue;
            else if (s.local === 'deviceID') g.devices.deviceIds.push(v);
            else if (s.local === 'occurrence-id') g.devices.occurrenceIds.push(v);
            else if (s.local === 'class') g.devices.classes.push(v);
          }
          break;
        case 'provide-all-attributes':
          g.allAttributes = true;
          break;
        case 'provide-user-input': {
          const v = trimXml(textContent(t));
          if ((USER_INPUT_LEVELS as readonly string[]).includes(v)) {
            const level = v as UserInputLevel;
            if (USER_INPUT_LEVELS.indexOf(level) > USER_INPUT_LEVELS.indexOf(g.userInput)) g.userInput = level;
          }
          break;
        }
        case 'provide-unknown-attribute': {
          const ns = attr(t, 'ns');
          const name = attr(t, 'name');
          if (ns !== undefined && name !== undefined && trimXml(name) !== '' && booleanValue(t)) {
            g.unknownAttributes.push({ ns: trimXml(ns), name: trimXml(name) });
          }
          break;
        }
      }
    }
  }
  return normalizePermissions(g);
}

function parseRule(rule: XmlElement): PresRule {
  const conditions: Condition[] = [];
  const transformations: XmlElement[] = [];
  let subHandling: SubHandling | undefined;
  for (const c of elementsOf(rule)) {
    if (c.ns !== COMMON_POLICY_NS) continue;
    if (c.local === 'conditions') {
      for (const cond of elementsOf(c)) conditions.push(parseCondition(cond));
    } else if (c.local === 'actions') {
      for (const a of elementsOf(c)) {
        if (a.ns !== PRES_RULES_NS || a.local !== 'sub-handling') continue; // unknown action: ignored
        const v = trimXml(textContent(a));
        if (isSubHandling(v)) subHandling = maxHandling(subHandling, v);
      }
    } else if (c.local === 'transformations') {
      transformations.push(c);
    }
  }
  const grants = transformations.length === 0 ? NO_PERMISSIONS : parseTransformations(transformations);
  const id = attr(rule, 'id') ?? '';
  return subHandling === undefined ? { id, conditions, grants } : { id, conditions, subHandling, grants };
}

/**
 * Builds the model of a pres-rules document (RFC 5025 §7 schema, RFC 4745
 * §13). The root must be `<cr:ruleset>`; any other root yields the empty
 * model (no rule matches, so the default handling applies).
 */
export function parsePresRules(root: XmlElement): PresRulesModel {
  if (root.ns !== COMMON_POLICY_NS || root.local !== 'ruleset') return EMPTY_MODEL;
  const rules: PresRule[] = [];
  let usesSphere = false;
  let hasUnknownConditions = false;
  for (const c of elementsOf(root)) {
    if (c.ns !== COMMON_POLICY_NS || c.local !== 'rule') continue;
    const rule = parseRule(c);
    for (const cond of rule.conditions) {
      if (cond.kind === 'sphere') usesSphere = true;
      else if (cond.kind === 'unknown') hasUnknownConditions = true;
    }
    rules.push(rule);
  }
  return { rules, usesSphere, hasUnknownConditions };
}

