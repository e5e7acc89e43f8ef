/** Facts about the machine a benchmark ran on, recorded with every result. */
import { availableParallelism, cpus, freemem, hostname, loadavg, release, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

export interface MachineFacts {
  readonly hostname: string;
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly freeMemoryBytes: number;
  readonly loadAverage: readonly number[];
  readonly kernel: string;
  readonly node: string;
  readonly packages: Record<string, string>;
  readonly tools: Record<string, string>;
  /** The code that ran: HEAD and whether the working tree had uncommitted changes. */
  readonly git: { readonly commit: string; readonly dirty: boolean };
  readonly takenAt: string;
}

/** Any directory inside the checkout will do for git (this file's, in bench/ or dist/bench/). */
const repoDir = new URL('.', import.meta.url).pathname;

function gitFacts(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoDir, encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const status = execFileSync('git', ['status', '--porcelain'], { cwd: repoDir, encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
    return { commit: commit || 'unknown', dirty: status.trim().length > 0 };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}

function pkgVersion(name: string): string {
  try {
    const url = new URL(`../../../node_modules/${name}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function toolVersion(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]?.trim() ?? '';
  } catch {
    return 'not installed';
  }
}

export function machineFacts(tools: Record<string, [string, string[]]> = {}): MachineFacts {
  const t: Record<string, string> = {};
  for (const [name, [cmd, args]] of Object.entries(tools)) t[name] = toolVersion(cmd, args);
  return {
    hostname: hostname(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memoryBytes: totalmem(),
    freeMemoryBytes: freemem(),
    loadAverage: loadavg(),
    kernel: release(),
    node: process.version,
    packages: { lmdb: pkgVersion('lmdb'), piscina: pkgVersion('piscina'), msgpackr: pkgVersion('msgpackr') },
    tools: t,
    git: gitFacts(),
    takenAt: new Date().toISOString(),
  };
}
