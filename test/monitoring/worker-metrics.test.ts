/**
 * Counters recorded inside worker threads reach /metrics exactly once, and
 * the state gauges are exact — also after a restart (census).
 */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { PresenceMetrics } from '../../monitoring/presence-metrics.js';
import { wireMetrics } from '../../monitoring/wire-metrics.js';
import { pidf, publish, subscribe } from '../support/sip-requests.js';
import { startService, tempDir } from '../support/service-harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await (cleanups.pop() as () => Promise<void>)();
});

async function value(m: PresenceMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await m.registry.getSingleMetric(name)?.get();
  const hit = metric?.values.find((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x));
  return hit?.value ?? 0;
}

describe('metrics from worker threads', () => {
  it('counts a body rendered inside a worker exactly once in /metrics', async () => {
    const s = await startService({ pool: { threads: 2 } });
    cleanups.push(s.cleanup);
    const m = new PresenceMetrics({ defaultMetrics: false });
    wireMetrics(m, s.service);
    const resources = Array.from({ length: 6 }, (_, i) => `sip:r${i}@example.com`);
    for (const r of resources) for (let w = 0; w < 3; w++) await s.service.handle(subscribe({ watcher: `sip:w${w}@example.com`, resource: r }));
    // Each SUBSCRIBE to a resource without state renders the neutral document once.
    const afterSubs = await value(m, 'presenced_bodies_rendered_total');
    expect(afterSubs).toBe(resources.length * 3);
    // Each PUBLISH that changes state renders its body once, shared by the 3 watchers.
    await Promise.all(resources.map((r) => s.service.handle(publish({ aor: r, body: pidf(r, 'open') }))));
    expect(await value(m, 'presenced_bodies_rendered_total')).toBe(afterSubs + resources.length);
    const text = await m.metrics();
    expect(text.match(/^presenced_bodies_rendered_total /gm)).toHaveLength(1);
    expect(text).toMatch(new RegExp(`^presenced_bodies_rendered_total ${afterSubs + resources.length}$`, 'm'));
    expect(await value(m, 'presenced_subscriptions', { event: 'presence', state: 'active' })).toBe(18);
    expect(await value(m, 'presenced_publications', { event: 'presence' })).toBe(6);
    expect(await value(m, 'presenced_presentities_by_watchers', { watchers: '2-5' })).toBe(6);
  });

  it('starts the state gauges from a census after a restart', async () => {
    const dir = tempDir();
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const a = await startService({ dir });
    for (let i = 0; i < 4; i++) await a.service.handle(subscribe({ watcher: `sip:w${i}@example.com`, resource: 'sip:alice@example.com' }));
    await a.service.handle(publish({ aor: 'sip:alice@example.com', body: pidf('sip:alice@example.com', 'open') }));
    await a.service.close();
    const b = await startService({ dir });
    cleanups.push(b.cleanup);
    const m = new PresenceMetrics({ defaultMetrics: false });
    wireMetrics(m, b.service);
    expect(await value(m, 'presenced_subscriptions', { event: 'presence', state: 'active' })).toBe(4);
    expect(await value(m, 'presenced_publications', { event: 'presence' })).toBe(1);
    expect(await value(m, 'presenced_presentities_by_watchers', { watchers: '2-5' })).toBe(1);
    // and deltas keep it exact
    await b.service.handle(subscribe({ watcher: 'sip:w9@example.com', resource: 'sip:alice@example.com' }));
    expect(await value(m, 'presenced_subscriptions', { event: 'presence', state: 'active' })).toBe(5);
  });
});
