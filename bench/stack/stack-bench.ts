/**
 * bench/stack: sipp through the whole stack on 127.0.0.1 — real Kamailio
 * 5.6 with the example config (`-m` 1024 MB shared memory) in front of
 * presenced (its own process: real worker pool, LMDB in a temp dir, durable
 * commits) — for both NOTIFY delivery modes in one run: `sip` (presenced
 * sends NOTIFYs as SIP, Kamailio relays them) then `rpc` (tm.t_uac_wait over
 * jsonrpcs), alternating sip,rpc,sip,rpc… with --rounds > 1 so machine noise
 * hits both alike. Each mode gets a fresh Kamailio, presenced and database.
 *
 * Per mode:
 *  1. readiness + warm-up: a SUBSCRIBE is repeated until Kamailio's
 *     janssonrpcc is connected (200 instead of 503), then PUBLISHes until a
 *     NOTIFY sent through the delivery mode under test reaches the watcher
 *     (proves the relay / RPC link is up; not counted).
 *  2. SUBSCRIBE phase: sipp (bench/stack/sipp/subscribe.xml) creates W
 *     subscriptions at --subscribe-rate, watcher i on presentity i mod P,
 *     Contact = a UDP port of the watcher fleet in this process. Waits for
 *     every initial NOTIFY.
 *  3. PUBLISH phase: sipp (bench/stack/sipp/publish.xml), one call per
 *     presentity: initial PUBLISH, then modifies with SIP-If-Match (ETag
 *     captured by <ereg>) paced on absolute deadlines (P calls, one PUBLISH
 *     per call every P / --publish-rate s) for --seconds of wall clock.
 *     Every body carries a new note, so every PUBLISH changes the state.
 *     Then drains until no NOTIFY arrived for 1 s.
 *     Each call waits for its 200 (it needs the new ETag), so one presentity
 *     cannot go faster than 1 / PUBLISH response time: when the stack falls
 *     behind, fewer PUBLISHes are sent in --seconds and the achieved rate
 *     (`publish.perSec`, `achievedRatio`) drops below the offered one
 *     instead of requests piling up (not a failure; a ramp to the maximum
 *     sustained rate is issue 6's job). For higher rates raise --presentities
 *     (fan-out is watchers / presentities).
 *
 * Counted as failures (a mode is `ok` only with none): SUBSCRIBEs or
 * PUBLISHes sent but not answered 200, missing initial NOTIFYs, NOTIFYs out of CSeq
 * order, on a second dialog or for unknown watchers, terminated
 * subscriptions, watchers whose last NOTIFY is not their presentity's
 * newest state after the drain, presenced or Kamailio dying.
 *
 * Watchers: a Node UDP UAS fleet (not sipp) answers every NOTIFY 200 at
 * once and counts it per dialog: a CSeq seen before is a retransmission
 * (answered again, not counted), a lower one is out of order (a failure).
 * Why Node and not a sipp UAS: NOTIFYs of one dialog keep arriving for the
 * whole run, which a sipp server scenario can only see as out-of-call
 * messages, and the latency needs the receive time of each NOTIFY next to
 * the stamp in its body without post-processing -trace_msg logs.
 *
 * PUBLISH→NOTIFY latency: each PUBLISH body's <note> holds sipp's
 * [timestamp] keyword (sipp 3.6: "date<TAB>time<TAB>epoch.µs", taken when
 * the message is built right before it is sent). The UAS subtracts it from
 * its receive time (performance.timeOrigin + performance.now(), calibrated
 * against Date.now() before the phase) — one clock, one machine. A NOTIFY
 * shows the newest state, so when the delivery layer coalesces (a newer
 * state superseded a queued NOTIFY) the latency is that of the PUBLISH it
 * shows; `coalesced` counts the NOTIFYs that were superseded.
 *
 * NOTIFY/s delivered = NOTIFYs counted at the fleet in the PUBLISH phase /
 * (last one's receive time − first PUBLISH's stamp).
 *
 * CPU: /proc/<pid>/stat utime+stime before/after each phase — Kamailio =
 * every process in its process group (it is started detached, as the group
 * leader), presenced = its process (all threads; main thread and kernel
 * time also reported apart). Per delivered NOTIFY = PUBLISH-phase CPU /
 * NOTIFYs delivered (so it includes handling the PUBLISHes). The load
 * generator (this process + the sipp runs that ended in the phase) and the
 * whole machine's busy cores are recorded too: other work on the box shows
 * up there.
 *
 *   node dist/bench/stack/stack-bench.js [--quick] [--modes sip,rpc] [--publish-rate 500]
 *        [--seconds 10] [--watchers 100] [--presentities 10] [--subscribe-rate 500]
 *        [--rounds 1] [--threads N] [--kamailio-children 4] [--shm-mb 1024]
 *        [--uas-sockets 2] [--out bench/results] [--keep] [--quiet] [--presenced-cpu-prof DIR]
 *
 * Progress goes to stderr; the JSON file's path is the only stdout line.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { KamailioProcess, kamailioBinary } from '../../integrations/kamailio/kamailio-process.js';
import { freePort } from '../../integrations/net/free-port.js';
import { machineFacts } from '../lib/machine-facts.js';
import { round, summarize } from '../lib/stats.js';

// ---------------------------------------------------------------- arguments

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    modes: { type: 'string', default: 'sip,rpc' },
    'publish-rate': { type: 'string' },
    seconds: { type: 'string' },
    watchers: { type: 'string' },
    presentities: { type: 'string' },
    'subscribe-rate': { type: 'string' },
    rounds: { type: 'string', default: '1' },
    threads: { type: 'string' },
    'kamailio-children': { type: 'string', default: '4' },
    'shm-mb': { type: 'string', default: '1024' },
    'uas-sockets': { type: 'string', default: '2' },
    out: { type: 'string', default: 'bench/results' },
    keep: { type: 'boolean', default: false },
    'presenced-cpu-prof': { type: 'string' },
    quiet: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (args.help) {
  process.stdout.write(
    'usage: node dist/bench/stack/stack-bench.js [--quick] [--modes sip,rpc] [--publish-rate N] [--seconds S]\n' +
      '         [--watchers W] [--presentities P] [--subscribe-rate N] [--rounds R] [--threads T]\n' +
      '         [--kamailio-children K] [--shm-mb M] [--uas-sockets U] [--out bench/results] [--keep] [--quiet]\n' +
      '         [--presenced-cpu-prof DIR]   (V8 CPU profiles of presenced, all threads, into DIR)\n',
  );
  process.exit(0);
}

const quick = args.quick === true;
function num(name: string, value: string | undefined, fallback: number, min: number): number {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isFinite(n) || n < min) {
    process.stderr.write(`stack-bench: --${name} must be a number >= ${min}, got ${JSON.stringify(value)}\n`);
    process.exit(2);
  }
  return n;
}
const params = {
  quick,
  modes: (args.modes as string).split(',').map((m) => m.trim()).filter((m) => m.length > 0),
  publishRate: num('publish-rate', args['publish-rate'], quick ? 30 : 500, 0.1),
  seconds: num('seconds', args.seconds, quick ? 2 : 10, 0.1),
  watchers: Math.floor(num('watchers', args.watchers, quick ? 6 : 100, 1)),
  presentities: Math.floor(num('presentities', args.presentities, quick ? 3 : 10, 1)),
  subscribeRate: num('subscribe-rate', args['subscribe-rate'], quick ? 50 : 500, 0.1),
  rounds: Math.floor(num('rounds', args.rounds, 1, 1)),
  threads: args.threads === undefined ? undefined : Math.floor(num('threads', args.threads, 2, 1)),
  kamailioChildren: Math.floor(num('kamailio-children', args['kamailio-children'], 4, 1)),
  shmMb: Math.floor(num('shm-mb', args['shm-mb'], 1024, 64)),
  uasSockets: Math.floor(num('uas-sockets', args['uas-sockets'], 2, 1)),
};
for (const m of params.modes) {
  if (m !== 'sip' && m !== 'rpc') {
    process.stderr.write(`stack-bench: --modes takes sip and/or rpc, got ${m}\n`);
    process.exit(2);
  }
}
type Mode = 'sip' | 'rpc';
const modes = params.modes as Mode[];

const log = (msg: string): void => {
  if (!args.quiet) process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);
};

// ---------------------------------------------------------------- paths

const here = import.meta.dirname;
const repoRoot = here.includes(`${sep}dist${sep}`) ? resolve(here, '../../..') : resolve(here, '../..');
const EXAMPLE_CFG = join(repoRoot, 'integrations', 'kamailio', 'cfg', 'kamailio-presence-proxy.cfg');
const SIPP_DIR = join(repoRoot, 'bench', 'stack', 'sipp');
const PRESENCED_MAIN = join(repoRoot, 'dist', 'integrations', 'cli', 'main.js');
const DOMAIN = 'example.com';

// ---------------------------------------------------------------- processes we start

/** presenced and sipp children: killed by PID if this process exits on any path. */
const children = new Set<ChildProcess>();
/** Temp directories of the running mode: removed on any exit path (unless --keep). */
const tempDirs = new Set<string>();
process.on('exit', () => {
  for (const c of children) {
    if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});
for (const [sig, no] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]] as const) {
  process.on(sig, () => {
    process.stderr.write(`stack-bench: ${sig}, stopping everything it started\n`);
    process.exit(128 + no); // 'exit' hooks: ours (presenced, sipp) and KamailioProcess's (Kamailio process groups)
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolveExit) => {
    const t = setTimeout(() => resolveExit(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolveExit(true);
    });
  });
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
    children.delete(child);
    return;
  }
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    /* gone */
  }
  if (!(await waitExit(child, graceMs))) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    await waitExit(child, 3000);
  }
  children.delete(child);
}

/** presenced as its own process (dist/integrations/cli/main.js), so its CPU is its own. */
class PresencedProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly pid: number,
    readonly logFile: string,
  ) {}

  static async start(configFile: string, logFile: string, timeoutMs = 30_000): Promise<PresencedProcess> {
    if (!existsSync(PRESENCED_MAIN)) throw new Error(`${PRESENCED_MAIN} missing: run "npm run build" first`);
    const prof = args['presenced-cpu-prof'];
    const nodeArgs = prof !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${resolve(prof)}`] : [];
    const child = spawn(process.execPath, [...nodeArgs, PRESENCED_MAIN, '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid === undefined) throw new Error('presenced did not start');
    children.add(child);
    const out = createWriteStream(logFile);
    let ready = false;
    let buffered = '';
    const readyPromise = new Promise<void>((resolveReady, reject) => {
      const timer = setTimeout(() => reject(new Error(`presenced not ready within ${timeoutMs} ms`)), timeoutMs);
      child.stdout?.on('data', (d: Buffer) => {
        out.write(d);
        if (ready) return;
        buffered += d.toString('utf8');
        if (/ presenced ready: /.test(buffered)) {
          ready = true;
          clearTimeout(timer);
          resolveReady();
        }
      });
      child.stderr?.on('data', (d: Buffer) => out.write(d));
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (!ready) reject(new Error(`presenced exited (${code ?? signal}) before it was ready`));
      });
    });
    child.once('exit', () => out.end());
    const p = new PresencedProcess(child, child.pid, logFile);
    try {
      await readyPromise;
    } catch (err) {
      await stopChild(child, 2000);
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- presenced log (tail) ---\n${tail(logFile, 30)}`);
    }
    return p;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  stop(): Promise<void> {
    return stopChild(this.child, 10_000);
  }
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------- CPU accounting (/proc)

const CLK_TCK = ((): number => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return n > 0 ? n : 100;
})();

interface ProcStat {
  readonly pgrp: number;
  /** utime + stime, clock ticks. */
  readonly ticks: number;
  /** stime alone (kernel: syscalls, network stack, fsync). */
  readonly systemTicks: number;
  /** cutime + cstime: reaped children, clock ticks. */
  readonly childTicks: number;
}

/** /proc/<pid>/stat, or /proc/<pid>/task/<tid>/stat for one thread. */
function procStat(pid: number | 'self', tid?: number): ProcStat | undefined {
  try {
    const s = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'latin1');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // f[0] = field 3 (state)
    return {
      pgrp: Number(f[2]),
      ticks: Number(f[11]) + Number(f[12]),
      systemTicks: Number(f[12]),
      childTicks: Number(f[13]) + Number(f[14]),
    };
  } catch {
    return undefined;
  }
}

/** CPU ticks of every process in process group `pgid` (Kamailio's main process and its children). */
function groupTicks(pgid: number): { ticks: number; systemTicks: number; processes: number } {
  let ticks = 0;
  let systemTicks = 0;
  let processes = 0;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const st = procStat(Number(e));
    if (st && st.pgrp === pgid) {
      ticks += st.ticks;
      systemTicks += st.systemTicks;
      processes++;
    }
  }
  return { ticks, systemTicks, processes };
}

function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'latin1').split('\n')[0] ?? '';
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // user nice system idle iowait irq softirq steal
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

interface CpuSample {
  readonly at: number;
  readonly kamailio: number;
  readonly kamailioSystem: number;
  readonly kamailioProcesses: number;
  readonly presenced: number;
  readonly presencedSystem: number;
  readonly presencedMainThread: number;
  readonly selfUs: number;
  readonly selfChildren: number;
  readonly machine: { busy: number; total: number };
}

function cpuSample(kamailioPid: number, presencedPid: number): CpuSample {
  const k = groupTicks(kamailioPid);
  const p = procStat(presencedPid);
  const u = process.cpuUsage();
  return {
    at: performance.now(),
    kamailio: k.ticks,
    kamailioSystem: k.systemTicks,
    kamailioProcesses: k.processes,
    presenced: p?.ticks ?? NaN,
    presencedSystem: p?.systemTicks ?? NaN,
    presencedMainThread: procStat(presencedPid, presencedPid)?.ticks ?? NaN,
    selfUs: u.user + u.system,
    selfChildren: procStat('self')?.childTicks ?? 0,
    machine: machineTicks(),
  };
}

interface CpuDelta {
  readonly wallSeconds: number;
  readonly kamailioSeconds: number;
  /** Part of kamailioSeconds spent in the kernel. */
  readonly kamailioSystemSeconds: number;
  readonly kamailioProcesses: number;
  /** All threads of presenced (main + worker pool + libuv/V8 helpers). */
  readonly presencedSeconds: number;
  /** Part of presencedSeconds spent in the kernel. */
  readonly presencedSystemSeconds: number;
  /** Part of presencedSeconds on its main thread (JSON-RPC, NOTIFY delivery/transport). */
  readonly presencedMainThreadSeconds: number;
  /** This process (watcher fleet, orchestration) + sipp runs that ended within the interval. */
  readonly loadGeneratorSeconds: number;
  /** Whole machine, all processes (others' work included). */
  readonly machineBusyCores: number;
}

function cpuDelta(a: CpuSample, b: CpuSample): CpuDelta {
  const wall = (b.at - a.at) / 1000;
  return {
    wallSeconds: round(wall, 3),
    kamailioSeconds: round((b.kamailio - a.kamailio) / CLK_TCK, 2),
    kamailioSystemSeconds: round((b.kamailioSystem - a.kamailioSystem) / CLK_TCK, 2),
    kamailioProcesses: b.kamailioProcesses,
    presencedSeconds: round((b.presenced - a.presenced) / CLK_TCK, 2),
    presencedSystemSeconds: round((b.presencedSystem - a.presencedSystem) / CLK_TCK, 2),
    presencedMainThreadSeconds: round((b.presencedMainThread - a.presencedMainThread) / CLK_TCK, 2),
    loadGeneratorSeconds: round((b.selfUs - a.selfUs) / 1e6 + (b.selfChildren - a.selfChildren) / CLK_TCK, 2),
    machineBusyCores: round(((b.machine.busy - a.machine.busy) / Math.max(1, b.machine.total - a.machine.total)) * machineCores(), 2),
  };
}

let coresCache = 0;
function machineCores(): number {
  if (coresCache === 0) {
    coresCache = (readFileSync('/proc/stat', 'latin1').match(/^cpu\d+ /gm) ?? []).length || 1;
  }
  return coresCache;
}

// ---------------------------------------------------------------- watcher fleet (UDP UAS)

/** Wall-clock ms with µs resolution: performance.timeOrigin + now(), offset calibrated against Date.now(). */
class WallClock {
  private offset = 0;
  now(): number {
    return performance.timeOrigin + performance.now() + this.offset;
  }
  /** Measures the offset at Date.now() millisecond edges (median of 7). */
  calibrate(): number {
    const offsets: number[] = [];
    for (let i = 0; i < 7; i++) {
      const d0 = Date.now();
      let d = d0;
      let p = 0;
      while (d === d0) {
        p = performance.timeOrigin + performance.now();
        d = Date.now();
      }
      offsets.push(d - p);
    }
    offsets.sort((x, y) => x - y);
    this.offset = offsets[3] ?? 0;
    return this.offset;
  }
}

interface WatcherState {
  readonly presentity: string;
  callId: string | undefined;
  lastCseq: number;
  notifies: number;
  /** Stamp (epoch ms) of the PUBLISH shown by the newest NOTIFY. */
  lastStamp: number | undefined;
}

type Phase = 'setup' | 'subscribe' | 'publish';

interface PhaseCounts {
  notifies: number;
  firstAt: number;
  lastAt: number;
}

/** The PUBLISH send time sipp wrote into the note: "bench <n> <date>\t<time>\t<epoch>.<µs>". */
const STAMP = /bench [^<]*?(\d{9,11})\.(\d{6})/;

class WatcherFleet {
  readonly clock = new WallClock();
  private readonly sockets: dgram.Socket[] = [];
  readonly ports: number[] = [];
  phase: Phase = 'setup';
  readonly watchers = new Map<string, WatcherState>();
  readonly phases: Record<Phase, PhaseCounts> = {
    setup: { notifies: 0, firstAt: NaN, lastAt: NaN },
    subscribe: { notifies: 0, firstAt: NaN, lastAt: NaN },
    publish: { notifies: 0, firstAt: NaN, lastAt: NaN },
  };
  /** PUBLISH→NOTIFY latencies (ms) of NOTIFYs received in the publish phase. */
  latencies: number[] = [];
  minStamp = Infinity;
  retransmissions = 0;
  outOfOrder = 0;
  foreignDialogs = 0;
  unknownWatchers = 0;
  terminated = 0;
  publishWithoutStamp = 0;
  /** Receive time of the newest NOTIFY of any kind (retransmissions included). */
  lastNotifyAt = 0;
  /** Bodies of NOTIFYs to the warm-up watcher. */
  readonly warmupBodies: string[] = [];
  private readonly pending = new Map<string, (response: string) => void>();

  async start(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024, sendBufferSize: 8 * 1024 * 1024 });
      await new Promise<void>((r, reject) => {
        sock.once('error', reject);
        sock.bind(0, '127.0.0.1', () => r());
      });
      sock.on('message', (buf, rinfo) => this.onMessage(sock, buf, rinfo));
      sock.on('error', () => undefined);
      this.sockets.push(sock);
      this.ports.push(sock.address().port);
    }
  }

  close(): void {
    for (const s of this.sockets) {
      try {
        s.close();
      } catch {
        /* closed */
      }
    }
    this.sockets.length = 0;
  }

  addWatcher(user: string, presentity: string): void {
    this.watchers.set(user, { presentity, callId: undefined, lastCseq: -1, notifies: 0, lastStamp: undefined });
  }

  private onMessage(sock: dgram.Socket, buf: Buffer, rinfo: dgram.RemoteInfo): void {
    const at = this.clock.now();
    if (buf.length > 7 && buf.toString('latin1', 0, 7) === 'NOTIFY ') {
      this.lastNotifyAt = at;
      this.onNotify(sock, buf, rinfo, at);
    }
    else if (buf.length > 8 && buf.toString('latin1', 0, 8) === 'SIP/2.0 ') this.onResponse(buf.toString('utf8'));
  }

  private onNotify(sock: dgram.Socket, buf: Buffer, rinfo: dgram.RemoteInfo, at: number): void {
    const text = buf.toString('utf8');
    const sepAt = text.indexOf('\r\n\r\n');
    const head = sepAt < 0 ? text : text.slice(0, sepAt);
    const body = sepAt < 0 ? '' : text.slice(sepAt + 4);
    const lines = head.split('\r\n');
    const startLine = lines[0] ?? '';
    const copy: string[] = [];
    let callId = '';
    let cseqValue = '';
    let subState = '';
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      switch (name) {
        case 'via':
        case 'v':
        case 'from':
        case 'f':
        case 'to':
        case 't':
          copy.push(line);
          break;
        case 'call-id':
        case 'i':
          copy.push(line);
          callId = line.slice(colon + 1).trim();
          break;
        case 'cseq':
          copy.push(line);
          cseqValue = line.slice(colon + 1).trim();
          break;
        case 'subscription-state':
          subState = line.slice(colon + 1).trim();
          break;
        default:
          break;
      }
    }
    sock.send(`SIP/2.0 200 OK\r\n${copy.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`, rinfo.port, rinfo.address);

    const user = /^NOTIFY sips?:([^@;:>\s]+)@/.exec(startLine)?.[1] ?? '';
    if (user === 'warmup') {
      this.warmupBodies.push(body);
      return;
    }
    const w = this.watchers.get(user);
    if (!w) {
      this.unknownWatchers++;
      return;
    }
    if (w.callId === undefined) w.callId = callId;
    else if (w.callId !== callId) {
      this.foreignDialogs++;
      return;
    }
    const cseq = Number.parseInt(cseqValue, 10);
    if (cseq === w.lastCseq) {
      this.retransmissions++;
      return;
    }
    if (!(cseq > w.lastCseq)) {
      this.outOfOrder++;
      return;
    }
    w.lastCseq = cseq;
    w.notifies++;
    const ph = this.phases[this.phase];
    ph.notifies++;
    if (Number.isNaN(ph.firstAt)) ph.firstAt = at;
    ph.lastAt = at;
    if (/^terminated/i.test(subState)) this.terminated++;
    const m = STAMP.exec(body);
    if (m) {
      const stamp = Number(m[1]) * 1000 + Number(m[2]) / 1000;
      w.lastStamp = stamp;
      if (this.phase === 'publish') {
        this.latencies.push(at - stamp);
        if (stamp < this.minStamp) this.minStamp = stamp;
      }
    } else if (this.phase === 'publish') this.publishWithoutStamp++;
  }

  private onResponse(text: string): void {
    const callId = /\r\n(?:Call-ID|i)\s*:\s*([^\r\n]+)/i.exec(text)?.[1]?.trim();
    const cseq = /\r\nCSeq\s*:\s*(\d+)/i.exec(text)?.[1];
    const status = Number(text.slice(8, 11));
    if (callId === undefined || cseq === undefined || status < 200) return;
    const key = `${callId}\n${Number(cseq)}`;
    const done = this.pending.get(key);
    if (done) {
      this.pending.delete(key);
      done(text);
    }
  }

  /** Sends a request from socket 0 and resolves with its final response ('' on timeout). */
  request(raw: string, callId: string, cseq: number, port: number, timeoutMs: number): Promise<string> {
    const sock = this.sockets[0];
    if (!sock) return Promise.resolve('');
    const key = `${callId}\n${cseq}`;
    return new Promise((resolveResponse) => {
      const t = setTimeout(() => {
        this.pending.delete(key);
        resolveResponse('');
      }, timeoutMs);
      this.pending.set(key, (r) => {
        clearTimeout(t);
        resolveResponse(r);
      });
      sock.send(raw, port, '127.0.0.1');
    });
  }

  /** Watchers whose newest NOTIFY does not show the newest state seen for their presentity. */
  staleWatchers(): number {
    const newest = new Map<string, number>();
    for (const w of this.watchers.values()) {
      if (w.lastStamp !== undefined && w.lastStamp > (newest.get(w.presentity) ?? -Infinity)) newest.set(w.presentity, w.lastStamp);
    }
    let stale = 0;
    for (const w of this.watchers.values()) if (w.lastStamp !== newest.get(w.presentity)) stale++;
    return stale;
  }
}

// ---------------------------------------------------------------- warm-up (readiness of both directions)

function warmupSubscribe(fleetPort: number, n: number): { raw: string; callId: string } {
  const callId = `warmup-sub-${process.pid}`;
  const raw =
    `SUBSCRIBE sip:warmup-p@${DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${fleetPort};branch=z9hG4bK-ws${process.pid}-${n};rport\r\n` +
    `Max-Forwards: 70\r\nFrom: <sip:warmup@${DOMAIN}>;tag=ws${process.pid}\r\nTo: <sip:warmup-p@${DOMAIN}>\r\nCall-ID: ${callId}\r\n` +
    `CSeq: ${n + 1} SUBSCRIBE\r\nContact: <sip:warmup@127.0.0.1:${fleetPort}>\r\nEvent: presence\r\nExpires: 3600\r\nContent-Length: 0\r\n\r\n`;
  return { raw, callId };
}

function warmupPublish(fleetPort: number, n: number, etag: string | undefined): { raw: string; callId: string } {
  const callId = `warmup-pub-${process.pid}`;
  const body =
    `<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:warmup-p@${DOMAIN}">` +
    `<tuple id="t1"><status><basic>open</basic></status><note>warm-${n}</note></tuple></presence>`;
  const raw =
    `PUBLISH sip:warmup-p@${DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${fleetPort};branch=z9hG4bK-wp${process.pid}-${n};rport\r\n` +
    `Max-Forwards: 70\r\nFrom: <sip:warmup-p@${DOMAIN}>;tag=wp${process.pid}\r\nTo: <sip:warmup-p@${DOMAIN}>\r\nCall-ID: ${callId}\r\n` +
    `CSeq: ${n + 1} PUBLISH\r\n${etag !== undefined ? `SIP-If-Match: ${etag}\r\n` : ''}Event: presence\r\nExpires: 3600\r\n` +
    `Content-Type: application/pidf+xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  return { raw, callId };
}

/**
 * Kamailio → presenced: SUBSCRIBE until 200 (503 while janssonrpcc is not connected yet).
 * presenced → Kamailio → watcher: PUBLISH until its NOTIFY arrives through the delivery mode under test.
 */
async function warmUp(fleet: WatcherFleet, sipPort: number, timeoutMs: number): Promise<{ subscribeAttempts: number; publishAttempts: number; ms: number }> {
  const t0 = performance.now();
  const deadline = t0 + timeoutMs;
  const port = fleet.ports[0] as number;
  let n = 0;
  for (;;) {
    const s = warmupSubscribe(port, n);
    const r = await fleet.request(s.raw, s.callId, n + 1, sipPort, 1000);
    n++;
    if (r.startsWith('SIP/2.0 200')) break;
    if (performance.now() > deadline) throw new Error(`warm-up: no 200 to SUBSCRIBE (last: ${r.split('\r\n')[0] || 'no answer'})`);
    await sleep(200);
  }
  const subscribeAttempts = n;
  let etag: string | undefined;
  for (let k = 0; ; k++) {
    if (performance.now() > deadline) throw new Error('warm-up: no NOTIFY for a PUBLISH reached the watcher');
    const p = warmupPublish(port, k, etag);
    const r = await fleet.request(p.raw, p.callId, k + 1, sipPort, 1000);
    if (r.startsWith('SIP/2.0 200')) etag = /\r\nSIP-ETag\s*:\s*([^\r\n]+)/i.exec(r)?.[1]?.trim();
    else if (r.startsWith('SIP/2.0 412')) etag = undefined;
    const until = performance.now() + 1000;
    while (performance.now() < until) {
      if (fleet.warmupBodies.some((b) => b.includes(`warm-${k}<`))) return { subscribeAttempts, publishAttempts: k + 1, ms: Math.round(performance.now() - t0) };
      await sleep(20);
    }
  }
}

// ---------------------------------------------------------------- sipp

interface SippOutcome {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Final cumulative line of -trace_stat. */
  readonly stats: Readonly<Record<string, string>>;
  /** Sums over the scenario's message lines of -trace_counts (e.g. PUBLISH_Sent, 200_Recv, 200_Unexp). */
  readonly counts: Readonly<Record<string, number>>;
  /** sipp's own run window (StartTime → last stat dump), seconds. */
  readonly windowSeconds: number;
  readonly startEpochMs: number;
  readonly errors: string;
}

function sippBinary(): string | null {
  for (const p of ['/usr/bin/sipp', '/usr/local/bin/sipp']) if (existsSync(p)) return p;
  const r = spawnSync('sh', ['-c', 'command -v sipp'], { encoding: 'utf8' });
  const found = r.stdout.trim();
  return r.status === 0 && found.length > 0 ? found : null;
}

function sippVersion(): string {
  const bin = sippBinary();
  if (bin === null) return 'not installed';
  const r = spawnSync(bin, ['-v'], { encoding: 'utf8', timeout: 5000 });
  return /SIPp v\S+/.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[0] ?? 'unknown';
}

function parseCsvLast(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim().length > 0);
  const header = (lines[0] ?? '').split(';');
  const last = (lines[lines.length - 1] ?? '').split(';');
  const out: Record<string, string> = {};
  header.forEach((h, i) => {
    if (h.length > 0) out[h] = last[i] ?? '';
  });
  return out;
}

/** "2026-11-22\t01:22:06.758951\t1795310526.758951" → epoch ms. */
function sippTime(v: string | undefined): number {
  const m = /(\d{9,11})\.(\d{6})\s*$/.exec(v ?? '');
  return m ? Number(m[1]) * 1000 + Number(m[2]) / 1000 : NaN;
}

async function runSipp(o: {
  readonly scenario: string;
  readonly dir: string;
  readonly targetPort: number;
  readonly injection: string;
  readonly calls: number;
  readonly rate: number;
  readonly sets?: Readonly<Record<string, string | number>>;
  readonly timeoutSec: number;
}): Promise<SippOutcome> {
  const bin = sippBinary();
  if (bin === null) throw new Error('sipp is not installed (Debian package sip-tester)');
  const localPort = await freePort();
  const statFile = join(o.dir, `${o.scenario}-stat.csv`);
  const errorFile = join(o.dir, `${o.scenario}-errors.log`);
  const argv = [
    '-sf', join(SIPP_DIR, `${o.scenario}.xml`),
    '-inf', o.injection,
    '-t', 'u1',
    '-i', '127.0.0.1',
    '-p', String(localPort),
    '-m', String(o.calls),
    '-l', String(o.calls),
    '-r', String(o.rate),
    '-rp', '1000',
    '-timeout', `${o.timeoutSec}s`,
    '-timeout_error',
    '-nostdin',
    '-trace_stat', '-stf', statFile, '-fd', '1',
    '-trace_counts',
    '-trace_err', '-error_file', errorFile,
    ...Object.entries(o.sets ?? {}).flatMap(([k, v]) => ['-set', k, String(v)]),
    `127.0.0.1:${o.targetPort}`,
  ];
  const child = spawn(bin, argv, { cwd: o.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 20_000) stderr += d;
  });
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    const killer = setTimeout(() => {
      if (child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }, (o.timeoutSec + 10) * 1000);
    child.once('exit', (code, signal) => {
      clearTimeout(killer);
      resolveExit({ code, signal });
    });
    child.once('error', () => {
      clearTimeout(killer);
      resolveExit({ code: null, signal: null });
    });
  });
  children.delete(child);
  const stats = parseCsvLast(statFile);
  const countsFile = readdirSync(o.dir).find((f) => f.startsWith(`${o.scenario}_`) && f.endsWith('_counts.csv'));
  const countRow = countsFile ? parseCsvLast(join(o.dir, countsFile)) : {};
  const counts: Record<string, number> = {};
  for (const [k, v] of Object.entries(countRow)) {
    const m = /^\d+_(.+)$/.exec(k);
    if (m) counts[m[1] as string] = (counts[m[1] as string] ?? 0) + (Number(v) || 0);
  }
  const start = sippTime(stats['StartTime']);
  const end = sippTime(stats['CurrentTime']);
  const errors = existsSync(errorFile) ? readFileSync(errorFile, 'utf8') : '';
  return {
    exitCode: exit.code,
    signal: exit.signal,
    stats,
    counts,
    windowSeconds: (end - start) / 1000,
    startEpochMs: start,
    errors: `${stderr}${errors}`.slice(-4000),
  };
}

function statNum(s: Readonly<Record<string, string>>, name: string): number {
  return Number(s[name] ?? NaN);
}

/** sipp durations "HH:MM:SS:µµµµµµ" → ms. */
function sippDurationMs(v: string | undefined): number {
  const m = /^(\d+):(\d+):(\d+):(\d+)$/.exec(v ?? '');
  return m ? ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4]) / 1000 : NaN;
}

// ---------------------------------------------------------------- one mode

interface ModeResult {
  mode: Mode;
  round: number;
  ok: boolean;
  error?: string;
  setup?: { presencedReadyMs: number; kamailioReadyMs: number; warmUp: { subscribeAttempts: number; publishAttempts: number; ms: number } };
  subscribe?: {
    offeredPerSec: number;
    attempted: number;
    succeeded: number;
    failedCalls: number;
    retransmissions: number;
    perSec: number;
    sippAvgResponseMs: number;
    initialNotifies: number;
    initialNotifiesMissing: number;
    /** SUBSCRIBE phase (until every initial NOTIFY arrived); per SUBSCRIBE incl. its initial NOTIFY. */
    cpu: CpuDelta & { kamailioUsPerSubscribe: number; presencedUsPerSubscribe: number };
  };
  publish?: {
    offeredPerSec: number;
    sessions: number;
    periodMs: number;
    /** PUBLISHes the offered rate asks for in --seconds (sessions × PUBLISHes per session). */
    planned: number;
    /** Sent within --seconds; fewer than planned when the stack answered slower than the period. */
    attempted: number;
    succeeded: number;
    failedCalls: number;
    unexpectedResponses: number;
    timeouts: number;
    retransmissions: number;
    windowSeconds: number;
    perSec: number;
    /** perSec / offeredPerSec: below ~0.95 the stack did not keep up (each call waits for its 200, see publish.xml). */
    achievedRatio: number;
    sippAvgResponseMs: number;
  };
  notify?: {
    delivered: number;
    /** successful PUBLISHes × their presentity's watchers. */
    expected: number;
    /** expected − delivered: states superseded by a newer one before they were sent (coalescing). */
    coalesced: number;
    windowSeconds: number;
    perSec: number;
    drainMs: number;
    retransmissionsReceived: number;
    outOfOrder: number;
    foreignDialogs: number;
    unknownWatchers: number;
    terminated: number;
    withoutStamp: number;
    staleWatchers: number;
    latencyMs: ReturnType<typeof summarize> & { mean: number };
  };
  cpu?: CpuDelta & {
    kamailioUsPerNotify: number;
    presencedUsPerNotify: number;
    stackUsPerNotify: number;
  };
  failures: number;
  failureDetails: string[];
  kamailioLogErrors?: string[];
  /** Log tails, only when the mode failed. */
  logs?: { presenced: string; kamailio: string };
}

async function runMode(mode: Mode, roundNo: number): Promise<ModeResult> {
  const P = params.presentities;
  const W = params.watchers;
  const result: ModeResult = { mode, round: roundNo, ok: false, failures: 0, failureDetails: [] };
  const dir = mkdtempSync(join(tmpdir(), `presenced-stack-bench-${mode}-`));
  if (!args.keep) tempDirs.add(dir);
  const fleet = new WatcherFleet();
  let presenced: PresencedProcess | undefined;
  let kamailio: KamailioProcess | undefined;
  const fail = (what: string, n: number): void => {
    if (n > 0) {
      result.failures += n;
      result.failureDetails.push(`${what}: ${n}`);
    }
  };
  try {
    await fleet.start(params.uasSockets);
    const sipPort = await freePort();
    const rpcPort = await freePort();
    const presencedSipPort = await freePort();

    // presenced: production entry point, settings file, durable commits.
    const settings = {
      dataDir: join(dir, 'db'),
      durability: 'sync',
      rpc: { host: '127.0.0.1', port: rpcPort },
      ...(params.threads !== undefined ? { pool: { threads: params.threads } } : {}),
      delivery: {
        mode,
        proxy: { host: '127.0.0.1', port: sipPort, transport: 'udp' },
        local: { host: '127.0.0.1', port: presencedSipPort },
        rpcUrl: `http://127.0.0.1:${sipPort}/RPC`,
      },
      // Open presence: the benchmark measures delivery, not authorization.
      presence: { contact: `<sip:presence@127.0.0.1:${sipPort}>`, defaultSubHandling: 'allow' },
      // no listeners on fixed default ports (/metrics 9469, XCAP 8080): several benchmarks or tests may run at once
      metrics: { host: '127.0.0.1', port: 0 },
      xcap: { port: 0 },
    };
    const configFile = join(dir, 'presenced.json');
    writeFileSync(configFile, JSON.stringify(settings, null, 2));
    let t = performance.now();
    presenced = await PresencedProcess.start(configFile, join(dir, 'presenced.log'));
    const presencedReadyMs = Math.round(performance.now() - t);

    t = performance.now();
    kamailio = await KamailioProcess.start({
      configFile: EXAMPLE_CFG,
      sipPort,
      substdefs: {
        PRESENCED_RPC_PORT: rpcPort,
        PRESENCED_SIP_HOST: '127.0.0.1',
        PRESENCED_SIP_PORT: presencedSipPort,
        PROXY_CHILDREN: params.kamailioChildren,
      },
      ...(mode === 'rpc' ? { defines: ['WITH_RPC_DELIVERY'] } : {}),
      shmMb: params.shmMb,
      pkgMb: 16,
      keepRunDir: args.keep === true,
    });
    const kamailioReadyMs = Math.round(performance.now() - t);
    if (!args.keep) tempDirs.add(kamailio.runDir);
    const warm = await warmUp(fleet, sipPort, 30_000);
    result.setup = { presencedReadyMs, kamailioReadyMs, warmUp: warm };
    log(`  ${mode}: presenced ${presenced.pid} + Kamailio ${kamailio.pid} (-m ${params.shmMb}) up; warm-up ${warm.ms} ms`);

    // ---- SUBSCRIBE phase
    const presentityOf = (i: number): string => `p${(i % P) + 1}`;
    const watcherRows: string[] = ['SEQUENTIAL'];
    for (let i = 0; i < W; i++) {
      const user = `w${i + 1}`;
      fleet.addWatcher(user, presentityOf(i));
      watcherRows.push(`${user};${presentityOf(i)};${fleet.ports[i % fleet.ports.length]};`);
    }
    writeFileSync(join(dir, 'watchers.csv'), `${watcherRows.join('\n')}\n`);
    fleet.phase = 'subscribe';
    const c0 = cpuSample(kamailio.pid, presenced.pid);
    const sub = await runSipp({
      scenario: 'subscribe',
      dir,
      targetPort: sipPort,
      injection: join(dir, 'watchers.csv'),
      calls: W,
      rate: params.subscribeRate,
      timeoutSec: Math.ceil(W / params.subscribeRate) + 30,
    });
    const initialDeadline = performance.now() + 10_000;
    while (fleet.phases.subscribe.notifies < W && performance.now() < initialDeadline) await sleep(20);
    const c1 = cpuSample(kamailio.pid, presenced.pid);
    const subOk = sub.counts['200_Recv'] ?? 0;
    result.subscribe = {
      offeredPerSec: params.subscribeRate,
      attempted: sub.counts['SUBSCRIBE_Sent'] ?? 0,
      succeeded: subOk,
      failedCalls: statNum(sub.stats, 'FailedCall(C)'),
      retransmissions: statNum(sub.stats, 'Retransmissions(C)'),
      perSec: round(subOk / Math.max(1e-3, sub.windowSeconds), 1),
      sippAvgResponseMs: round(sippDurationMs(sub.stats['ResponseTime1(C)']), 2),
      initialNotifies: fleet.phases.subscribe.notifies,
      initialNotifiesMissing: Math.max(0, W - fleet.phases.subscribe.notifies),
      cpu: (() => {
        const d = cpuDelta(c0, c1);
        const per = (x: number): number => (subOk > 0 ? round((x * 1e6) / subOk, 1) : NaN);
        return { ...d, kamailioUsPerSubscribe: per(d.kamailioSeconds), presencedUsPerSubscribe: per(d.presencedSeconds) };
      })(),
    };
    fail('SUBSCRIBEs not answered 200', W - subOk);
    if (subOk === W) fail('sipp subscribe calls failed', result.subscribe.failedCalls || 0);
    fail('initial NOTIFYs missing', result.subscribe.initialNotifiesMissing);
    if (sub.exitCode !== 0) result.failureDetails.push(`sipp subscribe exit ${sub.exitCode ?? sub.signal}: ${sub.errors.slice(-500)}`);
    log(
      `  ${mode}: SUBSCRIBE ${subOk}/${W} at ${result.subscribe.perSec}/s (offered ${params.subscribeRate}/s), ` +
        `${result.subscribe.initialNotifies} initial NOTIFYs`,
    );

    // ---- PUBLISH phase
    const sessions = P;
    const periodMs = (sessions * 1000) / params.publishRate;
    const perSession = Math.max(1, Math.round((params.seconds * params.publishRate) / sessions));
    const planned = sessions * perSession;
    // a call publishes at t0 + k·period while that is before t0 + duration: perSession PUBLISHes when it keeps up
    const durationMs = (perSession - 0.5) * periodMs;
    const pubRows = ['SEQUENTIAL', ...Array.from({ length: P }, (_, i) => `p${i + 1};`)];
    writeFileSync(join(dir, 'presentities.csv'), `${pubRows.join('\n')}\n`);
    fleet.clock.calibrate();
    fleet.phase = 'publish';
    const c2 = cpuSample(kamailio.pid, presenced.pid);
    const pub = await runSipp({
      scenario: 'publish',
      dir,
      targetPort: sipPort,
      injection: join(dir, 'presentities.csv'),
      calls: sessions,
      // sessions start one period apart in total: evenly spread over the first period
      rate: params.publishRate,
      sets: { period: round(periodMs, 3), duration: round(durationMs, 3) },
      timeoutSec: Math.ceil(params.seconds) + 30,
    });
    const sippDone = fleet.clock.now();
    // drain: until no NOTIFY for 1 s (Kamailio retransmits a lost one after 0.5 s), at most 30 s
    while (fleet.clock.now() - Math.max(fleet.lastNotifyAt, sippDone) < 1000 && fleet.clock.now() - sippDone < 30_000) await sleep(50);
    const drainMs = Math.round(fleet.clock.now() - sippDone);
    const c3 = cpuSample(kamailio.pid, presenced.pid);
    const pubOk = pub.counts['200_Recv'] ?? 0;
    result.publish = {
      offeredPerSec: params.publishRate,
      sessions,
      periodMs: round(periodMs, 3),
      planned,
      attempted: pub.counts['PUBLISH_Sent'] ?? 0,
      succeeded: pubOk,
      failedCalls: statNum(pub.stats, 'FailedCall(C)'),
      unexpectedResponses: pub.counts['200_Unexp'] ?? 0,
      timeouts: (pub.counts['200_Timeout'] ?? 0) + (pub.counts['PUBLISH_Timeout'] ?? 0),
      retransmissions: statNum(pub.stats, 'Retransmissions(C)'),
      windowSeconds: round(pub.windowSeconds, 3),
      perSec: round(pubOk / Math.max(1e-3, pub.windowSeconds), 1),
      achievedRatio: round(pubOk / Math.max(1e-3, pub.windowSeconds) / params.publishRate, 3),
      sippAvgResponseMs: round(sippDurationMs(pub.stats['ResponseTime1(C)']), 2),
    };
    fail('PUBLISHes sent but not answered 200', result.publish.attempted - pubOk);
    if (result.publish.attempted === pubOk) fail('sipp publish calls failed', result.publish.failedCalls || 0);
    if (result.publish.attempted === 0) fail('no PUBLISH sent', 1);
    if (pub.exitCode !== 0) result.failureDetails.push(`sipp publish exit ${pub.exitCode ?? pub.signal}: ${pub.errors.slice(-500)}`);

    // NOTIFY accounting
    const fanout = new Map<string, number>();
    for (const w of fleet.watchers.values()) fanout.set(w.presentity, (fanout.get(w.presentity) ?? 0) + 1);
    const perPresentityOk = pubOk / P; // sessions are identical; exact when nothing failed
    let expected = 0;
    for (const n of fanout.values()) expected += n * perPresentityOk;
    expected = Math.round(expected);
    const delivered = fleet.phases.publish.notifies;
    const start = Number.isFinite(fleet.minStamp) ? fleet.minStamp : pub.startEpochMs;
    const notifyWindow = (fleet.phases.publish.lastAt - start) / 1000;
    const lat = summarize(fleet.latencies);
    const mean = fleet.latencies.reduce((a, b) => a + b, 0) / Math.max(1, fleet.latencies.length);
    const stale = fleet.staleWatchers();
    result.notify = {
      delivered,
      expected,
      coalesced: Math.max(0, expected - delivered),
      windowSeconds: round(notifyWindow, 3),
      perSec: round(delivered / Math.max(1e-3, notifyWindow), 1),
      drainMs,
      retransmissionsReceived: fleet.retransmissions,
      outOfOrder: fleet.outOfOrder,
      foreignDialogs: fleet.foreignDialogs,
      unknownWatchers: fleet.unknownWatchers,
      terminated: fleet.terminated,
      withoutStamp: fleet.publishWithoutStamp,
      staleWatchers: stale,
      latencyMs: { count: lat.count, p50: round(lat.p50, 2), p90: round(lat.p90, 2), p99: round(lat.p99, 2), max: round(lat.max, 2), mean: round(mean, 2) },
    };
    fail('NOTIFYs out of order', fleet.outOfOrder);
    fail('NOTIFYs on a second dialog of one watcher', fleet.foreignDialogs);
    fail('NOTIFYs for unknown watchers', fleet.unknownWatchers);
    fail('subscriptions terminated', fleet.terminated);
    fail('watchers not on their presentity\'s newest state', stale);
    if (delivered === 0) fail('no NOTIFY delivered in the publish phase', 1);

    const cpu = cpuDelta(c2, c3);
    const per = (s: number): number => (delivered > 0 ? round((s * 1e6) / delivered, 1) : NaN);
    result.cpu = {
      ...cpu,
      kamailioUsPerNotify: per(cpu.kamailioSeconds),
      presencedUsPerNotify: per(cpu.presencedSeconds),
      stackUsPerNotify: per(cpu.kamailioSeconds + cpu.presencedSeconds),
    };
    if (!presenced.alive) fail('presenced died', 1);
    if (!kamailio.alive) fail('Kamailio died', 1);
    result.kamailioLogErrors = kamailio
      .log()
      .split('\n')
      .filter((l) => /\b(ERROR|CRITICAL|ALERT|BUG)\b/.test(l))
      .slice(0, 10);
    result.ok = result.failures === 0;
    log(
      `  ${mode}: PUBLISH ${pubOk} OK of ${result.publish.attempted} sent (${planned} offered) at ${result.publish.perSec}/s ` +
        `(offered ${params.publishRate}/s, ×${result.publish.achievedRatio}); ` +
        `NOTIFY ${delivered} delivered (${result.notify.coalesced} coalesced) at ${result.notify.perSec}/s; ` +
        `latency p50 ${result.notify.latencyMs.p50} ms p99 ${result.notify.latencyMs.p99} ms; ` +
        `CPU/NOTIFY Kamailio ${result.cpu.kamailioUsPerNotify} µs, presenced ${result.cpu.presencedUsPerNotify} µs; ` +
        `machine ${cpu.machineBusyCores}/${machineCores()} cores busy; failures ${result.failures}`,
    );
  } catch (err) {
    result.ok = false;
    result.error = err instanceof Error ? err.message : String(err);
    fail('run aborted', 1);
    log(`  ${mode}: FAILED: ${result.error}`);
  } finally {
    fleet.close();
    if (result.failures > 0) {
      result.logs = {
        presenced: tail(join(dir, 'presenced.log'), 20),
        kamailio: kamailio ? kamailio.log().split('\n').slice(-20).join('\n') : '',
      };
    }
    if (kamailio) {
      await kamailio.stop().catch(() => undefined);
      tempDirs.delete(kamailio.runDir);
    }
    if (presenced) await presenced.stop().catch(() => undefined);
    if (args.keep) log(`  ${mode}: kept ${dir}${kamailio ? ` and ${kamailio.runDir}` : ''}`);
    else rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
  return result;
}

// ---------------------------------------------------------------- summary

type Num = (r: ModeResult) => number | undefined;
const METRICS: Record<string, Num> = {
  publishPerSec: (r) => r.publish?.perSec,
  subscribePerSec: (r) => r.subscribe?.perSec,
  notifyPerSec: (r) => r.notify?.perSec,
  latencyP50Ms: (r) => r.notify?.latencyMs.p50,
  latencyP99Ms: (r) => r.notify?.latencyMs.p99,
  kamailioUsPerNotify: (r) => r.cpu?.kamailioUsPerNotify,
  presencedUsPerNotify: (r) => r.cpu?.presencedUsPerNotify,
  stackUsPerNotify: (r) => r.cpu?.stackUsPerNotify,
  notifiesDelivered: (r) => r.notify?.delivered,
  coalesced: (r) => r.notify?.coalesced,
  failures: (r) => r.failures,
};

function summarizeModes(runs: readonly ModeResult[]): Record<string, unknown> {
  const byMode: Record<string, Record<string, number>> = {};
  for (const mode of modes) {
    const rs = runs.filter((r) => r.mode === mode);
    const m: Record<string, number> = { rounds: rs.length };
    for (const [name, f] of Object.entries(METRICS)) {
      const xs = rs.map(f).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
      m[name] = xs.length > 0 ? round(xs.reduce((a, b) => a + b, 0) / xs.length, 2) : NaN;
    }
    byMode[mode] = m;
  }
  const out: Record<string, unknown> = { means: byMode };
  const s = byMode['sip'];
  const r = byMode['rpc'];
  if (s && r) {
    const ratio = (a: number | undefined, b: number | undefined): number => (a !== undefined && b !== undefined && b !== 0 ? round(a / b, 2) : NaN);
    out['sipOverRpc'] = {
      publishPerSec: ratio(s['publishPerSec'], r['publishPerSec']),
      notifyPerSec: ratio(s['notifyPerSec'], r['notifyPerSec']),
      latencyP50Ms: ratio(s['latencyP50Ms'], r['latencyP50Ms']),
      latencyP99Ms: ratio(s['latencyP99Ms'], r['latencyP99Ms']),
      kamailioUsPerNotify: ratio(s['kamailioUsPerNotify'], r['kamailioUsPerNotify']),
      presencedUsPerNotify: ratio(s['presencedUsPerNotify'], r['presencedUsPerNotify']),
      stackUsPerNotify: ratio(s['stackUsPerNotify'], r['stackUsPerNotify']),
    };
  }
  return out;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  if (kamailioBinary() === null) throw new Error('kamailio is not installed: run "npm run setup"');
  if (sippBinary() === null) throw new Error('sipp is not installed (Debian package sip-tester): run "npm run setup"');
  const facts = machineFacts({ kamailio: ['kamailio', ['-v']] });
  const tools: Record<string, string> = { ...facts.tools, sipp: sippVersion() };
  const machine = { ...facts, tools };
  const order: Mode[] = [];
  for (let r = 0; r < params.rounds; r++) order.push(...(r % 2 === 0 ? modes : [...modes].reverse()));
  log(
    `stack bench: modes ${modes.join(',')} × ${params.rounds} round(s); ${params.watchers} watchers on ${params.presentities} presentities; ` +
      `SUBSCRIBE ${params.subscribeRate}/s, PUBLISH ${params.publishRate}/s for ${params.seconds} s; ${machine.cores} cores, ` +
      `${machine.tools['kamailio']}, ${machine.tools['sipp']}`,
  );
  const runs: ModeResult[] = [];
  const seen = new Map<Mode, number>();
  for (const mode of order) {
    const roundNo = seen.get(mode) ?? 0;
    seen.set(mode, roundNo + 1);
    log(`round ${roundNo} mode ${mode}`);
    runs.push(await runMode(mode, roundNo));
  }
  const summary = summarizeModes(runs);
  const failures = runs.reduce((a, r) => a + r.failures, 0);
  const out = {
    benchmark: 'stack',
    machine,
    parameters: {
      ...params,
      order,
      durability: 'sync',
      presencedThreads: params.threads ?? machine.cores,
      sipp: { transport: 'u1', publishSessions: params.presentities, publishScenario: 'bench/stack/sipp/publish.xml', subscribeScenario: 'bench/stack/sipp/subscribe.xml' },
      watcherFleet: 'Node UDP UAS in the bench process (answers 200, counts per dialog, latency from the PIDF note stamp)',
    },
    runs,
    summary,
    completed: runs.every((r) => r.ok),
    failures,
  };
  mkdirSync(args.out as string, { recursive: true });
  const file = join(args.out as string, `stack-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  const ratio = summary['sipOverRpc'] as Record<string, number> | undefined;
  if (ratio) {
    log(
      `sip/rpc: NOTIFY/s ×${ratio['notifyPerSec']}, p99 latency ×${ratio['latencyP99Ms']}, ` +
        `presenced CPU/NOTIFY ×${ratio['presencedUsPerNotify']}, Kamailio CPU/NOTIFY ×${ratio['kamailioUsPerNotify']}`,
    );
  }
  log(`${failures === 0 ? 'done' : `done with ${failures} failure(s)`}: ${file}`);
  process.stdout.write(`${file}\n`);
  process.exitCode = failures === 0 ? 0 : 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
