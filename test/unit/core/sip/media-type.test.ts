import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { type MediaType, formatMediaType, parseMediaType, sameMediaType } from '../../../../core/sip/media-type.js';

describe('parseMediaType (RFC 3261 §20.15, RFC 2045 §5.1)', () => {
  it('parses a plain type', () => {
    expect(parseMediaType('application/pidf+xml')).toEqual({ type: 'application', subtype: 'pidf+xml', params: [] });
  });

  it('lower-cases type, subtype and parameter names; unquotes values', () => {
    expect(parseMediaType('Application/PIDF+XML; Charset="UTF-8"')).toEqual({
      type: 'application',
      subtype: 'pidf+xml',
      params: [['charset', 'UTF-8']],
    });
  });

  it('parses an RLMI multipart type (RFC 4662)', () => {
    expect(
      parseMediaType('multipart/related;type="application/rlmi+xml";start="<nXYxAE@pres.vancouver.example.com>";boundary=50UBfW7LSCVLtggUPe5z')
        ?.params,
    ).toEqual([
      ['type', 'application/rlmi+xml'],
      ['start', '<nXYxAE@pres.vancouver.example.com>'],
      ['boundary', '50UBfW7LSCVLtggUPe5z'],
    ]);
  });

  it('tolerates LWS around the slash and the parameters', () => {
    expect(parseMediaType(' application / watcherinfo+xml ; charset = utf-8 ')?.subtype).toBe('watcherinfo+xml');
  });

  it.each([
    '',
    'application',
    'application/',
    '/pidf+xml',
    'application/pidf+xml;charset',
    'application/pidf+xml;',
    'application/pidf xml',
    'application/pidf+xml;charset="x',
    'application/pidf+xml, text/plain',
    'applic@tion/pidf',
  ])('rejects %j', (text) => {
    expect(parseMediaType(text)).toBeUndefined();
  });
});

describe('formatMediaType / sameMediaType', () => {
  it('quotes non-token values', () => {
    expect(formatMediaType({ type: 'multipart', subtype: 'related', params: [['type', 'application/rlmi+xml'], ['x', 'y']] })).toBe(
      'multipart/related;type="application/rlmi+xml";x=y',
    );
    expect(formatMediaType({ type: 'text', subtype: 'plain', params: [['a', '']] })).toBe('text/plain;a=""');
  });

  it('compares type/subtype only', () => {
    expect(sameMediaType('application/pidf+xml', 'APPLICATION/PIDF+XML;charset=utf-8')).toBe(true);
    expect(sameMediaType('application/pidf+xml', 'application/xpidf+xml')).toBe(false);
    expect(sameMediaType('application/pidf+xml', 'text/pidf+xml')).toBe(false);
    expect(sameMediaType('garbage', 'garbage')).toBe(false);
  });
});

const tokenArb = fc.stringMatching(/^[a-z0-9\-.!%*_+`'~]{1,10}$/);
const mediaTypeArb: fc.Arbitrary<MediaType> = fc.record({
  type: tokenArb,
  subtype: tokenArb,
  params: fc.array(fc.tuple(tokenArb, fc.string({ unit: 'grapheme-ascii', maxLength: 10 }).filter((s) => !/[\u0000-\u001f\u007f]/.test(s))), {
    maxLength: 3,
  }),
});

describe('properties', () => {
  it('parseMediaType(formatMediaType(mt)) round-trips', () => {
    fc.assert(
      fc.property(mediaTypeArb, (mt) => {
        expect(parseMediaType(formatMediaType(mt))).toEqual(mt);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => {
        parseMediaType(s);
        sameMediaType(s, 'application/pidf+xml');
      }),
      { numRuns: 2000 },
    );
  });
});
