/**
 * Entity-tags and subscription ids from the OS CSPRNG, prefixed with the node
 * id: unique across restarts (96 random bits) and across cluster nodes (the
 * prefix), and unguessable, so a client cannot hijack another's publication
 * by guessing its SIP-If-Match (RFC 3903 §13).
 */
import { randomFillSync } from 'node:crypto';
import type { IdSource } from '../core/ids.js';

const POOL_SIZE = 4096;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Random base64url tokens from the OS CSPRNG, drawn from a pooled buffer (one syscall per 4 KB). */
export class RandomTokens {
  private readonly pool = Buffer.alloc(POOL_SIZE);
  private offset = POOL_SIZE;

  token(chars: number): string {
    if (chars > POOL_SIZE) throw new RangeError('token too long');
    if (this.offset + chars > POOL_SIZE) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    let s = '';
    for (let i = 0; i < chars; i++) s += ALPHABET[(this.pool[this.offset++] as number) & 63];
    return s;
  }
}

export class RandomIds implements IdSource {
  private readonly tokens = new RandomTokens();

  constructor(private readonly nodeId: string) {}

  newEtag(): string {
    return `${this.nodeId}.${this.tokens.token(16)}`;
  }

  newId(): string {
    return `${this.nodeId}.${this.tokens.token(16)}`;
  }
}
