/**
 * A minimal SIP user agent over UDP for end-to-end tests: sends requests
 * through Kamailio, answers NOTIFYs 200 (or a scripted status) and records
 * every message in arrival order. Loopback only.
 */
import dgram from 'node:dgram';

export interface SipMessage {
  readonly startLine: string;
  readonly headers: ReadonlyMap<string, string[]>;
  readonly body: string;
  readonly raw: string;
  readonly at: number;
}

export function parseSip(raw: string): SipMessage {
  const sep = raw.indexOf('\r\n\r\n');
  const head = sep < 0 ? raw : raw.slice(0, sep);
  const body = sep < 0 ? '' : raw.slice(sep + 4);
  const [startLine = '', ...lines] = head.split('\r\n');
  const headers = new Map<string, string[]>();
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i < 0) continue;
    const name = l.slice(0, i).trim().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), l.slice(i + 1).trim()]);
  }
  return { startLine, headers, body, raw, at: performance.now() };
}

export const header = (m: SipMessage, name: string): string | undefined => m.headers.get(name.toLowerCase())?.[0];

export class UdpSipUa {
  readonly received: SipMessage[] = [];
  /** Status to answer NOTIFYs with (200 by default). */
  notifyStatus = 200;
  /** While true, NOTIFYs are recorded but their answers held back until `releaseHeld()`. */
  holdNotifyAnswers = false;
  private held: string[] = [];
  private sock = dgram.createSocket('udp4');
  private waiters: { match: (m: SipMessage) => boolean; resolve: (m: SipMessage) => void }[] = [];
  port = 0;

  constructor(private readonly proxyPort: number) {}

  async start(): Promise<void> {
    await new Promise<void>((r) => this.sock.bind(0, '127.0.0.1', () => r()));
    this.port = this.sock.address().port;
    this.sock.on('message', (buf) => this.onMessage(parseSip(buf.toString('utf8'))));
  }

  private onMessage(m: SipMessage): void {
    this.received.push(m);
    if (m.startLine.startsWith('NOTIFY ')) {
      const copy = (n: string): string => (m.headers.get(n) ?? []).map((v) => `${n === 'call-id' ? 'Call-ID' : n[0]?.toUpperCase() + n.slice(1)}: ${v}`).join('\r\n');
      const reply = `SIP/2.0 ${this.notifyStatus} ${this.notifyStatus === 200 ? 'OK' : 'Whatever'}\r\n${copy('via')}\r\n${copy('from')}\r\n${copy('to')}\r\n${copy('call-id')}\r\n${copy('cseq')}\r\nContent-Length: 0\r\n\r\n`;
      if (this.holdNotifyAnswers) this.held.push(reply);
      else this.sock.send(reply, this.proxyPort, '127.0.0.1');
    }
    this.waiters = this.waiters.filter((w) => {
      if (!w.match(m)) return true;
      w.resolve(m);
      return false;
    });
  }

  /** Stop holding NOTIFY answers and send the held ones (retransmissions got one each). */
  releaseHeld(): void {
    this.holdNotifyAnswers = false;
    for (const r of this.held.splice(0)) this.sock.send(r, this.proxyPort, '127.0.0.1');
  }

  send(raw: string): void {
    this.sock.send(raw, this.proxyPort, '127.0.0.1');
  }

  /** Resolves with the first message (already received or future) matching `match`. */
  waitFor(match: (m: SipMessage) => boolean, timeoutMs = 5000, from = 0): Promise<SipMessage> {
    const seen = this.received.slice(from).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timeout waiting for a SIP message (${this.received.map((x) => x.startLine).join(' | ')})`)), timeoutMs);
      this.waiters.push({ match, resolve: (m) => (clearTimeout(t), resolve(m)) });
    });
  }

  close(): void {
    this.sock.close();
  }
}
