import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import type { Result } from '../../../../core/errors.js';
import {
  formatDocumentSelector,
  formatXcapUri,
  formatXmlnsQuery,
  parseXcapUri,
  parseXmlnsQuery,
  percentEncode,
  type XcapUri,
} from '../../../../core/xcap/xcap-uri.js';

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`expected success, got ${r.error.code}: ${r.error.detail ?? ''}`);
  return r.value;
}
function code(r: Result<unknown>): string {
  return r.ok ? 'ok' : r.error.code;
}

describe('parseXcapUri: document selector (RFC 4825 §6.2)', () => {
  it('parses a users-tree document with a sip: XUI (RFC 4825 §6.2 example)', () => {
    expect(value(parseXcapUri('/resource-lists/users/sip:joe@example.com/index', undefined))).toEqual({
      auid: 'resource-lists',
      tree: 'users',
      xui: 'sip:joe@example.com',
      document: 'index',
      namespaces: {},
    });
  });

  it('parses a global-tree document, without leading slash too', () => {
    expect(value(parseXcapUri('xcap-caps/global/index', undefined))).toEqual({ auid: 'xcap-caps', tree: 'global', document: 'index', namespaces: {} });
  });

  it('keeps sub-directories in the document path', () => {
    expect(value(parseXcapUri('/rls-services/users/sip:a@b/dir/sub/doc', undefined)).document).toBe('dir/sub/doc');
  });

  it('percent-decodes each segment after splitting, so %2F stays inside the XUI', () => {
    const u = value(parseXcapUri('/pres-rules/users/sip:joe%2Fwork%40example.com/index', undefined));
    expect(u.xui).toBe('sip:joe/work@example.com');
    expect(u.document).toBe('index');
  });

  it('decodes UTF-8 percent-encoding in XUIs', () => {
    expect(value(parseXcapUri('/pres-rules/users/sip:j%C3%B6rg@example.com/index', undefined)).xui).toBe('sip:jörg@example.com');
  });

  it('answers 404 for paths that cannot name a document', () => {
    expect(code(parseXcapUri('', undefined))).toBe('not-found');
    expect(code(parseXcapUri('/resource-lists', undefined))).toBe('not-found');
    expect(code(parseXcapUri('/resource-lists/others/x/index', undefined))).toBe('not-found');
    expect(code(parseXcapUri('/resource-lists/users', undefined))).toBe('not-found');
    expect(code(parseXcapUri('/resource-lists/users/sip:joe@example.com', undefined))).toBe('not-found');
    expect(code(parseXcapUri('/resource-lists/users/sip:joe@example.com/', undefined))).toBe('not-found');
    expect(code(parseXcapUri('/resource-lists/global/', undefined))).toBe('not-found');
  });

  it('answers 400 for malformed encodings and dot or empty segments', () => {
    expect(code(parseXcapUri('/resource-lists/users/sip:joe%ZZ@example.com/index', undefined))).toBe('malformed-request');
    expect(code(parseXcapUri('/resource-lists/users/sip:joe%C3@example.com/index', undefined))).toBe('malformed-request');
    expect(code(parseXcapUri('/resource-lists/users/sip:joe%00@example.com/index', undefined))).toBe('malformed-request');
    expect(code(parseXcapUri('/resource-lists/users/sip:joe@example.com/../bob/index', undefined))).toBe('malformed-request');
    expect(code(parseXcapUri('/resource-lists/users/sip:joe@example.com/a//index', undefined))).toBe('malformed-request');
    expect(code(parseXcapUri('/resource-lists/users/sip:joe@example.com/a%2Fb', undefined))).toBe('malformed-request');
  });
});

describe('parseXcapUri: node selector (RFC 4825 §6.3)', () => {
  it('splits at ~~ and percent-decodes the node selector after the split (RFC 4826 §3.3 style URI)', () => {
    const u = value(
      parseXcapUri('/resource-lists/users/sip:joe@example.com/index/~~/resource-lists/list%5b@name=%22l1%22%5d/entry%5b@uri=%22sip:a%2Fb@x%22%5d', undefined),
    );
    expect(u.document).toBe('index');
    expect(u.nodeSelector).toBe('resource-lists/list[@name="l1"]/entry[@uri="sip:a/b@x"]');
  });

  it('treats %7E%7E as the separator too (~ is unreserved)', () => {
    expect(value(parseXcapUri('/a/global/index/%7e%7E/root', undefined)).nodeSelector).toBe('root');
  });

  it('only the first ~~ separates: a ~~ inside the node selector stays', () => {
    expect(value(parseXcapUri('/a/global/index/~~/root/x[@v="/~~/"]', undefined)).nodeSelector).toBe('root/x[@v="/~~/"]');
  });

  it('refuses an empty node selector', () => {
    expect(code(parseXcapUri('/a/global/index/~~/', undefined))).toBe('malformed-request');
    expect(code(parseXcapUri('/a/global/index/~~', undefined))).toBe('malformed-request');
  });
});

describe('parseXmlnsQuery (RFC 4825 §6.4, XPointer xmlns())', () => {
  it('parses several bindings, encoded or not, with or without "?"', () => {
    expect(value(parseXmlnsQuery('?xmlns(a=urn:test:namespace1-uri)xmlns(b=urn:test:namespace2-uri)'))).toEqual({
      a: 'urn:test:namespace1-uri',
      b: 'urn:test:namespace2-uri',
    });
    expect(value(parseXmlnsQuery('xmlns(a%3Durn%3Atest)'))).toEqual({ a: 'urn:test' });
    expect(value(parseXmlnsQuery('xmlns( a = urn:x ) xmlns(b=urn:y)'))).toEqual({ a: 'urn:x', b: 'urn:y' });
  });

  it('handles circumflex escapes and balanced parentheses', () => {
    expect(value(parseXmlnsQuery('xmlns(a=http://x/(y)^)^^)'))).toEqual({ a: 'http://x/(y))^' });
  });

  it('lets a later binding of the same prefix win', () => {
    expect(value(parseXmlnsQuery('xmlns(a=urn:1)xmlns(a=urn:2)'))).toEqual({ a: 'urn:2' });
  });

  it('refuses anything that is not a well-formed xmlns() part', () => {
    for (const q of ['foo=bar', 'xmlns(a)', 'xmlns(a=urn:x', 'xmlns(1a=urn:x)', 'xmlns(a=)', 'xmlns(xmlns=urn:x)', 'xmlns(xml=urn:x)', 'xmlns(a=^x)', 'xmlns(a=urn:x)junk']) {
      expect(code(parseXmlnsQuery(q)), q).toBe('malformed-request');
    }
    expect(code(parseXcapUri('/a/global/index/~~/x', 'bogus'))).toBe('malformed-request');
  });

  it('is empty without a query', () => {
    expect(value(parseXmlnsQuery(undefined))).toEqual({});
    expect(value(parseXmlnsQuery(''))).toEqual({});
    expect(value(parseXmlnsQuery('?'))).toEqual({});
  });
});

describe('formatting', () => {
  it('formats the document selector with percent-encoding of what is not a pchar', () => {
    expect(formatDocumentSelector({ auid: 'resource-lists', tree: 'users', xui: 'sip:joe/x@example.com', document: 'dir/index' })).toBe(
      'resource-lists/users/sip:joe%2Fx@example.com/dir/index',
    );
    expect(percentEncode('a b"[]?#%é')).toBe('a%20b%22%5B%5D%3F%23%25%C3%A9');
  });

  it('formats a full URI with node selector and query', () => {
    const u: XcapUri = {
      auid: 'pres-rules',
      tree: 'users',
      xui: 'sip:joe@example.com',
      document: 'index',
      nodeSelector: 'cp:ruleset/cp:rule[@id="a b"]',
      namespaces: { cp: 'urn:ietf:params:xml:ns:common-policy' },
    };
    expect(formatXcapUri(u)).toBe(
      'pres-rules/users/sip:joe@example.com/index/~~/cp:ruleset/cp:rule%5B@id=%22a%20b%22%5D?xmlns(cp=urn:ietf:params:xml:ns:common-policy)',
    );
    expect(formatXmlnsQuery({ a: 'http://x/(y)' })).toBe('xmlns(a=http://x/%5E(y%5E))');
  });

  it('round-trips: parseXcapUri(formatXcapUri(u)) = u (property)', () => {
    const seg = fc.string({ minLength: 1, maxLength: 8, unit: fc.constantFrom('a', 'B', '0', '-', '.', '_', ':', '@', '/', '?', '#', '%', ' ', '"', 'é', '\u{1F600}', '~', '[', ']') });
    const docSeg = seg.filter((s) => s !== '.' && s !== '..' && !s.includes('/') && s.replace(/%7e/gi, '~') !== '~~');
    const uriArb = fc.record({
      auid: docSeg,
      tree: fc.constantFrom('users' as const, 'global' as const),
      xui: seg.filter((s) => s.replace(/%7e/gi, '~') !== '~~'),
      document: fc.array(docSeg, { minLength: 1, maxLength: 3 }).map((a) => a.join('/')),
      nodeSelector: fc.option(fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !/[\u0000-\u001f\u007f]/.test(s) && !s.startsWith('/') && !s.startsWith('~~')), { nil: undefined }),
      namespaces: fc.dictionary(fc.constantFrom('a', 'b', 'cp', 'x1'), fc.constantFrom('urn:x', 'http://e.com/a(b)^c', 'urn:y?z=1&w')),
    });
    fc.assert(
      fc.property(uriArb, (r) => {
        const u: { -readonly [K in keyof XcapUri]: XcapUri[K] } = { auid: r.auid, tree: r.tree, document: r.document, namespaces: {} };
        if (r.tree === 'users') u.xui = r.xui;
        if (r.nodeSelector !== undefined) {
          u.nodeSelector = r.nodeSelector;
          u.namespaces = r.namespaces;
        }
        const text = formatXcapUri(u);
        const q = text.indexOf('?');
        const back = parseXcapUri(q < 0 ? text : text.slice(0, q), q < 0 ? undefined : text.slice(q + 1));
        expect(value(back)).toEqual(u);
      }),
      { numRuns: 500 },
    );
  });
});
