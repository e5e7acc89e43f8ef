import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { XML_NS, type XmlAttribute, type XmlElement, type XmlNode } from '../../core/xml/xml-node.js';
import { parseXml } from '../../core/xml/xml-parser.js';
import { canonicalKey, elementEquals } from '../../core/xml/xml-query.js';
import { serializeXml, type SerializeOptions } from '../../core/xml/xml-serializer.js';

const NAMESPACES = [
  '',
  'urn:a',
  'urn:b',
  'urn:ietf:params:xml:ns:pidf',
  'urn:ietf:params:xml:ns:pidf:rpid',
  'http://example.com/ns?x=1&y="2"<',
];
const nsArb = fc.constantFrom(...NAMESPACES);
const prefixArb = fc.constantFrom('', 'a', 'b', 'p', 'ns1', 'ns2', 'dm', 'x', '\u00e9t\u00e9');
const localArb = fc.oneof(
  fc.constantFrom('tuple', 'note', 'status', 'a', 'x-y', 'z.1', '_u', '\u00e9l\u00e9ment'),
  fc.stringMatching(/^[A-Za-z_][A-Za-z0-9._-]{0,6}$/),
);

/** XML 1.0 §2.2 production Char. */
function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || cp >= 0x10000;
}
const charArb = fc.oneof(
  fc.constantFrom('&', '<', '>', '"', "'", '\r', '\n', '\t', ' ', '\r\n', ']]>', '&amp;', '\u00e9', '\u20ac', '\u{1F600}', '\uFFFD'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((s) => isXmlChar(s.codePointAt(0)!)),
);
const textArb = fc.string({ unit: charArb, maxLength: 12 });

const attrArb: fc.Arbitrary<XmlAttribute> = fc.oneof(
  fc.record({ ns: fc.constant(''), local: localArb, prefix: fc.constant(''), value: textArb }),
  fc.record({ ns: fc.constant(XML_NS), local: fc.constantFrom('lang', 'space', 'id'), prefix: fc.constant('xml'), value: textArb }),
  fc.record({ ns: nsArb.filter((n) => n !== ''), local: localArb, prefix: prefixArb, value: textArb }),
);

interface RawElement {
  ns: string;
  local: string;
  prefix: string;
  attrs: XmlAttribute[];
  children: (RawElement | string)[];
}

const { element: rawElementArb } = fc.letrec<{ element: RawElement; node: RawElement | string }>((tie) => ({
  node: fc.oneof({ depthSize: 'small', maxDepth: 5 }, textArb, tie('element')),
  element: fc.record({
    ns: nsArb,
    local: localArb,
    prefix: prefixArb,
    attrs: fc.uniqueArray(attrArb, { selector: (a) => `${a.ns} ${a.local}`, maxLength: 4 }),
    children: fc.array(tie('node'), { maxLength: 4 }),
  }),
}));

function isBlank(s: string): boolean {
  return /^[ \t\r\n]*$/.test(s);
}

/**
 * The tree as `parseXml` would produce it: adjacent text merged, empty text
 * dropped, white-space-only text dropped beside child elements; no-namespace
 * elements carry no prefix.
 */
function normalize(raw: RawElement): XmlElement {
  const merged: (XmlElement | string)[] = [];
  for (const c of raw.children) {
    if (typeof c === 'string') {
      const last = merged[merged.length - 1];
      if (typeof last === 'string') merged[merged.length - 1] = last + c;
      else merged.push(c);
    } else {
      merged.push(normalize(c));
    }
  }
  const hasElement = merged.some((c) => typeof c !== 'string');
  const children: XmlNode[] = [];
  for (const c of merged) {
    if (typeof c !== 'string') children.push(c);
    else if (c !== '' && !(hasElement && isBlank(c))) children.push({ kind: 'text', text: c });
  }
  // Line ends inside text are normalised by any parser unless written as references; the
  // serialiser writes CR as &#13;, so CR survives. Nothing else to adjust.
  return { kind: 'element', ns: raw.ns, local: raw.local, prefix: raw.ns === '' ? '' : raw.prefix, attrs: raw.attrs, children };
}

const elementArb = rawElementArb.map(normalize);

const optionsArb: fc.Arbitrary<SerializeOptions> = fc.record(
  {
    declaration: fc.boolean(),
    prefixes: fc.dictionary(nsArb.filter((n) => n !== ''), fc.constantFrom('', 'a', 'b', 'dm', 'ns1', 'xml', 'bad prefix')),
  },
  { requiredKeys: [] },
);

/** Drops prefixes: the part of the model that a round trip must preserve. */
function stripPrefixes(el: XmlElement): unknown {
  return {
    ns: el.ns,
    local: el.local,
    attrs: el.attrs.map((a) => ({ ns: a.ns, local: a.local, value: a.value })),
    children: el.children.map((c) => (c.kind === 'text' ? c.text : stripPrefixes(c))),
  };
}

describe('XML round trip (property)', () => {
  it('parseXml(serializeXml(x)) equals x modulo prefixes', () => {
    fc.assert(
      fc.property(elementArb, optionsArb, (x, options) => {
        const text = serializeXml(x, options);
        const r = parseXml(text, { maxBytes: 1 << 22, maxTextBytes: 1 << 22 });
        if (!r.ok) throw new Error(`${r.error.code}: ${r.error.detail ?? ''} in ${text}`);
        expect(stripPrefixes(r.value)).toEqual(stripPrefixes(x));
        expect(elementEquals(r.value, x)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('serialisation is deterministic and stable after one round', () => {
    fc.assert(
      fc.property(elementArb, (x) => {
        const once = serializeXml(x);
        expect(serializeXml(x)).toBe(once);
        const r = parseXml(once, { maxBytes: 1 << 22, maxTextBytes: 1 << 22 });
        expect(r.ok && serializeXml(r.value)).toBe(once);
      }),
      { numRuns: 300 },
    );
  });

  it('canonicalKey ignores prefixes and attribute order', () => {
    fc.assert(
      fc.property(elementArb, fc.array(prefixArb, { minLength: 1, maxLength: 5 }), (x, prefixes) => {
        let k = 0;
        const reprefix = (el: XmlElement): XmlElement => ({
          ...el,
          prefix: el.ns === '' ? '' : prefixes[k++ % prefixes.length]!,
          attrs: [...el.attrs].reverse().map((a) => (a.ns === '' || a.ns === XML_NS ? a : { ...a, prefix: prefixes[k++ % prefixes.length]! })),
          children: el.children.map((c) => (c.kind === 'text' ? c : reprefix(c))),
        });
        const y = reprefix(x);
        expect(elementEquals(x, y)).toBe(true);
        expect(canonicalKey(y)).toBe(canonicalKey(x));
      }),
      { numRuns: 300 },
    );
  });
});

describe('parseXml never throws (property)', () => {
  const codes = new Set(['malformed-body', 'body-too-large']);
  const check = (s: string): void => {
    const r = parseXml(s);
    expect(typeof r.ok).toBe('boolean');
    if (!r.ok) expect(codes.has(r.error.code)).toBe(true);
  };

  it('on arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), check), { numRuns: 500 });
  });

  it('on XML-like token soup', () => {
    const token = fc.oneof(
      fc.constantFrom(
        '<', '>', '/>', '</', '<a', '</a>', '<a>', '<p:a', 'xmlns="urn:x"', 'xmlns:p="urn:p"', ' x="1"', "='", '"',
        '&', '&amp;', '&#x41;', '&#0;', '&e;', '<![CDATA[', ']]>', '<!--', '-->', '<?xml version="1.0"?>', '<?pi x?>',
        '<!DOCTYPE a [', '<!ENTITY e "x">', ']>', ' ', '\n', '\r', '\u0000', '\uFFFE', '\uD800', '\u{1F600}', 'text',
      ),
      fc.string({ maxLength: 3 }),
    );
    fc.assert(fc.property(fc.array(token, { maxLength: 40 }).map((t) => t.join('')), check), { numRuns: 1000 });
  });

  it('on mutations of a valid document', () => {
    const valid = serializeXml({
      kind: 'element', ns: 'urn:a', local: 'r', prefix: '',
      attrs: [{ ns: XML_NS, local: 'lang', prefix: 'xml', value: 'en' }],
      children: [{ kind: 'element', ns: 'urn:b', local: 'c', prefix: 'b', attrs: [], children: [{ kind: 'text', text: 'x & y' }] }],
    }, { declaration: true });
    fc.assert(
      fc.property(fc.nat(valid.length), fc.nat(valid.length), fc.string({ maxLength: 4 }), (at, len, insert) => {
        check(valid.slice(0, at) + insert + valid.slice(Math.min(valid.length, at + (len % 5))));
      }),
      { numRuns: 1000 },
    );
  });
});
