/**
 * The LMDB binding of the core's `KvStore`: one LMDB environment with a named
 * database per table, values encoded with msgpackr shared structures, keys
 * with ordered-binary (tuples of strings and numbers). Reads are synchronous
 * on a snapshot; writes of one event are committed as one batch and
 * `commit()` resolves only once they are durable (fsync'd), unless the store
 * was opened with `durability: 'none'` (benchmarks only).
 */
import { open, type Database, type RootDatabase } from 'lmdb';
import { hasPrefix, TABLES, type Key, type KvEntry, type KvReader, type KvStore, type TableName } from '../../core/store/kv.js';
import type { WriteOp } from '../../core/store/write-overlay.js';

const STRUCTURES_KEY = Symbol.for('structures');

export interface LmdbStoreOptions {
  /** Directory of the environment (created if missing). */
  readonly path: string;
  /** Initial map size in bytes; LMDB grows it when full. */
  readonly mapSize?: number;
  /** 'sync' (default): replies wait for fsync. 'none': no fsync (data lost on crash; benchmarks only). */
  readonly durability?: 'sync' | 'none';
}

export interface LmdbStats {
  readonly entries: Record<TableName, number>;
  /** Bytes of the map in use (last page number × page size). */
  readonly usedBytes: number;
  readonly mapSize: number;
}

export class LmdbStore implements KvReader {
  private readonly root: RootDatabase;
  private readonly dbs: Map<TableName, Database>;
  private lastWrite: Promise<unknown> = Promise.resolve();

  private constructor(root: RootDatabase, dbs: Map<TableName, Database>, readonly durability: 'sync' | 'none') {
    this.root = root;
    this.dbs = dbs;
  }

  static open(options: LmdbStoreOptions): LmdbStore {
    const durability = options.durability ?? 'sync';
    const root = open({
      path: options.path,
      maxDbs: 16,
      ...(options.mapSize ? { mapSize: options.mapSize } : {}),
      noSync: durability === 'none',
      // Replies wait for `flushed`, so commits may overlap with the previous fsync.
      overlappingSync: false,
    });
    const dbs = new Map<TableName, Database>();
    for (const t of TABLES) {
      dbs.set(t, root.openDB({ name: t, ...(process.env.NO_STRUCT ? {} : { sharedStructuresKey: STRUCTURES_KEY }) }));
    }
    return new LmdbStore(root, dbs, durability);
  }

  private db(table: TableName): Database {
    const db = this.dbs.get(table);
    if (!db) throw new Error(`unknown table ${table}`);
    return db;
  }

  /** Start reading from the latest committed snapshot (call at the start of every task). */
  refresh(): void {
    this.root.resetReadTxn();
  }

  get(table: TableName, key: Key): unknown {
    return this.db(table).get(key as KeyPartArray);
  }

  *prefix(table: TableName, prefix: Key, limit = Infinity): Iterable<KvEntry> {
    let n = 0;
    const range = this.db(table).getRange(prefix.length === 0 ? {} : { start: prefix as KeyPartArray });
    for (const { key, value } of range) {
      if (n >= limit || !hasPrefix(key as Key, prefix)) break;
      n++;
      yield { key: key as Key, value };
    }
  }

  *between(table: TableName, start: Key, end: Key, limit = Infinity): Iterable<KvEntry> {
    const opts = {
      ...(start.length === 0 ? {} : { start: start as KeyPartArray }),
      end: end as KeyPartArray,
      ...(Number.isFinite(limit) ? { limit } : {}),
    };
    for (const { key, value } of this.db(table).getRange(opts)) yield { key: key as Key, value };
  }

  /**
   * Write a batch atomically (one LMDB transaction) and resolve when it is
   * durable. Batches from concurrent tasks of this thread share commits.
   */
  async commit(ops: readonly WriteOp[]): Promise<void> {
    if (ops.length === 0) return;
    // Asynchronous puts issued in one synchronous block land in the same LMDB
    // transaction (lmdb-js event-turn batching); lmdb-js's write thread then
    // commits whatever accumulated from all tasks together (group commit).
    let done: Promise<boolean> = Promise.resolve(true);
    for (const op of ops) {
      const db = this.db(op.table);
      done = op.value === undefined ? db.remove(op.key as KeyPartArray) : db.put(op.key as KeyPartArray, op.value);
    }
    this.lastWrite = done;
    await done;
    if (this.durability === 'sync') await this.root.flushed;
  }

  /** Entry counts and map usage (metrics, benchmarks). */
  stats(): LmdbStats {
    const entries = {} as Record<TableName, number>;
    for (const t of TABLES) {
      const db = this.db(t);
      // The msgpackr shared-structures record lives in the same database: not an entry.
      const structures = db.get(STRUCTURES_KEY as unknown as KeyPartArray) === undefined ? 0 : 1;
      entries[t] = ((db.getStats() as { entryCount?: number }).entryCount ?? 0) - structures;
    }
    const env = this.root.getStats() as { lastPageNumber?: number; pageSize?: number; mapSize?: number };
    return {
      entries,
      usedBytes: (env.lastPageNumber ?? 0) * (env.pageSize ?? 4096),
      mapSize: env.mapSize ?? 0,
    };
  }

  async close(): Promise<void> {
    await this.lastWrite.catch(() => undefined);
    await this.root.close();
  }
}

type KeyPartArray = (string | number)[];

/**
 * The `KvStore` a task hands to the core: reads go to LMDB, writes are
 * collected and committed together by `commit()`.
 */
export class LmdbTaskKv implements KvStore {
  private readonly ops: WriteOp[] = [];
  constructor(private readonly store: LmdbStore) {}
  get(table: TableName, key: Key): unknown {
    return this.store.get(table, key);
  }
  prefix(table: TableName, prefix: Key, limit?: number): Iterable<KvEntry> {
    return this.store.prefix(table, prefix, limit);
  }
  between(table: TableName, start: Key, end: Key, limit?: number): Iterable<KvEntry> {
    return this.store.between(table, start, end, limit);
  }
  put(table: TableName, key: Key, value: unknown): void {
    this.ops.push({ table, key, value });
  }
  remove(table: TableName, key: Key): void {
    this.ops.push({ table, key, value: undefined });
  }
  commit(): Promise<void> {
    return this.store.commit(this.ops);
  }
  get pending(): number {
    return this.ops.length;
  }
}
