import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  addressKey,
  formatIPv6,
  isPrivateAddress,
  parseIPv4,
  parseIPv6,
  sameAddress,
} from '../../../../core/sip/ip-address.js';

describe('parseIPv4', () => {
  it('parses dotted quads', () => {
    expect(parseIPv4('0.0.0.0')).toBe(0);
    expect(parseIPv4('255.255.255.255')).toBe(4294967295);
    expect(parseIPv4('192.168.1.20')).toBe(0xc0a80114);
    expect(parseIPv4('010.000.000.001')).toBe(0x0a000001);
  });
  it.each(['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '1..2.3', '1.2.3.', '.1.2.3', '1.2.3.4a', '1234.1.1.1', ' 1.2.3.4'])(
    'rejects %j',
    (s) => {
      expect(parseIPv4(s)).toBeUndefined();
    },
  );
});

describe('parseIPv6 / formatIPv6 (RFC 4291 §2.2, RFC 5952)', () => {
  it.each([
    ['2001:db8::1', '2001:db8::1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['fe80::1:2', 'fe80::1:2'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['::FFFF:c000:0201', '::ffff:192.0.2.1'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
  ])('%s → %s', (input, canonical) => {
    const groups = parseIPv6(input);
    expect(groups).toHaveLength(8);
    expect(formatIPv6(groups!)).toBe(canonical);
  });

  it.each([
    '',
    ':',
    ':::',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8::',
    '12345::',
    'g::1',
    ':1::2',
    '1::2:',
    '1.2.3.4::',
    '::1.2.3',
    'fe80::1%eth0',
    '[::1]',
  ])('rejects %j', (s) => {
    expect(parseIPv6(s)).toBeUndefined();
  });

  it('round-trips canonical text', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant(0), fc.nat(0xffff)), { minLength: 8, maxLength: 8 }), (groups) => {
        const text = formatIPv6(groups);
        expect(parseIPv6(text)).toEqual(groups);
        expect(formatIPv6(parseIPv6(text.toUpperCase())!)).toBe(text);
      }),
    );
  });
});

describe('isPrivateAddress', () => {
  it('requires IPv6 inside brackets', () => {
    expect(isPrivateAddress('[10.0.0.1]')).toBe(false);
    expect(isPrivateAddress('[fd00::1]')).toBe(true);
  });
  it('covers the RFC 1918 boundaries', () => {
    expect(isPrivateAddress('172.15.255.255')).toBe(false);
    expect(isPrivateAddress('172.16.0.0')).toBe(true);
    expect(isPrivateAddress('172.31.255.255')).toBe(true);
    expect(isPrivateAddress('172.32.0.0')).toBe(false);
  });
});

describe('addressKey / sameAddress', () => {
  it('compares IPv6 in any spelling, with or without brackets', () => {
    expect(sameAddress('[2001:DB8:0::1]', '2001:db8::1')).toBe(true);
    expect(sameAddress('::ffff:192.168.1.2', '192.168.1.2')).toBe(true);
    expect(sameAddress('192.168.1.2', '192.168.1.3')).toBe(false);
    expect(sameAddress('Proxy.Example.com', 'proxy.example.COM')).toBe(true);
    expect(addressKey('[::1]')).toBe('::1');
    expect(addressKey('010.0.0.1')).toBe('10.0.0.1');
  });

  it('never throws', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'0123456789abcdef:.[]%'.split('')), maxLength: 50 }), (s) => {
        parseIPv6(s);
        parseIPv4(s);
        isPrivateAddress(s);
        expect(sameAddress(s, s)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
