/**
 * The `pres-rules` application usage (RFC 5025 §9): presence authorization
 * rules, a common-policy (RFC 4745) document with the presence-specific
 * actions and transformations of RFC 5025 §3.
 *
 * AUID `pres-rules` (also served as the OMA AUID
 * `org.openmobilealliance.pres-rules`, same format and validation, document
 * conventionally `pres-rules` instead of `index`), MIME
 * `application/auth-policy+xml`, default namespace
 * `urn:ietf:params:xml:ns:pres-rules` (RFC 5025 §9.4: so common-policy
 * elements need a prefix in node selectors, e.g.
 * `cp:ruleset/cp:rule[@id="a"]?xmlns(cp=urn:ietf:params:xml:ns:common-policy)`).
 *
 * Schema checks (RFC 4745 §13, RFC 5025 §11):
 * - `<cp:ruleset>` holds `<cp:rule id>` only; a rule holds `<cp:conditions>`,
 *   `<cp:actions>`, `<cp:transformations>`, each optional, in that order;
 *   `id` is an xs:ID (NCName), unique in the document (reported as
 *   `xcap-uniqueness-failure` with an alternative id);
 * - conditions: `<cp:identity>` (≥ 1 of `<cp:one id>` / `<cp:many domain?>`
 *   with `<cp:except id?|domain?>` / `##other`), `<cp:sphere value>`,
 *   `<cp:validity>` (`<cp:from>`/`<cp:until>` xs:dateTime pairs), `##other`;
 * - actions and transformations hold `##other` elements only. Pres-rules
 *   elements are checked where they belong: `<pr:sub-handling>` (block |
 *   confirm | polite-block | allow) in actions; `<pr:provide-*>` in
 *   transformations with their content models (`all-*` exclusive, booleans,
 *   `provide-user-input` enumeration, `provide-unknown-attribute name ns`).
 *   A pres-rules element in the wrong place is refused (the schema's lax
 *   wildcard would accept it, but it would silently grant or deny nothing);
 * - elements of other namespaces (OMA extensions, RPID…) are accepted at the
 *   schema's `##other` points.
 */
import type { XmlElement } from '../../xml/xml-node.js';
import { isNCName } from '../../xml/xml-parser.js';
import type { XcapResult } from '../xcap-document.js';
import {
  VALID,
  alternatives,
  attrOf,
  checkAttrs,
  checkNoText,
  checkSimple,
  collapse,
  elements,
  fieldUri,
  isDateTime,
  isOther,
  isUriLike,
  ownText,
  schemaError,
  tag,
  uniquenessError,
  type AppUsage,
} from './app-usage.js';

export const COMMON_POLICY_NS = 'urn:ietf:params:xml:ns:common-policy';
export const PRES_RULES_NS = 'urn:ietf:params:xml:ns:pres-rules';
export const AUTH_POLICY_MIME = 'application/auth-policy+xml';
export const PRES_RULES_AUID = 'pres-rules';
export const OMA_PRES_RULES_AUID = 'org.openmobilealliance.pres-rules';
/** OMA extensions of common-policy (`<external-list>`, `<anonymous-request>`, `<other-identity>`). */
export const OMA_COMMON_POLICY_NS = 'urn:oma:xml:xdm:common-policy';
/** OMA presence-rules extensions (`<provide-willingness>`…). */
export const OMA_PRES_RULES_NS = 'urn:oma:xml:prs:pres-rules';

const CP = COMMON_POLICY_NS;
const PR = PRES_RULES_NS;

const BOOLEAN_PERMISSIONS = new Set([
  'provide-activities',
  'provide-class',
  'provide-deviceID',
  'provide-mood',
  'provide-place-is',
  'provide-place-type',
  'provide-privacy',
  'provide-relationship',
  'provide-status-icon',
  'provide-sphere',
  'provide-time-offset',
  'provide-note',
]);

function isBoolean(s: string): boolean {
  return s === 'true' || s === 'false' || s === '1' || s === '0';
}

/** Empty content (white space tolerated); attributes are checked by the caller. */
function checkEmpty(el: XmlElement): string | undefined {
  if (el.children.some((c) => c.kind === 'element' || !/^[ \t\r\n]*$/.test(c.text))) return `${tag(el)} must be empty`;
  return undefined;
}

/** A simple pres-rules value element (no attributes, no children) whose collapsed text passes `ok`. */
function simpleValue(el: XmlElement, ok: (v: string) => boolean, what: string): string | undefined {
  const d = checkAttrs(el, []) ?? checkSimple(el);
  if (d !== undefined) return d;
  const v = collapse(ownText(el));
  return ok(v) ? undefined : `${tag(el)} must be ${what}, found ${JSON.stringify(v)}`;
}

/**
 * `provide-services` / `provide-persons` / `provide-devices` (RFC 5025
 * §3.3.1–§3.3.3): either the `all-*` element alone or a sequence of the
 * listed pres-rules selectors and `##other` elements.
 */
function checkProvideSet(el: XmlElement, all: string, allowed: ReadonlySet<string>): string | undefined {
  const a = checkAttrs(el, []) ?? checkNoText(el);
  if (a !== undefined) return a;
  const children = elements(el);
  for (const c of children) {
    if (c.ns === PR && c.local === all) {
      if (children.length !== 1) return `<${all}> must be the only child of ${tag(el)}`;
      return checkAttrs(c, []) ?? checkEmpty(c);
    }
    if (c.ns === PR) {
      if (!allowed.has(c.local)) return `${tag(c)} is not allowed in ${tag(el)}`;
      const d =
        c.local === 'service-uri' || c.local === 'deviceID'
          ? simpleValue(c, isUriLike, 'a URI')
          : simpleValue(c, (v) => v !== '' && !/\s/.test(v), 'a token');
      if (d !== undefined) return d;
    } else if (!isOther(c, PR)) {
      return `${tag(c)} (no namespace) is not allowed in ${tag(el)}`;
    }
  }
  return undefined;
}

const SERVICE_SELECTORS = new Set(['service-uri', 'service-uri-scheme', 'occurrence-id', 'class']);
const PERSON_SELECTORS = new Set(['occurrence-id', 'class']);
const DEVICE_SELECTORS = new Set(['deviceID', 'occurrence-id', 'class']);

/** A pres-rules element inside `<cp:transformations>` (RFC 5025 §3.3). */
function checkTransformation(el: XmlElement): string | undefined {
  switch (el.local) {
    case 'provide-services':
      return checkProvideSet(el, 'all-services', SERVICE_SELECTORS);
    case 'provide-persons':
      return checkProvideSet(el, 'all-persons', PERSON_SELECTORS);
    case 'provide-devices':
      return checkProvideSet(el, 'all-devices', DEVICE_SELECTORS);
    case 'provide-user-input':
      return simpleValue(el, (v) => v === 'false' || v === 'bare' || v === 'thresholds' || v === 'full', 'false, bare, thresholds or full');
    case 'provide-unknown-attribute': {
      const d = checkAttrs(el, ['name', 'ns'], ['name', 'ns']) ?? checkSimple(el);
      if (d !== undefined) return d;
      const v = collapse(ownText(el));
      return isBoolean(v) ? undefined : `${tag(el)} must be a boolean, found ${JSON.stringify(v)}`;
    }
    case 'provide-all-attributes':
      return checkAttrs(el, []) ?? checkEmpty(el);
    case 'sub-handling':
      return `${tag(el)} is an action: it belongs in <actions>, not <transformations>`;
    default:
      if (BOOLEAN_PERMISSIONS.has(el.local)) return simpleValue(el, isBoolean, 'a boolean');
      return `unknown pres-rules element ${tag(el)} in <transformations>`;
  }
}

function checkIdentity(identity: XmlElement): string | undefined {
  const a = checkAttrs(identity, []) ?? checkNoText(identity);
  if (a !== undefined) return a;
  const children = elements(identity);
  if (children.length === 0) return '<identity> must contain at least one <one>, <many> or extension';
  for (const c of children) {
    if (c.ns === CP && c.local === 'one') {
      const d = checkAttrs(c, ['id'], ['id']) ?? checkNoText(c);
      if (d !== undefined) return d;
      if (!isUriLike(collapse(attrOf(c, 'id') ?? ''))) return `<one> id ${JSON.stringify(attrOf(c, 'id'))} is not a URI`;
      const ext = elements(c);
      if (ext.length > 1 || ext.some((e) => !isOther(e, CP))) return '<one> allows at most one extension element';
    } else if (c.ns === CP && c.local === 'many') {
      const d = checkAttrs(c, ['domain']) ?? checkNoText(c);
      if (d !== undefined) return d;
      for (const e of elements(c)) {
        if (e.ns === CP && e.local === 'except') {
          const x = checkAttrs(e, ['domain', 'id']) ?? checkEmpty(e);
          if (x !== undefined) return x;
        } else if (!isOther(e, CP)) {
          return `${tag(e)} is not allowed in <many>`;
        }
      }
    } else if (!isOther(c, CP)) {
      return `${tag(c)} is not allowed in <identity>`;
    }
  }
  return undefined;
}

function checkConditions(conditions: XmlElement): string | undefined {
  const a = checkAttrs(conditions, []) ?? checkNoText(conditions);
  if (a !== undefined) return a;
  for (const c of elements(conditions)) {
    if (c.ns !== CP) {
      if (!isOther(c, CP)) return `${tag(c)} (no namespace) is not allowed in <conditions>`;
      continue;
    }
    let d: string | undefined;
    switch (c.local) {
      case 'identity':
        d = checkIdentity(c);
        break;
      case 'sphere':
        d = checkAttrs(c, ['value'], ['value']) ?? checkEmpty(c);
        break;
      case 'validity': {
        d = checkAttrs(c, []) ?? checkNoText(c);
        if (d !== undefined) break;
        const parts = elements(c);
        if (parts.length === 0 || parts.length % 2 !== 0) {
          d = '<validity> must hold <from>/<until> pairs';
          break;
        }
        parts.forEach((p, i) => {
          const want = i % 2 === 0 ? 'from' : 'until';
          if (d !== undefined) return;
          if (p.ns !== CP || p.local !== want) d = `<validity> must hold <from>/<until> pairs, found ${tag(p)}`;
          else d = simpleValue(p, isDateTime, 'an xs:dateTime');
        });
        break;
      }
      default:
        d = `unknown common-policy element ${tag(c)} in <conditions>`;
    }
    if (d !== undefined) return d;
  }
  return undefined;
}

function checkActions(actions: XmlElement): string | undefined {
  const a = checkAttrs(actions, []) ?? checkNoText(actions);
  if (a !== undefined) return a;
  for (const c of elements(actions)) {
    if (!isOther(c, CP)) return `${tag(c)} is not allowed in <actions> (extension elements only)`;
    if (c.ns !== PR) continue;
    if (c.local !== 'sub-handling') return `${tag(c)} does not belong in <actions>`;
    const d = simpleValue(c, (v) => v === 'block' || v === 'confirm' || v === 'polite-block' || v === 'allow', 'block, confirm, polite-block or allow');
    if (d !== undefined) return d;
  }
  return undefined;
}

function checkTransformations(transformations: XmlElement): string | undefined {
  const a = checkAttrs(transformations, []) ?? checkNoText(transformations);
  if (a !== undefined) return a;
  for (const c of elements(transformations)) {
    if (!isOther(c, CP)) return `${tag(c)} is not allowed in <transformations> (extension elements only)`;
    if (c.ns !== PR) continue;
    const d = checkTransformation(c);
    if (d !== undefined) return d;
  }
  return undefined;
}

function checkRule(rule: XmlElement): string | undefined {
  const a = checkAttrs(rule, ['id'], ['id']) ?? checkNoText(rule);
  if (a !== undefined) return a;
  const id = collapse(attrOf(rule, 'id') ?? '');
  if (!isNCName(id)) return `rule id ${JSON.stringify(id)} is not an xs:ID (an NCName)`;
  const order = ['conditions', 'actions', 'transformations'];
  let at = 0;
  for (const c of elements(rule)) {
    const k = c.ns === CP ? order.indexOf(c.local) : -1;
    if (k < 0) return `${tag(c)} is not allowed in <rule> (only <conditions>, <actions>, <transformations>)`;
    if (k < at) return `<rule id=${JSON.stringify(id)}>: ${tag(c)} is out of order or repeated (conditions, actions, transformations)`;
    at = k + 1;
    const d = k === 0 ? checkConditions(c) : k === 1 ? checkActions(c) : checkTransformations(c);
    if (d !== undefined) return `<rule id=${JSON.stringify(id)}>: ${d}`;
  }
  return undefined;
}

/** Validates a presence authorization document (RFC 5025, RFC 4745). */
export function validatePresRules(doc: XmlElement): XcapResult<void> {
  if (doc.ns !== CP || doc.local !== 'ruleset') {
    return schemaError(`the root element must be <ruleset> in ${CP}, found {${doc.ns}}${doc.local}`);
  }
  const a = checkAttrs(doc, []) ?? checkNoText(doc);
  if (a !== undefined) return schemaError(a);
  const rules: XmlElement[] = [];
  for (const c of elements(doc)) {
    if (c.ns !== CP || c.local !== 'rule') return schemaError(`${tag(c)} is not allowed in <ruleset> (only <rule>)`);
    const d = checkRule(c);
    if (d !== undefined) return schemaError(d);
    rules.push(c);
  }
  const ids = new Set(rules.map((r) => collapse(attrOf(r, 'id') ?? '')));
  const seen = new Set<string>();
  for (const r of rules) {
    const id = collapse(attrOf(r, 'id') ?? '');
    if (seen.has(id)) {
      return uniquenessError(`rule id ${JSON.stringify(id)} is used more than once`, [
        { field: fieldUri([doc, r], PR, 'id'), value: id, altValues: alternatives(id, (v) => ids.has(v)) },
      ]);
    }
    seen.add(id);
  }
  return VALID;
}

export const presRulesUsage: AppUsage = {
  auid: PRES_RULES_AUID,
  mimeType: AUTH_POLICY_MIME,
  defaultNamespace: PRES_RULES_NS,
  namespaces: [PRES_RULES_NS, COMMON_POLICY_NS],
  usersOnly: true,
  documentName: 'index',
  validate: (doc) => validatePresRules(doc),
};

export const omaPresRulesUsage: AppUsage = {
  auid: OMA_PRES_RULES_AUID,
  mimeType: AUTH_POLICY_MIME,
  defaultNamespace: PRES_RULES_NS,
  namespaces: [PRES_RULES_NS, COMMON_POLICY_NS, OMA_COMMON_POLICY_NS, OMA_PRES_RULES_NS],
  usersOnly: true,
  documentName: 'pres-rules',
  validate: (doc) => validatePresRules(doc),
};
