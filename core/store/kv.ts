/**
 * The storage interface the core needs: a small, synchronous, ordered
 * key-value view over named tables. Keys are tuples of strings and numbers
 * ordered element by element (numbers before strings, strings by code point),
 * the same order LMDB's ordered-binary keys give. The LMDB binding lives in
 * `workers/`; `memory-kv.ts` is the in-process implementation for tests and
 * the sequential model.
 */

export type KeyPart = string | number;
export type Key = readonly KeyPart[];

export interface KvEntry {
  readonly key: Key;
  readonly value: unknown;
}

/** The tables of the presence store and what their keys are. */
export type TableName =
  /** [resource] → ResourceRecord */
  | 'resources'
  /** [resource, event] → StateRecord */
  | 'states'
  /** [resource, event, etag] → PublicationRecord */
  | 'publications'
  /** [resource, event, subscriptionId] → SubscriptionRecord (also the presentity→watchers index) */
  | 'subscriptions'
  /** [resource, event, subscriptionId] → NotifyTarget (the compact fan-out view of a subscription) */
  | 'targets'
  /** [callId, localTag, remoteTag] → DialogRef */
  | 'dialogs'
  /** [dueAtMs, resource, kind, event, id] → 0 (the expiry / retry index) */
  | 'timers'
  /** [auid, tree ('users'|'global'), xui ('' for global), documentPath] → XcapDocumentRecord (XDMS documents) */
  | 'xcap'
  /** [username] → XcapUserRecord (XCAP HTTP Digest credentials) */
  | 'xcapUsers';

export const TABLES: readonly TableName[] = ['resources', 'states', 'publications', 'subscriptions', 'targets', 'dialogs', 'timers', 'xcap', 'xcapUsers'];

export interface KvReader {
  get(table: TableName, key: Key): unknown;
  /** Entries whose key starts with `prefix`, in key order. */
  prefix(table: TableName, prefix: Key, limit?: number): Iterable<KvEntry>;
  /** Entries with `start <= key < end`, in key order. */
  between(table: TableName, start: Key, end: Key, limit?: number): Iterable<KvEntry>;
}

export interface KvStore extends KvReader {
  put(table: TableName, key: Key, value: unknown): void;
  remove(table: TableName, key: Key): void;
}

/** Compare two strings by Unicode code point (the order of their UTF-8 bytes). */
export function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (0xD800-0xDFFF) encode code points above 0xFFFF: they sort after 0xE000-0xFFFF.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** Total order on keys: element-wise, numbers before strings, a prefix before its extensions. */
export function compareKeys(a: Key, b: Key): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] as KeyPart;
    const y = b[i] as KeyPart;
    if (x === y) continue;
    const xn = typeof x === 'number';
    const yn = typeof y === 'number';
    if (xn && yn) return (x as number) < (y as number) ? -1 : 1;
    if (xn !== yn) return xn ? -1 : 1;
    const c = compareStrings(x as string, y as string);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

export function hasPrefix(key: Key, prefix: Key): boolean {
  if (key.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
  return true;
}

/** A string encoding of a key, usable as a Map key. */
export function encodeKey(table: TableName, key: Key): string {
  return table + '\u0000' + JSON.stringify(key);
}
