/**
 * The `xcap-caps` application usage (RFC 4825 §12): the server's
 * capabilities, a single read-only global document (`xcap-caps/global/index`)
 * generated from the registry:
 *
 *     <xcap-caps xmlns="urn:ietf:params:xml:ns:xcap-caps">
 *       <auids><auid>xcap-caps</auid><auid>resource-lists</auid>…</auids>
 *       <extensions/>
 *       <namespaces><namespace>urn:ietf:params:xml:ns:xcap-caps</namespace>…</namespaces>
 *     </xcap-caps>
 *
 * AUID `xcap-caps`, MIME `application/xcap-caps+xml`, namespace
 * `urn:ietf:params:xml:ns:xcap-caps`, global tree only.
 *
 * This module also holds the set of built-in usages and the default registry
 * (the capabilities document is where they are listed; keeping them here
 * means `app-usage.ts` imports no usage, so no import cycle exists).
 */
import type { XmlElement, XmlNode } from '../../xml/xml-node.js';
import type { XcapResult } from '../xcap-document.js';
import {
  VALID,
  checkAttrs,
  checkNoText,
  checkSimple,
  createAppUsageRegistry,
  elements,
  isOther,
  schemaError,
  tag,
  type AppUsage,
  type AppUsageRegistry,
} from './app-usage.js';
import { pidfManipulationUsage } from './pidf-manipulation.js';
import { omaPresRulesUsage, presRulesUsage } from './pres-rules.js';
import { resourceListsUsage } from './resource-lists.js';
import { rlsServicesUsage } from './rls-services.js';
import { xcapDirectoryUsage } from './xcap-directory.js';

export const XCAP_CAPS_NS = 'urn:ietf:params:xml:ns:xcap-caps';
export const XCAP_CAPS_MIME = 'application/xcap-caps+xml';
export const XCAP_CAPS_AUID = 'xcap-caps';

function el(local: string, children: XmlNode[]): XmlElement {
  return { kind: 'element', ns: XCAP_CAPS_NS, local, prefix: '', attrs: [], children };
}

function list(container: string, item: string, values: readonly string[]): XmlElement {
  return el(
    container,
    values.map((v) => el(item, v === '' ? [] : [{ kind: 'text', text: v }])),
  );
}

/**
 * Generates the xcap-caps document (RFC 4825 §12.2) for the usages of
 * `registry`: every AUID, the given extensions, and every namespace the
 * usages understand (default namespaces first, without duplicates).
 */
export function renderXcapCaps(registry: AppUsageRegistry, extensions: readonly string[] = []): XmlElement {
  const usages = registry.all();
  const namespaces: string[] = [];
  const add = (ns: string): void => {
    if (ns !== '' && !namespaces.includes(ns)) namespaces.push(ns);
  };
  for (const u of usages) add(u.defaultNamespace);
  for (const u of usages) for (const ns of u.namespaces ?? []) add(ns);
  return el('xcap-caps', [
    list('auids', 'auid', usages.map((u) => u.auid)),
    list('extensions', 'extension', extensions),
    list('namespaces', 'namespace', namespaces),
  ]);
}

/** Validates an xcap-caps document (RFC 4825 §12.2 schema). */
export function validateXcapCaps(doc: XmlElement): XcapResult<void> {
  if (doc.ns !== XCAP_CAPS_NS || doc.local !== 'xcap-caps') return schemaError(`the root element must be <xcap-caps> in ${XCAP_CAPS_NS}`);
  const a = checkAttrs(doc, []) ?? checkNoText(doc);
  if (a !== undefined) return schemaError(a);
  const order: Array<[string, string, boolean]> = [
    ['auids', 'auid', true],
    ['extensions', 'extension', false],
    ['namespaces', 'namespace', true],
  ];
  const children = elements(doc);
  let k = 0;
  for (const [container, item, required] of order) {
    const c = children[k];
    if (c !== undefined && c.ns === XCAP_CAPS_NS && c.local === container) {
      k++;
      const d = checkAttrs(c, []) ?? checkNoText(c);
      if (d !== undefined) return schemaError(d);
      for (const i of elements(c)) {
        if (i.ns !== XCAP_CAPS_NS || i.local !== item) return schemaError(`${tag(i)} is not allowed in <${container}>`);
        const e = checkAttrs(i, []) ?? checkSimple(i);
        if (e !== undefined) return schemaError(e);
      }
    } else if (required) {
      return schemaError(`<xcap-caps> requires <${container}> here`);
    }
  }
  for (const c of children.slice(k)) if (!isOther(c, XCAP_CAPS_NS)) return schemaError(`${tag(c)} is not allowed in <xcap-caps>`);
  return VALID;
}

export const xcapCapsUsage: AppUsage = {
  auid: XCAP_CAPS_AUID,
  mimeType: XCAP_CAPS_MIME,
  defaultNamespace: XCAP_CAPS_NS,
  namespaces: [XCAP_CAPS_NS],
  globalOnly: true,
  readOnly: true,
  documentName: 'index',
  validate: (doc) => validateXcapCaps(doc),
};

/**
 * The built-in usages: xcap-caps, resource-lists, rls-services, pres-rules
 * and its OMA alias, pidf-manipulation, OMA xcap-directory. A function, so
 * that module evaluation order never matters.
 */
export function builtinAppUsages(): AppUsage[] {
  return [xcapCapsUsage, resourceListsUsage, rlsServicesUsage, presRulesUsage, omaPresRulesUsage, pidfManipulationUsage, xcapDirectoryUsage];
}

/** A registry of the built-in usages. */
export function defaultAppUsageRegistry(): AppUsageRegistry {
  return createAppUsageRegistry(builtinAppUsages());
}
