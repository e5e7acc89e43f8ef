/**
 * Runs the pure core against the in-memory store with a controllable clock:
 * the sequential reference for scenario and property tests.
 */
import type { HandleResult, Notify, NotifyOutcome, SipRequest } from '../../core/contract.js';
import { resolveConfig, type DeepPartial, type PresenceConfig } from '../../core/config.js';
import { CountingIds } from '../../core/ids.js';
import { PresenceServer } from '../../core/server/presence-server.js';
import { MemoryKv } from '../../core/store/memory-kv.js';
import { TargetCache } from '../../core/store/target-cache.js';
import { PresenceReader } from '../../core/store/presence-store.js';
import type { TimerRef } from '../../core/store/records.js';
import type { Authorizer } from '../../core/authz/authorizer.js';

export function testConfig(overrides: DeepPartial<PresenceConfig> = {}): PresenceConfig {
  // Tests default to open presence; pres-rules tests set defaultSubHandling (or rules) themselves.
  const r = resolveConfig({ contact: '<sip:192.0.2.1:5060>', defaultSubHandling: 'allow', ...overrides });
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.config;
}

export class CoreHarness {
  readonly kv = new MemoryKv();
  readonly server: PresenceServer;
  now = Date.UTC(2026, 0, 1, 12, 0, 0);
  /** Every NOTIFY produced, in order. */
  readonly sent: Notify[] = [];

  constructor(overrides: DeepPartial<PresenceConfig> = {}, authorizer?: Authorizer) {
    this.server = new PresenceServer({
      config: testConfig(overrides),
      ids: new CountingIds(),
      targetCache: new TargetCache(1_000),
      ...(authorizer ? { authorizer } : {}),
    });
  }

  send(req: SipRequest): HandleResult {
    const r = this.server.handle(req, this.kv, this.now);
    this.sent.push(...r.notifies);
    return r;
  }

  outcome(o: NotifyOutcome): HandleResult {
    const r = this.server.notifyOutcomes(o.resource, [o], this.kv, this.now);
    this.sent.push(...r.notifies);
    return r;
  }

  /** Advance the clock and run every timer that became due, grouped per resource like the sweeper. */
  advance(seconds: number): Notify[] {
    this.now += seconds * 1000;
    const due = [...new PresenceReader(this.kv).dueTimers(this.now, 1_000_000)];
    const byResource = new Map<string, TimerRef[]>();
    for (const t of due) byResource.set(t.resource, [...(byResource.get(t.resource) ?? []), t]);
    const out: Notify[] = [];
    for (const [resource, timers] of byResource) {
      const r = this.server.timers(resource, timers, this.kv, this.now);
      out.push(...r.notifies);
    }
    this.sent.push(...out);
    return out;
  }

  header(r: HandleResult, name: string): string | undefined {
    return r.reply?.headers.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value;
  }
}
