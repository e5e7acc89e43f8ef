import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { acceptQuality, accepts, parseAccept } from '../../../../core/sip/accept-header.js';

const PIDF = 'application/pidf+xml';

describe('parseAccept (RFC 3261 §20.1)', () => {
  it('parses a single type with q defaulting to 1', () => {
    expect(parseAccept([PIDF])).toEqual([{ type: 'application', subtype: 'pidf+xml', q: 1, params: [] }]);
  });

  it('merges several header values and comma lists, in order', () => {
    const ranges = parseAccept([
      'application/pidf+xml, application/xpidf+xml',
      'application/simple-message-summary,multipart/related, application/rlmi+xml',
    ])!;
    expect(ranges.map((r) => `${r.type}/${r.subtype}`)).toEqual([
      'application/pidf+xml',
      'application/xpidf+xml',
      'application/simple-message-summary',
      'multipart/related',
      'application/rlmi+xml',
    ]);
  });

  it('parses wildcards, q values and media params (params after q are accept-extensions)', () => {
    expect(parseAccept(['*/*;q=0.1, Application/*;q=0.5, text/plain;charset=utf-8;q=0.25;ext;x=1'])).toEqual([
      { type: '*', subtype: '*', q: 0.1, params: [] },
      { type: 'application', subtype: '*', q: 0.5, params: [] },
      { type: 'text', subtype: 'plain', q: 0.25, params: [['charset', 'utf-8']] },
    ]);
  });

  it.each([
    ['0', 0],
    ['0.', 0],
    ['0.5', 0.5],
    ['0.001', 0.001],
    ['0.999', 0.999],
    ['1', 1],
    ['1.', 1],
    ['1.000', 1],
  ])('accepts qvalue %s', (q, value) => {
    expect(parseAccept([`${PIDF};q=${q}`])?.[0]?.q).toBe(value);
  });

  it.each(['1.5', '1.001', '2', '.5', '0.5555', 'abc', '', '-1', '0,5'])('rejects qvalue %j', (q) => {
    expect(parseAccept([`${PIDF};q=${q}`])).toBeUndefined();
  });

  it('returns [] for a present but empty header', () => {
    expect(parseAccept([''])).toEqual([]);
    expect(parseAccept(['  '])).toEqual([]);
    expect(parseAccept([])).toEqual([]);
  });

  it.each([['*/pidf+xml'], ['application'], ['application/pidf+xml;q'], ['"x"'], ['<a>'], ['application/pidf+xml;charset']])(
    'rejects %j',
    (v) => {
      expect(parseAccept([v])).toBeUndefined();
    },
  );

  it('refuses more than 256 ranges', () => {
    expect(parseAccept([Array(256).fill('a/b').join(',')])).toHaveLength(256);
    expect(parseAccept([Array(200).fill('a/b').join(','), Array(57).fill('a/b').join(',')])).toBeUndefined();
  });
});

describe('accepts / acceptQuality', () => {
  it('accepts the package default when there is no Accept header', () => {
    expect(accepts(undefined, PIDF)).toBe(true);
    expect(acceptQuality(undefined, PIDF)).toBe(1);
  });

  it('accepts nothing when the header is present but empty', () => {
    expect(accepts([], PIDF)).toBe(false);
  });

  it('matches exact, type/* and */*, ignoring params and case', () => {
    expect(accepts(parseAccept([PIDF]), 'Application/PIDF+XML;charset=UTF-8')).toBe(true);
    expect(accepts(parseAccept(['application/*']), PIDF)).toBe(true);
    expect(accepts(parseAccept(['*/*']), PIDF)).toBe(true);
    expect(accepts(parseAccept(['application/xpidf+xml']), PIDF)).toBe(false);
    expect(accepts(parseAccept(['text/*']), PIDF)).toBe(false);
  });

  it('treats q=0 as not acceptable, with the most specific range winning', () => {
    const r = parseAccept(['application/pidf+xml;q=0, */*']);
    expect(accepts(r, PIDF)).toBe(false);
    expect(accepts(r, 'application/xpidf+xml')).toBe(true);
    const s = parseAccept(['application/*;q=0, application/pidf+xml;q=0.2']);
    expect(acceptQuality(s, PIDF)).toBe(0.2);
    expect(accepts(s, 'application/xpidf+xml')).toBe(false);
    const t = parseAccept(['application/pidf+xml;q=0.3, application/pidf+xml;q=0.7']);
    expect(acceptQuality(t, PIDF)).toBe(0.7);
    const u = parseAccept(['application/pidf+xml;q=0.7, application/pidf+xml;q=0.3, application/*;q=0.9']);
    expect(acceptQuality(u, PIDF)).toBe(0.7);
  });

  it('rejects an invalid media type', () => {
    expect(accepts(parseAccept(['*/*']), 'not a type')).toBe(false);
  });

  it('handles a Polycom-style Accept for winfo', () => {
    const r = parseAccept(['application/watcherinfo+xml']);
    expect(accepts(r, 'application/watcherinfo+xml')).toBe(true);
    expect(accepts(r, PIDF)).toBe(false);
  });
});

describe('properties', () => {
  it('never throws', () => {
    const acc = fc.string({ unit: fc.constantFrom(...'ap/*;q=0.1, "\\<>x'.split('')), maxLength: 40 });
    fc.assert(
      fc.property(fc.array(fc.oneof(acc, fc.string({ unit: 'binary', maxLength: 40 })), { maxLength: 3 }), (values) => {
        const r = parseAccept(values);
        const q = acceptQuality(r, PIDF);
        expect(q).toBeGreaterThanOrEqual(0);
        expect(q).toBeLessThanOrEqual(1);
      }),
      { numRuns: 2000 },
    );
  });

  it('a type listed with q>0 and nothing more specific is accepted', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), (thousandths) => {
        const q = (thousandths / 1000).toFixed(3);
        expect(accepts(parseAccept([`text/plain, ${PIDF};q=${q}`]), PIDF)).toBe(true);
      }),
    );
  });
});
