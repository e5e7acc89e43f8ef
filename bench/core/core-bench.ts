/**
 * bench/core: the Presence Server core in-process (no network) on its real
 * parts — LMDB store, piscina pool — at 10K / 100K / 1M resident
 * subscriptions, with 1 and 2 worker threads measured side by side (rounds
 * interleaved 1,2,1,2… so machine noise hits both alike).
 *
 * Workload: S subscriptions over S/F presentities (F watchers each). Each
 * PUBLISH modifies one presentity (state flips, so every watcher is
 * notified): one body rendered, F complete NOTIFYs built and handed to the
 * main thread (packed; decoding is the delivery layer's cost, measured
 * separately as `mainDecodeUsPerNotify`).
 *
 *   node dist/bench/core/core-bench.js [--sizes 10000,100000,1000000] [--fanout 100]
 *        [--seconds 10] [--rounds 2] [--concurrency 512] [--threads 1,2]
 *        [--tasks-per-worker 32[,128]] [--out bench/results]
 */
import { mkdirSync, rmSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../../core/config.js';
import type { SipRequest } from '../../core/contract.js';
import { PresenceService } from '../../workers/presence-service.js';
import { DEFAULT_SWEEP, type ServiceOptions } from '../../workers/service-options.js';
import { machineFacts } from '../lib/machine-facts.js';
import { round, summarize } from '../lib/stats.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000,1000000' },
    fanout: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '512' },
    threads: { type: 'string', default: '1,2' },
    // Tasks in flight per worker (ServiceOptions.pool.concurrentTasksPerWorker); a list compares them side by side.
    'tasks-per-worker': { type: 'string', default: '32' },
    out: { type: 'string', default: 'bench/results' },
    dir: { type: 'string' },
    quiet: { type: 'boolean', default: false },
    warmup: { type: 'boolean', default: true },
  },
});

const sizes = (args.sizes as string).split(',').map(Number);
const fanout = Number(args.fanout);
const seconds = Number(args.seconds);
const rounds = Number(args.rounds);
const concurrency = Number(args.concurrency);
const threadCounts = (args.threads as string).split(',').map(Number);
const tasksPerWorker = (args['tasks-per-worker'] as string).split(',').map(Number);
const log = (msg: string): void => {
  if (!args.quiet) process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);
};

const SRC = { transport: 'udp' as const, address: '192.0.2.10', port: 5060 };
const presentity = (i: number): string => `sip:p${i}@bench.example`;
const watcher = (i: number): string => `sip:w${i}@bench.example`;

function body(entity: string, open: boolean, k: number | string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" ` +
    `xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="${entity}">` +
    `<tuple id="t1"><status><basic>${open ? 'open' : 'closed'}</basic></status><contact priority="0.8">${entity}</contact></tuple>` +
    `<dm:person id="p1"><rpid:activities>${open ? '<rpid:on-the-phone/>' : '<rpid:away/>'}</rpid:activities><dm:note>update ${k}</dm:note></dm:person>` +
    `</presence>`
  );
}

function options(dir: string, threads: number, perWorker = tasksPerWorker[0] as number): ServiceOptions {
  // Open presence: the benchmark measures fan-out, not authorization (no pres-rules documents).
  const c = resolveConfig({ contact: '<sip:192.0.2.1:5060>', defaultSubHandling: 'allow', limits: { maxSubscriptionsPerResource: 1_000_000 } });
  if (!c.ok) throw new Error(c.problems.join(', '));
  return {
    config: c.config,
    store: { path: dir, durability: (process.env.BENCH_DURABILITY as 'sync' | 'none' | undefined) ?? 'sync', mapSize: 8 * 1024 ** 3 },
    pool: { threads, concurrentTasksPerWorker: perWorker, maxPending: 100_000, taskTimeoutMs: 60_000, targetCacheSize: 1_000_000, ...(process.env.BENCH_YOUNG ? { youngGenerationMb: Number(process.env.BENCH_YOUNG) } : {}) },
    sweep: { ...DEFAULT_SWEEP, intervalMs: 3_600_000 },
    retryAfterSeconds: 5,
    dedupeSeconds: 32,
  };
}

function dirSize(dir: string): number {
  let total = 0;
  for (const f of readdirSync(dir)) total += statSync(join(dir, f)).size;
  return total;
}

/** Run `count` tasks with at most `limit` in flight. */
async function pooled(count: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, count) }, async () => {
    while (next < count) await task(next++);
  });
  await Promise.all(lanes);
}

interface RoundResult {
  threads: number;
  tasksPerWorker: number;
  round: number;
  publishes: number;
  notifies: number;
  seconds: number;
  publishPerSec: number;
  notifiesPerSec: number;
  bodiesRenderedPerSec: number;
  publishLatencyMs: ReturnType<typeof summarize>;
  rssMb: number;
  failures: number;
  /** Sanity check: every PUBLISH changes the state, so this equals the fan-out. */
  notifiesPerPublish: number;
  /** Average cores used by the whole process (all threads) during the round. */
  cpuCores: number;
  notifiesPerCpuSecond: number;
  /** Average time a task spent computing / waiting for its durable commit, ms. */
  taskComputeMsAvg: number;
  taskCommitMsAvg: number;
}

async function populate(dir: string, subs: number): Promise<{ subscribePerSec: number; etags: string[] }> {
  const service = await PresenceService.start(options(dir, 2));
  const presentities = Math.max(1, Math.floor(subs / fanout));
  const t0 = performance.now();
  let failures = 0;
  await pooled(subs, 1000, async (i) => {
    const req: SipRequest = {
      method: 'SUBSCRIBE',
      requestUri: presentity(i % presentities),
      callId: `bench-sub-${i}`,
      from: `<${watcher(i)}>;tag=wf${i}`,
      to: `<${presentity(i % presentities)}>`,
      cseq: 1,
      contact: `<sip:w${i}@192.0.2.${20 + (i % 200)}:5062>`,
      event: 'presence',
      expires: '7200',
      source: SRC,
      localTag: `lt${i}`,
    };
    const r = await service.handle(req);
    if (r.reply?.status !== 200) failures++;
    if (i > 0 && i % 100_000 === 0) log(`  subscribed ${i}`);
  });
  const subscribeSeconds = (performance.now() - t0) / 1000;
  if (failures > 0) throw new Error(`${failures} SUBSCRIBEs failed while populating`);
  const etags: string[] = [];
  await pooled(presentities, 512, async (p) => {
    const r = await service.handle({
      method: 'PUBLISH',
      requestUri: presentity(p),
      callId: `bench-pub-${p}`,
      from: `<${presentity(p)}>;tag=pf${p}`,
      to: `<${presentity(p)}>`,
      cseq: 1,
      event: 'presence',
      expires: '7200',
      contentType: 'application/pidf+xml',
      body: body(presentity(p), true, 'initial'),
      source: SRC,
      localTag: `pl${p}`,
    });
    etags[p] = r.reply?.headers.find((h) => h.name === 'SIP-ETag')?.value ?? '';
  });
  await service.close();
  return { subscribePerSec: subs / subscribeSeconds, etags };
}

async function measure(dir: string, threads: number, perWorker: number, round: number, etags: string[]): Promise<RoundResult> {
  const service = await PresenceService.start(options(dir, threads, perWorker));
  const presentities = etags.length;
  if (args.warmup) {
    // Steady state: one untimed PUBLISH per presentity fills each worker's target cache for its share.
    await pooled(presentities, 512, async (p) => {
      const r = await service.handle({
        method: 'PUBLISH', requestUri: presentity(p), callId: `bench-warm-${threads}-${round}-${p}`, from: `<${presentity(p)}>;tag=w${p}`,
        to: `<${presentity(p)}>`, cseq: 1, event: 'presence', expires: '7200', sipIfMatch: etags[p] as string,
        contentType: 'application/pidf+xml', body: body(presentity(p), p % 2 === 0, `warm.${threads}.${round}.${p}`), source: SRC, localTag: `w${p}`,
      });
      etags[p] = r.reply?.headers.find((h) => h.name === 'SIP-ETag')?.value ?? (etags[p] as string);
    });
  }
  let publishes = 0;
  let notifies = 0;
  let failures = 0;
  let k = 0;
  const latencies: number[] = [];
  const inFlight = new Set<number>();
  let cursor = round * 7919;
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const lanes = Array.from({ length: Math.min(concurrency, presentities) }, async () => {
    while (performance.now() < deadline) {
      let p = cursor++ % presentities;
      while (inFlight.has(p)) p = cursor++ % presentities;
      inFlight.add(p);
      const n = ++k;
      const started = performance.now();
      const r = await service.handle({
        method: 'PUBLISH',
        requestUri: presentity(p),
        callId: `bench-mod-${p}-${n}`,
        from: `<${presentity(p)}>;tag=pm${n}`,
        to: `<${presentity(p)}>`,
        cseq: 1,
        event: 'presence',
        expires: '7200',
        sipIfMatch: etags[p] as string,
        contentType: 'application/pidf+xml',
        // Unique per round and thread count: a body equal to the current state would (rightly) notify nobody.
        body: body(presentity(p), n % 2 === 0, `${threads}.${round}.${n}`),
        source: SRC,
        localTag: `pm${n}`,
      });
      latencies.push(performance.now() - started);
      inFlight.delete(p);
      if (r.reply?.status === 200) {
        publishes++;
        notifies += r.notifyCount;
        etags[p] = r.reply.headers.find((h) => h.name === 'SIP-ETag')?.value ?? '';
      } else failures++;
    }
  });
  await Promise.all(lanes);
  const elapsed = (performance.now() - t0) / 1000;
  const timing = service.stats().timing;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const rssMb = process.memoryUsage().rss / 1024 ** 2;
  await service.close();
  return {
    threads,
    tasksPerWorker: perWorker,
    round,
    publishes,
    notifies,
    seconds: round2(elapsed),
    publishPerSec: Math.round(publishes / elapsed),
    notifiesPerSec: Math.round(notifies / elapsed),
    bodiesRenderedPerSec: Math.round(publishes / elapsed),
    publishLatencyMs: summarize(latencies),
    rssMb: Math.round(rssMb),
    failures,
    notifiesPerPublish: round2(notifies / Math.max(1, publishes)),
    cpuCores: round2(cpuSeconds / elapsed),
    taskComputeMsAvg: round2(timing.computeMs / Math.max(1, timing.tasks)),
    taskCommitMsAvg: round2(timing.commitMs / Math.max(1, timing.tasks)),
    notifiesPerCpuSecond: Math.round(notifies / cpuSeconds),
  };
}

function round2(n: number): number {
  return round(n, 2);
}

/** Main-thread cost of decoding NOTIFYs when a front delivers them (µs per NOTIFY). */
async function decodeCost(dir: string, etags: string[]): Promise<number> {
  const service = await PresenceService.start(options(dir, 1));
  let total = 0;
  let count = 0;
  for (let p = 0; p < Math.min(50, etags.length); p++) {
    const r = await service.handle({
      method: 'PUBLISH', requestUri: presentity(p), callId: `bench-dec-${p}`, from: `<${presentity(p)}>;tag=d${p}`, to: `<${presentity(p)}>`,
      cseq: 1, event: 'presence', expires: '7200', sipIfMatch: etags[p] as string, contentType: 'application/pidf+xml',
      body: body(presentity(p), p % 2 === 1, `decode.${p}`), source: SRC, localTag: `d${p}`,
    });
    etags[p] = r.reply?.headers.find((h) => h.name === 'SIP-ETag')?.value ?? '';
    const packedStart = performance.now();
    const n = r.notifies.length;
    total += performance.now() - packedStart;
    count += n;
  }
  await service.close();
  return count > 0 ? round((total * 1000) / count, 2) : NaN;
}

async function main(): Promise<void> {
  const facts = machineFacts();
  const results: unknown[] = [];
  for (const subs of sizes) {
    const dir = args.dir ? join(args.dir as string, `s${subs}`) : join(tmpdir(), `presenced-bench-core-${process.pid}-${subs}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    log(`${subs} subscriptions (${Math.floor(subs / fanout)} presentities × ${fanout} watchers): populating`);
    const pop = await populate(dir, subs);
    log(`  SUBSCRIBE ${Math.round(pop.subscribePerSec)}/s; LMDB ${Math.round(dirSize(dir) / 1024 ** 2)} MB`);
    const rs: RoundResult[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const t of threadCounts) for (const w of tasksPerWorker) {
        const res = await measure(dir, t, w, r, pop.etags);
        rs.push(res);
        log(
          `  round ${r} threads ${t}${tasksPerWorker.length > 1 ? ` tasks/worker ${w}` : ''}: ${res.publishPerSec} PUBLISH/s, ${res.notifiesPerSec} NOTIFY/s, p99 ${round(res.publishLatencyMs.p99)} ms, ` +
            `${res.cpuCores} cores busy, ${res.notifiesPerCpuSecond} NOTIFY per CPU-second, task compute ${res.taskComputeMsAvg} ms / commit ${res.taskCommitMsAvg} ms`,
        );
      }
    }
    const decodeUs = await decodeCost(dir, pop.etags);
    const w0 = tasksPerWorker[0] as number;
    const best = (t: number): RoundResult | undefined => rs.filter((x) => x.threads === t && x.tasksPerWorker === w0).sort((a, b) => b.notifiesPerSec - a.notifiesPerSec)[0];
    const mean = (t: number, w: number, f: (x: RoundResult) => number): number => {
      const xs = rs.filter((x) => x.threads === t && x.tasksPerWorker === w);
      return xs.reduce((a, x) => a + f(x), 0) / Math.max(1, xs.length);
    };
    const nps = (x: RoundResult): number => x.notifiesPerSec;
    const ratio = threadCounts.length > 1 ? round(mean(threadCounts[1] as number, w0, nps) / mean(threadCounts[0] as number, w0, nps), 2) : NaN;
    // Tasks-per-worker variants against the first, per thread count (same rounds, same data).
    const perWorkerRatios = Object.fromEntries(
      tasksPerWorker.slice(1).flatMap((w) => threadCounts.map((t) => [`threads${t}:${w}v${w0}`, round(mean(t, w, nps) / mean(t, w0, nps), 2)])),
    );
    results.push({
      subscriptions: subs,
      presentities: Math.floor(subs / fanout),
      fanout,
      subscribePerSec: Math.round(pop.subscribePerSec),
      lmdbBytes: dirSize(dir),
      rounds: rs,
      best: Object.fromEntries(threadCounts.map((t) => [t, best(t)])),
      scaling: { [`${threadCounts[1]}v${threadCounts[0]}`]: ratio, ...perWorkerRatios },
      mainDecodeUsPerNotify: decodeUs,
    });
    log(`  ${threadCounts.join(' vs ')} threads: NOTIFY/s ratio ${ratio}; main-thread decode ${decodeUs} µs/NOTIFY`);
    if (tasksPerWorker.length > 1) log(`  tasks per worker: ${JSON.stringify(perWorkerRatios)}`);
    rmSync(dir, { recursive: true, force: true });
  }
  const out = { benchmark: 'core', machine: facts, parameters: { sizes, fanout, seconds, rounds, concurrency, threadCounts, tasksPerWorker, durability: 'sync', warmup: args.warmup }, results };
  mkdirSync(args.out as string, { recursive: true });
  const file = join(args.out as string, `core-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(out, null, 2));
  process.stdout.write(`${file}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
