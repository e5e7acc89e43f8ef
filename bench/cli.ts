/**
 * `npm run bench -- <scenario> [options]`: one command for every benchmark.
 *
 *   publish | subscribe | fanout | blf | carrier   one scenario (default target: presenced-sip)
 *   all                                            every scenario (default target: presenced-sip)
 *   side-by-side                                   every scenario against presenced-sip, kamailio-sqlite,
 *                                                  kamailio-memory, one after the other, with the ratios
 *   stack                                          the two NOTIFY delivery modes side by side: fanout against
 *                                                  presenced-sip and presenced-rpc
 *   core | tune                                    the in-process core benchmark, the tuning sweep
 *                                                  (arguments after the name are passed on)
 *   list                                           scenarios and targets
 *
 * Starts everything on loopback (Kamailio, presenced, sipp, the Node watcher
 * fleet), ramps the offered rate per scenario and target until the first
 * step with ≥ 1 % failures or achieved/offered < 0.9 (the maximum sustained
 * rate is the last passing step), prints progress on stderr, stops
 * everything it started by PID (also on Ctrl-C), and writes
 * bench/results/<name>-<timestamp>/results.json + report.html. The result
 * directory is the only stdout line. Exit status 0 when every run completed.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { kamailioBinary } from '../integrations/kamailio/kamailio-process.js';
import { carrierScenario } from './scenarios/carrier.js';
import { fanoutScenario } from './scenarios/fanout.js';
import { publishLifecycle } from './scenarios/publish-lifecycle.js';
import { subscribeLifecycle } from './scenarios/subscribe-lifecycle.js';
import type { Scenario } from './scenarios/types.js';
import { headline } from './lib/headline.js';
import { machineFacts } from './lib/machine-facts.js';
import { installExitHooks } from './lib/procs.js';
import { type BenchResult, renderHtml } from './lib/report.js';
import { runScenarios } from './lib/runner.js';
import { sippBinary, sippVersion } from './lib/sipp.js';
import { REPO_ROOT, TARGET_KINDS, TARGET_LABELS, type TargetKind } from './lib/targets.js';

export const SCENARIO_NAMES = ['publish', 'subscribe', 'fanout', 'blf', 'carrier'] as const;
type ScenarioName = (typeof SCENARIO_NAMES)[number];
const SIDE_BY_SIDE_TARGETS: TargetKind[] = ['presenced-sip', 'kamailio-sqlite', 'kamailio-memory'];

const USAGE = `usage: npm run bench -- <publish|subscribe|fanout|blf|carrier|all|side-by-side|list|stack|core|tune> [options]

  --quick                 tiny counts, 2 short steps (the smoke tests)
  --targets a,b           presenced-sip, presenced-rpc, kamailio-sqlite, kamailio-memory, or "all"
                          (default: presenced-sip; side-by-side: presenced-sip,kamailio-sqlite,kamailio-memory;
                          stack: the fanout scenario against presenced-sip,presenced-rpc)
  --scenarios a,b         with all / side-by-side: which scenarios (default: all five)
  --seconds S             duration of one ramp step (default 6; quick 1.5)
  --rate R                one step at R (scenario unit) instead of the ramp
  --start-rate R          first ramp step, or per scenario: fanout=100,publish=400
  --step-factor F         rate multiplier per step (default 1.5; quick 2)
  --max-steps N           steps at most (default 16; quick 2)
  --refine N              after the first failing step, N bisection steps towards the last passing rate (default 0)
  --watchers W --presentities P         fanout (default 1000 on 100)
  --phones N                            blf (default 40: N² − N subscriptions)
  --subscribers S --buddies B           carrier (default 300 × 8)
  --refreshes K                         subscribe: in-dialog refreshes per call (default 1)
  --subscribe-rate R                    population SUBSCRIBE rate before the ramp (default 250/s)
  --threads T --tasks-per-worker C --max-pending M    presenced pool (default: cores, 32, 20000)
  --kamailio-children K   SIP workers of the presenced proxy and kamailio-memory (default 4)
  --notify-transport T    presenced-sip: NOTIFYs to Kamailio over tcp (default, the product default) or udp
  --shm-mb M              Kamailio shared memory (default 1024)
  --uas-sockets U         UDP sockets of the watcher fleet (default 2)
  --name NAME             result directory name prefix (default: the command)
  --out DIR               (default bench/results)
  --keep                  keep temp dirs (databases, sipp traces, logs)
  --quiet                 no progress on stderr
`;

function fail(msg: string): never {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}

function passThrough(script: string, argv: string[]): void {
  const file = join(REPO_ROOT, 'dist', 'bench', script);
  const child = spawn(process.execPath, [file, ...argv], { stdio: 'inherit' });
  const forward = (sig: NodeJS.Signals): void => {
    if (child.pid !== undefined) child.kill(sig);
  };
  process.on('SIGINT', () => forward('SIGINT'));
  process.on('SIGTERM', () => forward('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

async function main(): Promise<void> {
  const command = process.argv[2];
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (command === 'core') return passThrough('core/core-bench.js', process.argv.slice(3));
  if (command === 'tune') return passThrough('tune.js', process.argv.slice(3));
  if (command === 'list') {
    process.stdout.write(`scenarios: ${SCENARIO_NAMES.join(', ')}\ntargets:\n${TARGET_KINDS.map((k) => `  ${k}: ${TARGET_LABELS[k]}`).join('\n')}\n`);
    return;
  }
  const isScenario = (SCENARIO_NAMES as readonly string[]).includes(command);
  if (!isScenario && command !== 'all' && command !== 'side-by-side' && command !== 'stack') fail(`unknown command ${command}\n${USAGE}`);

  const { values: a } = parseArgs({
    args: process.argv.slice(3),
    options: {
      quick: { type: 'boolean', default: false },
      targets: { type: 'string' },
      scenarios: { type: 'string' },
      seconds: { type: 'string' },
      rate: { type: 'string' },
      'start-rate': { type: 'string' },
      'step-factor': { type: 'string' },
      'max-steps': { type: 'string' },
      watchers: { type: 'string' },
      presentities: { type: 'string' },
      phones: { type: 'string' },
      subscribers: { type: 'string' },
      buddies: { type: 'string' },
      refreshes: { type: 'string' },
      'subscribe-rate': { type: 'string' },
      threads: { type: 'string' },
      'tasks-per-worker': { type: 'string' },
      'max-pending': { type: 'string' },
      'kamailio-children': { type: 'string', default: '4' },
      'notify-transport': { type: 'string', default: 'tcp' },
      'shm-mb': { type: 'string', default: '1024' },
      'uas-sockets': { type: 'string', default: '2' },
      'recv-timeout-ms': { type: 'string', default: '5000' },
      'max-drain-ms': { type: 'string', default: '15000' },
      refine: { type: 'string', default: '0' },
      name: { type: 'string' },
      out: { type: 'string', default: 'bench/results' },
      keep: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      'presenced-cpu-prof': { type: 'string' },
    },
  });
  const quick = a.quick === true;
  const num = (name: string, v: string | undefined, min: number): number | undefined => {
    if (v === undefined) return undefined;
    const x = Number(v);
    if (!Number.isFinite(x) || x < min) fail(`--${name} must be a number >= ${min}, got ${JSON.stringify(v)}`);
    return x;
  };
  const int = (name: string, v: string | undefined, min: number): number | undefined => {
    const x = num(name, v, min);
    return x === undefined ? undefined : Math.floor(x);
  };

  let scenarioNames: ScenarioName[];
  if (isScenario) scenarioNames = [command as ScenarioName];
  else if (command === 'stack') scenarioNames = ['fanout'];
  else {
    scenarioNames = a.scenarios ? (a.scenarios.split(',').map((s) => s.trim()) as ScenarioName[]) : [...SCENARIO_NAMES];
    for (const s of scenarioNames) if (!(SCENARIO_NAMES as readonly string[]).includes(s)) fail(`unknown scenario ${s}`);
  }
  let targets: TargetKind[];
  if (a.targets === 'all') targets = [...TARGET_KINDS];
  else if (a.targets) targets = a.targets.split(',').map((s) => s.trim()) as TargetKind[];
  else targets = command === 'side-by-side' ? SIDE_BY_SIDE_TARGETS : command === 'stack' ? ['presenced-sip', 'presenced-rpc'] : ['presenced-sip'];
  for (const t of targets) if (!TARGET_KINDS.includes(t)) fail(`unknown target ${t} (${TARGET_KINDS.join(', ')})`);

  const startRates: Partial<Record<ScenarioName, number>> = {};
  if (a['start-rate']) {
    for (const part of a['start-rate'].split(',')) {
      const [k, v] = part.includes('=') ? part.split('=') : [undefined, part];
      const x = num('start-rate', v, 0.01) as number;
      if (k === undefined) for (const s of scenarioNames) startRates[s] = x;
      else if ((SCENARIO_NAMES as readonly string[]).includes(k)) startRates[k as ScenarioName] = x;
      else fail(`--start-rate: unknown scenario ${k}`);
    }
  }
  const factor = num('step-factor', a['step-factor'], 1.01);
  const maxSteps = int('max-steps', a['max-steps'], 1);
  const common = (s: ScenarioName) => ({
    quick,
    ...(startRates[s] !== undefined ? { startRate: startRates[s] } : {}),
    ...(factor !== undefined ? { factor } : {}),
    ...(maxSteps !== undefined ? { maxSteps } : {}),
  });
  const subscribeRate = num('subscribe-rate', a['subscribe-rate'], 1);
  const opt = <T>(k: string, v: T | undefined): Record<string, T> => (v === undefined ? {} : { [k]: v });
  const scenarios: Scenario[] = scenarioNames.map((s) => {
    switch (s) {
      case 'publish':
        return publishLifecycle(common(s));
      case 'subscribe':
        return subscribeLifecycle({ ...common(s), ...opt('presentities', int('presentities', a.presentities, 1)), ...opt('refreshes', int('refreshes', a.refreshes, 0)) });
      case 'fanout':
        return fanoutScenario({
          ...common(s),
          name: 'fanout',
          ...opt('watchers', int('watchers', a.watchers, 1)),
          ...opt('presentities', int('presentities', a.presentities, 1)),
          ...opt('subscribeRate', subscribeRate),
        });
      case 'blf':
        return fanoutScenario({ ...common(s), name: 'blf', ...opt('phones', int('phones', a.phones, 2)), ...opt('subscribeRate', subscribeRate) });
      case 'carrier':
        return carrierScenario({
          ...common(s),
          ...opt('subscribers', int('subscribers', a.subscribers, 2)),
          ...opt('buddies', int('buddies', a.buddies, 1)),
          ...opt('subscribeRate', subscribeRate),
        });
    }
    return fail(`unknown scenario ${String(s)}`);
  });

  if (kamailioBinary() === null) fail('kamailio is not installed: run "npm run setup"');
  if (sippBinary() === null) fail('sipp is not installed (Debian package sip-tester): run "npm run setup"');
  installExitHooks('bench');
  const log = (msg: string): void => {
    if (!a.quiet) process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);
  };
  const threads = int('threads', a.threads, 1);
  const tasks = int('tasks-per-worker', a['tasks-per-worker'], 1);
  const maxPending = int('max-pending', a['max-pending'], 1);
  const pool = threads !== undefined || tasks !== undefined || maxPending !== undefined
    ? { ...opt('threads', threads), ...opt('concurrentTasksPerWorker', tasks), ...opt('maxPending', maxPending) }
    : undefined;
  const seconds = num('seconds', a.seconds, 0.2) ?? (quick ? 1.5 : 6);
  const fixedRate = num('rate', a.rate, 0.01);
  const notifyTransport = a['notify-transport'];
  if (notifyTransport !== 'udp' && notifyTransport !== 'tcp') throw new Error(`--notify-transport must be udp or tcp, not ${String(notifyTransport)}`);
  const facts = machineFacts({ kamailio: ['kamailio', ['-v']], sqlite3: ['sqlite3', ['--version']] });
  const tools: Record<string, string> = { ...facts.tools, sipp: sippVersion() };
  const machine = { ...facts, tools };
  const startedAt = new Date().toISOString();
  const name = a.name ?? command;
  log(
    `bench ${command}: scenarios ${scenarioNames.join(',')} × targets ${targets.join(',')}; ${seconds} s per step${quick ? ' (quick)' : ''}; ` +
      `${machine.cores} cores, ${machine.tools['kamailio']}, ${machine.tools['sipp']}, node ${machine.node}; load ${facts.loadAverage.map((x) => x.toFixed(2)).join(' ')}`,
  );
  const runs = await runScenarios(scenarios, {
    quick,
    seconds,
    targets,
    ...(fixedRate !== undefined ? { fixedRate } : {}),
    ...(pool !== undefined ? { pool } : {}),
    kamailioChildren: int('kamailio-children', a['kamailio-children'], 1) as number,
    notifyTransport,
    shmMb: int('shm-mb', a['shm-mb'], 64) as number,
    keep: a.keep === true,
    uasSockets: int('uas-sockets', a['uas-sockets'], 1) as number,
    recvTimeoutMs: int('recv-timeout-ms', a['recv-timeout-ms'], 100) as number,
    maxDrainMs: int('max-drain-ms', a['max-drain-ms'], 100) as number,
    refine: int('refine', a.refine, 0) as number,
    ...(a['presenced-cpu-prof'] !== undefined ? { cpuProfDir: a['presenced-cpu-prof'] } : {}),
    log,
  });
  const failures = runs.reduce((n, s) => n + s.targets.filter((t) => !t.ok).length, 0);
  const result: BenchResult = {
    benchmark: 'presenced-bench',
    formatVersion: 1,
    name,
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`,
    startedAt,
    finishedAt: new Date().toISOString(),
    quick,
    machine,
    parameters: {
      scenarios: scenarioNames,
      targets,
      seconds,
      fixedRate: fixedRate ?? null,
      pool: pool ?? 'presenced defaults (threads = cores, 32 tasks per worker, maxPending 20000)',
      kamailioChildren: a['kamailio-children'],
      shmMb: a['shm-mb'],
      uasSockets: a['uas-sockets'],
      recvTimeoutMs: a['recv-timeout-ms'],
      refine: Number(a.refine),
      passCriterion: 'a step passes with < 1 % failures (requests not answered 2xx, NOTIFY anomalies, stale watchers) and achieved/offered >= 0.9',
      durability: 'presenced: LMDB durability sync; kamailio-sqlite: write-through (subs_db_mode 1, publ_cache 1); kamailio-memory: none',
      loadGenerator: 'sipp 3.6 over UDP (one process per stream), Node UDP watcher fleet in the bench process',
    },
    scenarios: runs,
    headline: headline(runs),
    completed: failures === 0,
    failures,
    notes: [
      'All processes run on one machine: sipp, the watcher fleet and the system under test share its cores; the machine column shows how busy the whole box was (other work included).',
      'presenced runs without authorization rules (defaultSubHandling allow), as Kamailio presence_xml with force_active=1.',
    ],
  };
  const stamp = startedAt.replace(/[:.]/g, '-');
  const dir = resolve(a.out as string, `${name}-${stamp}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'results.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(dir, 'report.html'), renderHtml(result));
  for (const row of result.headline.rows) {
    log(
      `${row.target}: PUBLISH/s ${row.publishPerSec ?? '–'}, SUBSCRIBE/s ${row.subscribePerSec ?? '–'}, NOTIFY/s ${row.notifyPerSec ?? '–'}, ` +
        `p50/p99 ${row.latencyP50Ms ?? '–'}/${row.latencyP99Ms ?? '–'} ms, CPU s/1000 NOTIFY Kamailio ${row.kamailioCpuSecPer1000Notify ?? '–'} presenced ${row.presencedCpuSecPer1000Notify ?? '–'}, duplicates ${row.duplicateNotifies}`,
    );
  }
  for (const [k, r] of Object.entries(result.headline.ratios)) {
    log(`${k}: PUBLISH/s ×${r['publishPerSec'] ?? '–'}, SUBSCRIBE/s ×${r['subscribePerSec'] ?? '–'}, NOTIFY/s ×${r['notifyPerSec'] ?? '–'}, p99 ×${r['latencyP99Ms'] ?? '–'}`);
  }
  log(`${result.completed ? 'done' : `done with ${failures} failed run(s)`}: ${join(dir, 'report.html')}`);
  process.stdout.write(`${dir}\n`);
  process.exitCode = result.completed ? 0 : 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
