/**
 * Property tests of the XCAP document engine: PUT then GET gives back what was
 * PUT, a created node is removed again by DELETE of the same URI, and no
 * input — documents, selectors, bodies, content types — makes PUT or DELETE
 * throw or produce a document that does not survive serialisation.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { isErrorCode } from '../../../../core/errors.js';
import type { XmlAttribute, XmlElement, XmlNode } from '../../../../core/xml/xml-node.js';
import { parseXml, parseXmlFragment } from '../../../../core/xml/xml-parser.js';
import { elementEquals } from '../../../../core/xml/xml-query.js';
import { escapeAttr, serializeXml } from '../../../../core/xml/xml-serializer.js';
import { formatStep, parseNodeSelector, type NodeSelector } from '../../../../core/xcap/node-selector.js';
import { VALID, type AppUsage } from '../../../../core/xcap/usages/app-usage.js';
import {
  XCAP_ATT_MIME,
  XCAP_EL_MIME,
  deleteNode,
  getNode,
  parseAttributeValue,
  putNode,
  type XcapOperationContext,
} from '../../../../core/xcap/xcap-document.js';

const X = 'urn:x';
const QUERY = { x: X };
const USAGE: AppUsage = { auid: 'test-app', mimeType: 'application/test-app+xml', defaultNamespace: '', validate: () => VALID };
const CTX: XcapOperationContext = { usage: USAGE, namespaces: QUERY };

const NAMES = ['a', 'b', 'c'] as const;
const VALUES = ['1', '2', 'x y', '"q"', "it's", '&<'] as const;

interface Raw {
  ns: string;
  local: string;
  attrs: { local: string; value: string }[];
  children: (Raw | string)[];
}

const textArb = fc.constantFrom('t', 'hello', ' ', 'a&b', '<x>');
const { el: rawArb } = fc.letrec<{ el: Raw; node: Raw | string }>((tie) => ({
  node: fc.oneof({ depthSize: 'small', maxDepth: 4 }, textArb, tie('el')),
  el: fc.record({
    ns: fc.constantFrom('', X),
    local: fc.constantFrom(...NAMES),
    attrs: fc.uniqueArray(fc.record({ local: fc.constantFrom('id', 'k'), value: fc.constantFrom(...VALUES) }), { selector: (a) => a.local, maxLength: 2 }),
    children: fc.array(tie('node'), { maxLength: 4 }),
  }),
}));

function build(r: Raw): XmlElement {
  const attrs: XmlAttribute[] = r.attrs.map((a) => ({ ns: '', local: a.local, prefix: '', value: a.value }));
  const children: XmlNode[] = r.children.map((c) => (typeof c === 'string' ? { kind: 'text', text: c } : build(c)));
  return { kind: 'element', ns: r.ns, local: r.local, prefix: r.ns === '' ? '' : 'x', attrs, children };
}

/** A random tree in the canonical shape the parser produces. */
const docArb = rawArb.map((r) => {
  const p = parseXml(serializeXml(build(r)));
  if (!p.ok) throw new Error(`generator produced an unparsable tree: ${p.error.detail ?? ''}`);
  return p.value;
});

function elementChildren(el: XmlElement): XmlElement[] {
  return el.children.filter((c): c is XmlElement => c.kind === 'element');
}

const qn = (el: { ns: string; local: string }): string => (el.ns === '' ? el.local : `x:${el.local}`);
const lit = (v: string): string => `"${v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;')}"`;

/** Choices that turn a document into a selector text: a path through it, step forms, an extra insertion step, a terminal. */
const choicesArb = fc.record({
  walk: fc.array(fc.nat(5), { maxLength: 4 }),
  forms: fc.array(fc.constantFrom('name', 'any', 'pos', 'pos-wrong', 'attr', 'any-pos'), { minLength: 6, maxLength: 6 }),
  extra: fc.option(
    fc.record({
      ns: fc.constantFrom('', X),
      local: fc.constantFrom(...NAMES),
      any: fc.boolean(),
      pos: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
      attr: fc.option(fc.constantFrom(...VALUES), { nil: undefined }),
    }),
    { nil: undefined },
  ),
  terminal: fc.constantFrom('none', 'none', 'none', 'attr-id', 'attr-new', 'ns'),
});

type Choices = typeof choicesArb extends fc.Arbitrary<infer T> ? T : never;

function selectorText(doc: XmlElement, c: Choices): string {
  const steps: string[] = [];
  let el = doc;
  let parent: XmlElement | undefined;
  for (let k = 0; ; k++) {
    const form = c.forms[k % c.forms.length]!;
    const same = parent === undefined ? [el] : elementChildren(parent).filter((e) => e.ns === el.ns && e.local === el.local);
    const all = parent === undefined ? [el] : elementChildren(parent);
    const id = el.attrs.find((a) => a.local === 'id')?.value;
    switch (form) {
      case 'name':
        steps.push(qn(el));
        break;
      case 'any':
        steps.push('*');
        break;
      case 'pos':
        steps.push(`${qn(el)}[${same.indexOf(el) + 1}]`);
        break;
      case 'pos-wrong':
        steps.push(`${qn(el)}[${same.indexOf(el) + 2}]`);
        break;
      case 'attr':
        steps.push(`${qn(el)}[@id=${lit(id ?? 'none')}]`);
        break;
      case 'any-pos':
        steps.push(`*[${all.indexOf(el) + 1}]${id === undefined ? '' : `[@id=${lit(id)}]`}`);
        break;
    }
    const kids = elementChildren(el);
    const next = c.walk[k];
    if (next === undefined || kids.length === 0) break;
    parent = el;
    el = kids[next % kids.length]!;
  }
  if (c.extra !== undefined) {
    const e = c.extra;
    steps.push(`${e.any ? '*' : qn(e)}${e.pos === undefined ? '' : `[${e.pos}]`}${e.attr === undefined ? '' : `[@id=${lit(e.attr)}]`}`);
  }
  if (c.terminal === 'attr-id') steps.push('@id');
  else if (c.terminal === 'attr-new') steps.push('@new');
  else if (c.terminal === 'ns') steps.push('namespace::*');
  return steps.join('/');
}

function parseSel(text: string): NodeSelector {
  const r = parseNodeSelector(text, QUERY, '');
  if (!r.ok) throw new Error(`generated selector ${text} does not parse: ${r.error.detail ?? ''}`);
  return r.value;
}

/** A body that the last step would select: the step's name (or a random one for `*`) and its attribute test. */
const bodyFor = (sel: NodeSelector, r: Raw): string => {
  const last = sel.steps[sel.steps.length - 1]!;
  const el = build(r);
  const attrs = el.attrs.filter((a) => a.local !== 'id');
  if (last.attr !== undefined) attrs.push({ ns: '', local: last.attr.name.local, prefix: '', value: last.attr.value });
  const named: XmlElement =
    last.test.kind === 'name' ? { ...el, ns: last.test.ns, local: last.test.local, prefix: last.test.ns === '' ? '' : 'x', attrs } : { ...el, attrs };
  // Self-contained: an element in no namespace says so, instead of taking the default namespace in scope at the parent.
  const text = serializeXml(named);
  return named.ns === '' ? text.replace(/^<([^\s/>]+)/, '<$1 xmlns=""') : text;
};

function roundTrips(doc: XmlElement): boolean {
  const p = parseXml(serializeXml(doc));
  return p.ok && elementEquals(p.value, doc);
}

describe('XCAP engine properties', () => {
  it('GET after a successful element PUT returns the element that was PUT', () => {
    let successes = 0;
    fc.assert(
      fc.property(docArb, choicesArb, rawArb, (doc, choices, raw) => {
        const sel = parseSel(selectorText(doc, { ...choices, terminal: 'none' }));
        const body = bodyFor(sel, raw);
        const r = putNode(doc, sel, body, XCAP_EL_MIME, CTX);
        if (!r.ok) {
          expect(isErrorCode(r.error.code)).toBe(true);
          return;
        }
        successes++;
        expect(roundTrips(r.value.doc)).toBe(true);
        const got = getNode(r.value.doc, sel);
        if (!got.ok) throw new Error(`GET after PUT failed: ${got.error.code} ${got.error.detail ?? ''}`);
        const sent = parseXmlFragment(body, {});
        const back = parseXmlFragment(got.value.body, {});
        expect(sent.ok && back.ok && elementEquals(sent.value, back.value)).toBe(true);
      }),
      { numRuns: 1500 },
    );
    expect(successes).toBeGreaterThan(100);
  });

  it('DELETE of the URI of a created element gives the original document back', () => {
    let created = 0;
    fc.assert(
      fc.property(docArb, choicesArb, rawArb, (doc, choices, raw) => {
        const blank = (el: XmlElement): boolean => el.children.some((c) => (c.kind === 'text' ? /^\s*$/.test(c.text) : blank(c)));
        fc.pre(!blank(doc));
        const sel = parseSel(selectorText(doc, { ...choices, terminal: 'none' }));
        const r = putNode(doc, sel, bodyFor(sel, raw), XCAP_EL_MIME, CTX);
        if (!r.ok || !r.value.created) return;
        created++;
        const d = deleteNode(r.value.doc, sel, CTX);
        if (!d.ok) throw new Error(`DELETE after PUT failed: ${d.error.code} ${d.error.detail ?? ''}`);
        expect(elementEquals(d.value, doc)).toBe(true);
      }),
      { numRuns: 1500 },
    );
    expect(created).toBeGreaterThan(50);
  });

  it('GET after a successful attribute PUT returns the value that was PUT', () => {
    const valueArb = fc.string({ maxLength: 10, unit: fc.constantFrom('a', ' ', '\t', '\n', '&', '<', '>', '"', "'", 'é', '\u{1F600}') });
    let successes = 0;
    fc.assert(
      fc.property(docArb, choicesArb, valueArb, (doc, choices, v) => {
        const sel = parseSel(selectorText(doc, { ...choices, extra: undefined, terminal: 'attr-new' }));
        const body = escapeAttr(v);
        const r = putNode(doc, sel, body, XCAP_ATT_MIME, CTX);
        if (!r.ok) return;
        const got = getNode(r.value.doc, sel);
        if (!got.ok) throw new Error(`GET after PUT failed: ${got.error.code}`);
        successes++;
        expect(parseAttributeValue(got.value.body)).toBe(v);
        expect(roundTrips(r.value.doc)).toBe(true);
      }),
      { numRuns: 1000 },
    );
    expect(successes).toBeGreaterThan(100);
  });

  const bodyArb = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.constantFrom('<a/>', '<x:b/>', '<a id="1"/>', '<a>', '<a/><b/>', '', '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>', '<?xml version="1.0" encoding="latin1"?><a/>', 'v&amp;', '<a xmlns="urn:x"/>'),
    rawArb.map((r) => serializeXml(build(r))),
  );
  const typeArb = fc.constantFrom(XCAP_EL_MIME, XCAP_ATT_MIME, 'application/test-app+xml', 'text/plain', undefined, '');
  const selTextArb = fc.oneof(
    fc.string({ maxLength: 25 }),
    fc.constantFrom('a', '*', 'a/b', '*/*[1]', 'a/@id', 'x:a/x:b[2][@id="1"]', '*/namespace::*', 'a/b[0]', 'y:a'),
  );

  it('PUT and DELETE never throw and never produce a document that does not survive serialisation', () => {
    fc.assert(
      fc.property(fc.option(docArb, { nil: undefined }), choicesArb, selTextArb, fc.boolean(), bodyArb, typeArb, (doc, choices, selText, derived, body, type) => {
        const text = derived && doc !== undefined ? selectorText(doc, choices) : selText;
        const parsed = parseNodeSelector(text, QUERY, '');
        const sel = parsed.ok ? parsed.value : undefined;
        const r = putNode(doc, sel, body, type, CTX);
        if (r.ok) expect(roundTrips(r.value.doc)).toBe(true);
        else expect(isErrorCode(r.error.code) && r.error.code !== 'internal').toBe(true);
        if (doc !== undefined && sel !== undefined) {
          const d = deleteNode(doc, sel, CTX);
          if (d.ok) expect(roundTrips(d.value)).toBe(true);
          else expect(isErrorCode(d.error.code) && d.error.code !== 'internal').toBe(true);
          const g = getNode(doc, sel);
          if (g.ok) expect(typeof g.value.body).toBe('string');
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('selectors generated from a document select what they describe', () => {
    fc.assert(
      fc.property(docArb, choicesArb, (doc, choices) => {
        const sel = parseSel(selectorText(doc, { ...choices, forms: ['pos', 'pos', 'pos', 'pos', 'pos', 'pos'], extra: undefined, terminal: 'none' }));
        const r = getNode(doc, sel);
        expect(r.ok).toBe(true);
        expect(sel.steps.map(formatStep).join('/')).not.toContain('*');
      }),
      { numRuns: 500 },
    );
  });
});
