/**
 * The per-event write buffer (core/store/write-overlay.ts): reads see the
 * event's own writes, deletes hide base rows, merged scans keep key order and
 * limits, and `applyTo` hands exactly the resulting state to the store.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TABLES, type Key, type KeyPart, type KvEntry, type TableName } from '../../../../core/store/kv.js';
import { MemoryKv } from '../../../../core/store/memory-kv.js';
import { WriteOverlay } from '../../../../core/store/write-overlay.js';

const ALICE = 'sip:alice@example.com';
const BOB = 'sip:bob@example.com';
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

const keys = (entries: Iterable<KvEntry>): Key[] => [...entries].map((e) => e.key);

function base(): MemoryKv {
  const kv = new MemoryKv();
  kv.put('subscriptions', [ALICE, 'presence', 's2'], { id: 's2', expiresAt: T0 + 600_000 });
  kv.put('subscriptions', [ALICE, 'presence', 's4'], { id: 's4', expiresAt: T0 + 600_000 });
  kv.put('subscriptions', [ALICE, 'presence', 's6'], { id: 's6', expiresAt: T0 + 600_000 });
  kv.put('subscriptions', [BOB, 'presence', 's8'], { id: 's8', expiresAt: T0 + 600_000 });
  return kv;
}

describe('WriteOverlay reads', () => {
  it('reads its own writes and leaves the base untouched', () => {
    const kv = base();
    const o = new WriteOverlay(kv);
    o.put('subscriptions', [ALICE, 'presence', 's2'], { id: 's2', expiresAt: T0 + 3_600_000 });
    o.put('resources', [ALICE], { seq: 5, pubs: {}, subs: { presence: 3 } });
    expect(o.get('subscriptions', [ALICE, 'presence', 's2'])).toEqual({ id: 's2', expiresAt: T0 + 3_600_000 });
    expect(o.get('resources', [ALICE])).toEqual({ seq: 5, pubs: {}, subs: { presence: 3 } });
    expect(kv.get('subscriptions', [ALICE, 'presence', 's2'])).toEqual({ id: 's2', expiresAt: T0 + 600_000 });
    expect(kv.get('resources', [ALICE])).toBeUndefined();
  });

  it('falls through to the base for keys it did not write', () => {
    const o = new WriteOverlay(base());
    expect(o.get('subscriptions', [BOB, 'presence', 's8'])).toEqual({ id: 's8', expiresAt: T0 + 600_000 });
    expect(o.get('subscriptions', [BOB, 'presence', 'nope'])).toBeUndefined();
  });

  it('hides a removed base row from get, prefix and between', () => {
    const o = new WriteOverlay(base());
    o.remove('subscriptions', [ALICE, 'presence', 's4']);
    expect(o.get('subscriptions', [ALICE, 'presence', 's4'])).toBeUndefined();
    expect(keys(o.prefix('subscriptions', [ALICE]))).toEqual([
      [ALICE, 'presence', 's2'],
      [ALICE, 'presence', 's6'],
    ]);
    expect(keys(o.between('subscriptions', [ALICE, 'presence', 's3'], [ALICE, 'presence', 's7']))).toEqual([[ALICE, 'presence', 's6']]);
  });

  it('brings a removed key back when it is put again', () => {
    const o = new WriteOverlay(base());
    o.remove('subscriptions', [ALICE, 'presence', 's4']);
    o.put('subscriptions', [ALICE, 'presence', 's4'], { id: 's4', expiresAt: T0 });
    expect(o.get('subscriptions', [ALICE, 'presence', 's4'])).toEqual({ id: 's4', expiresAt: T0 });
    expect(keys(o.prefix('subscriptions', [ALICE]))).toHaveLength(3);
    expect(o.size).toBe(1);
  });

  it('treats a removed key it put itself as absent', () => {
    const o = new WriteOverlay(new MemoryKv());
    o.put('dialogs', ['call-1', 'lt1', 'wf1'], { resource: ALICE, event: 'presence', id: 's1' });
    o.remove('dialogs', ['call-1', 'lt1', 'wf1']);
    expect(o.get('dialogs', ['call-1', 'lt1', 'wf1'])).toBeUndefined();
    expect(keys(o.prefix('dialogs', ['call-1']))).toEqual([]);
  });

  it('refuses to put undefined (undefined means delete in ops())', () => {
    const o = new WriteOverlay(new MemoryKv());
    expect(() => o.put('states', [ALICE, 'presence'], undefined)).toThrow(/undefined/);
  });

  it('can store falsy values (timer rows are 0)', () => {
    const o = new WriteOverlay(new MemoryKv());
    o.put('timers', [T0, ALICE, 'subscription', 'presence', 's1'], 0);
    expect(o.get('timers', [T0, ALICE, 'subscription', 'presence', 's1'])).toBe(0);
    expect([...o.between('timers', [], [T0 + 1])]).toEqual([{ key: [T0, ALICE, 'subscription', 'presence', 's1'], value: 0 }]);
  });
});

describe('WriteOverlay merged scans', () => {
  it('interleaves new keys with base keys in key order, overlay values winning', () => {
    const o = new WriteOverlay(base());
    o.put('subscriptions', [ALICE, 'presence', 's5'], { id: 's5', expiresAt: T0 });
    o.put('subscriptions', [ALICE, 'presence', 's1'], { id: 's1', expiresAt: T0 });
    o.put('subscriptions', [ALICE, 'presence', 's9'], { id: 's9', expiresAt: T0 });
    o.put('subscriptions', [ALICE, 'presence', 's4'], { id: 's4', expiresAt: T0 + 1 });
    o.put('subscriptions', [ALICE, 'presence.winfo', 's3'], { id: 's3', expiresAt: T0 });
    const got = [...o.prefix('subscriptions', [ALICE, 'presence'])];
    expect(got.map((e) => e.key[2])).toEqual(['s1', 's2', 's4', 's5', 's6', 's9']);
    expect(got.find((e) => e.key[2] === 's4')?.value).toEqual({ id: 's4', expiresAt: T0 + 1 });
  });

  it('counts only yielded rows against the limit (deleted rows do not use it up)', () => {
    const o = new WriteOverlay(base());
    o.remove('subscriptions', [ALICE, 'presence', 's2']);
    o.put('subscriptions', [ALICE, 'presence', 's3'], { id: 's3' });
    expect(keys(o.prefix('subscriptions', [ALICE], 2))).toEqual([
      [ALICE, 'presence', 's3'],
      [ALICE, 'presence', 's4'],
    ]);
    expect(keys(o.prefix('subscriptions', [ALICE], 0))).toEqual([]);
    expect(keys(o.between('subscriptions', [], [BOB], 1))).toEqual([[ALICE, 'presence', 's3']]);
  });

  it('merges the timer index: new timers due now appear, removed ones do not', () => {
    const kv = new MemoryKv();
    kv.put('timers', [T0 - 1000, ALICE, 'subscription', 'presence', 's1'], 0);
    kv.put('timers', [T0, BOB, 'publication', 'presence', 'e1'], 0);
    const o = new WriteOverlay(kv);
    o.remove('timers', [T0 - 1000, ALICE, 'subscription', 'presence', 's1']);
    o.put('timers', [T0 - 5000, ALICE, 'retry', 'presence', 's1'], 0);
    o.put('timers', [T0 + 1000, ALICE, 'subscription', 'presence', 's1'], 0);
    expect(keys(o.between('timers', [], [T0 + 1]))).toEqual([
      [T0 - 5000, ALICE, 'retry', 'presence', 's1'],
      [T0, BOB, 'publication', 'presence', 'e1'],
    ]);
  });

  it('does not leak writes of other tables or outside the prefix into a scan', () => {
    const o = new WriteOverlay(base());
    o.put('targets', [ALICE, 'presence', 's3'], { id: 's3' });
    o.put('subscriptions', [`${ALICE}.evil`, 'presence', 's0'], { id: 's0' });
    expect(keys(o.prefix('subscriptions', [ALICE]))).toEqual([
      [ALICE, 'presence', 's2'],
      [ALICE, 'presence', 's4'],
      [ALICE, 'presence', 's6'],
    ]);
  });
});

describe('WriteOverlay ops and applyTo', () => {
  it('lists one op per key, deletes with value undefined', () => {
    const o = new WriteOverlay(base());
    o.put('resources', [ALICE], { seq: 1 });
    o.put('resources', [ALICE], { seq: 2 });
    o.remove('subscriptions', [ALICE, 'presence', 's2']);
    const ops = o.ops();
    expect(ops).toHaveLength(2);
    expect(o.size).toBe(2);
    expect(ops).toContainEqual({ table: 'resources', key: [ALICE], value: { seq: 2 } });
    expect(ops).toContainEqual({ table: 'subscriptions', key: [ALICE, 'presence', 's2'], value: undefined });
  });

  it('applies puts and removes to a store', () => {
    const kv = base();
    const o = new WriteOverlay(kv);
    o.put('subscriptions', [ALICE, 'presence', 's3'], { id: 's3' });
    o.remove('subscriptions', [ALICE, 'presence', 's2']);
    o.remove('subscriptions', [ALICE, 'presence', 'never-existed']);
    o.applyTo(kv);
    expect(keys(kv.prefix('subscriptions', [ALICE]))).toEqual([
      [ALICE, 'presence', 's3'],
      [ALICE, 'presence', 's4'],
      [ALICE, 'presence', 's6'],
    ]);
    expect(kv.count('subscriptions')).toBe(4);
  });

  it('has no ops when nothing was written', () => {
    const o = new WriteOverlay(base());
    [...o.prefix('subscriptions', [])];
    o.get('subscriptions', [ALICE, 'presence', 's2']);
    expect(o.ops()).toEqual([]);
    expect(o.size).toBe(0);
  });
});

describe('WriteOverlay against a reference model', () => {
  const part = fc.constantFrom<KeyPart>(0, 5, T0, ALICE, BOB, 'presence', 'presence.winfo', 's1', 's2', '\u{1f600}', '\ue000');
  const key = fc.array(part, { minLength: 1, maxLength: 3 });
  const table = fc.constantFrom<TableName>('subscriptions', 'targets', 'timers');
  const value = fc.record({ v: fc.integer({ min: 0, max: 999 }) });
  const row = fc.record({ table, key, value });
  const op = fc.oneof(
    fc.record({ kind: fc.constant('put' as const), table, key, value }),
    fc.record({ kind: fc.constant('remove' as const), table, key }),
  );
  const scan = fc.record({ table, prefix: fc.array(part, { maxLength: 2 }), a: key, b: key, limit: fc.option(fc.nat({ max: 5 }), { nil: undefined }) });

  it('scans and gets exactly what the base with the ops applied would give; applyTo produces that store', () => {
    fc.assert(
      fc.property(fc.array(row, { maxLength: 25 }), fc.array(op, { maxLength: 25 }), fc.array(scan, { minLength: 1, maxLength: 4 }), (rows, ops, scans) => {
        const kv = new MemoryKv();
        const reference = new MemoryKv();
        for (const r of rows) {
          kv.put(r.table, r.key, r.value);
          reference.put(r.table, r.key, r.value);
        }
        const o = new WriteOverlay(kv);
        for (const x of ops) {
          if (x.kind === 'put') {
            o.put(x.table, x.key, x.value);
            reference.put(x.table, x.key, x.value);
          } else {
            o.remove(x.table, x.key);
            reference.remove(x.table, x.key);
          }
        }
        for (const s of scans) {
          expect([...o.prefix(s.table, s.prefix, s.limit)]).toEqual([...reference.prefix(s.table, s.prefix, s.limit)]);
          expect([...o.between(s.table, s.a, s.b, s.limit)]).toEqual([...reference.between(s.table, s.a, s.b, s.limit)]);
          expect(o.get(s.table, s.a)).toEqual(reference.get(s.table, s.a));
        }
        for (const x of ops) expect(o.get(x.table, x.key)).toEqual(reference.get(x.table, x.key));
        o.applyTo(kv);
        for (const t of TABLES) expect([...kv.prefix(t, [])]).toEqual([...reference.prefix(t, [])]);
      }),
      { numRuns: 200 },
    );
  });
});
