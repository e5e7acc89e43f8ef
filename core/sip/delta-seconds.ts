/**
 * `delta-seconds = 1*DIGIT` (RFC 3261 §25.1), the value of Expires,
 * Min-Expires, Retry-After and the `expires` parameters.
 */
import { MAX_HEADER_VALUE_LENGTH, isDigit, skipLws, trimEndLws } from './char-class.js';

/** Largest delta-seconds value; larger values clamp to it (RFC 3261 §20.19 and §25.1: 2**32-1). */
export const MAX_DELTA_SECONDS = 4294967295;

/**
 * Parses a delta-seconds header value: `null` when the header is absent
 * (`undefined` input), `undefined` when invalid (empty, a sign, a fraction,
 * anything but digits after trimming LWS, over 8 KiB), else the number,
 * clamped to 4294967295 (RFC 3261 §25.1 `delta-seconds`, §20.19).
 */
export function parseDeltaSeconds(text: string | undefined): number | undefined | null {
  if (text === undefined) return null;
  if (text.length > MAX_HEADER_VALUE_LENGTH) return undefined;
  const start = skipLws(text, 0, text.length);
  const end = trimEndLws(text, start, text.length);
  if (start === end) return undefined;
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (!isDigit(c)) return undefined;
    if (value <= MAX_DELTA_SECONDS) value = value * 10 + (c - 48);
  }
  return value > MAX_DELTA_SECONDS ? MAX_DELTA_SECONDS : value;
}
