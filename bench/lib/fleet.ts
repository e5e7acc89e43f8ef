/**
 * The watchers' side of every scenario: a Node UDP UAS fleet (a few
 * sockets; each SUBSCRIBE's Contact names one of them) that answers every
 * NOTIFY 200 at once and accounts for it.
 *
 * Per dialog (Call-ID + the notifier's From-tag: a SUBSCRIBE the server
 * handled twice gets two dialogs with one Call-ID): the CSeq — a CSeq seen
 * before with the same Via branch is a retransmission (answered again, not
 * counted, also when it comes after a newer NOTIFY), the same CSeq on
 * another branch is a duplicate NOTIFY (CSeq reuse), a lower new one is out
 * of order (a strict UA would answer it 500 and keep the newer state). Per watcher/presentity pair
 * (Request-URI user = the watcher, From user = the presentity): NOTIFYs on
 * a second dialog of a pair are duplicates (a duplicate subscription
 * receiving NOTIFYs).
 *
 * PUBLISH→NOTIFY latency: every benchmark PUBLISH body's note holds sipp's
 * [timestamp] ("bench … <date>\t<time>\t<epoch>.<µs>", taken right before
 * the message is sent); the fleet subtracts it from its receive time
 * (performance.timeOrigin + now(), calibrated against Date.now()) — one
 * clock, one machine. A NOTIFY shows the newest state, so when delivery
 * coalesces queued NOTIFYs its latency is that of the PUBLISH it shows.
 */
import dgram from 'node:dgram';

/** Wall-clock ms with µs resolution: performance.timeOrigin + now(), offset calibrated against Date.now(). */
export class WallClock {
  private offset = 0;
  now(): number {
    return performance.timeOrigin + performance.now() + this.offset;
  }
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

/** The PUBLISH send time sipp wrote into the note. */
const STAMP = /bench [^<]*?(\d{9,11})\.(\d{6})/;

interface DialogState {
  readonly pair: string;
  lastCseq: number;
  /** Via branch of each recent CSeq (the last 64): a retransmission repeats both, even after a newer NOTIFY. */
  readonly branches: Map<number, string>;
  notifies: number;
  terminated: boolean;
}

interface PairState {
  readonly watcher: string;
  readonly presentity: string;
  /** The first dialog that received a NOTIFY for this pair (a new one after it was terminated). */
  dialog: string | undefined;
  /** Stamp (epoch ms) of the PUBLISH shown by the newest NOTIFY. */
  lastStamp: number | undefined;
  /** The newest NOTIFY carried a bench PUBLISH stamp (a bench publication was in the state). */
  lastHadStamp: boolean;
  notifies: number;
}

export interface FleetCounters {
  notifies: number;
  /** By Subscription-State value (active, pending, terminated). */
  active: number;
  pending: number;
  terminated: number;
  retransmissions: number;
  outOfOrder: number;
  /** Same CSeq, other branch, in one dialog. */
  cseqReuse: number;
  /** NOTIFYs on a second dialog of one watcher/presentity pair. */
  duplicateDialogNotifies: number;
  /** Pairs that got a second dialog. */
  duplicateDialogs: number;
  /** NOTIFYs for a watcher/presentity pair the scenario did not create (when pairs were registered). */
  unknown: number;
  /** NOTIFYs after the dialog's terminated NOTIFY. */
  afterTerminated: number;
  withStamp: number;
  firstAt: number;
  lastAt: number;
}

function emptyCounters(): FleetCounters {
  return {
    notifies: 0, active: 0, pending: 0, terminated: 0, retransmissions: 0, outOfOrder: 0, cseqReuse: 0,
    duplicateDialogNotifies: 0, duplicateDialogs: 0, unknown: 0, afterTerminated: 0, withStamp: 0, firstAt: NaN, lastAt: NaN,
  };
}

export interface LatencySample {
  /** Receive time (epoch ms). */
  readonly at: number;
  readonly ms: number;
}

export class WatcherFleet {
  readonly clock = new WallClock();
  private readonly sockets: dgram.Socket[] = [];
  readonly ports: number[] = [];
  private readonly dialogs = new Map<string, DialogState>();
  private readonly pairs = new Map<string, PairState>();
  /** When set, NOTIFYs for other pairs are counted as unknown. */
  strictPairs = false;
  /** Counters of the current window (reset by `window()`), and of the whole run. */
  current: FleetCounters = emptyCounters();
  readonly total: FleetCounters = emptyCounters();
  /** PUBLISH→NOTIFY latencies of the current window. */
  latencies: LatencySample[] = [];
  /** Every latency sample of the run (for percentiles over time). */
  readonly allLatencies: LatencySample[] = [];
  /** Receive time of the newest NOTIFY (retransmissions included). */
  lastNotifyAt = 0;
  private readonly warmupBodies: string[] = [];
  private readonly pending = new Map<string, (response: string) => void>();

  async start(count: number): Promise<void> {
    this.clock.calibrate();
    for (let i = 0; i < count; i++) {
      const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 16 * 1024 * 1024, sendBufferSize: 8 * 1024 * 1024 });
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

  /** UDP port of the UAS a watcher's Contact should name. */
  portFor(index: number): number {
    return this.ports[index % this.ports.length] as number;
  }

  /** Declare a watcher/presentity pair the scenario creates (strict mode, stale-state check). */
  expectPair(watcher: string, presentity: string): void {
    const key = `${watcher}|${presentity}`;
    if (!this.pairs.has(key)) this.pairs.set(key, { watcher, presentity, dialog: undefined, lastStamp: undefined, lastHadStamp: false, notifies: 0 });
  }

  /** Starts a new measurement window; returns the counters of the one that ended. */
  window(): { counters: FleetCounters; latencies: LatencySample[] } {
    const out = { counters: this.current, latencies: this.latencies };
    this.current = emptyCounters();
    this.latencies = [];
    return out;
  }

  /** Pairs whose newest NOTIFY does not show the newest state any watcher of that presentity saw. */
  staleWatchers(): number {
    const newest = new Map<string, number>();
    for (const p of this.pairs.values()) {
      if (p.lastStamp !== undefined && p.lastStamp > (newest.get(p.presentity) ?? -Infinity)) newest.set(p.presentity, p.lastStamp);
    }
    let stale = 0;
    for (const p of this.pairs.values()) if (newest.has(p.presentity) && p.lastStamp !== newest.get(p.presentity)) stale++;
    return stale;
  }

  /** Pairs whose newest NOTIFY shows a bench publication (after the bench removed them all: stale watchers). */
  pairsShowingStamp(): number {
    let n = 0;
    for (const p of this.pairs.values()) if (p.lastHadStamp) n++;
    return n;
  }

  /** Registered pairs that never received a NOTIFY. */
  silentPairs(): number {
    let n = 0;
    for (const p of this.pairs.values()) if (p.notifies === 0) n++;
    return n;
  }

  private onMessage(sock: dgram.Socket, buf: Buffer, rinfo: dgram.RemoteInfo): void {
    const at = this.clock.now();
    if (buf.length > 7 && buf.toString('latin1', 0, 7) === 'NOTIFY ') {
      this.lastNotifyAt = at;
      this.onNotify(sock, buf, rinfo, at);
    } else if (buf.length > 8 && buf.toString('latin1', 0, 8) === 'SIP/2.0 ') this.onResponse(buf.toString('utf8'));
  }

  private count(f: (c: FleetCounters) => void): void {
    f(this.current);
    f(this.total);
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
    let from = '';
    let branch = '';
    let firstVia = true;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      switch (name) {
        case 'via':
        case 'v':
          copy.push(line);
          if (firstVia) {
            firstVia = false;
            branch = /;\s*branch=([^;,\s]+)/i.exec(line)?.[1] ?? '';
          }
          break;
        case 'from':
        case 'f':
          copy.push(line);
          from = line.slice(colon + 1);
          break;
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
          subState = line.slice(colon + 1).trim().toLowerCase();
          break;
        default:
          break;
      }
    }
    sock.send(`SIP/2.0 200 OK\r\n${copy.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`, rinfo.port, rinfo.address);

    const watcher = /^NOTIFY sips?:([^@;:>\s]+)@/.exec(startLine)?.[1] ?? '';
    if (watcher === 'warmup') {
      this.warmupBodies.push(body);
      return;
    }
    const presentity = /sips?:([^@;:>\s]+)@/.exec(from)?.[1] ?? '';
    const fromTag = /;\s*tag=([^;>\s]+)/i.exec(from)?.[1] ?? '';
    const dialogKey = `${callId}|${fromTag}`;
    const pairKey = `${watcher}|${presentity}`;
    let pair = this.pairs.get(pairKey);
    if (!pair) {
      if (this.strictPairs) {
        this.count((c) => c.unknown++);
        return;
      }
      pair = { watcher, presentity, dialog: undefined, lastStamp: undefined, lastHadStamp: false, notifies: 0 };
      this.pairs.set(pairKey, pair);
    }
    let dialog = this.dialogs.get(dialogKey);
    if (!dialog) {
      dialog = { pair: pairKey, lastCseq: -1, branches: new Map(), notifies: 0, terminated: false };
      this.dialogs.set(dialogKey, dialog);
    }
    const cseq = Number.parseInt(cseqValue, 10);
    const seen = dialog.branches.get(cseq);
    if (seen !== undefined) {
      // the same CSeq again: a retransmission (same branch: our 200 was late or lost) or a second NOTIFY reusing it
      if (seen === branch) this.count((c) => c.retransmissions++);
      else this.count((c) => c.cseqReuse++);
      return;
    }
    if (!(cseq > dialog.lastCseq)) {
      this.count((c) => c.outOfOrder++);
      return;
    }
    dialog.lastCseq = cseq;
    dialog.branches.set(cseq, branch);
    if (dialog.branches.size > 64) dialog.branches.delete(dialog.branches.keys().next().value as number);
    if (pair.dialog === undefined) pair.dialog = dialogKey;
    else if (pair.dialog !== dialogKey) {
      const old = this.dialogs.get(pair.dialog);
      if (old?.terminated) pair.dialog = dialogKey; // a new subscription after the old one ended
      else {
        if (dialog.notifies === 0) this.count((c) => c.duplicateDialogs++);
        dialog.notifies++;
        this.count((c) => c.duplicateDialogNotifies++);
        return;
      }
    }
    if (dialog.terminated) this.count((c) => c.afterTerminated++);
    dialog.notifies++;
    pair.notifies++;
    this.count((c) => {
      c.notifies++;
      if (Number.isNaN(c.firstAt)) c.firstAt = at;
      c.lastAt = at;
    });
    if (subState.startsWith('terminated')) {
      dialog.terminated = true;
      this.count((c) => c.terminated++);
    } else if (subState.startsWith('pending')) this.count((c) => c.pending++);
    else this.count((c) => c.active++);
    const m = STAMP.exec(body);
    // a terminated subscription cannot be stale, whatever its last NOTIFY showed
    pair.lastHadStamp = m !== null && !dialog.terminated;
    if (m) {
      const stamp = Number(m[1]) * 1000 + Number(m[2]) / 1000;
      // A PUBLISH→NOTIFY latency only for a NOTIFY that brings this watcher a newer state inside a running
      // dialog: the first NOTIFY of a dialog (and one answering a refresh) shows a state published earlier.
      const news = dialog.notifies > 1 && (pair.lastStamp === undefined || stamp > pair.lastStamp);
      if (pair.lastStamp === undefined || stamp >= pair.lastStamp) pair.lastStamp = stamp;
      this.count((c) => c.withStamp++);
      if (news) {
        const s = { at, ms: at - stamp };
        this.latencies.push(s);
        this.allLatencies.push(s);
      }
    }
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

  /**
   * Readiness of both directions: SUBSCRIBE until 200 (presenced: 503 while
   * Kamailio's janssonrpcc is not connected yet), then PUBLISH until its
   * NOTIFY reaches the warm-up watcher.
   */
  async warmUp(sipPort: number, timeoutMs: number): Promise<{ subscribeAttempts: number; publishAttempts: number; ms: number }> {
    const t0 = performance.now();
    const deadline = t0 + timeoutMs;
    const port = this.ports[0] as number;
    const tag = `${process.pid}x${Math.floor(Math.random() * 1e9)}`;
    const subCallId = `warmup-sub-${tag}`;
    let n = 0;
    for (;;) {
      const raw =
        `SUBSCRIBE sip:warmup-p@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-ws${tag}-${n};rport\r\n` +
        `Max-Forwards: 70\r\nFrom: <sip:warmup@example.com>;tag=ws${tag}\r\nTo: <sip:warmup-p@example.com>\r\nCall-ID: ${subCallId}\r\n` +
        `CSeq: ${n + 1} SUBSCRIBE\r\nContact: <sip:warmup@127.0.0.1:${port}>\r\nEvent: presence\r\nAccept: application/pidf+xml\r\nExpires: 3600\r\nContent-Length: 0\r\n\r\n`;
      const r = await this.request(raw, subCallId, n + 1, sipPort, 1000);
      n++;
      if (r.startsWith('SIP/2.0 200') || r.startsWith('SIP/2.0 202')) break;
      if (performance.now() > deadline) throw new Error(`warm-up: no 200 to SUBSCRIBE (last: ${r.split('\r\n')[0] || 'no answer'})`);
      await new Promise((res) => setTimeout(res, 200));
    }
    const pubCallId = `warmup-pub-${tag}`;
    let etag: string | undefined;
    for (let k = 0; ; k++) {
      if (performance.now() > deadline) throw new Error('warm-up: no NOTIFY for a PUBLISH reached the watcher');
      const body =
        `<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:warmup-p@example.com">` +
        `<tuple id="t1"><status><basic>open</basic></status><note>warm-${tag}-${k}</note></tuple></presence>`;
      const raw =
        `PUBLISH sip:warmup-p@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-wp${tag}-${k};rport\r\n` +
        `Max-Forwards: 70\r\nFrom: <sip:warmup-p@example.com>;tag=wp${tag}\r\nTo: <sip:warmup-p@example.com>\r\nCall-ID: ${pubCallId}\r\n` +
        `CSeq: ${k + 1} PUBLISH\r\n${etag !== undefined ? `SIP-If-Match: ${etag}\r\n` : ''}Event: presence\r\nExpires: 3600\r\n` +
        `Content-Type: application/pidf+xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      const r = await this.request(raw, pubCallId, k + 1, sipPort, 1000);
      if (r.startsWith('SIP/2.0 200')) etag = /\r\nSIP-ETag\s*:\s*([^\r\n]+)/i.exec(r)?.[1]?.trim();
      else if (r.startsWith('SIP/2.0 412')) etag = undefined;
      const until = performance.now() + 1000;
      while (performance.now() < until) {
        if (this.warmupBodies.some((b) => b.includes(`warm-${tag}-${k}<`))) {
          return { subscribeAttempts: n, publishAttempts: k + 1, ms: Math.round(performance.now() - t0) };
        }
        await new Promise((res) => setTimeout(res, 20));
      }
    }
  }
}
