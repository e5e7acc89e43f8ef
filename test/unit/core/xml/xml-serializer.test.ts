import { describe, it, expect } from 'vitest';
import { XML_NS, type XmlAttribute, type XmlElement, type XmlNode } from '../../../../core/xml/xml-node.js';
import { parseXml } from '../../../../core/xml/xml-parser.js';
import { elementEquals } from '../../../../core/xml/xml-query.js';
import { escapeAttr, escapeText, serializeXml } from '../../../../core/xml/xml-serializer.js';

function el(ns: string, local: string, prefix = '', attrs: XmlAttribute[] = [], children: XmlNode[] = []): XmlElement {
  return { kind: 'element', ns, local, prefix, attrs, children };
}
function at(ns: string, local: string, value: string, prefix = ''): XmlAttribute {
  return { ns, local, prefix, value };
}
function text(t: string): XmlNode {
  return { kind: 'text', text: t };
}
function reparse(x: XmlElement, options?: Parameters<typeof serializeXml>[1]): XmlElement {
  const r = parseXml(serializeXml(x, options));
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.detail ?? ''}\n${serializeXml(x, options)}`);
  return r.value;
}

describe('escapeText / escapeAttr', () => {
  it('escapes markup characters in text', () => {
    expect(escapeText('a & b < c > d ]]> "q" \'s\'')).toBe('a &amp; b &lt; c &gt; d ]]&gt; "q" \'s\'');
    expect(escapeText('line\r\nend\ttab')).toBe('line&#13;\nend\ttab');
  });

  it('returns the same string when nothing needs escaping', () => {
    const s = 'plain text with \u20ac and \u{1F600}';
    expect(escapeText(s)).toBe(s);
    expect(escapeAttr(s)).toBe(s);
  });

  it('escapes quotes and white-space controls in attribute values', () => {
    expect(escapeAttr('a&b<c>"d"\'e\'\r\n\t')).toBe('a&amp;b&lt;c>&quot;d&quot;\'e\'&#13;&#10;&#9;');
  });
});

describe('serializeXml', () => {
  it('makes the root namespace the default and declares everything on the root', () => {
    const x = el('urn:a', 'root', 'a', [at('', 'k', 'v')], [
      el('urn:b', 'child', 'b', [], [el('urn:c', 'deep', 'c')]),
      el('urn:a', 'same', 'a'),
    ]);
    expect(serializeXml(x)).toBe(
      '<root xmlns="urn:a" xmlns:b="urn:b" xmlns:c="urn:c" k="v"><b:child><c:deep/></b:child><same/></root>',
    );
  });

  it('emits the XML declaration on request, without white space', () => {
    expect(serializeXml(el('urn:a', 'r'), { declaration: true })).toBe('<?xml version="1.0" encoding="UTF-8"?><r xmlns="urn:a"/>');
  });

  it('uses preferred prefixes over source prefixes, and generates prefixes when there is none', () => {
    const x = el('urn:a', 'r', '', [], [el('urn:b', 'x', 'src'), el('urn:c', 'y', ''), el('urn:d', 'z', '')]);
    expect(serializeXml(x, { prefixes: { 'urn:b': 'pref' } })).toBe(
      '<r xmlns="urn:a" xmlns:pref="urn:b" xmlns:ns1="urn:c" xmlns:ns2="urn:d"><pref:x/><ns1:y/><ns2:z/></r>',
    );
  });

  it('never binds two URIs to one prefix', () => {
    const x = el('urn:a', 'r', '', [], [el('urn:b', 'x', 'p'), el('urn:c', 'y', 'p'), el('urn:d', 'z', 'ns1')]);
    const out = serializeXml(x, { prefixes: { 'urn:c': 'ns1' } });
    expect(out).toBe('<r xmlns="urn:a" xmlns:p="urn:b" xmlns:ns1="urn:c" xmlns:ns2="urn:d"><p:x/><ns1:y/><ns2:z/></r>');
    expect(elementEquals(reparse(x, { prefixes: { 'urn:c': 'ns1' } }), x)).toBe(true);
  });

  it('gives the root a prefix when the options say so', () => {
    const x = el('urn:a', 'r', '', [], [el('urn:b', 'x')]);
    expect(serializeXml(x, { prefixes: { 'urn:a': 'a' } })).toBe('<a:r xmlns:a="urn:a" xmlns:ns1="urn:b"><ns1:x/></a:r>');
    expect(serializeXml(x, { prefixes: { 'urn:b': '' } })).toBe('<ns1:r xmlns="urn:b" xmlns:ns1="urn:a"><x/></ns1:r>');
  });

  it('ignores reserved or invalid preferred prefixes', () => {
    const x = el('urn:a', 'r', '', [], [el('urn:b', 'x'), el('urn:c', 'y'), el('urn:d', 'z')]);
    expect(serializeXml(x, { prefixes: { 'urn:b': 'xmlfoo', 'urn:c': '1bad', 'urn:d': 'a:b' } })).toBe(
      '<r xmlns="urn:a" xmlns:ns1="urn:b" xmlns:ns2="urn:c" xmlns:ns3="urn:d"><ns1:x/><ns2:y/><ns3:z/></r>',
    );
  });

  it('always prefixes namespaced attributes, even in the default namespace', () => {
    const x = el('urn:a', 'r', '', [at('urn:a', 'k', '1'), at('urn:b', 'm', '2', 'bb'), at('', 'plain', '3')]);
    expect(serializeXml(x)).toBe('<r xmlns="urn:a" xmlns:ns1="urn:a" xmlns:bb="urn:b" ns1:k="1" bb:m="2" plain="3"/>');
    expect(reparse(x).attrs.map((a) => [a.ns, a.local, a.value])).toEqual([
      ['urn:a', 'k', '1'],
      ['urn:b', 'm', '2'],
      ['', 'plain', '3'],
    ]);
  });

  it('writes the XML namespace with the xml prefix and never declares it', () => {
    const x = el('urn:a', 'note', '', [at(XML_NS, 'lang', 'en', 'xml')], [text('hi')]);
    expect(serializeXml(x)).toBe('<note xmlns="urn:a" xml:lang="en">hi</note>');
  });

  it('undeclares the default namespace for elements in no namespace', () => {
    const x = el('urn:a', 'r', '', [], [el('', 'plain', '', [], [el('urn:a', 'back'), el('', 'still')]), el('urn:a', 'after')]);
    const out = serializeXml(x);
    expect(out).toBe('<r xmlns="urn:a" xmlns:ns1="urn:a"><plain xmlns=""><ns1:back/><still/></plain><after/></r>');
    expect(elementEquals(reparse(x), x)).toBe(true);
  });

  it('declares no default namespace when the root is in no namespace', () => {
    const x = el('', 'r', '', [], [el('urn:a', 'x', 'a'), el('', 'y')]);
    expect(serializeXml(x, { prefixes: { 'urn:a': '' } })).toBe('<r xmlns:a="urn:a"><a:x/><y/></r>');
  });

  it('escapes text and attribute values', () => {
    const x = el('', 'r', '', [at('', 'v', '"<&>\n\t\r')], [text('<&>]]>\r\n')]);
    expect(serializeXml(x)).toBe('<r v="&quot;&lt;&amp;>&#10;&#9;&#13;">&lt;&amp;&gt;]]&gt;&#13;\n</r>');
    expect(reparse(x)).toEqual(x);
  });

  it('escapes namespace URIs in declarations', () => {
    const x = el('urn:a?x="1"&y', 'r', '', [], [el('urn:b&c', 'c')]);
    expect(elementEquals(reparse(x), x)).toBe(true);
  });

  it('skips xmlns attributes that sneaked into a tree', () => {
    const x = el('urn:a', 'r', '', [at('http://www.w3.org/2000/xmlns/', 'p', 'urn:p', 'xmlns')]);
    expect(serializeXml(x)).toBe('<r xmlns="urn:a"/>');
  });

  it('is deterministic and round-trips a realistic document modulo prefixes', () => {
    const src =
      '<p:presence xmlns:p="urn:ietf:params:xml:ns:pidf" xmlns:d="urn:ietf:params:xml:ns:pidf:data-model" ' +
      'xmlns:r="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:alice@example.com">' +
      '<p:tuple id="t1"><p:status><p:basic>open</p:basic></p:status></p:tuple>' +
      '<d:person id="p1"><r:activities><r:busy/></r:activities><d:note xml:lang="en">x &amp; y</d:note></d:person>' +
      '</p:presence>';
    const parsed = parseXml(src);
    if (!parsed.ok) throw new Error('parse');
    const a = serializeXml(parsed.value);
    const b = serializeXml(parsed.value);
    expect(a).toBe(b);
    expect(a.startsWith('<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:d=')).toBe(true);
    expect(elementEquals(reparse(parsed.value), parsed.value)).toBe(true);
  });
});
