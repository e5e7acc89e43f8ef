/**
 * NOTIFYs cross from a worker to the main thread as one serialized buffer
 * that is transferred, not copied: the main thread pays nothing per NOTIFY
 * until a front actually delivers them (decoding is lazy and happens once).
 * Structured clone would instead decode every NOTIFY eagerly on the main
 * thread (~3 µs each), which caps a 2-core box at about one worker's worth.
 */
import { deserialize, serialize } from 'node:v8';
import type { Notify } from '../core/contract.js';

export interface PackedNotifies {
  readonly count: number;
  /** v8-serialized `Notify[]` (shared bodies stay shared), or null when empty. */
  readonly buffer: ArrayBuffer | null;
}

export function packNotifies(notifies: readonly Notify[]): PackedNotifies {
  if (notifies.length === 0) return { count: 0, buffer: null };
  const b = serialize(notifies);
  // A Buffer may be a view on a larger pooled ArrayBuffer: copy out exactly its bytes to transfer.
  const ab = b.buffer.byteLength === b.byteLength && b.byteOffset === 0 ? b.buffer : b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  return { count: notifies.length, buffer: ab as ArrayBuffer };
}

export function unpackNotifies(p: PackedNotifies): Notify[] {
  if (p.count === 0 || p.buffer === null) return [];
  return deserialize(Buffer.from(p.buffer)) as Notify[];
}
