import { describe, it, expect } from 'vitest';
import type { Result } from '../../../../core/errors.js';
import { XML_NS, type XmlElement } from '../../../../core/xml/xml-node.js';
import {
  DEFAULT_XML_LIMITS,
  isNCName,
  parseXml,
  parseXmlFragment,
  utf8ByteLength,
} from '../../../../core/xml/xml-parser.js';

function value(r: Result<XmlElement>): XmlElement {
  if (!r.ok) throw new Error(`expected success, got ${r.error.code}: ${r.error.detail ?? ''}`);
  return r.value;
}

function code(r: Result<unknown>): string {
  return r.ok ? 'ok' : r.error.code;
}

function el(ns: string, local: string, prefix: string, attrs: XmlElement['attrs'], children: XmlElement['children']): XmlElement {
  return { kind: 'element', ns, local, prefix, attrs, children };
}

describe('parseXml: tree building', () => {
  it('builds a namespace-aware tree with prefixes, attributes and text', () => {
    const root = value(
      parseXml(
        '<?xml version="1.0" encoding="UTF-8"?>\n' +
          '<p:a xmlns:p="urn:p" xmlns="urn:d" x="1" p:y="2" xml:lang="en">\n' +
          '  <b>text</b>\n' +
          '  <p:c/>\n' +
          '</p:a>\n',
      ),
    );
    expect(root).toEqual(
      el('urn:p', 'a', 'p', [
        { ns: '', local: 'x', prefix: '', value: '1' },
        { ns: 'urn:p', local: 'y', prefix: 'p', value: '2' },
        { ns: XML_NS, local: 'lang', prefix: 'xml', value: 'en' },
      ], [
        el('urn:d', 'b', '', [], [{ kind: 'text', text: 'text' }]),
        el('urn:p', 'c', 'p', [], []),
      ]),
    );
  });

  it('does not keep xmlns declarations as attributes', () => {
    const root = value(parseXml('<a xmlns="urn:a" xmlns:q="urn:q" q:k="v"/>'));
    expect(root.attrs).toEqual([{ ns: 'urn:q', local: 'k', prefix: 'q', value: 'v' }]);
  });

  it('applies the default namespace to elements but not to attributes (Namespaces §6.2)', () => {
    const root = value(parseXml('<a xmlns="urn:a" k="v"><b xmlns=""><c/></b></a>'));
    expect(root.ns).toBe('urn:a');
    expect(root.attrs[0]?.ns).toBe('');
    const b = root.children[0] as XmlElement;
    expect(b.ns).toBe('');
    expect((b.children[0] as XmlElement).ns).toBe('');
  });

  it('drops comments and processing instructions', () => {
    const root = value(parseXml('<!-- c --><?pi x?><a><!-- in -->x<?p y?>y</a><!-- after -->'));
    expect(root.children).toEqual([{ kind: 'text', text: 'xy' }]);
  });

  it('turns CDATA into text merged with adjacent character data', () => {
    const root = value(parseXml('<a>x<![CDATA[<b>&amp;</b>]]>y</a>'));
    expect(root.children).toEqual([{ kind: 'text', text: 'x<b>&amp;</b>y' }]);
  });

  it('drops white-space-only text beside child elements, keeps other text verbatim', () => {
    const root = value(parseXml('<a>\n  <b> </b>\n  mixed <c/>\t\n</a>'));
    expect(root.children).toEqual([
      el('', 'b', '', [], [{ kind: 'text', text: ' ' }]),
      { kind: 'text', text: '\n  mixed ' },
      el('', 'c', '', [], []),
    ]);
  });

  it('decodes the five predefined entities and character references', () => {
    const root = value(parseXml('<a t="&quot;&apos;&#9;">&amp;&lt;&gt;&quot;&apos;&#65;&#x1F600;</a>'));
    expect(root.children).toEqual([{ kind: 'text', text: '&<>"\'A\u{1F600}' }]);
    expect(root.attrs[0]?.value).toBe('"\'\t');
  });

  it('normalises line ends (XML 1.0 §2.11) and attribute white space (§3.3.3)', () => {
    const root = value(parseXml('<a t="x\ny">1\r\n2\r3</a>'));
    expect(root.children).toEqual([{ kind: 'text', text: '1\n2\n3' }]);
    expect(root.attrs[0]?.value).toBe('x y');
  });

  it('accepts a UTF-8 declaration in any case, no declaration, and a BOM', () => {
    expect(code(parseXml('<?xml version="1.0" encoding="utf-8"?><a/>'))).toBe('ok');
    expect(code(parseXml("<?xml version='1.0' encoding='UTF-8' standalone='yes'?><a/>"))).toBe('ok');
    expect(code(parseXml('<?xml version="1.0"?><a/>'))).toBe('ok');
    expect(code(parseXml('\uFEFF<a/>'))).toBe('ok');
    expect(code(parseXml('  \n<a/>\n'))).toBe('ok');
  });

  it('applies partial limits on top of the defaults', () => {
    expect(DEFAULT_XML_LIMITS).toEqual({ maxBytes: 65536, maxDepth: 32, maxElements: 4096, maxAttributes: 64, maxTextBytes: 16384 });
    expect(code(parseXml('<a><b/><c/></a>', { maxElements: 2 }))).toBe('body-too-large');
    expect(code(parseXml('<a><b/></a>', { maxElements: 2 }))).toBe('ok');
  });
});

describe('parseXml: security', () => {
  it('refuses XXE (external entity in an internal subset)', () => {
    const r = parseXml('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>');
    expect(code(r)).toBe('malformed-body');
    expect(r.ok ? '' : r.error.detail).toMatch(/DOCTYPE/);
  });

  it('refuses billion laughs', () => {
    const lol =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
      '<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
      '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">' +
      '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">' +
      ']><lolz>&lol3;</lolz>';
    expect(code(parseXml(lol))).toBe('malformed-body');
  });

  it('refuses an external DTD reference and a bare DOCTYPE', () => {
    expect(code(parseXml('<!DOCTYPE presence SYSTEM "http://evil.example/x.dtd"><presence/>'))).toBe('malformed-body');
    expect(code(parseXml('<!DOCTYPE a><a/>'))).toBe('malformed-body');
  });

  it('refuses an undefined entity reference', () => {
    const r = parseXml('<a>&nbsp;</a>');
    expect(code(r)).toBe('malformed-body');
    expect(r.ok ? '' : r.error.detail).toMatch(/undefined entity.*at offset 9/);
    expect(code(parseXml('<a t="&e;"/>'))).toBe('malformed-body');
  });

  it('refuses a character reference to a non-XML character', () => {
    expect(code(parseXml('<a>&#0;</a>'))).toBe('malformed-body');
    expect(code(parseXml('<a>&#xD800;</a>'))).toBe('malformed-body');
  });

  it('refuses declarations of any encoding but UTF-8, and XML 1.1', () => {
    expect(code(parseXml('<?xml version="1.0" encoding="ISO-8859-1"?><a/>'))).toBe('malformed-body');
    expect(code(parseXml('<?xml version="1.0" encoding="UTF-16"?><a/>'))).toBe('malformed-body');
    expect(code(parseXml('<?xml version="1.1"?><a/>'))).toBe('malformed-body');
  });

  it('refuses a 70 KB body', () => {
    const body = `<a>${'x'.repeat(70 * 1024)}</a>`;
    expect(code(parseXml(body))).toBe('body-too-large');
  });

  it('measures the size in UTF-8 bytes, not UTF-16 code units', () => {
    // 22 000 euro signs: 22 000 code units but 66 000 bytes.
    const body = `<a>${'\u20ac'.repeat(22000)}</a>`;
    expect(body.length).toBeLessThan(65536);
    expect(code(parseXml(body, { maxTextBytes: 100000 }))).toBe('body-too-large');
  });

  it('accepts a body of exactly maxBytes', () => {
    const body = `<a>${'x'.repeat(100 - 7)}</a>`;
    expect(body.length).toBe(100);
    expect(code(parseXml(body, { maxBytes: 100 }))).toBe('ok');
    expect(code(parseXml(body, { maxBytes: 99 }))).toBe('body-too-large');
  });

  it('refuses nesting deeper than 32 and accepts exactly 32', () => {
    const nest = (n: number): string => '<e>'.repeat(n) + '</e>'.repeat(n);
    expect(code(parseXml(nest(40)))).toBe('body-too-large');
    expect(code(parseXml(nest(33)))).toBe('body-too-large');
    expect(code(parseXml(nest(32)))).toBe('ok');
  });

  it('refuses 5000 elements', () => {
    expect(code(parseXml(`<a>${'<b/>'.repeat(4999)}</a>`))).toBe('body-too-large');
    expect(code(parseXml(`<a>${'<b/>'.repeat(4095)}</a>`))).toBe('ok');
  });

  it('refuses more than 64 attributes on one element', () => {
    const attrs = (n: number): string => Array.from({ length: n }, (_, i) => ` a${i}="v"`).join('');
    expect(code(parseXml(`<a${attrs(65)}/>`))).toBe('body-too-large');
    expect(code(parseXml(`<a${attrs(64)}/>`))).toBe('ok');
  });

  it('refuses a text node or attribute value above maxTextBytes', () => {
    expect(code(parseXml(`<a>${'x'.repeat(16385)}</a>`))).toBe('body-too-large');
    expect(code(parseXml(`<a>${'x'.repeat(16384)}</a>`))).toBe('ok');
    expect(code(parseXml(`<a v="${'x'.repeat(16385)}"/>`))).toBe('body-too-large');
    // Text split by a CDATA section is one text node.
    expect(code(parseXml(`<a>${'x'.repeat(9000)}<![CDATA[${'y'.repeat(9000)}]]></a>`))).toBe('body-too-large');
  });
});

describe('parseXml: malformed input is returned, never thrown', () => {
  const cases: Record<string, string> = {
    empty: '',
    'white space only': '   ',
    'plain text': 'hello',
    'unclosed element': '<a><b></a>',
    'missing end tag': '<a>',
    'two roots': '<a/><b/>',
    'text after the root': '<a/>junk',
    'unbound element prefix': '<p:a/>',
    'unbound attribute prefix': '<a p:x="1"/>',
    'duplicate attribute': '<a x="1" x="2"/>',
    'duplicate expanded attribute name': '<a xmlns:p="urn:x" xmlns:q="urn:x" p:k="1" q:k="2"/>',
    'bare ampersand': '<a>&</a>',
    'lt in attribute': '<a x="<"/>',
    'xml declaration not first': ' <?xml version="1.0"?><a/>',
    'rebinding xml prefix': '<a xmlns:xml="urn:x"/>',
    'CDATA end in text': '<a>]]></a>',
    'JSON': '{"presence": true}',
  };
  for (const [name, text] of Object.entries(cases)) {
    it(name, () => {
      expect(code(parseXml(text))).toBe('malformed-body');
    });
  }
});

describe('parseXmlFragment (RFC 4825 §8.2.3)', () => {
  const ns = { '': 'urn:ietf:params:xml:ns:resource-lists', cp: 'urn:ietf:params:xml:ns:common-policy' };

  it('binds the default namespace and prefixes from the request', () => {
    const r = value(parseXmlFragment('<entry uri="sip:bob@example.com"><cp:x/></entry>', ns));
    expect(r.ns).toBe('urn:ietf:params:xml:ns:resource-lists');
    expect(r.prefix).toBe('');
    expect((r.children[0] as XmlElement).ns).toBe('urn:ietf:params:xml:ns:common-policy');
  });

  it('lets declarations inside the fragment win', () => {
    const r = value(parseXmlFragment('<entry xmlns="urn:other"/>', ns));
    expect(r.ns).toBe('urn:other');
  });

  it('leaves unprefixed elements in no namespace without a default binding', () => {
    expect(value(parseXmlFragment('<entry/>', {})).ns).toBe('');
  });

  it('refuses unbound prefixes, several elements, text only and DOCTYPE', () => {
    expect(code(parseXmlFragment('<zz:entry/>', ns))).toBe('malformed-body');
    expect(code(parseXmlFragment('<entry/><entry/>', ns))).toBe('malformed-body');
    expect(code(parseXmlFragment('just text', ns))).toBe('malformed-body');
    expect(code(parseXmlFragment('<!DOCTYPE entry [<!ENTITY e "x">]><entry>&e;</entry>', ns))).toBe('malformed-body');
  });

  it('applies the limits', () => {
    expect(code(parseXmlFragment('<entry><a/><b/></entry>', ns, { maxElements: 2 }))).toBe('body-too-large');
  });

  it('refuses invalid bindings as a malformed request', () => {
    expect(code(parseXmlFragment('<a/>', { xmlns: 'urn:x' }))).toBe('malformed-request');
    expect(code(parseXmlFragment('<a/>', { xml: 'urn:x' }))).toBe('malformed-request');
    expect(code(parseXmlFragment('<a/>', { p: '' }))).toBe('malformed-request');
    expect(code(parseXmlFragment('<a/>', { '1p': 'urn:x' }))).toBe('malformed-request');
    expect(code(parseXmlFragment('<a/>', { xml: XML_NS }))).toBe('ok');
  });
});

describe('utf8ByteLength and isNCName', () => {
  it('counts UTF-8 bytes', () => {
    expect(utf8ByteLength('')).toBe(0);
    expect(utf8ByteLength('abc')).toBe(3);
    expect(utf8ByteLength('\u00e9')).toBe(2);
    expect(utf8ByteLength('\u20ac')).toBe(3);
    expect(utf8ByteLength('\u{1F600}')).toBe(4);
    expect(utf8ByteLength('\uD800')).toBe(3); // lone surrogate: U+FFFD
    expect(utf8ByteLength('\uD800x')).toBe(4);
    expect(utf8ByteLength('a\u00e9\u20ac\u{1F600}')).toBe(10);
  });

  it('recognises NCNames', () => {
    for (const ok of ['a', '_x', 'bs35r9', 'p-1.2', '\u00e9t\u00e9', 'A\u00b7b']) expect(isNCName(ok)).toBe(true);
    for (const bad of ['', '1a', '-a', '.a', 'a:b', 'a b', 'a\u00d7']) expect(isNCName(bad)).toBe(false);
  });
});
