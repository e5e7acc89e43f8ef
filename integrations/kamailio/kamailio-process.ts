/**
 * Runs the real `kamailio` binary for integration tests: loopback only, free
 * ports, a private run directory under os.tmpdir(), foreground with logs in
 * a file, stopped by PID (SIGTERM, then SIGKILL to its process group after a
 * bound). Every started instance is also killed when the test process exits,
 * so a failing or aborted test leaves no Kamailio behind.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../net/free-port.js';
import { terminate } from '../process/terminate.js';

export interface KamailioStartOptions {
  /** Config file to run (absolute path). */
  readonly configFile: string;
  /** Address to listen on; only loopback is allowed in tests. Default 127.0.0.1. */
  readonly sipAddress?: string;
  /** SIP port (UDP and TCP); a free one when omitted. */
  readonly sipPort?: number;
  /**
   * Names the config reads its listen address/port from (#!substdef
   * defaults). Default PROXY_SIP_ADDR / PROXY_SIP_PORT, as in
   * integrations/kamailio/cfg/kamailio-presence-proxy.cfg; null to not pass them.
   */
  readonly listenSubstNames?: { readonly address: string; readonly port: string } | null;
  /** More `--substdef='!NAME!value!g'` settings. */
  readonly substdefs?: Readonly<Record<string, string | number>>;
  /** `-A NAME` / `-A NAME=value` defines. */
  readonly defines?: readonly string[];
  /** Shared memory, MB (-m). Default 64. */
  readonly shmMb?: number;
  /** Private memory per process, MB (-M). Default 8. */
  readonly pkgMb?: number;
  /** Bound for becoming ready (answering SIP on UDP). Default 15 s. */
  readonly readyTimeoutMs?: number;
  readonly extraArgs?: readonly string[];
  /** Keep the run directory (config log) after stop; also with PRESENCED_KEEP_RUN_DIRS=1. */
  readonly keepRunDir?: boolean;
}

const running = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of running) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

/** Path of the kamailio binary, or null when it is not installed. */
export function kamailioBinary(): string | null {
  for (const p of ['/usr/sbin/kamailio', '/usr/local/sbin/kamailio']) if (existsSync(p)) return p;
  const r = spawnSync('sh', ['-c', 'command -v kamailio'], { encoding: 'utf8' });
  const found = r.stdout.trim();
  return r.status === 0 && found.length > 0 ? found : null;
}

/** `kamailio -c` on a config with the same settings; returns exit status and output. */
export function checkKamailioConfig(
  configFile: string,
  substdefs: Readonly<Record<string, string | number>> = {},
): { status: number | null; output: string } {
  const bin = kamailioBinary();
  if (bin === null) return { status: null, output: 'kamailio not installed' };
  const r = spawnSync(bin, ['-c', '-f', configFile, ...substdefArgs(substdefs)], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

function substdefArgs(substdefs: Readonly<Record<string, string | number>>): string[] {
  return Object.entries(substdefs).map(([name, value]) => {
    const v = String(value);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`bad substdef name ${name}`);
    if (v.includes('!') || /[\r\n]/.test(v)) throw new Error(`substdef ${name}: value may not contain '!' or line breaks`);
    return `--substdef=!${name}!${v}!g`;
  });
}

export class KamailioProcess {
  private readonly exited: Promise<void>;
  private exitCode: number | null = null;
  private stopped = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
    readonly sipAddress: string,
    readonly sipPort: number,
    readonly runDir: string,
    readonly logFile: string,
    private readonly keepRunDir: boolean,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        this.exitCode = code;
        running.delete(pid);
        resolve();
      });
    });
  }

  static async start(options: KamailioStartOptions): Promise<KamailioProcess> {
    const bin = kamailioBinary();
    if (bin === null) throw new Error('kamailio is not installed (run integrations/kamailio/setup/install-debian-packages.sh)');
    const sipAddress = options.sipAddress ?? '127.0.0.1';
    if (!sipAddress.startsWith('127.')) throw new Error('tests listen on loopback only');
    const sipPort = options.sipPort ?? (await freePort(sipAddress));
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'presenced-kamailio-'));
    const logFile = path.join(runDir, 'kamailio.log');
    const pidFile = path.join(runDir, 'kamailio.pid');

    const names = options.listenSubstNames === undefined
      ? { address: 'PROXY_SIP_ADDR', port: 'PROXY_SIP_PORT' }
      : options.listenSubstNames;
    const substdefs: Record<string, string | number> = { ...(options.substdefs ?? {}) };
    if (names !== null) {
      substdefs[names.address] = sipAddress;
      substdefs[names.port] = sipPort;
    }
    const args = [
      '-f', options.configFile,
      '-DD', // stay in the foreground (the main process keeps its PID), children forked as usual
      '-E', // log to stderr, captured in logFile
      '-P', pidFile,
      '-Y', runDir,
      '-w', runDir,
      '-m', String(options.shmMb ?? 64),
      '-M', String(options.pkgMb ?? 8),
      ...substdefArgs(substdefs),
      ...(options.defines ?? []).flatMap((d) => ['-A', d]),
      ...(options.extraArgs ?? []),
    ];
    const logFd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      // detached: own process group, so the whole tree can be killed by -PID
      child = spawn(bin, args, { cwd: runDir, detached: true, stdio: ['ignore', logFd, logFd] });
    } finally {
      closeSync(logFd);
    }
    const pid = child.pid;
    if (pid === undefined) throw new Error('kamailio did not start');
    installExitHook();
    running.add(pid);
    const keep = options.keepRunDir ?? process.env['PRESENCED_KEEP_RUN_DIRS'] === '1';
    const proc = new KamailioProcess(child, pid, sipAddress, sipPort, runDir, logFile, keep);
    try {
      await proc.waitReady(options.readyTimeoutMs ?? 15_000);
    } catch (err) {
      const tail = proc.log().split('\n').slice(-30).join('\n');
      await proc.stop();
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- kamailio log (tail) ---\n${tail}`);
    }
    return proc;
  }

  /** Everything Kamailio logged so far. */
  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** Resolves when the log matches `pattern` (polling), rejects after `timeoutMs`. */
  async waitForLog(pattern: RegExp, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(this.log());
      if (m) return m[0];
      if (Date.now() > deadline) throw new Error(`kamailio log did not match ${pattern} within ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  get alive(): boolean {
    return this.exitCode === null && !this.child.killed && running.has(this.pid);
  }

  /** SIGTERM, then SIGKILL to the process group after `graceMs`; removes the run dir. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      if (running.has(this.pid)) {
        await terminate(this.pid, this.exited, graceMs, true);
      }
      // Children that outlived the main process (should not happen): kill the group.
      try {
        process.kill(-this.pid, 'SIGKILL');
      } catch {
        /* none left */
      }
      running.delete(this.pid);
    }
    if (!this.keepRunDir) rmSync(this.runDir, { recursive: true, force: true });
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const sock = dgram.createSocket('udp4');
    let answered = false;
    sock.on('message', (msg) => {
      if (msg.toString('latin1').startsWith('SIP/2.0 ')) answered = true;
    });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, '127.0.0.1', () => resolve());
    });
    try {
      let n = 0;
      while (!answered) {
        if (this.exitCode !== null || !running.has(this.pid)) {
          throw new Error(`kamailio exited with code ${this.exitCode} before it was ready`);
        }
        if (Date.now() > deadline) throw new Error(`kamailio not ready within ${timeoutMs} ms`);
        const { port } = sock.address();
        const options = [
          `OPTIONS sip:${this.sipAddress}:${this.sipPort} SIP/2.0`,
          `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-ready-${process.pid}-${n};rport`,
          'Max-Forwards: 70',
          `From: <sip:probe@127.0.0.1>;tag=probe${n}`,
          `To: <sip:${this.sipAddress}:${this.sipPort}>`,
          `Call-ID: ready-${process.pid}-${this.pid}-${n}@127.0.0.1`,
          `CSeq: ${n + 1} OPTIONS`,
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n');
        n++;
        sock.send(options, this.sipPort, this.sipAddress);
        await sleep(100);
      }
    } finally {
      sock.close();
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
