/**
 * Recomposition after publications change (core/server/composition.ts,
 * RFC 3903 §6 step 8): which publications count, when the state is stored,
 * versioned, forgotten, and when watchers must hear about it.
 */
import { describe, expect, it } from 'vitest';
import { FULL_VIEW } from '../../../../core/authz/authorizer.js';
import { CountingIds } from '../../../../core/ids.js';
import type { PublishedDoc, StatePackage } from '../../../../core/packages/event-package.js';
import { parsePidf, type PidfDocument } from '../../../../core/packages/presence/pidf-document.js';
import { presencePackage } from '../../../../core/packages/presence/presence-package.js';
import { recompose } from '../../../../core/server/composition.js';
import { EventContext } from '../../../../core/server/event-context.js';
import { PresenceServer } from '../../../../core/server/presence-server.js';
import { MemoryKv } from '../../../../core/store/memory-kv.js';
import { PresenceStore } from '../../../../core/store/presence-store.js';
import type { PublicationRecord, StateRecord, SubscriptionRecord } from '../../../../core/store/records.js';
import { testConfig } from '../../../support/core-harness.js';
import { pidf } from '../../../support/sip-requests.js';

const ALICE = 'sip:alice@example.com';
const BOB = 'sip:bob@example.com';
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const presence = presencePackage();

function doc(basic: 'open' | 'closed', tupleId: string, note?: string): PidfDocument {
  const r = parsePidf(pidf(ALICE, basic, note, tupleId));
  if (!r.ok) throw new Error(r.error.code);
  return r.value;
}

function pub(etag: string, d: PidfDocument, order: number, expiresAt = NOW + 3_600_000): PublicationRecord {
  return { etag, resource: ALICE, event: 'presence', expiresAt, order, contentType: 'application/pidf+xml', doc: d, createdAt: NOW - 60_000, updatedAt: NOW - 60_000 };
}

function watcher(): SubscriptionRecord {
  return {
    id: 's1',
    resource: ALICE,
    event: 'presence',
    status: 'active',
    handling: 'allow',
    view: FULL_VIEW,
    expiresAt: NOW + 3_600_000,
    createdAt: NOW - 60_000,
    watcher: BOB,
    dialog: {
      callId: 'call-1@192.0.2.20',
      localTag: 'ps1',
      remoteTag: 'wf1',
      localHeader: `<${ALICE}>;tag=ps1`,
      remoteHeader: `<${BOB}>;tag=wf1`,
      remoteTarget: 'sip:bob@192.0.2.20:5062',
      routeSet: [],
      remoteCseq: 1,
      requestUri: 'sip:bob@192.0.2.20:5062',
      route: [],
      nextHop: 'sip:bob@192.0.2.20:5062',
      headers: `From: <${ALICE}>;tag=ps1\r\nTo: <${BOB}>;tag=wf1\r\nCall-ID: call-1@192.0.2.20\r\nContact: <sip:192.0.2.1:5060>\r\nEvent: presence\r\n`,
    },
    source: { transport: 'udp', address: '192.0.2.20', port: 5062 },
    failures: 0,
  };
}

interface Setup {
  readonly pubs?: readonly PublicationRecord[];
  readonly watched?: boolean;
  readonly state?: StateRecord;
}

function context(kv: MemoryKv, s: Setup = {}): EventContext {
  const store = new PresenceStore(kv);
  for (const p of s.pubs ?? []) store.addPublication(p);
  if (s.watched) store.putSubscription(watcher());
  if (s.state) store.putState(ALICE, 'presence', s.state);
  store.flush();
  const server = new PresenceServer({ config: testConfig(), ids: new CountingIds() });
  return new EventContext(server.deps, kv, ALICE, NOW);
}

/** The presence package, recording what it was asked to aggregate. */
function recording(): { pkg: StatePackage<PidfDocument>; calls: PublishedDoc<PidfDocument>[][] } {
  const calls: PublishedDoc<PidfDocument>[][] = [];
  const pkg: StatePackage<PidfDocument> = {
    ...presence,
    aggregate(resource, publications) {
      calls.push([...publications]);
      return presence.aggregate(resource, publications);
    },
  };
  return { pkg, calls };
}

describe('recompose', () => {
  it('stores version 1 of the composed state and returns it', () => {
    const kv = new MemoryKv();
    const d = doc('open', 'mobile', 'On the road');
    const ctx = context(kv, { pubs: [pub('e1', d, 1)] });
    const state = recompose(ctx, presence as StatePackage);
    expect(state).toBeDefined();
    expect(state?.version).toBe(1);
    expect(state?.updatedAt).toBe(NOW);
    expect(state?.body).toBe(presence.render(presence.aggregate(ALICE, [{ doc: d, order: 1 }]), { handling: 'allow', view: FULL_VIEW }));
    expect(state?.body).toContain('On the road');
    expect(ctx.store.state(ALICE, 'presence')).toEqual(state);
  });

  it('composes only live publications, with their order', () => {
    const kv = new MemoryKv();
    const live = doc('open', 'desk');
    const { pkg, calls } = recording();
    const ctx = context(kv, {
      pubs: [pub('e1', doc('closed', 'old'), 1, NOW - 1), pub('e2', doc('closed', 'edge'), 2, NOW), pub('e3', live, 3, NOW + 1)],
    });
    const state = recompose(ctx, pkg as StatePackage);
    expect(calls).toEqual([[{ doc: live, order: 3 }]]);
    expect(state?.body).toContain('id="desk"');
    expect(state?.body).not.toContain('id="old"');
    expect(state?.body).not.toContain('id="edge"');
  });

  it('reports no change (and keeps the version) when the rendering is the same', () => {
    const kv = new MemoryKv();
    const d = doc('open', 'mobile');
    const first = recompose(context(kv, { pubs: [pub('e1', d, 1)] }), presence as StatePackage);
    // Same content published again under another entity-tag.
    const ctx = context(kv, { pubs: [pub('e2', doc('open', 'mobile'), 2)] });
    ctx.store.removePublication(pub('e1', d, 1));
    expect(recompose(ctx, presence as StatePackage)).toBeUndefined();
    expect(ctx.store.state(ALICE, 'presence')).toEqual(first);
  });

  it('increments the version when the rendering changes', () => {
    const kv = new MemoryKv();
    recompose(context(kv, { pubs: [pub('e1', doc('open', 'mobile'), 1)] }), presence as StatePackage);
    const ctx = context(kv, { pubs: [pub('e2', doc('closed', 'mobile'), 2)] });
    const state = recompose(ctx, presence as StatePackage);
    expect(state?.version).toBe(2);
    expect(state?.body).toContain('<basic>closed</basic>');
  });

  it('does nothing when nobody publishes, nobody watches and there was no state', () => {
    const kv = new MemoryKv();
    const ctx = context(kv);
    expect(recompose(ctx, presence as StatePackage)).toBeUndefined();
    expect(kv.count('states')).toBe(0);
  });

  it('forgets the state when the last publication went and nobody watches', () => {
    const kv = new MemoryKv();
    const prev: StateRecord = { version: 4, doc: doc('open', 'mobile'), body: '<presence/>', updatedAt: NOW - 1000 };
    const ctx = context(kv, { state: prev, pubs: [pub('e1', doc('open', 'mobile'), 1, NOW - 1000)] });
    expect(recompose(ctx, presence as StatePackage)).toBeUndefined();
    expect(ctx.store.state(ALICE, 'presence')).toBeUndefined();
  });

  it('falls back to the neutral document for watchers when the last publication went', () => {
    const kv = new MemoryKv();
    const prev: StateRecord = { version: 4, doc: doc('open', 'mobile'), body: 'old body', updatedAt: NOW - 1000 };
    const ctx = context(kv, { state: prev, watched: true });
    const state = recompose(ctx, presence as StatePackage);
    expect(state?.version).toBe(5);
    expect(state?.doc).toEqual(presence.neutral(ALICE));
    expect(state?.body).toBe(presence.render(presence.neutral(ALICE), { handling: 'allow', view: FULL_VIEW }));
  });

  it('stores the neutral state for watchers but has nothing to tell them when there never was state', () => {
    const kv = new MemoryKv();
    const ctx = context(kv, { watched: true });
    expect(recompose(ctx, presence as StatePackage)).toBeUndefined();
    expect(ctx.store.state(ALICE, 'presence')).toMatchObject({ version: 1, doc: presence.neutral(ALICE) });
  });
});
