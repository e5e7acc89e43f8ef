import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import type { Result } from '../../../../core/errors.js';
import { XML_NS } from '../../../../core/xml/xml-node.js';
import {
  formatNodeSelector,
  parseNodeSelector,
  type AttributeName,
  type NodeSelector,
  type Step,
  type TerminalSelector,
} from '../../../../core/xcap/node-selector.js';

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`expected success, got ${r.error.code}: ${r.error.detail ?? ''}`);
  return r.value;
}
function code(r: Result<unknown>): string {
  return r.ok ? 'ok' : r.error.code;
}

const WINFO = 'urn:ietf:params:xml:ns:watcherinfo';
const NS = { a: 'urn:test:namespace1-uri', b: 'urn:test:namespace2-uri' };

describe('parseNodeSelector: the step forms of RFC 4825 §6.3', () => {
  it('by-name steps resolve unprefixed names in the default namespace of the usage', () => {
    expect(value(parseNodeSelector('watcherinfo/watcher-list', {}, WINFO))).toEqual({
      steps: [
        { test: { kind: 'name', prefix: '', local: 'watcherinfo', ns: WINFO } },
        { test: { kind: 'name', prefix: '', local: 'watcher-list', ns: WINFO } },
      ],
    });
  });

  it('by-pos, by-attr (double and single quotes) and by-pos-attr', () => {
    const s = value(parseNodeSelector(`r/*[2]/w[@id="8ajksjda7s"]/w[@id='x']/e[3][@uri="sip:a@b"]`, {}, WINFO));
    expect(s.steps[1]).toEqual({ test: { kind: 'any' }, position: 2 });
    expect(s.steps[2]).toEqual({ test: { kind: 'name', prefix: '', local: 'w', ns: WINFO }, attr: { name: { prefix: '', local: 'id', ns: '' }, value: '8ajksjda7s' } });
    expect(s.steps[3]!.attr!.value).toBe('x');
    expect(s.steps[4]).toEqual({
      test: { kind: 'name', prefix: '', local: 'e', ns: WINFO },
      position: 3,
      attr: { name: { prefix: '', local: 'uri', ns: '' }, value: 'sip:a@b' },
    });
  });

  it('resolves prefixes through the xmlns() bindings (RFC 4825 §6.4); attributes take no default namespace', () => {
    const s = value(parseNodeSelector('foo/a:bar/b:baz[@a:att="1"]', NS, 'urn:test:default-namespace'));
    expect(s.steps.map((x) => (x.test.kind === 'name' ? x.test.ns : '*'))).toEqual(['urn:test:default-namespace', NS.a, NS.b]);
    expect(s.steps[2]!.attr!.name).toEqual({ prefix: 'a', local: 'att', ns: NS.a });
    expect(value(parseNodeSelector('foo/@lang', {}, 'urn:d')).terminal).toEqual({ kind: 'attribute', name: { prefix: '', local: 'lang', ns: '' } });
  });

  it('binds the xml prefix implicitly', () => {
    expect(value(parseNodeSelector('foo/@xml:lang', {}, 'urn:d')).terminal).toEqual({ kind: 'attribute', name: { prefix: 'xml', local: 'lang', ns: XML_NS } });
  });

  it('parses attribute and namespace terminal selectors', () => {
    expect(value(parseNodeSelector('watcherinfo/watcher-list/watcher[@id="8ajksjda7s"]/@status', {}, WINFO)).terminal).toEqual({
      kind: 'attribute',
      name: { prefix: '', local: 'status', ns: '' },
    });
    expect(value(parseNodeSelector('foo/a:bar/namespace::*', NS, '')).terminal).toEqual({ kind: 'namespace' });
  });

  it('decodes XML references in attribute values (AttValue, XML 1.0 [10])', () => {
    const s = value(parseNodeSelector('r/e[@v="&quot;x&amp;y&lt;&#65;&#x42;&apos;"]', {}, ''));
    expect(s.steps[1]!.attr!.value).toBe(`"x&y<AB'`);
    expect(value(parseNodeSelector(`r/e[@v='a"b/c']`, {}, '')).steps[1]!.attr!.value).toBe('a"b/c');
  });

  it('an unprefixed element name with no default namespace is in no namespace', () => {
    expect(value(parseNodeSelector('root', {}, '')).steps[0]!.test).toEqual({ kind: 'name', prefix: '', local: 'root', ns: '' });
  });

  it('refuses syntax errors, unbound prefixes and extension selectors with 400', () => {
    const bad = [
      '',
      '/root',
      'root/',
      'root//x',
      'root/@a/b',
      '@a',
      'namespace::*',
      'root/namespace::*/x',
      'root/x[',
      'root/x[1',
      'root/x[@a]',
      'root/x[@a=b]',
      'root/x[@a="b]',
      'root/x[@a="<"]',
      'root/x[@a="&bogus;"]',
      'root/x[@a="&#0;"]',
      'root/x[@a="v"][1]',
      'root/x[1][2]',
      'root/x y',
      'root/1x',
      'root/p:x',
      'root/x[@p:a="1"]',
      'root/@p:a',
      'root/@xmlns',
      'root/x()',
      'root/x[99999999999999999999]',
      'root/a:b:c',
    ];
    for (const t of bad) expect(code(parseNodeSelector(t, {}, 'urn:d')), t).toBe('malformed-request');
  });
});

describe('formatNodeSelector', () => {
  it('writes the selector back with the prefixes it was parsed with', () => {
    const text = `foo/a:bar[2][@b:x="q&quot;&amp;&lt;'"]/*[@y="/~~/"]/@a:z`;
    const s = value(parseNodeSelector(text, NS, 'urn:d'));
    expect(formatNodeSelector(s)).toBe(`foo/a:bar[2][@b:x="q&quot;&amp;&lt;'"]/*[@y="/~~/"]/@a:z`);
    expect(formatNodeSelector(value(parseNodeSelector('foo/namespace::*', {}, 'urn:d')))).toBe('foo/namespace::*');
  });

  const prefixes = ['', 'a', 'b'] as const;
  const nsOf = (p: string): string => (p === '' ? 'urn:default' : NS[p as 'a' | 'b']);
  const local = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9._-]{0,5}$/).filter((s) => !/^xml/i.test(s) && s !== 'namespace');
  const text = fc.string({ maxLength: 8, unit: fc.constantFrom('a', '"', "'", '&', '<', '>', '/', '[', ']', '@', '~', ' ', 'é', '\u{1F600}', '=', '*') });
  const attrName = fc.record({ p: fc.constantFrom(...prefixes), l: local }).map(
    ({ p, l }): AttributeName => ({ prefix: p, local: l, ns: p === '' ? '' : nsOf(p) }),
  );
  const stepArb: fc.Arbitrary<Step> = fc
    .record({
      any: fc.boolean(),
      p: fc.constantFrom(...prefixes),
      l: local,
      pos: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
      attr: fc.option(fc.record({ name: attrName, value: text }), { nil: undefined }),
    })
    .map(({ any, p, l, pos, attr }) => {
      const s: { test: Step['test']; position?: number; attr?: NonNullable<Step['attr']> } = {
        test: any ? { kind: 'any' } : { kind: 'name', prefix: p, local: l, ns: nsOf(p) },
      };
      if (pos !== undefined) s.position = pos;
      if (attr !== undefined) s.attr = attr;
      return s;
    });
  const terminalArb: fc.Arbitrary<TerminalSelector | undefined> = fc.oneof(
    fc.constant(undefined),
    fc.constant<TerminalSelector>({ kind: 'namespace' }),
    attrName.map((name): TerminalSelector => ({ kind: 'attribute', name })),
  );
  const selectorArb: fc.Arbitrary<NodeSelector> = fc
    .record({ steps: fc.array(stepArb, { minLength: 1, maxLength: 5 }), terminal: terminalArb })
    .map(({ steps, terminal }) => (terminal === undefined ? { steps } : { steps, terminal }));

  it('parseNodeSelector(formatNodeSelector(s)) = s (property)', () => {
    fc.assert(
      fc.property(selectorArb, (s) => {
        expect(value(parseNodeSelector(formatNodeSelector(s), NS, 'urn:default'))).toEqual(s);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on arbitrary text (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (t) => {
        const r = parseNodeSelector(t, NS, 'urn:d');
        expect(r.ok || r.error.code === 'malformed-request').toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
