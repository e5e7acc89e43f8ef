/**
 * The per-thread fan-out target cache (core/store/target-cache.ts): entries
 * are valid only for the subscription-set version they were filled with,
 * bounded by the total number of targets, least recently used evicted first.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { NotifyTarget } from '../../../../core/store/records.js';
import { TargetCache } from '../../../../core/store/target-cache.js';

const ALICE = 'sip:alice@example.com';
const BOB = 'sip:bob@example.com';
const CAROL = 'sip:carol@example.com';
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

function target(id: string): NotifyTarget {
  return {
    id,
    status: 'active',
    handling: 'allow',
    view: 'full',
    expiresAt: T0 + 3_600_000,
    requestUri: `sip:${id}@192.0.2.20:5062;transport=udp`,
    nextHop: `sip:${id}@192.0.2.20:5062;transport=udp`,
    headers: `From: <${ALICE}>;tag=lt-${id}\r\nTo: <sip:${id}@example.com>;tag=wf\r\nCall-ID: ${id}\r\nContact: <sip:192.0.2.1:5060>\r\nEvent: presence\r\n`,
  };
}
const targets = (prefix: string, n: number): NotifyTarget[] => Array.from({ length: n }, (_, i) => target(`${prefix}${i + 1}`));

describe('TargetCache hits and misses', () => {
  it('misses when empty, hits with the same version and returns the very list stored', () => {
    const cache = new TargetCache(100);
    expect(cache.get(ALICE, 'presence', 'n1.v1')).toBeUndefined();
    const list = targets('w', 3);
    cache.set(ALICE, 'presence', 'n1.v1', list);
    expect(cache.get(ALICE, 'presence', 'n1.v1')).toBe(list);
    expect(cache.hits).toBe(1);
    expect(cache.misses).toBe(1);
  });

  it('misses for another version of the subscription set', () => {
    const cache = new TargetCache(100);
    cache.set(ALICE, 'presence', 'n1.v1', targets('w', 2));
    expect(cache.get(ALICE, 'presence', 'n1.v2')).toBeUndefined();
    expect(cache.misses).toBe(1);
    expect(cache.hits).toBe(0);
  });

  it('replaces the entry of a resource and event when set again', () => {
    const cache = new TargetCache(100);
    cache.set(ALICE, 'presence', 'n1.v1', targets('w', 3));
    const next = targets('x', 1);
    cache.set(ALICE, 'presence', 'n1.v2', next);
    expect(cache.get(ALICE, 'presence', 'n1.v1')).toBeUndefined();
    expect(cache.get(ALICE, 'presence', 'n1.v2')).toBe(next);
    expect(cache.size).toBe(1);
  });

  it('keeps resources and events apart', () => {
    const cache = new TargetCache(100);
    const a = targets('a', 1);
    const w = targets('w', 1);
    const b = targets('b', 1);
    cache.set(ALICE, 'presence', 'v', a);
    cache.set(ALICE, 'presence.winfo', 'v', w);
    cache.set(BOB, 'presence', 'v', b);
    expect(cache.get(ALICE, 'presence', 'v')).toBe(a);
    expect(cache.get(ALICE, 'presence.winfo', 'v')).toBe(w);
    expect(cache.get(BOB, 'presence', 'v')).toBe(b);
    expect(cache.get(CAROL, 'presence', 'v')).toBeUndefined();
  });

  it('caches an empty list (a resource nobody watches)', () => {
    const cache = new TargetCache(10);
    cache.set(ALICE, 'presence', 'v1', []);
    expect(cache.get(ALICE, 'presence', 'v1')).toEqual([]);
    expect(cache.size).toBe(0);
  });
});

describe('TargetCache bounds', () => {
  it('evicts the least recently used resource once the total number of targets is exceeded', () => {
    const cache = new TargetCache(5);
    cache.set(ALICE, 'presence', 'va', targets('a', 2));
    cache.set(BOB, 'presence', 'vb', targets('b', 2));
    // Alice is used again: Bob becomes the least recently used.
    expect(cache.get(ALICE, 'presence', 'va')).toBeDefined();
    cache.set(CAROL, 'presence', 'vc', targets('c', 2));
    expect(cache.size).toBe(4);
    expect(cache.get(BOB, 'presence', 'vb')).toBeUndefined();
    expect(cache.get(ALICE, 'presence', 'va')).toHaveLength(2);
    expect(cache.get(CAROL, 'presence', 'vc')).toHaveLength(2);
  });

  it('evicts as many old entries as needed', () => {
    const cache = new TargetCache(4);
    cache.set(ALICE, 'presence', 'va', targets('a', 1));
    cache.set(BOB, 'presence', 'vb', targets('b', 1));
    cache.set(CAROL, 'presence', 'vc', targets('c', 2));
    cache.set('sip:dave@example.com', 'presence', 'vd', targets('d', 3));
    expect(cache.size).toBe(3);
    expect(cache.get(ALICE, 'presence', 'va')).toBeUndefined();
    expect(cache.get(BOB, 'presence', 'vb')).toBeUndefined();
    expect(cache.get(CAROL, 'presence', 'vc')).toBeUndefined();
    expect(cache.get('sip:dave@example.com', 'presence', 'vd')).toHaveLength(3);
  });

  it('caches a list of exactly the bound', () => {
    const cache = new TargetCache(3);
    cache.set(ALICE, 'presence', 'v1', targets('a', 3));
    expect(cache.get(ALICE, 'presence', 'v1')).toHaveLength(3);
    expect(cache.size).toBe(3);
  });

  it('does not cache a list larger than the bound and keeps what it holds', () => {
    const cache = new TargetCache(3);
    const bob = targets('b', 2);
    cache.set(BOB, 'presence', 'vb', bob);
    cache.set(ALICE, 'presence', 'va', targets('a', 4));
    expect(cache.get(ALICE, 'presence', 'va')).toBeUndefined();
    expect(cache.get(BOB, 'presence', 'vb')).toBe(bob);
    expect(cache.size).toBe(2);
  });

  it('accounts for the replaced entry when the same resource is set again', () => {
    const cache = new TargetCache(5);
    cache.set(ALICE, 'presence', 'v1', targets('a', 4));
    cache.set(BOB, 'presence', 'vb', targets('b', 1));
    cache.set(ALICE, 'presence', 'v2', targets('a', 3));
    // 3 + 1 <= 5: nothing had to go.
    expect(cache.size).toBe(4);
    expect(cache.get(BOB, 'presence', 'vb')).toHaveLength(1);
  });
});

describe('TargetCache against an LRU model', () => {
  const res = fc.constantFrom(ALICE, BOB, CAROL, 'sip:dave@example.com');
  const ver = fc.constantFrom('v1', 'v2');
  const op = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), res, ver, n: fc.nat({ max: 7 }) }),
    fc.record({ kind: fc.constant('get' as const), res, ver }),
  );

  it('returns what an LRU of bounded total size holds and never exceeds the bound', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(op, { maxLength: 40 }), (max, ops) => {
        const cache = new TargetCache(max);
        // Model: insertion-ordered list, most recent last.
        let model: { res: string; ver: string; list: NotifyTarget[] }[] = [];
        for (const o of ops) {
          if (o.kind === 'set') {
            const list = targets(o.res, o.n);
            cache.set(o.res, 'presence', o.ver, list);
            if (o.n > max) continue;
            model = model.filter((e) => e.res !== o.res);
            model.push({ res: o.res, ver: o.ver, list });
            while (model.reduce((s, e) => s + e.list.length, 0) > max) model.shift();
          } else {
            const e = model.find((m) => m.res === o.res);
            const hit = e !== undefined && e.ver === o.ver;
            expect(cache.get(o.res, 'presence', o.ver)).toBe(hit ? e.list : undefined);
            if (hit) model = [...model.filter((m) => m !== e), e];
          }
          const held = model.reduce((s, e) => s + e.list.length, 0);
          expect(cache.size).toBe(held);
          expect(cache.size).toBeLessThanOrEqual(max);
        }
      }),
      { numRuns: 200 },
    );
  });
});
