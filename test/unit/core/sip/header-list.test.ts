import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { splitHeaderList } from '../../../../core/sip/header-list.js';

describe('splitHeaderList (RFC 3261 §7.3.1)', () => {
  it('splits Record-Route values and trims them', () => {
    expect(splitHeaderList('<sip:p1.example.com;lr>,  <sip:p2.example.com;lr> ,<sip:10.0.0.1;lr;r2=on>')).toEqual([
      '<sip:p1.example.com;lr>',
      '<sip:p2.example.com;lr>',
      '<sip:10.0.0.1;lr;r2=on>',
    ]);
  });

  it('does not split at commas in quoted display names', () => {
    expect(splitHeaderList('"Doe, John" <sip:jd@example.com>, <sip:y@example.com>')).toEqual([
      '"Doe, John" <sip:jd@example.com>',
      '<sip:y@example.com>',
    ]);
  });

  it('does not split at commas inside <uri> (user part may hold ",")', () => {
    expect(splitHeaderList('<sip:a,b@example.com;x=1>, <sip:c@example.com>')).toEqual([
      '<sip:a,b@example.com;x=1>',
      '<sip:c@example.com>',
    ]);
  });

  it('honours backslash escapes inside quoted strings', () => {
    expect(splitHeaderList('"a \\", b" <sip:x@y.example>, z')).toEqual(['"a \\", b" <sip:x@y.example>', 'z']);
  });

  it('keeps quoted Contact params with <> and commas together', () => {
    const a =
      '<sip:alice@192.168.1.33;transport=tcp;ob>;+sip.instance="<urn:uuid:7a1b2c3d-0000-1000-8000-00aabbccddee>";methods="INVITE, ACK, BYE"';
    const b = '<sip:alice@[2001:db8::33]:5061;transport=tls>;expires=600';
    expect(splitHeaderList(`${a}, ${b}`)).toEqual([a, b]);
  });

  it('splits an Accept list', () => {
    expect(splitHeaderList('application/pidf+xml;q=0.9, application/xpidf+xml;q=0.1,*/*;q=0')).toEqual([
      'application/pidf+xml;q=0.9',
      'application/xpidf+xml;q=0.1',
      '*/*;q=0',
    ]);
  });

  it('returns [] for empty values and skips empty elements', () => {
    expect(splitHeaderList('')).toEqual([]);
    expect(splitHeaderList(' \t ')).toEqual([]);
    expect(splitHeaderList(',')).toEqual([]);
    expect(splitHeaderList('a,,b, ,')).toEqual(['a', 'b']);
  });

  it.each(['"abc', '<sip:a@b', 'sip:a@b>', '<<sip:a@b>>', '"a\\', 'x, "y\r\nz"', '<sip:a@b>>'])(
    'returns undefined for unbalanced %j',
    (value) => {
      expect(splitHeaderList(value)).toBeUndefined();
    },
  );

  it('treats a quote inside <> as part of the URI', () => {
    expect(splitHeaderList('<a"b>, c')).toEqual(['<a"b>', 'c']);
  });

  it('refuses values over 8 KiB and handles 8 KiB of separators quickly', () => {
    expect(splitHeaderList('a,'.repeat(4200))).toBeUndefined();
    expect(splitHeaderList(','.repeat(8192))).toEqual([]);
    expect(splitHeaderList('"'.repeat(8191))).toBeUndefined();
  });
});

const tokenArb = fc.stringMatching(/^[a-zA-Z0-9\-.!%*_+`'~;=/]{1,10}$/);
const quotedArb = fc
  .string({ unit: fc.constantFrom(...'ab ,;<>"\\'.split('')), maxLength: 10 })
  .map((s) => '"' + s.replace(/["\\]/g, (c) => '\\' + c) + '"');
const angleArb = fc.string({ unit: fc.constantFrom(...'sip:a@b,;"= '.split('')), maxLength: 12 }).map((s) => '<' + s + '>');
const elementArb = fc
  .array(fc.oneof(tokenArb, quotedArb, angleArb), { minLength: 1, maxLength: 4 })
  .map((parts) => parts.join(' '));

describe('properties', () => {
  it('join/split round-trips generated lists', () => {
    fc.assert(
      fc.property(fc.array(elementArb, { maxLength: 6 }), fc.constantFrom(',', ', ', ' ,\t'), (elements, sep) => {
        expect(splitHeaderList(elements.join(sep))).toEqual(elements);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws; elements are trimmed and non-empty', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ unit: fc.constantFrom(...'<>",\\ a'.split('')), maxLength: 40 })),
        (s) => {
          const out = splitHeaderList(s);
          if (out !== undefined) {
            for (const e of out) {
              expect(e.length).toBeGreaterThan(0);
              expect(e).not.toMatch(/^[ \t\r\n]|[ \t\r\n]$/);
            }
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
