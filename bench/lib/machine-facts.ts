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
  readonly takenAt: string;
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
    takenAt: new Date().toISOString(),
  };
}
