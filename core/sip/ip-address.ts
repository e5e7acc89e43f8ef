/**
 * IP address literals as they appear in SIP hosts (RFC 3261 §25.1
 * `IPv4address`, `IPv6reference`), their canonical text (RFC 5952) and the
 * private/special ranges used for NAT detection (RFC 3581 context).
 */
import { hexValue, isDigit } from './char-class.js';

/** Parses a dotted quad (RFC 3261 §25.1 `IPv4address`: 4 × 1*3DIGIT, each ≤ 255) to an unsigned 32-bit number. */
export function parseIPv4(text: string): number | undefined {
  const len = text.length;
  if (len < 7 || len > 15) return undefined;
  let result = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i <= len; i++) {
    const c = i < len ? text.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || part > 255) return undefined;
      result = result * 256 + part;
      part = 0;
      digits = 0;
      if (i < len) dots++;
    } else if (isDigit(c)) {
      if (++digits > 3) return undefined;
      part = part * 10 + (c - 48);
    } else {
      return undefined;
    }
  }
  return dots === 3 ? result : undefined;
}

function parseGroups(text: string, allowIPv4Tail: boolean, out: number[]): boolean {
  if (text.length === 0) return true;
  const parts = text.split(':');
  for (let k = 0; k < parts.length; k++) {
    const p = parts[k] ?? '';
    if (allowIPv4Tail && k === parts.length - 1 && p.indexOf('.') >= 0) {
      const v4 = parseIPv4(p);
      if (v4 === undefined) return false;
      out.push(Math.floor(v4 / 65536), v4 % 65536);
      continue;
    }
    if (p.length < 1 || p.length > 4) return false;
    let v = 0;
    for (let i = 0; i < p.length; i++) {
      const h = hexValue(p.charCodeAt(i));
      if (h < 0) return false;
      v = v * 16 + h;
    }
    out.push(v);
  }
  return true;
}

/**
 * Parses an IPv6 address without brackets (RFC 4291 §2.2 text forms, as used
 * by RFC 3261 §25.1 `IPv6address`, including an embedded IPv4 tail) into its
 * eight 16-bit groups. Zone identifiers are not accepted.
 */
export function parseIPv6(text: string): number[] | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  const gap = text.indexOf('::');
  const groups: number[] = [];
  if (gap < 0) {
    if (!parseGroups(text, true, groups) || groups.length !== 8) return undefined;
    return groups;
  }
  if (text.indexOf('::', gap + 1) >= 0) return undefined;
  const head: number[] = [];
  const tail: number[] = [];
  if (!parseGroups(text.slice(0, gap), false, head)) return undefined;
  if (!parseGroups(text.slice(gap + 2), true, tail)) return undefined;
  if (head.length + tail.length > 7) return undefined;
  groups.push(...head);
  for (let i = head.length + tail.length; i < 8; i++) groups.push(0);
  groups.push(...tail);
  return groups;
}

/** Canonical text of an IPv6 address (RFC 5952 §4; IPv4-mapped addresses in mixed notation, §5). */
export function formatIPv6(groups: readonly number[]): string {
  const g = (i: number): number => groups[i] ?? 0;
  const mapped = mappedIPv4(groups);
  if (mapped !== undefined) return '::ffff:' + ipv4Text(mapped);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g(i) !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g(j) === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string => {
    const parts: string[] = [];
    for (let i = from; i < to; i++) parts.push(g(i).toString(16));
    return parts.join(':');
  };
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

function isBracketed(host: string): boolean {
  return host.length >= 2 && host.charCodeAt(0) === 91 && host.charCodeAt(host.length - 1) === 93;
}

/** The address of a host: `[…]` must hold IPv6 (RFC 3261 §25.1 `IPv6reference`), bare text may be either family. */
function parseAddress(host: string): { readonly v4?: number; readonly v6?: number[] } {
  if (isBracketed(host)) {
    const v6 = parseIPv6(host.slice(1, -1));
    return v6 === undefined ? {} : { v6 };
  }
  const v4 = parseIPv4(host);
  if (v4 !== undefined) return { v4 };
  const v6 = parseIPv6(host);
  return v6 === undefined ? {} : { v6 };
}

/** The IPv4 address embedded in an IPv4-mapped IPv6 address (::ffff:0:0/96, RFC 4291 §2.5.5.2). */
function mappedIPv4(v6: readonly number[]): number | undefined {
  return v6[0] === 0 && v6[1] === 0 && v6[2] === 0 && v6[3] === 0 && v6[4] === 0 && v6[5] === 0xffff
    ? (v6[6] ?? 0) * 65536 + (v6[7] ?? 0)
    : undefined;
}

function isPrivateIPv4(a: number): boolean {
  const top8 = Math.floor(a / 0x1000000);
  const top16 = Math.floor(a / 0x10000);
  return (
    top8 === 10 || // RFC 1918 10/8
    top8 === 127 || // loopback 127/8 (RFC 1122 §3.2.1.3)
    Math.floor(a / 0x100000) === 0xac1 || // RFC 1918 172.16/12
    top16 === 0xc0a8 || // RFC 1918 192.168/16
    Math.floor(a / 0x400000) === 401 || // RFC 6598 100.64/10
    top16 === 0xa9fe // link-local 169.254/16 (RFC 3927)
  );
}

/**
 * True for addresses that cannot be reached from the public Internet, i.e. a
 * Contact holding one is behind NAT when the packet came from elsewhere
 * (RFC 3581 motivation): RFC 1918, RFC 6598 100.64/10, 169.254/16,
 * 127/8, IPv6 ULA fc00::/7, link-local fe80::/10, ::1, and IPv4-mapped forms
 * of these. Accepts IPv6 with or without brackets; host names give false.
 */
export function isPrivateAddress(host: string): boolean {
  const { v4, v6 } = parseAddress(host);
  if (v4 !== undefined) return isPrivateIPv4(v4);
  if (v6 === undefined) return false;
  const mapped = mappedIPv4(v6);
  if (mapped !== undefined) return isPrivateIPv4(mapped);
  const first = v6[0] ?? 0;
  if ((first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80) return true;
  return v6.every((g, i) => g === (i === 7 ? 1 : 0));
}

/**
 * A comparison key for a host or address: IPv4 in plain dotted form, IPv6 in
 * RFC 5952 form without brackets (IPv4-mapped IPv6 as its IPv4 address),
 * anything else lower-cased.
 */
export function addressKey(host: string): string {
  const { v4, v6 } = parseAddress(host);
  if (v4 !== undefined) return ipv4Text(v4);
  if (v6 === undefined) return host.toLowerCase();
  const mapped = mappedIPv4(v6);
  return mapped === undefined ? formatIPv6(v6) : ipv4Text(mapped);
}

/** True when two hosts denote the same address (see `addressKey`). */
export function sameAddress(a: string, b: string): boolean {
  return a === b || addressKey(a) === addressKey(b);
}

function ipv4Text(a: number): string {
  return `${Math.floor(a / 0x1000000)}.${Math.floor(a / 0x10000) % 256}.${Math.floor(a / 256) % 256}.${a % 256}`;
}
