/**
 * Runs one sipp scenario against a loopback target and returns its exit
 * code plus the messages it sent and received (from -trace_msg), parsed.
 * Bounded: sipp's own -timeout (with -timeout_error) and a hard SIGKILL by
 * PID shortly after it.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sippBinary } from '../../bench/lib/sipp.js';
import { exitWithin } from '../../integrations/process/terminate.js';
import { freePort } from './free-port.js';

export interface SippRunOptions {
  /** Scenario XML file (absolute path). */
  readonly scenario: string;
  readonly targetHost?: string;
  readonly targetPort: number;
  /** sipp -t: u1 (UDP, one socket) or t1 (TCP, one connection). Default u1. */
  readonly transport?: 'u1' | 't1';
  /** Local SIP port; a free one when omitted (sipp's default 5060 may be taken). */
  readonly localPort?: number;
  /** Calls to run (-m). Default 1. */
  readonly calls?: number;
  /** Global timeout in seconds (-timeout, failing with -timeout_error). Default 10. */
  readonly timeoutSec?: number;
  /** `-key name value`: [name] in the scenario. */
  readonly keys?: Readonly<Record<string, string | number>>;
  readonly extraArgs?: readonly string[];
  /** Log every message (-trace_msg) and parse them into `messages`. Default true; off for load runs. */
  readonly traceMessages?: boolean;
  readonly keepDir?: boolean;
}

export interface SippMessage {
  readonly direction: 'sent' | 'received';
  /** Time sipp logged it, ms since the epoch (µs precision in the fraction). */
  readonly time: number;
  /** The whole message as bytes. */
  readonly raw: Buffer;
  /** Start line (request line or status line). */
  readonly startLine: string;
  /** Header fields in order, names as written. */
  readonly headers: readonly { readonly name: string; readonly value: string }[];
  /** Body bytes. */
  readonly body: Buffer;
}

export interface SippResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly durationMs: number;
  readonly messages: readonly SippMessage[];
  /** sipp's error log (-trace_err). */
  readonly errors: string;
  readonly stdout: string;
  readonly stderr: string;
}

export { sippBinary };

export async function runSipp(options: SippRunOptions): Promise<SippResult> {
  const bin = sippBinary();
  if (bin === null) throw new Error('sipp is not installed (Debian package sip-tester)');
  const host = options.targetHost ?? '127.0.0.1';
  if (!host.startsWith('127.')) throw new Error('tests send to loopback only');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'presenced-sipp-'));
  const messageFile = path.join(dir, 'messages.log');
  const errorFile = path.join(dir, 'errors.log');
  const timeoutSec = options.timeoutSec ?? 10;
  const localPort = options.localPort ?? (await freePort());
  const args = [
    '-sf', options.scenario,
    '-t', options.transport ?? 'u1',
    '-i', '127.0.0.1',
    '-p', String(localPort),
    '-m', String(options.calls ?? 1),
    '-timeout', `${timeoutSec}s`,
    '-timeout_error',
    '-nostdin',
    ...(options.traceMessages === false ? [] : ['-trace_msg', '-message_file', messageFile]),
    '-trace_err', '-error_file', errorFile,
    ...Object.entries(options.keys ?? {}).flatMap(([k, v]) => ['-key', k, String(v)]),
    ...(options.extraArgs ?? []),
    `${host}:${options.targetPort}`,
  ];
  const started = Date.now();
  const child = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    if (stdout.length < 200_000) stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 200_000) stderr += d;
  });
  const exit = await exitWithin(child, (timeoutSec + 5) * 1000);
  const durationMs = Date.now() - started;
  const messages = existsSync(messageFile) ? parseSippMessageLog(readFileSync(messageFile)) : [];
  const errors = existsSync(errorFile) ? readFileSync(errorFile, 'utf8') : '';
  if (options.keepDir !== true) rmSync(dir, { recursive: true, force: true });
  return { exitCode: exit.code, signal: exit.signal, durationMs, messages, errors, stdout, stderr };
}

const SEPARATOR = Buffer.from('----------------------------------------------- ', 'latin1');

/** Parses sipp's -trace_msg file (byte-exact bodies). */
export function parseSippMessageLog(log: Buffer): SippMessage[] {
  const out: SippMessage[] = [];
  const starts: number[] = [];
  for (let i = log.indexOf(SEPARATOR); i >= 0; i = log.indexOf(SEPARATOR, i + 1)) {
    if (i === 0 || log[i - 1] === 0x0a) starts.push(i);
  }
  for (let k = 0; k < starts.length; k++) {
    const start = starts[k] as number;
    const end = k + 1 < starts.length ? (starts[k + 1] as number) : log.length;
    const block = log.subarray(start, end);
    const line1End = block.indexOf(0x0a);
    const line2End = block.indexOf(0x0a, line1End + 1);
    if (line1End < 0 || line2End < 0) continue;
    const stamp = block.subarray(SEPARATOR.length, line1End).toString('latin1').trim();
    const kind = block.subarray(line1End + 1, line2End).toString('latin1');
    const direction = /message sent/.test(kind) ? 'sent' : /message received/.test(kind) ? 'received' : null;
    if (direction === null) continue;
    // blank line, then the message, then one "\n" that sipp appends
    let raw = block.subarray(line2End + 2);
    if (raw.length > 0 && raw[raw.length - 1] === 0x0a) raw = raw.subarray(0, raw.length - 1);
    out.push(parseSipMessage(raw, direction, parseStamp(stamp)));
  }
  return out;
}

function parseStamp(stamp: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)?/.exec(stamp);
  if (!m) return Number.NaN;
  const base = new Date(`${m[1]}T${m[2]}`).getTime(); // sipp logs local time
  return base + (m[3] !== undefined ? Number(m[3]) * 1000 : 0);
}

function parseSipMessage(raw: Buffer, direction: 'sent' | 'received', time: number): SippMessage {
  const sep = raw.indexOf('\r\n\r\n');
  const headEnd = sep >= 0 ? sep : raw.length;
  const head = raw.subarray(0, headEnd).toString('utf8');
  const body = sep >= 0 ? Buffer.from(raw.subarray(sep + 4)) : Buffer.alloc(0);
  const lines = head.split('\r\n');
  const startLine = lines.shift() ?? '';
  const headers: { name: string; value: string }[] = [];
  for (const line of lines) {
    if (/^[ \t]/.test(line) && headers.length > 0) {
      const last = headers[headers.length - 1] as { name: string; value: string };
      last.value += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers.push({ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() });
  }
  return { direction, time, raw: Buffer.from(raw), startLine, headers, body };
}

/** All values of a header (case-insensitive name). */
export function headerValues(msg: SippMessage, name: string): string[] {
  const n = name.toLowerCase();
  return msg.headers.filter((h) => h.name.toLowerCase() === n).map((h) => h.value);
}

/** The first value of a header, or undefined. */
export function headerValue(msg: SippMessage, name: string): string | undefined {
  return headerValues(msg, name)[0];
}
