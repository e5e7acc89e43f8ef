/**
 * The Presence Server on its real parts: piscina worker threads and LMDB.
 * Restart recovery, per-resource ordering, de-duplication and overload.
 */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { notifyHeaders } from '../../core/sip/notify-headers.js';
import type { HandleResult, Notify } from '../../core/contract.js';
import { pidf, publish, subscribe } from '../support/sip-requests.js';
import { startService, tempDir } from '../support/service-harness.js';

const ALICE = 'sip:alice@example.com';
const BOB = 'sip:bob@example.com';

const header = (r: HandleResult, name: string): string | undefined => r.reply?.headers.find((h) => h.name === name)?.value;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await (cleanups.pop() as () => Promise<void>)();
});

describe('PresenceService on LMDB + piscina', () => {
  it('runs a publish/subscribe exchange through the worker pool', async () => {
    const s = await startService();
    cleanups.push(s.cleanup);
    const sub = await s.service.handle(subscribe({ watcher: BOB, resource: ALICE, localTag: 'a1' }));
    expect(sub.reply?.status).toBe(200);
    expect(sub.notifies).toHaveLength(1);
    const pub = await s.service.handle(publish({ aor: ALICE, body: pidf(ALICE, 'open') }));
    expect(pub.reply?.status).toBe(200);
    expect(pub.notifies[0]?.body?.text).toContain('<basic>open</basic>');
    expect(pub.notifies[0]?.cseq).toBeGreaterThan(sub.notifies[0]?.cseq ?? Infinity);
    expect(s.service.storeStats().entries.subscriptions).toBe(1);
  });

  it('survives a restart: publications, subscriptions and CSeq continue; expiry resumes', async () => {
    const dir = tempDir();
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const first = await startService({ dir });
    const sub = await first.service.handle(subscribe({ watcher: BOB, resource: ALICE, localTag: 'r1', callId: 'rc', expires: 3600 }));
    const pub = await first.service.handle(publish({ aor: ALICE, body: pidf(ALICE, 'open'), expires: 3600 }));
    const etag = header(pub, 'SIP-ETag') as string;
    const lastCseq = pub.notifies[0]?.cseq as number;
    await first.service.close();

    const second = await startService({ dir });
    cleanups.push(second.cleanup);
    // The publication is known: a refresh with its tag works, an unknown tag does not.
    const refresh = await second.service.handle(publish({ aor: ALICE, etag, expires: 3600 }));
    expect(refresh.reply?.status).toBe(200);
    // The dialog is known and its CSeq continues.
    const modify = await second.service.handle(publish({ aor: ALICE, etag: header(refresh, 'SIP-ETag') as string, body: pidf(ALICE, 'closed') }));
    expect(modify.notifies).toHaveLength(1);
    expect(modify.notifies[0]?.cseq).toBeGreaterThan(lastCseq);
    expect(notifyHeaders(modify.notifies[0] as Notify).callId).toBe('rc');
    const inDialog = await second.service.handle(subscribe({ watcher: BOB, resource: ALICE, localTag: 'r1', callId: 'rc', inDialog: true, cseq: 2 }));
    expect(inDialog.reply?.status).toBe(200);
    expect(sub.reply?.status).toBe(200);
  });

  it('processes what expired while it was down on the first sweep after a restart', async () => {
    const dir = tempDir();
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const first = await startService({ dir });
    await first.service.handle(subscribe({ watcher: BOB, resource: ALICE, expires: 3600 }));
    await first.service.close();
    const second = await startService({ dir });
    cleanups.push(second.cleanup);
    const handled = await second.service.sweep(Date.now() + 3601_000);
    expect(handled).toBe(1);
    await second.service.idle();
    expect(second.pushed.map((n) => n.subscriptionState)).toContain('terminated;reason=timeout');
    expect(second.service.storeStats().entries.subscriptions).toBe(0);
  });

  it('keeps one resource strictly ordered while others run in parallel', async () => {
    const s = await startService();
    cleanups.push(s.cleanup);
    const resources = Array.from({ length: 8 }, (_, i) => `sip:user${i}@example.com`);
    await Promise.all(resources.map((r, i) => s.service.handle(subscribe({ watcher: BOB, resource: r, localTag: `o${i}` }))));
    // Fire 20 modifies per resource without waiting: each needs the previous one's tag, so
    // chain them per resource but interleave resources.
    const chains = resources.map(async (r) => {
      const seen: Notify[] = [];
      let etag: string | undefined;
      for (let k = 0; k < 20; k++) {
        const body = pidf(r, k % 2 === 0 ? 'open' : 'closed', `step ${k}`);
        const res = await s.service.handle(etag ? publish({ aor: r, etag, body }) : publish({ aor: r, body }));
        expect(res.reply?.status).toBe(200);
        etag = header(res, 'SIP-ETag');
        seen.push(...res.notifies);
      }
      return seen;
    });
    for (const seen of await Promise.all(chains)) {
      expect(seen).toHaveLength(20);
      const cseqs = seen.map((n) => n.cseq);
      expect([...cseqs].sort((a, b) => a - b)).toEqual(cseqs);
      expect(seen.map((n) => /step (\d+)/.exec(n.body?.text ?? '')?.[1])).toEqual(Array.from({ length: 20 }, (_, k) => String(k)));
    }
  });

  it('applies concurrent initial PUBLISHes of one resource in arrival order', async () => {
    const s = await startService();
    cleanups.push(s.cleanup);
    await s.service.handle(subscribe({ watcher: BOB, resource: ALICE }));
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, k) => s.service.handle(publish({ aor: ALICE, body: pidf(ALICE, 'open', `n${k}`, `t${k}`) }))),
    );
    const notes = results.map((r) => (r.notifies[0]?.body?.text.match(/<dm:note>n\d+<\/dm:note>|<note[^>]*>n\d+<\/note>/g) ?? []).length);
    // Each PUBLISH adds a tuple and a person note; arrival k sees k+1 publications composed.
    const tuples = results.map((r) => (r.notifies[0]?.body?.text.match(/<tuple /g) ?? []).length);
    expect(tuples).toEqual(Array.from({ length: 30 }, (_, k) => k + 1));
    expect(notes.length).toBe(30);
  });

  it('answers a retried copy of a request with the same reply and no second NOTIFY', async () => {
    const s = await startService();
    cleanups.push(s.cleanup);
    await s.service.handle(subscribe({ watcher: BOB, resource: ALICE }));
    const req = publish({ aor: ALICE, body: pidf(ALICE, 'open'), callId: 'dup-call', cseq: 7 });
    const [a, b] = await Promise.all([s.service.handle(req), s.service.handle(req)]);
    const c = await s.service.handle(req);
    expect(header(a, 'SIP-ETag')).toBe(header(b, 'SIP-ETag'));
    expect(header(a, 'SIP-ETag')).toBe(header(c, 'SIP-ETag'));
    expect(a.notifies.length + b.notifies.length + c.notifies.length).toBe(1);
    expect(s.service.storeStats().entries.publications).toBe(1);
  });

  it('refuses work beyond the queue bound with 503 + Retry-After instead of hanging', async () => {
    const s = await startService({ pool: { maxPending: 4 } });
    cleanups.push(s.cleanup);
    const all = await Promise.all(
      Array.from({ length: 40 }, (_, k) => s.service.handle(publish({ aor: `sip:u${k}@example.com`, body: pidf(`sip:u${k}@example.com`, 'open') }))),
    );
    const refused = all.filter((r) => r.reply?.status === 503);
    expect(refused.length).toBeGreaterThan(0);
    expect(header(refused[0] as HandleResult, 'Retry-After')).toBe('5');
    expect(all.filter((r) => r.reply?.status === 200).length).toBeGreaterThanOrEqual(4);
    expect(s.service.stats().dispatcher.refused).toBe(refused.length);
  });
});
