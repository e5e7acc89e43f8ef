/**
 * `presenced tune` (`npm run tune -- [options]`): sweeps the worker pool on
 * this machine and recommends settings for it.
 *
 *  1. Core sweep: dist/bench/core/core-bench.js as a child process
 *     (`--threads a,b,c --concurrency n`: the core in-process on LMDB with
 *     durable commits, S subscriptions, fan-out 100): PUBLISH/s, NOTIFY/s and
 *     PUBLISH p99 per thread count, LMDB bytes per subscription, RSS.
 *  2. Stack sweep: the `fanout` scenario through Kamailio + presenced (SIP
 *     delivery) with a short rate ramp per pool setting — threads, then
 *     concurrentTasksPerWorker and maxPending at the best thread count:
 *     maximum sustained NOTIFY/s and PUBLISH→NOTIFY p99 (at the max and at
 *     about half of it).
 *  3. Recommendation (printed, and in the JSON/HTML):
 *     - pool.threads: the smallest thread count whose stack throughput is
 *       within 10 % of the best measured (the ramp is refined by bisection to
 *       about that resolution; differences below it are noise) (the stack is the deployment; the core
 *       sweep decides when the stack was not run). More threads than that
 *       only add contention: on a box that also runs Kamailio, presenced's
 *       main thread (JSON-RPC, NOTIFY transport) and the kernel's UDP work
 *       need cores too.
 *     - pool.concurrentTasksPerWorker: the smallest value within 10 % of the
 *       best (more tasks per worker batch more writes into one LMDB commit;
 *       beyond the knee they only queue inside the worker).
 *     - pool.maxPending: what the stack can drain within half the task
 *       timeout at its measured maximum request rate: beyond that a queued
 *       request would time out anyway, so refusing it at once (503 +
 *       Retry-After) is better: ceil(max requests/s × taskTimeoutMs/1000 × 0.5).
 *     - memory and LMDB map size for --subscriptions N: LMDB bytes per
 *       subscription (measured by the core sweep) × N × 2 headroom; target
 *       cache 0.5 KB per cached target per worker thread.
 *
 *   node dist/bench/tune.js [--quick] [--threads 1,2,3,4] [--tasks 8,32,128] [--max-pending 2000,20000]
 *        [--core-size 10000] [--core-seconds 5] [--concurrency 512] [--no-core] [--no-stack]
 *        [--stack-seconds 3] [--start-rate 100] [--step-factor 1.5] [--max-steps 8]
 *        [--watchers 1000] [--presentities 100] [--subscriptions 1000000] [--out bench/results]
 *   node dist/bench/tune.js --rerender bench/results/tune-<timestamp>     (report.html again from results.json)
 *
 * Progress on stderr; the result directory is the only stdout line.
 */
import { spawn } from 'node:child_process';
import { availableParallelism, totalmem } from 'node:os';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fanoutScenario } from './scenarios/fanout.js';
import { machineFacts } from './lib/machine-facts.js';
import { installExitHooks, registerChild } from './lib/procs.js';
import { runScenarios, type TargetRun } from './lib/runner.js';
import { sippVersion } from './lib/sipp.js';
import { round } from './lib/stats.js';
import { esc, fmt, lineChart } from './lib/svg.js';
import { type PoolSettings, REPO_ROOT } from './lib/targets.js';

const { values: a } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    threads: { type: 'string' },
    tasks: { type: 'string' },
    'max-pending': { type: 'string' },
    'core-size': { type: 'string' },
    'core-seconds': { type: 'string' },
    concurrency: { type: 'string', default: '512' },
    'no-core': { type: 'boolean', default: false },
    'no-stack': { type: 'boolean', default: false },
    'stack-seconds': { type: 'string' },
    'start-rate': { type: 'string' },
    'step-factor': { type: 'string' },
    'max-steps': { type: 'string' },
    watchers: { type: 'string' },
    presentities: { type: 'string' },
    subscriptions: { type: 'string', default: '1000000' },
    'task-timeout-ms': { type: 'string', default: '4000' },
    out: { type: 'string', default: 'bench/results' },
    quiet: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
    /** Rewrite DIR/report.html from DIR/results.json (no measurement). */
    rerender: { type: 'string' },
  },
});

if (a.help) {
  process.stdout.write(readFileSync(new URL(import.meta.url)).toString('utf8').split('*/')[0]?.replace(/^\/\*\*?/, '') ?? '');
  process.exit(0);
}

const quick = a.quick === true;
const cores = availableParallelism();
const list = (v: string | undefined, d: number[]): number[] => (v === undefined ? d : v.split(',').map((x) => Math.max(1, Math.floor(Number(x)))).filter((x) => Number.isFinite(x)));
const defaultThreads = quick ? [1, 2] : [...new Set([1, 2, 3, 4, cores, cores * 2].filter((t) => t <= Math.max(4, cores * 2)))].sort((x, y) => x - y);
const threadsList = list(a.threads, defaultThreads);
const tasksList = list(a.tasks, quick ? [] : [8, 32, 128]);
const pendingList = list(a['max-pending'], quick ? [] : [2000, 20000]);
const coreSize = Math.floor(Number(a['core-size'] ?? (quick ? 2000 : 10000)));
const coreSeconds = Number(a['core-seconds'] ?? (quick ? 1 : 5));
const stackSeconds = Number(a['stack-seconds'] ?? (quick ? 1.5 : 3));
const subscriptionsPlanned = Math.floor(Number(a.subscriptions));
const taskTimeoutMs = Math.floor(Number(a['task-timeout-ms']));
const log = (msg: string): void => {
  if (!a.quiet) process.stderr.write(`${new Date().toISOString().slice(11, 19)} tune: ${msg}\n`);
};

interface CoreRound {
  threads: number;
  publishPerSec: number;
  notifiesPerSec: number;
  publishLatencyMs: { p50: number; p99: number };
  cpuCores: number;
  notifiesPerCpuSecond: number;
  rssMb: number;
  failures: number;
}

interface CoreSweep {
  file: string;
  subscriptions: number;
  lmdbBytes: number;
  lmdbBytesPerSubscription: number;
  subscribePerSec: number;
  rounds: CoreRound[];
}

function runCore(): Promise<CoreSweep> {
  const out = mkdtempSync(join(tmpdir(), 'presenced-tune-core-'));
  const script = join(REPO_ROOT, 'dist', 'bench', 'core', 'core-bench.js');
  const argv = [script, '--sizes', String(coreSize), '--seconds', String(coreSeconds), '--rounds', '1', '--threads', threadsList.join(','), '--concurrency', String(a.concurrency), '--out', out];
  log(`core sweep: node ${argv.map((x) => x.replace(REPO_ROOT + '/', '')).join(' ')}`);
  return new Promise((resolveCore, reject) => {
    const child = spawn(process.execPath, argv, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    registerChild(child);
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (!a.quiet) for (const line of d.split('\n')) if (line.trim()) process.stderr.write(`  core: ${line}\n`);
    });
    child.once('exit', (code) => {
      try {
        if (code !== 0) throw new Error(`core-bench exited ${code}`);
        const file = stdout.trim().split('\n').pop() ?? '';
        const json = JSON.parse(readFileSync(file, 'utf8')) as { results: Array<{ subscriptions: number; lmdbBytes: number; subscribePerSec: number; rounds: CoreRound[] }> };
        const r = json.results[0];
        if (!r) throw new Error('core-bench wrote no result');
        resolveCore({
          file,
          subscriptions: r.subscriptions,
          lmdbBytes: r.lmdbBytes,
          lmdbBytesPerSubscription: round(r.lmdbBytes / r.subscriptions, 1),
          subscribePerSec: r.subscribePerSec,
          rounds: r.rounds.map((x) => ({
            threads: x.threads,
            publishPerSec: x.publishPerSec,
            notifiesPerSec: x.notifiesPerSec,
            publishLatencyMs: { p50: round(x.publishLatencyMs.p50, 2), p99: round(x.publishLatencyMs.p99, 2) },
            cpuCores: x.cpuCores,
            notifiesPerCpuSecond: x.notifiesPerCpuSecond,
            rssMb: x.rssMb,
            failures: x.failures,
          })),
        });
      } catch (err) {
        reject(err);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });
  });
}

interface StackPoint {
  pool: Required<PoolSettings>;
  ok: boolean;
  error?: string;
  maxPublishPerSec: number | null;
  maxNotifyPerSec: number | null;
  p99AtMaxMs: number | null;
  p99AtHalfMs: number | null;
  presencedCpuSecPer1000Notify: number | null;
  stoppedBy: string | null;
  /** The ramp reached a failing step: the maximum is real, not a lower bound. */
  saturated: boolean;
}

async function runStackPoint(pool: Required<PoolSettings>): Promise<StackPoint> {
  const sc = fanoutScenario({
    quick,
    name: 'fanout',
    ...(a.watchers !== undefined ? { watchers: Number(a.watchers) } : {}),
    ...(a.presentities !== undefined ? { presentities: Number(a.presentities) } : {}),
    ...(a['start-rate'] !== undefined ? { startRate: Number(a['start-rate']) } : quick ? {} : { startRate: 100 }),
    ...(a['step-factor'] !== undefined ? { factor: Number(a['step-factor']) } : {}),
    ...(a['max-steps'] !== undefined ? { maxSteps: Number(a['max-steps']) } : quick ? {} : { maxSteps: 10 }),
  });
  const [run] = await runScenarios([sc], {
    quick,
    seconds: stackSeconds,
    targets: ['presenced-sip'],
    pool,
    kamailioChildren: 4,
    shmMb: 1024,
    keep: false,
    uasSockets: 2,
    recvTimeoutMs: 5000,
    maxDrainMs: 10_000,
    // two bisection steps after the first failing one: ~10 % resolution instead of the ramp's ×1.5
    refine: quick ? 0 : 2,
    log: (m) => log(`  ${m}`),
  });
  const t = run?.targets[0] as TargetRun;
  const max = t.maxSustained ? t.steps[t.maxSustained.step] : undefined;
  const half = t.halfMaxStep !== null ? t.steps[t.halfMaxStep] : undefined;
  return {
    pool,
    ok: t.ok,
    ...(t.error !== undefined ? { error: t.error.split('\n')[0] as string } : {}),
    maxPublishPerSec: max?.achievedPerSec ?? null,
    maxNotifyPerSec: max?.notify.perSec ?? null,
    p99AtMaxMs: max?.latencyMs?.p99 ?? null,
    p99AtHalfMs: half?.latencyMs?.p99 ?? null,
    presencedCpuSecPer1000Notify: max?.cpu.presencedSecondsPer1000Notify ?? null,
    stoppedBy: t.stoppedBy?.reason.slice(0, 200) ?? null,
    saturated: t.stoppedBy !== null,
  };
}

/** The smallest x whose value is within `tolerance` of the best one (10 %: the refined ramp's resolution). */
function kneeOf<T>(points: ReadonlyArray<{ x: number; value: number | null; item: T }>, tolerance = 0.1): { x: number; item: T } | undefined {
  const valid = points.filter((p) => p.value !== null && Number.isFinite(p.value)) as Array<{ x: number; value: number; item: T }>;
  if (valid.length === 0) return undefined;
  const best = Math.max(...valid.map((p) => p.value));
  const ok = valid.filter((p) => p.value >= best * (1 - tolerance)).sort((p, q) => p.x - q.x);
  const k = ok[0] as { x: number; item: T };
  return { x: k.x, item: k.item };
}

async function main(): Promise<void> {
  if (a.rerender !== undefined) {
    const dir = resolve(a.rerender);
    writeFileSync(join(dir, 'report.html'), html(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Parameters<typeof html>[0]));
    process.stdout.write(`${dir}\n`);
    return;
  }
  installExitHooks('tune');
  const facts = machineFacts({ kamailio: ['kamailio', ['-v']] });
  const machine = { ...facts, tools: { ...facts.tools, sipp: sippVersion() } };
  log(`${cores} cores, ${round(totalmem() / 1024 ** 3, 1)} GB; threads ${threadsList.join(',')}; tasks/worker ${tasksList.join(',') || '(default 32)'}; maxPending ${pendingList.join(',') || '(default 20000)'}`);
  const startedAt = new Date().toISOString();
  const core = a['no-core'] ? null : await runCore();
  if (core) {
    for (const r of core.rounds) log(`core threads ${r.threads}: ${r.publishPerSec} PUBLISH/s, ${r.notifiesPerSec} NOTIFY/s, p99 ${r.publishLatencyMs.p99} ms, ${r.cpuCores} cores`);
  }
  const stack: StackPoint[] = [];
  const defaults = { concurrentTasksPerWorker: 32, maxPending: 20000 };
  if (!a['no-stack']) {
    for (const t of threadsList) {
      log(`stack: threads ${t}`);
      const p = await runStackPoint({ threads: t, ...defaults });
      stack.push(p);
      log(`stack threads ${t}: max ${p.maxPublishPerSec ?? '–'} PUBLISH/s, ${p.maxNotifyPerSec ?? '–'} NOTIFY/s, p99 at max ${p.p99AtMaxMs ?? '–'} ms, at half ${p.p99AtHalfMs ?? '–'} ms`);
    }
  }
  const threadKnee =
    kneeOf(stack.filter((p) => p.pool.concurrentTasksPerWorker === 32 && p.pool.maxPending === 20000).map((p) => ({ x: p.pool.threads, value: p.maxNotifyPerSec, item: p }))) ??
    kneeOf((core?.rounds ?? []).map((r) => ({ x: r.threads, value: r.notifiesPerSec, item: r })));
  const bestThreads = Math.min(threadKnee?.x ?? cores, Math.max(1, cores));
  if (!a['no-stack']) {
    for (const c of tasksList) {
      if (c === 32) continue;
      log(`stack: threads ${bestThreads}, concurrentTasksPerWorker ${c}`);
      stack.push(await runStackPoint({ threads: bestThreads, concurrentTasksPerWorker: c, maxPending: 20000 }));
    }
  }
  const taskPoints = stack.filter((p) => p.pool.threads === bestThreads && p.pool.maxPending === 20000);
  const taskKnee = kneeOf(taskPoints.map((p) => ({ x: p.pool.concurrentTasksPerWorker, value: p.maxNotifyPerSec, item: p })));
  const bestTasks = taskKnee?.x ?? 32;
  if (!a['no-stack']) {
    for (const m of pendingList) {
      if (m === 20000 && bestTasks === 32) continue;
      log(`stack: threads ${bestThreads}, concurrentTasksPerWorker ${bestTasks}, maxPending ${m}`);
      stack.push(await runStackPoint({ threads: bestThreads, concurrentTasksPerWorker: bestTasks, maxPending: m }));
    }
  }
  // sizing from the measurements
  const best = stack.filter((p) => p.pool.threads === bestThreads).sort((p, q) => (q.maxNotifyPerSec ?? 0) - (p.maxNotifyPerSec ?? 0))[0];
  const maxRequestsPerSec = best?.maxPublishPerSec ?? (core ? Math.max(...core.rounds.map((r) => r.publishPerSec)) : null);
  const maxPending = maxRequestsPerSec !== null ? Math.max(1000, Math.ceil(maxRequestsPerSec * (taskTimeoutMs / 1000) * 0.5)) : 20000;
  const bytesPerSub = core?.lmdbBytesPerSubscription ?? 1800;
  const mapSizeMb = Math.ceil((bytesPerSub * subscriptionsPlanned * 2) / 1024 ** 2);
  const targetCacheSize = Math.min(500_000, subscriptionsPlanned);
  const cacheMbPerWorker = round((targetCacheSize * 512) / 1024 ** 2, 1);
  const recommendation = {
    pool: { threads: bestThreads, concurrentTasksPerWorker: bestTasks, maxPending, taskTimeoutMs, targetCacheSize },
    mapSizeMb,
    memory: {
      targetCacheMbPerWorker: cacheMbPerWorker,
      targetCacheMbTotal: round(cacheMbPerWorker * bestThreads, 1),
      lmdbBytesPerSubscription: bytesPerSub,
      lmdbMbForSubscriptions: Math.ceil((bytesPerSub * subscriptionsPlanned) / 1024 ** 2),
    },
    measured: {
      stackMaxPublishPerSec: best?.maxPublishPerSec ?? null,
      stackMaxNotifyPerSec: best?.maxNotifyPerSec ?? null,
      stackP99AtHalfMs: best?.p99AtHalfMs ?? null,
      presencedCpuSecPer1000Notify: best?.presencedCpuSecPer1000Notify ?? null,
      coreBestNotifyPerSec: core ? Math.max(...core.rounds.map((r) => r.notifiesPerSec)) : null,
    },
    rules: [
      'pool.threads = the smallest thread count within 10 % of the best max sustained stack NOTIFY/s (core NOTIFY/s when the stack was not run), at most the core count',
      'pool.concurrentTasksPerWorker = the smallest value within 10 % of the best stack NOTIFY/s at that thread count',
      `pool.maxPending = ceil(max sustained requests/s × taskTimeoutMs/1000 × 0.5), at least 1000: no more queued than can be answered within half the ${taskTimeoutMs} ms task timeout`,
      `mapSizeMb = LMDB bytes per subscription (${bytesPerSub}, measured) × ${subscriptionsPlanned} subscriptions × 2 headroom (the map also grows on demand)`,
      'pool.targetCacheSize = min(500000, subscriptions); ~0.5 KB per cached target in each worker thread',
    ],
    saturated: stack.every((p) => p.saturated),
    settingsJson: { pool: { threads: bestThreads, concurrentTasksPerWorker: bestTasks, maxPending, targetCacheSize }, mapSizeMb },
  };
  const result = {
    benchmark: 'presenced-tune',
    startedAt,
    finishedAt: new Date().toISOString(),
    quick,
    machine,
    parameters: { threads: threadsList, tasks: tasksList, maxPending: pendingList, coreSize, coreSeconds, concurrency: Number(a.concurrency), stackSeconds, subscriptionsPlanned },
    core,
    stack,
    recommendation,
  };
  const dir = resolve(a.out as string, `tune-${startedAt.replace(/[:.]/g, '-')}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'results.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(dir, 'report.html'), html(result));
  const lines = [
    '',
    `Recommended for this machine (${cores} cores, ${round(totalmem() / 1024 ** 3, 1)} GB):`,
    `  pool.threads                  ${bestThreads}`,
    `  pool.concurrentTasksPerWorker ${bestTasks}`,
    `  pool.maxPending               ${maxPending}`,
    `  pool.targetCacheSize          ${targetCacheSize}  (~${cacheMbPerWorker} MB per worker)`,
    `  mapSizeMb                     ${mapSizeMb}  (for ${subscriptionsPlanned} subscriptions at ${bytesPerSub} B each, ×2)`,
    `  measured: stack ${best?.maxNotifyPerSec ?? '–'} NOTIFY/s max sustained (${best?.maxPublishPerSec ?? '–'} PUBLISH/s), p99 at ~half ${best?.p99AtHalfMs ?? '–'} ms`,
    `  presenced.json: ${JSON.stringify(recommendation.settingsJson)}`,
    ...(stack.some((p) => !p.saturated)
      ? ['  WARNING: some stack ramps never reached a failing step (the maxima are lower bounds): raise --max-steps or --start-rate']
      : []),
    '',
  ];
  process.stderr.write(lines.join('\n'));
  log(`report: ${join(dir, 'report.html')}`);
  process.stdout.write(`${dir}\n`);
}

function html(r: {
  machine: unknown;
  parameters: unknown;
  core: CoreSweep | null;
  stack: StackPoint[];
  recommendation: { rules: string[]; settingsJson: unknown };
}): string {
  const charts: string[] = [];
  const threadPoints = r.stack.filter((p) => p.pool.concurrentTasksPerWorker === 32 && p.pool.maxPending === 20000).sort((p, q) => p.pool.threads - q.pool.threads);
  if (r.core) {
    charts.push(
      lineChart({
        title: `Throughput vs worker threads: core (${r.core.subscriptions} subscriptions, in-process)`,
        xLabel: 'pool.threads',
        yLabel: 'NOTIFY/s',
        series: [
          { name: 'core NOTIFY/s', points: r.core.rounds.map((x) => [x.threads, x.notifiesPerSec] as const) },
          { name: 'core PUBLISH/s × 100', points: r.core.rounds.map((x) => [x.threads, x.publishPerSec * 100] as const), dashed: true },
        ],
      }),
    );
  }
  charts.push(
    lineChart({
      title: 'Throughput vs worker threads: stack (fan-out, max sustained)',
      xLabel: 'pool.threads',
      yLabel: 'NOTIFY/s',
      series: [
        { name: 'stack max sustained NOTIFY/s', points: threadPoints.map((p) => [p.pool.threads, p.maxNotifyPerSec ?? NaN] as const) },
        { name: 'stack max sustained PUBLISH/s × 10', points: threadPoints.map((p) => [p.pool.threads, (p.maxPublishPerSec ?? NaN) * 10] as const), dashed: true },
      ],
    }),
  );
  charts.push(
    lineChart({
      title: 'p99 latency vs worker threads',
      xLabel: 'pool.threads',
      yLabel: 'ms (log)',
      yLog: true,
      series: [
        ...(r.core ? [{ name: 'core PUBLISH p99 (at saturation)', points: r.core.rounds.map((x) => [x.threads, x.publishLatencyMs.p99] as const) }] : []),
        { name: 'stack PUBLISH→NOTIFY p99 at max', points: threadPoints.map((p) => [p.pool.threads, p.p99AtMaxMs ?? NaN] as const) },
        { name: 'stack PUBLISH→NOTIFY p99 at ~half max', points: threadPoints.map((p) => [p.pool.threads, p.p99AtHalfMs ?? NaN] as const) },
      ],
    }),
  );
  let rows = '';
  for (const p of r.stack) {
    rows += `<tr><td>${p.pool.threads}</td><td>${p.pool.concurrentTasksPerWorker}</td><td>${p.pool.maxPending}</td><td>${fmt(p.maxPublishPerSec ?? NaN)}</td><td>${fmt(p.maxNotifyPerSec ?? NaN)}</td><td>${fmt(p.p99AtMaxMs ?? NaN)}</td><td>${fmt(p.p99AtHalfMs ?? NaN)}</td><td>${fmt(p.presencedCpuSecPer1000Notify ?? NaN)}</td><td>${esc(p.error ?? p.stoppedBy ?? '')}</td></tr>`;
  }
  let coreRows = '';
  for (const x of r.core?.rounds ?? []) {
    coreRows += `<tr><td>${x.threads}</td><td>${fmt(x.publishPerSec)}</td><td>${fmt(x.notifiesPerSec)}</td><td>${fmt(x.publishLatencyMs.p99)}</td><td>${fmt(x.cpuCores)}</td><td>${fmt(x.rssMb)}</td></tr>`;
  }
  return (
    `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>presenced tune</title><style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:3px 6px}</style></head><body>` +
    `<h1>presenced tune</h1><div>${charts.join('')}</div>` +
    `<h2>Recommendation</h2><pre>${esc(JSON.stringify(r.recommendation.settingsJson, null, 2))}</pre><ul>${r.recommendation.rules.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` +
    `<h2>Core sweep</h2><table><tr><th>threads</th><th>PUBLISH/s</th><th>NOTIFY/s</th><th>PUBLISH p99 ms</th><th>cores used</th><th>RSS MB</th></tr>${coreRows}</table>` +
    `<h2>Stack sweep (fan-out ramp per setting)</h2><table><tr><th>threads</th><th>tasks/worker</th><th>maxPending</th><th>max PUBLISH/s</th><th>max NOTIFY/s</th><th>p99 at max</th><th>p99 at ~half</th><th>presenced CPU s/1000 NOTIFY</th><th>stopped by</th></tr>${rows}</table>` +
    `<h2>Machine and parameters</h2><pre>${esc(JSON.stringify({ machine: r.machine, parameters: r.parameters }, null, 2))}</pre></body></html>\n`
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
