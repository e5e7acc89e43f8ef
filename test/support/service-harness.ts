/** Starts a real PresenceService (piscina workers + LMDB in a temp dir) for tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeepPartial, PresenceConfig } from '../../core/config.js';
import type { Notify } from '../../core/contract.js';
import { PresenceService } from '../../workers/presence-service.js';
import { DEFAULT_SWEEP, type PoolOptions, type ServiceOptions } from '../../workers/service-options.js';
import { testConfig } from './core-harness.js';

export function tempDir(prefix = 'presenced-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface ServiceHarnessOptions {
  readonly dir?: string;
  readonly config?: DeepPartial<PresenceConfig>;
  readonly pool?: Partial<PoolOptions>;
  readonly sweepMs?: number;
  readonly durability?: 'sync' | 'none';
  readonly clock?: () => number;
  readonly dedupeSeconds?: number;
}

export async function startService(o: ServiceHarnessOptions = {}): Promise<{ service: PresenceService; dir: string; pushed: Notify[]; cleanup: () => Promise<void> }> {
  const dir = o.dir ?? tempDir();
  const options: ServiceOptions = {
    config: testConfig(o.config),
    store: { path: join(dir, 'db'), durability: o.durability ?? 'sync' },
    pool: { threads: 2, concurrentTasksPerWorker: 16, maxPending: 10_000, taskTimeoutMs: 10_000, targetCacheSize: 10_000, ...o.pool },
    sweep: { ...DEFAULT_SWEEP, intervalMs: o.sweepMs ?? 60_000 },
    retryAfterSeconds: 5,
    dedupeSeconds: o.dedupeSeconds ?? 32,
    ...(o.clock ? { clock: o.clock } : {}),
  };
  const service = await PresenceService.start(options);
  const pushed: Notify[] = [];
  service.onNotifies = (ns) => pushed.push(...ns);
  return {
    service,
    dir,
    pushed,
    cleanup: async () => {
      await service.close();
      if (!o.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
