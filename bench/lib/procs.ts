/**
 * Processes a benchmark starts, and their CPU time.
 *
 * Every child (presenced, sipp, sqlite3…) is registered here and killed by
 * PID on any exit path of the benchmark process (normal end, exception,
 * SIGINT/SIGTERM/SIGHUP); Kamailio instances are stopped by
 * KamailioProcess's own exit hook (their whole process group, by PID).
 * Nothing is ever killed by name.
 *
 * CPU is read from /proc: utime + stime of a process (all its threads), or
 * of every process of a process group (Kamailio is started detached, as the
 * leader of its group, so its forked workers are in it).
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let hooksInstalled = false;

/** Kill registered children by PID and remove registered temp dirs when this process exits. */
export function installExitHooks(name: string): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
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
      process.stderr.write(`${name}: ${sig}, stopping everything it started\n`);
      // 'exit' hooks run: ours (children) and KamailioProcess's (Kamailio process groups)
      process.exit(128 + no);
    });
  }
}

export function registerChild(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

export function registerTempDir(dir: string): void {
  tempDirs.add(dir);
}

export function releaseTempDir(dir: string, remove: boolean): void {
  tempDirs.delete(dir);
  if (remove) rmSync(dir, { recursive: true, force: true });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolveExit) => {
    const t = setTimeout(() => resolveExit(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolveExit(true);
    });
  });
}

/** SIGTERM by PID, SIGKILL after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
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

export function tailFile(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------- CPU (/proc)

export const CLK_TCK = ((): number => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return n > 0 ? n : 100;
})();

interface ProcStat {
  readonly pgrp: number;
  /** utime + stime, clock ticks. */
  readonly ticks: number;
  readonly systemTicks: number;
  /** cutime + cstime (reaped children). */
  readonly childTicks: number;
}

export function procStat(pid: number | 'self', tid?: number): ProcStat | undefined {
  try {
    const s = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'latin1');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { pgrp: Number(f[2]), ticks: Number(f[11]) + Number(f[12]), systemTicks: Number(f[12]), childTicks: Number(f[13]) + Number(f[14]) };
  } catch {
    return undefined;
  }
}

/** CPU ticks of every process in process group `pgid`. */
export function groupTicks(pgid: number): { ticks: number; systemTicks: number; processes: number } {
  let ticks = 0;
  let systemTicks = 0;
  let processes = 0;
  for (const e of readdirSync('/proc')) {
    if (e.charCodeAt(0) < 48 || e.charCodeAt(0) > 57) continue;
    const st = procStat(Number(e));
    if (st && st.pgrp === pgid) {
      ticks += st.ticks;
      systemTicks += st.systemTicks;
      processes++;
    }
  }
  return { ticks, systemTicks, processes };
}

export function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'latin1').split('\n')[0] ?? '';
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

let coresCache = 0;
export function machineCores(): number {
  if (coresCache === 0) coresCache = (readFileSync('/proc/stat', 'latin1').match(/^cpu\d+ /gm) ?? []).length || 1;
  return coresCache;
}

export interface CpuSample {
  readonly at: number;
  /** Kamailio process group, ticks. */
  readonly kamailio: number;
  readonly kamailioProcesses: number;
  /** presenced (all threads), ticks; 0 when there is none. */
  readonly presenced: number;
  readonly presencedMainThread: number;
  /** This process (µs) and its reaped children (sipp runs that ended), ticks. */
  readonly selfUs: number;
  readonly selfChildren: number;
  readonly machine: { busy: number; total: number };
}

export function cpuSample(kamailioPid: number, presencedPid: number | undefined): CpuSample {
  const k = groupTicks(kamailioPid);
  const p = presencedPid === undefined ? undefined : procStat(presencedPid);
  const u = process.cpuUsage();
  return {
    at: performance.now(),
    kamailio: k.ticks,
    kamailioProcesses: k.processes,
    presenced: p?.ticks ?? 0,
    presencedMainThread: presencedPid === undefined ? 0 : (procStat(presencedPid, presencedPid)?.ticks ?? 0),
    selfUs: u.user + u.system,
    selfChildren: procStat('self')?.childTicks ?? 0,
    machine: machineTicks(),
  };
}

export interface CpuDelta {
  readonly wallSeconds: number;
  readonly kamailioSeconds: number;
  readonly kamailioProcesses: number;
  /** presenced, all threads (main + worker pool + libuv/V8 helpers). */
  readonly presencedSeconds: number;
  readonly presencedMainThreadSeconds: number;
  /** The bench process (watcher fleet) + sipp runs that ended within the interval. */
  readonly loadGeneratorSeconds: number;
  /** Whole machine, every process (other people's work included), in cores. */
  readonly machineBusyCores: number;
}

export function cpuDelta(a: CpuSample, b: CpuSample): CpuDelta {
  const r2 = (x: number): number => Math.round(x * 100) / 100;
  return {
    wallSeconds: Math.round(b.at - a.at) / 1000,
    kamailioSeconds: r2((b.kamailio - a.kamailio) / CLK_TCK),
    kamailioProcesses: b.kamailioProcesses,
    presencedSeconds: r2((b.presenced - a.presenced) / CLK_TCK),
    presencedMainThreadSeconds: r2((b.presencedMainThread - a.presencedMainThread) / CLK_TCK),
    loadGeneratorSeconds: r2((b.selfUs - a.selfUs) / 1e6 + (b.selfChildren - a.selfChildren) / CLK_TCK),
    machineBusyCores: r2(((b.machine.busy - a.machine.busy) / Math.max(1, b.machine.total - a.machine.total)) * machineCores()),
  };
}
