/**
 * The `resource-lists` application usage (RFC 4826 §3.4): buddy lists.
 *
 * AUID `resource-lists`, MIME `application/resource-lists+xml`, default
 * namespace `urn:ietf:params:xml:ns:resource-lists`, documents in the users
 * tree (conventionally `index`).
 *
 * Schema (RFC 4826 §3.3): `<resource-lists>` holds `<list>` elements only;
 * `listType` = `<display-name>`? then any number of `<list>`, `<external>`,
 * `<entry>`, `<entry-ref>`, then `##other` elements (accepted anywhere after
 * a leading display-name here); `<entry uri>` and `<entry-ref ref>` are
 * required; `<display-name>` is text with an optional `xml:lang`.
 *
 * Constraints (RFC 4826 §3.4.7), checked after every modification:
 * - `name` of a `<list>` unique among the `<list>` siblings;
 * - `uri` of an `<entry>` unique among the `<entry>` siblings;
 * - `ref` of an `<entry-ref>` unique among its siblings, and a URI relative
 *   to the XCAP root that selects an `<entry>` of a resource-lists document;
 * - `anchor` of an `<external>` unique among its siblings, and an absolute
 *   HTTP(S) URI that selects a `<list>` of a resource-lists document.
 * Uniqueness violations are `xcap-uniqueness-failure` (alternatives are
 * suggested for list names; an entry URI names a real resource, so none is
 * invented), format violations `xcap-constraint-failure`. URIs are compared
 * as strings after XSD white-space collapsing.
 */
import type { XmlElement } from '../../xml/xml-node.js';
import { parseNodeSelector } from '../node-selector.js';
import type { XcapResult } from '../xcap-document.js';
import { parseXcapUri } from '../xcap-uri.js';
import {
  VALID,
  alternatives,
  attrOf,
  checkAttrs,
  checkNoText,
  checkSimple,
  collapse,
  constraintError,
  elements,
  fieldUri,
  isOther,
  isUriLike,
  schemaError,
  tag,
  uniquenessError,
  type AppUsage,
} from './app-usage.js';

export const RESOURCE_LISTS_NS = 'urn:ietf:params:xml:ns:resource-lists';
export const RESOURCE_LISTS_MIME = 'application/resource-lists+xml';
export const RESOURCE_LISTS_AUID = 'resource-lists';

/** `<display-name>`: text with an optional `xml:lang` (display-nameType). */
function checkDisplayName(el: XmlElement): string | undefined {
  return checkAttrs(el, []) ?? checkSimple(el);
}

/** Content of `<entry>`, `<entry-ref>`, `<external>`: `<display-name>`? then `##other`*. */
function checkItemContent(item: XmlElement): string | undefined {
  const t = checkNoText(item);
  if (t !== undefined) return t;
  let seenOther = false;
  let names = 0;
  for (const c of elements(item)) {
    if (c.ns === RESOURCE_LISTS_NS && c.local === 'display-name') {
      if (seenOther || ++names > 1) return `${tag(item)} allows one <display-name>, before any extension element`;
      const d = checkDisplayName(c);
      if (d !== undefined) return d;
    } else if (isOther(c, RESOURCE_LISTS_NS)) {
      seenOther = true;
    } else {
      return `${tag(c)} is not allowed in ${tag(item)}`;
    }
  }
  return undefined;
}

/**
 * Checks that `uri` is an absolute HTTP(S) URI of an XCAP element that is a
 * `<list>` in a resource-lists document (RFC 4826 §3.4.7 for `<external
 * anchor>`, §4.4.7 for rls-services `<resource-list>`). Returns a phrase on
 * failure.
 */
export function checkListUri(uri: string): string | undefined {
  const m = /^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?(?:\?([^#\s]*))?$/i.exec(uri);
  if (m === null) return `${JSON.stringify(uri)} is not an absolute HTTP URI`;
  const segments = (m[1] ?? '').split('/');
  const i = segments.findIndex((s, k) => s === RESOURCE_LISTS_AUID && (segments[k + 1] === 'users' || segments[k + 1] === 'global'));
  if (i < 0) return `${JSON.stringify(uri)} does not point into a resource-lists document`;
  const parsed = parseXcapUri(segments.slice(i).join('/'), m[2]);
  if (!parsed.ok || parsed.value.nodeSelector === undefined) return `${JSON.stringify(uri)} is not the URI of an element of a resource-lists document`;
  const sel = parseNodeSelector(parsed.value.nodeSelector, parsed.value.namespaces, RESOURCE_LISTS_NS);
  const last = sel.ok ? sel.value.steps[sel.value.steps.length - 1] : undefined;
  if (!sel.ok || sel.value.terminal !== undefined || last?.test.kind !== 'name' || last.test.ns !== RESOURCE_LISTS_NS || last.test.local !== 'list') {
    return `${JSON.stringify(uri)} does not select a <list> element`;
  }
  return undefined;
}

/**
 * Checks that `ref` is a URI relative to the XCAP root selecting an
 * `<entry>` of a resource-lists document (RFC 4826 §3.4.7, `<entry-ref>`).
 */
export function checkEntryRefUri(ref: string): string | undefined {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(ref) || ref.startsWith('/')) {
    return `${JSON.stringify(ref)} must be relative to the XCAP root (no scheme, no leading "/")`;
  }
  const q = ref.indexOf('?');
  const parsed = parseXcapUri(q < 0 ? ref : ref.slice(0, q), q < 0 ? undefined : ref.slice(q + 1));
  if (!parsed.ok || parsed.value.auid !== RESOURCE_LISTS_AUID || parsed.value.nodeSelector === undefined) {
    return `${JSON.stringify(ref)} is not the URI of an element of a resource-lists document`;
  }
  const sel = parseNodeSelector(parsed.value.nodeSelector, parsed.value.namespaces, RESOURCE_LISTS_NS);
  const last = sel.ok ? sel.value.steps[sel.value.steps.length - 1] : undefined;
  if (!sel.ok || sel.value.terminal !== undefined || last?.test.kind !== 'name' || last.test.ns !== RESOURCE_LISTS_NS || last.test.local !== 'entry') {
    return `${JSON.stringify(ref)} does not select an <entry> element`;
  }
  return undefined;
}

/** Sibling uniqueness of one attribute (RFC 4826 §3.4.7). */
function checkUnique(
  items: readonly XmlElement[],
  attrName: string,
  chain: readonly XmlElement[],
  defaultNs: string,
  suggest: boolean,
): XcapResult<void> {
  const all = new Set<string>();
  for (const it of items) {
    const v = attrOf(it, attrName);
    if (v !== undefined) all.add(collapse(v));
  }
  const seen = new Set<string>();
  for (const it of items) {
    const raw = attrOf(it, attrName);
    if (raw === undefined) continue;
    const v = collapse(raw);
    if (seen.has(v)) {
      return uniquenessError(`${attrName}=${JSON.stringify(v)} is used by more than one ${tag(it)} in the same list`, [
        { field: fieldUri([...chain, it], defaultNs, attrName), value: v, altValues: suggest ? alternatives(v, (x) => all.has(x)) : [] },
      ]);
    }
    seen.add(v);
  }
  return VALID;
}

/**
 * Validates a list (RFC 4826 `listType`: `<resource-lists>`' `<list>`s and
 * rls-services' `<list>`), recursively. `chain` runs from the root element to
 * `list` (for `<exists field>`); `defaultNs` is the usage's default namespace.
 * Elements in `forbiddenNs` are refused although the schema's `##other`
 * wildcard would take them: rls-services passes its own namespace, so that
 * an `<entry>` written without the resource-lists prefix (a common client
 * mistake, silently ignored by the RLS otherwise) is reported.
 */
export function validateListType(list: XmlElement, chain: readonly XmlElement[], defaultNs: string, forbiddenNs?: string): XcapResult<void> {
  const a = checkAttrs(list, ['name']) ?? checkNoText(list);
  if (a !== undefined) return schemaError(a);
  let seenItem = false;
  let names = 0;
  const lists: XmlElement[] = [];
  const entries: XmlElement[] = [];
  const refs: XmlElement[] = [];
  const externals: XmlElement[] = [];
  for (const c of elements(list)) {
    if (c.ns !== RESOURCE_LISTS_NS) {
      if (!isOther(c, RESOURCE_LISTS_NS)) return schemaError(`${tag(c)} (no namespace) is not allowed in ${tag(list)}`);
      if (c.ns === forbiddenNs) return schemaError(`${tag(c)} in ${forbiddenNs} is not allowed in ${tag(list)}: list members are in ${RESOURCE_LISTS_NS}`);
      continue;
    }
    let d: string | undefined;
    switch (c.local) {
      case 'display-name':
        if (seenItem || ++names > 1) return schemaError(`${tag(list)} allows one <display-name>, before its entries`);
        d = checkDisplayName(c);
        break;
      case 'list': {
        seenItem = true;
        lists.push(c);
        const r = validateListType(c, [...chain, c], defaultNs, forbiddenNs);
        if (!r.ok) return r;
        break;
      }
      case 'entry': {
        seenItem = true;
        entries.push(c);
        d = checkAttrs(c, ['uri'], ['uri']) ?? checkItemContent(c);
        const uri = attrOf(c, 'uri');
        if (d === undefined && uri !== undefined && !isUriLike(collapse(uri))) d = `<entry> uri ${JSON.stringify(uri)} is not a URI`;
        break;
      }
      case 'entry-ref': {
        seenItem = true;
        refs.push(c);
        d = checkAttrs(c, ['ref'], ['ref']) ?? checkItemContent(c);
        if (d !== undefined) break;
        const bad = checkEntryRefUri(collapse(attrOf(c, 'ref') ?? ''));
        if (bad !== undefined) return constraintError(`<entry-ref>: ${bad}`);
        break;
      }
      case 'external': {
        seenItem = true;
        externals.push(c);
        d = checkAttrs(c, ['anchor']) ?? checkItemContent(c);
        if (d !== undefined) break;
        const anchor = attrOf(c, 'anchor');
        if (anchor !== undefined) {
          const bad = checkListUri(collapse(anchor));
          if (bad !== undefined) return constraintError(`<external>: ${bad}`);
        }
        break;
      }
      default:
        d = `unknown element ${tag(c)} in ${tag(list)}`;
    }
    if (d !== undefined) return schemaError(d);
  }
  for (const [items, attrName, suggest] of [
    [lists, 'name', true],
    [entries, 'uri', false],
    [refs, 'ref', false],
    [externals, 'anchor', false],
  ] as const) {
    const r = checkUnique(items, attrName, chain, defaultNs, suggest);
    if (!r.ok) return r;
  }
  return VALID;
}

/** Validates a resource-lists document (RFC 4826 §3.3, §3.4.7). */
export function validateResourceLists(doc: XmlElement): XcapResult<void> {
  if (doc.ns !== RESOURCE_LISTS_NS || doc.local !== 'resource-lists') {
    return schemaError(`the root element must be <resource-lists> in ${RESOURCE_LISTS_NS}, found {${doc.ns}}${doc.local}`);
  }
  const a = checkAttrs(doc, []) ?? checkNoText(doc);
  if (a !== undefined) return schemaError(a);
  const lists: XmlElement[] = [];
  for (const c of elements(doc)) {
    if (c.ns !== RESOURCE_LISTS_NS || c.local !== 'list') return schemaError(`${tag(c)} is not allowed in <resource-lists> (only <list>)`);
    lists.push(c);
    const r = validateListType(c, [doc, c], RESOURCE_LISTS_NS);
    if (!r.ok) return r;
  }
  return checkUnique(lists, 'name', [doc], RESOURCE_LISTS_NS, true);
}

export const resourceListsUsage: AppUsage = {
  auid: RESOURCE_LISTS_AUID,
  mimeType: RESOURCE_LISTS_MIME,
  defaultNamespace: RESOURCE_LISTS_NS,
  namespaces: [RESOURCE_LISTS_NS],
  usersOnly: true,
  documentName: 'index',
  validate: (doc) => validateResourceLists(doc),
};
