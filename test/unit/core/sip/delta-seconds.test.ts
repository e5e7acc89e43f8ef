import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { MAX_DELTA_SECONDS, parseDeltaSeconds } from '../../../../core/sip/delta-seconds.js';

describe('parseDeltaSeconds (RFC 3261 §25.1)', () => {
  it('returns null for an absent header', () => {
    expect(parseDeltaSeconds(undefined)).toBeNull();
  });

  it.each([
    ['0', 0],
    ['3600', 3600],
    [' 3600 ', 3600],
    ['\t60\t', 60],
    ['007', 7],
    ['4294967295', 4294967295],
    ['4294967296', 4294967295],
    ['99999999999999999999999999999', 4294967295],
    ['0000000000000000000000000000001', 1],
  ])('%j → %d', (text, value) => {
    expect(parseDeltaSeconds(text)).toBe(value);
  });

  it.each(['', '  ', '-1', '+1', '1.5', '1e3', '0x10', '36 00', 'abc', '3600;x', '١٢', '3600\0'])('rejects %j', (text) => {
    expect(parseDeltaSeconds(text)).toBeUndefined();
  });

  it('refuses values over 8 KiB', () => {
    expect(parseDeltaSeconds('1'.repeat(9000))).toBeUndefined();
  });

  it('round-trips every value up to 2^32-1 and clamps above', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_DELTA_SECONDS }), (n) => {
        expect(parseDeltaSeconds(String(n))).toBe(n);
      }),
    );
    fc.assert(
      fc.property(fc.bigInt({ min: BigInt(MAX_DELTA_SECONDS), max: 10n ** 40n }), (n) => {
        expect(parseDeltaSeconds(n.toString())).toBe(MAX_DELTA_SECONDS);
      }),
    );
  });

  it('never throws', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (s) => {
        const v = parseDeltaSeconds(s);
        expect(v === undefined || (typeof v === 'number' && Number.isInteger(v) && v >= 0)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
