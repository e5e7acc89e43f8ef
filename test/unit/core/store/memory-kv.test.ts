/**
 * The in-memory store (core/store/memory-kv.ts): ordered tables, prefix and
 * range scans with limits, and values deep-copied on the way in and out like
 * a real (serialising) store.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compareKeys, encodeKey, hasPrefix, type Key, type KeyPart, type KvEntry, type TableName } from '../../../../core/store/kv.js';
import { cloneData, MemoryKv } from '../../../../core/store/memory-kv.js';

const ALICE = 'sip:alice@example.com';
const BOB = 'sip:bob@example.com';
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

const keys = (entries: Iterable<KvEntry>): Key[] => [...entries].map((e) => e.key);

describe('MemoryKv get/put/remove', () => {
  it('returns undefined for a missing key and the stored value after put', () => {
    const kv = new MemoryKv();
    expect(kv.get('states', [ALICE, 'presence'])).toBeUndefined();
    kv.put('states', [ALICE, 'presence'], { version: 1, body: '<presence/>' });
    expect(kv.get('states', [ALICE, 'presence'])).toEqual({ version: 1, body: '<presence/>' });
    expect(kv.get('states', [ALICE])).toBeUndefined();
    expect(kv.get('states', [ALICE, 'presence', 'x'])).toBeUndefined();
  });

  it('overwrites in place: one row per key', () => {
    const kv = new MemoryKv();
    kv.put('resources', [ALICE], { seq: 1 });
    kv.put('resources', [ALICE], { seq: 2 });
    expect(kv.get('resources', [ALICE])).toEqual({ seq: 2 });
    expect(kv.count('resources')).toBe(1);
  });

  it('removes a key; removing a missing key is a no-op', () => {
    const kv = new MemoryKv();
    kv.put('resources', [ALICE], { seq: 1 });
    kv.put('resources', [BOB], { seq: 7 });
    kv.remove('resources', [ALICE]);
    kv.remove('resources', ['sip:carol@example.com']);
    expect(kv.get('resources', [ALICE])).toBeUndefined();
    expect(kv.get('resources', [BOB])).toEqual({ seq: 7 });
    expect(kv.count('resources')).toBe(1);
  });

  it('keeps tables apart', () => {
    const kv = new MemoryKv();
    kv.put('subscriptions', [ALICE, 'presence', 's1'], { id: 's1' });
    expect(kv.get('targets', [ALICE, 'presence', 's1'])).toBeUndefined();
    expect(kv.count('targets')).toBe(0);
  });

  it('distinguishes a number key part from its decimal string', () => {
    const kv = new MemoryKv();
    kv.put('timers', [1, ALICE], 0);
    kv.put('timers', ['1', ALICE], 1);
    expect(kv.get('timers', [1, ALICE])).toBe(0);
    expect(kv.get('timers', ['1', ALICE])).toBe(1);
    expect(kv.count('timers')).toBe(2);
  });

  it('stores falsy values (0, "", false, null) as values, not as absence', () => {
    const kv = new MemoryKv();
    kv.put('timers', [T0, ALICE, 'subscription', 'presence', 's1'], 0);
    kv.put('states', [ALICE, 'a'], '');
    kv.put('states', [ALICE, 'b'], false);
    kv.put('states', [ALICE, 'c'], null);
    expect(kv.get('timers', [T0, ALICE, 'subscription', 'presence', 's1'])).toBe(0);
    expect(kv.get('states', [ALICE, 'a'])).toBe('');
    expect(kv.get('states', [ALICE, 'b'])).toBe(false);
    expect(kv.get('states', [ALICE, 'c'])).toBeNull();
  });

  it('refuses an unknown table', () => {
    const kv = new MemoryKv();
    expect(() => kv.get('sessions' as TableName, ['x'])).toThrow(/unknown table/);
  });
});

describe('MemoryKv copies values in and out', () => {
  it('is not affected by later changes to the object that was put', () => {
    const kv = new MemoryKv();
    const rec = { seq: 3, pubs: { presence: 1 }, route: ['<sip:p1.example.net;lr>'] };
    kv.put('resources', [ALICE], rec);
    rec.seq = 99;
    rec.pubs.presence = 42;
    rec.route.push('<sip:evil.example.net;lr>');
    expect(kv.get('resources', [ALICE])).toEqual({ seq: 3, pubs: { presence: 1 }, route: ['<sip:p1.example.net;lr>'] });
  });

  it('hands out copies: changing a read value changes nothing stored', () => {
    const kv = new MemoryKv();
    kv.put('resources', [ALICE], { seq: 3, subs: { presence: 2 } });
    const a = kv.get('resources', [ALICE]) as { seq: number; subs: Record<string, number> };
    a.seq = 100;
    a.subs.presence = 0;
    const b = kv.get('resources', [ALICE]);
    expect(b).toEqual({ seq: 3, subs: { presence: 2 } });
    expect(b).not.toBe(a);
    const [scanned] = [...kv.prefix('resources', [ALICE])];
    (scanned?.value as { subs: Record<string, number> }).subs.presence = 5;
    (scanned?.key as KeyPart[]).push('junk');
    expect(kv.get('resources', [ALICE])).toEqual({ seq: 3, subs: { presence: 2 } });
    expect(keys(kv.prefix('resources', []))).toEqual([[ALICE]]);
    const [ranged] = [...kv.between('resources', [], [BOB])];
    (ranged?.value as { subs: Record<string, number> }).subs.presence = 9;
    expect(kv.get('resources', [ALICE])).toEqual({ seq: 3, subs: { presence: 2 } });
  });

  it('copies the key too', () => {
    const kv = new MemoryKv();
    const key: KeyPart[] = [ALICE, 'presence'];
    kv.put('states', key, { version: 1 });
    key[1] = 'presence.winfo';
    expect(kv.get('states', [ALICE, 'presence'])).toEqual({ version: 1 });
    expect(kv.get('states', [ALICE, 'presence.winfo'])).toBeUndefined();
  });

  it('cloneData copies nested objects and arrays and drops undefined fields', () => {
    const src = { a: [{ b: 1 }], c: { d: 'x' }, e: undefined };
    const copy = cloneData(src);
    expect(copy).toEqual({ a: [{ b: 1 }], c: { d: 'x' } });
    expect('e' in copy).toBe(false);
    expect(copy.a).not.toBe(src.a);
    expect(copy.a[0]).not.toBe(src.a[0]);
    expect(copy.c).not.toBe(src.c);
  });
});

describe('MemoryKv prefix', () => {
  function subs(): MemoryKv {
    const kv = new MemoryKv();
    // Inserted out of order on purpose.
    kv.put('subscriptions', [BOB, 'presence', 's9'], { id: 's9' });
    kv.put('subscriptions', [ALICE, 'presence.winfo', 's5'], { id: 's5' });
    kv.put('subscriptions', [ALICE, 'presence', 's3'], { id: 's3' });
    kv.put('subscriptions', [`${ALICE}.evil`, 'presence', 's4'], { id: 's4' });
    kv.put('subscriptions', [ALICE, 'presence', 's1'], { id: 's1' });
    kv.put('subscriptions', [ALICE, 'presence', 's2'], { id: 's2' });
    return kv;
  }

  it('yields exactly the keys that start with the prefix elements, in key order', () => {
    const kv = subs();
    expect(keys(kv.prefix('subscriptions', [ALICE, 'presence']))).toEqual([
      [ALICE, 'presence', 's1'],
      [ALICE, 'presence', 's2'],
      [ALICE, 'presence', 's3'],
    ]);
    expect(keys(kv.prefix('subscriptions', [ALICE]))).toEqual([
      [ALICE, 'presence', 's1'],
      [ALICE, 'presence', 's2'],
      [ALICE, 'presence', 's3'],
      [ALICE, 'presence.winfo', 's5'],
    ]);
    expect([...kv.prefix('subscriptions', [ALICE, 'presence'])].map((e) => e.value)).toEqual([{ id: 's1' }, { id: 's2' }, { id: 's3' }]);
  });

  it('includes a row equal to the prefix itself and returns everything for the empty prefix', () => {
    const kv = subs();
    kv.put('subscriptions', [ALICE], { id: 'root' });
    expect(keys(kv.prefix('subscriptions', [ALICE]))[0]).toEqual([ALICE]);
    expect(keys(kv.prefix('subscriptions', []))).toHaveLength(7);
  });

  it('stops after limit rows', () => {
    const kv = subs();
    expect(keys(kv.prefix('subscriptions', [ALICE], 2))).toEqual([
      [ALICE, 'presence', 's1'],
      [ALICE, 'presence', 's2'],
    ]);
    expect(keys(kv.prefix('subscriptions', [ALICE], 0))).toEqual([]);
    expect(keys(kv.prefix('subscriptions', [ALICE], 100))).toHaveLength(4);
  });

  it('yields nothing for an unknown prefix', () => {
    expect(keys(subs().prefix('subscriptions', ['sip:carol@example.com']))).toEqual([]);
  });
});

describe('MemoryKv between', () => {
  function timers(): MemoryKv {
    const kv = new MemoryKv();
    kv.put('timers', [T0 + 2000, BOB, 'subscription', 'presence', 's2'], 0);
    kv.put('timers', [T0, ALICE, 'publication', 'presence', 'e1'], 0);
    kv.put('timers', [T0 + 1000, ALICE, 'retry', 'presence', 's1'], 0);
    kv.put('timers', [T0 + 1000, ALICE, 'subscription', 'presence', 's1'], 0);
    kv.put('timers', [T0 + 3000, ALICE, 'subscription', 'presence', 's1'], 0);
    return kv;
  }

  it('yields start <= key < end in key order: a due-timer scan up to now includes now', () => {
    const kv = timers();
    // dueTimers(now) scans [] .. [now + 1]: everything due at or before now.
    expect(keys(kv.between('timers', [], [T0 + 1000 + 1]))).toEqual([
      [T0, ALICE, 'publication', 'presence', 'e1'],
      [T0 + 1000, ALICE, 'retry', 'presence', 's1'],
      [T0 + 1000, ALICE, 'subscription', 'presence', 's1'],
    ]);
    // [T0 + 1000] itself sorts before [T0 + 1000, ...]: the end excludes that whole second.
    expect(keys(kv.between('timers', [], [T0 + 1000]))).toEqual([[T0, ALICE, 'publication', 'presence', 'e1']]);
  });

  it('includes a key equal to start and excludes a key equal to end', () => {
    const kv = timers();
    const start = [T0 + 1000, ALICE, 'subscription', 'presence', 's1'];
    const end = [T0 + 3000, ALICE, 'subscription', 'presence', 's1'];
    expect(keys(kv.between('timers', start, end))).toEqual([start, [T0 + 2000, BOB, 'subscription', 'presence', 's2']]);
  });

  it('honours limit and yields nothing for an empty range', () => {
    const kv = timers();
    expect(keys(kv.between('timers', [], [Number.MAX_SAFE_INTEGER], 2))).toHaveLength(2);
    expect(keys(kv.between('timers', [T0 + 5000], [T0 + 6000]))).toEqual([]);
    expect(keys(kv.between('timers', [T0 + 3000], [T0]))).toEqual([]);
  });

  it('puts every number before every string', () => {
    const kv = new MemoryKv();
    kv.put('resources', ['0'], 's');
    kv.put('resources', [9_999_999_999_999], 'n');
    expect(keys(kv.between('resources', [], ['']))).toEqual([[9_999_999_999_999]]);
    expect(keys(kv.prefix('resources', []))).toEqual([[9_999_999_999_999], ['0']]);
  });
});

describe('MemoryKv against a reference model', () => {
  const part = fc.constantFrom<KeyPart>(0, 1, 7, ALICE, BOB, 'presence', 'presence.winfo', '\ue000', '\u{1f600}');
  const key = fc.array(part, { minLength: 1, maxLength: 3 });
  const table = fc.constantFrom<TableName>('subscriptions', 'timers');
  const op = fc.oneof(
    fc.record({ kind: fc.constant('put' as const), table, key, value: fc.integer({ min: 0, max: 99 }) }),
    fc.record({ kind: fc.constant('remove' as const), table, key }),
  );

  it('scans, gets and counts like a sorted map', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), table, fc.array(part, { maxLength: 2 }), key, key, fc.nat({ max: 6 }), (ops, t, prefix, a, b, limit) => {
        const kv = new MemoryKv();
        const model = new Map<string, { table: TableName; key: Key; value: number }>();
        for (const o of ops) {
          if (o.kind === 'put') {
            kv.put(o.table, o.key, { v: o.value });
            model.set(encodeKey(o.table, o.key), { table: o.table, key: o.key, value: o.value });
          } else {
            kv.remove(o.table, o.key);
            model.delete(encodeKey(o.table, o.key));
          }
        }
        const rows = [...model.values()].filter((r) => r.table === t).sort((x, y) => compareKeys(x.key, y.key));
        const asEntries = (rs: typeof rows): KvEntry[] => rs.map((r) => ({ key: r.key, value: { v: r.value } }));
        expect(kv.count(t)).toBe(rows.length);
        expect([...kv.prefix(t, prefix)]).toEqual(asEntries(rows.filter((r) => hasPrefix(r.key, prefix))));
        expect([...kv.prefix(t, prefix, limit)]).toEqual(asEntries(rows.filter((r) => hasPrefix(r.key, prefix)).slice(0, limit)));
        const [lo, hi] = compareKeys(a, b) <= 0 ? [a, b] : [b, a];
        const inRange = rows.filter((r) => compareKeys(r.key, lo) >= 0 && compareKeys(r.key, hi) < 0);
        expect([...kv.between(t, lo, hi)]).toEqual(asEntries(inRange));
        expect([...kv.between(t, lo, hi, limit)]).toEqual(asEntries(inRange.slice(0, limit)));
        for (const r of rows) expect(kv.get(t, r.key)).toEqual({ v: r.value });
        expect(kv.get(t, a)).toEqual(model.has(encodeKey(t, a)) ? { v: model.get(encodeKey(t, a))?.value } : undefined);
      }),
      { numRuns: 150 },
    );
  });
});
