/**
 * An in-memory `KvStore`: sorted arrays per table. Used by unit and scenario
 * tests and as the sequential reference model in property tests. Values are
 * deep-copied on the way in and out, like a real store, so aliasing bugs show.
 */
import { compareKeys, hasPrefix, TABLES, type Key, type KvEntry, type KvStore, type TableName } from './kv.js';

interface Row {
  key: Key;
  value: unknown;
}

export function cloneData<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v: unknown) => cloneData(v)) as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (v !== undefined) out[k] = cloneData(v);
  return out as T;
}

export class MemoryKv implements KvStore {
  private readonly tables = new Map<TableName, Row[]>(TABLES.map((t) => [t, []]));

  private rows(table: TableName): Row[] {
    const rows = this.tables.get(table);
    if (!rows) throw new Error(`unknown table ${table}`);
    return rows;
  }

  /** Index of the first row with key >= `key`. */
  private lowerBound(rows: Row[], key: Key): number {
    let lo = 0;
    let hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys((rows[mid] as Row).key, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  get(table: TableName, key: Key): unknown {
    const rows = this.rows(table);
    const i = this.lowerBound(rows, key);
    const row = rows[i];
    return row && compareKeys(row.key, key) === 0 ? cloneData(row.value) : undefined;
  }

  *prefix(table: TableName, prefix: Key, limit = Infinity): Iterable<KvEntry> {
    const rows = this.rows(table);
    let n = 0;
    for (let i = this.lowerBound(rows, prefix); i < rows.length && n < limit; i++, n++) {
      const row = rows[i] as Row;
      if (!hasPrefix(row.key, prefix)) return;
      yield { key: [...row.key], value: cloneData(row.value) };
    }
  }

  *between(table: TableName, start: Key, end: Key, limit = Infinity): Iterable<KvEntry> {
    const rows = this.rows(table);
    let n = 0;
    for (let i = this.lowerBound(rows, start); i < rows.length && n < limit; i++, n++) {
      const row = rows[i] as Row;
      if (compareKeys(row.key, end) >= 0) return;
      yield { key: [...row.key], value: cloneData(row.value) };
    }
  }

  put(table: TableName, key: Key, value: unknown): void {
    const rows = this.rows(table);
    const i = this.lowerBound(rows, key);
    const row = rows[i];
    const stored = { key: [...key], value: cloneData(value) };
    if (row && compareKeys(row.key, key) === 0) rows[i] = stored;
    else rows.splice(i, 0, stored);
  }

  remove(table: TableName, key: Key): void {
    const rows = this.rows(table);
    const i = this.lowerBound(rows, key);
    const row = rows[i];
    if (row && compareKeys(row.key, key) === 0) rows.splice(i, 1);
  }

  /** Number of rows in a table (tests, metrics). */
  count(table: TableName): number {
    return this.rows(table).length;
  }
}
