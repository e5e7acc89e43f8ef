/**
 * Small read-only helpers over {@link XmlElement} trees: namespace-aware
 * child lookup, text content, attribute access, equality and a canonical key
 * (Namespaces in XML 1.0: names are compared as {namespace URI, local name}
 * pairs; prefixes are irrelevant).
 */
import type { XmlAttribute, XmlElement, XmlNode } from './xml-node.js';
import { serializeXml } from './xml-serializer.js';

/**
 * The element children of `el`, optionally only those in namespace `ns` and,
 * further, with local name `local` (matched by namespace URI, never by
 * prefix: Namespaces in XML 1.0 §6).
 */
export function childElements(el: XmlElement, ns?: string, local?: string): XmlElement[] {
  const out: XmlElement[] = [];
  const children = el.children;
  for (let i = 0; i < children.length; i++) {
    const c = children[i]!;
    if (c.kind !== 'element') continue;
    if (ns !== undefined && c.ns !== ns) continue;
    if (local !== undefined && c.local !== local) continue;
    out.push(c);
  }
  return out;
}

/** The first child element `{ns}local` of `el`, if any (Namespaces in XML 1.0 §6). */
export function firstChild(el: XmlElement, ns: string, local: string): XmlElement | undefined {
  const children = el.children;
  for (let i = 0; i < children.length; i++) {
    const c = children[i]!;
    if (c.kind === 'element' && c.ns === ns && c.local === local) return c;
  }
  return undefined;
}

function appendText(el: XmlElement, acc: string): string {
  const children = el.children;
  for (let i = 0; i < children.length; i++) {
    const c = children[i]!;
    acc = c.kind === 'text' ? acc + c.text : appendText(c, acc);
  }
  return acc;
}

/** The concatenated character data (XML 1.0 §2.4) of `el` and all its descendants, in document order. */
export function textContent(el: XmlElement): string {
  const children = el.children;
  // Fast path: the usual `<x>text</x>`.
  if (children.length === 1 && children[0]!.kind === 'text') return children[0]!.text;
  return appendText(el, '');
}

/**
 * The value of attribute `{ns}local` of `el`, if present (`ns` '' = unqualified
 * attribute, which the default namespace never applies to: Namespaces in XML 1.0 §6.2).
 */
export function attr(el: XmlElement, local: string, ns = ''): string | undefined {
  const attrs = el.attrs;
  for (let i = 0; i < attrs.length; i++) {
    const a = attrs[i]!;
    if (a.local === local && a.ns === ns) return a.value;
  }
  return undefined;
}

function attrsEqual(a: readonly XmlAttribute[], b: readonly XmlAttribute[]): boolean {
  if (a.length !== b.length) return false;
  outer: for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    // Same position first (the usual case), then any position: attribute order is not significant.
    const y = b[i]!;
    if (x.ns === y.ns && x.local === y.local) {
      if (x.value !== y.value) return false;
      continue;
    }
    for (let j = 0; j < b.length; j++) {
      const z = b[j]!;
      if (x.ns === z.ns && x.local === z.local) {
        if (x.value !== z.value) return false;
        continue outer;
      }
    }
    return false;
  }
  return true;
}

function nodeEquals(a: XmlNode, b: XmlNode): boolean {
  if (a.kind === 'text') return b.kind === 'text' && a.text === b.text;
  return b.kind === 'element' && elementEquals(a, b);
}

/**
 * Namespace-aware deep equality (Namespaces in XML 1.0 §6): same expanded
 * names, same attributes (by expanded name, in any order), same children in
 * the same order. Prefixes are ignored.
 */
export function elementEquals(a: XmlElement, b: XmlElement): boolean {
  if (a === b) return true;
  if (a.ns !== b.ns || a.local !== b.local) return false;
  if (!attrsEqual(a.attrs, b.attrs)) return false;
  const ac = a.children;
  const bc = b.children;
  if (ac.length !== bc.length) return false;
  for (let i = 0; i < ac.length; i++) {
    if (!nodeEquals(ac[i]!, bc[i]!)) return false;
  }
  return true;
}

function compareAttrs(x: XmlAttribute, y: XmlAttribute): number {
  if (x.ns !== y.ns) return x.ns < y.ns ? -1 : 1;
  if (x.local !== y.local) return x.local < y.local ? -1 : 1;
  return 0;
}

/** A copy without prefixes and with attributes sorted by expanded name. */
function canonicalForm(el: XmlElement): XmlElement {
  const attrs = el.attrs.map((a): XmlAttribute => ({ ns: a.ns, local: a.local, prefix: '', value: a.value }));
  attrs.sort(compareAttrs);
  const children = el.children.map((c): XmlNode => (c.kind === 'text' ? c : canonicalForm(c)));
  return { kind: 'element', ns: el.ns, local: el.local, prefix: '', attrs, children };
}

/**
 * A deterministic string for `el`, equal for two elements whenever
 * {@link elementEquals} holds (and only then for trees shaped like the output
 * of `parseXml`, i.e. without adjacent or empty text nodes): the serialisation of the element with source
 * prefixes discarded (so prefixes are generated `ns1`, `ns2`… in document
 * order) and attributes sorted by expanded name. Usable as a dedup key.
 */
export function canonicalKey(el: XmlElement): string {
  return serializeXml(canonicalForm(el));
}
