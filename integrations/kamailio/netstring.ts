/**
 * Netstrings (D. J. Bernstein): `<decimal length>:<bytes>,` — the framing
 * Kamailio's janssonrpcc uses for JSON-RPC over TCP, in both directions
 * (src/modules/janssonrpcc/netstring.c: no leading zeros, at most 9 length
 * digits, a trailing comma).
 *
 * The decoder is incremental: feed it socket chunks of any size (partial
 * frames, several frames per chunk) and it hands out complete payloads. A
 * frame longer than the configured maximum is not buffered: its bytes are
 * skipped (the framing stays intact, so the connection survives) and only
 * its first bytes are kept, so the caller can still answer the request.
 */

/** What the decoder found in the bytes fed to it. */
export type NetstringEvent =
  | { readonly type: 'frame'; readonly payload: Buffer }
  /** A frame over the size limit; `head` holds its first bytes (at most `oversizeHeadBytes`). */
  | { readonly type: 'oversize'; readonly length: number; readonly head: Buffer }
  /** The framing is broken; nothing after this point can be trusted. */
  | { readonly type: 'error'; readonly message: string };

export interface NetstringDecoderOptions {
  /** Largest payload accepted, in bytes. */
  readonly maxLength: number;
  /** How many leading bytes of an oversize frame to keep (default 64). */
  readonly oversizeHeadBytes?: number;
}

const COLON = 0x3a;
const COMMA = 0x2c;
const ZERO = 0x30;
const NINE = 0x39;
/** janssonrpcc and the reference implementation reject more than 9 digits. */
const MAX_DIGITS = 9;

type State =
  | { kind: 'length'; digits: number; value: number }
  | { kind: 'payload'; length: number; parts: Buffer[]; received: number }
  | { kind: 'skip'; length: number; remaining: number; head: Buffer[]; headBytes: number }
  | { kind: 'comma'; after: NetstringEvent }
  | { kind: 'broken' };

export class NetstringDecoder {
  private state: State = { kind: 'length', digits: 0, value: 0 };
  private readonly maxLength: number;
  private readonly headLimit: number;

  constructor(options: NetstringDecoderOptions) {
    if (!Number.isInteger(options.maxLength) || options.maxLength < 0) {
      throw new RangeError('maxLength must be a non-negative integer');
    }
    this.maxLength = options.maxLength;
    this.headLimit = options.oversizeHeadBytes ?? 64;
  }

  /** Bytes of the frame currently being assembled (for memory accounting). */
  get bufferedBytes(): number {
    return this.state.kind === 'payload' ? this.state.received : 0;
  }

  /** True once a framing error was reported; further input is ignored. */
  get broken(): boolean {
    return this.state.kind === 'broken';
  }

  /** True when no frame is partially received. */
  get idle(): boolean {
    return this.state.kind === 'length' && this.state.digits === 0;
  }

  /** Feeds one chunk; returns the events it completed, in order. */
  push(chunk: Buffer): NetstringEvent[] {
    const events: NetstringEvent[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      const st = this.state;
      switch (st.kind) {
        case 'broken':
          return events;
        case 'length': {
          const byte = chunk[pos] as number;
          pos++;
          if (byte >= ZERO && byte <= NINE) {
            if (st.digits === 1 && st.value === 0) {
              return this.fail(events, 'netstring length has a leading zero');
            }
            if (st.digits >= MAX_DIGITS) {
              return this.fail(events, 'netstring length has more than 9 digits');
            }
            st.value = st.value * 10 + (byte - ZERO);
            st.digits++;
          } else if (byte === COLON) {
            if (st.digits === 0) return this.fail(events, 'netstring length missing');
            const length = st.value;
            if (length > this.maxLength) {
              this.state = { kind: 'skip', length, remaining: length, head: [], headBytes: 0 };
            } else if (length === 0) {
              this.state = { kind: 'comma', after: { type: 'frame', payload: Buffer.alloc(0) } };
            } else {
              this.state = { kind: 'payload', length, parts: [], received: 0 };
            }
          } else {
            return this.fail(events, st.digits === 0 ? 'netstring length missing' : 'no colon after netstring length');
          }
          break;
        }
        case 'payload': {
          const take = Math.min(st.length - st.received, chunk.length - pos);
          st.parts.push(chunk.subarray(pos, pos + take));
          st.received += take;
          pos += take;
          if (st.received === st.length) {
            // Copy: the chunk's memory must not be retained by long-lived payloads.
            const payload = st.parts.length === 1 ? Buffer.from(st.parts[0] as Buffer) : Buffer.concat(st.parts, st.length);
            this.state = { kind: 'comma', after: { type: 'frame', payload } };
          }
          break;
        }
        case 'skip': {
          const take = Math.min(st.remaining, chunk.length - pos);
          if (st.headBytes < this.headLimit) {
            const keep = Math.min(take, this.headLimit - st.headBytes);
            st.head.push(Buffer.from(chunk.subarray(pos, pos + keep)));
            st.headBytes += keep;
          }
          st.remaining -= take;
          pos += take;
          if (st.remaining === 0) {
            this.state = {
              kind: 'comma',
              after: { type: 'oversize', length: st.length, head: Buffer.concat(st.head, st.headBytes) },
            };
          }
          break;
        }
        case 'comma': {
          const byte = chunk[pos] as number;
          pos++;
          if (byte !== COMMA) return this.fail(events, 'netstring not terminated by a comma');
          events.push(st.after);
          this.state = { kind: 'length', digits: 0, value: 0 };
          break;
        }
      }
    }
    return events;
  }

  private fail(events: NetstringEvent[], message: string): NetstringEvent[] {
    this.state = { kind: 'broken' };
    events.push({ type: 'error', message });
    return events;
  }
}

/** Frames one payload (a string is encoded as UTF-8). */
export function encodeNetstring(payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const prefix = Buffer.from(`${body.length}:`, 'latin1');
  return Buffer.concat([prefix, body, Buffer.from(',', 'latin1')], prefix.length + body.length + 1);
}
