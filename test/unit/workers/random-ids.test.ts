/** Entity-tags and subscription ids from the CSPRNG (workers/random-ids.ts). */
import { describe, expect, it } from 'vitest';
import { RandomIds } from '../../../workers/random-ids.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const FORMAT = /^ps-fra-2\.[A-Za-z0-9_-]{16}$/;

describe('RandomIds', () => {
  it('formats ids and entity-tags as <nodeId>.<16 characters>', () => {
    const ids = new RandomIds('ps-fra-2');
    for (let i = 0; i < 100; i++) {
      expect(ids.newEtag()).toMatch(FORMAT);
      expect(ids.newId()).toMatch(FORMAT);
    }
  });

  it('never repeats over 100 000 ids, across pool refills and both kinds', () => {
    const ids = new RandomIds('n1');
    const seen = new Set<string>();
    for (let i = 0; i < 50_000; i++) {
      seen.add(ids.newEtag());
      seen.add(ids.newId());
    }
    expect(seen.size).toBe(100_000);
  });

  it('does not repeat between two generators of the same node (e.g. after a restart)', () => {
    const before = new RandomIds('n1');
    const after = new RandomIds('n1');
    const seen = new Set<string>();
    for (let i = 0; i < 5_000; i++) {
      seen.add(before.newEtag());
      seen.add(after.newEtag());
    }
    expect(seen.size).toBe(10_000);
  });

  it('uses the whole URL-safe base64 alphabet and nothing else', () => {
    const ids = new RandomIds('n1');
    const counts = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      for (const ch of ids.newId().slice(3)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([...ALPHABET].sort());
    // 320 000 characters over 64 symbols: 5 000 each on average; a biased
    // mapping (e.g. a modulo over the wrong range) would starve some symbols.
    for (const n of counts.values()) {
      expect(n).toBeGreaterThan(4_000);
      expect(n).toBeLessThan(6_000);
    }
  });

  it('keeps the node id as given, so ids of different nodes never collide', () => {
    const a = new RandomIds('node-a');
    const b = new RandomIds('node-b');
    expect(a.newEtag().startsWith('node-a.')).toBe(true);
    expect(b.newId().startsWith('node-b.')).toBe(true);
  });
});
