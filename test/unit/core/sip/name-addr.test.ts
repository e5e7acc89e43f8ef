import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  type NameAddr,
  formatNameAddr,
  headerParam,
  parseNameAddr,
  tagOf,
  withTag,
  withoutTag,
} from '../../../../core/sip/name-addr.js';

describe('parseNameAddr: RFC 3261 §20.10 forms', () => {
  it('parses a quoted display name with escaped quotes', () => {
    expect(parseNameAddr('"Alice \\"The Boss\\" Smith" <sip:alice@atlanta.com>;tag=1928301774')).toEqual({
      displayName: 'Alice "The Boss" Smith',
      uri: 'sip:alice@atlanta.com',
      params: [['tag', '1928301774']],
    });
  });

  it('parses a token display name', () => {
    expect(parseNameAddr('Bob <sips:bob@biloxi.com>;tag=a6c85cf')).toEqual({
      displayName: 'Bob',
      uri: 'sips:bob@biloxi.com',
      params: [['tag', 'a6c85cf']],
    });
  });

  it('joins a multi-token display name with single spaces', () => {
    expect(parseNameAddr('The   Operator\t<sip:operator@cs.columbia.edu>;tag=287447')?.displayName).toBe(
      'The Operator',
    );
  });

  it('parses <uri> without display name or params', () => {
    expect(parseNameAddr('<sip:carol@chicago.com>')).toEqual({ uri: 'sip:carol@chicago.com', params: [] });
  });

  it('gives the params of a bare addr-spec to the header, not the URI (§20.10)', () => {
    expect(parseNameAddr('sip:+12125551212@phone2net.com;tag=887s')).toEqual({
      uri: 'sip:+12125551212@phone2net.com',
      params: [['tag', '887s']],
    });
  });

  it('keeps URI params inside the brackets', () => {
    const na = parseNameAddr('<sip:alice@atlanta.com;transport=tcp>;tag=x')!;
    expect(na.uri).toBe('sip:alice@atlanta.com;transport=tcp');
    expect(na.params).toEqual([['tag', 'x']]);
  });

  it('parses an empty quoted display name', () => {
    expect(parseNameAddr('"" <sip:a@b.example>')?.displayName).toBe('');
  });

  it('unescapes a backslash in the display name', () => {
    expect(parseNameAddr('"C:\\\\Users" <sip:a@b.example>')?.displayName).toBe('C:\\Users');
  });

  it('accepts any absoluteURI scheme', () => {
    expect(parseNameAddr('<mailto:alice@example.com>')?.uri).toBe('mailto:alice@example.com');
    expect(parseNameAddr('<urn:service:sos>')?.uri).toBe('urn:service:sos');
    expect(parseNameAddr('"Web" <http://example.com/a?b=c>')?.uri).toBe('http://example.com/a?b=c');
  });
});

describe('parseNameAddr: real-world values', () => {
  it('parses a Linphone Contact with quoted params holding <> and commas', () => {
    const na = parseNameAddr(
      '<sip:alice@192.168.1.33:5060;transport=udp>;expires=3600;+sip.instance="<urn:uuid:7a1b2c3d-0000-1000-8000-00aabbccddee>";+org.linphone.specs="lime,groupchat"',
    )!;
    expect(na.uri).toBe('sip:alice@192.168.1.33:5060;transport=udp');
    expect(headerParam(na, 'expires')).toBe('3600');
    expect(headerParam(na, '+sip.instance')).toBe('"<urn:uuid:7a1b2c3d-0000-1000-8000-00aabbccddee>"');
    expect(headerParam(na, '+org.linphone.specs')).toBe('"lime,groupchat"');
  });

  it('parses a Bria Contact with a valueless feature tag', () => {
    const na = parseNameAddr(
      '<sip:bria@198.51.100.7:49732;rinstance=4b3f2c1a;transport=tcp>;+sip.ice;reg-id=1;+sip.instance="<urn:uuid:5c3f0b2e-1d4a-4f5e-9a8b-7c6d5e4f3a2b>"',
    )!;
    expect(headerParam(na, '+sip.ice')).toBeUndefined();
    expect(headerParam(na, 'reg-id')).toBe('1');
  });

  it('parses a Polycom From', () => {
    const na = parseNameAddr('"1001" <sip:1001@pbx.example.com>;tag=C3A9E2B4-8F1D2A7C')!;
    expect(na.displayName).toBe('1001');
    expect(tagOf('"1001" <sip:1001@pbx.example.com>;tag=C3A9E2B4-8F1D2A7C')).toBe('C3A9E2B4-8F1D2A7C');
  });

  it('parses a Yealink From with port', () => {
    expect(parseNameAddr('"Reception" <sip:201@10.20.0.2:5060>;tag=2548935463')?.uri).toBe('sip:201@10.20.0.2:5060');
  });

  it('parses an Asterisk Contact', () => {
    const na = parseNameAddr('<sip:asterisk@10.1.1.1:5060;x-ast-orig-host=10.1.1.1:5060>')!;
    expect(na.uri).toBe('sip:asterisk@10.1.1.1:5060;x-ast-orig-host=10.1.1.1:5060');
  });

  it('parses Kamailio Record-Route entries, IPv4 and IPv6', () => {
    expect(parseNameAddr('<sip:10.0.0.1;lr;r2=on;ftag=as5f3a>')?.uri).toBe('sip:10.0.0.1;lr;r2=on;ftag=as5f3a');
    expect(parseNameAddr('<sip:[2001:db8::1];transport=tcp;lr;r2=on>')?.uri).toBe(
      'sip:[2001:db8::1];transport=tcp;lr;r2=on',
    );
  });

  it('accepts an IPv6 reference as a gen-value', () => {
    const na = parseNameAddr('<sip:user@[2001:db8::1]:5060>;received=[2001:db8::2]')!;
    expect(headerParam(na, 'received')).toBe('[2001:db8::2]');
  });

  it('tolerates an unquoted UTF-8 display name', () => {
    expect(parseNameAddr('Jürgen Müller <sip:juergen@example.de>')?.displayName).toBe('Jürgen Müller');
  });

  it('handles odd whitespace and parameter-name case (RFC 4475 style)', () => {
    const text = '  "Bob"  \t<sip:bob@biloxi.com>  ;  TAG = 456 ;x  ';
    const na = parseNameAddr(text)!;
    expect(na.displayName).toBe('Bob');
    expect(headerParam(na, 'tag')).toBe('456');
    expect(headerParam(na, 'X')).toBeUndefined();
    expect(headerParam(na, 'y')).toBeNull();
    expect(tagOf(text)).toBe('456');
  });

  it('tolerates LWS inside the angle brackets', () => {
    expect(parseNameAddr('< sip:a@b.example >')?.uri).toBe('sip:a@b.example');
  });
});

describe('parseNameAddr: invalid values', () => {
  it.each([
    '',
    '   ',
    '*',
    '<sip:a@b.example',
    'sip:a@b.example>',
    '"unterminated <sip:a@b.example>',
    'Bob sip:a@b.example',
    '"Bob" sip:a@b.example',
    '<sip:a@b.example>;tag=',
    '<sip:a@b.example>;=x',
    '<sip:a@b.example>;',
    '<sip:a@b.example> junk',
    '<sip:a@b.example>, <sip:c@d.example>',
    '<not a uri>',
    '<sip:a@b<c>',
    '<sip:>',
    '<sip:a@b.example:99999>',
    '"x\r\nVia: evil" <sip:a@b.example>',
    '<sip:a@b.example>;tag="unterminated',
    '<sip:a@b.example>;tag=a"b"',
    'sip:a@b.example;tag=1 2',
    '<>',
    '<:x>',
  ])('rejects %j', (text) => {
    expect(parseNameAddr(text)).toBeUndefined();
  });

  it('refuses values over 8 KiB', () => {
    expect(parseNameAddr('<sip:a@b.example>;x=' + 'a'.repeat(8200))).toBeUndefined();
  });
});

describe('formatNameAddr', () => {
  it('always uses <uri> and quotes display names', () => {
    expect(formatNameAddr({ uri: 'sip:a@b.example', params: [] })).toBe('<sip:a@b.example>');
    expect(
      formatNameAddr({ displayName: 'Alice "A" \\', uri: 'sip:a@b.example', params: [['tag', 'x'], ['lr', undefined]] }),
    ).toBe('"Alice \\"A\\" \\\\" <sip:a@b.example>;tag=x;lr');
  });

  it('converts a bare addr-spec to the bracketed form', () => {
    expect(formatNameAddr(parseNameAddr('sip:a@b.example;tag=1')!)).toBe('<sip:a@b.example>;tag=1');
  });

  it('never emits CR or LF (header injection)', () => {
    const out = formatNameAddr({ displayName: 'x\r\nVia: evil', uri: 'sip:a@b.example', params: [] });
    expect(out).not.toMatch(/[\r\n]/);
  });
});

describe('tagOf / withTag / withoutTag', () => {
  it('reads tags', () => {
    expect(tagOf('<sip:a@b.example>;tag=abc')).toBe('abc');
    expect(tagOf('<sip:a@b.example>')).toBeUndefined();
    expect(tagOf('<sip:a@b.example>;tag')).toBeUndefined();
    expect(tagOf('<sip:a@b.example;tag=uri-param>')).toBeUndefined();
    expect(tagOf('garbage')).toBeUndefined();
  });

  it.each([
    ['<sip:bob@biloxi.com>', '<sip:bob@biloxi.com>;tag=new'],
    ['"Bob" <sip:bob@biloxi.com>  ', '"Bob" <sip:bob@biloxi.com>;tag=new  '],
    ['sip:bob@biloxi.com;foo=bar', 'sip:bob@biloxi.com;foo=bar;tag=new'],
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com;tag=new'],
    ['<sip:a@b.example>;tag=old;x=1', '<sip:a@b.example>;tag=new;x=1'],
    ['<sip:a@b.example>;tag;x', '<sip:a@b.example>;tag=new;x'],
    ['<sip:a@b.example>;tag=1;x=2;TAG=3', '<sip:a@b.example>;tag=new;x=2'],
    ['<sip:a@b.example> ; Tag = old ; x=1', '<sip:a@b.example> ; Tag = new ; x=1'],
    ['<sip:a@b.example;tag=uri>', '<sip:a@b.example;tag=uri>;tag=new'],
    ['"Weird  ;tag=x" <sip:a@b.example>', '"Weird  ;tag=x" <sip:a@b.example>;tag=new'],
  ])('withTag(%j)', (input, expected) => {
    expect(withTag(input, 'new')).toBe(expected);
  });

  it('appends to an unparseable value as a best effort', () => {
    expect(withTag('  garbage  ', 't')).toBe('garbage;tag=t');
  });

  it.each([
    ['<sip:a@b.example>;tag=1;x=2', '<sip:a@b.example>;x=2'],
    ['<sip:a@b.example> ;tag=1', '<sip:a@b.example>'],
    ['<sip:a@b.example>;x=2;tag=1;TAG=2', '<sip:a@b.example>;x=2'],
    ['<sip:a@b.example>', '<sip:a@b.example>'],
    ['<sip:a@b.example;tag=uri>;tag=1', '<sip:a@b.example;tag=uri>'],
    ['broken <', 'broken <'],
  ])('withoutTag(%j)', (input, expected) => {
    expect(withoutTag(input)).toBe(expected);
  });
});

// ---------------------------------------------------------------- generators

const tokenArb = fc.stringMatching(/^[a-zA-Z0-9\-.!%*_+`'~]{1,10}$/);
const quotedArb = fc
  .string({ unit: fc.constantFrom(...'abc ,;<>="\\:@/'.split('')), maxLength: 12 })
  .map((s) => '"' + s.replace(/["\\]/g, (c) => '\\' + c) + '"');
const paramArb = fc.tuple(tokenArb, fc.option(fc.oneof(tokenArb, quotedArb), { nil: undefined }));
const uriArb = fc
  .tuple(fc.stringMatching(/^[a-z0-9]{1,8}$/), fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/), fc.constantFrom('', ';lr', ';transport=tcp', ':5060'))
  .map(([u, h, tail]) => `sip:${u}@${h}.example${tail}`);
// Display names without control characters (formatNameAddr replaces those, by design).
const displayArb = fc.string({ unit: 'grapheme', maxLength: 16 }).filter((s) => !/[\u0000-\u0008\u000a-\u001f\u007f]/.test(s));

const nameAddrArb: fc.Arbitrary<NameAddr> = fc
  .record({
    displayName: fc.option(displayArb, { nil: undefined }),
    uri: uriArb,
    params: fc.array(paramArb, { maxLength: 4 }),
  })
  .map(({ displayName, uri, params }) => (displayName === undefined ? { uri, params } : { displayName, uri, params }));

describe('properties', () => {
  it('parseNameAddr(formatNameAddr(na)) round-trips', () => {
    fc.assert(
      fc.property(nameAddrArb, (na) => {
        expect(parseNameAddr(formatNameAddr(na))).toEqual(na);
      }),
      { numRuns: 500 },
    );
  });

  it('withTag sets exactly one tag, keeps the rest, and withoutTag removes it', () => {
    fc.assert(
      fc.property(nameAddrArb, tokenArb, (na, tag) => {
        const text = formatNameAddr(na);
        const tagged = withTag(text, tag);
        expect(tagOf(tagged)).toBe(tag);
        const parsed = parseNameAddr(tagged)!;
        expect(parsed.uri).toBe(na.uri);
        expect(parsed.params.filter(([n]) => n.toLowerCase() === 'tag')).toHaveLength(1);
        expect(parsed.params.filter(([n]) => n.toLowerCase() !== 'tag')).toEqual(
          na.params.filter(([n]) => n.toLowerCase() !== 'tag'),
        );
        expect(withTag(tagged, tag)).toBe(tagged);
        expect(tagOf(withoutTag(tagged))).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary strings', () => {
    const sipish = fc.string({ unit: fc.constantFrom(...'sip:@;=<>"\\, tag.ab\t\r\n%'.split('')), maxLength: 60 });
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), sipish), (s) => {
        const na = parseNameAddr(s);
        tagOf(s);
        withTag(s, 'x');
        withoutTag(s);
        if (na !== undefined) expect(parseNameAddr(formatNameAddr(na))).toBeDefined();
      }),
      { numRuns: 2000 },
    );
  });
});
