/**
 * The `rls-services` application usage (RFC 4826 §4.4): resource list
 * server services.
 *
 * AUID `rls-services`, MIME `application/rls-services+xml`, default namespace
 * `urn:ietf:params:xml:ns:rls-services`; documents in the users tree, plus the
 * server-composed `global/index` (RFC 4826 §4.4.8, read-only to clients).
 *
 * Schema (RFC 4826 §4.2): `<rls-services>` holds `<service uri>` elements;
 * a service holds exactly one of `<resource-list>` (an HTTP URI) or `<list>`
 * (the resource-lists `listType`, children in the resource-lists namespace),
 * then an optional `<packages>` with `<package>` names, then `##other`.
 *
 * Constraints (RFC 4826 §4.4.7):
 * - a service `uri` is unique within the document and across the server
 *   (`ValidationContext.serviceUriTaken` answers for other documents): an
 *   `xcap-uniqueness-failure` naming the field, with alternative URIs;
 * - `<resource-list>` is an absolute HTTP(S) URI selecting a `<list>` in a
 *   resource-lists document (`xcap-constraint-failure`);
 * - the `<list>` obeys the resource-lists constraints (RFC 4826 §3.4.7).
 */
import type { XmlElement } from '../../xml/xml-node.js';
import type { XcapResult } from '../xcap-document.js';
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
  ownText,
  schemaError,
  tag,
  uniquenessError,
  type AppUsage,
  type ValidationContext,
} from './app-usage.js';
import { checkListUri, validateListType } from './resource-lists.js';

export const RLS_SERVICES_NS = 'urn:ietf:params:xml:ns:rls-services';
export const RLS_SERVICES_MIME = 'application/rls-services+xml';
export const RLS_SERVICES_AUID = 'rls-services';
/** Repeated here (not imported) so that module evaluation order never matters. */
const RL_NS = 'urn:ietf:params:xml:ns:resource-lists';

function checkPackages(p: XmlElement): string | undefined {
  const a = checkAttrs(p, []) ?? checkNoText(p);
  if (a !== undefined) return a;
  for (const c of elements(p)) {
    if (c.ns === RLS_SERVICES_NS && c.local === 'package') {
      const d = checkAttrs(c, []) ?? checkSimple(c);
      if (d !== undefined) return d;
      if (collapse(ownText(c)) === '') return '<package> must name an event package';
    } else if (!isOther(c, RLS_SERVICES_NS)) {
      return `${tag(c)} is not allowed in <packages>`;
    }
  }
  return undefined;
}

function validateService(service: XmlElement, root: XmlElement): XcapResult<void> {
  const a = checkAttrs(service, ['uri'], ['uri']) ?? checkNoText(service);
  if (a !== undefined) return schemaError(a);
  const uri = collapse(attrOf(service, 'uri') ?? '');
  if (!isUriLike(uri)) return schemaError(`<service> uri ${JSON.stringify(uri)} is not a URI`);
  const children = elements(service);
  const first = children[0];
  if (first === undefined || first.ns !== RLS_SERVICES_NS || (first.local !== 'list' && first.local !== 'resource-list')) {
    return schemaError(`<service uri=${JSON.stringify(uri)}> must start with exactly one <list> or <resource-list>`);
  }
  if (first.local === 'resource-list') {
    const d = checkAttrs(first, []) ?? checkSimple(first);
    if (d !== undefined) return schemaError(d);
    const bad = checkListUri(collapse(ownText(first)));
    if (bad !== undefined) return constraintError(`<resource-list>: ${bad}`);
  } else {
    const r = validateListType(first, [root, service, first], RLS_SERVICES_NS, RLS_SERVICES_NS);
    if (!r.ok) return r;
  }
  let packages = 0;
  let seenOther = false;
  for (const c of children.slice(1)) {
    if (c.ns === RLS_SERVICES_NS && c.local === 'packages') {
      if (seenOther || ++packages > 1) return schemaError('<service> allows one <packages>, after its list and before extensions');
      const d = checkPackages(c);
      if (d !== undefined) return schemaError(d);
    } else if (isOther(c, RLS_SERVICES_NS)) {
      seenOther = true;
    } else {
      return schemaError(`${tag(c)} is not allowed here in <service> (one <list> or <resource-list>, then <packages>)`);
    }
  }
  return VALID;
}

/** The service URIs of an rls-services document, in document order (for the server-wide index). */
export function serviceUris(doc: XmlElement): string[] {
  const out: string[] = [];
  if (doc.ns !== RLS_SERVICES_NS || doc.local !== 'rls-services') return out;
  for (const s of elements(doc)) {
    if (s.ns !== RLS_SERVICES_NS || s.local !== 'service') continue;
    const u = attrOf(s, 'uri');
    if (u !== undefined) out.push(collapse(u));
  }
  return out;
}

/** Validates an rls-services document (RFC 4826 §4.2, §4.4.7). */
export function validateRlsServices(doc: XmlElement, ctx: ValidationContext = {}): XcapResult<void> {
  if (doc.ns !== RLS_SERVICES_NS || doc.local !== 'rls-services') {
    return schemaError(`the root element must be <rls-services> in ${RLS_SERVICES_NS}, found {${doc.ns}}${doc.local}`);
  }
  const a = checkAttrs(doc, []) ?? checkNoText(doc);
  if (a !== undefined) return schemaError(a);
  const services: XmlElement[] = [];
  for (const c of elements(doc)) {
    if (c.ns !== RLS_SERVICES_NS || c.local !== 'service') return schemaError(`${tag(c)} is not allowed in <rls-services> (only <service>)`);
    services.push(c);
    const r = validateService(c, doc);
    if (!r.ok) return r;
  }
  const all = new Set(serviceUris(doc));
  const taken = (v: string): boolean => all.has(v) || (ctx.serviceUriTaken?.(v) ?? false);
  const seen = new Set<string>();
  for (const s of services) {
    const uri = collapse(attrOf(s, 'uri') ?? '');
    const dup = seen.has(uri);
    if (dup || (ctx.serviceUriTaken?.(uri) ?? false)) {
      return uniquenessError(
        dup ? `service URI ${JSON.stringify(uri)} is used twice in the document` : `service URI ${JSON.stringify(uri)} is already used by another document`,
        [{ field: fieldUri([doc, s], RLS_SERVICES_NS, 'uri'), value: uri, altValues: alternatives(uri, taken) }],
      );
    }
    seen.add(uri);
  }
  return VALID;
}

export const rlsServicesUsage: AppUsage = {
  auid: RLS_SERVICES_AUID,
  mimeType: RLS_SERVICES_MIME,
  defaultNamespace: RLS_SERVICES_NS,
  namespaces: [RLS_SERVICES_NS, RL_NS],
  documentName: 'index',
  validate: (doc, ctx) => validateRlsServices(doc, ctx),
};
