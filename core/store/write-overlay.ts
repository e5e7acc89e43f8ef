/**
 * Buffers the writes of one event over a read snapshot: reads see the event's
 * own writes, and the writes are handed to the real store afterwards in one
 * batch. This is what lets a worker thread do all the expensive work (parse,
 * compose, render, fan-out) outside LMDB's single write lock, then commit a
 * short batch of puts.
 */
import { compareKeys, encodeKey, hasPrefix, type Key, type KvEntry, type KvReader, type KvStore, type TableName } from './kv.js';

export interface WriteOp {
  readonly table: TableName;
  readonly key: Key;
  /** `undefined` deletes the key. */
  readonly value: unknown;
}

const DELETED = Symbol('deleted');

interface Pending {
  table: TableName;
  key: Key;
  value: unknown;
}

export class WriteOverlay implements KvStore {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly base: KvReader) {}

  get(table: TableName, key: Key): unknown {
    const p = this.pending.get(encodeKey(table, key));
    if (p) return p.value === DELETED ? undefined : p.value;
    return this.base.get(table, key);
  }

  put(table: TableName, key: Key, value: unknown): void {
    if (value === undefined) throw new Error('WriteOverlay.put: value must not be undefined');
    this.pending.set(encodeKey(table, key), { table, key, value });
  }

  remove(table: TableName, key: Key): void {
    this.pending.set(encodeKey(table, key), { table, key, value: DELETED });
  }

  prefix(table: TableName, prefix: Key, limit = Infinity): Iterable<KvEntry> {
    return this.merge(table, this.base.prefix(table, prefix), (k) => hasPrefix(k, prefix), limit);
  }

  between(table: TableName, start: Key, end: Key, limit = Infinity): Iterable<KvEntry> {
    const inRange = (k: Key): boolean => compareKeys(k, start) >= 0 && compareKeys(k, end) < 0;
    return this.merge(table, this.base.between(table, start, end), inRange, limit);
  }

  private *merge(table: TableName, base: Iterable<KvEntry>, inRange: (k: Key) => boolean, limit: number): Iterable<KvEntry> {
    const mine: Pending[] = [];
    for (const p of this.pending.values()) if (p.table === table && inRange(p.key)) mine.push(p);
    mine.sort((a, b) => compareKeys(a.key, b.key));
    let i = 0;
    let n = 0;
    for (const entry of base) {
      while (i < mine.length && compareKeys((mine[i] as Pending).key, entry.key) < 0) {
        const p = mine[i++] as Pending;
        if (p.value !== DELETED) {
          if (n++ >= limit) return;
          yield { key: p.key, value: p.value };
        }
      }
      if (i < mine.length && compareKeys((mine[i] as Pending).key, entry.key) === 0) {
        const p = mine[i++] as Pending;
        if (p.value === DELETED) continue;
        if (n++ >= limit) return;
        yield { key: p.key, value: p.value };
        continue;
      }
      if (n++ >= limit) return;
      yield entry;
    }
    for (; i < mine.length; i++) {
      const p = mine[i] as Pending;
      if (p.value === DELETED) continue;
      if (n++ >= limit) return;
      yield { key: p.key, value: p.value };
    }
  }

  /** The buffered writes, in the order they were last made. */
  ops(): WriteOp[] {
    const out: WriteOp[] = [];
    for (const p of this.pending.values()) out.push({ table: p.table, key: p.key, value: p.value === DELETED ? undefined : p.value });
    return out;
  }

  get size(): number {
    return this.pending.size;
  }

  /** Apply the buffered writes to a store (used with the in-memory store). */
  applyTo(store: KvStore): void {
    for (const op of this.ops()) {
      if (op.value === undefined) store.remove(op.table, op.key);
      else store.put(op.table, op.key, op.value);
    }
  }
}
