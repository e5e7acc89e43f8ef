/**
 * The key order of the store (core/store/kv.ts): element-wise, numbers before
 * strings, strings by code point (the order of LMDB's ordered-binary keys),
 * a prefix before its extensions. Prefix scans and the timer index rely on it.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compareKeys, compareStrings, encodeKey, hasPrefix, TABLES, type Key, type KeyPart } from '../../../../core/store/kv.js';

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

/** The order of the UTF-8 bytes: what LMDB compares. */
const utf8Order = (a: string, b: string): number => sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));

/** Characters around the interesting boundaries: ASCII, BMP below/above the surrogate block, astral. */
const edgeChar = fc.constantFrom('a', 'b', 'z', '@', '.', '\u00e9', '\u07ff', '\u0800', '\ud7ff', '\ue000', '\uf8ff', '\ufffd', '\uffff', '\u{10000}', '\u{1f600}', '\u{10ffff}');
const str = fc.oneof(fc.string({ unit: edgeChar, maxLength: 5 }), fc.string({ unit: 'binary', maxLength: 5 }));
const num = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));
const part: fc.Arbitrary<KeyPart> = fc.oneof(str, num);
const key: fc.Arbitrary<Key> = fc.array(part, { maxLength: 4 });
/** Keys from a small pool of parts, so that shared prefixes and equal keys are common. */
const poolPart: fc.Arbitrary<KeyPart> = fc.constantFrom<KeyPart>(0, 1, 2, 1_767_268_800_000, 'sip:alice@example.com', 'sip:alice@example.com.evil', 'presence', 'presence.winfo', '\ue000', '\u{1f600}');
const poolKey: fc.Arbitrary<Key> = fc.array(poolPart, { maxLength: 4 });
const anyKey = fc.oneof(key, poolKey);

const keyEq = (a: Key, b: Key): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

describe('compareStrings', () => {
  it('orders by code point, so astral characters (surrogate pairs) sort after U+E000-U+FFFF', () => {
    // JavaScript's own < compares UTF-16 code units and gets these wrong.
    expect('\u{1f600}' < '\ue000').toBe(true);
    expect(compareStrings('\u{1f600}', '\ue000')).toBeGreaterThan(0);
    expect(compareStrings('\ue000', '\u{1f600}')).toBeLessThan(0);
    expect(compareStrings('\uffff', '\u{10000}')).toBeLessThan(0);
    expect(compareStrings('x\u{10ffff}', 'x\uffff')).toBeGreaterThan(0);
    // Below the surrogate block the code-unit order is already right.
    expect(compareStrings('\ud7ff', '\u{10000}')).toBeLessThan(0);
    expect(compareStrings('sip:alice@example.com', 'sip:bob@example.com')).toBeLessThan(0);
  });

  it('puts a string before its extensions and is 0 only for equal strings', () => {
    expect(compareStrings('presence', 'presence.winfo')).toBeLessThan(0);
    expect(compareStrings('presence.winfo', 'presence')).toBeGreaterThan(0);
    expect(compareStrings('', 'a')).toBeLessThan(0);
    expect(compareStrings('sip:alice@example.com', 'sip:alice@example.com')).toBe(0);
  });

  it('agrees with the UTF-8 byte order (LMDB) for any strings', () => {
    fc.assert(
      fc.property(str, str, (a, b) => {
        expect(sign(compareStrings(a, b))).toBe(utf8Order(a, b));
      }),
      { numRuns: 200 },
    );
  });

  it('is antisymmetric', () => {
    fc.assert(
      fc.property(str, str, (a, b) => {
        expect(sign(compareStrings(a, b)) + sign(compareStrings(b, a))).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});

describe('compareKeys', () => {
  it('puts numbers before strings at the same position, whatever follows', () => {
    expect(compareKeys([9_999_999_999_999], [''])).toBeLessThan(0);
    expect(compareKeys(['0'], [0])).toBeGreaterThan(0);
    expect(compareKeys(['sip:alice@example.com', 5, 'z'], ['sip:alice@example.com', 'a'])).toBeLessThan(0);
    fc.assert(
      fc.property(key, num, str, key, key, (head, n, s, t1, t2) => {
        expect(compareKeys([...head, n, ...t1], [...head, s, ...t2])).toBeLessThan(0);
        expect(compareKeys([...head, s, ...t2], [...head, n, ...t1])).toBeGreaterThan(0);
      }),
      { numRuns: 200 },
    );
  });

  it('orders numbers numerically, not as text', () => {
    expect(compareKeys([9], [10])).toBeLessThan(0);
    expect(compareKeys([-1], [0])).toBeLessThan(0);
    expect(compareKeys([1_767_268_800_000, 'sip:a@example.com'], [1_767_268_800_001])).toBeLessThan(0);
    expect(compareKeys([0], [-0])).toBe(0);
    fc.assert(
      fc.property(num, num, (a, b) => {
        expect(sign(compareKeys([a], [b]))).toBe(sign(a - b));
      }),
      { numRuns: 200 },
    );
  });

  it('puts a key before its extensions', () => {
    expect(compareKeys(['sip:alice@example.com'], ['sip:alice@example.com', 'presence'])).toBeLessThan(0);
    expect(compareKeys([], [0])).toBeLessThan(0);
    fc.assert(
      fc.property(anyKey, fc.array(part, { minLength: 1, maxLength: 3 }), (k, ext) => {
        expect(compareKeys(k, [...k, ...ext])).toBeLessThan(0);
        expect(compareKeys([...k, ...ext], k)).toBeGreaterThan(0);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps the extensions of a key contiguous (what makes prefix scans correct)', () => {
    // If k < c and c does not extend k, every extension of k is also < c.
    fc.assert(
      fc.property(poolKey, poolKey, fc.array(poolPart, { minLength: 1, maxLength: 3 }), (k, c, ext) => {
        fc.pre(compareKeys(k, c) < 0 && !hasPrefix(c, k));
        expect(compareKeys([...k, ...ext], c)).toBeLessThan(0);
      }),
      { numRuns: 200 },
    );
  });

  it('is 0 exactly for element-wise equal keys, and reflexive', () => {
    fc.assert(
      fc.property(anyKey, anyKey, (a, b) => {
        expect(compareKeys(a, a)).toBe(0);
        expect(compareKeys(a, b) === 0).toBe(keyEq(a, b));
      }),
      { numRuns: 200 },
    );
  });

  it('is antisymmetric', () => {
    fc.assert(
      fc.property(anyKey, anyKey, (a, b) => {
        expect(sign(compareKeys(a, b)) + sign(compareKeys(b, a))).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('is transitive', () => {
    fc.assert(
      fc.property(anyKey, anyKey, anyKey, (a, b, c) => {
        const [x, y, z] = [a, b, c].sort(compareKeys) as [Key, Key, Key];
        expect(compareKeys(x, y)).toBeLessThanOrEqual(0);
        expect(compareKeys(y, z)).toBeLessThanOrEqual(0);
        expect(compareKeys(x, z)).toBeLessThanOrEqual(0);
      }),
      { numRuns: 200 },
    );
  });

  it('sorts any list into an order in which every pair agrees (a total order)', () => {
    fc.assert(
      fc.property(fc.array(anyKey, { maxLength: 12 }), (keys) => {
        const sorted = [...keys].sort(compareKeys);
        for (let i = 0; i < sorted.length; i++) {
          for (let j = i + 1; j < sorted.length; j++) expect(compareKeys(sorted[i] as Key, sorted[j] as Key)).toBeLessThanOrEqual(0);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('orders string parts by code point like compareStrings', () => {
    fc.assert(
      fc.property(str, str, (a, b) => {
        expect(sign(compareKeys(['sip:alice@example.com', a], ['sip:alice@example.com', b]))).toBe(utf8Order(a, b));
      }),
      { numRuns: 200 },
    );
  });
});

describe('hasPrefix', () => {
  it('compares whole elements, never string prefixes', () => {
    expect(hasPrefix(['sip:alice@example.com', 'presence', 's1'], ['sip:alice@example.com', 'presence'])).toBe(true);
    expect(hasPrefix(['sip:alice@example.com', 'presence.winfo', 's1'], ['sip:alice@example.com', 'presence'])).toBe(false);
    expect(hasPrefix(['sip:alice@example.com.evil'], ['sip:alice@example.com'])).toBe(false);
    expect(hasPrefix([1], ['1'])).toBe(false);
    expect(hasPrefix(['1'], [1])).toBe(false);
  });

  it('accepts the empty prefix and the key itself, refuses longer prefixes', () => {
    expect(hasPrefix([], [])).toBe(true);
    expect(hasPrefix(['a', 1], [])).toBe(true);
    expect(hasPrefix(['a', 1], ['a', 1])).toBe(true);
    expect(hasPrefix(['a'], ['a', 1])).toBe(false);
  });

  it('is true exactly when the key starts with the prefix elements', () => {
    fc.assert(
      fc.property(poolKey, poolKey, (k, p) => {
        expect(hasPrefix(k, p)).toBe(p.length <= k.length && keyEq(k.slice(0, p.length), p));
        expect(hasPrefix([...p, ...k], p)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe('encodeKey', () => {
  it('is injective over tables and finite keys', () => {
    const table = fc.constantFrom(...TABLES);
    fc.assert(
      fc.property(table, anyKey, table, anyKey, (t1, k1, t2, k2) => {
        expect(encodeKey(t1, k1) === encodeKey(t2, k2)).toBe(t1 === t2 && keyEq(k1, k2));
      }),
      { numRuns: 200 },
    );
  });

  it('distinguishes a number from its decimal string and a table from a key part', () => {
    expect(encodeKey('timers', [1])).not.toBe(encodeKey('timers', ['1']));
    expect(encodeKey('states', ['sip:a@example.com', 'presence'])).not.toBe(encodeKey('states', ['sip:a@example.com,presence']));
    expect(encodeKey('subscriptions', ['x'])).not.toBe(encodeKey('targets', ['x']));
  });
});
