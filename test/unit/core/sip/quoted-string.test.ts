import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { quoteString, scanQuotedString, unquoteString } from '../../../../core/sip/quoted-string.js';

describe('quoted-string (RFC 3261 §25.1)', () => {
  it('scans to the closing quote, honouring quoted-pairs', () => {
    const s = '"a\\"b" rest';
    expect(scanQuotedString(s, 0, s.length)).toBe(6);
    expect(scanQuotedString('"" x', 0, 4)).toBe(2);
  });

  it.each(['"abc', '"abc\\"', '"a\rb"', '"a\nb"', '"a\\\nb"', '"a\u0000b"', 'abc', '"a\u007fb"'])('rejects %j', (s) => {
    expect(scanQuotedString(s, 0, s.length)).toBe(-1);
  });

  it('allows HTAB and UTF-8 inside', () => {
    const s = '"J\u00fcrgen\tM."';
    expect(scanQuotedString(s, 0, s.length)).toBe(s.length);
  });

  it('unquotes and quotes', () => {
    expect(unquoteString('"a\\"b\\\\c"')).toBe('a"b\\c');
    expect(unquoteString('token')).toBe('token');
    expect(quoteString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(quoteString('x\r\ny')).toBe('"x  y"');
  });

  it('unquoteString(quoteString(s)) round-trips strings without control characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }).filter((s) => !/[\u0000-\u0008\u000a-\u001f\u007f]/.test(s)), (s) => {
        const q = quoteString(s);
        expect(scanQuotedString(q, 0, q.length)).toBe(q.length);
        expect(unquoteString(q)).toBe(s);
      }),
    );
  });
});
