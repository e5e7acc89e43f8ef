/**
 * Typed presence tables (core/store/presence-store.ts): the secondary indexes
 * (targets, dialogs, timers) and the per-resource counters must always agree
 * with the primary subscription and publication records.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Key, KvStore, TableName } from '../../../../core/store/kv.js';
import { MemoryKv } from '../../../../core/store/memory-kv.js';
import { PresenceReader, PresenceStore } from '../../../../core/store/presence-store.js';
import { targetOf, type PublicationRecord, type ResourceRecord, type SubscriptionRecord } from '../../../../core/store/records.js';

const ALICE = 'sip:alice@example.com';
const BOB = 'sip:bob@example.com';
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

function makeSub(id: string, o: Partial<SubscriptionRecord> = {}): SubscriptionRecord {
  const headers =
    `From: <${ALICE}>;tag=lt-${id}\r\nTo: "Bob" <${BOB}>;tag=wf-${id}\r\nCall-ID: call-${id}@192.0.2.20\r\n` +
    `Contact: <sip:192.0.2.1:5060>\r\nEvent: presence\r\n`;
  return {
    id,
    resource: ALICE,
    event: 'presence',
    status: 'active',
    handling: 'allow',
    view: 'full',
    expiresAt: T0 + 3_600_000,
    createdAt: T0,
    watcher: BOB,
    watcherDisplayName: 'Bob',
    dialog: {
      callId: `call-${id}@192.0.2.20`,
      localTag: `lt-${id}`,
      remoteTag: `wf-${id}`,
      localHeader: `<${ALICE}>;tag=lt-${id}`,
      remoteHeader: `"Bob" <${BOB}>;tag=wf-${id}`,
      remoteTarget: 'sip:bob@192.0.2.20:5062;transport=udp',
      routeSet: [],
      remoteCseq: 1,
      requestUri: 'sip:bob@192.0.2.20:5062;transport=udp',
      route: [],
      nextHop: 'sip:bob@192.0.2.20:5062;transport=udp',
      headers,
    },
    source: { transport: 'udp', address: '192.0.2.20', port: 5062 },
    failures: 0,
    ...o,
  };
}

function makePub(etag: string, o: Partial<PublicationRecord> = {}): PublicationRecord {
  return {
    etag,
    resource: ALICE,
    event: 'presence',
    expiresAt: T0 + 3_600_000,
    order: 1,
    contentType: 'application/pidf+xml',
    doc: { entity: ALICE, tuples: [], persons: [], devices: [], notes: [], extensions: [] },
    createdAt: T0,
    updatedAt: T0,
    ...o,
  };
}

const rows = (kv: MemoryKv, table: TableName): Key[] => [...kv.prefix(table, [])].map((e) => e.key);

function counter(): () => string {
  let n = 0;
  return () => `v${++n}`;
}

/** Counts the writes that reach the store. */
class CountingKv extends MemoryKv {
  readonly puts: { table: TableName; key: Key }[] = [];
  readonly removes: { table: TableName; key: Key }[] = [];
  override put(table: TableName, key: Key, value: unknown): void {
    this.puts.push({ table, key });
    super.put(table, key, value);
  }
  override remove(table: TableName, key: Key): void {
    this.removes.push({ table, key });
    super.remove(table, key);
  }
}

describe('putSubscription (new)', () => {
  it('writes the record, its fan-out target, its dialog and its expiry timer', () => {
    const kv = new MemoryKv();
    const store = new PresenceStore(kv, counter());
    const sub = makeSub('s1');
    store.putSubscription(sub);
    expect(store.subscription(ALICE, 'presence', 's1')).toEqual(sub);
    expect(kv.get('targets', [ALICE, 'presence', 's1'])).toEqual(targetOf(sub));
    expect(store.dialog('call-s1@192.0.2.20', 'lt-s1', 'wf-s1')).toEqual({ resource: ALICE, event: 'presence', id: 's1' });
    expect(rows(kv, 'timers')).toEqual([[T0 + 3_600_000, ALICE, 'subscription', 'presence', 's1']]);
    expect(store.resource(ALICE).subs).toEqual({ presence: 1 });
  });

  it('also writes a retry timer when the new record already has one', () => {
    const kv = new MemoryKv();
    const store = new PresenceStore(kv);
    store.putSubscription(makeSub('s1', { failures: 1, retryAt: T0 + 2000 }));
    expect(rows(kv, 'timers')).toEqual([
      [T0 + 2000, ALICE, 'retry', 'presence', 's1'],
      [T0 + 3_600_000, ALICE, 'subscription', 'presence', 's1'],
    ]);
  });

  it('counts subscriptions per event package', () => {
    const store = new PresenceStore(new MemoryKv());
    store.putSubscription(makeSub('s1'));
    store.putSubscription(makeSub('s2'));
    store.putSubscription(makeSub('w1', { event: 'presence.winfo', watcher: ALICE }));
    expect(store.resource(ALICE).subs).toEqual({ presence: 2, 'presence.winfo': 1 });
    expect(store.resource(BOB).subs).toEqual({});
  });
});

describe('putSubscription (update)', () => {
  it('moves the expiry timer when expiresAt changes; dialogs and counters stay', () => {
    const kv = new MemoryKv();
    const store = new PresenceStore(kv);
    const sub = makeSub('s1');
    store.putSubscription(sub);
    const refreshed = { ...sub, expiresAt: T0 + 7_200_000 };
    store.putSubscription(refreshed, sub);
    expect(rows(kv, 'timers')).toEqual([[T0 + 7_200_000, ALICE, 'subscription', 'presence', 's1']]);
    expect(kv.get('targets', [ALICE, 'presence', 's1'])).toEqual(targetOf(refreshed));
    expect(kv.count('dialogs')).toBe(1);
    expect(store.resource(ALICE).subs).toEqual({ presence: 1 });
  });

  it('leaves the timers alone when neither expiry nor retry changed', () => {
    const kv = new CountingKv();
    const store = new PresenceStore(kv);
    const sub = makeSub('s1');
    store.putSubscription(sub);
    kv.puts.length = 0;
    store.putSubscription({ ...sub, pkgState: { version: 3 } }, sub);
    expect(kv.puts.map((p) => p.table).sort()).toEqual(['subscriptions', 'targets']);
    expect(kv.removes).toEqual([]);
    expect(rows(kv, 'timers')).toEqual([[T0 + 3_600_000, ALICE, 'subscription', 'presence', 's1']]);
  });

  it('adds, moves and clears the retry timer as retryAt changes', () => {
    const kv = new MemoryKv();
    const store = new PresenceStore(kv);
    const v0 = makeSub('s1');
    store.putSubscription(v0);
    const v1 = { ...v0, failures: 1, retryAt: T0 + 2000 };
    store.putSubscription(v1, v0);
    expect(rows(kv, 'timers')).toContainEqual([T0 + 2000, ALICE, 'retry', 'presence', 's1']);
    const v2 = { ...v1, failures: 2, retryAt: T0 + 12_000 };
    store.putSubscription(v2, v1);
    expect(rows(kv, 'timers')).toEqual([
      [T0 + 12_000, ALICE, 'retry', 'presence', 's1'],
      [T0 + 3_600_000, ALICE, 'subscription', 'presence', 's1'],
    ]);
    const { retryAt: _r, ...v3 } = { ...v2, failures: 0 };
    store.putSubscription(v3, v2);
    expect(rows(kv, 'timers')).toEqual([[T0 + 3_600_000, ALICE, 'subscription', 'presence', 's1']]);
  });
});

describe('removeSubscription', () => {
  it('removes the record and every index entry, including a pending retry timer', () => {
    const kv = new MemoryKv();
    const store = new PresenceStore(kv);
    const keep = makeSub('s2');
    const sub = makeSub('s1', { failures: 1, retryAt: T0 + 2000 });
    store.putSubscription(keep);
    store.putSubscription(sub);
    store.removeSubscription(sub);
    expect(store.subscription(ALICE, 'presence', 's1')).toBeUndefined();
    expect(rows(kv, 'subscriptions')).toEqual([[ALICE, 'presence', 's2']]);
    expect(rows(kv, 'targets')).toEqual([[ALICE, 'presence', 's2']]);
    expect(rows(kv, 'dialogs')).toEqual([['call-s2@192.0.2.20', 'lt-s2', 'wf-s2']]);
    expect(rows(kv, 'timers')).toEqual([[T0 + 3_600_000, ALICE, 'subscription', 'presence', 's2']]);
    expect(store.resource(ALICE).subs).toEqual({ presence: 1 });
  });

  it('drops the event from the counters when its last subscription goes', () => {
    const store = new PresenceStore(new MemoryKv());
    const sub = makeSub('s1');
    store.putSubscription(sub);
    store.removeSubscription(sub);
    expect(store.resource(ALICE).subs).toEqual({});
  });
});

describe('subsVersion', () => {
  it('changes on every subscription change and survives flush', () => {
    const kv = new MemoryKv();
    const store = new PresenceStore(kv, counter());
    const seen = new Set<string | undefined>([store.resource(ALICE).subsVersion]);
    const sub = makeSub('s1');
    store.putSubscription(sub);
    seen.add(store.resource(ALICE).subsVersion);
    const refreshed = { ...sub, expiresAt: T0 + 60_000 };
    store.putSubscription(refreshed, sub);
    seen.add(store.resource(ALICE).subsVersion);
    const other = makeSub('s2');
    store.putSubscription(other);
    seen.add(store.resource(ALICE).subsVersion);
    store.removeSubscription(refreshed);
    seen.add(store.resource(ALICE).subsVersion);
    expect(seen.size).toBe(5);
    const last = store.resource(ALICE).subsVersion;
    store.flush();
    expect(new PresenceReader(kv).resource(ALICE).subsVersion).toBe(last);
  });

  it('is not touched by publications or sequence numbers', () => {
    const store = new PresenceStore(new MemoryKv(), counter());
    store.putSubscription(makeSub('s1'));
    const v = store.resource(ALICE).subsVersion;
    store.addPublication(makePub('e1'));
    store.nextSeq(ALICE);
    expect(store.resource(ALICE).subsVersion).toBe(v);
  });

  it('only changes for the resource of the subscription', () => {
    const store = new PresenceStore(new MemoryKv(), counter());
    store.putSubscription(makeSub('b1', { resource: BOB }));
    const bob = store.resource(BOB).subsVersion;
    store.putSubscription(makeSub('s1'));
    expect(store.resource(BOB).subsVersion).toBe(bob);
  });
});

describe('publications', () => {
  it('addPublication writes the record, its expiry timer and the counter; removePublication undoes all three', () => {
    const kv = new MemoryKv();
    const store = new PresenceStore(kv);
    const pub = makePub('e1', { expiresAt: T0 + 60_000 });
    store.addPublication(pub);
    store.addPublication(makePub('e2'));
    expect(store.publication(ALICE, 'presence', 'e1')).toEqual(pub);
    expect([...store.publications(ALICE, 'presence')].map((p) => p.etag)).toEqual(['e1', 'e2']);
    expect(rows(kv, 'timers')).toContainEqual([T0 + 60_000, ALICE, 'publication', 'presence', 'e1']);
    expect(store.resource(ALICE).pubs).toEqual({ presence: 2 });
    store.removePublication(pub);
    expect(store.publication(ALICE, 'presence', 'e1')).toBeUndefined();
    expect(rows(kv, 'timers')).toEqual([[T0 + 3_600_000, ALICE, 'publication', 'presence', 'e2']]);
    expect(store.resource(ALICE).pubs).toEqual({ presence: 1 });
  });
});

describe('resource records and flush', () => {
  it('keeps counters and the sequence in memory until flush, then writes each resource once', () => {
    const kv = new CountingKv();
    const store = new PresenceStore(kv, counter());
    expect(store.nextSeq(ALICE)).toBe(1);
    expect(store.nextSeq(ALICE)).toBe(2);
    store.putSubscription(makeSub('s1'));
    store.putSubscription(makeSub('s2'));
    store.addPublication(makePub('e1'));
    store.putSubscription(makeSub('b1', { resource: BOB }));
    expect(kv.puts.filter((p) => p.table === 'resources')).toEqual([]);
    expect(kv.get('resources', [ALICE])).toBeUndefined();
    store.flush();
    expect(kv.puts.filter((p) => p.table === 'resources').map((p) => p.key)).toEqual([[ALICE], [BOB]]);
    expect(kv.get('resources', [ALICE])).toMatchObject({ seq: 2, pubs: { presence: 1 }, subs: { presence: 2 } });
    // A second flush has nothing left to write.
    store.flush();
    expect(kv.puts.filter((p) => p.table === 'resources')).toHaveLength(2);
  });

  it('continues the sequence of the stored record', () => {
    const kv = new MemoryKv();
    kv.put('resources', [ALICE], { seq: 41, pubs: { presence: 1 }, subs: {} } satisfies ResourceRecord);
    const store = new PresenceStore(kv);
    expect(store.nextSeq(ALICE)).toBe(42);
    store.flush();
    expect(new PresenceStore(kv).nextSeq(ALICE)).toBe(43);
  });

  it('forgets a resource with no publications and no subscriptions', () => {
    const kv = new MemoryKv();
    kv.put('resources', [ALICE], { seq: 9, pubs: {}, subs: { presence: 1 } } satisfies ResourceRecord);
    const sub = makeSub('s1');
    const store = new PresenceStore(kv);
    // The stored subscription the counter refers to; removing it empties the resource.
    kv.put('subscriptions', [ALICE, 'presence', 's1'], sub);
    store.nextSeq(ALICE);
    store.removeSubscription(sub);
    store.flush();
    expect(kv.get('resources', [ALICE])).toBeUndefined();
    expect(new PresenceStore(kv).resource(ALICE)).toEqual({ seq: 0, pubs: {}, subs: {} });
  });

  it('does not write a resource that was only read', () => {
    const kv = new CountingKv();
    const store = new PresenceStore(kv);
    store.resource(ALICE);
    [...store.subscriptions(ALICE, 'presence')];
    store.flush();
    expect(kv.puts).toEqual([]);
    expect(kv.removes).toEqual([]);
  });
});

describe('queries', () => {
  it('separates event packages whose names share a prefix', () => {
    const store = new PresenceStore(new MemoryKv());
    store.putSubscription(makeSub('s1'));
    store.putSubscription(makeSub('w1', { event: 'presence.winfo', watcher: ALICE }));
    store.putSubscription(makeSub('x1', { resource: `${ALICE}.evil` }));
    expect([...store.subscriptions(ALICE, 'presence')].map((s) => s.id)).toEqual(['s1']);
    expect([...store.targets(ALICE, 'presence')].map((t) => t.id)).toEqual(['s1']);
    expect([...store.subscriptions(ALICE, 'presence.winfo')].map((s) => s.id)).toEqual(['w1']);
  });

  it('dueTimers yields the timers due at or before now, oldest first, up to limit', () => {
    const store = new PresenceStore(new MemoryKv());
    store.putSubscription(makeSub('s1', { expiresAt: T0 + 2000 }));
    store.putSubscription(makeSub('s2', { expiresAt: T0 + 1000, retryAt: T0 + 500, failures: 1 }));
    store.addPublication(makePub('e1', { expiresAt: T0 + 1000 }));
    store.putSubscription(makeSub('s3', { expiresAt: T0 + 1001 }));
    expect([...store.dueTimers(T0 + 1000, 100)]).toEqual([
      { dueAt: T0 + 500, resource: ALICE, kind: 'retry', event: 'presence', id: 's2' },
      { dueAt: T0 + 1000, resource: ALICE, kind: 'publication', event: 'presence', id: 'e1' },
      { dueAt: T0 + 1000, resource: ALICE, kind: 'subscription', event: 'presence', id: 's2' },
    ]);
    expect([...store.dueTimers(T0 + 1000, 1)]).toHaveLength(1);
    expect([...store.dueTimers(T0 + 499, 100)]).toEqual([]);
    store.clearTimer({ dueAt: T0 + 500, resource: ALICE, kind: 'retry', event: 'presence', id: 's2' });
    expect([...store.dueTimers(T0 + 500, 100)]).toEqual([]);
  });

  it('stores and removes the composed state', () => {
    const store = new PresenceStore(new MemoryKv());
    const state = { version: 3, doc: { entity: ALICE }, body: '<presence/>', updatedAt: T0 };
    store.putState(ALICE, 'presence', state);
    expect(store.state(ALICE, 'presence')).toEqual(state);
    store.removeState(ALICE, 'presence');
    expect(store.state(ALICE, 'presence')).toBeUndefined();
  });
});

describe('index consistency under random subscription changes', () => {
  const ids = ['s1', 's2', 's3', 's4'];
  const events = ['presence', 'presence.winfo'];
  const op = fc.oneof(
    fc.record({
      kind: fc.constant('put' as const),
      id: fc.constantFrom(...ids),
      event: fc.constantFrom(...events),
      expires: fc.integer({ min: 1, max: 4 }),
      retry: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    }),
    fc.record({ kind: fc.constant('remove' as const), id: fc.constantFrom(...ids), event: fc.constantFrom(...events) }),
    fc.constant({ kind: 'flush' as const }),
  );

  it('subscriptions, targets, dialogs, timers and counters always describe the same set', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const kv = new MemoryKv();
        const versions = counter();
        let store = new PresenceStore(kv, versions);
        for (const o of ops) {
          if (o.kind === 'flush') {
            // End of one event: the next event reads the flushed records.
            store.flush();
            store = new PresenceStore(kv, versions);
            continue;
          }
          const prev = store.subscription(ALICE, o.event, o.id);
          const before = store.resource(ALICE).subsVersion;
          if (o.kind === 'put') {
            const base = makeSub(o.id, { event: o.event, expiresAt: T0 + o.expires * 60_000 });
            const dialog = { ...base.dialog, callId: `${o.event}-${base.dialog.callId}` };
            const { retryAt: _r, ...noRetry } = { ...base, dialog };
            const sub = o.retry === undefined ? noRetry : { ...noRetry, failures: 1, retryAt: T0 + o.retry * 1000 };
            store.putSubscription(sub, prev);
          } else {
            if (!prev) continue;
            store.removeSubscription(prev);
          }
          expect(store.resource(ALICE).subsVersion).not.toBe(before);
        }
        store.flush();
        const subs = [...kv.prefix('subscriptions', [])].map((e) => e.value as SubscriptionRecord);
        // targets mirror subscriptions, key for key
        expect([...kv.prefix('targets', [])]).toEqual(subs.map((s) => ({ key: [s.resource, s.event, s.id], value: targetOf(s) })));
        // one dialog per subscription
        const dialogs = [...kv.prefix('dialogs', [])].map((e) => e.value);
        expect(dialogs).toHaveLength(subs.length);
        for (const s of subs) expect(kv.get('dialogs', [s.dialog.callId, s.dialog.localTag, s.dialog.remoteTag])).toEqual({ resource: s.resource, event: s.event, id: s.id });
        // exactly the expected timers
        const expected: Key[] = [];
        for (const s of subs) {
          expected.push([s.expiresAt, s.resource, 'subscription', s.event, s.id]);
          if (s.retryAt !== undefined) expected.push([s.retryAt, s.resource, 'retry', s.event, s.id]);
        }
        const timers = rows(kv, 'timers');
        expect(timers).toHaveLength(expected.length);
        for (const t of expected) expect(timers).toContainEqual(t);
        // counters
        const counts: Record<string, number> = {};
        for (const s of subs) counts[s.event] = (counts[s.event] ?? 0) + 1;
        const rec = kv.get('resources', [ALICE]) as ResourceRecord | undefined;
        if (subs.length === 0) expect(rec).toBeUndefined();
        else expect(rec?.subs).toEqual(counts);
      }),
      { numRuns: 200 },
    );
  });
});

// Keeps the type of KvStore in use for the CountingKv double.
const _typecheck: KvStore = new CountingKv();
void _typecheck;
