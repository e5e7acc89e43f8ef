/**
 * Runs the real Debian `baresip` (package baresip-core, v1.0.0) as a headless
 * presence softphone for end-to-end tests: loopback only, a generated config
 * directory in a temp dir, no audio/video modules, no REGISTER (regint=0),
 * the `presence` module (PUBLISH of its own status, SUBSCRIBE to contacts
 * marked `;presence=p2p`) and `ctrl_tcp` (JSON commands in netstrings) to
 * drive it. Its console output, including the SIP trace (`-s`: every
 * message it sends and receives, byte for byte), is captured and parsed.
 * Stopped by PID: SIGTERM (baresip then un-PUBLISHes and un-SUBSCRIBEs),
 * SIGKILL after a bound; every started instance is also killed when the
 * test process exits.
 *
 * What baresip 1.0.0's presence module can do (read from the shipped
 * module, see the test for the wire trace):
 * - publishes one fixed PIDF: an RPID person with an empty
 *   `<rpid:activities/>` and one tuple whose `<basic>` is `open` or `closed`
 *   (`presence_online` / `presence_offline`); before any status was set (it
 *   is set to open only on a successful REGISTER) the body says
 *   `<basic>unknown</basic>`, which is not valid PIDF;
 * - shows a contact as Online when a NOTIFY has `<basic>open</basic>`, Busy
 *   for `<rpid:busy/>` or `<rpid:on-the-phone/>`, Offline for `<rpid:away/>`
 *   (plain regular expressions on the body: the `rpid:` prefix is literal).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.js';
import { terminate } from '../../integrations/process/terminate.js';
import { sleep } from './wait.js';

export interface BaresipContact {
  readonly name: string;
  /** SIP URI, e.g. `sip:alice@127.0.0.1:5060`. */
  readonly uri: string;
  /** Subscribe to its presence (`;presence=p2p`). Default true. */
  readonly presence?: boolean;
}

export interface BaresipStartOptions {
  /** The account's address of record; its host:port is where PUBLISH and SUBSCRIBE go (the proxy). */
  readonly aor: string;
  readonly displayName?: string;
  /** PUBLISH interval = Expires of its PUBLISH, seconds; 0 = no PUBLISH. Default 300. */
  readonly pubint?: number;
  readonly contacts?: readonly BaresipContact[];
  /** Local SIP port (UDP+TCP on 127.0.0.1); a free one when omitted. */
  readonly sipPort?: number;
  /** Print the SIP trace (-s). Default true. */
  readonly sipTrace?: boolean;
  /** Bound for "baresip is ready." and the control connection. Default 10 s. */
  readonly readyTimeoutMs?: number;
  /** Keep the config dir after stop; also with PRESENCED_KEEP_RUN_DIRS=1. */
  readonly keepDir?: boolean;
}

/** One message from baresip's SIP trace. */
export interface TracedSipMessage {
  readonly direction: 'sent' | 'received';
  readonly transport: string;
  readonly src: string;
  readonly dst: string;
  /** Whole message as printed (CRLFs kept). */
  readonly raw: string;
  readonly startLine: string;
  readonly headers: readonly { readonly name: string; readonly value: string }[];
  readonly body: string;
}

export interface ControlResponse {
  readonly ok: boolean;
  /** Command output, ANSI colours removed. */
  readonly data: string;
}

export type ContactStatus = 'Unknown' | 'Online' | 'Offline' | 'Busy' | string;

const running = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of running) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}


export const stripAnsi = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, '');

export function baresipBinary(): string | null {
  for (const p of ['/usr/bin/baresip', '/usr/local/bin/baresip']) if (existsSync(p)) return p;
  return null;
}

function modulePath(): string {
  for (const p of ['/usr/lib/baresip/modules', '/usr/local/lib/baresip/modules']) if (existsSync(path.join(p, 'presence.so'))) return p;
  throw new Error('baresip modules (presence.so) not found: install the Debian package baresip-core');
}

/** `Display <uri>;params` with the URI checked to be loopback. */
function loopbackUri(uri: string): string {
  if (!/^sip:[^@\s<>]+@127\.\d+\.\d+\.\d+(:\d+)?(;[^\s<>]*)?$/.test(uri)) throw new Error(`tests use loopback SIP URIs only: ${uri}`);
  return uri;
}

/** Parses the `-s` trace blocks out of baresip's console output. */
export function parseBaresipTrace(output: string, localPort: number): TracedSipMessage[] {
  const out: TracedSipMessage[] = [];
  const re = /\x1b\[36;1m#\n(UDP|TCP|TLS|WS|WSS) (\S+) -> (\S+)\n([\s\S]*?)\x1b\[;m\n/g;
  for (let m = re.exec(output); m !== null; m = re.exec(output)) {
    const [, transport = '', src = '', dst = '', raw = ''] = m;
    const sep = raw.indexOf('\r\n\r\n');
    const head = sep < 0 ? raw : raw.slice(0, sep);
    const body = sep < 0 ? '' : raw.slice(sep + 4);
    const [startLine = '', ...lines] = head.split('\r\n');
    const headers: { name: string; value: string }[] = [];
    for (const l of lines) {
      const i = l.indexOf(':');
      if (i <= 0) continue;
      headers.push({ name: l.slice(0, i).trim(), value: l.slice(i + 1).trim() });
    }
    const direction = src.endsWith(`:${localPort}`) ? 'sent' : 'received';
    out.push({ direction, transport, src, dst, raw, startLine, headers, body });
  }
  return out;
}

export function tracedHeader(m: TracedSipMessage, name: string): string | undefined {
  const n = name.toLowerCase();
  return m.headers.find((h) => h.name.toLowerCase() === n)?.value;
}

export class BaresipProcess {
  private out = '';
  private readonly exited: Promise<void>;
  private exitCode: number | null = null;
  private stopped = false;
  private ctrl: net.Socket | null = null;
  private ctrlBuf = Buffer.alloc(0);
  private tokenSeq = 0;
  private readonly pending = new Map<string, (r: ControlResponse) => void>();
  /** ctrl_tcp events (JSON objects with `event: true`), in arrival order. */
  readonly events: Record<string, unknown>[] = [];

  private constructor(
    child: ChildProcess,
    readonly pid: number,
    readonly sipPort: number,
    readonly ctrlPort: number,
    readonly dir: string,
    readonly aor: string,
    private readonly keepDir: boolean,
  ) {
    const onData = (d: Buffer): void => {
      if (this.out.length < 4_000_000) this.out += d.toString('utf8');
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        this.exitCode = code;
        running.delete(pid);
        resolve();
      });
    });
  }

  static async start(o: BaresipStartOptions): Promise<BaresipProcess> {
    const bin = baresipBinary();
    if (bin === null) throw new Error('baresip is not installed (Debian package baresip-core; integrations/kamailio/setup/install-debian-packages.sh)');
    const aor = loopbackUri(o.aor);
    const sipPort = o.sipPort ?? (await freePort());
    const ctrlPort = await freePort();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'presenced-baresip-'));
    // Headless: UI = ctrl_tcp only (no stdio/cons), no audio/video drivers or
    // codecs, no NAT helpers; everything bound to 127.0.0.1.
    const config = [
      'poll_method\t\tepoll',
      `sip_listen\t\t127.0.0.1:${sipPort}`,
      'net_interface\t\t127.0.0.1',
      `module_path\t\t${modulePath()}`,
      'module\t\t\tctrl_tcp.so',
      'module_tmp\t\taccount.so',
      'module_app\t\tcontact.so',
      'module_app\t\tpresence.so',
      `ctrl_tcp_listen\t\t127.0.0.1:${ctrlPort}`,
      'call_max_calls\t\t1',
      '',
    ].join('\n');
    const name = (o.displayName ?? 'presenced test').replace(/"/g, '');
    // regint=0: no REGISTER (the example Kamailio config has no registrar);
    // pubint: PUBLISH Expires (presence module publishes only when > 0).
    const account = `"${name}" <${aor}>;regint=0;pubint=${o.pubint ?? 300};answermode=manual\n`;
    const contacts = (o.contacts ?? [])
      .map((c) => `"${c.name.replace(/"/g, '')}" <${loopbackUri(c.uri)}>${c.presence === false ? '' : ';presence=p2p'}\n`)
      .join('');
    writeFileSync(path.join(dir, 'config'), config);
    writeFileSync(path.join(dir, 'accounts'), account);
    writeFileSync(path.join(dir, 'contacts'), contacts);

    const args = ['-f', dir, ...(o.sipTrace === false ? [] : ['-s'])];
    // stdbuf: line-buffered stdout through the pipe, so output is live
    const useStdbuf = existsSync('/usr/bin/stdbuf');
    const child = useStdbuf
      ? spawn('/usr/bin/stdbuf', ['-oL', '-eL', bin, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(bin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = child.pid;
    if (pid === undefined) throw new Error('baresip did not start');
    installExitHook();
    running.add(pid);
    const keep = o.keepDir ?? process.env['PRESENCED_KEEP_RUN_DIRS'] === '1';
    const proc = new BaresipProcess(child, pid, sipPort, ctrlPort, dir, aor, keep);
    try {
      await proc.waitForOutput(/baresip is ready\./, o.readyTimeoutMs ?? 10_000);
      await proc.connectControl(o.readyTimeoutMs ?? 10_000);
    } catch (err) {
      const tail = proc.output().split('\n').slice(-30).join('\n');
      await proc.stop();
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- baresip output (tail) ---\n${tail}`);
    }
    return proc;
  }

  /** Console output so far (ANSI colours removed unless `raw`). */
  output(raw = false): string {
    return raw ? this.out : stripAnsi(this.out);
  }

  /** Every SIP message baresip sent or received so far (needs sipTrace). */
  sipTrace(): TracedSipMessage[] {
    return parseBaresipTrace(this.out, this.sipPort);
  }

  get alive(): boolean {
    return this.exitCode === null && running.has(this.pid);
  }

  /** Resolves with the first match of `pattern` in the (ANSI-free) output after `from` chars; rejects after `timeoutMs`. */
  async waitForOutput(pattern: RegExp, timeoutMs = 5000, from = 0): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(this.output().slice(from));
      if (m) return m;
      if (!this.alive) throw new Error(`baresip exited (code ${this.exitCode}) before its output matched ${pattern}`);
      if (Date.now() > deadline) throw new Error(`baresip output did not match ${pattern} within ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  /** Resolves with the first traced message matching `match`; rejects after `timeoutMs`. */
  async waitForSip(match: (m: TracedSipMessage) => boolean, timeoutMs = 5000): Promise<TracedSipMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.sipTrace().find(match);
      if (m) return m;
      if (Date.now() > deadline) {
        const seen = this.sipTrace().map((x) => `${x.direction} ${x.startLine}`).join(' | ');
        throw new Error(`baresip: no matching SIP message within ${timeoutMs} ms (seen: ${seen})`);
      }
      await sleep(50);
    }
  }

  /** Runs a baresip long command (e.g. `presence_online`, `contacts`) over ctrl_tcp. */
  command(command: string, params = '', timeoutMs = 5000): Promise<ControlResponse> {
    const sock = this.ctrl;
    if (sock === null) return Promise.reject(new Error('baresip control connection is not open'));
    const token = `t${++this.tokenSeq}`;
    const json = Buffer.from(JSON.stringify({ command, params, token }), 'utf8');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(token);
        reject(new Error(`baresip command ${command} got no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(token, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      sock.write(Buffer.concat([Buffer.from(`${json.length}:`, 'latin1'), json, Buffer.from(',', 'latin1')]));
    });
  }

  /** The status baresip shows for each contact (command `contacts`), keyed by URI. */
  async contactStatuses(): Promise<Map<string, ContactStatus>> {
    const r = await this.command('contacts');
    const map = new Map<string, ContactStatus>();
    // ">     Online alice <sip:alice@127.0.0.1:5060>" (">" marks the current contact)
    for (const line of r.data.split('\n')) {
      const m = /^[> ]\s*(\S+)\s+.*<([^>]+)>/.exec(line);
      if (m?.[1] !== undefined && m[2] !== undefined) map.set(m[2], m[1]);
    }
    return map;
  }

  /** Polls `contacts` until `uri` shows `status`; returns the time it took. */
  async waitForContactStatus(uri: string, status: ContactStatus, timeoutMs = 5000): Promise<number> {
    const started = Date.now();
    let last: ContactStatus | undefined;
    for (;;) {
      last = (await this.contactStatuses()).get(uri);
      if (last === status) return Date.now() - started;
      if (Date.now() - started > timeoutMs) throw new Error(`baresip shows ${uri} as ${last ?? '(not listed)'}, not ${status}, after ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  /** SIGTERM (baresip un-PUBLISHes / un-SUBSCRIBEs), SIGKILL after `graceMs`; removes the config dir. */
  async stop(graceMs = 3000): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.ctrl?.destroy();
      this.ctrl = null;
      if (running.has(this.pid)) {
        await terminate(this.pid, this.exited, graceMs, false);
      }
      running.delete(this.pid);
      for (const [, resolve] of this.pending) resolve({ ok: false, data: 'stopped' });
      this.pending.clear();
    }
    if (!this.keepDir) rmSync(this.dir, { recursive: true, force: true });
  }

  private async connectControl(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const sock = await new Promise<net.Socket | null>((resolve) => {
        const s = net.connect(this.ctrlPort, '127.0.0.1');
        s.once('connect', () => resolve(s));
        s.once('error', () => {
          s.destroy();
          resolve(null);
        });
      });
      if (sock !== null) {
        this.ctrl = sock;
        sock.on('data', (d: Buffer) => this.onControlData(d));
        sock.on('error', () => undefined);
        return;
      }
      if (!this.alive) throw new Error(`baresip exited (code ${this.exitCode}) before ctrl_tcp accepted a connection`);
      if (Date.now() > deadline) throw new Error(`baresip ctrl_tcp on 127.0.0.1:${this.ctrlPort} not reachable within ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  /** Netstrings `<len>:<json>,` in, one JSON object each. */
  private onControlData(d: Buffer): void {
    this.ctrlBuf = Buffer.concat([this.ctrlBuf, d]);
    for (;;) {
      const colon = this.ctrlBuf.indexOf(0x3a);
      if (colon < 0) return;
      const len = Number(this.ctrlBuf.subarray(0, colon).toString('latin1'));
      if (!Number.isInteger(len) || len < 0) {
        this.ctrlBuf = Buffer.alloc(0);
        return;
      }
      if (this.ctrlBuf.length < colon + 1 + len + 1) return;
      const json = this.ctrlBuf.subarray(colon + 1, colon + 1 + len).toString('utf8');
      this.ctrlBuf = this.ctrlBuf.subarray(colon + 1 + len + 1);
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(json) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (msg['response'] === true && typeof msg['token'] === 'string') {
        const resolve = this.pending.get(msg['token']);
        this.pending.delete(msg['token']);
        resolve?.({ ok: msg['ok'] === true, data: stripAnsi(typeof msg['data'] === 'string' ? msg['data'] : '') });
      } else if (msg['event'] === true) {
        this.events.push(msg);
      }
    }
  }
}
