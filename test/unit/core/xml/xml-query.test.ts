import { describe, it, expect } from 'vitest';
import { XML_NS, type XmlElement } from '../../../../core/xml/xml-node.js';
import { parseXml } from '../../../../core/xml/xml-parser.js';
import {
  attr,
  canonicalKey,
  childElements,
  elementEquals,
  firstChild,
  textContent,
} from '../../../../core/xml/xml-query.js';

function parse(text: string): XmlElement {
  const r = parseXml(text);
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.detail ?? ''}`);
  return r.value;
}

const DOC = parse(
  '<r xmlns="urn:a" xmlns:b="urn:b" id="root" b:id="nsid">' +
    '<x>one</x><b:x>two</b:x><y>three<z>four</z>five</y><x xml:lang="fr">six</x>' +
    '</r>',
);

describe('childElements / firstChild', () => {
  it('lists element children, optionally filtered by namespace and local name', () => {
    expect(childElements(DOC).map((c) => `${c.ns}|${c.local}`)).toEqual(['urn:a|x', 'urn:b|x', 'urn:a|y', 'urn:a|x']);
    expect(childElements(DOC, 'urn:a').length).toBe(3);
    expect(childElements(DOC, 'urn:a', 'x').map(textContent)).toEqual(['one', 'six']);
    expect(childElements(DOC, 'urn:b', 'x').map(textContent)).toEqual(['two']);
    expect(childElements(DOC, 'urn:c')).toEqual([]);
  });

  it('finds the first matching child by expanded name', () => {
    expect(textContent(firstChild(DOC, 'urn:b', 'x')!)).toBe('two');
    expect(textContent(firstChild(DOC, 'urn:a', 'x')!)).toBe('one');
    expect(firstChild(DOC, '', 'x')).toBeUndefined();
  });
});

describe('textContent / attr', () => {
  it('concatenates descendant text in document order', () => {
    expect(textContent(firstChild(DOC, 'urn:a', 'y')!)).toBe('threefourfive');
    expect(textContent(DOC)).toBe('onetwothreefourfivesix');
    expect(textContent(parse('<e/>'))).toBe('');
  });

  it('reads attributes by expanded name', () => {
    expect(attr(DOC, 'id')).toBe('root');
    expect(attr(DOC, 'id', 'urn:b')).toBe('nsid');
    expect(attr(DOC, 'id', 'urn:a')).toBeUndefined();
    expect(attr(childElements(DOC)[3]!, 'lang', XML_NS)).toBe('fr');
    expect(attr(DOC, 'missing')).toBeUndefined();
  });
});

describe('elementEquals / canonicalKey', () => {
  const a = parse('<p:e xmlns:p="urn:p" xmlns:q="urn:q" k="1" q:m="2"><p:c>t</p:c></p:e>');
  const samePrefixesDiffer = parse('<e xmlns="urn:p" xmlns:z="urn:q" z:m="2" k="1"><c>t</c></e>');

  it('ignores prefixes and attribute order', () => {
    expect(elementEquals(a, samePrefixesDiffer)).toBe(true);
    expect(canonicalKey(a)).toBe(canonicalKey(samePrefixesDiffer));
  });

  const different: Record<string, string> = {
    namespace: '<p:e xmlns:p="urn:OTHER" xmlns:q="urn:q" k="1" q:m="2"><p:c>t</p:c></p:e>',
    'local name': '<p:f xmlns:p="urn:p" xmlns:q="urn:q" k="1" q:m="2"><p:c>t</p:c></p:e>'.replace('</p:e>', '</p:f>'),
    'attribute value': '<p:e xmlns:p="urn:p" xmlns:q="urn:q" k="9" q:m="2"><p:c>t</p:c></p:e>',
    'attribute namespace': '<p:e xmlns:p="urn:p" xmlns:q="urn:q" k="1" m="2"><p:c>t</p:c></p:e>',
    'missing attribute': '<p:e xmlns:p="urn:p" xmlns:q="urn:q" k="1"><p:c>t</p:c></p:e>',
    'extra attribute': '<p:e xmlns:p="urn:p" xmlns:q="urn:q" k="1" q:m="2" n="3"><p:c>t</p:c></p:e>',
    text: '<p:e xmlns:p="urn:p" xmlns:q="urn:q" k="1" q:m="2"><p:c>T</p:c></p:e>',
    'child namespace': '<p:e xmlns:p="urn:p" xmlns:q="urn:q" k="1" q:m="2"><q:c>t</q:c></p:e>',
    'extra child': '<p:e xmlns:p="urn:p" xmlns:q="urn:q" k="1" q:m="2"><p:c>t</p:c><p:d/></p:e>',
    'no children': '<p:e xmlns:p="urn:p" xmlns:q="urn:q" k="1" q:m="2"/>',
  };
  for (const [what, text] of Object.entries(different)) {
    it(`tells elements apart by ${what}`, () => {
      const b = parse(text);
      expect(elementEquals(a, b)).toBe(false);
      expect(elementEquals(b, a)).toBe(false);
      expect(canonicalKey(a)).not.toBe(canonicalKey(b));
    });
  }

  it('produces a prefix-independent serialisation', () => {
    expect(canonicalKey(a)).toBe('<e xmlns="urn:p" xmlns:ns1="urn:q" k="1" ns1:m="2"><c>t</c></e>');
  });

  it('distinguishes text from child elements in the key', () => {
    expect(canonicalKey(parse('<e>&lt;c/&gt;</e>'))).not.toBe(canonicalKey(parse('<e><c/></e>')));
  });
});
